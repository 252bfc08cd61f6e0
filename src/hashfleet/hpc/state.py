"""The per-path state of a run's conversion projects and leases, advanced one day at a time.

:class:`HpcModel` holds what is the same on every path (projects flattened into phase
arrays); :class:`HpcState` the per-path arrays, shape ``(n_paths, n_projects)`` or
``(n_paths, n_phases_all)``.  :meth:`HpcState.start` starts projects on a mask of paths;
:meth:`HpcState.advance` runs one day and returns that day's :class:`DayFlows`.  Neither
touches the engine or draws a random number (the uniforms are given at construction), so
both are tested on their own; :mod:`hashfleet.hpc.component` is the glue.

One day, in order (every step on all paths at once, looping over projects only):

1. capex tranches due today (not after a reconversion started); project debt draws;
2. works starts and phases going live (events);
3. lease commencement when a project's first phase goes live (renewals drawn then);
   re-leases starting today;
4. default: forced at its lease month's invoice, or when the cumulative hazard crosses its
   threshold;
5. invoices due today of active leases (term end first: a lease past its term — renewals
   included — ends and the halls are vacated);
6. backstop invoices of defaulted original leases;
7. vacated halls: re-lease date drawn, or reconversion works start (capex paid today);
8. reconversions finishing (the halls mine again);
9. idle opex, debt service, the project's monthly flows for its IRR.

Events (kind, day, path, project, value) are kept in columnar batches: ``works_start``,
``phase_live`` (value: phase), ``delay`` (value: days of delay of that phase, when > 0),
``commence``, ``default``, ``term_end``, ``release`` (value: new rent USD/kW/month),
``reconversion_start``, ``reconversion_end``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hashfleet.hpc.kernels import (
    CONVERTING,
    DAYS_PER_YEAR,
    EPISODES,
    IDLE,
    LEASED,
    MINING,
    RECONVERTING,
    FloatArray,
    UniformLayout,
    add_months,
    capex_tranches,
    debt_day,
    hazard_step,
    inverse_cdf,
    invoice_usd,
    months_of,
    mw_by_use,
    phase_schedule,
    ramp_share,
    uniform_layout,
)
from hashfleet.numeric import rows_dot
from hashfleet.scenario.hpc import HpcSpec, check_against_sites

__all__ = ["FLOW_NAMES", "DayFlows", "HpcModel", "HpcState"]

#: Per-project flows of a day (USD, ≥ 0): name -> (outflow, description).
FLOW_NAMES: dict[str, tuple[bool, str]] = {
    "rent_usd": (False, "HPC rent collected from tenants"),
    "backstop_usd": (False, "HPC rent paid by the credit backstop after a default"),
    "prepayment_usd": (False, "HPC rent prepaid at works start"),
    "landlord_opex_usd": (True, "HPC landlord-paid operating costs"),
    "idle_opex_usd": (True, "HPC costs of live halls without a paying tenant"),
    "capex_usd": (True, "HPC conversion capex (landlord share, overruns included)"),
    "reconversion_capex_usd": (True, "HPC reconversion-to-mining capex"),
    "debt_draw_usd": (False, "HPC project debt drawn (loan-to-cost)"),
    "debt_interest_usd": (True, "HPC project debt interest paid from lease cash"),
    "debt_principal_usd": (True, "HPC project debt principal repaid from lease cash"),
}


@dataclass(frozen=True)
class HpcModel:
    """The projects of a run, flattened; the same on every path.

    Attributes
    ----------
    spec : HpcSpec
    start : datetime.date
        Day 0 of the run.
    n_days : int
    site_capacity_mw : ndarray, shape (n_sites,)
    project_site : ndarray of int, shape (n_projects,)
    phase_project, phase_site : ndarray of int, shape (n_phases_all,)
    phase_mw, phase_it_kw : ndarray, shape (n_phases_all,)
        Gross MW and critical IT kW of each phase.
    project_it_kw, project_gross_mw : ndarray, shape (n_projects,)
    start_day : ndarray, shape (n_projects,)
        Fixed-plan start day (``inf``: started by the policy).
    layout : UniformLayout
    """

    spec: HpcSpec
    start: dt.date
    n_days: int
    site_capacity_mw: FloatArray
    project_site: NDArray[np.intp]
    phase_project: NDArray[np.intp]
    phase_site: NDArray[np.intp]
    phase_mw: FloatArray
    phase_it_kw: FloatArray
    project_it_kw: FloatArray
    project_gross_mw: FloatArray
    start_day: FloatArray
    layout: UniformLayout

    @classmethod
    def build(
        cls,
        spec: HpcSpec,
        start: dt.date,
        n_days: int,
        site_names: tuple[str, ...],
        site_capacity_mw: FloatArray,
    ) -> HpcModel:
        """Flatten ``spec`` against the run's sites (checked with
        :func:`~hashfleet.scenario.hpc.check_against_sites`)."""
        check_against_sites(spec, site_names, list(site_capacity_mw))
        index = {n: i for i, n in enumerate(site_names)}
        pp, ps, pm, pk = [], [], [], []
        for j, p in enumerate(spec.projects):
            for ph in p.phases:
                pp.append(j)
                ps.append(index[p.site])
                pm.append(ph.gross_mw)
                pk.append(ph.gross_mw * p.it_ratio * 1000.0)
        starts = [
            float((p.start_date - start).days) if p.start_date is not None else np.inf
            for p in spec.projects
        ]
        return cls(
            spec=spec,
            start=start,
            n_days=n_days,
            site_capacity_mw=np.asarray(site_capacity_mw, dtype=np.float64),
            project_site=np.asarray([index[p.site] for p in spec.projects], dtype=np.intp),
            phase_project=np.asarray(pp, dtype=np.intp),
            phase_site=np.asarray(ps, dtype=np.intp),
            phase_mw=np.asarray(pm, dtype=np.float64),
            phase_it_kw=np.asarray(pk, dtype=np.float64),
            project_it_kw=np.asarray([p.it_mw * 1000.0 for p in spec.projects]),
            project_gross_mw=np.asarray([p.gross_mw for p in spec.projects]),
            start_day=np.asarray(starts, dtype=np.float64),
            layout=uniform_layout(
                max(len(p.phases) for p in spec.projects), spec.lease.renewal_options
            ),
        )

    @property
    def n_projects(self) -> int:
        """Number of projects."""
        return len(self.spec.projects)

    def phases_of(self, j: int) -> NDArray[np.intp]:
        """Columns (in the flattened phase axis) of project ``j``'s phases."""
        return np.flatnonzero(self.phase_project == j)

    def capex_budget_usd(self, j: int) -> float:
        """Budgeted landlord capex of project ``j`` (no overrun), USD."""
        p = self.spec.projects[j]
        return p.it_mw * p.capex_usd_per_mw_it * (1.0 - self.spec.lease.tenant_fit_out_share)

    def noi_usd_per_mw_year(self, j: int) -> float:
        """Year-1 lease NOI per gross MW of project ``j`` (USD/MW/year, no ramp)."""
        lease = self.spec.lease
        p = self.spec.projects[j]
        return lease.base_rent_usd_per_kw_month * 12_000.0 * p.it_ratio * lease.noi_margin


