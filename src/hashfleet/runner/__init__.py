"""Run a scenario: seeding, chunking and the day-by-day lockstep of chunk engines.

``simulate(scenario, paths=..., seed=...)`` is a pure function of the scenario, the number of
paths and the seed.  Paths are simulated in chunks of whole stream blocks; chunks advance day
by day in lockstep so that each day's statistics are taken over all paths at once (exactly
the same numbers whatever the chunk size).

With another ``backend`` (local ``processes``, ``dask``), a run directory, ``block_paths`` or
``resume``, the paths are instead split into independent block tasks, each simulated to the
horizon and written to a chunked store (see :mod:`hashfleet.runner.jobs`); the results are
identical, array for array.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from hashfleet.engine.core import ChunkEngine
from hashfleet.engine.recorder import Recorder
from hashfleet.engine.streams import STREAM_BLOCK_PATHS
from hashfleet.errors import InputError
from hashfleet.model import CompiledScenario, compile_scenario
from hashfleet.processes import WINDOW_DAYS
from hashfleet.results import Results
from hashfleet.runner.assemble import assemble_results, merge_all_events
from hashfleet.runner.memory import (
    MemoryEstimate,
    check_memory,
    estimate_memory,
    out_of_memory,
)
from hashfleet.runner.metadata import run_metadata
from hashfleet.runner.plan import ExecutionPlan, Mode, choose_plan
from hashfleet.runner.threads import single_threaded_blas
from hashfleet.scenario.schema import Scenario

if TYPE_CHECKING:
    from hashfleet.runner.blocks import BlockOutcome

__all__ = [
    "BACKGROUND_WINDOW_BYTES",
    "RECORDER_WINDOW_BYTES",
    "ExecutionPlan",
    "Mode",
    "choose_plan",
    "recorder_window_days",
    "simulate",
    "single_threaded_blas",
]

#: Largest window buffer (bytes) for which an in-process run keeps a second one and reduces
#: each finished window on a background thread (256 MiB: 10,000 paths × ~100 variables).
BACKGROUND_WINDOW_BYTES: int = 256 * 2**20
#: Largest in-process recorder window buffer: beyond it the window holds fewer days than the
#: processes' ``WINDOW_DAYS`` (same statistics; 100,000 paths × ~45 variables: 7 days).
RECORDER_WINDOW_BYTES: int = 256 * 2**20


def recorder_window_days(day_bytes: int) -> int:
    """Days of the in-process recorder's window for ``day_bytes`` recorded per day:
    ``WINDOW_DAYS`` while the buffer fits in :data:`RECORDER_WINDOW_BYTES`, else as many
    days as fit (at least one)."""
    return int(min(WINDOW_DAYS, max(1, RECORDER_WINDOW_BYTES // max(day_bytes, 1))))


Progress = Callable[[int, int], None]


def simulate(
    scenario: Scenario | str | Path,
    *,
    paths: int | None = None,
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    store_paths: bool | None = None,
    chunk_paths: int | None = None,
    progress: Progress | None = None,
    backend: str = "in-process",
    workers: int | None = None,
    scheduler: str | None = None,
    block_paths: int | None = None,
    run_dir: str | Path | None = None,
    resume: bool = False,
    keep_going: bool = False,
    on_block: Callable[[BlockOutcome], None] | None = None,
    step_times: dict[str, float] | None = None,
    max_memory_gb: float | None = None,
    allow_paths: Sequence[str | Path] = (),
) -> Results:
    """Simulate a scenario.

    Parameters
    ----------
    scenario : Scenario, str or pathlib.Path
        A validated scenario or the path of a YAML scenario file.
    paths : int, optional
        Monte Carlo paths (default: ``run.paths`` of the scenario).
    seed : int, optional
        Root seed (default: ``run.seed``).
    overrides : mapping, optional
        Dotted-path overrides applied when loading a scenario file (``{"run.horizon_days": 30}``).
    allow_paths : sequence of path-like
        With a scenario file: folders outside its own that it may name files in
        (``extends``, catalogue, CSV; see :mod:`hashfleet.scenario.files`).
    store_paths : bool, optional
        Keep every path's daily series (default: ``run.outputs.store_paths``).
    chunk_paths : int, optional
        Paths per chunk, a multiple of the stream block size (250). Default: one chunk.
        Results do not depend on it.
    progress : callable ``(days_done, n_days) -> None``, optional
        Called after each simulated day (in-process lockstep run), or each window all
        local lockstep workers have passed.
    backend : {"in-process", "processes", "dask"}
        Where the paths are simulated.  ``in-process`` without ``run_dir``,
        ``block_paths``, ``resume`` or ``keep_going`` runs all chunks in lockstep in this
        process (no files).  ``processes`` and ``dask`` without those options run the same
        lockstep split across worker processes of this machine through shared memory
        (:mod:`hashfleet.runner.lockstep`; if a worker fails, the run falls back to block
        tasks with a warning); with a ``scheduler`` whose workers are not all on this
        machine, they run block tasks.  Every other
        combination runs independent block tasks that write to ``run_dir``.  Results are
        identical either way; ``metadata["mode"]`` says which ran.  ``processes`` starts
        workers that import the calling script: guard a script's entry point with
        ``if __name__ == "__main__":``.
    workers : int, optional
        Worker processes (``processes``: default the CPU count; ``dask``: the size of the
        LocalCluster started for the run, default 2).
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a running Dask scheduler (``dask`` backend); ``run_dir``
        must then be on a file system every worker sees.
    block_paths : int, optional
        Paths per block task, a multiple of 250 (default 1,000).  Results do not depend
        on it.
    run_dir : str or pathlib.Path, optional
        Directory for the block store (``store.zarr``, readable with
        ``xarray.open_zarr``) and finished-block files (default: a temporary directory,
        deleted after the run).
    resume : bool
        Keep the finished blocks in ``run_dir`` from an interrupted run of the same
        scenario, seed, paths and block size, and compute only the others.
    keep_going : bool
        If a block fails, still finish the others (then raise
        :class:`~hashfleet.runner.jobs.BlocksFailedError` listing the failures).
    on_block : callable ``(BlockOutcome) -> None``, optional
        Called after each block task finishes (block runs only).
    step_times : dict, optional
        In-process lockstep runs: seconds spent in each named daily step are added to it
        (the per-part cost report of ``benchmarks.stages``).
    max_memory_gb : float, optional
        Refuse the run up front if its estimated peak memory exceeds this many GiB
        (default: ``HASHFLEET_MAX_MEMORY_GB``, else the memory available when the run
        starts; ``inf``: no check).  See :mod:`hashfleet.runner.memory`.

    Returns
    -------
    Results

    Raises
    ------
    ResourceError
        The estimated memory exceeds the limit (before anything is allocated), or the run
        ran out of memory.
    """
    from hashfleet.scenario import load_scenario

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides=overrides, allow_paths=allow_paths)
    elif overrides:
        raise InputError("overrides apply when loading a file; pass a path, not a Scenario")
    run = scenario.run
    outputs = run.outputs
    updates: dict[str, Any] = {}
    if paths is not None:
        updates["paths"] = paths
    if seed is not None:
        updates["seed"] = seed
    if store_paths is not None:
        updates["outputs"] = outputs.model_copy(update={"store_paths": store_paths})
    if updates:
        try:
            run = run.model_validate(run.model_dump() | _dump(updates))
        except ValidationError as e:  # paths or seed out of range: the caller's input
            err = e.errors(include_url=False)[0]
            raise InputError(f"{err['loc'][0]}: {err['msg']}, got {err['input']!r}") from None
        scenario = scenario.model_copy(update={"run": run})

    how: dict[str, Any] = {
        "backend": backend,
        "workers": workers,
        "scheduler": scheduler,
        "block_paths": block_paths,
        "run_dir": run_dir,
        "resume": resume,
        "keep_going": keep_going,
    }
    plan = choose_plan(**how, chunk_paths=chunk_paths)
    model = compile_scenario(scenario)
    estimate = _estimate(scenario, model, plan, block_paths, workers)
    check_memory(estimate, max_memory_gb)
    try:
        return _dispatch(scenario, model, plan, how, chunk_paths, progress, on_block, step_times)
    except MemoryError:
        raise out_of_memory(estimate) from None


def _estimate(
    scenario: Scenario,
    model: CompiledScenario,
    plan: ExecutionPlan,
    block_paths: int | None,
    workers: int | None,
) -> MemoryEstimate:
    """The run's memory estimate: all paths at once, or a block per worker."""
    run = scenario.run
    resident = None
    if plan.mode is Mode.BLOCKS:
        resident = (block_paths or 1000) * (workers or os.cpu_count() or 1)
    return estimate_memory(
        model,
        n_paths=run.paths,
        resident_paths=resident,
        store_paths=run.outputs.store_paths,
        event_log=run.outputs.event_log,
        background_limit_bytes=BACKGROUND_WINDOW_BYTES,
        n_quantiles=len(run.outputs.quantiles),
    )


