"""Backends: *how* block tasks run — in this process, in local processes, or on Dask.

A backend only maps :class:`~hashfleet.runner.blocks.BlockTask`\\ s to
:class:`~hashfleet.runner.blocks.BlockOutcome`\\ s; *what* is computed is fixed by the task
(its random streams are keyed by seed, stream block and purpose), so every backend gives the
same numbers.  Outcomes are handed to a callback in the driver as they complete; if the
callback raises (a failed block without ``keep_going``, Ctrl-C, a test's simulated crash),
the backend cancels what has not started and re-raises.  Blocks already finished are on
disk and are kept.

=================  ==========================================================================
``in-process``     one block after another in this process
``processes``      a :class:`concurrent.futures.ProcessPoolExecutor` of ``workers`` processes
                   (forked from a ``forkserver`` that has imported hashfleet, on POSIX;
                   ``spawn`` elsewhere)
``dask``           Dask distributed: ``scheduler="tcp://HOST:PORT"`` connects to a running
                   cluster (SLURM, Kubernetes, ...); otherwise a ``LocalCluster`` of
                   ``workers`` worker processes, one thread each, is started and closed
=================  ==========================================================================

Worker memory: Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in every worker it spawns.
Setting any glibc malloc tunable also freezes glibc's *dynamic* mmap threshold at 128 KiB, so
every NumPy temporary above 128 KiB (a 1,000-path × 32-day window is 256 KiB) becomes a fresh
``mmap`` + page faults + ``munmap``.  For the LocalCluster we start we therefore set
``MALLOC_MMAP_THRESHOLD_=16777216`` (16 MiB: arrays below it are reused from the heap) and
``MALLOC_TRIM_THRESHOLD_=67108864`` (64 MiB of free heap is kept before it is returned to the
OS, so workers still give memory back between tasks), plus one thread per worker and
``OMP/MKL/OPENBLAS_NUM_THREADS=1``.  :data:`WORKER_ENV` holds these; on a real cluster set
them the same way (see ``docs/scaling.md``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Literal

from hashfleet.errors import InputError, RunError
from hashfleet.results.store import require
from hashfleet.runner.blocks import BlockOutcome, run_block

__all__ = ["BACKENDS", "WORKER_ENV", "BackendName", "make_backend"]

BackendName = Literal["in-process", "processes", "dask"]
BACKENDS: tuple[str, ...] = ("in-process", "processes", "dask")

#: Environment of the Dask workers we start (see the module docstring).
WORKER_ENV: dict[str, str] = {
    "MALLOC_TRIM_THRESHOLD_": str(64 * 2**20),
    "MALLOC_MMAP_THRESHOLD_": str(16 * 2**20),
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}


def make_backend(
    backend: str, *, workers: int | None = None, scheduler: str | None = None
) -> Backend:
    """The backend called ``backend``.

    Parameters
    ----------
    backend : {"in-process", "processes", "dask"}
    workers : int, optional
        Worker processes (``processes``: default the CPU count; ``dask`` without a
        scheduler: default 2).
    scheduler : str, optional
        Address of a running Dask scheduler (``dask`` only).
    """
    if backend not in BACKENDS:
        raise InputError(f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    if workers is not None and workers < 1:
        raise InputError(f"workers: expected a positive number of workers, got {workers}")
    if scheduler is not None and backend != "dask":
        raise InputError(f"scheduler: only the dask backend uses a scheduler, got {backend!r}")
    if scheduler is not None and workers is not None:
        raise InputError("workers: give either a Dask scheduler address or a worker count")
    if backend == "in-process":
        if workers is not None:
            raise InputError(
                f"workers: apply to the processes and dask backends, got {workers} workers "
                "with the in-process backend"
            )
        return SerialBackend()
    if backend == "processes":
        return ProcessBackend(workers or os.cpu_count() or 1)
    return DaskBackend(workers=workers, scheduler=scheduler)


class Backend:
    """Runs tasks; see the module docstring.

    Use as a context manager (``with backend: ...``) to keep workers (a Dask cluster) up
    across several :meth:`run` calls — the block tasks, then the reduction.
    """

    name: str = ""
    workers: int = 1

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release workers started for the run."""

    def run(
        self,
        tasks: Sequence[Any],
        on_outcome: Callable[[Any], None],
        fn: Callable[[Any], Any] = run_block,
    ) -> None:
        """Run ``fn(task)`` for every task; call ``on_outcome`` here as each one finishes.

        ``fn`` must be a module-level function (it is pickled to the workers).  With the
        default :func:`~hashfleet.runner.blocks.run_block`, a task lost with its worker
        comes back as a failed :class:`BlockOutcome`; for other functions an exception in
        a task is raised here as :class:`~hashfleet.errors.RunError`.
        """
        raise NotImplementedError