@dataclass
class DayFlows:
    """One day's flows per path and project (USD, ≥ 0), names as in :data:`FLOW_NAMES`."""

    usd: dict[str, FloatArray]

    def total(self, name: str) -> FloatArray:
        """Sum over projects, shape (n_paths,)."""
        return self.usd[name].sum(axis=1)


def _inf(shape: tuple[int, ...]) -> FloatArray:
    return np.full(shape, np.inf)


@dataclass
class HpcState:
    """Per-path state of every project.

    Parameters
    ----------
    model : HpcModel
    uniforms : ndarray, shape (n_paths, n_projects, K)
        The run's pre-drawn uniforms (layout: :attr:`HpcModel.layout`).
    path_offset : int
        Global index of the first path (for the event log).
    """

    model: HpcModel
    uniforms: FloatArray
    path_offset: int = 0
    events: list[dict[str, NDArray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        m, spec = self.model, self.model.spec
        n, J, Q = self.uniforms.shape[0], m.n_projects, m.phase_mw.size
        self.n_paths = n
        u, lay = self.uniforms, m.layout
        self.delay_days = np.zeros((n, Q))
        self.overrun = np.zeros((n, J))
        for j, p in enumerate(spec.projects):
            cols = m.phases_of(j)
            for k, (q, ph) in enumerate(zip(cols, p.phases, strict=True)):
                dist = ph.delay_days if ph.delay_days is not None else p.delay_days
                self.delay_days[:, q] = inverse_cdf(dist, u[:, j, lay.delays.start + k])
            self.overrun[:, j] = inverse_cdf(p.overrun_share, u[:, j, lay.overrun])
        self.threshold = -np.log1p(-u[:, :, lay.default])  # (n, J, EPISODES)
        self.release_delay = np.rint(inverse_cdf(spec.release.delay_days, u[:, :, lay.release]))
        self.reconv_delay = np.rint(
            inverse_cdf(spec.reconversion.delay_days, u[:, :, lay.reconversion])
        )
        self.start_day = _inf((n, J))
        self.first_works = _inf((n, J))
        self.works = _inf((n, Q))
        self.live = _inf((n, Q))
        # per project, (n_paths, n_phases, n_tranches) once it starts somewhere
        self.tranche_day: list[FloatArray] = [
            _inf((n, 0, len(p.capex_tranches))) for p in spec.projects
        ]
        self.tranche_usd: list[FloatArray] = [
            np.zeros((n, 0, len(p.capex_tranches))) for p in spec.projects
        ]
        self.committed_capex_usd = np.zeros(n)
        # lease episodes
        self.commenced = np.zeros((n, J), dtype=bool)
        self.active = np.zeros((n, J), dtype=bool)
        self.original = np.zeros((n, J), dtype=bool)
        self.episode = np.full((n, J), -1, dtype=np.int64)
        self.rent0 = np.zeros((n, J))
        self.month = np.zeros((n, J), dtype=np.int64)
        self.ep_start = _inf((n, J))
        self.next_invoice = _inf((n, J))
        self.term_months = np.zeros((n, J), dtype=np.int64)
        self.hazard = np.zeros((n, J))
        self.last_rent = np.zeros((n, J))  # escalated base rent of the last invoice, USD/kW/m
        # after a default
        self.bs_month = np.zeros((n, J), dtype=np.int64)
        self.bs_end = np.zeros((n, J), dtype=np.int64)
        self.bs_next = _inf((n, J))
        self.release_day = _inf((n, J))
        self.reconv_start = _inf((n, J))
        self.reconv_end = _inf((n, J))
        # debt and IRR flows
        self.debt_usd = np.zeros((n, J))
        self.debt_accrued_usd = np.zeros((n, J))
        n_months = int(months_of(m.n_days - 1)) + 1
        self.monthly_flows_usd = np.zeros((n, J, n_months))
        self.pending_prepayment_usd = np.zeros((n, J))
        #: Conversion and reconversion capex paid so far per path and project (USD).
        self.capex_paid_usd = np.zeros((n, J))
        #: Projects whose reconversion ended today (the component brings machines back).
        self.reconverted_today = np.zeros((n, J), dtype=bool)
        self._by_phase = np.asarray(
            [spec.projects[j].stop_mining == "by_phase" for j in m.phase_project], dtype=bool
        )
        self._any_started = False
        self._version = 0
        self._mw_cache: tuple[int, int, float, FloatArray, NDArray[np.int8]] | None = None

    # ------------------------------------------------------------------ queries

    def use(self, day: int) -> NDArray[np.int8]:
        """Use code (:data:`~hashfleet.hpc.kernels.USES`) of every phase on ``day``,
        shape (n_paths, n_phases_all)."""
        m = self.model
        proj = m.phase_project
        out = np.full(self.works.shape, MINING, dtype=np.int8)
        if not self._any_started:
            return out
        stopped = np.where(
            self._by_phase[None, :], self.works <= day, self.first_works[:, proj] <= day
        )
        live = self.live <= day
        out[stopped & ~live] = CONVERTING
        act = self.active[:, proj]
        out[live & act] = LEASED
        out[live & ~act] = IDLE
        rs, re = self.reconv_start[:, proj], self.reconv_end[:, proj]
        out[(rs <= day) & (day < re)] = RECONVERTING
        out[re <= day] = MINING
        return out

    def mw_by_use(self, day: int) -> FloatArray:
        """MW of each site by use on ``day``, shape (n_paths, n_sites, 5).

        Cached: uses change only on a dated transition (works start, live, reconversion) or
        when a lease episode starts or ends, so the cache holds until the next of those.
        """
        c = self._mw_cache
        if c is None or c[0] != self._version or not c[1] <= day < c[2]:
            m = self.model
            use = self.use(day)
            mw = mw_by_use(use, m.phase_mw, m.phase_site, m.site_capacity_mw)
            until = np.inf
            for dates in (self.works, self.first_works, self.live, self.reconv_start):
                later = dates[dates > day]
                until = min(until, later.min()) if later.size else until
            later = self.reconv_end[self.reconv_end > day]
            until = min(until, later.min()) if later.size else until
            self._mw_cache = c = (self._version, day, until, mw, use)
        return c[3]

    def irr_flows_usd(self, j: int) -> FloatArray:
        """Monthly net cash flows of project ``j`` (unlevered), shape (n_paths, n_months)."""
        return self.monthly_flows_usd[:, j, :]

    # ------------------------------------------------------------------ actions

    def start(self, j: int, mask: NDArray[np.bool_], day: int) -> None:
        """Start project ``j`` on the paths of ``mask`` (n_paths,) on ``day`` (paths where
        it already started are left alone): phase dates, capex tranches, prepayment."""
        mask = mask & ~np.isfinite(self.start_day[:, j])
        if not mask.any():
            return
        self._any_started = True
        self._version += 1
        m, p = self.model, self.model.spec.projects[j]
        lease = m.spec.lease
        cols = m.phases_of(j)
        self.start_day[mask, j] = day
        offs = np.asarray([ph.start_offset_days for ph in p.phases], dtype=np.float64)
        build = np.asarray([ph.build_days for ph in p.phases], dtype=np.float64)
        rows = np.flatnonzero(mask)
        works, live = phase_schedule(
            np.full(rows.size, float(day)), offs, build, self.delay_days[np.ix_(rows, cols)]
        )
        self.works[np.ix_(rows, cols)] = works
        self.live[np.ix_(rows, cols)] = live
        self.first_works[rows, j] = works.min(axis=1)
        capex = (
            m.phase_it_kw[cols][None, :]
            / 1000.0
            * p.capex_usd_per_mw_it
            * (1.0 + self.overrun[rows, j : j + 1])
            * (1.0 - lease.tenant_fit_out_share)
        )
        tday, tusd = capex_tranches(works, live, capex, list(p.capex_tranches))
        if self.tranche_day[j].shape[1] == 0:
            self.tranche_day[j] = _inf((self.n_paths, *tday.shape[1:]))
            self.tranche_usd[j] = np.zeros((self.n_paths, *tusd.shape[1:]))
        self.tranche_day[j][rows] = tday
        self.tranche_usd[j][rows] = tusd
        self.committed_capex_usd[mask] += m.capex_budget_usd(j)
        if lease.prepayment_share > 0:
            months = np.arange(lease.term_months)
            sched = invoice_usd(
                np.full(months.size, lease.base_rent_usd_per_kw_month),
                months,
                lease.escalator_per_year,
                ramp_share(months, np.asarray(lease.ramp_shares), np.ones(months.size, bool)),
                np.full(months.size, m.project_it_kw[j]),
            )
            self.pending_prepayment_usd[mask, j] = round(
                lease.prepayment_share * float(sched.sum()), 2
            )

    def advance(self, day: int, multiplier: FloatArray) -> DayFlows:
        """Run ``day`` (see the module docstring) and return its flows.

        Parameters
        ----------
        day : int
        multiplier : ndarray, shape (n_paths,)
            Today's default-hazard multiplier ``1 + k · drawdown`` (ones without a driver).
        """
        m = self.model
        n, J = self.n_paths, m.n_projects
        f = {name: np.zeros((n, J)) for name in FLOW_NAMES}
        self.reconverted_today[:] = False
        f["prepayment_usd"] += self.pending_prepayment_usd * (self.start_day == day)
        self._capex(day, f)
        self._phase_events(day)
        self._commence(day)
        self._releases(day)
        self._defaults(day, multiplier)
        self._invoices(day, f)
        self._backstop(day, f)
        self._reconversions(day, f)
        self._idle_opex(day, f)
        self._debt(f)
        net = (
            f["rent_usd"]
            + f["backstop_usd"]
            + f["prepayment_usd"]
            - f["landlord_opex_usd"]
            - f["idle_opex_usd"]
            - f["capex_usd"]
            - f["reconversion_capex_usd"]
        )
        self.monthly_flows_usd[:, :, int(months_of(day))] += net
        self.capex_paid_usd += f["capex_usd"] + f["reconversion_capex_usd"]
        return DayFlows(f)

    # ------------------------------------------------------------------ one day's parts

    def _event(self, kind: str, mask: NDArray[np.bool_], day: int, value: FloatArray) -> None:
        path, proj = np.nonzero(mask)
        if path.size == 0:
            return
        self.events.append(
            {
                "kind": np.full(path.size, kind, dtype=object),
                "time_days": np.full(path.size, day, dtype=np.int64),
                "path": path + self.path_offset,
                "project": proj,
                "value": np.asarray(value, dtype=np.float64)[mask],
            }
        )

    def _capex(self, day: int, f: dict[str, FloatArray]) -> None:
        fin = self.model.spec.financing
        for j in range(self.model.n_projects):
            td = self.tranche_day[j]
            if td.shape[1] == 0:
                continue
            due = (td == day) & (day < self.reconv_start[:, j])[:, None, None]
            if due.any():
                f["capex_usd"][:, j] += (self.tranche_usd[j] * due).sum(axis=(1, 2))
        if fin.enabled:
            f["debt_draw_usd"] += fin.loan_to_cost * f["capex_usd"]

    def _phase_events(self, day: int) -> None:
        m = self.model
        proj = m.phase_project
        n, J = self.n_paths, m.n_projects
        starts = self.first_works == day
        self._event("works_start", starts, day, np.zeros((n, J)))
        live_now = (self.live == day) & (day < self.reconv_start[:, proj])
        if live_now.any():
            # per project: the phase index (within the project) going live, its delay
            for q in np.flatnonzero(live_now.any(axis=0)):
                j = int(proj[q])
                mask = np.zeros((n, J), dtype=bool)
                mask[:, j] = live_now[:, q]
                k = int(np.flatnonzero(m.phases_of(j) == q)[0])
                self._event("phase_live", mask, day, np.full((n, J), float(k)))
                late = mask & (self.delay_days[:, q] > 0)[:, None]
                self._event("delay", late, day, np.rint(self.delay_days[:, q])[:, None] * mask)

    def _commence(self, day: int) -> None:
        m, lease = self.model, self.model.spec.lease
        for j in range(m.n_projects):
            first_live = self.live[:, m.phases_of(j)].min(axis=1)
            new = (first_live == day) & ~self.commenced[:, j] & (day < self.reconv_start[:, j])
            if not new.any():
                continue
            lay = m.layout
            u = self.uniforms[:, j, lay.renewals]
            exercised = np.cumprod(u < lease.renewal_probability, axis=1).sum(axis=1)
            self.commenced[new, j] = True
            self.original[new, j] = True
            self.term_months[new, j] = lease.term_months + exercised[new] * lease.renewal_months
            self._begin_episode(j, new, day, lease.base_rent_usd_per_kw_month)
            mask = np.zeros((self.n_paths, m.n_projects), dtype=bool)
            mask[:, j] = new
            self._event("commence", mask, day, np.zeros(mask.shape))

    def _begin_episode(
        self, j: int, mask: NDArray[np.bool_], day: int, rent: float | FloatArray
    ) -> None:
        self._version += 1
        self.episode[mask, j] += 1
        self.active[mask, j] = True
        self.rent0[mask, j] = rent if np.isscalar(rent) else np.asarray(rent)[mask]
        self.month[mask, j] = 0
        self.ep_start[mask, j] = day
        self.next_invoice[mask, j] = day
        self.hazard[mask, j] = 0.0
        self.release_day[mask, j] = np.inf

    def _releases(self, day: int) -> None:
        lease, rel = self.model.spec.lease, self.model.spec.release
        due = self.release_day == day
        for j in np.flatnonzero(due.any(axis=0)):
            mask = due[:, j]
            new_rent = self.last_rent[:, j] * (1.0 - rel.haircut_share)
            self.original[mask, j] = False
            self.term_months[mask, j] = lease.term_months
            self.bs_next[mask, j] = np.inf  # the backstop stops when a new tenant pays
            self._begin_episode(int(j), mask, day, new_rent)
            ev = np.zeros(due.shape, dtype=bool)
            ev[:, j] = mask
            self._event("release", ev, day, np.broadcast_to(new_rent[:, None], due.shape))

    def _defaults(self, day: int, multiplier: FloatArray) -> None:
        d = self.model.spec.default
        if d.forced_month is not None:
            hit = self.active & self.original & (self.next_invoice == day)
            hit &= self.month == d.forced_month
        else:
            ep = np.clip(self.episode, 0, EPISODES - 1)
            thr = np.take_along_axis(self.threshold, ep[:, :, None], axis=2)[:, :, 0]
            thr = np.where(self.episode < EPISODES, thr, np.inf)
            self.hazard, hit = hazard_step(self.hazard, thr, d.annual_rate, multiplier, self.active)
        if not hit.any():
            return
        self._event("default", hit, day, self.month.astype(np.float64))
        bs = self.model.spec.backstop
        if bs is not None and bs.months > 0:
            covered = hit & self.original
            first = self.month  # the first unpaid invoice (dated today or later)
            self.bs_month[covered] = first[covered]
            base_end = self.model.spec.lease.term_months
            self.bs_end[covered] = np.minimum(first[covered] + bs.months, base_end)
            self.bs_next[covered] = self.next_invoice[covered]
        self._vacate(hit, day)

    def _vacate(self, mask: NDArray[np.bool_], day: int) -> None:
        """Tenants leave on ``mask`` (n_paths, n_projects): re-lease or reconvert."""
        self._version += 1
        self.active[mask] = False
        self.next_invoice[mask] = np.inf
        spec = self.model.spec
        ep = np.clip(self.episode, 0, EPISODES - 1)
        if spec.after_default == "release":
            delay = np.take_along_axis(self.release_delay, ep[:, :, None], axis=2)[:, :, 0]
            self.release_day[mask] = day + delay[mask]
        else:
            delay = np.take_along_axis(self.reconv_delay, ep[:, :, None], axis=2)[:, :, 0]
            self.reconv_start[mask] = day
            self.reconv_end[mask] = day + np.maximum(delay[mask], 1.0)
            self._event("reconversion_start", mask, day, np.zeros(mask.shape))

    def _billing_share(self, j: int, day: int, month: NDArray[np.int64]) -> FloatArray:
        """Ramp share of lease month ``month`` capped by the share of the IT kW live."""
        m = self.model
        cols = m.phases_of(j)
        live_kw = ((self.live[:, cols] <= day) * m.phase_it_kw[cols][None, :]).sum(axis=1)
        ramp = ramp_share(month, np.asarray(m.spec.lease.ramp_shares), self.original[:, j])
        return np.minimum(ramp, live_kw / m.project_it_kw[j])

    def _invoices(self, day: int, f: dict[str, FloatArray]) -> None:
        m, lease = self.model, self.model.spec.lease
        due = self.active & (self.next_invoice == day)
        ended = due & (self.month >= self.term_months)
        if ended.any():
            self._event("term_end", ended, day, self.month.astype(np.float64))
            self._vacate(ended, day)
            due &= ~ended
        for j in np.flatnonzero(due.any(axis=0)):
            rows = due[:, j]
            mon = self.month[:, j]
            share = self._billing_share(int(j), day, mon)
            inv = invoice_usd(
                self.rent0[:, j], mon, lease.escalator_per_year, share, m.project_it_kw[j]
            )
            prepaid = self.original[:, j] & (mon < lease.term_months)
            cash = np.where(prepaid, np.round(inv * (1.0 - lease.prepayment_share), 2), inv)
            f["rent_usd"][rows, j] += cash[rows]
            f["landlord_opex_usd"][rows, j] += np.round((1.0 - lease.noi_margin) * inv[rows], 2)
            esc = (1.0 + lease.escalator_per_year) ** (mon // 12)
            self.last_rent[rows, j] = (self.rent0[:, j] * esc)[rows]
            self._advance_month(rows, int(j), self.month, self.ep_start, self.next_invoice)

    def _advance_month(
        self,
        rows: NDArray[np.bool_],
        j: int,
        month: NDArray[np.int64],
        anchor: FloatArray,
        next_day: FloatArray,
    ) -> None:
        month[rows, j] += 1
        next_day[rows, j] = add_months(self.model.start, anchor[rows, j], month[rows, j])

    def _backstop(self, day: int, f: dict[str, FloatArray]) -> None:
        bs = self.model.spec.backstop
        if bs is None:
            return
        lease = self.model.spec.lease
        due = self.bs_next == day
        for j in np.flatnonzero(due.any(axis=0)):
            rows = due[:, j]
            mon = self.bs_month[:, j]
            share = self._billing_share(int(j), day, mon)
            inv = invoice_usd(
                self.rent0[:, j], mon, lease.escalator_per_year, share, self.model.project_it_kw[j]
            )
            f["backstop_usd"][rows, j] += np.round(bs.share * inv[rows], 2)
            self._advance_month(rows, int(j), self.bs_month, self.ep_start, self.bs_next)
            done = rows & (self.bs_month[:, j] >= self.bs_end[:, j])
            self.bs_next[done, j] = np.inf

    def _reconversions(self, day: int, f: dict[str, FloatArray]) -> None:
        rc = self.model.spec.reconversion
        starting = self.reconv_start == day
        if starting.any():
            f["reconversion_capex_usd"] += (
                starting * self.model.project_gross_mw[None, :] * rc.capex_usd_per_mw
            )
        ending = self.reconv_end == day
        if ending.any():
            self._version += 1
            self.reconverted_today |= ending
            self.release_day[ending] = np.inf
            self._event("reconversion_end", ending, day, np.zeros(ending.shape))

    def _idle_opex(self, day: int, f: dict[str, FloatArray]) -> None:
        rate = self.model.spec.lease.idle_opex_usd_per_mw_it_month
        if rate <= 0 or not (self.commenced & ~self.active).any():  # no hall without a tenant
            return
        m = self.model
        self.mw_by_use(day)
        assert self._mw_cache is not None
        idle = self._mw_cache[4] == IDLE
        onehot = (m.phase_project[:, None] == np.arange(m.n_projects)[None, :]).astype(float)
        it_mw = rows_dot(idle * m.phase_it_kw[None, :] / 1000.0, onehot)
        f["idle_opex_usd"] += it_mw * rate * 12.0 / DAYS_PER_YEAR

    def _debt(self, f: dict[str, FloatArray]) -> None:
        fin = self.model.spec.financing
        if not fin.enabled:
            return
        cash = fin.sweep_share * (f["rent_usd"] + f["backstop_usd"])
        self.debt_usd, self.debt_accrued_usd, f["debt_interest_usd"], f["debt_principal_usd"] = (
            debt_day(
                self.debt_usd,
                self.debt_accrued_usd,
                f["debt_draw_usd"],
                fin.rate_per_year,
                self.commenced,
                cash,
            )
        )

    def event_columns(self) -> dict[str, NDArray]:
        """The event log as concatenated columns (kind, time_days, path, project, value)."""
        if not self.events:
            return {k: np.empty(0) for k in ("kind", "time_days", "path", "project", "value")}
        return {k: np.concatenate([e[k] for e in self.events]) for k in self.events[0]}
