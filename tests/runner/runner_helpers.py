"""Shared scenarios and helpers of the runner tests."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from builders import CHAIN_2026
from hashfleet.results import Results
from hashfleet.scenario.schema import Scenario

BASE: dict[str, Any] = {
    "name": "runner-test",
    "run": {
        "start": "2026-01-01",
        "horizon_days": 70,  # two full 32-day windows and a partial one
        "paths": 700,  # three stream blocks, the last one partly dropped
        "seed": 11,
        "outputs": {"store_paths": True},
    },
    "network": {
        "start": CHAIN_2026,
        "hashrate": {"model": "growth", "growth_per_year": 0.3, "noise_sigma": 0.05},
        "fees": {"model": "lognormal", "median_btc_per_block": 0.02, "sigma": 0.4},
    },
    "market": {"btc_price": {"model": "gbm", "start_usd": 88_000, "volatility_per_year": 0.6}},
    "fleet": {
        "models": [{"name": "TestMiner", "hashrate_th_s": 200, "power_w": 3500}],
        "sites": [
            {
                "name": "A",
                "capacity_mw": 50,
                "power": {"contract": "fixed", "price_usd_per_mwh": 60},
            }
        ],
        "cohorts": [
            {"model": "TestMiner", "site": "A", "units": 10_000},
            {"model": "TestMiner", "site": "A", "units": 5_000, "install_date": "2026-01-20"},
        ],
    },
    "company": {"starting_cash_usd": 1e7},
}


def make_scenario(**run: Any) -> Scenario:
    """BASE with ``run`` settings replaced."""
    d = copy.deepcopy(BASE)
    d["run"].update(run)
    return Scenario.model_validate(d)


def assert_identical(a: Results, b: Results) -> None:
    """Every array of two results is equal (not close): daily, per path, paths, events."""
    assert list(a.daily.data_vars) == list(b.daily.data_vars)
    for v in a.daily.data_vars:
        assert np.array_equal(a.daily[v].values, b.daily[v].values), v
    assert list(a.per_path.data_vars) == list(b.per_path.data_vars)
    for v in a.per_path.data_vars:
        assert np.array_equal(a.per_path[v].values, b.per_path[v].values), v
    assert (a.paths is None) == (b.paths is None)
    if a.paths is not None and b.paths is not None:
        for v in a.paths.data_vars:
            assert np.array_equal(a.paths[v].values, b.paths[v].values), v
    assert a.retargets.equals(b.retargets)
    assert a.halvings.equals(b.halvings)
    assert a.summary["per_path"] == b.summary["per_path"]
