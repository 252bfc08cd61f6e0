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

import contextlib
import datetime as dt
import math
import os
import sys
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.engine.core import ChunkEngine
from hashfleet.engine.recorder import Recorder, RecorderArrays
from hashfleet.engine.streams import STREAM_BLOCK_PATHS
from hashfleet.errors import RunError
from hashfleet.model import compile_scenario
from hashfleet.processes import WINDOW_DAYS
from hashfleet.runner.assemble import assemble_results, merge_events
from hashfleet.runner.blocks import FAULT_ENV
from hashfleet.runner.metadata import run_metadata
from hashfleet.runner.plan import Mode
from hashfleet.scenario.schema import Scenario

if TYPE_CHECKING:
    from hashfleet.results import Results
    from hashfleet.runner.backends import Backend
    from hashfleet.runner.blocks import BlockOutcome

__all__ = [
    "BARRIER_TIMEOUT_S",
    "LockstepFailedError",
    "LockstepFallbackWarning",
    "LockstepTask",
    "SegmentLayout",
    "run_lockstep_worker",
    "simulate_local",
]

#: A worker waiting at a barrier longer than this (s) for a live peer gives up.
BARRIER_TIMEOUT_S = 600.0
#: The driver gives up if a worker has not started its task after this long (s).
START_TIMEOUT_S = 120.0
#: Number of window buffers (two: simulate window w + 1 while window w is reduced).
N_WINDOW_BUFFERS = 2
#: Polling interval of the barrier (s).
_POLL_S = 0.0002
_EVENT_KINDS = ("retargets", "halvings")


class LockstepFailedError(RunError):
    """A local lockstep run could not finish (a worker failed or died)."""


class _AbortedError(LockstepFailedError):
    """A worker stopped because another one failed (not a cause of its own)."""


class LockstepFallbackWarning(RuntimeWarning):
    """A local lockstep run failed and the run fell back to block tasks."""


@dataclass(frozen=True)
class SegmentLayout:
    """The arrays of a lockstep run's shared-memory segment (all 8-byte items).

    Attributes
    ----------
    name : str
        Name of the :class:`multiprocessing.shared_memory.SharedMemory` segment.
    n_workers, n_vars, n_sim_paths, n_paths, n_days, n_quantiles, n_totalled : int
    store_paths : bool
    """

    name: str
    n_workers: int
    n_vars: int
    n_sim_paths: int
    n_paths: int
    n_days: int
    n_quantiles: int
    n_totalled: int
    store_paths: bool

    def shapes(self) -> list[tuple[str, tuple[int, ...], type]]:
        """``(name, shape, dtype)`` of each array, in segment order.

        ``ctrl`` (int64) holds ``[arrived × W, pid × W, started × W, abort]``: ``arrived[i]``
        is the number of windows worker *i* has finished recording; ``started[i]`` is 1
        while it runs, 2 once it is done.
        """
        W, nv, ns = self.n_workers, self.n_vars, self.n_sim_paths
        out: list[tuple[str, tuple[int, ...], type]] = [
            ("ctrl", (3 * W + 1,), np.int64),
            ("cost", (2, nv), np.float64),
            ("windows", (N_WINDOW_BUFFERS, nv, WINDOW_DAYS, ns), np.float64),
            ("mean", (nv, self.n_days), np.float64),
            ("quantile", (nv, self.n_quantiles, self.n_days), np.float64),
            ("totals", (self.n_totalled, ns), np.float64),
        ]
        if self.store_paths:
            out.append(("paths", (nv, self.n_paths, self.n_days), np.float64))
        return out

    @property
    def nbytes(self) -> int:
        """Size of the segment in bytes."""
        return sum(8 * math.prod(shape) for _, shape, _ in self.shapes())

    def views(self, buf: Any) -> dict[str, NDArray[Any]]:
        """NumPy views of the segment's arrays over ``buf`` (the segment's buffer)."""
        out: dict[str, NDArray[Any]] = {}
        at = 0
        for name, shape, dtype in self.shapes():
            n = math.prod(shape)
            out[name] = np.ndarray(shape, dtype=dtype, buffer=buf, offset=at)
            at += 8 * n
        return out


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


# ----------------------------------------------------------------------------- worker side


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
    events: dict[str, dict[str, NDArray[Any]]] = {}
    if engine.events is not None:
        for k in _EVENT_KINDS:
            events[k] = _sorted_events(engine.events.columns(k, release=True), lay.n_paths)
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


