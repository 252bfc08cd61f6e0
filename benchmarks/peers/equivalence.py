"""Engine vs naive peer: do their per-path distributions agree?

For each figure (terminal difficulty, total production, ending cash) the two samples are
independent (different random streams), so the test is on distributions: the difference of
means within ``z_max`` standard errors (``sqrt(s1²/n1 + s2²/n2)``) and a two-sample
Kolmogorov–Smirnov test with p above ``p_min``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from hashfleet.scenario.schema import Scenario

__all__ = ["FIGURES", "Comparison", "compare", "equivalence_scenario"]

#: Per-path figures compared: engine per-path name -> PathOutcome attribute.
FIGURES: dict[str, str] = {
    "final_difficulty": "final_difficulty",
    "total_production_btc": "total_production_btc",
    "final_cash_usd": "final_cash_usd",
    "total_blocks": "total_blocks",
}

_BASE: dict[str, Any] = {
    "name": "peer-equivalence",
    "run": {"start": "2028-03-01", "horizon_days": 14, "paths": 250, "seed": 11},
    "network": {
        # 200 blocks before the 2028 halving (1,050,000) and 536 before a retarget: both
        # fall inside the first days of every path; the epoch so far ran ~3 % fast
        "start": {
            "height": 1_049_800,
            "bits": 0x1701E605,
            "epoch_start_time": "2028-02-19T17:00:00Z",
        },
        "hashrate": {"model": "growth", "growth_per_year": 0.3, "noise_sigma": 0.05},
        "fees": {
            "model": "lognormal",
            "median_btc_per_block": 0.05,
            "sigma": 0.5,
            "spike_rate_per_year": 6,
            "price_correlation": 0.3,
        },
    },
    "market": {
        "btc_price": {
            "model": "merton",
            "start_usd": 150_000,
            "drift_per_year": 0.1,
            "volatility_per_year": 0.6,
            "jump_rate_per_year": 10,
        }
    },
    "fleet": {
        "models": [
            {"name": "Old", "hashrate_th_s": 100, "power_w": 3250},
            {"name": "New", "hashrate_th_s": 200, "power_w": 3500},
        ],
        "sites": [
            {
                "name": "A",
                "capacity_mw": 40,
                "power": {"contract": "fixed", "price_usd_per_mwh": 45},
            },
            {
                "name": "B",
                "capacity_mw": 30,
                "pue": 1.1,
                "power": {"contract": "fixed", "price_usd_per_mwh": 40},
            },
        ],
        "cohorts": [
            {"model": "New", "site": "A", "units": 8_000},
            {"model": "Old", "site": "A", "units": 6_000},
            {"model": "Old", "site": "B", "units": 8_000},
            {"model": "New", "site": "B", "units": 4_000, "install_date": "2028-03-05"},
        ],
    },
    "company": {"starting_cash_usd": 2e7, "opex_usd_per_month": 3e6},
}


def equivalence_scenario(*, horizon_days: int = 14, paths: int = 250) -> Scenario:
    """A small scenario with a halving, a retarget, curtailment, site limits and a delivery.

    The 2028 halving is ~1.4 days in and the retarget ~3.7 days in.  After the halving the
    Old machines (32.5 J/TH, ≈ 0.035 USD/TH/day of power) hover around break-even at a
    150,000 USD price and are curtailed on the days their revenue falls short, and site A's
    40 MW limit cuts its Old cohort; the New cohort at site B is delivered on day 4.
    """
    d = copy.deepcopy(_BASE)
    d["run"]["horizon_days"] = horizon_days
    d["run"]["paths"] = paths
    return Scenario.model_validate(d)


@dataclass(frozen=True)
class Comparison:
    """One figure compared between engine and peer."""

    figure: str
    engine_mean: float
    peer_mean: float
    z: float
    ks_p: float

    def ok(self, z_max: float = 3.0, p_min: float = 1e-3) -> bool:
        """Means within ``z_max`` standard errors and KS p-value above ``p_min``."""
        return abs(self.z) <= z_max and self.ks_p > p_min


def compare(engine: np.ndarray, peer: np.ndarray, figure: str) -> Comparison:
    """Compare two independent samples of one figure (1-D arrays)."""
    e, p = np.asarray(engine, dtype=float), np.asarray(peer, dtype=float)
    se = float(np.sqrt(e.var(ddof=1) / e.size + p.var(ddof=1) / p.size))
    diff = float(e.mean() - p.mean())
    z = diff / se if se > 0 else (0.0 if diff == 0 else float("inf"))
    ks = stats.ks_2samp(e, p)
    return Comparison(figure, float(e.mean()), float(p.mean()), z, float(ks.pvalue))
