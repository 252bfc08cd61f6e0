"""The per-path arrays of :class:`~hashfleet.hpc.state.HpcState` and its event log.

:class:`PathArrays` draws the per-path delays, overruns and thresholds from the given uniforms
and allocates every date, lease and debt array; the day's steps that change them are in
:mod:`hashfleet.hpc.leases` and :mod:`hashfleet.hpc.state` (whose docstring gives their order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hashfleet.hpc.kernels import FloatArray, inverse_cdf, months_of
from hashfleet.hpc.projects import HpcModel

__all__ = ["PathArrays", "inf_array"]


def inf_array(shape: tuple[int, ...]) -> FloatArray:
    """An array of ``inf`` (a date not set yet) of ``shape``."""
    return np.full(shape, np.inf)


@dataclass
class PathArrays:
    """Per-path arrays of every project, as :class:`~hashfleet.hpc.state.HpcState` (its
    parameters) starts them; the event log in columnar batches."""

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
        self.start_day = inf_array((n, J))
        self.first_works = inf_array((n, J))
        self.works = inf_array((n, Q))
        self.live = inf_array((n, Q))
        # per project, (n_paths, n_phases, n_tranches) once it starts somewhere
        self.tranche_day: list[FloatArray] = [
            inf_array((n, 0, len(p.capex_tranches))) for p in spec.projects
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
        self.ep_start = inf_array((n, J))
        self.next_invoice = inf_array((n, J))
        self.term_months = np.zeros((n, J), dtype=np.int64)
        self.hazard = np.zeros((n, J))
        self.last_rent = np.zeros((n, J))  # escalated base rent of the last invoice, USD/kW/m
        # after a default
        self.bs_month = np.zeros((n, J), dtype=np.int64)
        self.bs_end = np.zeros((n, J), dtype=np.int64)
        self.bs_next = inf_array((n, J))
        self.release_day = inf_array((n, J))
        self.reconv_start = inf_array((n, J))
        self.reconv_end = inf_array((n, J))
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

    def event_columns(self) -> dict[str, NDArray]:
        """The event log as concatenated columns (kind, time_days, path, project, value)."""
        if not self.events:
            return {k: np.empty(0) for k in ("kind", "time_days", "path", "project", "value")}
        return {k: np.concatenate([e[k] for e in self.events]) for k in self.events[0]}