def _dispatch(
    scenario: Scenario,
    model: CompiledScenario,
    plan: ExecutionPlan,
    how: dict[str, Any],
    chunk_paths: int | None,
    progress: Progress | None,
    on_block: Callable[[BlockOutcome], None] | None,
    step_times: dict[str, float] | None,
) -> Results:
    backend, workers, scheduler = how["backend"], how["workers"], how["scheduler"]
    if plan.mode is Mode.LOCAL_LOCKSTEP:
        # workers on this machine: the lockstep run split across them (shared memory)
        from hashfleet.runner.backends import make_backend
        from hashfleet.runner.lockstep import simulate_local

        be = make_backend(backend, workers=workers, scheduler=scheduler)
        return simulate_local(scenario, be, progress=progress, on_block=on_block)
    if plan.mode is Mode.BLOCKS:
        from hashfleet.runner.jobs import simulate_blocks

        return simulate_blocks(scenario, **how, on_block=on_block)
    return _simulate_lockstep(scenario, model, chunk_paths, progress, step_times)


def _simulate_lockstep(
    scenario: Scenario,
    model: CompiledScenario,
    chunk_paths: int | None,
    progress: Progress | None,
    step_times: dict[str, float] | None,
) -> Results:
    """All chunks in this process, day by day in lockstep."""
    from hashfleet.scenario import dump_resolved

    run = scenario.run
    outputs = run.outputs
    n_paths, root_seed = run.paths, run.seed
    B = STREAM_BLOCK_PATHS
    n_blocks = math.ceil(n_paths / B)
    if chunk_paths is None:
        chunk_blocks = n_blocks
    elif chunk_paths <= 0 or chunk_paths % B:
        raise InputError(f"chunk_paths: expected a positive multiple of {B}, got {chunk_paths}")
    else:
        chunk_blocks = chunk_paths // B

    t0 = time.perf_counter()
    sink = _Sink()
    engines = [
        ChunkEngine(
            model,
            root_seed,
            first,
            min(chunk_blocks, n_blocks - first),
            sink,
            record_events=outputs.event_log,
            step_times=step_times,
        )
        for first in range(0, n_blocks, chunk_blocks)
    ]
    variables = engines[0].variables
    day_bytes = 8 * len(variables) * n_blocks * B  # one day of every variable and path
    recorder = Recorder(
        tuple(variables),
        n_paths,
        n_blocks * B,
        model.n_days,
        outputs.quantiles,
        run.outputs.store_paths,
        totalled=engines[0].totalled,
        # reduce each window on a second thread while the next is simulated, when a second
        # window buffer is affordable (identical numbers either way)
        background=day_bytes * WINDOW_DAYS <= BACKGROUND_WINDOW_BYTES,
        window_days=recorder_window_days(day_bytes),
    )
    sink.recorder = recorder
    try:
        with single_threaded_blas():
            for day in range(model.n_days):
                for engine in engines:
                    engine.run_until(day + 1)
                recorder.end_day(day)
                if progress is not None:
                    progress(day + 1, model.n_days)
    finally:
        recorder.close()
    wall = time.perf_counter() - t0

    meta = run_metadata(
        scenario,
        backend="in-process",
        mode=Mode.LOCKSTEP,
        horizon_days=model.n_days,
        chunk_paths=chunk_blocks * B,
        stream_block_paths=B,
        chain_start_source=model.chain.source,
        wall_time_s=round(wall, 3),
        created_utc=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    # the chunks' logs are released as they are merged (a decade holds millions of retargets)
    events = merge_all_events([e.event_columns(release=True) for e in engines], n_paths)
    return assemble_results(
        scenario,
        model.n_days,
        recorder,
        events["retargets"],
        events["halvings"],
        variables,
        meta,
        dump_resolved(scenario),
        events,
    )


class _Sink:
    """Forwards chunk values to the recorder (created once the variables are known)."""

    recorder: Recorder

    def __call__(self, day: int, offset: int, values: dict[str, np.ndarray]) -> None:
        self.recorder.record(day, offset, values)


def _dump(updates: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.model_dump() if hasattr(v, "model_dump") else v) for k, v in updates.items()}
