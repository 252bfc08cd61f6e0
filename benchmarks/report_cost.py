"""What the report adds to ``hashfleet run``: wall time with ``--report`` over ``--no-report``.

``python -m benchmarks.report_cost [--scenario scenarios/baseline.yaml] [--paths 1000]
[--rounds 3] [--extra ARG ...] [--tree DIR]`` runs the command alternately without and with
the report (interleaved, so a change in the machine's load hits both alike), each in its own
subprocess, and prints one JSON line per run and the medians with the ratio
``with / without``, of wall time and of CPU time (the command and every process it waited
for, the report helper included; on a loaded machine the CPU ratio is the steadier one).
The target is a wall-time ratio below 1.10 (issue 15).  ``--extra`` passes more arguments to
both (e.g. ``--extra=--svg``); ``--tree DIR`` measures another source tree (for a
before/after: ``git archive REV src | tar -x -C DIR``); ``HASHFLEET_REPORT_PROCESS=0`` (or
``1``) in the environment forces the in-process report (or the helper process).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _one(
    scenario: str, paths: int, report: bool, out: Path, extra: list[str], tree: Path = HERE
) -> tuple[float, float]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(tree / "src"), env.get("PYTHONPATH", "")) if p
    )
    cmd = [
        sys.executable,
        "-m",
        "hashfleet",
        "run",
        scenario,
        "--paths",
        str(paths),
        "--out",
        str(out),
        "--report" if report else "--no-report",
        "--no-progress",
        *extra,
    ]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=HERE, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    # CPU seconds of the command and every process it waited for (the report helper too)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    """Measure and print; returns 0."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="scenarios/baseline.yaml")
    ap.add_argument("--paths", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--extra", action="append", default=[])
    ap.add_argument(
        "--tree",
        type=Path,
        default=HERE,
        help="Source tree to measure (its src/ first on the path), e.g. an older checkout "
        "made with `git archive REV src | tar -x -C DIR` [this tree].",
    )
    args = ap.parse_args(argv)
    walls: dict[bool, list[float]] = {False: [], True: []}
    cpus: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = (False, True) if r % 2 == 0 else (True, False)
            for report in order:
                out = Path(tmp) / str(report)
                w, c = _one(args.scenario, args.paths, report, out, args.extra, args.tree)
                walls[report].append(w)
                cpus[report].append(c)
                load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
                print(json.dumps({"round": r, "report": report, "wall_s": round(w, 3),
                                  "cpu_s": round(c, 3), "load1": round(load, 2)}),
                      flush=True)  # fmt: skip
    without = statistics.median(walls[False])
    with_ = statistics.median(walls[True])
    c0, c1 = statistics.median(cpus[False]), statistics.median(cpus[True])
    print(
        f"{args.tree}: {args.scenario} --paths {args.paths}, {args.rounds} rounds: median wall "
        f"--no-report {without:.2f} s, --report {with_:.2f} s, ratio {with_ / without:.3f} "
        f"(+{100 * (with_ / without - 1):.1f} %); median CPU {c0:.2f} s vs {c1:.2f} s, ratio "
        f"{c1 / c0:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
