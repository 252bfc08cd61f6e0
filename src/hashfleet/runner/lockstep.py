"""Local lockstep: the in-process lockstep run split across worker processes of this machine.

The in-process run advances every path day by day in lockstep and reduces each full window of
:data:`~hashfleet.processes.WINDOW_DAYS` days across all paths in memory
(:class:`~hashfleet.engine.recorder.Recorder`).  Here W local worker processes (``processes``
backend, or the Dask ``LocalCluster`` hashfleet starts for ``backend="dask"``) do the same
work together, through one **shared-memory** segment (:mod:`multiprocessing.shared_memory`):

* worker *i* owns a contiguous range of stream blocks (250 paths each) and simulates them with
  one :class:`~hashfleet.engine.core.ChunkEngine`, recording each day's values into its own
  path columns of the shared window buffers ``(2, n_vars, WINDOW_DAYS, n_sim_paths)`` (two
  windows, used in turn, so nobody waits for the reduction before simulating on);
* at the end of each window every worker meets the others at a barrier (per-worker counters
  in the segment, polled with a short sleep, with a timeout and a check that the peers'
  processes are alive); the window is then reduced **split by variable**: each worker runs the
  recorder's own :meth:`~hashfleet.engine.recorder.Recorder.reduce_window` on a contiguous
  range of variables, writing means, quantiles (and stored paths) into shared arrays.  Every
  ``(variable, day)`` row of paths is reduced on its own, contiguous, exactly as in-process,
  so every number is identical.  The ranges are balanced by the time each variable took to
  reduce in the previous window (a cost table in the segment, double-buffered too, that all
  workers read after the same barrier, so they agree on the split);
* per-path totals are accumulated in the segment; last-day values are read from the last
  window; each worker returns its event log, merged in path order as in-process.

The barrier before writing window *w + 2* into the buffer of window *w* is the one at the end
of window *w + 1*, which each worker reaches only after reducing its share of window *w*.

Memory: only windows are shared (``2 × n_vars × 32 × paths × 8`` bytes, ~150 MB at 10,000
paths), plus the daily statistics and, with ``store_paths``, every path's series (which an
in-process run holds too).  The segment is created and unlinked by the driver (``finally``),
so it is removed on every exit path; workers only attach to it.

If a worker fails or dies, the driver raises the abort flag (the other workers stop at their
next barrier), and :func:`simulate_local` falls back to the block path on the same workers,
with a :class:`LockstepFallbackWarning` and ``lockstep_fallback`` in the run's metadata, so a
killed worker still gives identical results.  For tests, ``HASHFLEET_INJECT_FAILURE`` tokens
``lockstep/<i>`` (worker *i* raises after its first window) and ``lockstep-kill/<i>`` (worker
*i* kills its own process with SIGKILL there) trigger that fallback; block tokens (a stream
block number) apply to block tasks only.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
import uuid
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.engine.core import ChunkEngine
from hashfleet.engine.streams import STREAM_BLOCK_PATHS
from hashfleet.model import compile_scenario
from hashfleet.processes import WINDOW_DAYS
from hashfleet.runner.assemble import assemble_results
from hashfleet.runner.blocks import FAULT_ENV
from hashfleet.runner.metadata import run_metadata
from hashfleet.runner.plan import Mode
from hashfleet.scenario.schema import Scenario

if TYPE_CHECKING:
    from hashfleet.results import Results
    from hashfleet.runner.backends import Backend
    from hashfleet.runner.blocks import BlockOutcome
from hashfleet.runner.lockstep_pool import (
    _check_local,
    _NotLocalError,
    _run_dask,
    _run_processes,
)
from hashfleet.runner.lockstep_worker import (
    LockstepTask,
    _concat_events,
    run_lockstep_worker,
)
from hashfleet.runner.shm import (
    BARRIER_TIMEOUT_S,
    N_WINDOW_BUFFERS,
    LockstepFailedError,
    LockstepFallbackWarning,
    SegmentLayout,
    _close,
)

__all__ = [
    "BARRIER_TIMEOUT_S",
    "LockstepFailedError",
    "LockstepFallbackWarning",
    "LockstepTask",
    "SegmentLayout",
    "run_lockstep_worker",
    "simulate_local",
]


def simulate_local(
    scenario: Scenario,
    backend: Backend,
    *,
    progress: Callable[[int, int], None] | None = None,
    on_block: Callable[[BlockOutcome], None] | None = None,
) -> Results:
    """Run ``scenario`` in local lockstep on ``backend``'s workers; fall back to blocks.

    Parameters
    ----------
    scenario : Scenario
        ``run.paths`` and ``run.seed`` final.
    backend : ProcessBackend or DaskBackend
        A ``processes`` backend, or a ``dask`` backend: a LocalCluster it starts, or a
        running scheduler, used in lockstep only if every worker can attach to a
        shared-memory segment of this process (they are on this machine); otherwise the
        run goes through block tasks (``lockstep_skipped`` in the metadata says why).
        Closed on return.
    progress : callable ``(days_done, n_days) -> None``, optional
        Called from the driver as the workers pass window barriers.
    on_block : callable, optional
        Passed to the block path if the run falls back to it.

    Returns
    -------
    Results
        Identical to the in-process run's; ``metadata["mode"]`` is ``"local-lockstep"``, or
        ``"blocks"`` with ``lockstep_fallback`` (a worker failed) or ``lockstep_skipped``
        (the workers are not on this machine) saying why.
    """
    import threading

    from hashfleet.runner.jobs import simulate_blocks

    closer = threading.Thread(target=backend.close, name="hashfleet-close-workers")
    with backend:
        t0 = time.perf_counter()
        key = "lockstep_fallback"
        try:
            try:
                # the workers are closed while the driver assembles the results
                return _run(scenario, backend, t0, progress, on_done=closer.start)
            finally:
                if closer.is_alive():
                    closer.join()
        except _NotLocalError as e:
            key, reason = "lockstep_skipped", str(e)
        except (LockstepFailedError, OSError) as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            warnings.warn(
                f"local lockstep run failed ({reason}); running it again as block tasks",
                LockstepFallbackWarning,
                stacklevel=2,
            )
        res = simulate_blocks(
            scenario,
            backend=backend.name,
            workers=None,
            scheduler=None,
            block_paths=None,
            run_dir=None,
            resume=False,
            keep_going=False,
            on_block=on_block,
            be=backend,
        )
        res.metadata[key] = reason
        res.metadata["wall_time_s"] = round(time.perf_counter() - t0, 3)
        res.summary["metadata"] = res.metadata
        return res


def _run(
    scenario: Scenario,
    backend: Backend,
    t0: float,
    progress: Callable[[int, int], None] | None,
    on_done: Callable[[], None] | None = None,
) -> Results:
    from multiprocessing import shared_memory

    from hashfleet.runner.jobs import _Stats
    from hashfleet.scenario import dump_resolved

    run = scenario.run
    outputs = run.outputs
    n_paths = run.paths
    n_blocks = math.ceil(n_paths / STREAM_BLOCK_PATHS)
    model = compile_scenario(scenario)
    probe = ChunkEngine(model, run.seed, 0, 1, lambda *a: None, record_events=False)
    variables = dict(probe.variables)
    totalled = tuple(v for v in probe.totalled if v in variables)
    t_setup = time.perf_counter()
    prepare = getattr(backend, "prepare_local", None)
    if prepare is not None:
        prepare()  # start the LocalCluster or connect (timed apart)
        if getattr(backend, "scheduler", None) is not None:
            _check_local(backend._client)  # type: ignore[attr-defined]
    t_started = time.perf_counter()
    W = max(1, min(backend.workers, n_blocks))
    layout = SegmentLayout(
        name=f"hf-{uuid.uuid4().hex[:20]}",
        n_workers=W,
        n_vars=len(variables),
        n_sim_paths=n_blocks * STREAM_BLOCK_PATHS,
        n_paths=n_paths,
        n_days=model.n_days,
        n_quantiles=len(outputs.quantiles),
        n_totalled=len(totalled),
        store_paths=outputs.store_paths,
    )
    per, extra = divmod(n_blocks, W)
    firsts = [i * per + min(i, extra) for i in range(W)]
    inject = os.environ.get(FAULT_ENV, "")
    tasks = [
        LockstepTask(
            scenario,
            layout,
            i,
            firsts[i],
            per + (i < extra),
            tuple(variables),
            totalled,
            inject,
        )
        for i in range(W)
    ]
    shm = shared_memory.SharedMemory(name=layout.name, create=True, size=layout.nbytes)
    views: dict[str, NDArray[Any]] = {}
    try:
        views = layout.views(shm.buf)
        views["ctrl"][:] = 0
        runner = _run_dask if backend.name == "dask" else _run_processes
        results = runner(backend, tasks, views["ctrl"], model.n_days, progress)
        t_done, transfer = time.perf_counter(), time.time() - max(r["end_unix"] for r in results)
        n_sim = layout.n_sim_paths
        last_day = model.n_days - 1
        last_window = views["windows"][(last_day // WINDOW_DAYS) % N_WINDOW_BUFFERS]
        col = last_day % WINDOW_DAYS
        stats = _Stats(
            variables=tuple(variables),
            n_paths=n_paths,
            quantiles=np.asarray(outputs.quantiles, dtype=float),
            mean=views["mean"].copy(),
            quantile=views["quantile"].copy(),
            paths=views["paths"].copy() if outputs.store_paths else None,
            totals={v: views["totals"][j, :n_sim].copy() for j, v in enumerate(totalled)},
            last={v: last_window[j, col, :n_paths].copy() for j, v in enumerate(variables)},
        )
    finally:
        views.clear()
        _close(shm)
        shm.unlink()
    if on_done is not None:
        on_done()  # e.g. close the workers while the results are assembled
    kinds = ["retargets", "halvings"]
    for r in results:
        kinds += [k for k in r["events"] if k not in kinds]
    events = {
        kind: _concat_events([r["events"].get(kind, {}) for r in results], n_paths)
        for kind in kinds
    }
    wall = time.perf_counter() - t0
    meta = run_metadata(
        scenario,
        backend=backend.name,
        mode=Mode.LOCAL_LOCKSTEP,
        horizon_days=model.n_days,
        workers=W,
        worker_paths=[t.n_blocks * STREAM_BLOCK_PATHS for t in tasks],
        stream_block_paths=STREAM_BLOCK_PATHS,
        chain_start_source=model.chain.source,
        setup_time_s=round(t_setup - t0, 3),
        workers_start_time_s=round(t_started - t_setup, 3),
        lockstep_time_s=round(t_done - t_started, 3),
        worker_wall_s=[r["wall_s"] for r in results],
        worker_cpu_s=[r["cpu_s"] for r in results],
        worker_barrier_wait_s=[r["wait_s"] for r in results],
        worker_reduce_s=[r["reduce_s"] for r in results],
        results_transfer_s=round(transfer, 3),
        shared_memory_mb=round(layout.nbytes / 2**20, 1),
        wall_time_s=round(wall, 3),
        created_utc=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    return assemble_results(
        scenario,
        model.n_days,
        stats,
        events["retargets"],
        events["halvings"],
        variables,
        meta,
        dump_resolved(scenario),
        events,
    )
