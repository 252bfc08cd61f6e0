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

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hashfleet.hpc.arrays import inf_array
from hashfleet.hpc.kernels import (
    CONVERTING,
    DAYS_PER_YEAR,
    IDLE,
    LEASED,
    MINING,
    RECONVERTING,
    FloatArray,
    capex_tranches,
    debt_day,
    invoice_usd,
    months_of,
    mw_by_use,
    phase_schedule,
    ramp_share,
)
from hashfleet.hpc.leases import LeaseSteps
from hashfleet.hpc.projects import FLOW_NAMES, DayFlows, HpcModel
from hashfleet.numeric import rows_dot

__all__ = ["FLOW_NAMES", "DayFlows", "HpcModel", "HpcState"]


@dataclass
class HpcState(LeaseSteps):
    """Per-path state of every project.

    Parameters
    ----------
    model : HpcModel
    uniforms : ndarray, shape (n_paths, n_projects, K)
        The run's pre-drawn uniforms (layout: :attr:`HpcModel.layout`).
    path_offset : int
        Global index of the first path (for the event log).
    """

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
            self.tranche_day[j] = inf_array((self.n_paths, *tday.shape[1:]))
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
