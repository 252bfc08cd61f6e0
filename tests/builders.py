"""Scenario building blocks shared by the tests (importable because tests/conftest.py puts
this folder on ``sys.path``).

* :func:`base_doc` — the one small scenario document the engine, runner and compare tests
  start from (one site, one test model, a cohort delivered during the run);
* :func:`build` — validate a copy of a document with changes at ``a__b__0__c`` paths;
* :func:`small_scenario` — ``build(base_doc(), **changes)``.
"""

from __future__ import annotations

import copy
from typing import Any

from hashfleet.scenario.schema import Scenario

#: The chain at 2026-01-01 00:00 UTC as the shipped history derives it (see baseline.yaml).
CHAIN_2026: dict[str, Any] = {
    "height": 930_349,
    "bits": 0x1701E605,
    "epoch_start_time": "2025-12-25T03:03:10Z",
}

#: A 200 TH/s, 3.5 kW test machine (17.5 J/TH).
TEST_MINER: dict[str, Any] = {"name": "TestMiner", "hashrate_th_s": 200, "power_w": 3500}


def base_doc(
    *,
    name: str = "engine-test",
    horizon_days: int = 45,
    paths: int = 300,
    seed: int = 7,
    volatility_per_year: float = 0.5,
    power_usd_per_mwh: float = 40.0,
) -> dict[str, Any]:
    """The shared small scenario: GBM price from USD 88,000, growing noisy network,
    lognormal fees, 10,000 test miners at a 50 MW fixed-price site and 5,000 more delivered
    on 2026-01-20, USD 10 M of cash."""
    return {
        "name": name,
        "run": {
            "start": "2026-01-01",
            "horizon_days": horizon_days,
            "paths": paths,
            "seed": seed,
            "outputs": {"store_paths": True},
        },
        "network": {
            "start": dict(CHAIN_2026),
            "hashrate": {"model": "growth", "growth_per_year": 0.3, "noise_sigma": 0.05},
            "fees": {"model": "lognormal", "median_btc_per_block": 0.02, "sigma": 0.4},
        },
        "market": {
            "btc_price": {
                "model": "gbm",
                "start_usd": 88_000,
                "volatility_per_year": volatility_per_year,
            }
        },
        "fleet": {
            "models": [dict(TEST_MINER)],
            "sites": [
                {
                    "name": "A",
                    "capacity_mw": 50,
                    "power": {"contract": "fixed", "price_usd_per_mwh": power_usd_per_mwh},
                }
            ],
            "cohorts": [
                {"model": "TestMiner", "site": "A", "units": 10_000},
                {"model": "TestMiner", "site": "A", "units": 5_000, "install_date": "2026-01-20"},
            ],
        },
        "company": {"starting_cash_usd": 1e7},
    }


def build(base: dict[str, Any], **changes: Any) -> Scenario:
    """Validate a deep copy of ``base`` with changes at ``a__b__c`` paths (``run__paths=10``;
    a number indexes a list: ``fleet__sites__0__capacity_mw=20``)."""
    d = copy.deepcopy(base)
    for path, value in changes.items():
        node: Any = d
        keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split("__")]
        for k in keys[:-1]:
            node = node[k] if isinstance(node, list) else node.setdefault(k, {})
        node[keys[-1]] = value
    return Scenario.model_validate(d)


def small_scenario(**changes: Any) -> Scenario:
    """:func:`base_doc` with changes at ``a__b`` paths."""
    return build(base_doc(), **changes)
