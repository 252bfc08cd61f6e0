"""Back-test: runs on a short window and writes its figures; the halving-dip measure."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from click.testing import CliRunner

from hashfleet.cli import cli
from hashfleet.studies.backtest import backtest, halving_response


def test_halving_response_closed_form() -> None:
    """A flat series that drops 20 % on day 30 for 10 days: dip −20 %, 7-day-mean minimum
    in the middle of the drop."""
    h = np.full(200, 100.0)
    h[30:40] = 80.0
    depth, when = halving_response(h, 20)
    assert depth == pytest.approx(-0.2)
    assert 13 <= when <= 16


@pytest.mark.usefixtures("non_commercial_data")
def test_backtest_cli_short_window_writes_figures(tmp_path) -> None:
    """2020-02-01..2020-09-30 (the 2020 halving), 250 paths: tables, plots and the figures."""
    out = tmp_path / "bt"
    r = CliRunner().invoke(
        cli, ["backtest", "--from", "2020-02-01", "--to", "2020-09-30", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    for name in ("summary.json", "epochs.csv", "halvings.csv", "daily.csv", "table.md"):
        assert (out / name).stat().st_size > 0, name
    for name in ("hashrate.png", "difficulty.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = json.loads((out / "summary.json").read_text())
    assert 14 <= s["epochs"] <= 20  # ~17 real retargets in 8 months
    assert 0 <= s["difficulty_epochs_in_90pct_band"] <= 1
    assert s["difficulty_rel_error_median"] < 0.5
    [h] = s["halvings"]
    assert h["halving"] == "2020-05-11"
    assert h["real_dip"] == pytest.approx(-0.226, abs=0.01)
    assert h["sim_dip"] < 0
    assert "| halving |" in r.output


def test_backtest_rejects_a_short_window() -> None:
    """Fewer than 30 days is an input error naming `to`."""
    from hashfleet.errors import InputError

    with pytest.raises(InputError, match="to"):
        backtest(dt.date(2020, 1, 1), dt.date(2020, 1, 10))


@pytest.mark.usefixtures("non_commercial_data")
@pytest.mark.slow
def test_backtest_2020_2025_figures() -> None:
    """Out of sample 2020–2025 (fit 2016–2019), 250 paths: broad sanity bounds only; the
    figures themselves are reported in docs/network.md."""
    r = backtest(dt.date(2020, 1, 1), dt.date(2025, 12, 31))
    s = r.summary
    assert 150 <= s["epochs"] <= 170
    assert s["difficulty_rel_error_median"] < 0.5
    assert s["hashrate_rmse_log_median"] < 0.6
    assert len(s["halvings"]) == 2
