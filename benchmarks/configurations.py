"""Benchmark workloads: scenarios built in code so their size is explicit.

Every workload switches on the base model: stochastic price (Merton jumps), lognormal fees
with spikes, noisy network growth, Poisson blocks with exact retargets and halvings,
deliveries during the run, site limits, curtailment, FPPS and opex.  On top of it,
:func:`add_features` switches on the capabilities that have landed in the schema (listed by
:meth:`Workload.features`); ``scenario(features=False)`` is the base model alone, which is
what the naive peers simulate.

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
    start: dt.date = dt.date(2024, 4, 21)  # just after the 2024 halving

    @property
    def days(self) -> int:
        return round(self.years * 365.25)

    def features(self) -> tuple[str, ...]:
        """Capabilities beyond the base model switched on in :meth:`scenario`."""
        return tuple(FEATURES)

    def scenario(self, *, features: bool = True) -> Scenario:
        """The scenario of this workload (``features=False``: the base model only)."""
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
                    "drift_per_year": 0.1,
                    "volatility_per_year": 0.55,
                }
            },
            "fleet": {"sites": sites, "cohorts": cohorts},
            "company": {"starting_cash_usd": 1e8, "opex_usd_per_month": 5e6},
        }
        if features:
            add_features(doc)
        return Scenario.model_validate(doc)


#: Capabilities :func:`add_features` switches on (updated as they land).
FEATURES: tuple[str, ...] = ()


def add_features(doc: dict[str, Any]) -> None:
    """Switch on, in a scenario document, every capability that has landed."""


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload("tiny", 250, 0.1, 4),  # for the tests of the harness
        Workload("small", 1_000, 5, 10),
        Workload("standard", 10_000, 10, 40),
        Workload("long", 1_000, 30, 10),
        Workload("scale-p1e3-c10", 1_000, 1, 10),
        Workload("scale-p1e4-c10", 10_000, 1, 10),
        Workload("scale-p1e5-c10", 100_000, 1, 10),
        Workload("scale-p1e4-c40", 10_000, 1, 40),
        Workload("scale-p1e4-c160", 10_000, 1, 160),
    ]
}