def _barrier(ctrl: NDArray[np.int64], W: int, i: int, target: int) -> None:
    """Mark worker ``i`` as having recorded ``target`` windows; wait until all have.

    Raises
    ------
    LockstepFailedError
        The run was aborted, a peer's process is gone, or nothing moved for
        :data:`BARRIER_TIMEOUT_S`.
    """
    arrived, pids, started = ctrl[:W], ctrl[W : 2 * W], ctrl[2 * W : 3 * W]
    arrived[i] = target
    t0 = time.monotonic()
    check = t0 + 1.0
    while True:
        if ctrl[-1]:
            raise _AbortedError("lockstep run aborted (another worker failed)")
        if arrived.min() >= target:
            return
        now = time.monotonic()
        if now >= check:
            check = now + 1.0
            for j in range(W):
                if j != i and started[j] == 1 and pids[j] and not _alive(int(pids[j])):
                    raise LockstepFailedError(f"lockstep worker {j} (pid {pids[j]}) died")
            if now - t0 > BARRIER_TIMEOUT_S:
                raise LockstepFailedError(
                    f"lockstep worker {i} waited {BARRIER_TIMEOUT_S:g} s at window {target}"
                )
        time.sleep(_POLL_S)


def _partition(cost: NDArray[np.float64], W: int) -> list[slice]:
    """Contiguous ranges of variables with about equal total ``cost``, one per worker.

    A pure function of ``cost`` (every worker computes the same ranges); all-zero costs (the
    first window) split the variables evenly by count.
    """
    c = np.maximum(cost, 1e-12)
    mid = np.cumsum(c) - c / 2  # a variable goes to the worker whose share holds its middle
    total = float(c.sum())
    bounds = [0, *(int(np.searchsorted(mid, total * k / W)) for k in range(1, W)), len(c)]
    return [slice(bounds[k], bounds[k + 1]) for k in range(W)]


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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _attach(name: str) -> Any:
    """Attach to the driver's segment without registering it with a resource tracker.

    Python < 3.13 registers attached segments too, and a Dask worker's tracker would unlink
    (or warn about) a segment the driver owns; the driver unlinks it.
    """
    from multiprocessing import shared_memory

    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name=name, track=False)  # type: ignore[call-arg,unused-ignore]
    if os.name == "nt":  # no resource tracker on Windows
        return shared_memory.SharedMemory(name=name)
    from unittest import mock

    with mock.patch("multiprocessing.resource_tracker.register"):
        return shared_memory.SharedMemory(name=name)


def _close(shm: Any) -> None:
    with contextlib.suppress(BufferError):  # a view still alive (an exception's frame)
        shm.close()


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


# ----------------------------------------------------------------------------- driver side


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
    events = {}
    for kind in _EVENT_KINDS:
        events[kind] = _concat_events([r["events"].get(kind, {}) for r in results], n_paths)
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
    )


class _NotLocalError(Exception):
    """The Dask workers are not all on this machine (they cannot attach to its segments)."""


def _probe_segment(name: str, token: int) -> bool:
    """Whether this worker can attach to the driver's probe segment and read its token."""
    try:
        shm = _attach(name)
    except OSError:
        return False
    try:
        return int(np.ndarray((1,), dtype=np.int64, buffer=shm.buf)[0]) == token
    finally:
        _close(shm)


def _check_local(client: Any) -> None:
    """Raise :class:`_NotLocalError` unless every worker of ``client`` shares our memory."""
    from multiprocessing import shared_memory

    token = int.from_bytes(os.urandom(7), "little")
    shm = shared_memory.SharedMemory(name=f"hf-probe-{uuid.uuid4().hex[:16]}", create=True, size=8)
    try:
        np.ndarray((1,), dtype=np.int64, buffer=shm.buf)[0] = token
        seen = client.run(_probe_segment, shm.name, token)
    finally:
        _close(shm)
        shm.unlink()
    if not seen or not all(seen.values()):
        away = sorted(a for a, ok in seen.items() if not ok)
        raise _NotLocalError(f"Dask workers not on this machine: {', '.join(away) or 'none'}")


