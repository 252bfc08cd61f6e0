"""Sites: one site's day (which cohorts run, energy, cost, programme flows) and all sites'
power (contracts, spot, calendar)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.market.intraday import IntradayTable
from hashfleet.market.power.contracts import (
    HOURS,
    PowerContract,
    WithGridCharges,
    _weekdays_in_month,
    contract_of,
)
from hashfleet.market.power.hours import HourPrices
from hashfleet.market.power.programmes import (
    _cp_charge_usd,
    _hour_mask,
    dr_capacity_usd_per_day,
)
from hashfleet.market.power.spot import SpotPowerProcess, spot_output
from hashfleet.market.power.terms import ContractPriceProcess, contract_output
from hashfleet.numeric import rows_sum
from hashfleet.scenario.power import GridChargesSpec
from hashfleet.scenario.schema import (
    CoincidentPeakSpec,
    DemandResponseSpec,
    SiteSpec,
    SpotPowerSpec,
)


@dataclass(frozen=True)
class SitePower:
    """One site's compiled contract, spot and programmes.

    Attributes
    ----------
    index : int
        Site index.
    contract : a power contract spec (``fleet.sites[*].power``); :attr:`terms` is its
        :class:`~hashfleet.market.power.contracts.PowerContract`
    spot : SpotPowerSpec or None
    demand_response, coincident_peak : spec or None
    contract_mw : float
        MW contracted (resale), default the site capacity.
    grid_charges : GridChargesSpec or None
        Transmission per MWh (part of the marginal price) and a demand charge on the peak.
    """

    index: int
    contract: Any
    spot: SpotPowerSpec | None
    demand_response: DemandResponseSpec | None
    coincident_peak: CoincidentPeakSpec | None
    contract_mw: float
    grid_charges: GridChargesSpec | None = None

    @functools.cached_property
    def terms(self) -> PowerContract:
        """The contract's behaviour (prices, thresholds, flows), grid charges included."""
        c = contract_of(self.contract)
        g = self.grid_charges
        return c if g is None else WithGridCharges(c, g)

    @property
    def simple(self) -> bool:
        """A flat price and nothing hour-dependent: the fast daily dispatch applies."""
        return (
            not np.isnan(self.terms.flat_price_usd_per_mwh())
            and not self.terms.spot_linked
            and self.grid_charges is None
            and self.coincident_peak is None
            and (
                self.demand_response is None or self.demand_response.call_price_usd_per_mwh is None
            )
        )

    @property
    def needs_hours(self) -> bool:
        """Whether the spot's hours enter the site's economics."""
        return self.spot is not None and (
            self.terms.spot_linked
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
    c = site.terms
    today = hours.contract_usd_per_mwh if hours is not None else None
    if hours is not None and hours.mu is None and hours.level is None and hours.values is None:
        hours = None  # only the contract's price of the day: no spot hours
    sell_back = c.sell_back
    if c.spot_linked and hours is not None and hours.tabulated:
        return _site_day_tabulated(site, b, mw, hours, month, weekday, weekdays_in_month)
    n_paths = b.shape[0]
    dr = site.demand_response
    call = dr.call_price_usd_per_mwh if dr is not None else None
    credits: dict[str, NDArray[np.float64]] = {}
    charges: dict[str, NDArray[np.float64]] = {}
    shed = None
    if c.spot_linked:
        assert hours is not None
        thr, adder, gate2 = c.running_threshold(b)
        gate = None if gate2 is None else gate2[:, :, None]
        run0, pm0 = hours.below(thr)
        if call is not None and (thr > call).any():
            run, pm = hours.below(np.minimum(thr, call))
        else:  # no cohort would run above the call price: calls shed nothing
            run, pm = run0, pm0
        if gate is not None:
            run0, run, pm = run0 * gate, run * gate, pm * gate
        cost = c.energy_cost(run, pm, adder)
        if sell_back:
            s = c.spot_strike_usd_per_mwh()
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
        price = c.hour_prices(today)
        if price.ndim == 1:
            run0 = (b[:, :, None] >= price[None, None, :]).astype(np.float64)
        else:  # (n_paths, 24): the price of the day differs by path
            run0 = (b[:, :, None] >= price[:, None, :]).astype(np.float64)
        run = run0
        if call is not None and hours is not None:
            not_called = hours.below(np.full((n_paths, 1), call))[0]  # (n_paths, 1, 24)
            run = run0 * not_called
        cost = run * (price[None, None, :] if price.ndim == 1 else price[:, None, :])
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
    _demand_charge(c, peak, charges)
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
    c = site.terms
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
    thr, adder, gate = c.running_threshold(b)
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
    cost = c.energy_cost(run_h, pm, adder)
    if c.sell_back:
        strike = c.spot_strike_usd_per_mwh()
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
    _demand_charge(c, peak, charges)
    return SiteDay(
        run_share=run_h / HOURS,
        cost_usd_per_mw=cost,
        peak_mw=peak,
        credits_usd=credits,
        charges_usd=charges,
        shed_mwh=shed,
    )


def _demand_charge(
    c: PowerContract, peak_mw: NDArray[np.float64], charges: dict[str, NDArray[np.float64]]
) -> None:
    """Add the contract's demand charge on the day's peak (if any) to ``charges``."""
    usd = c.demand_charge_usd(peak_mw)
    if usd is not None:
        charges["demand_charge_usd"] = usd


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
    #: The daily price of the contracts with terms (purpose ``"power_contracts"``), if any.
    contracts: ContractPriceProcess | None = None

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
        return np.array([s.terms.flat_price_usd_per_mwh() if s.simple else 0.0 for s in self.sites])

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
            level = today.get(spot_output(s.index)) if s.spot is not None else None
            own = today.get(contract_output(s.index)) if s.terms.time_varying else None
            out[:, s.index] = s.terms.day_price(level, own, n_paths)
        return out

    def hours(self, site: int, today: Mapping[str, Any]) -> HourPrices | None:
        """Today's hour prices of a site from the engine's ``today`` values (or None)."""
        proc = self.process
        own = today[contract_output(site)] if self.sites[site].terms.time_varying else None
        if proc is None or site not in proc.site_index:
            return None if own is None else HourPrices(contract_usd_per_mwh=own)
        j = proc.site_index[site]
        spec = proc.specs[j]
        if spec.intraday == "hourly":
            vals = np.column_stack([today[spot_output(site, h)] for h in range(HOURS)])
            out = HourPrices(values=vals, cap=spec.cap_usd_per_mwh)
        else:
            out = HourPrices.lognormal(
                today[spot_output(site)],
                proc.shape_log[j],
                spec.intraday_sigma,
                spec.cap_usd_per_mwh,
            )
        out.contract_usd_per_mwh = own
        return out


def power_processes(power: FleetPower | None) -> tuple[tuple[str, SpotPowerProcess], ...]:
    """The spot process of the sites as ``(("power", process),)`` (or ``()`` if none), then
    the contract price process ``("power_contracts", ...)`` if a contract has terms."""
    if power is None:
        return ()
    out: tuple[tuple[str, Any], ...] = ()
    if power.process is not None:
        out += (("power", power.process),)
    if power.contracts is not None:
        out += (("power_contracts", power.contracts),)
    return out


def build_fleet_power(sites: Sequence[SiteSpec], start: dt.date) -> FleetPower:
    """Compile the sites' power contracts, spot models and programmes."""
    out = []
    spots: list[tuple[int, SpotPowerSpec]] = []
    for i, s in enumerate(sites):
        contract_mw = getattr(s.power, "contract_mw", None) or s.capacity_mw
        progs = s.programmes
        out.append(
            SitePower(
                i,
                s.power,
                s.spot,
                progs.demand_response,
                progs.coincident_peak,
                contract_mw,
                s.grid_charges,
            )
        )
        if s.spot is not None:
            spots.append((i, s.spot))
    dated = [(i, contract_of(s.power).dated_terms()) for i, s in enumerate(sites)]
    timed = [(i, d[0], d[1]) for i, d in dated if d is not None]
    forward = [i for i, _, t in timed if t.end_date is not None and t.recontract == "forward"]
    process = SpotPowerProcess(spots, start, forward) if spots else None
    contracts = ContractPriceProcess(timed, start, process) if timed else None
    return FleetPower(tuple(out), process, start, contracts)
