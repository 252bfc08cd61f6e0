"""What is the same on every path: the run's HPC projects flattened, and the day's flow names.

:class:`HpcModel` is built once per run; :class:`DayFlows` is what
:meth:`hashfleet.hpc.state.HpcState.advance` returns for one day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hashfleet.hpc.kernels import FloatArray, UniformLayout, uniform_layout
from hashfleet.scenario.hpc import HpcSpec, check_against_sites

__all__ = ["FLOW_NAMES", "DayFlows", "HpcModel"]

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
