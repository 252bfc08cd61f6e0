"""Builders shared by the HPC tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

from hashfleet.engine.core import ChunkEngine
from hashfleet.hpc.component import HpcComponent
from hashfleet.hpc.state import HpcModel, HpcState
from hashfleet.model import compile_scenario
from hashfleet.scenario import load_scenario
from hashfleet.scenario.hpc import HpcSpec

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
START = dt.date(2026, 1, 1)


def project(**kw: Any) -> dict[str, Any]:
    """A one-phase project dict at site ``S`` (keywords override)."""
    base: dict[str, Any] = {
        "name": "p0",
        "site": "S",
        "start_date": "2026-01-01",
        "it_ratio": 0.8,
        "phases": [{"gross_mw": 50.0, "build_days": 300}],
        "capex_usd_per_mw_it": 9_000_000.0,
    }
    return base | kw


def spec(projects: list[dict[str, Any]] | None = None, **kw: Any) -> HpcSpec:
    """An HpcSpec from dicts (keywords are top-level sections)."""
    data: dict[str, Any] = {
        "projects": projects or [project()],
        "lease": {"rent_usd_per_mw_year": 1_800_000.0, "term_months": 120},
    }
    data.update(kw)
    return HpcSpec.model_validate(data)


def state(
    s: HpcSpec,
    n_paths: int,
    *,
    seed: int = 0,
    n_days: int = 3000,
    sites: tuple[str, ...] = ("S", "T"),
    capacity_mw: tuple[float, ...] = (200.0, 100.0),
) -> HpcState:
    """An HpcState with uniforms from one generator (tests of the state alone)."""
    m = HpcModel.build(s, START, n_days, sites, np.asarray(capacity_mw))
    u = np.random.default_rng(seed).random((n_paths, m.n_projects, m.layout.width))
    return HpcState(m, u)


def run_engine(
    hpc: HpcSpec | None,
    *,
    paths_blocks: int = 1,
    chunks: int = 1,
    horizon_days: int = 400,
    seed: int = 7,
    keep: tuple[str, ...] = (),
    overrides: dict[str, Any] | None = None,
    on_day: Any = None,
) -> tuple[dict[str, np.ndarray], list[ChunkEngine]]:
    """Run the baseline scenario (plus ``hpc``) with ChunkEngines, the way the runner does.

    Returns the kept daily variables as ``(n_days, n_paths)`` arrays and the engines.
    """
    sc = load_scenario(BASELINE, overrides={"run.horizon_days": horizon_days, **(overrides or {})})
    compiled = compile_scenario(sc)
    if hpc is not None:
        compiled = dataclasses.replace(
            compiled,
            components=(
                *compiled.components,
                HpcComponent(hpc, start=sc.run.start, pool_fee=sc.fleet.pool.fee_share),
            ),
        )
    n_paths = paths_blocks * 250
    out = {k: np.zeros((compiled.n_days, n_paths)) for k in keep}

    def sink(day: int, offset: int, values: dict[str, np.ndarray]) -> None:
        for k in keep:
            out[k][day, offset : offset + values[k].shape[0]] = values[k]

    per = paths_blocks // chunks
    engines = [ChunkEngine(compiled, seed, c * per, per, sink) for c in range(chunks)]
    for day in range(compiled.n_days):
        for e in engines:
            e.run_until(day + 1)
            if on_day is not None:
                on_day(e, day)
    return out, engines
