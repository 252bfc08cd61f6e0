"""The worker side of a local lockstep run: simulate a share of the paths window by window
into shared memory, in step with the other workers."""

from __future__ import annotations

import math
import os
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.engine.core import ChunkEngine
from hashfleet.engine.recorder import Recorder, RecorderArrays
from hashfleet.model import compile_scenario
from hashfleet.processes import WINDOW_DAYS
from hashfleet.runner.assemble import merge_events
from hashfleet.runner.blocks import FAULT_ENV
from hashfleet.scenario.schema import Scenario

if TYPE_CHECKING:
    pass
from hashfleet.runner.shm import (
    LockstepFailedError,
    SegmentLayout,
    _attach,
    _barrier,
    _close,
    _partition,
)


@dataclass(frozen=True)
class LockstepTask:
    """One worker's part of a local lockstep run.

    Attributes
    ----------
    scenario : Scenario
        ``run.paths`` and ``run.seed`` final.
    layout : SegmentLayout
    worker : int
        This worker's index (0 .. W-1).
    first_block, n_blocks : int
        The stream blocks this worker simulates.
    variables : tuple of str
        The daily variables the driver expects, in recording order.
    totalled : tuple of str
        Variables whose per-path totals are kept (rows of the ``totals`` array).
    inject : str
        The driver's ``HASHFLEET_INJECT_FAILURE`` (fault injection for tests).
    """

    scenario: Scenario
    layout: SegmentLayout
    worker: int
    first_block: int
    n_blocks: int
    variables: tuple[str, ...]
    totalled: tuple[str, ...]
    inject: str = ""


def run_lockstep_worker(task: LockstepTask) -> dict[str, Any]:
    """Simulate one worker's stream blocks in lockstep with the others (runs in a worker).

    Parameters
    ----------
    task : LockstepTask

    Returns
    -------
    dict
        ``events``: ``{kind: {column: array}}`` of this worker's paths (empty without an
        event log); ``pid``; ``wall_s``, ``wait_s`` (at barriers), ``reduce_s`` (s) and
        ``cpu_s`` (CPU time of the worker's process during the task, all its threads).

    Raises
    ------
    LockstepFailedError
        A peer failed or died, the run was aborted, or a barrier timed out.
    """
    from hashfleet.runner.threads import single_threaded_blas

    t_start, c_start = time.perf_counter(), time.process_time()
    shm = _attach(task.layout.name)
    views: dict[str, NDArray[Any]] = {}
    try:
        views = task.layout.views(shm.buf)
        try:
            with single_threaded_blas():
                result = _run_worker(task, views)
        except BaseException:
            views["ctrl"][-1] = 1  # abort: the peers stop at their next barrier
            raise
        result["wall_s"] = round(time.perf_counter() - t_start, 3)
        result["cpu_s"] = round(time.process_time() - c_start, 3)
        result["end_unix"] = time.time()
        return result
    finally:
        views.clear()
        _close(shm)


def _run_worker(task: LockstepTask, views: dict[str, NDArray[Any]]) -> dict[str, Any]:
    lay = task.layout
    W, i = lay.n_workers, task.worker
    ctrl = views["ctrl"]
    pids, started = ctrl[W : 2 * W], ctrl[2 * W : 3 * W]
    if started[i]:
        raise LockstepFailedError(f"lockstep worker {i} started twice (a retried task)")
    started[i] = 1
    pids[i] = os.getpid()
    sc = task.scenario
    model = compile_scenario(sc)
    rec = Recorder(
        task.variables,
        lay.n_paths,
        lay.n_sim_paths,
        lay.n_days,
        sc.run.outputs.quantiles,
        lay.store_paths,
        task.totalled,
        arrays=RecorderArrays(
            windows=views["windows"],
            mean=views["mean"],
            quantile=views["quantile"],
            paths=views.get("paths"),
            totals=views["totals"],
        ),
    )
    engine = ChunkEngine(
        model,
        sc.run.seed,
        task.first_block,
        task.n_blocks,
        rec.record,
        record_events=sc.run.outputs.event_log,
    )
    if tuple(engine.variables) != task.variables:
        raise LockstepFailedError(
            f"this worker's engine records {list(engine.variables)}, the driver expects "
            f"{list(task.variables)}: do the workers run the driver's hashfleet version?"
        )
    fault = _fault(task)
    cost = views["cost"]
    wait_s = reduce_s = 0.0
    n_windows = math.ceil(lay.n_days / WINDOW_DAYS)
    for w in range(n_windows):
        last_day = min((w + 1) * WINDOW_DAYS, lay.n_days) - 1
        engine.run_until(last_day + 1)
        if fault and w == 0:
            _inject(fault, i)
        t0 = time.perf_counter()
        _barrier(ctrl, W, i, w + 1)
        t1 = time.perf_counter()
        # every worker derives the same split from the previous window's costs
        share = _partition(cost[(w - 1) % 2], W)[i]
        mine = cost[w % 2]
        for v in range(share.start, share.stop):
            tv = time.perf_counter()
            rec.reduce_window(last_day, slice(v, v + 1))
            mine[v] = time.perf_counter() - tv
        wait_s += t1 - t0
        reduce_s += time.perf_counter() - t1
    events = {
        k: _sorted_events(cols, lay.n_paths)
        for k, cols in engine.event_columns(release=True).items()
    }
    started[i] = 2  # done: this process may now exit
    return {
        "events": events,
        "pid": os.getpid(),
        "wait_s": round(wait_s, 3),
        "reduce_s": round(reduce_s, 3),
    }


def _sorted_events(cols: dict[str, NDArray[Any]], n_paths: int) -> dict[str, NDArray[Any]]:
    """One worker's events of one kind, paths past ``n_paths`` dropped, sorted by path and
    time (stable) exactly as the in-process merge sorts them.

    The workers' path ranges are disjoint and in order, so the driver only concatenates
    these (every path's events, ties included, keep the order its engine logged them).
    """

    if not cols:
        return {}
    df = merge_events([cols], n_paths)
    return {c: df[c].to_numpy() for c in df.columns}


def _concat_events(parts: Sequence[dict[str, NDArray[Any]]], n_paths: int) -> Any:
    """The workers' sorted event columns (:func:`_sorted_events`), in path order, as the
    in-process run's data frame."""
    import pandas as pd

    parts = [p for p in parts if p]
    if not parts:
        return merge_events([], n_paths)
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return pd.DataFrame(cols, copy=False)


def _fault(task: LockstepTask) -> str:
    """``"raise"`` or ``"kill"`` if the driver's fault-injection spec names this worker."""
    wanted = {s.strip() for s in task.inject.split(",") if s.strip()}
    if f"lockstep-kill/{task.worker}" in wanted:
        return "kill"
    if f"lockstep/{task.worker}" in wanted:
        return "raise"
    return ""


def _inject(fault: str, worker: int) -> None:
    if fault == "kill":
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    raise RuntimeError(f"failure injected by {FAULT_ENV} into lockstep worker {worker}")


def _process_main(task: LockstepTask, conn: Any) -> None:
    """Entry point of a ``processes`` worker: the result or the error goes to ``conn``."""
    try:
        out: tuple[Any, ...] = ("ok", run_lockstep_worker(task))
    except BaseException as e:
        out = ("error", f"{type(e).__name__}: {e}", traceback.format_exc())
    try:
        conn.send(out)
    finally:
        conn.close()
