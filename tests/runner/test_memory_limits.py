"""Runs too big for memory are refused up front; a MemoryError is a ResourceError; repeated
``simulate()`` calls hold constant memory."""

from __future__ import annotations

import gc
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

import hashfleet
from hashfleet.cli import cli
from hashfleet.errors import ResourceError
from hashfleet.model import compile_scenario
from hashfleet.runner.memory import ENV_VAR, check_memory, estimate_memory
from hashfleet.scenario import load_scenario

ROOT = Path(__file__).parents[2]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
GB1 = ("--max-memory-gb", "1")


def _scenario(**overrides: object):  # type: ignore[no-untyped-def]
    return load_scenario(BASELINE, overrides={"run.horizon_days": 5, **overrides})


def test_estimate_grows_with_paths_days_and_stored_paths() -> None:
    model = compile_scenario(_scenario())
    small = estimate_memory(model, n_paths=1000, store_paths=False, event_log=True)
    big = estimate_memory(model, n_paths=10_000, store_paths=False, event_log=True)
    stored = estimate_memory(model, n_paths=1000, store_paths=True, event_log=True)
    assert 5 < big.total_bytes / small.total_bytes <= 10.5
    assert stored.parts["stored paths"] == pytest.approx(1.2 * 8 * small.n_vars * 1000 * 5)
    assert small.n_vars > 10 and small.parts["per-path state"] > 0


def test_a_run_over_the_limit_is_refused_before_it_starts() -> None:
    sc = _scenario(**{"run.horizon_days": 3650, "run.paths": 10_000_000})
    t0 = time.perf_counter()
    with pytest.raises(ResourceError) as info:
        hashfleet.simulate(sc, store_paths=True, max_memory_gb=64)
    assert time.perf_counter() - t0 < 5  # nothing of that size was allocated
    message = str(info.value)
    assert "estimated" in message and "stored paths" in message
    assert "--max-memory-gb" in message and "64.00 GiB" in message


def test_the_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = _scenario(**{"run.paths": 250})
    monkeypatch.setenv(ENV_VAR, "0.0001")
    with pytest.raises(ResourceError, match=ENV_VAR):
        hashfleet.simulate(sc)
    monkeypatch.setenv(ENV_VAR, "inf")
    hashfleet.simulate(sc)  # no check


def test_check_memory_passes_under_the_limit() -> None:
    model = compile_scenario(_scenario())
    est = estimate_memory(model, n_paths=250, store_paths=False, event_log=True)
    check_memory(est, max_memory_gb=est.total_bytes / 2**30 * 1.01)
    with pytest.raises(ResourceError):
        check_memory(est, max_memory_gb=est.total_bytes / 2**30 * 0.99)


def test_cli_refuses_with_the_estimate_and_the_flag(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli,
        [
            "run",
            str(BASELINE),
            "--paths",
            "10000000",
            "--store-paths",
            "--out",
            str(tmp_path),
            *GB1,
        ],
    )
    assert r.exit_code == 2, r.output
    assert "ResourceError: the run needs an estimated" in r.output
    assert "Traceback" not in r.output and list(tmp_path.iterdir()) == []


def test_a_memory_error_during_the_run_is_a_resource_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from hashfleet.engine.recorder import Recorder

    def no_memory(self: Recorder, day: int) -> None:
        raise MemoryError

    monkeypatch.setattr(Recorder, "end_day", no_memory)
    with pytest.raises(ResourceError, match="out of memory while running"):
        hashfleet.simulate(_scenario(**{"run.paths": 250}))
    r = CliRunner().invoke(
        cli, ["run", str(BASELINE), "--paths", "5", "--set", "run.horizon_days=3"]
    )
    assert r.exit_code == 2 and "ResourceError: out of memory" in r.output, r.output
    assert "Traceback" not in r.output


@pytest.mark.parametrize(
    "name", [pytest.param("ai-pivot", marks=pytest.mark.slow), "baseline-capital"]
)
def test_repeated_simulate_calls_hold_constant_memory(name: str) -> None:
    """Nothing of a run stays reachable after it is dropped (no module-level registry of
    engines): six more calls grow traced memory by less than 1 MB (one run's engine and
    results are tens of MB)."""
    sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml", overrides={"run.horizon_days": 10})
    hashfleet.simulate(sc, paths=250, seed=1)  # caches (history, tables) filled
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        peaks = []
        for _ in range(6):
            res = hashfleet.simulate(sc, paths=250, seed=1)
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
            del res
            gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert max(peaks) > 5e6  # a run does allocate: the measurement sees it
    assert grown < 1e6, f"{grown / 1e6:.1f} MB kept after 6 runs"
