"""ASIC prices: new machines by model age, a secondary market that follows hashprice, and
future generations along an efficiency frontier.

Prices are in USD per TH/s of a model's stock hashrate (USD/TH).

* **New price** of a model ``m`` on day ``d``: ``list_m · (1 − δ)^(age_m(d) / 365.25)`` with
  ``δ`` the yearly decline and ``age`` the days since release (0 before); a model whose
  catalogue row has no price uses ``default_price_usd_per_th``.  Per path it is never below
  the model's secondary price (nobody sells new below used).
* **Secondary price**: what a buyer pays for the margin a machine earns at a reference power
  price over ``payback_days``::

      used_m = max(floor, max(hp − e_m · p_ref · 24 / 10^6, 0) · payback_days) · ε

  with ``hp`` the day's hashprice in USD/TH/day (before pool fee), ``e_m`` the model's J/TH,
  ``p_ref`` USD/MWh and ``ε`` a mean-one lognormal market factor common to every model on a
  path and day (drawn from the ``"asic_prices"`` stream).  Efficient machines keep value;
  inefficient ones fall to scrap as hashprice falls.
* **Frontier**: generation ``g = 1..G`` is released ``g · interval`` after the start (plus a
  uniform random delay per path, from the ``"frontier"`` stream) with efficiency
  ``e_0 · (1 − improvement)^(t_g / 365.25)`` where ``e_0`` is the best catalogue model
  released by the start.  Frontier models join the catalogue at compile time as
  ``frontier-g<g>``; generation 0 is that best catalogue model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hashfleet.fleet.catalogue import Catalogue
from hashfleet.scenario.schema import AsicMarketSpec, MinerModelSpec

__all__ = [
    "DAYS_PER_MONTH",
    "AsicPricing",
    "Frontier",
    "build_frontier",
    "new_price_usd_per_th",
    "secondary_price_usd_per_th",
]

#: Mean days per month (365.25 / 12).
DAYS_PER_MONTH = 365.25 / 12.0


@dataclass(frozen=True)
class Frontier:
    """Future generations, generation 0 being the best model available at the start.

    Attributes
    ----------
    names : tuple of str
        ``names[0]`` is the best catalogue model at the start; ``names[g]`` is
        ``frontier-g<g>``.
    release_day : ndarray of float, shape (G + 1,)
        Nominal release day since the start (0 for generation 0).
    efficiency_j_per_th : ndarray, shape (G + 1,)
    release_delay_max_days : float
        Random delay bound per path (uniform on ``[0, bound]``).
    models : tuple of MinerModelSpec
        The new catalogue entries (generations 1..G).
    """

    names: tuple[str, ...]
    release_day: NDArray[np.float64]
    efficiency_j_per_th: NDArray[np.float64]
    release_delay_max_days: float
    models: tuple[MinerModelSpec, ...]

    def newest(self, release_day_per_path: NDArray[np.float64], day: int) -> NDArray[np.intp]:
        """Newest generation released by ``day`` on each path.

        Parameters
        ----------
        release_day_per_path : ndarray, shape (n_paths, G + 1)
        day : int

        Returns
        -------
        ndarray of int, shape (n_paths,)
            Generation index (0 if none released yet).
        """
        released = release_day_per_path <= day
        return (released.shape[1] - 1 - np.argmax(released[:, ::-1], axis=1)).astype(np.intp)


def build_frontier(spec: AsicMarketSpec, catalogue: Catalogue, start: dt.date) -> Frontier:
    """The frontier of a run: the best model at ``start`` and the future generations.

    Generation 0 is the most efficient model released by ``start`` (with a catalogue of
    future models only, the earliest released one).
    """
    fs = spec.frontier
    released = [
        m for m in catalogue.models.values() if m.release_date is None or m.release_date <= start
    ]
    if not released:  # a catalogue of future models only: its earliest release is the base
        released = [min(catalogue.models.values(), key=lambda m: m.release_date or start)]
    best = min(released, key=lambda m: m.power_w / m.hashrate_th_s)
    e0 = fs.base_efficiency_j_per_th or best.power_w / best.hashrate_th_s
    g = np.arange(1, fs.generations + 1)
    days = np.round(g * fs.interval_months * DAYS_PER_MONTH)
    eff = e0 * (1.0 - fs.improvement_per_year) ** (days / 365.25)
    models = tuple(
        MinerModelSpec(
            name=f"frontier-g{k}",
            hashrate_th_s=fs.unit_hashrate_th_s,
            power_w=float(e * fs.unit_hashrate_th_s),
            release_date=start + dt.timedelta(days=int(d)),
            price_usd_per_th=spec.frontier_price_usd_per_th,
            source="hashfleet efficiency frontier (asic_market.frontier)",
        )
        for k, d, e in zip(g, days, eff, strict=True)
    )
    return Frontier(
        names=(best.name, *(m.name for m in models)),
        release_day=np.concatenate([[0.0], days]),
        efficiency_j_per_th=np.concatenate([[best.power_w / best.hashrate_th_s], eff]),
        release_delay_max_days=fs.release_delay_max_days,
        models=models,
    )


@dataclass(frozen=True)
class AsicPricing:
    """Price parameters of the fleet's columns (cohorts in merit order, slots included).

    Attributes
    ----------
    spec : AsicMarketSpec
    efficiency_j_per_th : ndarray, shape (n_cohorts,)
    list_usd_per_th : ndarray, shape (n_cohorts,)
        List price when new.
    release_day : ndarray, shape (n_cohorts,)
        Days since the start the model was released (negative: before the start).
    """

    spec: AsicMarketSpec
    efficiency_j_per_th: NDArray[np.float64]
    list_usd_per_th: NDArray[np.float64]
    release_day: NDArray[np.float64]

    @classmethod
    def for_models(
        cls, spec: AsicMarketSpec, models: Sequence[MinerModelSpec], start: dt.date
    ) -> AsicPricing:
        """Pricing of a list of catalogue models (e.g. one per fleet column)."""
        eff = np.array([m.power_w / m.hashrate_th_s for m in models], dtype=float)
        lst = np.array(
            [
                spec.default_price_usd_per_th if m.price_usd_per_th is None else m.price_usd_per_th
                for m in models
            ],
            dtype=float,
        )
        rel = np.array(
            [(m.release_date - start).days if m.release_date else -3650 for m in models],
            dtype=float,
        )
        return cls(spec, eff, lst, rel)

    def secondary(
        self,
        hashprice_usd_per_th_day: NDArray[np.float64],
        factor: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """Secondary USD/TH of every column, shape ``(n_paths, n_cohorts)``."""
        s = self.spec
        return secondary_price_usd_per_th(
            self.efficiency_j_per_th,
            hashprice_usd_per_th_day,
            reference_power_usd_per_mwh=s.reference_power_usd_per_mwh,
            payback_days=s.payback_days,
            floor_usd_per_th=s.floor_usd_per_th,
            factor=factor,
        )

    def new(self, day: int) -> NDArray[np.float64]:
        """New USD/TH of every column on ``day`` before the secondary floor, ``(n_cohorts,)``."""
        return new_price_usd_per_th(
            self.list_usd_per_th, self.release_day, day, self.spec.new_price_decline_per_year
        )


def secondary_price_usd_per_th(
    efficiency_j_per_th: NDArray[np.float64],
    hashprice_usd_per_th_day: NDArray[np.float64],
    *,
    reference_power_usd_per_mwh: float,
    payback_days: float,
    floor_usd_per_th: float,
    factor: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Secondary-market price of machines by efficiency (module docstring).

    Parameters
    ----------
    efficiency_j_per_th : ndarray, shape (n_models,)
    hashprice_usd_per_th_day : ndarray, shape (n_paths,)
    reference_power_usd_per_mwh, payback_days, floor_usd_per_th : float
    factor : ndarray, shape (n_paths,), optional
        Mean-one market factor (default 1).

    Returns
    -------
    ndarray, shape (n_paths, n_models)
        USD per TH/s.
    """
    power_cost = np.asarray(efficiency_j_per_th) * reference_power_usd_per_mwh * 24.0 / 1e6
    margin = np.maximum(np.asarray(hashprice_usd_per_th_day)[:, None] - power_cost[None, :], 0.0)
    price = np.maximum(margin * payback_days, floor_usd_per_th)
    if factor is not None:
        price = price * np.asarray(factor)[:, None]
    return price


def new_price_usd_per_th(
    list_usd_per_th: NDArray[np.float64],
    release_day: NDArray[np.float64],
    day: int,
    decline_per_year: float,
) -> NDArray[np.float64]:
    """List price declined by model age: ``list · (1 − δ)^(max(day − release, 0)/365.25)``.

    Parameters
    ----------
    list_usd_per_th, release_day : ndarray, shape (n_models,)
    day : int
        Days since the start.
    decline_per_year : float

    Returns
    -------
    ndarray, shape (n_models,)
    """
    age_years = np.maximum(day - np.asarray(release_day), 0.0) / 365.25
    return np.asarray(list_usd_per_th) * (1.0 - decline_per_year) ** age_years
