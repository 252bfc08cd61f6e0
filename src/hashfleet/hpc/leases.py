"""The lease steps of an HPC day: commencement, re-leases, defaults, invoices, backstop,
reconversions.

They are methods of :class:`LeaseSteps`, which :class:`~hashfleet.hpc.state.HpcState` extends;
:meth:`~hashfleet.hpc.state.HpcState.advance` calls them in the order that
:mod:`hashfleet.hpc.state`'s docstring gives.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hashfleet.hpc.arrays import PathArrays
from hashfleet.hpc.kernels import (
    EPISODES,
    FloatArray,
    add_months,
    hazard_step,
    invoice_usd,
    ramp_share,
)

__all__ = ["LeaseSteps"]


class LeaseSteps(PathArrays):
    """The lease and reconversion steps of one day, on :class:`PathArrays`."""

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
