"""Shared memory of a local lockstep run: the segment layout, barriers, attach and close."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.errors import RunError
from hashfleet.processes import WINDOW_DAYS

if TYPE_CHECKING:
    pass


#: A worker waiting at a barrier longer than this (s) for a live peer gives up.
BARRIER_TIMEOUT_S = 600.0


#: The driver gives up if a worker has not started its task after this long (s).
START_TIMEOUT_S = 120.0


#: Number of window buffers (two: simulate window w + 1 while window w is reduced).
N_WINDOW_BUFFERS = 2


#: Polling interval of the barrier (s).
_POLL_S = 0.0002


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
