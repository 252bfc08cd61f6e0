"""The AI/HPC component: conversion projects and leases inside a chunk engine.

``HpcComponent(spec).attach(engine)`` adds to the engine:

* **SimPy processes** for the dated things shared by all paths: each fixed-plan project's
  start (works start, before that day's tick) and the policy's review days.  Dates that
  differ by path (phases going live after random delays, lease months, defaults) are
  resolved inside the daily step with masks, never with one process per path.
* a step ``hpc_capacity`` at stage **19** (before dispatch): a site's mining MW is its
  capacity minus its MW converting, leased, idle or reconverting; machines installed beyond
  it are taken out, least efficient first, and moved, stored or sold (``displaced``).
  Stored machines come back when their halls are reconverted.
* a step ``hpc`` at stage **56**: policy decisions (projects decided today start
  tomorrow), one day of :meth:`~hashfleet.hpc.state.HpcState.advance`, the day's flows
  booked with ``engine.book`` and the daily variables set.

Ledger names (all totalled): ``hpc_rent_usd``, ``hpc_backstop_usd``,
``hpc_prepayment_usd`` (in); ``hpc_landlord_opex_usd``, ``hpc_idle_opex_usd``,
``capex_hpc_usd``, ``capex_hpc_reconversion_usd`` (out; ``capex_*`` names count as capex in
the metrics); with ``financing.enabled``: ``hpc_debt_draw_usd`` (in),
``hpc_debt_interest_usd``, ``hpc_debt_principal_usd`` (out).

Daily variables: ``hpc_<use>_mw`` (company-wide) and ``hpc_<use>_mw_site<i>`` for the sites
with projects, uses ``mining, converting, leased, idle, reconverting`` (they sum to the
capacity); ``hpc_revenue_usd`` (rent + backstop), ``hpc_opex_usd``, ``hpc_noi_usd``,
``mining_margin_usd`` (mining revenue − power cost), ``hpc_noi_share`` (HPC NOI over HPC NOI
plus mining margin over the trailing 365 days, 0 when that is ≤ 0).

Everything the component reads from the engine goes through :class:`EngineAdapter`.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Generator, Iterable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import simpy
from numpy.typing import NDArray

from hashfleet.constants import DAYS_PER_MONTH
from hashfleet.hpc.kernels import USES, FloatArray, irr_per_year
from hashfleet.hpc.state import FLOW_NAMES, HpcModel, HpcState
from hashfleet.numeric import segment_sums
from hashfleet.scenario.hpc import HpcPolicySpec, HpcSpec
from hashfleet.scenario.trust import load_target

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine

__all__ = [
    "EngineAdapter",
    "FixedPlan",
    "HpcComponent",
    "HpcPolicy",
    "HpcRun",
    "MarginTrigger",
    "hpc_run_of",
    "paired_difference",
]

#: Ledger name of each state flow, and whether it is booked only with financing enabled.
_LEDGER: dict[str, tuple[str, bool]] = {
    "rent_usd": ("hpc_rent_usd", False),
    "backstop_usd": ("hpc_backstop_usd", False),
    "prepayment_usd": ("hpc_prepayment_usd", False),
    "landlord_opex_usd": ("hpc_landlord_opex_usd", False),
    "idle_opex_usd": ("hpc_idle_opex_usd", False),
    "capex_usd": ("capex_hpc_usd", False),
    "reconversion_capex_usd": ("capex_hpc_reconversion_usd", False),
    "debt_draw_usd": ("hpc_debt_draw_usd", True),
    "debt_interest_usd": ("hpc_debt_interest_usd", True),
    "debt_principal_usd": ("hpc_debt_principal_usd", True),
}


class EngineAdapter:
    """Every read of (and write to) the engine's fleet, in one place.

    When the engine's day record changes, only this class changes.  Reads: BTC price and
    expected hashprice of the day, the day's mining revenue and power cost (ledger), the
    running fleet hashrate, site names and capacities, installed MW per site; writes:
    installed units of fleet columns.
    """

    def __init__(self, engine: ChunkEngine, pool_fee: float) -> None:
        from hashfleet.fleet.operations import FleetState

        self.engine = engine
        self.pool_fee = pool_fee
        self.fleet = engine.service(FleetState)
        fleet = self.fleet.fleet
        self.site_names: tuple[str, ...] = fleet.site_names
        self.site_capacity_mw: FloatArray = np.asarray(fleet.site_capacity_mw, dtype=float)
        self.col_site: NDArray[np.intp] = fleet.site
        self.unit_mw: FloatArray = fleet.unit_mw
        self.col_model: tuple[str, ...] = tuple(lb.split(" @ ")[0] for lb in fleet.labels)
        self._price = fleet.site_price_usd_per_mwh

    # -------------------------------------------------------------- market (stage ≥ 40)

    def btc_price_usd(self) -> FloatArray:
        """Today's BTC price (USD), (n_paths,)."""
        return np.asarray(self.engine.today.btc_price_usd, dtype=float)

    def hashprice_usd_per_ph_day(self) -> FloatArray:
        """Today's expected hashprice before pool fee (USD/PH/day), (n_paths,)."""
        return np.asarray(self.engine.today.expected_hashprice_usd_per_ph_day, dtype=float)

    def mining_margin_usd(self) -> FloatArray:
        """Today's mining revenue minus power cost (USD), (n_paths,)."""
        inflows, outflows = self.engine.booked()
        zero = np.zeros(self.engine.n_paths)
        return inflows.get("revenue_usd", zero) - outflows.get("power_cost_usd", zero)

    def fleet_hashrate_ehs(self) -> FloatArray:
        """Today's running hashrate (EH/s), (n_paths,)."""
        return np.asarray(self.engine.today.fleet_hs, dtype=float) / 1e18

    def site_price_usd_per_mwh_flat(self) -> FloatArray:
        """Each site's flat power price (USD/MWh), NaN where it varies by hour: (n_sites,)."""
        return np.asarray(self._price, dtype=float)

    def site_margin_usd_per_mw_day(self) -> FloatArray:
        """Mining margin per MW of the fleet available at each site today (USD/MW/day):
        expected revenue after pool fee minus power at the site's flat price (the fleet's
        average USD/MWh today where a site has no flat price), per cohort and never below 0
        (unprofitable machines are curtailed); NaN at a site with no machines.  Shape
        (n_paths, n_sites)."""
        e = self.engine
        fs = self.fleet
        rev_per_th = self.hashprice_usd_per_ph_day() / 1000.0 * (1.0 - self.pool_fee)
        avail = fs.available_mw
        th = avail * fs.th_per_mw
        _, outflows = e.booked()
        zero = np.zeros(e.n_paths)
        energy = e.values.get("energy_mwh", zero)
        cost = outflows.get("power_cost_usd", zero)
        # each path's own average price (a mean over the chunk would tie paths together)
        avg = np.divide(cost, energy, out=zero.copy(), where=energy > 0)
        flat = self._price[self.col_site]  # (n_cohorts,), NaN where the price varies
        price = np.where(np.isnan(flat)[None, :], avg[:, None], flat[None, :])
        # machines that would not cover their power are curtailed: they add no margin
        margin = np.maximum(th * rev_per_th[:, None] - avail * 24.0 * price, 0.0)
        bounds = fs.fleet.site_bounds
        with np.errstate(invalid="ignore", divide="ignore"):
            return segment_sums(margin, bounds) / segment_sums(avail, bounds)

    # -------------------------------------------------------------- fleet

    def installed_site_mw(self) -> FloatArray:
        """MW at the meter of the installed machines of each site, (n_paths, n_sites)."""
        return segment_sums(self.fleet.installed_units * self.unit_mw, self.fleet.fleet.site_bounds)

    def installed_units(self) -> FloatArray:
        """Installed units per path and fleet column (a view; change with the methods)."""
        return self.fleet.installed_units

    def take_units(self, col: int, units: FloatArray) -> None:
        """Remove ``units`` (n_paths,) of column ``col`` (no sale, no refresh)."""
        self.fleet.installed_units[:, col] -= units

    def put_units(self, col: int, units: FloatArray) -> None:
        """Add back ``units`` (n_paths,) to column ``col`` (no arrival hook, no refresh)."""
        self.fleet.installed_units[:, col] += units

    def sell_units(self, col: int, units: FloatArray) -> bool:
        """Sell at today's secondary price through the trading desk; False if none."""
        from hashfleet.fleet.orders import TradingDesk

        try:
            desk = self.engine.service(TradingDesk)
        except LookupError:
            return False
        desk.sell(col, units)
        return True

    def refresh(self) -> None:
        """Recompute the fleet's site limits after changing units."""
        self.fleet.refresh()


