"""Run named benchmark workloads and write a JSON record and a Markdown table.

Usage::

    .venv/bin/python -m benchmarks.run                     # small, standard, long
    .venv/bin/python -m benchmarks.run standard --repeat 1
    .venv/bin/python -m benchmarks.run --scaling           # the scaling series

Each workload runs in a fresh subprocess so that its peak RSS is its own.  Figures: wall
time, path-days/s, cohort-days/s, peak RSS, and per-path retargets, blocks and halvings as a
sanity check.  The machine's limit is a NumPy fused multiply-add over arrays of the engine's
size (paths × cohorts), reported as element updates per second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "results"


def run_one(name: str) -> dict[str, object]:
    """Run one workload in this process and return its figures."""
    from benchmarks.configurations import WORKLOADS
    from hashfleet.runner import simulate

    w = WORKLOADS[name]
    sc = w.scenario()
    t0 = time.perf_counter()
    res = simulate(sc)
    wall = time.perf_counter() - t0
    pp = res.per_path
    path_days = w.paths * w.days
    return {
        "workload": name,
        "paths": w.paths,
        "days": w.days,
        "cohorts": w.cohorts,
        "wall_s": round(wall, 3),
        "path_days_per_s": round(path_days / wall),
        "cohort_days_per_s": round(path_days * w.cohorts / wall),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "retargets_per_path": float(pp["retargets"].mean()),
        "halvings_per_path": float(pp["halvings"].mean()),
        "blocks_per_path": float(pp["total_blocks"].mean()),
    }


def fma_throughput(n_paths: int = 10_000, n_cohorts: int = 40, repeat: int = 200) -> float:
    """Element updates per second of ``a*b + c`` into a preallocated array (NumPy)."""
    rng = np.random.default_rng(0)
    a, b, c = (rng.random((n_paths, n_cohorts)) for _ in range(3))
    out = np.empty_like(a)
    t0 = time.perf_counter()
    for _ in range(repeat):
        np.multiply(a, b, out=out)
        np.add(out, c, out=out)
    return a.size * repeat / (time.perf_counter() - t0)


def machine() -> dict[str, object]:
    import hashfleet

    return {
        "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "hashfleet": hashfleet.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("workloads", nargs="*", default=["small", "standard", "long"])
    p.add_argument("--scaling", action="store_true", help="run the scaling series")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one)))
        return 0
    from benchmarks.configurations import WORKLOADS

    names = [n for n in WORKLOADS if n.startswith("scale-")] if args.scaling else args.workloads
    rows = []
    for name in names:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.run", "--one", name],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row), flush=True)
    fma = fma_throughput()
    record = {"machine": machine(), "numpy_fma_updates_per_s": round(fma), "workloads": rows}
    OUT.mkdir(exist_ok=True)
    stem = OUT / ("scaling" if args.scaling else "latest")
    stem.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(record))
    print(markdown(record))
    return 0


def markdown(record: dict) -> str:
    m = record["machine"]
    lines = [
        f"Benchmarks — {m['date_utc']}, hashfleet {m['hashfleet']}, Python {m['python']}, "
        f"NumPy {m['numpy']}, {m['cores']} cores ({m['cpu']})",
        "",
        "| workload | paths | days | cohorts | wall s | path-days/s | cohort-days/s "
        "| peak RSS MB | retargets/path | halvings/path | blocks/path |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in record["workloads"]:
        lines.append(
            f"| {r['workload']} | {r['paths']:,} | {r['days']:,} | {r['cohorts']} | "
            f"{r['wall_s']:.1f} | {r['path_days_per_s']:,} | {r['cohort_days_per_s']:,} | "
            f"{r['peak_rss_mb']:,.0f} | {r['retargets_per_path']:.1f} | "
            f"{r['halvings_per_path']:.2f} | {r['blocks_per_path']:,.0f} |"
        )
    lines += [
        "",
        f"NumPy fused multiply-add over 10,000 × 40 float64: "
        f"{record['numpy_fma_updates_per_s']:,} element updates/s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