class SerialBackend(Backend):
    """One task after another, in this process."""

    name = "in-process"

    def run(
        self,
        tasks: Sequence[Any],
        on_outcome: Callable[[Any], None],
        fn: Callable[[Any], Any] = run_block,
    ) -> None:
        for task in tasks:
            on_outcome(fn(task))


class ProcessBackend(Backend):
    """A pool of local worker processes (one pool per :meth:`run`)."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(
        self,
        tasks: Sequence[Any],
        on_outcome: Callable[[Any], None],
        fn: Callable[[Any], Any] = run_block,
    ) -> None:
        if not tasks:
            return
        import multiprocessing as mp
        from concurrent.futures.process import BrokenProcessPool

        if sys.platform == "win32":
            ctx = mp.get_context("spawn")
        else:
            # The fork server imports hashfleet once; each worker is forked from it ready to
            # run (fork from this process is unsafe: Zarr and Dask run threads here).
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(["hashfleet.runner.blocks"])
        from hashfleet.history.licence import non_commercial_allowed

        # the fork server keeps the environment of when it started: hand the workers the
        # caller's data-licence opt-in now, not whatever the server inherited
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(tasks)),
            mp_context=ctx,
            initializer=_set_licence,
            initargs=(non_commercial_allowed(),),
        )
        try:
            pending: set[Future[Any]] = {pool.submit(fn, t) for t in tasks}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    try:
                        outcome = f.result()
                    except BrokenProcessPool as e:
                        raise RunError(
                            f"a worker process died ({e}); finished blocks are kept, "
                            "run again with resume to compute the rest"
                        ) from None
                    on_outcome(outcome)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


class DaskBackend(Backend):
    """Dask distributed: a running scheduler, or a LocalCluster started for the run."""

    name = "dask"

    def __init__(self, *, workers: int | None = None, scheduler: str | None = None) -> None:
        self.scheduler = scheduler
        self.workers = workers or 2
        self._client: Any = None
        self._cluster: Any = None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def prepare_local(self) -> None:
        """Connect (starting the LocalCluster if there is no scheduler) and count workers.

        Used by the local lockstep run (:mod:`hashfleet.runner.lockstep`), which pins one
        task to each worker.
        """
        require("dask")
        distributed = require("distributed")
        if self._client is None:
            self._client, self._cluster = self._connect(distributed)
        if self.scheduler is None:
            self._client.wait_for_workers(self.workers, timeout=120)
        else:
            info = self._client.scheduler_info(n_workers=-1)
            self.workers = max(1, len(info["workers"]))

    def run(
        self,
        tasks: Sequence[Any],
        on_outcome: Callable[[Any], None],
        fn: Callable[[Any], Any] = run_block,
    ) -> None:
        if not tasks:
            return
        require("dask")
        distributed = require("distributed")
        if self._client is None:
            self._client, self._cluster = self._connect(distributed)
        client = self._client
        futures: list[Any] = []
        try:
            if self.scheduler is not None:
                self.workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
            name = getattr(fn, "__name__", "task")
            futures = [
                client.submit(fn, t, key=f"hashfleet-{name}-{os.urandom(8).hex()}", pure=False)
                for t in tasks
            ]
            by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
            for f in distributed.as_completed(futures):
                if f.status == "error":
                    exc = f.exception()
                    tb = "".join(_format_tb(f.traceback()))
                    if fn is not run_block:
                        raise RunError(f"{name} failed: {type(exc).__name__}: {exc}\n{tb}")
                    outcome = BlockOutcome(
                        by_key[f.key], False, error=f"{type(exc).__name__}: {exc}", traceback=tb
                    )
                else:
                    outcome = f.result()
                on_outcome(outcome)
        finally:
            if futures:
                client.cancel(futures)

    def _connect(self, distributed: Any) -> tuple[Any, Any]:
        if self.scheduler is not None:
            try:
                return distributed.Client(self.scheduler, timeout="30s"), None
            except OSError as e:
                raise RunError(
                    f"scheduler: could not connect to the Dask scheduler at {self.scheduler}: {e}"
                ) from None
        import dask

        settings = {
            "distributed.nanny.pre-spawn-environ": dict(WORKER_ENV),
            # the statistical profiler samples the task thread every 10 ms (~1% of a core)
            "distributed.worker.profile.enabled": False,
        }
        with dask.config.set(settings):
            cluster = distributed.LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: 8787 may be taken by another cluster
            )
        return distributed.Client(cluster), cluster


def _format_tb(tb: Any) -> list[str]:
    import traceback

    return traceback.format_tb(tb) if tb is not None else []


def _set_licence(allowed: bool) -> None:
    """Worker initialiser: the parent's non-commercial data opt-in (see history.licence)."""
    from hashfleet.history.licence import allow_non_commercial_data

    allow_non_commercial_data(allowed)
