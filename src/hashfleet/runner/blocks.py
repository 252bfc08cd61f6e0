"""Blocks of paths: the unit of work of the parallel backends.

A **block** is a run of whole stream blocks (``block_paths`` paths, a multiple of 250)
simulated to the horizon by its own :class:`~hashfleet.engine.core.ChunkEngine`.  Its random
streams are keyed by (root seed, stream block, purpose) — never by worker or task — so a
block's paths are the same numbers whichever backend, worker or block size computes them.

A block task (:func:`run_block`):

1. appends ``start <block> <pid>`` to ``attempts.log`` in the run directory (an audit of
   what was computed, and how often);
2. simulates its paths, writing the daily values window by window into the run's Zarr store
   (:class:`~hashfleet.results.store.PathStore`);
3. writes its per-path totals, last-day values and event log to ``block-<first>-<n>.npz``
   **atomically** (temporary name, then rename).  A block is finished iff that file exists,
   which is what ``resume`` checks; a block interrupted before the rename is simply
   recomputed (its chunks of the store are overwritten with the same values).

Exceptions are caught and returned with the traceback (:class:`BlockOutcome`), so every
backend reports a failed block the same way.  For tests of fault handling, the environment
variable ``HASHFLEET_INJECT_FAILURE`` (comma-separated ``block`` or ``scenario_id/block``
indices, where ``block`` is the task's first stream block) makes those tasks raise.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.engine.core import ChunkEngine
from hashfleet.engine.streams import STREAM_BLOCK_PATHS
from hashfleet.model import compile_scenario
from hashfleet.results import write_atomic
from hashfleet.results.store import PathStore
from hashfleet.scenario.schema import Scenario

__all__ = [
    "FAULT_ENV",
    "BlockOutcome",
    "BlockTask",
    "block_file",
    "load_block",
    "run_block",
]

#: Environment variable naming blocks that must fail (fault-injection for tests).
FAULT_ENV = "HASHFLEET_INJECT_FAILURE"


@dataclass(frozen=True)
class BlockTask:
    """One block of one scenario.

    Attributes
    ----------
    scenario_id : str
        The run's id (the scenario name, or the sweep's scenario id).
    scenario : Scenario
        The validated scenario (``run.paths`` and ``run.seed`` already final).
    first_block, n_blocks : int
        Stream blocks ``first_block .. first_block + n_blocks - 1``.
    run_dir : str
        Directory of the run's ``store.zarr``, block files and ``attempts.log``; must be
        visible to every worker (a shared file system on a cluster).
    """

    scenario_id: str
    scenario: Scenario
    first_block: int
    n_blocks: int
    run_dir: str

    @property
    def label(self) -> str:
        """``"<scenario_id> block <first> (paths a-b)"`` for messages."""
        a = self.first_block * STREAM_BLOCK_PATHS
        b = a + self.n_blocks * STREAM_BLOCK_PATHS - 1
        return f"{self.scenario_id} block {self.first_block} (paths {a}-{b})"


@dataclass
class BlockOutcome:
    """What a block task returns: success, or the error and its traceback."""

    task: BlockTask
    ok: bool
    wall_time_s: float = 0.0
    pid: int = 0
    error: str = ""
    traceback: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def block_file(run_dir: Path, first_block: int, n_blocks: int) -> Path:
    """The file that marks a block as finished and holds its per-path results."""
    return run_dir / f"block-{first_block:07d}-{n_blocks:05d}.npz"


def run_block(task: BlockTask) -> BlockOutcome:
    """Simulate one block and write it to the run directory; never raises.

    Parameters
    ----------
    task : BlockTask

    Returns
    -------
    BlockOutcome
        ``ok`` False with the error message and traceback if the block failed.
    """
    from hashfleet.runner.threads import single_threaded_blas

    t0 = time.perf_counter()
    try:
        with single_threaded_blas():
            _simulate_block(task)
    except Exception as e:
        return BlockOutcome(
            task,
            False,
            time.perf_counter() - t0,
            os.getpid(),
            f"{type(e).__name__}: {e}",
            traceback.format_exc(),
        )
    return BlockOutcome(task, True, time.perf_counter() - t0, os.getpid())


def load_block(path: Path) -> dict[str, NDArray[Any]]:
    """A finished block's arrays: ``total_<v>``, ``last_<v>`` and ``<kind>__<column>``."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _injected(task: BlockTask) -> bool:
    spec = os.environ.get(FAULT_ENV, "")
    wanted = {s.strip() for s in spec.split(",") if s.strip()}
    return str(task.first_block) in wanted or f"{task.scenario_id}/{task.first_block}" in wanted


