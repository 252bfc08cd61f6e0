"""Before/after figures of one or more workloads, measured side by side in one run.

Absolute times move 2× between machines and days; a ratio measured in one run, with the
two versions interleaved, does not.  ``python -m benchmarks.ab REV [WORKLOAD ...]`` checks
out ``REV`` in a temporary git worktree and runs each workload alternately from it
("before") and from this tree ("after"), ``--rounds`` times each, every run in its own
subprocess with one BLAS thread (``benchmarks.run --one``).  It prints one JSON line per run
and a table of the medians: wall and CPU seconds, path-days per CPU-second, peak RSS, and the
after/before speed ratio by wall and by CPU time, with the load average.

Example: ``python -m benchmarks.ab edb6652 standard standard-all --rounds 2``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.run import ONE_THREAD

HERE = Path(__file__).resolve().parent.parent


def _one(tree: Path, workload: str) -> dict[str, Any]:
    env = dict(os.environ) | ONE_THREAD | {"PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}"}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--one", workload],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise SystemExit(f"{workload} at {tree}: {proc.stderr.strip()[-2000:]}")
    row: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return row | {"load_1min": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("rev", help="git revision of the 'before' version")
    p.add_argument("workloads", nargs="*", default=["standard"], help="default: standard")
    p.add_argument("--rounds", type=int, default=1, help="runs of each version (default 1)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hf-ab-") as tmp:
        before = Path(tmp) / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(before), args.rev],
            cwd=HERE,
            check=True,
            capture_output=True,
        )
        try:
            rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for w in args.workloads:
                for r in range(args.rounds):
                    order = [("before", before), ("after", HERE)]
                    for label, tree in order if r % 2 == 0 else order[::-1]:
                        row = _one(tree, w)
                        rows.setdefault((w, label), []).append(row)
                        print(json.dumps({"version": label} | row), flush=True)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(before)], cwd=HERE, check=False
            )
    print("\n| workload | version | wall s | CPU s | M path-days/CPU-s | RSS MB | load |")
    print("|---|---|---:|---:|---:|---:|---:|")
    med: dict[tuple[str, str], dict[str, float]] = {}
    for (w, label), rs in rows.items():
        m = {
            k: statistics.median(float(r[k]) for r in rs)
            for k in ("wall_s", "cpu_s", "peak_rss_mb", "load_1min")
        }
        m["pd_cpu"] = rs[0]["paths"] * rs[0]["days"] / m["cpu_s"] / 1e6
        med[(w, label)] = m
        print(
            f"| {w} | {label} | {m['wall_s']:.1f} | {m['cpu_s']:.1f} | {m['pd_cpu']:.3f} | "
            f"{m['peak_rss_mb']:.0f} | {m['load_1min']:.1f} |"
        )
    for w in args.workloads:
        b, a = med[(w, "before")], med[(w, "after")]
        print(
            f"{w}: after/before speed {b['wall_s'] / a['wall_s']:.3f}x wall, "
            f"{b['cpu_s'] / a['cpu_s']:.3f}x CPU"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
