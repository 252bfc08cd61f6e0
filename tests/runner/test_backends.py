"""Block runs: identical results on every backend and block size, resume, failed blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from runner_helpers import assert_identical, make_scenario

from hashfleet.errors import InputError
from hashfleet.results import Results, store
from hashfleet.runner import jobs, simulate
from hashfleet.runner.blocks import FAULT_ENV, BlockOutcome
from hashfleet.runner.jobs import BlocksFailedError


@pytest.fixture(scope="module")
def reference() -> Results:
    """The in-process lockstep run (no blocks, no files)."""
    return simulate(make_scenario())


@pytest.mark.parametrize("block_paths", [250, 500])
def test_block_sizes_give_identical_results(reference: Results, block_paths: int) -> None:
    """Blocks of 250 or 500 paths, one after another in this process: every array equal."""
    res = simulate(make_scenario(), block_paths=block_paths)
    assert res.metadata["blocks"] == -(-3 // (block_paths // 250))
    assert_identical(reference, res)


def test_processes_give_identical_results(
    reference: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two local worker processes, blocks of 250 paths, 32-day store chunks, and the daily
    statistics reduced by day ranges (one per chunk) on the workers too: every array equal."""
    monkeypatch.setattr(jobs, "DISTRIBUTE_REDUCE_BYTES", 0)
    monkeypatch.setattr(store, "chunk_days", lambda chunk_paths, n_days: 32)
    res = simulate(make_scenario(), backend="processes", workers=2, block_paths=250)
    assert res.metadata["backend"] == "processes"
    assert_identical(reference, res)


def test_store_is_a_lazy_xarray_dataset(reference: Results, tmp_path: Path) -> None:
    """The run directory's Zarr store opens lazily with xarray and holds every path."""
    simulate(make_scenario(), block_paths=500, run_dir=tmp_path / "run")
    ds = xr.open_zarr(tmp_path / "run" / "store.zarr", consolidated=False)
    assert ds["cash_usd"].chunks is not None  # dask-backed, not loaded
    assert ds.sizes == {"path": 750, "day": 70}
    assert reference.paths is not None
    for v in ("btc_price_usd", "cash_usd", "height"):
        assert np.array_equal(ds[v].values[:700], reference.paths[v].values), v


class _Crash(Exception):
    """A simulated crash of the driver."""


def _attempts(run_dir: Path) -> list[int]:
    lines = (run_dir / "attempts.log").read_text().splitlines()
    return [int(line.split()[1]) for line in lines]


def test_resume_after_a_crash_computes_every_block_once(reference: Results, tmp_path: Path) -> None:
    """The driver dies after 2 of 3 blocks; resume computes only the third, none twice."""
    run_dir = tmp_path / "run"
    first: list[int] = []

    def crash_after_two(outcome: BlockOutcome) -> None:
        first.append(outcome.task.first_block)
        if len(first) == 2:
            raise _Crash

    with pytest.raises(_Crash):
        simulate(make_scenario(), block_paths=250, run_dir=run_dir, on_block=crash_after_two)
    assert first == [0, 1]
    second: list[int] = []
    res = simulate(
        make_scenario(),
        block_paths=250,
        run_dir=run_dir,
        resume=True,
        on_block=lambda o: second.append(o.task.first_block),
    )
    assert second == [2]
    assert sorted(_attempts(run_dir)) == [0, 1, 2]  # each block computed exactly once
    assert res.metadata["blocks_computed"] == 1
    assert_identical(reference, res)
    # resuming a finished run computes nothing
    again = simulate(make_scenario(), block_paths=250, run_dir=run_dir, resume=True)
    assert again.metadata["blocks_computed"] == 0
    assert sorted(_attempts(run_dir)) == [0, 1, 2]


def test_resume_refuses_a_different_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    simulate(make_scenario(horizon_days=5), block_paths=250, run_dir=run_dir)
    with pytest.raises(InputError, match=r"resume: .*seed: 11 now 12"):
        simulate(
            make_scenario(horizon_days=5, seed=12), block_paths=250, run_dir=run_dir, resume=True
        )


def test_a_failed_block_is_reported_and_keep_going_finishes_the_rest(
    reference: Results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Block 1 raises: scenario id, block and traceback are reported; 0 and 2 finish."""
    run_dir = tmp_path / "run"
    monkeypatch.setenv(FAULT_ENV, "1")
    with pytest.raises(BlocksFailedError) as info:
        simulate(make_scenario(), block_paths=250, run_dir=run_dir, keep_going=True)
    msg = str(info.value)
    assert "1 of 3 blocks failed" in msg
    assert "runner-test block 1 (paths 250-499)" in msg
    assert "Traceback" in msg and "RuntimeError: failure injected" in msg
    assert [o.task.first_block for o in info.value.failures] == [1]
    assert sorted(p.name for p in run_dir.glob("block-*.npz")) == [
        "block-0000000-00001.npz",
        "block-0000002-00001.npz",
    ]
    # once the cause is gone, resume computes the failed block only
    monkeypatch.delenv(FAULT_ENV)
    res = simulate(make_scenario(), block_paths=250, run_dir=run_dir, resume=True)
    assert res.metadata["blocks_computed"] == 1
    assert_identical(reference, res)


def test_without_keep_going_the_first_failure_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "runner-test/0")
    with pytest.raises(BlocksFailedError, match="runner-test block 0"):
        simulate(make_scenario(horizon_days=5), block_paths=250, run_dir=tmp_path / "r")
    assert not list((tmp_path / "r").glob("block-*.npz"))  # stopped before blocks 1, 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"block_paths": 300}, "block_paths: expected a positive multiple of 250, got 300"),
        ({"backend": "spark"}, "backend: expected one of in-process, processes, dask"),
        ({"backend": "processes", "scheduler": "tcp://x:1"}, "only the dask backend"),
        ({"workers": 2}, "workers: apply to the processes and dask backends"),
        ({"resume": True}, "resume: give the run directory"),
    ],
)
def test_bad_backend_options_are_input_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        simulate(make_scenario(horizon_days=2), **kwargs)


def test_a_directory_with_other_files_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="expected an empty directory or a hashfleet run"):
        simulate(make_scenario(horizon_days=2), block_paths=250, run_dir=tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.slow
@pytest.mark.parametrize("block_paths", [1000, 2500])
def test_large_blocks_give_identical_results(block_paths: int) -> None:
    """The issue's block sizes, 5,000 paths: every array equal to the lockstep run."""
    sc = make_scenario(paths=5000, horizon_days=100)
    assert_identical(simulate(sc), simulate(sc, backend="processes", block_paths=block_paths))