def _simulate_block(task: BlockTask) -> None:
    run_dir = Path(task.run_dir)
    with open(run_dir / "attempts.log", "a", encoding="utf-8") as log:
        log.write(f"start {task.first_block} {task.n_blocks} {os.getpid()}\n")
    if _injected(task):
        raise RuntimeError(f"failure injected by {FAULT_ENV} into {task.label}")
    sc = task.scenario
    model = compile_scenario(sc)
    store = PathStore.open(run_dir / "store.zarr", writable=True)
    sink = _BlockSink(store, task.first_block * STREAM_BLOCK_PATHS, model.n_days)
    engine = ChunkEngine(
        model,
        sc.run.seed,
        task.first_block,
        task.n_blocks,
        sink,
        record_events=sc.run.outputs.event_log,
    )
    if list(engine.variables) != list(store.variables):
        raise RuntimeError(
            f"this worker's engine records {list(engine.variables)}, the run's store "
            f"{list(store.variables)}: do all workers run the client's hashfleet version?"
        )
    sink.start(store.variables, engine.totalled, engine.n_paths)
    engine.run_until(model.n_days)
    arrays: dict[str, NDArray[Any]] = {f"total_{k}": v for k, v in sink.totals.items()}
    arrays |= {f"last_{k}": v for k, v in sink.last.items()}
    for kind, cols in engine.event_columns(release=True).items():
        for col, values in cols.items():
            arrays[f"{kind}__{col}"] = values
    target = block_file(run_dir, task.first_block, task.n_blocks)
    with write_atomic(target) as tmp, open(tmp, "wb") as fh:
        savez: Any = np.savez  # its stubs type ** as allow_pickle
        savez(fh, **arrays)


class _BlockSink:
    """Receives a block's daily values; writes them to the store one day-chunk at a time.

    The store's chunks hold ``chunk_days`` days (whole windows), so each write fills whole
    chunks (no read-modify-write) and there are few, large writes: each costs ~1 ms.
    """

    def __init__(self, store: PathStore, offset: int, n_days: int) -> None:
        self.store = store
        self.offset = offset
        self.n_days = n_days
        self.span = store.chunk_days
        self.buf: dict[str, NDArray[np.float64]] = {}
        self.totals: dict[str, NDArray[np.float64]] = {}
        self.last: dict[str, NDArray[np.float64]] = {}

    def start(self, variables: tuple[str, ...], totalled: list[str], n_paths: int) -> None:
        # day-major (span, n_paths): each day's values are one contiguous row
        self.buf = {v: np.zeros((self.span, n_paths)) for v in variables}
        self.totals = {v: np.zeros(n_paths) for v in totalled if v in self.buf}

    def __call__(self, day: int, offset: int, values: dict[str, NDArray[np.float64]]) -> None:
        col = day % self.span
        for name, arr in values.items():
            self.buf[name][col] = arr
            if name in self.totals:
                self.totals[name] += arr
        if col == self.span - 1 or day == self.n_days - 1:
            first = day - col
            for name, b in self.buf.items():
                self.store.write(name, self.offset, first, np.ascontiguousarray(b[: col + 1].T))
            if day == self.n_days - 1:
                self.last = {name: b[col].copy() for name, b in self.buf.items()}
