"""Benchmark workloads: scenarios built in code so their size is explicit.

Every workload runs the base model: stochastic price (Merton jumps), lognormal fees with
spikes, noisy exogenous network growth, Poisson blocks with exact retargets and halvings,
deliveries during the run, site limits, curtailment, FPPS and opex — the model the naive
peers simulate.  ``standard-all`` is the issue's ``standard`` workload with every capability
that has landed switched on (:func:`add_features`, listed in :data:`FEATURES`): 10,000
paths × 10 years × 40 cohorts (about 1.5 minutes); ``standard-features`` is the same over one
year (the cost of the features without the decade's growth of the vintage grid and of the
cohorts bought along the way), and ``profile-features`` a quarter for the profiler.

The scaling series uses a one-year horizon (path-days scale linearly with the horizon; the
shorter horizon keeps the 100,000-path point to about a minute on a shared machine).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from hashfleet.scenario.schema import Scenario

MODELS = [
    "Antminer S19j Pro",
    "Antminer S19 XP",
    "Antminer S21",
    "Antminer S21 Pro",
    "Antminer S21 XP",
    "Antminer S21+",
    "Whatsminer M60S",
    "Avalon A1566",
]


@dataclass(frozen=True)
class Workload:
    """A named benchmark configuration."""

    name: str
    paths: int
    years: float
    cohorts: int
    all_features: bool = False
    start: dt.date = dt.date(2024, 4, 21)  # just after the 2024 halving

    @property
    def days(self) -> int:
        return round(self.years * 365.25)

    def features(self) -> tuple[str, ...]:
        """Capabilities beyond the base model switched on in :meth:`scenario`."""
        return FEATURES if self.all_features else ()

    def scenario(self, *, features: bool | None = None) -> Scenario:
        """The scenario of this workload (``features=False``: the base model only; default:
        as :attr:`all_features` says)."""
        n_sites = max(1, self.cohorts // 10)
        sites = [
            {
                "name": f"site{i}",
                "capacity_mw": 100.0,
                "pue": 1.05 + 0.01 * (i % 3),
                "power": {"contract": "fixed", "price_usd_per_mwh": 35.0 + 5 * (i % 4)},
            }
            for i in range(n_sites)
        ]
        cohorts: list[dict[str, Any]] = []
        for c in range(self.cohorts):
            cohorts.append(
                {
                    "model": MODELS[c % len(MODELS)],
                    "site": f"site{c % n_sites}",
                    "units": 2500,
                    # a quarter of the cohorts are delivered during the first two years
                    **(
                        {"install_date": self.start + dt.timedelta(days=30 * (c % 24))}
                        if c % 4 == 3
                        else {}
                    ),
                }
            )
        doc: dict[str, Any] = {
            "name": f"bench-{self.name}",
            "run": {
                "start": self.start,
                "horizon_days": self.days,
                "paths": self.paths,
                "seed": 1,
                "outputs": {"event_log": True},
            },
            "network": {
                "start": {"from_history": True},
                "hashrate": {"model": "growth", "growth_per_year": 0.3, "noise_sigma": 0.05},
                "fees": {
                    "model": "lognormal",
                    "median_btc_per_block": 0.03,
                    "sigma": 0.5,
                    "spike_rate_per_year": 2,
                },
            },
            "market": {
                "btc_price": {
                    "model": "merton",
                    # the close of 2024-04-20 (the day before the start), stated rather than
                    # read from the non-commercial price history
                    "start_usd": 64_994.44140625,
                    "drift_per_year": 0.1,
                    "volatility_per_year": 0.55,
                }
            },
            "fleet": {"sites": sites, "cohorts": cohorts},
            "company": {"starting_cash_usd": 1e8, "opex_usd_per_month": 5e6},
        }
        if self.all_features if features is None else features:
            add_features(doc)
        return Scenario.model_validate(doc)


#: Capabilities :func:`add_features` switches on (updated as they land).
FEATURES: tuple[str, ...] = (
    "endogenous network hashrate (with random supply shocks)",
    "index power with spot process, hourly curtailment, demand response and 4CP (site 0)",
    "failures, repairs, spares, degradation, DOA, underclock mode (every 5th cohort)",
    "ASIC market with frontier generations; refresh-to-frontier upgrade policy",
    "a purchase order in tranches; hosting and maintenance opex; finance metrics",
)


def add_features(doc: dict[str, Any]) -> None:
    """Switch on, in a scenario document, every capability that has landed."""
    start: dt.date = doc["run"]["start"]
    doc["network"]["hashrate"] = {"model": "endogenous", "shock_rate_per_year": 0.5}
    site0 = doc["fleet"]["sites"][0]
    site0["power"] = {"contract": "index", "adder_usd_per_mwh": 6}
    site0["spot"] = {
        "median_usd_per_mwh": 35,
        "sigma": 0.35,
        "half_life_days": 5,
        "seasonal_amplitude": 0.25,
        "jump_rate_per_year": 6,
        "jump_mean_log": 1.0,
        "jump_sigma_log": 0.6,
        "cap_usd_per_mwh": 5000,
        "intraday_sigma": 0.45,
        "diurnal_amplitude": 0.3,
    }
    site0["programmes"] = {
        "demand_response": {
            "enrolled_mw": 20,
            "capacity_usd_per_mw_month": 2500,
            "call_price_usd_per_mwh": 1000,
            "energy_usd_per_mwh": 50,
        },
        "coincident_peak": {"charge_usd_per_kw_year": 55, "months": [6, 7, 8, 9]},
    }
    for i, c in enumerate(doc["fleet"]["cohorts"]):
        if i % 5 == 0:
            c["failures"] = {
                "model": "weibull",
                "weibull_shape": 1.5,
                "weibull_scale_years": 8,
                "repair_days": 14,
                "repair_cost_usd_per_unit": 150,
                "spares_units": 50,
            }
            c["degradation_per_year"] = 0.03
            c["doa_share"] = 0.01
        elif i % 5 == 1:
            c["failures"] = {"model": "constant", "rate_per_year": 0.06, "repair_days": 14}
        elif i % 5 == 2:
            c["mode"] = "underclock"
    doc["asic_market"] = {
        "default_price_usd_per_th": 14,
        "frontier_price_usd_per_th": 17,
        "new_price_decline_per_year": 0.25,
        "payback_days": 365,
        "reference_power_usd_per_mwh": 50,
        "noise_sigma": 0.05,
        "frontier": {
            "generations": 5,
            "interval_months": 12,
            "improvement_per_year": 0.12,
            "unit_hashrate_th_s": 400,
            "release_delay_max_days": 90,
        },
    }
    doc["orders"] = [
        {
            "model": "Antminer S21 XP",
            "site": doc["fleet"]["sites"][-1]["name"],
            "units": 1000,
            "order_date": start + dt.timedelta(days=60),
            "deposit_share": 0.3,
            "lead_time_days": 120,
            "tranches": 3,
            "tranche_interval_days": 30,
        }
    ]
    doc["opex"] = {"hosting_usd_per_mw_month": 0, "maintenance_usd_per_th_year": 0.4}
    doc["policies"] = {
        "upgrade": {
            "kind": "refresh_frontier",
            "every_months": 12,
            "budget_usd": 50_000_000,
            "min_gain": 0.2,
            "lead_time_days": 90,
            "deposit_share": 0.3,
        }
    }
    doc["finance"] = {"discount_rate_per_year": 0.12, "include_fleet_value": True}


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload("tiny", 250, 0.1, 4),  # for the tests of the harness
        Workload("small", 1_000, 5, 10),
        Workload("standard", 10_000, 10, 40),
        Workload("long", 1_000, 30, 10),
        Workload("standard-features", 10_000, 1, 40, all_features=True),
        Workload("standard-all", 10_000, 10, 40, all_features=True),
        Workload("profile-standard", 10_000, 2, 40),
        Workload("profile-features", 10_000, 0.25, 40, all_features=True),
        # iteration variants of standard-all: fewer paths or years, the same per-path-day work
        Workload("all-p2k", 2_000, 10, 40, all_features=True),
        Workload("all-2y", 10_000, 2, 40, all_features=True),
        # memory at 100,000 paths with every feature: the peak is reached in the first
        # windows (state, recorder window), so a quarter of a year shows it
        Workload("mem-all-p1e5", 100_000, 0.25, 40, all_features=True),
        Workload("scale-p1e3-c10", 1_000, 1, 10),
        Workload("scale-p1e4-c10", 10_000, 1, 10),
        Workload("scale-p1e5-c10", 100_000, 1, 10),
        Workload("scale-p1e4-c40", 10_000, 1, 40),
        Workload("scale-p1e4-c160", 10_000, 1, 160),
    ]
}
