"""Cost of each part of a workload: seconds and ms per simulated day for every engine step.

    .venv/bin/python -m benchmarks.stages standard-features     # -> results/stages-*.{json,md}

Runs ``simulate`` on the workload in this process with one BLAS thread, timing every daily
step of every engine (``simulate(..., step_times=...)``); what is left of the wall
time (compile, the recorder's window reductions, assembling the results) is reported as
``(outside the daily steps)``.  The step names are the engine's stages: ``market`` (price,
fees, spot draws), ``supply`` and ``supply_update`` (rest of the network), ``machines``
(failures, repairs, degradation), ``dispatch`` (site limits, hour-level curtailment and
programmes), ``network`` (blocks, retargets, halvings), ``production``, the components
(``asic_market``, ``policies``, ``variable_opex``, ...), ``settle``, ``metrics``, ``record``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "results"


def measure(name: str) -> dict[str, object]:
    """Simulate workload ``name`` with step timing; the figures as a JSON-able record."""
    from threadpoolctl import threadpool_limits

    from benchmarks.configurations import WORKLOADS
    from hashfleet.runner import simulate

    w = WORKLOADS[name]
    sc = w.scenario()
    steps: dict[str, float] = {}
    with threadpool_limits(1):
        t0, c0 = time.perf_counter(), time.process_time()
        simulate(sc, step_times=steps)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "workload": name,
        "paths": w.paths,
        "days": w.days,
        "cohorts": w.cohorts,
        "wall_s": wall,
        "cpu_s": cpu,
        "path_days_per_s": w.paths * w.days / wall,
        "steps_s": dict(sorted(steps.items(), key=lambda kv: -kv[1])),
        "load_1m": os.getloadavg()[0],
    }


def markdown(rec: dict[str, object]) -> str:
    """The record as a Markdown table."""
    steps: dict[str, float] = rec["steps_s"]  # type: ignore[assignment]
    wall: float = rec["wall_s"]  # type: ignore[assignment]
    days: int = rec["days"]  # type: ignore[assignment]
    lines = [
        f"`{rec['workload']}`: {rec['paths']:,} paths × {days:,} days × {rec['cohorts']} "
        f"cohorts, {wall:.2f} s wall ({rec['cpu_s']:.2f} s CPU), "
        f"{rec['path_days_per_s']:,.0f} path-days/s, load {rec['load_1m']:.2f}",
        "",
        "| step | s | ms per day | share |",
        "|---|---:|---:|---:|",
    ]
    for k, v in steps.items():
        lines.append(f"| {k} | {v:.2f} | {1e3 * v / days:.2f} | {100 * v / wall:.1f} % |")
    rest = wall - sum(steps.values())
    lines.append(
        f"| (outside the daily steps) | {rest:.2f} | {1e3 * rest / days:.2f} | "
        f"{100 * rest / wall:.1f} % |"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workloads", nargs="+", help="names from benchmarks.configurations")
    args = p.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    for name in args.workloads:
        rec = measure(name)
        md = markdown(rec)
        (OUT / f"stages-{name}.json").write_text(json.dumps(rec, indent=1) + "\n")
        (OUT / f"stages-{name}.md").write_text(md)
        sys.stdout.write(md + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
