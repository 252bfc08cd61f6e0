"""The capital plan's and the HPC projects' events reach ``Results.events``: the same rows
in-process and as block tasks, and through save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hashfleet import simulate
from hashfleet.results import Results
from hashfleet.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(scope="module")
def capital_run() -> Results:
    sc = load_scenario(SCENARIOS / "baseline-capital.yaml", overrides={"run.horizon_days": 365})
    return simulate(sc, paths=500, seed=3)


def test_margin_calls_are_events_with_path_day_and_instrument(capital_run: Results) -> None:
    ev = capital_run.events
    assert "margin_call" in ev and len(ev["margin_call"]) > 0
    mc = ev["margin_call"]
    assert list(mc.columns) == ["path", "time_days", "instrument"]
    assert mc["path"].between(0, 499).all() and mc["time_days"].between(0, 364).all()
    assert (mc["instrument"] == 1).all()  # the BTC-backed loan, second instrument
    assert capital_run.summary["events"]["margin_call"] == len(mc)
    # sorted by path, then time, as the retargets are
    keys = mc[["path", "time_days"]].to_numpy()
    assert (np.diff(keys[:, 0]) >= 0).all()


def test_events_identical_as_block_tasks_and_after_save(
    capital_run: Results, tmp_path: Path
) -> None:
    sc = load_scenario(SCENARIOS / "baseline-capital.yaml", overrides={"run.horizon_days": 365})
    blocks = simulate(sc, paths=500, seed=3, block_paths=250)
    assert set(blocks.events) == set(capital_run.events)
    for kind, table in capital_run.events.items():
        pd.testing.assert_frame_equal(blocks.events[kind], table, check_dtype=False)
    back = Results.load(capital_run.save(tmp_path / "run"))
    for kind, table in capital_run.events.items():
        pd.testing.assert_frame_equal(back.events[kind], table, check_dtype=False)


def test_hpc_events_reach_the_results() -> None:
    sc = load_scenario(SCENARIOS / "ai-pivot.yaml", overrides={"run.horizon_days": 500})
    res = simulate(sc, paths=250, seed=1)
    assert "hpc_works_start" in res.events
    starts = res.events["hpc_works_start"]
    assert len(starts) == 250 and (starts["time_days"] == starts["time_days"].iloc[0]).all()
    assert {"path", "time_days", "project", "value"} <= set(starts.columns)
    irr = res.per_path["final_hpc_irr_per_year_project0"].to_numpy()  # last day's IRR
    assert irr.shape == (250,) and not np.isinf(irr).any()
