"""The recorder's window length and its grouped reduction change no statistic (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest

import hashfleet.engine.recorder as recorder_mod
import hashfleet.runner as runner
from hashfleet.engine.recorder import Recorder
from hashfleet.processes import WINDOW_DAYS
from hashfleet.runner import simulate
from hashfleet.scenario.schema import Scenario


def _scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "name": "window",
            "run": {"start": "2026-01-01", "horizon_days": 75, "paths": 500, "seed": 11},
            "network": {"hashrate": {"model": "growth", "noise_sigma": 0.05}},
            "market": {"btc_price": {"model": "gbm", "start_usd": 90_000}},
            "fleet": {
                "sites": [{"name": "a", "capacity_mw": 5, "power": {"price_usd_per_mwh": 40}}],
                "cohorts": [{"model": "Antminer S21", "site": "a", "units": 1000}],
            },
        }
    )


def test_window_days_follow_the_budget() -> None:
    assert runner.recorder_window_days(1) == WINDOW_DAYS
    assert runner.recorder_window_days(runner.RECORDER_WINDOW_BYTES // 7) == 7
    assert runner.recorder_window_days(10 * runner.RECORDER_WINDOW_BYTES) == 1


def test_short_windows_and_small_groups_give_the_same_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 5-day window (run of 75 days: a partial last window) reduced two variables at a
    time gives the default run's statistics bit for bit."""
    ref = simulate(_scenario())
    day_bytes = 8 * 512 * 60  # ~ one day of every variable: a budget of about 5 days
    monkeypatch.setattr(runner, "RECORDER_WINDOW_BYTES", 5 * day_bytes)
    monkeypatch.setattr(recorder_mod, "REDUCE_BYTES", 2 * 8 * 5 * 500)  # ~2 variables
    seen: list[int] = []
    orig = Recorder.__init__

    def spy(self: Recorder, *a: object, **k: object) -> None:
        orig(self, *a, **k)  # type: ignore[arg-type]
        seen.append(self.window_days)

    monkeypatch.setattr(Recorder, "__init__", spy)
    got = simulate(_scenario())
    assert seen and seen[0] < WINDOW_DAYS
    for v in ref.daily.data_vars:
        assert np.array_equal(ref.daily[v].to_numpy(), got.daily[v].to_numpy(), equal_nan=True), v


def test_recorder_rejects_an_empty_window() -> None:
    with pytest.raises(ValueError, match="window_days"):
        Recorder(["a"], 10, 10, 5, [0.5], False, window_days=0)
