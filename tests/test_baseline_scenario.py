"""The shipped baseline scenario: valid, and its chain state is what history says."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hashfleet import consensus, history
from hashfleet.scenario import load_scenario

BASELINE = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"


@pytest.mark.usefixtures("non_commercial_data")
def test_baseline_chain_state_matches_history() -> None:
    sc = load_scenario(BASELINE)
    st = history.network_state_at(sc.run.start)
    start = sc.network.start
    assert start.height == st.height
    assert start.difficulty is not None
    bits = consensus.target_to_bits(consensus.difficulty_to_target(start.difficulty))
    assert bits == st.bits
    assert start.epoch_start_time is not None
    assert abs(start.epoch_start_time - st.epoch_start_time) < dt.timedelta(seconds=1)
    assert sc.market.btc_price.start_usd == round(history.price_on(dt.date(2025, 12, 31)), 2)