@runtime_checkable
class HpcPolicy(Protocol):
    """Decides, on its review days, which projects start on which paths.

    A user policy is a class with keyword parameters (``hpc.policy.params``)::

        class MyPolicy:
            def __init__(self, **params): ...
            def schedule(self, n_days: int) -> Iterable[int]: ...      # review days
            def decide(self, run: HpcRun, day: int) -> ndarray: ...   # (n_paths, n_projects)

    ``decide`` returns a boolean mask of the projects to start (from the next day); the
    component drops paths where a project already started, or where the capex budget or the
    minimum mining hashrate would be broken.  It may read ``run.state``, ``run.adapter`` and
    ``run.trailing_margin_usd_per_mw_year()``.
    """

    def schedule(self, n_days: int) -> Iterable[int]:
        """Review days (0 ≤ day < n_days)."""
        ...

    def decide(self, run: HpcRun, day: int) -> NDArray[np.bool_]:
        """Projects to start on each path, (n_paths, n_projects)."""
        ...


class FixedPlan:
    """Only the dated projects start (on their `start_date`); no reviews."""

    def schedule(self, n_days: int) -> Iterable[int]:
        """No review days."""
        return ()

    def decide(self, run: HpcRun, day: int) -> NDArray[np.bool_]:
        """Nothing to decide."""
        return np.zeros((run.state.n_paths, run.model.n_projects), dtype=bool)


