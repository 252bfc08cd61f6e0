"""AI/HPC policies: who decides which conversion projects start, and when."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from hashfleet.constants import DAYS_PER_MONTH
from hashfleet.hpc.kernels import FloatArray
from hashfleet.scenario.hpc import HpcPolicySpec
from hashfleet.scenario.trust import load_target

__all__ = ["FixedPlan", "HpcPolicy", "HpcRunView", "MarginTrigger", "build_policy"]


class HpcRunView(Protocol):
    """What a policy reads of the run (:class:`hashfleet.hpc.component.HpcRun`)."""

    state: Any
    model: Any
    adapter: Any

    def trailing_margin_usd_per_mw_year(self) -> FloatArray:
        """Mining margin per MW-year of each site over the trailing window."""
        ...


@runtime_checkable
class HpcPolicy(Protocol):
    """Decides, on its review days, which projects start on which paths.

    A user policy is a class with keyword parameters (``hpc.policy.params``)::

        class MyPolicy:
            def __init__(self, **params): ...
            def schedule(self, n_days: int) -> Iterable[int]: ...      # review days
            def decide(self, run: HpcRunView, day: int) -> ndarray: ...   # (n_paths, n_projects)

    ``decide`` returns a boolean mask of the projects to start (from the next day); the
    component drops paths where a project already started, or where the capex budget or the
    minimum mining hashrate would be broken.  It may read ``run.state``, ``run.adapter`` and
    ``run.trailing_margin_usd_per_mw_year()``.
    """

    def schedule(self, n_days: int) -> Iterable[int]:
        """Review days (0 ≤ day < n_days)."""
        ...

    def decide(self, run: HpcRunView, day: int) -> NDArray[np.bool_]:
        """Projects to start on each path, (n_paths, n_projects)."""
        ...


class FixedPlan:
    """Only the dated projects start (on their `start_date`); no reviews."""

    def schedule(self, n_days: int) -> Iterable[int]:
        """No review days."""
        return ()

    def decide(self, run: HpcRunView, day: int) -> NDArray[np.bool_]:
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

    def decide(self, run: HpcRunView, day: int) -> NDArray[np.bool_]:
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


def build_policy(spec: HpcPolicySpec) -> HpcPolicy:
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
