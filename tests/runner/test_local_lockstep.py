"""Local lockstep: the lockstep run split across local workers through shared memory.

Every array must be *identical* to the in-process run (daily mean and quantiles, per-path
totals and last values, stored paths, events), for 2 local processes, a LocalCluster that
hashfleet starts, a running local scheduler, path counts that are not a multiple of 250 × W,
and when a worker fails or dies (the run falls back to block tasks).
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from runner_helpers import assert_identical, make_scenario

from hashfleet.engine.recorder import Recorder, RecorderArrays
from hashfleet.processes import WINDOW_DAYS
from hashfleet.results import Results
from hashfleet.runner import simulate
from hashfleet.runner.blocks import FAULT_ENV
from hashfleet.runner.lockstep import LockstepFallbackWarning
from hashfleet.runner.shm import _partition

SHM = Path("/dev/shm")


@pytest.fixture(scope="module")
def reference() -> Results:
    """The in-process lockstep run of the shared scenario (700 paths: 3 stream blocks)."""
    return simulate(make_scenario())


def _segments() -> set[str]:
    return {p.name for p in SHM.glob("hf-*")} if SHM.is_dir() else set()


@pytest.fixture
def no_leaked_segments() -> Iterator[None]:
    """The run leaves no shared-memory segment behind (Linux: /dev/shm)."""
    before = _segments()
    yield
    assert _segments() - before == set()


@pytest.mark.usefixtures("no_leaked_segments")
def test_two_processes_give_identical_results(reference: Results) -> None:
    """700 paths (3 blocks: 500 + 250 paths per worker, the last block partly dropped)."""
    res = simulate(make_scenario(), backend="processes", workers=2)
    meta = res.metadata
    assert meta["mode"] == "local-lockstep" and meta["workers"] == 2
    assert meta["worker_paths"] == [500, 250]
    assert_identical(reference, res)


@pytest.mark.usefixtures("no_leaked_segments")
def test_more_workers_than_blocks_and_no_stored_paths() -> None:
    """3 workers asked for 2 stream blocks (260 paths): 2 run; without stored paths."""
    sc = make_scenario(paths=260, horizon_days=40, outputs={"store_paths": False})
    res = simulate(sc, backend="processes", workers=3)
    assert res.metadata["workers"] == 2 and res.paths is None
    assert_identical(simulate(sc), res)


def test_without_an_event_log() -> None:
    sc = make_scenario(paths=500, horizon_days=33, outputs={"event_log": False})
    res = simulate(sc, backend="processes", workers=2)
    assert res.metadata["mode"] == "local-lockstep" and len(res.retargets) == 0
    assert_identical(simulate(sc), res)


def test_one_worker_and_progress_each_day() -> None:
    sc = make_scenario(paths=250, horizon_days=35)
    days: list[int] = []
    res = simulate(sc, backend="processes", workers=1, progress=lambda d, n: days.append(d))
    assert res.metadata["mode"] == "local-lockstep" and res.metadata["workers"] == 1
    assert days == list(range(1, 36))
    assert_identical(simulate(sc), res)


@pytest.mark.usefixtures("no_leaked_segments")
def test_a_failing_worker_falls_back_to_blocks(
    reference: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker 1 raises after its first window: the peers stop, the run reruns as blocks."""
    monkeypatch.setenv(FAULT_ENV, "lockstep/1")
    with pytest.warns(LockstepFallbackWarning, match="lockstep worker 1 failed"):
        res = simulate(make_scenario(), backend="processes", workers=2)
    assert res.metadata["mode"] == "blocks"
    assert "injected" in res.metadata["lockstep_fallback"]
    assert_identical(reference, res)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
