"""Starting and watching the workers of a local lockstep run (local processes or Dask)."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.processes import WINDOW_DAYS

if TYPE_CHECKING:
    from hashfleet.runner.backends import Backend
from hashfleet.runner.lockstep_worker import (
    LockstepTask,
    _process_main,
    run_lockstep_worker,
)
from hashfleet.runner.shm import (
    START_TIMEOUT_S,
    LockstepFailedError,
    _alive,
    _attach,
    _close,
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
