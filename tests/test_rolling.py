"""Rolling-origin back-test: origins, targets, baselines, the CLI's files; full run under slow."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from hashfleet.cli import cli
from hashfleet.studies.rolling import _baselines, default_origins, rolling_backtest

#: These tests drive the network with the shipped BTC price history (CC BY-NC, opt-in).
pytestmark = pytest.mark.usefixtures("non_commercial_data")


def test_default_origins_every_six_months() -> None:
    o = default_origins()
    assert len(o) == 17
    assert (
        o[0] == dt.date(2016, 1, 1) and o[1] == dt.date(2016, 7, 1) and o[-1] == dt.date(2024, 1, 1)
    )


def test_baselines_use_only_history_before_the_origin() -> None:
    """The random walk starts at the last known value; the growth line's slope is the last
    year's; the spreads grow with the lead."""
    from hashfleet import history

    origin = dt.date(2022, 1, 1)
    lead = np.array([1, 30, 365])
    b = _baselines(origin, "difficulty", lead)
    d = history.load_daily()["difficulty"]
    y0 = np.log(d[d.index < pd.Timestamp(origin)].iloc[-1])
    np.testing.assert_allclose(b["random_walk"][0], y0)
    assert np.all(np.diff(b["random_walk"][1]) > 0) and np.all(np.diff(b["growth"][1]) > 0)
    year = np.log(d[(d.index < pd.Timestamp(origin))].iloc[-365:].to_numpy())
    slope = np.polyfit(np.arange(365.0), year, 1)[0]
    assert (b["growth"][0][2] - b["growth"][0][1]) / 335 == pytest.approx(slope, rel=1e-9)
    assert b["growth"][0][0] == pytest.approx(y0 + slope, rel=1e-12)


def test_rolling_cli_writes_table_and_pit(tmp_path) -> None:
    """Two origins, 250 paths, horizons to 24 months: the files and the table's structure."""
    out = tmp_path / "roll"
    r = CliRunner().invoke(
        cli,
        ["backtest", "--rolling", "--from", "2023-07-01", "--to", "2024-01-01", "--out", str(out)],
    )
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out / "rolling_table.csv")
    assert set(t["method"]) == {
        "model",
        "model_price_unknown",
        "model_point",
        "growth",
        "random_walk",
    }
    assert set(t["horizon_months"]) == {3, 6, 12, 24}
    assert t["coverage_90"].between(0, 1).all() and (t["crps"] > 0).all()
    assert (out / "pit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = json.loads((out / "rolling_summary.json").read_text())
    assert s["origins"] == ["2023-07-01", "2024-01-01"]
    assert "| hashrate | 12 | model |" in r.output


@pytest.mark.slow
def test_rolling_full_out_of_sample_figures() -> None:
    """All 17 origins: the table docs/network.md reports; sanity bounds only (the figures,
    including where the targets are missed, are reported there)."""
    res = rolling_backtest()
    t = res.table[res.table["sample"] == "out_of_sample"]
    assert len(t) == 2 * 4 * 5
    assert (t["targets"] > 0).all()
