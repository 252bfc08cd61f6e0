"""The block pipeline: plan a run into blocks, run them on a backend, assemble the results.

A **job** is one scenario run in a run directory::

    <run_dir>/manifest.json        what the blocks are for (resume must match it)
    <run_dir>/store.zarr/          every path's daily values, (path, day) per variable
    <run_dir>/block-*.npz          one per finished block: per-path totals, last day, events
    <run_dir>/attempts.log         one line per block task started

:func:`run_jobs` runs the blocks of several jobs (a sweep) on one backend together, then
:func:`assemble` turns each job's directory into the same :class:`~hashfleet.results.Results`
an in-process run gives — identical numbers, because the daily statistics are reduced from the
store with the recorder's own NumPy calls (:meth:`PathStore.daily_statistics`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.engine.core import ChunkEngine
from hashfleet.engine.streams import STREAM_BLOCK_PATHS
from hashfleet.errors import InputError, RunError
from hashfleet.model import compile_scenario
from hashfleet.results import Results, write_atomic
from hashfleet.results.store import PathStore, daily_statistics_task, reduce_span
from hashfleet.runner.assemble import assemble_results, merge_all_events
from hashfleet.runner.backends import Backend
from hashfleet.runner.blocks import BlockOutcome, BlockTask, block_file, load_block
from hashfleet.runner.metadata import run_metadata
from hashfleet.runner.plan import Mode
from hashfleet.scenario.schema import Scenario
from hashfleet.version import __version__

__all__ = ["DEFAULT_BLOCK_PATHS", "BlocksFailedError", "Job", "plan_job", "run_jobs"]

#: Paths per block task unless the user says otherwise.
DEFAULT_BLOCK_PATHS = 1000
#: Stores larger than this (bytes) are reduced by day ranges on the backend's workers.
DISTRIBUTE_REDUCE_BYTES = 256 * 2**20

OnBlock = Callable[[BlockOutcome], None]


class BlocksFailedError(RunError):
    """Blocks of a run failed; ``failures`` holds their outcomes (with tracebacks)."""

    def __init__(self, failures: Sequence[BlockOutcome], *, total: int) -> None:
        self.failures = list(failures)
        lines = [f"{len(self.failures)} of {total} blocks failed:"]
        for o in self.failures:
            lines.append(f"- {o.task.label}: {o.error}")
            lines.extend("    " + ln for ln in o.traceback.rstrip().splitlines())
        lines.append("finished blocks are kept; fix the cause and run again with resume")
        super().__init__("\n".join(lines))


@dataclass
class Job:
    """One scenario's run directory and its block plan.

    Attributes
    ----------
    scenario_id : str
    scenario : Scenario
        ``run.paths`` and ``run.seed`` final.
    run_dir : pathlib.Path
    block_paths : int
        Paths per block task (a multiple of 250).
    n_days : int
    variables : dict
        Daily variables: name -> (unit, description), in recording order.
    totalled : list of str
        Variables whose per-path total is kept.
    blocks : list of (first_block, n_blocks)
        Every block of the run, in path order.
    chain_source : str
        Where the starting chain state comes from.
    todo : list of BlockTask
        The blocks not finished yet.
    """

    scenario_id: str
    scenario: Scenario
    run_dir: Path
    block_paths: int
    n_days: int
    variables: dict[str, tuple[str, str]]
    totalled: list[str]
    blocks: list[tuple[int, int]]
    chain_source: str = ""
    todo: list[BlockTask] = field(default_factory=list)

    @property
    def n_paths(self) -> int:
        """Paths kept."""
        return self.scenario.run.paths


def plan_job(
    scenario_id: str,
    scenario: Scenario,
    run_dir: Path,
    *,
    block_paths: int | None = None,
    resume: bool = False,
) -> Job:
    """Prepare ``run_dir`` for a run and list the blocks still to compute.

    Without ``resume`` the directory is started afresh (an earlier run's blocks are
    deleted).  With ``resume``, finished blocks of an earlier run of the *same* scenario,
    seed, paths and block size are kept and skipped.

    Raises
    ------
    InputError
        ``block_paths`` not a positive multiple of 250; ``run_dir`` not a hashfleet run
        directory; ``resume`` of a directory written for a different run.
    """
    from hashfleet.scenario import scenario_hash

    B = STREAM_BLOCK_PATHS
    bp = DEFAULT_BLOCK_PATHS if block_paths is None else block_paths
    if bp <= 0 or bp % B:
        raise InputError(f"block_paths: expected a positive multiple of {B}, got {bp}")
    run = scenario.run
    n_blocks = math.ceil(run.paths / B)
    per = bp // B
    model = compile_scenario(scenario)
    probe = ChunkEngine(model, run.seed, 0, 1, lambda *a: None, record_events=False)
    variables = dict(probe.variables)
    totalled = [v for v in probe.totalled if v in variables]
    manifest = {
        "hashfleet_version": __version__,
        "scenario_id": scenario_id,
        "scenario_hash": scenario_hash(scenario),
        "seed": run.seed,
        "paths": run.paths,
        "horizon_days": model.n_days,
        "block_paths": bp,
        "stream_block_paths": B,
        "variables": list(variables),
    }
    blocks = [(f, min(per, n_blocks - f)) for f in range(0, n_blocks, per)]
    job = Job(
        scenario_id,
        scenario,
        run_dir,
        bp,
        model.n_days,
        variables,
        totalled,
        blocks,
        model.chain.source,
    )
    mpath = run_dir / "manifest.json"
    if resume and mpath.exists():
        old = json.loads(mpath.read_text(encoding="utf-8"))
        diff = [k for k in manifest if k != "hashfleet_version" and old.get(k) != manifest[k]]
        if diff:
            shown = ", ".join(f"{k}: {old.get(k)!r} now {manifest[k]!r}" for k in diff)
            raise InputError(
                f"resume: {run_dir} holds blocks of a different run ({shown}); "
                "run without resume to start again, or use another output directory"
            )
    else:
        _fresh_dir(run_dir)
        PathStore.create(
            run_dir / "store.zarr",
            list(variables),
            n_blocks * B,
            model.n_days,
            bp,
            attrs={k: v for k, v in manifest.items() if k != "variables"},
        )
        with write_atomic(mpath) as tmp:
            tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    job.todo = [
        BlockTask(scenario_id, scenario, f, n, str(run_dir))
        for f, n in blocks
        if not block_file(run_dir, f, n).exists()
    ]
    return job


def run_jobs(
    jobs: Sequence[Job],
    backend: Backend,
    *,
    keep_going: bool = False,
    on_block: OnBlock | None = None,
) -> list[BlockOutcome]:
    """Run the unfinished blocks of every job on ``backend``.

    Parameters
    ----------
    jobs : sequence of Job
    backend : Backend
    keep_going : bool
        On a failed block, still run the others (and return the failures); otherwise stop
        at the first failure and raise :class:`BlocksFailedError`.
    on_block : callable ``(outcome) -> None``, optional
        Called in this process after each block task finishes (successful or not).

    Returns
    -------
    list of BlockOutcome
        The failed blocks (empty if all succeeded).
    """
    tasks = [t for j in jobs for t in j.todo]
    failures: list[BlockOutcome] = []

    def handle(outcome: BlockOutcome) -> None:
        if on_block is not None:
            on_block(outcome)
        if not outcome.ok:
            failures.append(outcome)
            if not keep_going:
                raise BlocksFailedError(failures, total=len(tasks))

    backend.run(tasks, handle)
    return failures


def assemble(job: Job, meta: dict[str, Any], backend: Backend | None = None) -> Any:
    """The :class:`~hashfleet.results.Results` of a job whose blocks are all finished.

    The daily statistics are reduced from the store by day ranges; for a large store
    (over :data:`DISTRIBUTE_REDUCE_BYTES`) the ranges are tasks on ``backend``.
    """
    from hashfleet.scenario import dump_resolved

    missing = [(f, n) for f, n in job.blocks if not block_file(job.run_dir, f, n).exists()]
    if missing:
        raise RunError(f"{job.scenario_id}: blocks {[f for f, _ in missing]} are not finished")
    t0 = time.perf_counter()
    sc = job.scenario
    n = job.n_paths
    parts = [load_block(block_file(job.run_dir, f, nb)) for f, nb in job.blocks]
    store = PathStore.open(job.run_dir / "store.zarr")
    mean, quant = _daily_statistics(job, store, backend)
    stats = _Stats(
        variables=tuple(job.variables),
        n_paths=n,
        quantiles=np.asarray(sc.run.outputs.quantiles, dtype=float),
        mean=mean,
        quantile=quant,
        paths=store.paths_array(n) if sc.run.outputs.store_paths else None,
        totals={v: np.concatenate([p[f"total_{v}"] for p in parts]) for v in job.totalled},
        last={v: np.concatenate([p[f"last_{v}"] for p in parts])[:n] for v in job.variables},
    )
    by_kind: list[dict[str, dict[str, NDArray[Any]]]] = []
    for p in parts:
        kinds: dict[str, dict[str, NDArray[Any]]] = {}
        for key in p:
            if "__" in key and not key.startswith(("total_", "last_")):
                kind, col = key.split("__", 1)
                kinds.setdefault(kind, {})[col] = p[key]
        by_kind.append(kinds)
    events = merge_all_events(by_kind, n)
    meta = meta | {"reduce_time_s": round(time.perf_counter() - t0, 3)}
    return assemble_results(
        sc,
        job.n_days,
        stats,
        events["retargets"],
        events["halvings"],
        job.variables,
        meta,
        dump_resolved(sc),
        events,
    )


def _daily_statistics(
    job: Job, store: PathStore, backend: Backend | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Daily mean and quantiles of a job's store, by day ranges on ``backend`` if large."""
    from hashfleet.runner.backends import SerialBackend

    n, n_days = job.n_paths, job.n_days
    quantiles = tuple(job.scenario.run.outputs.quantiles)
    size = 8 * n * n_days * len(store.variables)
    if backend is None or isinstance(backend, SerialBackend) or size < DISTRIBUTE_REDUCE_BYTES:
        return store.daily_statistics(n, quantiles)
    C = store.chunk_days  # ranges of whole chunks, about two per worker
    n_chunks = math.ceil(n_days / C)
    per = max(1, min(reduce_span(n, C) // C, math.ceil(n_chunks / (2 * backend.workers))))
    ranges = [(d, min(d + per * C, n_days)) for d in range(0, n_days, per * C)]
    mean = np.zeros((len(store.variables), n_days))
    quant = np.zeros((len(store.variables), len(quantiles), n_days))

    def take(result: tuple[int, NDArray[np.float64], NDArray[np.float64]]) -> None:
        first, m, q = result
        mean[:, first : first + m.shape[1]] = m
        quant[:, :, first : first + m.shape[1]] = q

    tasks = [(str(store.path), n, quantiles, a, b) for a, b in ranges]
    backend.run(tasks, take, fn=daily_statistics_task)
    return mean, quant


@dataclass
class _Stats:
    """What :func:`hashfleet.runner._assemble` reads from a recorder."""

    variables: tuple[str, ...]
    n_paths: int
    quantiles: NDArray[np.float64]
    mean: NDArray[np.float64]
    quantile: NDArray[np.float64]
    paths: NDArray[np.float64] | None
    totals: dict[str, NDArray[np.float64]]
    last: dict[str, NDArray[np.float64]]


def _fresh_dir(run_dir: Path) -> None:
    if run_dir.exists() and any(run_dir.iterdir()):
        ours = {"manifest.json", "store.zarr", "attempts.log"}
        if not any(p.name in ours for p in run_dir.iterdir()):
            raise InputError(
                f"{run_dir}: expected an empty directory or a hashfleet run directory "
                "(with manifest.json), got a directory with other files"
            )
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)


def simulate_blocks(
    scenario: Scenario,
    *,
    backend: str,
    workers: int | None,
    scheduler: str | None,
    block_paths: int | None,
    run_dir: str | Path | None,
    resume: bool,
    keep_going: bool,
    on_block: Callable[[BlockOutcome], None] | None,
    be: Backend | None = None,
) -> Results:
    """Run a scenario as block tasks on a backend (see :mod:`hashfleet.runner.jobs`).

    ``be``: an existing backend to run on (its workers are reused; it is closed on return).
    """
    import tempfile

    from hashfleet.runner.backends import make_backend

    if be is None:
        be = make_backend(backend, workers=workers, scheduler=scheduler)
    if resume and run_dir is None:
        raise InputError("resume: give the run directory (run_dir) of the interrupted run")
    with tempfile.TemporaryDirectory(prefix="hashfleet-") as tmp:
        folder = Path(run_dir) if run_dir is not None else Path(tmp)
        t0 = time.perf_counter()
        job = plan_job(scenario.name, scenario, folder, block_paths=block_paths, resume=resume)
        n_todo = len(job.todo)
        with be:
            failures = run_jobs([job], be, keep_going=keep_going, on_block=on_block)
            if failures:
                raise BlocksFailedError(failures, total=n_todo)
            meta = run_metadata(
                scenario,
                backend=be.name,
                mode=Mode.BLOCKS,
                horizon_days=job.n_days,
                workers=be.workers,
                block_paths=job.block_paths,
                blocks=len(job.blocks),
                blocks_computed=n_todo,
                stream_block_paths=STREAM_BLOCK_PATHS,
                chain_start_source=job.chain_source,
            )
            res = assemble(job, meta, be)
        res.metadata["wall_time_s"] = round(time.perf_counter() - t0, 3)
        res.metadata["created_utc"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        res.summary["metadata"] = res.metadata
        return res
