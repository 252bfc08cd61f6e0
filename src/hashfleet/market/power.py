"""Power: site contracts, the spot price process and hour-level curtailment.

Contracts (``fleet.sites[*].power``, discriminated on ``contract``)
    * ``fixed`` — a PPA at a fixed price (USD/MWh); with ``sell_back`` the site may resell the
      contracted MW it does not use: in an hour where spot ``p`` exceeds the strike ``s`` it
      earns ``(p − s)`` on ``contract_mw − load``, and running a machine costs ``max(s, p)``
      at the margin (the power could have been sold);
    * ``index`` — spot plus an adder;
    * ``tou`` — a peak price in the peak hours, an off-peak price in the others;
    * ``hosted`` — an all-in USD/kWh price.

Spot (``fleet.sites[*].spot``, one exogenous process of purpose ``"power"`` for all sites)
    Daily log level ``log L_d = log m + A·cos(2π(doy − peak)/365.25) + x_d`` with
    ``x_d = φ·x_{d−1} + σ·sqrt(1 − φ²)·z_d + J_d``, ``φ = 2^(−1/half_life)``, ``z_d`` standard
    normal, ``J_d`` the sum of ``N_d ~ Poisson(λ/365.25)`` normal jumps ``N(μ_J, σ_J²)`` (drawn as
    ``N_d·μ_J + sqrt(N_d)·σ_J·w_d``) that then decay with the level; ``x_0 ~ N(0, σ²)``.  The
    daily level is capped at the price cap.  Hour ``h`` (UTC) of day ``d`` has the price

        ``p_{d,h} = min(L_d · exp(a·cos(2π(h + ½ − h_peak)/24) − c + s·ε − s²/2), cap)``,

    ``ε`` standard normal per hour, ``c = log mean_h exp(a·cos(...))`` so that the uncapped
    hours average ``L_d`` in expectation.  ``log p`` (before the cap) is normal with mean
    ``μ_{d,h}`` and standard deviation ``s``.

Hour-level curtailment
    A cohort runs in an hour only if its revenue per MWh at the meter ``b`` (FPPS payout per TH
    per day × TH/s per MW / 24, PUE included) is at least that hour's marginal price.  With a
    lognormal hour the running probability and the expected cost of the hours run have closed
    forms: ``P(p ≤ b) = Φ((ln b − μ)/s)`` and ``E[p·1{p ≤ b}] = e^{μ + s²/2}·Φ((ln b − μ − s²)/s)``
    for ``b`` below the cap, and ``E[min(X, cap)]`` for ``b`` at or above it (the cohort always
    runs).  ``intraday: closed_form`` sums these over the 24 hours (exact expectation over the
    intraday distribution given the day's level); ``intraday: hourly`` draws the 24 prices and
    uses indicators (the brute-force reference; its hourly draws come from a child generator
    spawned from the process's generator, so the daily levels are the same in both modes).

Grid programmes (``fleet.sites[*].programmes``)
    * demand response: a capacity payment ``enrolled_mw × USD/MW-month`` (booked daily,
      ``× 12/365.25``); when ``call_price_usd_per_mwh`` is set the site is called in the hours
      whose spot exceeds it, sheds all load, and earns ``energy_usd_per_mwh`` on the MWh it
      would otherwise have drawn;
    * coincident peak: in the listed months the site pays ``charge_usd_per_kw_year/4`` per kW
      drawn at the month's coincident peak.  Modelled in expectation: the peak falls in the
      likely-peak window of a weekday of the month; with ``avoid`` the site curtails in that
      window on every weekday and still pays on the load it would have drawn with probability
      ``1 − capture_share`` (the peak fell elsewhere).  The charge accrues on each weekday of
      the month as ``charge/4 × 1000 × charged MW / weekdays in the month``.

Shapes: per-path values ``(n_paths,)``; per cohort ``(n_paths, n_cohorts_of_site)``; hours last
``(…, 24)``.  Prices USD/MWh, power MW, energy MWh, money USD.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from hashfleet.market.intraday import IntradayTable, intraday_table
from hashfleet.numeric import rows_sum
from hashfleet.processes import FloatArray
from hashfleet.scenario.schema import (
    CoincidentPeakSpec,
    DemandResponseSpec,
    FixedPowerSpec,
    HostedPowerSpec,
    IndexPowerSpec,
    SiteSpec,
    SpotPowerSpec,
    TimeOfUsePowerSpec,
)

__all__ = [
    "HOURS",
    "FleetPower",
    "HourPrices",
    "SiteDay",
    "SitePower",
    "SpotPowerProcess",
    "build_fleet_power",
    "dr_capacity_usd_per_day",
    "flat_price_usd_per_mwh",
    "power_processes",
    "site_day",
    "spot_output",
]

HOURS: int = 24
DAYS_PER_YEAR: float = 365.25
_HOUR_INDEX = np.arange(HOURS, dtype=np.float64)


def flat_price_usd_per_mwh(spec: Any) -> float:
    """The constant price of a fixed or hosted contract (USD/MWh); NaN for the others."""
    if isinstance(spec, FixedPowerSpec):
        return float(spec.price_usd_per_mwh)
    if isinstance(spec, HostedPowerSpec):
        return float(spec.price_usd_per_kwh) * 1000.0
    return float("nan")


def spot_output(site: int, hour: int | None = None) -> str:
    """Name of the spot process output of a site (daily level, or one hour's price)."""
    return f"spot_usd_per_mwh:{site}" if hour is None else f"spot_usd_per_mwh:{site}:h{hour}"


# ------------------------------------------------------------------------ hour prices


@functools.lru_cache(maxsize=64)
def _distinct_hours(
    shape_log: tuple[float, ...], sigma: float
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Log offsets (``− σ²/2`` included) of the distinct hour shapes, and each hour's one
    (a site's shape is fixed: computed once per run)."""
    distinct, expand = np.unique(np.round(np.asarray(shape_log), 12), return_inverse=True)
    offsets = distinct - 0.5 * sigma**2
    offsets.flags.writeable = False
    expand = expand.astype(np.intp)
    expand.flags.writeable = False
    return offsets, expand


@dataclass
class Threshold:
    """Running thresholds prepared for :meth:`HourPrices.day_sums`.

    Attributes
    ----------
    i, t : ndarray, shape (n_paths, k)
        Interval and position in it of ``z = ln b − ln L`` (``b`` clipped to the cap) on the
        grid of the hours' tables (:meth:`~hashfleet.market.intraday.IntradayGrid.locate`).
    capped : ndarray of bool, shape (n_paths, k), or None
        Where ``b`` is at or above the cap (None: nowhere).
    """

    i: NDArray[np.intp]
    t: NDArray[np.float64]
    capped: NDArray[np.bool_] | None


@dataclass
class HourPrices:
    """The 24 hourly prices of a day, per path: lognormal (closed form) or given.

    Attributes
    ----------
    mu : ndarray, shape (n_paths, n_distinct), optional
        Mean of the log price of each distinct hour shape (before the cap).
    expand : ndarray of int, shape (24,), optional
        Column of ``mu`` of each hour (hours with the same diurnal shape value share one:
        a symmetric cosine has 12 distinct values, halving the work).
    sigma : float
        Standard deviation of the hourly log price (> 0 when ``mu`` is used).
    cap : float
        Price cap (USD/MWh).
    values : ndarray, shape (n_paths, 24), optional
        Known hourly prices (brute force or deterministic tariffs), already capped.
    """

    mu: NDArray[np.float64] | None = None
    sigma: float = 0.0
    cap: float = np.inf
    values: NDArray[np.float64] | None = None
    expand: NDArray[np.intp] | None = None
    #: Daily levels ``L`` (n_paths,) and log offsets of the distinct hours (``mu − log L``).
    level: NDArray[np.float64] | None = None
    offsets: NDArray[np.float64] | None = None

    @classmethod
    def lognormal(
        cls, level: NDArray[np.float64], shape_log: NDArray[np.float64], sigma: float, cap: float
    ) -> HourPrices:
        """Hours around daily levels ``level`` (n_paths,) with log shape ``shape_log`` (24,)."""
        if sigma == 0.0:
            mu = np.log(level)[:, None] + shape_log[None, :]
            return cls(values=np.minimum(np.exp(mu), cap), cap=cap)
        offsets, expand = _distinct_hours(tuple(shape_log.tolist()), sigma)
        return cls(  # mu is derived on demand (the day sums do not need it)
            sigma=sigma,
            cap=cap,
            expand=expand,
            level=np.asarray(level, dtype=np.float64),
            offsets=offsets,
        )

    @property
    def tabulated(self) -> bool:
        """Lognormal hours with known offsets: day sums come from :class:`IntradayTable`."""
        return self.offsets is not None and self.level is not None

    def table(self, mask: NDArray[np.bool_] | None = None) -> IntradayTable:
        """The day-sum table of the hours in ``mask`` (24,) (default: all hours), on the grid
        shared by every hour set of these hours."""
        assert self.offsets is not None and self.expand is not None
        cols = self.expand if mask is None else self.expand[mask]
        idx, counts = np.unique(cols, return_counts=True)
        return intraday_table(
            tuple(self.offsets[idx].tolist()),
            tuple(counts.astype(float).tolist()),
            self.sigma,
            tuple(self.offsets.tolist()),
        )

    def threshold(self, b: NDArray[np.float64]) -> Threshold:
        """Thresholds ``b`` (n_paths, k) located once on the tables' grid (``z = ln b − ln L``)."""
        assert self.level is not None
        z = np.clip(b, 1e-300, self.cap)  # b ≤ 0 never runs (z → −690: G = 0)
        np.log(z, out=z)
        z -= np.log(self.level)[:, None]
        capped = b >= self.cap
        i, t = self.table().grid.locate(z, out=z)
        return Threshold(i, t, capped if capped.any() else None)

    def day_sums(
        self, b: NDArray[np.float64] | Threshold, table: IntradayTable, *, cost: bool = True
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """Hours run and their expected cost, summed over the table's hours.

        Parameters
        ----------
        b : ndarray, shape (n_paths, k), or Threshold
            Thresholds (USD/MWh): an hour runs if its price is at most ``b``
            (:meth:`threshold` prepares them once for several tables).
        table : IntradayTable
            From :meth:`table`.
        cost : bool
            Also return the cost (else None).

        Returns
        -------
        hours, cost : ndarray, shape (n_paths, k)
            ``Σ_h P(p_h ≤ b)`` (hours) and ``Σ_h E[p_h·1{p_h ≤ b}]`` (USD/MWh·h); at or above
            the cap the cohort always runs and pays ``Σ_h E[min(p_h, cap)]``.
        """
        assert self.level is not None
        thr = b if isinstance(b, Threshold) else self.threshold(b)
        hours, g1 = table.at(thr.i, thr.t, cost=cost)
        if g1 is not None:
            g1 *= self.level[:, None]
        if thr.capped is not None:
            if g1 is not None:
                g1 += np.where(thr.capped, self.cap * (table.hours - hours), 0.0)
            hours[thr.capped] = table.hours
        return hours, g1

    def below(self, b: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``P(p ≤ b)`` and ``E[p·1{p ≤ b}]`` per hour for thresholds ``b`` (n_paths, k).

        Returns two arrays of shape ``(n_paths, k, 24)``.
        """
        if self.values is not None:
            v = self.values[:, None, :]
            run = (v <= b[:, :, None]).astype(np.float64)
            return run, run * v
        if self.mu is None:
            assert self.level is not None and self.offsets is not None
            self.mu = np.log(self.level)[:, None] + self.offsets[None, :]
        s, mu = self.sigma, self.mu[:, None, :]
        bb = b[:, :, None]
        # b ≤ 0 never runs (log of a tiny price: Φ = 0); b ≥ cap always runs (below)
        zb = (np.log(np.clip(bb, 1e-300, self.cap)) - mu) * (1.0 / s)
        prob = ndtr(zb)
        pmean = ndtr(zb - s)
        pmean *= np.exp(mu + 0.5 * s * s)
        capped = bb >= self.cap
        if capped.any():  # at or above the cap: always runs, pays E[min(X, cap)]
            pmean = np.where(capped, pmean + self.cap * (1.0 - prob), pmean)
            prob = np.where(capped, 1.0, prob)
        if self.expand is not None:
            return prob[:, :, self.expand], pmean[:, :, self.expand]
        return prob, pmean

    def mean(self) -> NDArray[np.float64]:
        """``E[p]`` per hour, shape (n_paths, 24)."""
        if self.values is not None:
            return self.values
        n_paths = self.level.shape[0] if self.level is not None else self.mu.shape[0]  # type: ignore[union-attr]
        big = np.full((n_paths, 1), self.cap)
        return self.below(big)[1][:, 0, :]


# ------------------------------------------------------------------------ sites


@dataclass(frozen=True)
class SitePower:
    """One site's compiled contract, spot and programmes.

    Attributes
    ----------
    index : int
        Site index.
    contract : FixedPowerSpec | IndexPowerSpec | TimeOfUsePowerSpec | HostedPowerSpec
    spot : SpotPowerSpec or None
    demand_response, coincident_peak : spec or None
    contract_mw : float
        MW contracted (resale), default the site capacity.
    """

    index: int
    contract: Any
    spot: SpotPowerSpec | None
    demand_response: DemandResponseSpec | None
    coincident_peak: CoincidentPeakSpec | None
    contract_mw: float

    @property
    def simple(self) -> bool:
        """A flat price and nothing hour-dependent: the fast daily dispatch applies."""
        return (
            isinstance(self.contract, FixedPowerSpec | HostedPowerSpec)
            and not getattr(self.contract, "sell_back", False)
            and self.coincident_peak is None
            and (
                self.demand_response is None or self.demand_response.call_price_usd_per_mwh is None
            )
        )

    @property
    def needs_hours(self) -> bool:
        """Whether the spot's hours enter the site's economics."""
        return self.spot is not None and (
            isinstance(self.contract, IndexPowerSpec)
            or getattr(self.contract, "sell_back", False)
            or (
                self.demand_response is not None
                and self.demand_response.call_price_usd_per_mwh is not None
            )
        )


@dataclass
class SiteDay:
    """One site's day.

    Attributes
    ----------
    run_share : ndarray, shape (n_paths, k)
        Share of the day each of the site's cohorts runs (of its available MW).
    cost_usd_per_mw : ndarray, shape (n_paths, k)
        Energy cost per available MW over the day (USD/MW), PUE included.
    peak_mw : ndarray, shape (n_paths,)
        Highest hourly load (expected per hour in closed form; exact when hourly).
    credits_usd, charges_usd : dict of name -> ndarray (n_paths,)
    shed_mwh : ndarray, shape (n_paths,)
        Energy shed in demand-response calls.
    """

    run_share: NDArray[np.float64]
    cost_usd_per_mw: NDArray[np.float64]
    peak_mw: NDArray[np.float64]
    credits_usd: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    charges_usd: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    shed_mwh: NDArray[np.float64] | None = None


def _hour_mask(start: int, end: int) -> NDArray[np.bool_]:
    m = np.zeros(HOURS, dtype=bool)
    m[start:end] = True
    return m


def _running_threshold(
    c: Any, b: NDArray[np.float64]
) -> tuple[NDArray[np.float64], float, NDArray[np.float64] | None]:
    """Spot price up to which each cohort runs, the adder paid on top, and (resale) the
    0/1 gate of cohorts whose revenue ``b`` (n_paths, k) covers the strike."""
    if isinstance(c, IndexPowerSpec):
        return b - c.adder_usd_per_mwh, c.adder_usd_per_mwh, None
    assert isinstance(c, FixedPowerSpec)  # with resale
    return b, 0.0, (b >= c.price_usd_per_mwh).astype(np.float64)


def dr_capacity_usd_per_day(dr: DemandResponseSpec) -> float:
    """Demand-response capacity payment per day: ``enrolled MW × USD/MW-month × 12/365.25``."""
    return dr.enrolled_mw * dr.capacity_usd_per_mw_month * 12.0 / DAYS_PER_YEAR


def _cp_charge_usd(
    cp: CoincidentPeakSpec, load_mw: NDArray[np.float64], weekdays_in_month: int
) -> NDArray[np.float64]:
    """A weekday's accrual of the coincident-peak charge for the window load ``load_mw``
    (n_paths,): ``charge/4 × 1000 × charged MW / weekdays in the month``, the charged load
    reduced by ``capture_share`` when the site avoids the window."""
    charged = load_mw * ((1.0 - cp.capture_share) if cp.avoid else 1.0)
    out: NDArray[np.float64] = (
        cp.charge_usd_per_kw_year / 4.0 * 1000.0 * charged / max(weekdays_in_month, 1)
    )
    return out


def site_day(
    site: SitePower,
    b: NDArray[np.float64],
    mw: NDArray[np.float64],
    hours: HourPrices | None,
    *,
    month: int = 1,
    weekday: int = 0,
    weekdays_in_month: int = 22,
) -> SiteDay:
    """Hour-level operation of one site for one day.

    Parameters
    ----------
    site : SitePower
    b : ndarray, shape (n_paths, k)
        Revenue per MWh at the meter of each of the site's cohorts (USD/MWh).
    mw : ndarray, shape (n_paths, k)
        MW each cohort may draw under the site limit (merit-order prefix; sums to at most
        the capacity).
    hours : HourPrices or None
        The site's spot hours (required when ``site.needs_hours``).
    month, weekday : int
        Calendar month (1-12) and weekday (0 = Monday) of the day.
    weekdays_in_month : int
        Weekdays in the month (coincident-peak accrual).

    Returns
    -------
    SiteDay
    """
    c = site.contract
    sell_back = isinstance(c, FixedPowerSpec) and c.sell_back
    if (isinstance(c, IndexPowerSpec) or sell_back) and hours is not None and hours.tabulated:
        return _site_day_tabulated(site, b, mw, hours, month, weekday, weekdays_in_month)
    n_paths = b.shape[0]
    dr = site.demand_response
    call = dr.call_price_usd_per_mwh if dr is not None else None
    credits: dict[str, NDArray[np.float64]] = {}
    charges: dict[str, NDArray[np.float64]] = {}
    shed = None
    if isinstance(c, IndexPowerSpec) or sell_back:
        assert hours is not None
        thr, adder, gate2 = _running_threshold(c, b)
        gate = None if gate2 is None else gate2[:, :, None]
        run0, pm0 = hours.below(thr)
        if call is not None and (thr > call).any():
            run, pm = hours.below(np.minimum(thr, call))
        else:  # no cohort would run above the call price: calls shed nothing
            run, pm = run0, pm0
        if gate is not None:
            run0, run, pm = run0 * gate, run * gate, pm * gate
        if sell_back:
            assert isinstance(c, FixedPowerSpec)
            s = c.price_usd_per_mwh
            cost = s * run
            run_s, pm_s = hours.below(np.full((n_paths, 1), s))
            mean_p = hours.mean()
            above_all = mean_p - pm_s[:, 0, :] - s * (1.0 - run_s[:, 0, :])  # E[(p−s)+]
            # E[(p − s)·1{s < p ≤ t}] of each running cohort (zero unless t > s)
            used = np.maximum((pm - pm_s) - s * (run - run_s), 0.0)
            if gate is not None:
                used = used * gate
            hourly = site.contract_mw * above_all - np.einsum("pk,pkh->ph", mw, used)
            credits["sell_back_usd"] = hourly.sum(axis=1)
        else:
            cost = pm + adder * run
    else:
        if isinstance(c, TimeOfUsePowerSpec):
            price = np.where(
                _hour_mask(c.peak_start_hour, c.peak_end_hour),
                c.peak_usd_per_mwh,
                c.offpeak_usd_per_mwh,
            )
        else:
            price = np.full(HOURS, flat_price_usd_per_mwh(c))
        run0 = (b[:, :, None] >= price[None, None, :]).astype(np.float64)
        run = run0
        if call is not None and hours is not None:
            not_called = hours.below(np.full((n_paths, 1), call))[0]  # (n_paths, 1, 24)
            run = run0 * not_called
        cost = run * price[None, None, :]
    if call is not None:
        assert dr is not None
        shed = np.einsum("pk,pkh->p", mw, run0 - run)
        credits["dr_energy_usd"] = dr.energy_usd_per_mwh * shed
    if dr is not None and dr.enrolled_mw > 0:
        credits["dr_capacity_usd"] = np.full(n_paths, dr_capacity_usd_per_day(dr))
    cp = site.coincident_peak
    if cp is not None and month in cp.months and weekday < 5:
        window = _hour_mask(cp.window_start_hour, cp.window_end_hour)
        load = np.einsum("pk,pkh->p", mw, run[:, :, window]) / window.sum()
        charges["cp_charge_usd"] = _cp_charge_usd(cp, load, weekdays_in_month)
        if cp.avoid:
            keep = (~window).astype(np.float64)
            run, cost = run * keep, cost * keep
    peak = np.einsum("pk,pkh->ph", mw, run).max(axis=1)
    return SiteDay(
        run_share=run.mean(axis=2),
        cost_usd_per_mw=cost.sum(axis=2),
        peak_mw=peak,
        credits_usd=credits,
        charges_usd=charges,
        shed_mwh=shed,
    )


def _site_day_tabulated(
    site: SitePower,
    b: NDArray[np.float64],
    mw: NDArray[np.float64],
    hours: HourPrices,
    month: int,
    weekday: int,
    weekdays_in_month: int,
) -> SiteDay:
    """:func:`site_day` for an index or resale contract over lognormal hours, by day sums.

    The same expectations as the hour-by-hour closed form (``HourPrices.below`` over the 24
    hours), summed over hours by :class:`~hashfleet.market.intraday.IntradayTable` (within
    ~1e-12 relative; ``tests/market/test_power.py`` checks both against each other and against
    brute-force hours).  The peak hourly load is the load of the cheapest hour the site may
    run: every cohort's running probability decreases with the hour's log mean, so the
    expected load is highest there.
    """
    c = site.contract
    n_paths = b.shape[0]
    dr = site.demand_response
    call = dr.call_price_usd_per_mwh if dr is not None else None
    credits: dict[str, NDArray[np.float64]] = {}
    charges: dict[str, NDArray[np.float64]] = {}
    shed = None
    cp = site.coincident_peak
    cp_day = cp is not None and month in cp.months and weekday < 5
    window = _hour_mask(cp.window_start_hour, cp.window_end_hour) if cp is not None else None
    run_hours_mask = None
    if cp_day and cp is not None and cp.avoid and window is not None:
        run_hours_mask = ~window
    all_hours = hours.table()
    run_table = all_hours if run_hours_mask is None else hours.table(run_hours_mask)
    thr, adder, gate = _running_threshold(c, b)
    called = call is not None and bool((thr > call).any())
    t = np.minimum(thr, call) if called and call is not None else thr
    tz = hours.threshold(t)

    def gated(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return x if gate is None else x * gate

    def run_hours(table: IntradayTable) -> NDArray[np.float64]:
        return gated(hours.day_sums(tz, table, cost=False)[0])

    run_h, pm = hours.day_sums(tz, run_table)
    assert pm is not None
    run_h, pm = gated(run_h), gated(pm)
    if isinstance(c, IndexPowerSpec):
        cost = pm + adder * run_h
    else:
        strike = c.price_usd_per_mwh
        cost = strike * run_h
        # resale: E[(p − s)+] of the contracted MW, less E[(p − s)·1{s < p ≤ t}] of the MW run
        tab = all_hours
        s_hours, s_pm = hours.day_sums(np.full((n_paths, 1), strike), tab)
        cap_pm = hours.day_sums(np.full((n_paths, 1), hours.cap), tab)[1]
        assert s_pm is not None and cap_pm is not None
        above_all = cap_pm - s_pm - strike * (tab.hours - s_hours)
        if run_table is tab:
            t_hours, t_pm = run_h, pm
        else:
            t_hours, t_pm_ = hours.day_sums(tz, tab)
            assert t_pm_ is not None
            t_hours, t_pm = gated(t_hours), gated(t_pm_)
        used = np.maximum((t_pm - gated(s_pm)) - strike * (t_hours - gated(s_hours)), 0.0)
        credits["sell_back_usd"] = site.contract_mw * above_all[:, 0] - rows_sum(mw, used)
    if call is not None:
        assert dr is not None
        if called:  # hours shed: those a cohort would have run, priced above the call
            h0 = gated(hours.day_sums(thr, all_hours, cost=False)[0])
            ht = run_h if run_table is all_hours else run_hours(all_hours)
            shed = rows_sum(h0 - ht, mw)
        else:  # no cohort would run above the call price: calls shed nothing
            shed = np.zeros(n_paths)
        credits["dr_energy_usd"] = dr.energy_usd_per_mwh * shed
    if dr is not None and dr.enrolled_mw > 0:
        credits["dr_capacity_usd"] = np.full(n_paths, dr_capacity_usd_per_day(dr))
    if cp_day:
        assert cp is not None and window is not None
        load = rows_sum(mw, run_hours(hours.table(window))) / window.sum()
        charges["cp_charge_usd"] = _cp_charge_usd(cp, load, weekdays_in_month)
    allowed = np.ones(HOURS, dtype=bool) if run_hours_mask is None else run_hours_mask
    if allowed.any():
        assert hours.offsets is not None and hours.expand is not None
        cheapest = hours.expand[allowed][np.argmin(hours.offsets[hours.expand[allowed]])]
        one = np.zeros(HOURS, dtype=bool)
        one[np.flatnonzero(hours.expand == cheapest)[0]] = True
        peak = rows_sum(mw, run_hours(hours.table(one)))
    else:
        peak = np.zeros(n_paths)
    return SiteDay(
        run_share=run_h / HOURS,
        cost_usd_per_mw=cost,
        peak_mw=peak,
        credits_usd=credits,
        charges_usd=charges,
        shed_mwh=shed,
    )


# ------------------------------------------------------------------------ fleet power


@dataclass(frozen=True)
class FleetPower:
    """All sites' power: contracts, the spot process and the run's calendar.

    Attributes
    ----------
    sites : tuple of SitePower
    process : SpotPowerProcess or None
        The spot process (purpose ``"power"``) if any site has a spot model.
    start : datetime.date
        Day 0.
    """

    sites: tuple[SitePower, ...]
    process: SpotPowerProcess | None
    start: dt.date

    @functools.cached_property
    def all_simple(self) -> bool:
        """Every site has a flat price and no hour-level programme (fast dispatch)."""
        return all(s.simple for s in self.sites)

    @functools.cached_property
    def flat_credits_usd_per_day(self) -> float:
        """Demand-response capacity payments of the simple sites (USD/day)."""
        return sum(
            dr_capacity_usd_per_day(s.demand_response)
            for s in self.sites
            if s.simple and s.demand_response is not None
        )

    @functools.cached_property
    def simple_price_usd_per_mwh(self) -> NDArray[np.float64]:
        """Each site's flat price if the site is simple (else 0), shape (n_sites,): what the
        daily products cost at flat prices; hour-level sites are costed by :func:`site_day`."""
        return np.array(
            [flat_price_usd_per_mwh(s.contract) if s.simple else 0.0 for s in self.sites]
        )

    def calendar(self, day: int) -> tuple[int, int, int]:
        """Month (1-12), weekday (0 = Monday) and weekdays in the month of day ``day``."""
        d = self.start + dt.timedelta(days=day)
        return d.month, d.weekday(), _weekdays_in_month(d.year, d.month)

    def day_price(self, today: Mapping[str, Any], n_paths: int) -> NDArray[np.float64]:
        """Each site's average marginal price of the day (USD/MWh), shape (n_paths, n_sites).

        Flat contracts: their price; index: spot level + adder; time-of-use: the mean of the
        hours; fixed with resale: ``max(strike, spot level)``.
        """
        out = np.empty((n_paths, len(self.sites)))
        for s in self.sites:
            c = s.contract
            level = today.get(spot_output(s.index)) if s.spot is not None else None
            if isinstance(c, IndexPowerSpec):
                out[:, s.index] = np.asarray(level) + c.adder_usd_per_mwh
            elif isinstance(c, TimeOfUsePowerSpec):
                n_peak = c.peak_end_hour - c.peak_start_hour
                out[:, s.index] = (
                    n_peak * c.peak_usd_per_mwh + (HOURS - n_peak) * c.offpeak_usd_per_mwh
                ) / HOURS
            elif isinstance(c, FixedPowerSpec) and c.sell_back and level is not None:
                out[:, s.index] = np.maximum(c.price_usd_per_mwh, level)
            else:
                out[:, s.index] = flat_price_usd_per_mwh(c)
        return out

    def hours(self, site: int, today: Mapping[str, Any]) -> HourPrices | None:
        """Today's hour prices of a site from the engine's ``today`` values (or None)."""
        proc = self.process
        if proc is None or site not in proc.site_index:
            return None
        j = proc.site_index[site]
        spec = proc.specs[j]
        if spec.intraday == "hourly":
            vals = np.column_stack([today[spot_output(site, h)] for h in range(HOURS)])
            return HourPrices(values=vals, cap=spec.cap_usd_per_mwh)
        return HourPrices.lognormal(
            today[spot_output(site)], proc.shape_log[j], spec.intraday_sigma, spec.cap_usd_per_mwh
        )


def power_processes(power: FleetPower | None) -> tuple[tuple[str, SpotPowerProcess], ...]:
    """The spot process of the sites as ``(("power", process),)``, or ``()`` if none."""
    if power is None or power.process is None:
        return ()
    return (("power", power.process),)


def build_fleet_power(sites: Sequence[SiteSpec], start: dt.date) -> FleetPower:
    """Compile the sites' power contracts, spot models and programmes."""
    out = []
    spots: list[tuple[int, SpotPowerSpec]] = []
    for i, s in enumerate(sites):
        contract_mw = getattr(s.power, "contract_mw", None) or s.capacity_mw
        progs = s.programmes
        out.append(
            SitePower(i, s.power, s.spot, progs.demand_response, progs.coincident_peak, contract_mw)
        )
        if s.spot is not None:
            spots.append((i, s.spot))
    process = SpotPowerProcess(spots, start) if spots else None
    return FleetPower(tuple(out), process, start)


@functools.cache
def _weekdays_in_month(year: int, month: int) -> int:
    n = calendar.monthrange(year, month)[1]
    return sum(dt.date(year, month, d).weekday() < 5 for d in range(1, n + 1))


# ------------------------------------------------------------------------ spot process


@dataclass
class SpotState:
    """Per stream block: the log deviation ``x`` (n_paths, n_sites); None before day 0."""

    n_paths: int
    x: NDArray[np.float64] | None = None


class SpotPowerProcess:
    """Daily spot levels (and, in hourly mode, hourly prices) of every site with a spot model.

    Outputs: :func:`spot_output` ``(site)`` per site, plus ``(site, h)`` for h in 0..23 for
    sites in ``intraday: hourly`` mode.  Draws per window, in order: standard normals, Poisson
    jump counts, jump normals, each ``(n_paths, n_days, n_sites)``; hourly draws come from
    ``rng.spawn(1)[0]`` so they do not shift the daily stream.
    """

    def __init__(self, sites: Sequence[tuple[int, SpotPowerSpec]], start: dt.date) -> None:
        self.sites = tuple(i for i, _ in sites)
        self.specs = tuple(s for _, s in sites)
        self.site_index = {i: j for j, i in enumerate(self.sites)}
        self.start = start
        sp = self.specs
        self.phi = np.array([2.0 ** (-1.0 / s.half_life_days) for s in sp])
        self.sigma = np.array([s.sigma for s in sp])
        self.log_median = np.log([s.median_usd_per_mwh for s in sp])
        self.amp = np.array([s.seasonal_amplitude for s in sp])
        self.peak_doy = np.array([s.seasonal_peak_day_of_year for s in sp], dtype=float)
        self.jump_p = np.array([s.jump_rate_per_year / DAYS_PER_YEAR for s in sp])
        self.jump_mu = np.array([s.jump_mean_log for s in sp])
        self.jump_sd = np.array([s.jump_sigma_log for s in sp])
        self.cap = np.array([s.cap_usd_per_mwh for s in sp])
        shape = []
        for s in sp:
            raw = s.diurnal_amplitude * np.cos(
                2 * np.pi * (_HOUR_INDEX + 0.5 - s.diurnal_peak_hour) / HOURS
            )
            shape.append(raw - np.log(np.mean(np.exp(raw))))
        self.shape_log = np.array(shape)  # (n_sites, 24)
        self.hourly = [j for j, s in enumerate(sp) if s.intraday == "hourly"]
        outs = [spot_output(i) for i in self.sites]
        for j in self.hourly:
            outs += [spot_output(self.sites[j], h) for h in range(HOURS)]
        self.outputs: tuple[str, ...] = tuple(outs)

    def init_state(self, n_paths: int) -> SpotState:
        """No day drawn yet."""
        return SpotState(n_paths)

    def window(
        self,
        state: SpotState,
        rng: np.random.Generator,
        first_day: int,
        n_days: int,
        inputs: Mapping[str, FloatArray],
    ) -> dict[str, FloatArray]:
        """Draw the daily levels (and hours) of days ``first_day .. first_day + n_days − 1``."""
        n_sites = len(self.sites)
        hourly_rng = rng.spawn(1)[0] if self.hourly else None
        n_paths = state.n_paths
        z = rng.standard_normal((n_days, n_paths, n_sites))
        counts = rng.poisson(np.broadcast_to(self.jump_p, (n_days, n_paths, n_sites)))
        w = rng.standard_normal((n_days, n_paths, n_sites))
        jumps = counts * self.jump_mu + np.sqrt(counts) * self.jump_sd * w
        innov = self.sigma * np.sqrt(1.0 - self.phi**2)
        x = np.empty((n_days, n_paths, n_sites))
        prev = state.x
        for d in range(n_days):
            prev = self.sigma * z[d] if prev is None else self.phi * prev + innov * z[d] + jumps[d]
            x[d] = prev
        state.x = prev
        days = np.arange(first_day, first_day + n_days)
        doy = np.array(
            [(self.start + dt.timedelta(days=int(d))).timetuple().tm_yday for d in days], float
        )
        season = self.amp * np.cos(2 * np.pi * (doy[:, None] - self.peak_doy) / DAYS_PER_YEAR)
        level = np.minimum(np.exp(self.log_median + season[:, None, :] + x), self.cap)
        out: dict[str, FloatArray] = {}
        for j, i in enumerate(self.sites):
            out[spot_output(i)] = np.ascontiguousarray(level[:, :, j].T)
        if hourly_rng is not None:
            eps = hourly_rng.standard_normal((len(self.hourly), n_paths, n_days, HOURS))
            for q, j in enumerate(self.hourly):
                s = self.specs[j].intraday_sigma
                lvl = level[:, :, j].T[:, :, None]  # (n_paths, n_days, 1)
                mult = np.exp(self.shape_log[j] + s * eps[q] - 0.5 * s * s)
                prices = np.minimum(lvl * mult, self.cap[j])
                for h in range(HOURS):
                    out[spot_output(self.sites[j], h)] = np.ascontiguousarray(prices[:, :, h])
        return out