class MarginTrigger:
    """Start an undated project when its site's trailing mining margin per MW-year falls
    below the lease NOI per gross MW-year × (1 − threshold)."""

    def __init__(self, spec: HpcPolicySpec) -> None:
        self.spec = spec

    def schedule(self, n_days: int) -> Iterable[int]:
        """Every ``review_every_days``, once the trailing window is full."""
        first = round(self.spec.trailing_months * DAYS_PER_MONTH)
        return range(first, n_days, self.spec.review_every_days)

    def decide(self, run: HpcRun, day: int) -> NDArray[np.bool_]:
        """Undated projects whose site's margin is below the NOI bar."""
        margin = run.trailing_margin_usd_per_mw_year()  # (n_paths, n_sites)
        m = run.model
        out = np.zeros((run.state.n_paths, m.n_projects), dtype=bool)
        for j in range(m.n_projects):
            if np.isfinite(m.start_day[j]):
                continue
            bar = m.noi_usd_per_mw_year(j) * (1.0 - self.spec.threshold_share)
            site_margin = margin[:, m.project_site[j]]
            out[:, j] = np.isfinite(site_margin) & (site_margin < bar)
        return out


def _build_policy(spec: HpcPolicySpec) -> HpcPolicy:
    if spec.kind == "fixed_plan":
        return FixedPlan()
    if spec.kind == "margin_trigger":
        return MarginTrigger(spec)
    assert spec.target is not None
    cls = load_target(spec.target, "hpc.policy.target")  # entry points or --allow-code only
    policy = cls(**spec.params)
    if not isinstance(policy, HpcPolicy):
        raise ValueError(
            f"hpc.policy.target: expected a class with schedule() and decide(), got {spec.target!r}"
        )
    return policy


class HpcComponent:
    """AI/HPC conversion projects and leases (see the module docstring).

    Parameters
    ----------
    spec : HpcSpec
        The scenario's ``hpc`` section.
    start : datetime.date
        Day 0 of the run (``run.start``): dated projects are placed against it.
    pool_fee : float
        The pool's fee share (``fleet.pool.fee_share``): mining margins are after it.
    """

    def __init__(self, spec: HpcSpec, *, start: dt.date, pool_fee: float) -> None:
        self.spec = spec
        self.start = start
        self.pool_fee = pool_fee

    def attach(self, engine: ChunkEngine) -> None:
        """Create the run's state, processes, steps and variables on ``engine``."""
        engine.provide(HpcRun(self, engine))


