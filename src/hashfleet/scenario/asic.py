"""The ``asic_market.dynamics`` section: a stochastic ASIC market (issue 16).

Opt-in: without it new prices decline at the fixed yearly rate, as before.  Imports only
:mod:`hashfleet.scenario.fields` (see :mod:`hashfleet.scenario.hpc`).
"""

from __future__ import annotations

from pydantic import model_validator

from hashfleet.scenario.fields import Spec, _f

__all__ = ["AsicDynamicsSpec"]


class AsicDynamicsSpec(Spec):
    """Stochastic ASIC market (docs/asic-market.md): new prices that follow hashprice with a
    lag (the price war), secondary prices by efficiency tier, lead times that lengthen in
    booms.  Absent: the fixed yearly decline of new prices, as before."""

    hashprice_lag_days: float = _f(
        90.0,
        unit="day",
        ge=1,
        le=3650,
        description="Time constant of the hashprice average manufacturers and buyers respond "
        "to (exponential moving average).",
    )
    new_price_elasticity: float = _f(
        0.8,
        ge=0,
        le=5,
        description="Elasticity of the new-price index to the lagged hashprice relative to "
        "day 0 (0.8: a 50 % fall in hashprice cuts new prices ~43 % in equilibrium).",
    )
    new_price_half_life_days: float = _f(
        60.0,
        unit="day",
        gt=0,
        le=3650,
        description="Half-life of the new-price index's move towards its target.",
    )
    new_price_sigma: float = _f(
        0.10, ge=0, le=2, description="Stationary standard deviation of the index's log noise."
    )
    tier_bounds_j_per_th: list[float] = _f(
        [19.0, 25.0, 38.0],
        description="Efficiency bounds of the four secondary-market tiers (J/TH): <19, 19-25, "
        "25-38, >38 as in the Hashrate Index ASIC Price Index bands.",
    )
    tier_reference_j_per_th: list[float] = _f(
        [17.0, 22.0, 31.5, 45.0],
        description="Efficiency at which each tier's reported price is computed (J/TH).",
    )
    tier_sigma: float = _f(
        0.10,
        ge=0,
        le=2,
        description="Stationary standard deviation of each tier's log price factor.",
    )
    tier_half_life_days: float = _f(
        30.0, unit="day", gt=0, le=3650, description="Half-life of the tier factors."
    )
    tier_correlation: float = _f(
        0.7, ge=0, le=1, description="Correlation between the tiers' factors."
    )
    lead_time_elasticity: float = _f(
        1.0,
        ge=0,
        le=5,
        description="Lead times scale as (lagged hashprice / day-0 hashprice)^elasticity, in "
        "whole weeks; 0 = fixed lead times.",
    )
    lead_time_factor_bounds: list[float] = _f(
        [0.5, 3.0], description="Lowest and highest lead-time multiplier."
    )

    @model_validator(mode="after")
    def _tiers(self) -> AsicDynamicsSpec:
        b, r = self.tier_bounds_j_per_th, self.tier_reference_j_per_th
        if len(b) != 3 or any(x <= 0 for x in b) or sorted(b) != b or len(set(b)) != 3:
            raise ValueError(f"tier_bounds_j_per_th: expected 3 increasing J/TH, got {b}")
        edges = [0.0, *b, float("inf")]
        if len(r) != 4 or not all(edges[i] <= r[i] < edges[i + 1] for i in range(4)):
            raise ValueError(
                f"tier_reference_j_per_th: expected one J/TH inside each tier {edges}, got {r}"
            )
        lo, hi = [*self.lead_time_factor_bounds, 0.0, 0.0][:2]
        if len(self.lead_time_factor_bounds) != 2 or not 0 < lo <= 1 <= hi:
            raise ValueError(
                "lead_time_factor_bounds: expected [low ≤ 1, high ≥ 1], got "
                f"{self.lead_time_factor_bounds}"
            )
        return self
