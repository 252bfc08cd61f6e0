"""A stochastic ASIC market (``asic_market.dynamics``): new prices that follow hashprice with
a lag, secondary prices by efficiency tier, lead times that lengthen in booms.

Per path, each day ``d`` (stage 52, from the day's expected hashprice ``hp_d`` before pool
fee, USD/TH/day; draws from the ``"asic_dynamics"`` stream, so every other stream is as
without dynamics):

* **Lagged hashprice** ``h̄_d = h̄_{d−1} + (hp_d − h̄_{d−1})/L`` (an exponential average with
  time constant ``L = hashprice_lag_days``; ``h̄_0 = hp_0``), and its ratio to day 0,
  ``ρ_d = h̄_d / hp_0``: the state of the network (BTC price, difficulty, fees) as the market
  has absorbed it.
* **New-price index** ``I_d``: ``log I_d = φ·log I_{d−1} + (1 − φ)·β·log ρ_d + σ·sqrt(1 − φ²)·z_d``,
  ``φ = 2^(−1/half_life)``, ``I_0 = 1``.  A model's new price is its list price after the fixed
  yearly decline (age) times ``I_d`` — manufacturers cut prices when hashprice has fallen
  (the price war, ``β`` the elasticity) and raise them in booms — and never below its
  secondary price.
* **Tier factors** ``T_{d,k}``, ``k = 0..3`` (efficiency bands ``< b_0``, ``b_0–b_1``,
  ``b_1–b_2``, ``≥ b_2`` J/TH): mean-one lognormal AR(1) factors with correlation ``c``
  between tiers (a common and an own normal per tier): ``y_{d,k} = ψ·y_{d−1,k} +
  s·sqrt(1 − ψ²)·(sqrt(c)·u_d + sqrt(1 − c)·v_{d,k})``, ``T = exp(y − s²/2)``.  A machine's
  secondary price (margin × payback, :mod:`hashfleet.market.asic`) is multiplied by its tier's
  factor; the reported tier price is that of a machine at the tier's reference J/TH.
* **Lead time** of an order placed on day ``d``: the nominal lead time × ``clip(ρ_d^γ, lo, hi)``,
  rounded to whole weeks of change (orders are delivered on a handful of distinct days).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hashfleet.engine.streams import BlockRNG
from hashfleet.market.asic import secondary_price_usd_per_th
from hashfleet.scenario.asic import AsicDynamicsSpec
from hashfleet.scenario.schema import AsicMarketSpec

__all__ = ["ASIC_DYNAMICS_VARIABLES", "AsicDynamics", "tier_of"]

FloatArray = NDArray[np.float64]

#: Daily variables with dynamics on: name -> (unit, description, totalled).
ASIC_DYNAMICS_VARIABLES: dict[str, tuple[str, str, bool]] = {
    "asic_new_price_index": ("1", "New-machine price index (1 on day 0)", False),
    "asic_tier0_usd_per_th": ("USD/TH", "Secondary price, most efficient tier", False),
    "asic_tier1_usd_per_th": ("USD/TH", "Secondary price, second tier", False),
    "asic_tier2_usd_per_th": ("USD/TH", "Secondary price, third tier", False),
    "asic_tier3_usd_per_th": ("USD/TH", "Secondary price, least efficient tier", False),
    "asic_lead_time_factor": ("1", "Lead-time multiplier of orders placed today", False),
}


def tier_of(efficiency_j_per_th: FloatArray, bounds: list[float]) -> NDArray[np.intp]:
    """Tier index (0 = most efficient) of each efficiency."""
    return np.searchsorted(np.asarray(bounds), np.asarray(efficiency_j_per_th), side="right")


@dataclass
class AsicDynamics:
    """The market state of a chunk's paths.

    Parameters
    ----------
    spec : AsicDynamicsSpec
    n_paths : int
    rng : BlockRNG
        Generators of purpose ``"asic_dynamics"``.
    """

    spec: AsicDynamicsSpec
    n_paths: int
    rng: BlockRNG
    log_index: FloatArray = field(init=False)
    tier_y: FloatArray = field(init=False)
    lagged: FloatArray | None = field(init=False, default=None)
    base: FloatArray | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.log_index = np.zeros(self.n_paths)
        s = self.spec
        z = self._normals(4)  # stationary start of the tier factors
        self.tier_y = s.tier_sigma * z

    @property
    def index(self) -> FloatArray:
        """New-price index ``I`` per path."""
        return np.exp(self.log_index)

    @property
    def tier_factor(self) -> FloatArray:
        """Mean-one tier factors ``T``, shape (n_paths, 4)."""
        s = self.spec.tier_sigma
        return np.exp(self.tier_y - 0.5 * s * s)

    @property
    def ratio(self) -> FloatArray:
        """Lagged hashprice over day 0's, per path (1 before the first day)."""
        if self.lagged is None or self.base is None:
            return np.ones(self.n_paths)
        return np.divide(self.lagged, self.base, out=np.ones(self.n_paths), where=self.base > 0)

    def lead_time_factor(self) -> FloatArray:
        """Lead-time multiplier per path: ``clip(ρ^γ, lo, hi)``."""
        s = self.spec
        lo, hi = s.lead_time_factor_bounds
        rho = np.maximum(self.ratio, 1e-12)
        return np.clip(rho**s.lead_time_elasticity, lo, hi)

    def step(self, hashprice_usd_per_th_day: FloatArray) -> None:
        """Advance one day with the day's hashprice (n_paths,)."""
        s = self.spec
        hp = np.asarray(hashprice_usd_per_th_day, dtype=np.float64)
        if self.lagged is None:
            self.lagged, self.base = hp.copy(), hp.copy()
        else:
            self.lagged = self.lagged + (hp - self.lagged) / s.hashprice_lag_days
        z = self._normals(6)
        phi = 2.0 ** (-1.0 / s.new_price_half_life_days)
        target = s.new_price_elasticity * np.log(np.maximum(self.ratio, 1e-12))
        self.log_index = (
            phi * self.log_index
            + (1.0 - phi) * target
            + s.new_price_sigma * np.sqrt(1.0 - phi * phi) * z[:, 0]
        )
        psi = 2.0 ** (-1.0 / s.tier_half_life_days)
        c = s.tier_correlation
        shock = np.sqrt(c) * z[:, 1:2] + np.sqrt(1.0 - c) * z[:, 2:6]
        self.tier_y = psi * self.tier_y + s.tier_sigma * np.sqrt(1.0 - psi * psi) * shock

    def record(
        self,
        values: dict[str, FloatArray],
        hashprice_usd_per_th_day: FloatArray,
        market: AsicMarketSpec,
        factor: FloatArray | None,
    ) -> None:
        """Set the day's :data:`ASIC_DYNAMICS_VARIABLES`: the index, each tier's secondary
        price at its reference J/TH (common noise ``factor`` and tier factor included) and
        the lead-time factor."""
        tiers = secondary_price_usd_per_th(
            np.asarray(self.spec.tier_reference_j_per_th),
            hashprice_usd_per_th_day,
            reference_power_usd_per_mwh=market.reference_power_usd_per_mwh,
            payback_days=market.payback_days,
            floor_usd_per_th=market.floor_usd_per_th,
            factor=factor,
        )
        tiers = tiers * self.tier_factor
        values["asic_new_price_index"] = self.index
        for k in range(4):
            values[f"asic_tier{k}_usd_per_th"] = tiers[:, k]
        values["asic_lead_time_factor"] = self.lead_time_factor()

    def _normals(self, k: int) -> FloatArray:
        """``(n_paths, k)`` standard normals, block by block from each path's stream."""
        out = np.empty((self.n_paths, k))
        B = self.rng.block_paths
        for b, gen in enumerate(self.rng.generators):
            sl = slice(b * B, (b + 1) * B)
            out[sl] = gen.standard_normal((sl.stop - sl.start, k))
        return out