@pytest.mark.usefixtures("no_leaked_segments")
def test_a_killed_process_falls_back_to_blocks(
    reference: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker 0 is SIGKILLed after its first window: detected, rerun as blocks."""
    monkeypatch.setenv(FAULT_ENV, "lockstep-kill/0")
    with pytest.warns(LockstepFallbackWarning, match="died"):
        res = simulate(make_scenario(), backend="processes", workers=2)
    assert res.metadata["mode"] == "blocks"
    assert_identical(reference, res)


@pytest.mark.usefixtures("no_leaked_segments")
def test_an_interrupted_run_stops_its_workers_and_frees_the_segment() -> None:
    """An exception in the driver (here from the progress callback, as Ctrl-C would come)
    aborts the workers, joins them and unlinks the segment; no fallback."""
    import multiprocessing

    def stop(day: int, n_days: int) -> None:
        if day == 40:
            raise RuntimeError("stopped by the user")

    with pytest.raises(RuntimeError, match="stopped by the user"):
        simulate(make_scenario(horizon_days=200), backend="processes", workers=2, progress=stop)
    assert multiprocessing.active_children() == []


def test_reducing_variables_in_slices_is_identical_to_all_at_once() -> None:
    """The recorder's window reduction split by variable gives the same numbers, including
    a strided view over fewer paths than simulated, constant rows and NaNs."""
    rng = np.random.default_rng(3)
    nv, n_sim, n_keep, n_days = 5, 1000, 937, WINDOW_DAYS + 7
    values = rng.lognormal(size=(n_days, nv, n_sim))
    values[:, 1] = 2.5  # constant
    values[3, 2, 17] = np.nan
    q = (0.05, 0.25, 0.5, 0.75, 0.95)

    def run(split: bool) -> Recorder:
        windows = np.zeros((2, nv, WINDOW_DAYS, n_sim))
        arrays = RecorderArrays(
            windows,
            np.zeros((nv, n_days)),
            np.zeros((nv, len(q), n_days)),
            np.zeros((nv, n_keep, n_days)),
            np.zeros((1, n_sim)),
        )
        rec = Recorder(
            [f"v{i}" for i in range(nv)], n_keep, n_sim, n_days, q, True, ["v0"], arrays=arrays
        )
        for d in range(n_days):
            rec.record(d, 0, {f"v{i}": values[d, i] for i in range(nv)})
            if (d + 1) % WINDOW_DAYS == 0 or d == n_days - 1:
                if split:
                    for v in range(nv):
                        rec.reduce_window(d, slice(v, v + 1))
                else:
                    rec.end_day(d)
        return rec

    ref = Recorder([f"v{i}" for i in range(nv)], n_keep, n_sim, n_days, q, True, ["v0"])
    for d in range(n_days):
        ref.record(d, 0, {f"v{i}": values[d, i] for i in range(nv)})
        ref.end_day(d)
    for rec in (run(True), run(False)):
        assert np.array_equal(rec.mean, ref.mean, equal_nan=True)
        assert np.array_equal(rec.quantile, ref.quantile, equal_nan=True)
        assert rec.paths is not None and ref.paths is not None
        assert np.array_equal(rec.paths, ref.paths, equal_nan=True)
        assert np.array_equal(rec.totals["v0"], ref.totals["v0"], equal_nan=True)


def test_partition_is_contiguous_and_balanced() -> None:
    assert _partition(np.zeros(6), 2) == [slice(0, 3), slice(3, 6)]
    assert _partition(np.array([5.0, 1, 1, 1, 1, 1]), 2) == [slice(0, 1), slice(1, 6)]
    parts = _partition(np.ones(7), 3)
    assert parts[0].start == 0 and parts[-1].stop == 7
    assert all(a.stop == b.start for a, b in itertools.pairwise(parts))


# --------------------------------------------------------------------------- Dask

# the Dask tests need the optional extra; the ones above do not
needs_dask = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None, reason="needs hashfleet[dask]"
)


@needs_dask
@pytest.mark.usefixtures("no_leaked_segments")
def test_a_local_cluster_started_for_the_run_gives_identical_results(
    reference: Results,
) -> None:
    res = simulate(make_scenario(), backend="dask", workers=2)
    meta = res.metadata
    assert meta["backend"] == "dask" and meta["mode"] == "local-lockstep"
    assert meta["workers"] == 2
    assert_identical(reference, res)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    import dask

    from hashfleet.runner.backends import WORKER_ENV

    with dask.config.set({"distributed.nanny.pre-spawn-environ": dict(WORKER_ENV)}):
        lc = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    try:
        yield lc
    finally:
        lc.close()


@needs_dask
@pytest.mark.usefixtures("no_leaked_segments")
def test_a_running_local_scheduler_runs_in_lockstep(cluster: Any, reference: Results) -> None:
    """Workers of a given scheduler that share this machine's memory run in lockstep."""
    res = simulate(make_scenario(), backend="dask", scheduler=cluster.scheduler_address)
    assert res.metadata["mode"] == "local-lockstep" and res.metadata["workers"] == 2
    assert_identical(reference, res)


@needs_dask
@pytest.mark.usefixtures("no_leaked_segments")
def test_workers_elsewhere_keep_the_block_path(
    cluster: Any, reference: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers that cannot attach to our segments (another machine) run block tasks."""
    from hashfleet.runner import lockstep_pool

    def nowhere(name: str, token: int) -> bool:
        return False

    monkeypatch.setattr(lockstep_pool, "_probe_segment", nowhere)
    res = simulate(make_scenario(), backend="dask", scheduler=cluster.scheduler_address)
    assert res.metadata["mode"] == "blocks"
    assert "not on this machine" in res.metadata["lockstep_skipped"]
    assert_identical(reference, res)


@needs_dask
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
@pytest.mark.usefixtures("no_leaked_segments")
@pytest.mark.filterwarnings("ignore::ResourceWarning")  # a socket Dask leaves to the dead worker
def test_a_killed_dask_worker_falls_back_to_blocks(
    reference: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Dask worker SIGKILLed mid-run (after its first window): the run is redone as block
    tasks on the restarted cluster, with identical results."""
    monkeypatch.setenv(FAULT_ENV, "lockstep-kill/1")
    with pytest.warns(LockstepFallbackWarning, match="died"):
        res = simulate(make_scenario(), backend="dask", workers=2)
    assert res.metadata["mode"] == "blocks" and res.metadata["backend"] == "dask"
    assert os.environ[FAULT_ENV] == "lockstep-kill/1"
    assert_identical(reference, res)
