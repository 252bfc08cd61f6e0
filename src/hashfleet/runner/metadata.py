"""The metadata of a run, built in one place for every execution mode."""

from __future__ import annotations

from typing import Any

from hashfleet.engine.streams import STREAM_BLOCK_PATHS
from hashfleet.numeric import library_info
from hashfleet.scenario.schema import Scenario
from hashfleet.version import __version__

__all__ = ["run_metadata"]


def run_metadata(
    scenario: Scenario,
    *,
    backend: str,
    mode: str | None,
    horizon_days: int,
    **extra: Any,
) -> dict[str, Any]:
    """``results.metadata`` of a run: version, libraries, scenario, seed, size and how it ran.

    Parameters
    ----------
    scenario : Scenario
        As run (its ``run.seed`` and ``run.paths``).
    backend : str
    mode : str or None
        The execution mode (:class:`hashfleet.runner.plan.Mode`); None leaves it out.
    horizon_days : int
    **extra
        Mode-specific entries (``chunk_paths``, ``workers``, ``chain_start_source``, ...),
        in the given order after ``mode``; ``stream_block_paths`` is added if not given.
    """
    from hashfleet.scenario import scenario_hash

    run = scenario.run
    meta: dict[str, Any] = {
        "hashfleet_version": __version__,
        "libraries": library_info(),
        "scenario_name": scenario.name,
        "scenario_hash": scenario_hash(scenario),
        "seed": run.seed,
        "paths": run.paths,
        "horizon_days": horizon_days,
        "start": run.start.isoformat(),
        "backend": backend,
    }
    if mode is not None:
        meta["mode"] = str(mode)
    meta |= extra
    meta.setdefault("stream_block_paths", STREAM_BLOCK_PATHS)
    return meta
