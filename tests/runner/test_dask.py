"""The Dask backend on a 2-worker LocalCluster: identical results, and a killed worker.

One cluster is shared by the module (starting one takes seconds).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runner_helpers import assert_identical, make_scenario

from hashfleet.runner import jobs, simulate

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    import dask

    from hashfleet.runner.backends import WORKER_ENV

    with dask.config.set({"distributed.nanny.pre-spawn-environ": dict(WORKER_ENV)}):
        lc = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
    try:
        yield lc
    finally:
        lc.close()


def test_two_dask_workers_give_identical_results(
    cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of 250 paths and the reduction by day ranges on 2 Dask workers: every array
    equal to the lockstep run."""
    monkeypatch.setattr(jobs, "DISTRIBUTE_REDUCE_BYTES", 0)
    sc = make_scenario()
    res = simulate(sc, backend="dask", scheduler=cluster.scheduler_address, block_paths=250)
    assert res.metadata["backend"] == "dask" and res.metadata["workers"] == 2
    assert_identical(simulate(sc), res)


def test_a_killed_worker_is_recovered_with_identical_results(cluster: Any, tmp_path: Path) -> None:
    """SIGKILL one worker while its block runs: Dask reruns the block elsewhere.

    The worker's pid must appear in ``attempts.log`` (it had started a block) and that
    block must have been started again by another process; the results are identical.
    """
    sc = make_scenario(paths=1000, horizon_days=240)
    with distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    run_dir = tmp_path / "run"

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            log = run_dir / "attempts.log"
            if log.exists() and f" {victim}\n" in log.read_text():
                os.kill(victim, signal.SIGKILL)  # the block has just started
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    res = simulate(
        sc,
        backend="dask",
        scheduler=cluster.scheduler_address,
        block_paths=250,
        run_dir=run_dir,
    )
    killer.join(timeout=5)
    lines = [ln.split() for ln in (run_dir / "attempts.log").read_text().splitlines()]
    started_by_victim = {int(b) for _, b, _, pid in lines if int(pid) == victim}
    assert started_by_victim, "the killed worker never started a block"
    restarted = [b for _, b, _, pid in lines if int(b) in started_by_victim and int(pid) != victim]
    assert restarted, "no block of the killed worker was rerun"
    assert_identical(simulate(sc), res)
