"""Power contracts: one interface, one class per contract type; the hour constants and the
calendar helpers.

Every site's contract is a :class:`PowerContract`.  What the rest of the package asks of a
contract goes through its methods — never through ``isinstance`` on the scenario spec — so a
new contract type is one subclass registered with :func:`contract_type`:

* :attr:`PowerContract.spot_linked` — whether the site's marginal price follows the spot hours
  (index, resale); such a contract runs a cohort below :meth:`~PowerContract.running_threshold`
  and prices the hours run with :meth:`~PowerContract.energy_cost`;
* :meth:`~PowerContract.hour_prices` — the 24 hourly prices of the others (flat, time of use,
  a PPA whose price changes over time);
* :meth:`~PowerContract.day_price` — the day's average marginal price (mode choice, policies);
* :meth:`~PowerContract.flat_price_usd_per_mwh` — the constant price, NaN if none;
* :attr:`~PowerContract.time_varying` — the price changes over the run (escalator, expiry):
  its daily value is an exogenous output (:mod:`hashfleet.market.power.terms`);
* :attr:`~PowerContract.sell_back`, :attr:`~PowerContract.flows` — what it books besides the
  power bill.

Prices USD/MWh; per-path values ``(n_paths,)``, per cohort ``(n_paths, k)``, hours last.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from hashfleet.constants import DAYS_PER_YEAR
from hashfleet.scenario.power import PpaTermsSpec
from hashfleet.scenario.schema import (
    FixedPowerSpec,
    HostedPowerSpec,
    IndexPowerSpec,
    TimeOfUsePowerSpec,
)

HOURS: int = 24


_HOUR_INDEX = np.arange(HOURS, dtype=np.float64)

FloatArray = NDArray[np.float64]

#: Contract classes by the spec's ``contract`` discriminator (filled by :func:`contract_type`).
_TYPES: dict[str, type[PowerContract]] = {}


def contract_type(kind: str) -> Callable[[type[PowerContract]], type[PowerContract]]:
    """Class decorator: the contract class of specs whose ``contract`` field is ``kind``."""

    def register(cls: type[PowerContract]) -> type[PowerContract]:
        cls.kind = kind
        _TYPES[kind] = cls
        return cls

    return register


class PowerContract:
    """A site's power contract (base class: a flat price at NaN, nothing hour-dependent).

    Parameters
    ----------
    spec : a power contract spec of :mod:`hashfleet.scenario.schema`
    """

    kind: ClassVar[str] = ""

    def __init__(self, spec: Any) -> None:
        self.spec = spec

    @property
    def spot_linked(self) -> bool:
        """The marginal price follows the spot hours (needs the site's spot model)."""
        return False

    @property
    def sell_back(self) -> bool:
        """Resells the contracted MW it does not use when spot exceeds the strike."""
        return False

    @property
    def time_varying(self) -> bool:
        """The contract price changes over the run (its daily value is an exogenous output)."""
        return self.dated_terms() is not None

    def dated_terms(self) -> tuple[float, PpaTermsSpec] | None:
        """The starting price (USD/MWh) and the terms that change it over time, or None."""
        return None

    @property
    def flows(self) -> tuple[str, ...]:
        """Ledger flows the contract books besides the power bill."""
        return ("sell_back_usd",) if self.sell_back else ()

    def flat_price_usd_per_mwh(self) -> float:
        """The constant price (USD/MWh), NaN if the price varies by hour, path or day."""
        return float("nan")

    def hour_prices(self, today_usd_per_mwh: FloatArray | None = None) -> FloatArray:
        """The 24 hourly prices of a contract that is not spot-linked (USD/MWh).

        Parameters
        ----------
        today_usd_per_mwh : ndarray, shape (n_paths,), optional
            The contract's price today when :attr:`time_varying`.

        Returns
        -------
        ndarray, shape (24,) or (n_paths, 24)
        """
        return np.full(HOURS, self.flat_price_usd_per_mwh())

    def day_price(
        self,
        level: FloatArray | None,
        today_usd_per_mwh: FloatArray | None,
        n_paths: int,
    ) -> FloatArray | float:
        """The day's average marginal price (USD/MWh), ``(n_paths,)`` or a scalar.

        ``level`` is the site's spot level of the day (None without a spot model).
        """
        p = self.hour_prices(today_usd_per_mwh)
        if p.ndim == 1 and np.all(p == p[0]):
            return float(p[0])
        return np.mean(p, axis=-1)

    def running_threshold(
        self, b: FloatArray
    ) -> tuple[FloatArray, float, FloatArray | None]:  # pragma: no cover - spot-linked only
        """Spot price up to which each cohort runs, the adder paid on top, and the 0/1 gate
        of cohorts allowed to run (None: all) for revenues ``b`` (n_paths, k) USD/MWh."""
        raise NotImplementedError(f"{self.kind} contracts are not spot-linked")

    def spot_strike_usd_per_mwh(self) -> float:  # pragma: no cover - resale only
        """The resale strike (contracts with :attr:`sell_back`)."""
        raise NotImplementedError(f"{self.kind} contracts have no resale strike")

    def energy_cost(
        self, run: FloatArray, spot_cost: FloatArray, adder: float
    ) -> FloatArray:  # pragma: no cover - spot-linked only
        """Cost of the hours run per MW from the hours run ``run`` and their expected spot
        cost ``spot_cost`` (same shapes)."""
        raise NotImplementedError(f"{self.kind} contracts are not spot-linked")

    def demand_charge_usd(self, peak_mw: FloatArray) -> FloatArray | None:
        """The day's demand charge on the peak load (None: the contract has none)."""
        return None


@contract_type("fixed")
class FixedContract(PowerContract):
    """A PPA at a fixed price; optionally with resale (spot-linked) or changing over time
    (escalator, expiry and re-contracting: :mod:`hashfleet.market.power.terms`)."""

    spec: FixedPowerSpec

    @property
    def spot_linked(self) -> bool:
        """Resale makes the marginal price ``max(strike, spot)``."""
        return bool(self.spec.sell_back)

    @property
    def sell_back(self) -> bool:
        """The resale right."""
        return bool(self.spec.sell_back)

    def dated_terms(self) -> tuple[float, PpaTermsSpec] | None:
        """The price and ``terms`` (escalator, end date, re-contracting) if it has any."""
        t = self.spec.terms
        if t is None or (t.escalator_per_year == 0.0 and t.end_date is None):
            return None
        return float(self.spec.price_usd_per_mwh), t

    @property
    def strike_usd_per_mwh(self) -> float:
        """The contract price at the start (USD/MWh)."""
        return float(self.spec.price_usd_per_mwh)

    def flat_price_usd_per_mwh(self) -> float:
        """The fixed price, NaN when it changes over time."""
        return float("nan") if self.time_varying else float(self.spec.price_usd_per_mwh)

    def hour_prices(self, today_usd_per_mwh: FloatArray | None = None) -> FloatArray:
        """Flat hours; ``(n_paths, 24)`` at today's price when the price changes over time."""
        if self.time_varying:
            assert today_usd_per_mwh is not None, "a time-varying PPA needs today's price"
            return np.repeat(np.asarray(today_usd_per_mwh)[:, None], HOURS, axis=1)
        return np.full(HOURS, float(self.spec.price_usd_per_mwh))

    def day_price(
        self, level: FloatArray | None, today_usd_per_mwh: FloatArray | None, n_paths: int
    ) -> FloatArray | float:
        """The price; with resale ``max(strike, spot level)``; today's price if it varies."""
        if self.sell_back and level is not None:
            return np.maximum(self.spec.price_usd_per_mwh, level)
        if self.time_varying:
            assert today_usd_per_mwh is not None
            return np.asarray(today_usd_per_mwh)
        return float(self.spec.price_usd_per_mwh)

    def running_threshold(self, b: FloatArray) -> tuple[FloatArray, float, FloatArray | None]:
        """Resale: a cohort runs where spot ≤ its revenue ``b`` and ``b`` covers the strike."""
        return b, 0.0, (b >= self.spec.price_usd_per_mwh).astype(np.float64)

    def spot_strike_usd_per_mwh(self) -> float:
        """The resale strike: spot above it earns ``spot − strike`` on the unused MW."""
        return float(self.spec.price_usd_per_mwh)

    def energy_cost(self, run: FloatArray, spot_cost: FloatArray, adder: float) -> FloatArray:
        """Resale: each hour run costs the strike (the resale credit is booked apart)."""
        return self.spec.price_usd_per_mwh * run


@contract_type("index")
class IndexContract(PowerContract):
    """Spot plus an adder."""

    spec: IndexPowerSpec

    @property
    def spot_linked(self) -> bool:
        """Always: the site pays spot."""
        return True

    def day_price(
        self, level: FloatArray | None, today_usd_per_mwh: FloatArray | None, n_paths: int
    ) -> FloatArray | float:
        """Spot level + adder."""
        return np.asarray(level) + self.spec.adder_usd_per_mwh

    def running_threshold(self, b: FloatArray) -> tuple[FloatArray, float, FloatArray | None]:
        """A cohort runs where spot + adder ≤ its revenue ``b``."""
        a = self.spec.adder_usd_per_mwh
        return b - a, a, None

    def energy_cost(self, run: FloatArray, spot_cost: FloatArray, adder: float) -> FloatArray:
        """Spot cost of the hours run plus the adder on each."""
        return spot_cost + adder * run


@contract_type("tou")
class TimeOfUseContract(PowerContract):
    """A peak price in the peak hours, an off-peak price in the others."""

    spec: TimeOfUsePowerSpec

    def hour_prices(self, today_usd_per_mwh: FloatArray | None = None) -> FloatArray:
        """Peak price in ``[peak_start_hour, peak_end_hour)``, off-peak elsewhere."""
        c = self.spec
        mask = np.zeros(HOURS, dtype=bool)
        mask[c.peak_start_hour : c.peak_end_hour] = True
        return np.where(mask, c.peak_usd_per_mwh, c.offpeak_usd_per_mwh)

    def day_price(
        self, level: FloatArray | None, today_usd_per_mwh: FloatArray | None, n_paths: int
    ) -> FloatArray | float:
        """The hour-weighted mean of the two prices."""
        c = self.spec
        n_peak = c.peak_end_hour - c.peak_start_hour
        return (n_peak * c.peak_usd_per_mwh + (HOURS - n_peak) * c.offpeak_usd_per_mwh) / HOURS


@contract_type("hosted")
class HostedContract(PowerContract):
    """Hosting: an all-in USD/kWh price."""

    spec: HostedPowerSpec

    def flat_price_usd_per_mwh(self) -> float:
        """The all-in price per MWh."""
        return float(self.spec.price_usd_per_kwh) * 1000.0

    def day_price(
        self, level: FloatArray | None, today_usd_per_mwh: FloatArray | None, n_paths: int
    ) -> FloatArray | float:
        """The all-in price."""
        return self.flat_price_usd_per_mwh()


class WithGridCharges(PowerContract):
    """A contract plus delivery charges: transmission on every MWh (part of the marginal
    price) and a demand charge on the day's peak load (booked by :func:`site_day
    <hashfleet.market.power.sites.site_day>` as ``demand_charge_usd``).

    Parameters
    ----------
    inner : PowerContract
    charges : GridChargesSpec
    """

    def __init__(self, inner: PowerContract, charges: Any) -> None:
        super().__init__(inner.spec)
        self.inner = inner
        self.transmission = float(charges.transmission_usd_per_mwh)
        self.demand_usd_per_kw_month = float(charges.demand_charge_usd_per_kw_month)

    @property
    def spot_linked(self) -> bool:
        """As the inner contract."""
        return self.inner.spot_linked

    @property
    def sell_back(self) -> bool:
        """As the inner contract."""
        return self.inner.sell_back

    def dated_terms(self) -> tuple[float, PpaTermsSpec] | None:
        """As the inner contract."""
        return self.inner.dated_terms()

    @property
    def flows(self) -> tuple[str, ...]:
        """The inner contract's, and the demand charge."""
        extra = ("demand_charge_usd",) if self.demand_usd_per_kw_month > 0 else ()
        return self.inner.flows + extra

    def flat_price_usd_per_mwh(self) -> float:
        """The inner flat price plus transmission."""
        return self.inner.flat_price_usd_per_mwh() + self.transmission

    def hour_prices(self, today_usd_per_mwh: FloatArray | None = None) -> FloatArray:
        """The inner hours plus transmission."""
        return self.inner.hour_prices(today_usd_per_mwh) + self.transmission

    def day_price(
        self, level: FloatArray | None, today_usd_per_mwh: FloatArray | None, n_paths: int
    ) -> FloatArray | float:
        """The inner day price plus transmission."""
        return self.inner.day_price(level, today_usd_per_mwh, n_paths) + self.transmission

    def running_threshold(self, b: FloatArray) -> tuple[FloatArray, float, FloatArray | None]:
        """The inner threshold of the revenue net of transmission."""
        return self.inner.running_threshold(b - self.transmission)

    def spot_strike_usd_per_mwh(self) -> float:
        """The inner strike."""
        return self.inner.spot_strike_usd_per_mwh()

    def energy_cost(self, run: FloatArray, spot_cost: FloatArray, adder: float) -> FloatArray:
        """The inner cost plus transmission on every hour run."""
        return self.inner.energy_cost(run, spot_cost, adder) + self.transmission * run

    def demand_charge_usd(self, peak_mw: FloatArray) -> FloatArray | None:
        """The day's accrual of the demand charge on the peak load ``peak_mw`` (n_paths,):
        ``rate × 1000 kW/MW × peak × 12/365.25``; None without a demand charge."""
        if self.demand_usd_per_kw_month <= 0:
            return None
        return self.demand_usd_per_kw_month * 1000.0 * peak_mw * 12.0 / DAYS_PER_YEAR


def contract_of(spec: Any) -> PowerContract:
    """The contract object of a power contract spec (by its ``contract`` discriminator)."""
    try:
        cls = _TYPES[spec.contract]
    except (AttributeError, KeyError):
        raise TypeError(f"power contract: expected one of {sorted(_TYPES)}, got {spec!r}") from None
    return cls(spec)


def flat_price_usd_per_mwh(spec: Any) -> float:
    """The constant price of a contract spec (USD/MWh); NaN where it is not constant."""
    return contract_of(spec).flat_price_usd_per_mwh()


@functools.cache
def _weekdays_in_month(year: int, month: int) -> int:
    n = calendar.monthrange(year, month)[1]
    return sum(dt.date(year, month, d).weekday() < 5 for d in range(1, n + 1))