class _Monitor:
    """Watches the workers' progress and liveness from the shared control array."""

    def __init__(
        self,
        ctrl: NDArray[np.int64],
        n_workers: int,
        n_days: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.ctrl = ctrl
        self.W = n_workers
        self.n_days = n_days
        self.progress = progress
        self.t0 = time.monotonic()
        self.days = 0

    def check(self) -> None:
        """Raise :class:`LockstepFailedError` if a started worker's process is gone or a
        worker has not started in :data:`START_TIMEOUT_S`; report progress."""
        W, ctrl = self.W, self.ctrl
        pids, started = ctrl[W : 2 * W], ctrl[2 * W : 3 * W]
        for j in range(W):
            if started[j] == 1 and pids[j] and not _alive(int(pids[j])):
                raise LockstepFailedError(f"lockstep worker {j} (pid {pids[j]}) died")
        if not started.all() and time.monotonic() - self.t0 > START_TIMEOUT_S:
            raise LockstepFailedError(
                f"lockstep workers {np.flatnonzero(started == 0).tolist()} did not start "
                f"within {START_TIMEOUT_S:g} s"
            )
        if self.progress is not None:
            days = min(int(ctrl[:W].min()) * WINDOW_DAYS, self.n_days)
            for d in range(self.days + 1, days + 1):  # one call per day, as in-process
                self.progress(d, self.n_days)
            self.days = max(self.days, days)

    def abort(self) -> None:
        self.ctrl[-1] = 1


def _run_processes(
    backend: Backend,
    tasks: Sequence[LockstepTask],
    ctrl: NDArray[np.int64],
    n_days: int,
    progress: Callable[[int, int], None] | None,
) -> list[dict[str, Any]]:
    """Run the tasks in W local processes (forked from a fork server on POSIX)."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    if sys.platform == "win32":
        ctx: Any = mp.get_context("spawn")
    else:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["hashfleet.runner.lockstep"])
    mon = _Monitor(ctrl, len(tasks), n_days, progress)
    procs: list[Any] = []
    conns: list[Any] = []
    results: dict[int, dict[str, Any]] = {}
    try:
        for t in tasks:
            recv, send = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_process_main, args=(t, send), daemon=True)
            p.start()
            send.close()
            procs.append(p)
            conns.append(recv)
        errors: dict[int, str] = {}
        while len(results) + len(errors) < len(tasks):
            live = [i for i in range(len(tasks)) if i not in results and i not in errors]
            wait([conns[i] for i in live] + [procs[i].sentinel for i in live], 0.2)
            for i in live:
                if not (conns[i].poll() or procs[i].exitcode is not None):
                    continue
                try:
                    msg = conns[i].recv()
                except EOFError:
                    errors[i] = (
                        f"lockstep worker {i} (pid {procs[i].pid}) died "
                        f"(exit code {procs[i].exitcode})"
                    )
                    mon.abort()
                    continue
                if msg[0] == "ok":
                    results[i] = msg[1]
                else:
                    errors[i] = f"lockstep worker {i} failed: {msg[1]}\n{msg[2]}"
                    mon.abort()
            if not errors:  # after an error the others stop at their next barrier
                mon.check()
        if errors:
            raise LockstepFailedError(_root_cause(errors))
    except BaseException:
        mon.abort()
        raise
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
                p.join()
        for c in conns:
            c.close()
    return [results[i] for i in range(len(tasks))]


def _run_dask(
    backend: Backend,
    tasks: Sequence[LockstepTask],
    ctrl: NDArray[np.int64],
    n_days: int,
    progress: Callable[[int, int], None] | None,
) -> list[dict[str, Any]]:
    """Run the tasks on the LocalCluster's workers, one long task pinned to each."""
    client = backend._client  # type: ignore[attr-defined]
    addrs = sorted(client.scheduler_info(n_workers=-1)["workers"])
    if len(addrs) < len(tasks):
        raise LockstepFailedError(f"{len(addrs)} Dask workers for {len(tasks)} lockstep tasks")
    mon = _Monitor(ctrl, len(tasks), n_days, progress)
    futures = [
        client.submit(
            run_lockstep_worker,
            t,
            key=f"hashfleet-lockstep-{t.worker}-{uuid.uuid4().hex[:16]}",
            workers=[addrs[t.worker]],
            allow_other_workers=False,
            pure=False,
            retries=0,
        )
        for t in tasks
    ]
    try:
        while not all(f.done() for f in futures):
            if any(f.status in ("error", "cancelled", "lost") for f in futures):
                mon.abort()  # the others stop at their next barrier; collect why
                deadline = time.monotonic() + 30
                while not all(f.done() for f in futures) and time.monotonic() < deadline:
                    time.sleep(0.05)
                break
            try:
                mon.check()
            except LockstepFailedError as e:
                raise LockstepFailedError(_root_cause({-1: str(e)} | _errors(futures))) from None
            time.sleep(0.05)
        errors = _errors(futures)
        if errors:
            raise LockstepFailedError(_root_cause(errors))
        return list(client.gather(futures))
    except BaseException:
        mon.abort()
        client.cancel(futures)
        raise


def _errors(futures: Sequence[Any]) -> dict[int, str]:
    """Why each finished-but-failed Dask future failed."""
    out = {}
    for i, f in enumerate(futures):
        if f.done() and f.status != "finished":
            exc = f.exception() if f.status == "error" else f.status
            name = type(exc).__name__ if isinstance(exc, BaseException) else "task"
            out[i] = f"lockstep worker {i} failed: {name}: {exc}"
    return out


def _root_cause(errors: dict[int, str]) -> str:
    """The first error that is not a worker stopping because another one failed."""
    for _, msg in sorted(errors.items()):
        if "lockstep run aborted" not in msg:
            return msg
    return min(errors.items())[1]