class HpcRun:
    """The component's per-engine part: state, policy, steps.  Reach it with
    :func:`hpc_run_of`."""

    def __init__(self, comp: HpcComponent, engine: ChunkEngine) -> None:
        spec = comp.spec
        self.engine = engine
        self.adapter = a = EngineAdapter(engine, comp.pool_fee)
        self.model = m = HpcModel.build(
            spec, comp.start, engine.model.n_days, a.site_names, a.site_capacity_mw
        )
        self.state = HpcState(m, self._draw_uniforms(), path_offset=engine.path_offset)
        self.policy = _build_policy(spec.policy)
        self.stored_units = np.zeros_like(a.installed_units())
        n, S = engine.n_paths, m.site_capacity_mw.size
        self.project_sites = sorted({int(s) for s in m.project_site})
        self._running_max = np.zeros((n, 2))  # BTC price, hashprice
        self._last_ehs = np.full(n, np.inf)
        self._due = False
        window = round(spec.policy.trailing_months * DAYS_PER_MONTH)
        keep = spec.policy.kind != "fixed_plan"
        self._margin_ring = np.full((n, S, window if keep else 0), np.nan)
        self._mix_ring = np.zeros((n, 2, 365))  # HPC NOI, mining margin: last 365 days
        self._mix_sum = np.zeros((n, 2))
        self._logged = 0  # HPC events handed to the engine's event log so far
        self._declare()
        engine.add_step(19, "hpc_capacity", self._step_capacity)
        engine.add_step(56, "hpc", self._step_hpc)
        for j in range(m.n_projects):
            d = m.start_day[j]
            if np.isfinite(d) and 0 <= d < m.n_days:
                engine.add_process(self._fixed_start(j, int(d)))
        days = sorted({int(d) for d in self.policy.schedule(m.n_days) if 0 <= int(d) < m.n_days})
        if days:
            engine.add_process(self._reviews(days))

    # ------------------------------------------------------------------ setup

    def _draw_uniforms(self) -> FloatArray:
        """The run's uniforms, block by block from the ``"hpc"`` stream (module docstring of
        :mod:`hashfleet.hpc.kernels`)."""
        e, m = self.engine, self.model
        rng = e.rng("hpc")
        B = rng.block_paths
        out = np.empty((e.n_paths, m.n_projects, m.layout.width))
        for b, gen in enumerate(rng.generators):
            out[b * B : (b + 1) * B] = gen.random((B, m.n_projects, m.layout.width))
        return out

    def _declare(self) -> None:
        e = self.engine
        for key, (name, fin) in _LEDGER.items():
            if fin and not self.model.spec.financing.enabled:
                continue
            out, what = FLOW_NAMES[key]
            e.declare(name, "USD", ("outflow: " if out else "inflow: ") + what, total=True)
        for use in USES:
            e.declare(f"hpc_{use}_mw", "MW", f"Site MW in use '{use}', all sites")
            for s in self.project_sites:
                site = self.adapter.site_names[s]
                e.declare(f"hpc_{use}_mw_site{s}", "MW", f"Site MW in use '{use}' at {site}")
        e.declare("hpc_revenue_usd", "USD", "HPC rent and backstop payments", total=True)
        e.declare("hpc_opex_usd", "USD", "HPC landlord-paid and idle-hall opex", total=True)
        e.declare("hpc_noi_usd", "USD", "HPC net operating income", total=True)
        e.declare("mining_margin_usd", "USD", "Mining revenue − power cost", total=True)
        e.declare(
            "hpc_noi_share",
            "1",
            "EBITDA mix: HPC NOI / (HPC NOI + mining margin) over the trailing 365 days, 0 if ≤ 0",
        )
        for j, proj in enumerate(self.model.spec.projects):
            e.declare(
                f"hpc_irr_per_year_project{j}",
                "1/year",
                f"Unlevered IRR of project {proj.name!r} over the run (last day only, 0 "
                "before; NaN where none, e.g. not started)",
                nan_ok=True,
            )

    # ------------------------------------------------------------------ calendar

    def _fixed_start(self, j: int, day: int) -> Generator[simpy.Event, Any, None]:
        env = self.engine.env
        yield env.timeout(day - env.now)
        mask = self._allowed(j, np.ones(self.state.n_paths, dtype=bool))
        self.state.start(j, mask, day)

    def _reviews(self, days: list[int]) -> Generator[simpy.Event, Any, None]:
        env = self.engine.env
        for d in days:
            yield env.timeout(d - env.now)
            self._due = True

    def _allowed(self, j: int, mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """``mask`` less the paths where starting project ``j`` breaks the capex budget or
        the minimum mining hashrate (yesterday's running hashrate, scaled by the mining MW
        the project leaves)."""
        pol, m, st = self.model.spec.policy, self.model, self.state
        ok = mask & ~np.isfinite(st.start_day[:, j])
        if pol.capex_budget_usd is not None:
            ok &= st.committed_capex_usd + m.capex_budget_usd(j) <= pol.capex_budget_usd + 1e-6
        if pol.min_mining_hashrate_ehs > 0:
            mining = st.mw_by_use(int(self.engine.env.now))[:, :, 0].sum(axis=1)
            after = np.maximum(mining - m.project_gross_mw[j], 0.0)
            scale = np.divide(after, mining, out=np.zeros_like(after), where=mining > 0)
            ok &= self._last_ehs * scale >= pol.min_mining_hashrate_ehs
        return ok

    # ------------------------------------------------------------------ steps

    def _step_capacity(self, day: int) -> None:
        """Take machines out of the MW no longer mining (stage 19, before dispatch)."""
        st, a = self.state, self.adapter
        if st.reconverted_today.any():
            self._return_stored()
        if not np.isfinite(st.first_works).any():
            return
        mining_mw = st.mw_by_use(day)[:, :, 0]
        excess = a.installed_site_mw() - mining_mw
        if not (excess > 1e-9).any():
            return
        units = a.installed_units()
        for s in np.flatnonzero((excess > 1e-9).any(axis=0)):
            left = np.maximum(excess[:, s], 0.0)
            for col in np.flatnonzero(a.col_site == s)[::-1]:  # least efficient first
                if not (left > 1e-9).any():
                    break
                take = np.minimum(np.ceil(left / a.unit_mw[col] - 1e-9), units[:, col])
                take = np.where(left > 1e-9, take, 0.0)
                left = left - take * a.unit_mw[col]
                self._displace(int(s), int(col), take, mining_mw)
        a.refresh()

    def _displace(self, site: int, col: int, units: FloatArray, mining_mw: FloatArray) -> None:
        a = self.adapter
        mode = next(p.displaced for p in self.model.spec.projects if p.site == a.site_names[site])
        if mode == "sell" and a.sell_units(col, units):
            return
        a.take_units(col, units)
        if mode == "move":
            free = mining_mw - a.installed_site_mw()
            for target in np.flatnonzero(np.asarray(a.col_model) == a.col_model[col]):
                ts = a.col_site[target]
                if target == col or ts == site:
                    continue
                fit = np.minimum(np.floor(np.maximum(free[:, ts], 0.0) / a.unit_mw[target]), units)
                a.put_units(int(target), fit)
                free[:, ts] -= fit * a.unit_mw[target]
                units = units - fit
        self.stored_units[:, col] += units

    def _return_stored(self) -> None:
        """Machines stored from reconverted projects' sites go back (the site limit caps
        what runs)."""
        st, a, m = self.state, self.adapter, self.model
        for j in np.flatnonzero(st.reconverted_today.any(axis=0)):
            rows = st.reconverted_today[:, j]
            for col in np.flatnonzero(a.col_site == m.project_site[j]):
                back = np.where(rows, self.stored_units[:, col], 0.0)
                a.put_units(int(col), back)
                self.stored_units[:, col] -= back
        a.refresh()

    def _multiplier(self) -> FloatArray:
        d = self.model.spec.default
        a = self.adapter
        now = np.column_stack([a.btc_price_usd(), a.hashprice_usd_per_ph_day()])
        np.maximum(self._running_max, now, out=self._running_max)
        if d.driver == "none" or d.driver_sensitivity == 0:
            return np.ones(self.state.n_paths)
        k = 0 if d.driver == "btc_drawdown" else 1
        top = self._running_max[:, k]
        dd = np.divide(top - now[:, k], top, out=np.zeros_like(top), where=top > 0)
        return 1.0 + d.driver_sensitivity * dd

    def trailing_margin_usd_per_mw_year(self) -> FloatArray:
        """Mean mining margin per MW over the trailing window, per site (USD/MW/year),
        (n_paths, n_sites); NaN where a site had no machines."""
        with warnings.catch_warnings(), np.errstate(invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: a site without machines
            return np.nanmean(self._margin_ring, axis=2) * 365.25

    def _step_hpc(self, day: int) -> None:
        e, st, a = self.engine, self.state, self.adapter
        if self._margin_ring.shape[2]:
            self._margin_ring[:, :, day % self._margin_ring.shape[2]] = (
                a.site_margin_usd_per_mw_day()
            )
        multiplier = self._multiplier()
        if self._due:
            self._due = False
            want = self.policy.decide(self, day)
            for j in range(self.model.n_projects):
                if want[:, j].any() and day + 1 < self.model.n_days:
                    st.start(j, self._allowed(j, want[:, j]), day + 1)
        flows = st.advance(day, multiplier)
        for key, (name, fin) in _LEDGER.items():
            if fin and not self.model.spec.financing.enabled:
                continue
            usd = flows.total(key)
            if usd.any():
                e.book(name, usd, outflow=FLOW_NAMES[key][0])
        self._record(day, flows)
        self._last_ehs = a.fleet_hashrate_ehs()
        self._log_events()

    def _log_events(self) -> None:
        """Hand the day's new HPC events to the run's event log as kinds ``hpc_<kind>``
        (columns path, time_days, project, value)."""
        batches = self.state.events
        for batch in batches[self._logged :]:
            kind = str(batch["kind"][0])
            self.engine.log_event(f"hpc_{kind}", {k: v for k, v in batch.items() if k != "kind"})
        self._logged = len(batches)

    def _record(self, day: int, flows: Any) -> None:
        v = self.engine.values
        mw = self.state.mw_by_use(day)
        for u, use in enumerate(USES):
            v[f"hpc_{use}_mw"] = mw[:, :, u].sum(axis=1)
            for s in self.project_sites:
                v[f"hpc_{use}_mw_site{s}"] = mw[:, s, u]
        revenue = flows.total("rent_usd") + flows.total("backstop_usd")
        opex = flows.total("landlord_opex_usd") + flows.total("idle_opex_usd")
        noi = revenue - opex
        mining = self.adapter.mining_margin_usd()
        v["hpc_revenue_usd"] = revenue
        v["hpc_opex_usd"] = opex
        v["hpc_noi_usd"] = noi
        v["mining_margin_usd"] = mining
        # EBITDA mix over the trailing year (rent is invoiced monthly: a day's share would
        # swing between 0 and 1)
        col = day % self._mix_ring.shape[2]
        self._mix_sum -= self._mix_ring[:, :, col]
        self._mix_ring[:, 0, col] = noi
        self._mix_ring[:, 1, col] = mining
        self._mix_sum += self._mix_ring[:, :, col]
        hpc, total = self._mix_sum[:, 0], self._mix_sum.sum(axis=1)
        v["hpc_noi_share"] = np.divide(hpc, total, out=np.zeros_like(total), where=total > 0)
        last = day == self.model.n_days - 1
        irr = self.project_irr_per_year() if last else np.zeros((len(mining), 0))
        for j in range(self.model.n_projects):
            v[f"hpc_irr_per_year_project{j}"] = irr[:, j] if last else np.zeros(len(mining))

    # ------------------------------------------------------------------ outputs

    def project_irr_per_year(self) -> FloatArray:
        """Unlevered IRR of every project on every path so far, (n_paths, n_projects)
        (NaN where none exists, e.g. a project never started)."""
        st = self.state
        return np.column_stack(
            [irr_per_year(st.irr_flows_usd(j)) for j in range(st.model.n_projects)]
        )

    def events(self) -> dict[str, NDArray]:
        """The HPC event log (kind, time_days, path, project, value) of this engine."""
        return self.state.event_columns()


def hpc_run_of(engine: ChunkEngine) -> HpcRun:
    """The :class:`HpcRun` attached to ``engine``."""
    try:
        return engine.service(HpcRun)
    except LookupError:
        raise RuntimeError("no HPC component attached to this engine") from None


def paired_difference(with_hpc: FloatArray, mining_only: FloatArray) -> FloatArray:
    """The value of the option to convert, path by path: a metric of the HPC strategy minus
    the same metric of the mining-only strategy run with the same seed (common random
    numbers), e.g. ending cash or NPV, (n_paths,)."""
    return np.asarray(with_hpc, dtype=float) - np.asarray(mining_only, dtype=float)
