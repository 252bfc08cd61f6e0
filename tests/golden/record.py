"""Bit-identity golden hashes: SHA-256 of every output array of a fixed set of runs.

``python tests/golden/record.py`` (from the repository root, ``PYTHONPATH=src:.``) rewrites
``tests/golden/hashes.json``; ``tests/test_golden.py`` recomputes every case and compares.
The cases: every shipped scenario in ``scenarios/`` (small paths and horizons), each strategy
of ``strategies-baseline.yaml``, two points of ``sweep-baseline.yaml`` and small versions of
the benchmark workloads ``standard`` and ``standard-all``.  Recorded at commit 4a9ea22,
before the architecture refactor (issue 12): results must not change, bit for bit.
The two segments-2026 cases were added with network segments (issue 16), their hashes only.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
HASHES = Path(__file__).with_name("hashes.json")
SCENARIOS = ROOT / "scenarios"


def _digest(a: Any) -> str:
    arr = np.ascontiguousarray(np.asarray(a))
    h = hashlib.sha256()
    h.update(str(arr.dtype).encode() + str(arr.shape).encode())
    if arr.dtype == object:
        h.update(repr(arr.tolist()).encode())
    else:
        h.update(arr.tobytes())
    return h.hexdigest()


def result_hashes(res: Any) -> dict[str, str]:
    """SHA-256 of every array of a :class:`~hashfleet.results.Results`."""
    out: dict[str, str] = {}
    for name, ds in (("daily", res.daily), ("per_path", res.per_path), ("paths", res.paths)):
        if ds is None:
            continue
        for v in sorted(ds.data_vars):
            out[f"{name}/{v}"] = _digest(ds[v].to_numpy())
    for kind in ("retargets", "halvings"):
        df = getattr(res, kind)
        for col in sorted(df.columns):
            out[f"{kind}/{col}"] = _digest(df[col].to_numpy())
    return out


def _scenario_case(file: str, paths: int, days: int, **over: Any) -> Callable[[], Any]:
    def run() -> Any:
        from hashfleet import simulate

        overrides = {"run.horizon_days": days, "run.outputs.store_paths": True} | over
        return simulate(SCENARIOS / file, paths=paths, seed=7, overrides=overrides)

    return run


def _strategy_case(name: str) -> Callable[[], Any]:
    def run() -> Any:
        from hashfleet import simulate
        from hashfleet.scenario import load_scenario
        from hashfleet.studies.compare import strategy_scenario

        base = load_scenario(
            SCENARIOS / "strategies-baseline.yaml",
            overrides={"run.horizon_days": 400, "run.outputs.store_paths": True},
        )
        return simulate(strategy_scenario(base, name), paths=250, seed=7)

    return run


def _sweep_case(index: int) -> Callable[[], Any]:
    def run() -> Any:
        from hashfleet import simulate
        from hashfleet.studies.sweep import expand_sweep

        points = expand_sweep(
            SCENARIOS / "sweep-baseline.yaml", overrides={"run.horizon_days": 120}
        )
        return simulate(points[index].scenario, paths=250, seed=7, store_paths=True)

    return run


def _workload_case(name: str, paths: int, days: int) -> Callable[[], Any]:
    def run() -> Any:
        sys.path.insert(0, str(ROOT))
        from benchmarks.configurations import WORKLOADS

        from hashfleet import simulate

        sc = WORKLOADS[name].scenario()
        run_spec = sc.run.model_copy(update={"horizon_days": days})
        sc = sc.model_copy(update={"run": run_spec})
        return simulate(sc, paths=paths, seed=11, store_paths=True)

    return run


def _strategy_names() -> list[str]:
    from hashfleet.scenario import load_scenario

    return [s.name for s in load_scenario(SCENARIOS / "strategies-baseline.yaml").strategies]


def cases() -> dict[str, Callable[[], Any]]:
    """Every golden case: name -> a function running it."""
    out: dict[str, Callable[[], Any]] = {
        "baseline": _scenario_case("baseline.yaml", 250, 400),
        "ercot-index": _scenario_case("ercot-index.yaml", 250, 400),
        "sweep-baseline": _scenario_case("sweep-baseline.yaml", 250, 120),
        "segments-2026": _scenario_case("segments-2026.yaml", 250, 400),
        "segments-2026-sovereign": _scenario_case("segments-2026-sovereign.yaml", 250, 400),
        # 900 days: Dalton's PPA is re-contracted on day 730 (issue 16)
        "power-emissions-2026": _scenario_case("power-emissions-2026.yaml", 250, 900),
    }
    for name in _strategy_names():
        out[f"strategy-{name}"] = _strategy_case(name)
    out["sweep-point-0"] = _sweep_case(0)
    out["sweep-point-11"] = _sweep_case(11)
    out["workload-standard"] = _workload_case("standard", 500, 1461)
    out["workload-standard-all"] = _workload_case("standard-all", 500, 730)
    return out


def main() -> None:
    import time

    recorded: dict[str, dict[str, str]] = {}
    for name, run in cases().items():
        t0 = time.perf_counter()
        recorded[name] = result_hashes(run())
        print(f"{name}: {len(recorded[name])} arrays, {time.perf_counter() - t0:.1f} s")
    HASHES.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
