"""Tests of hashfleet.history: shipped daily history, epochs and the network state on a date."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import numpy as np
import pytest

from hashfleet import history
from hashfleet.errors import DataError
from hashfleet.history import (
    load_daily,
    load_epochs,
    network_state_at,
    price_on,
    read_daily_series,
)


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "series.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


# --------------------------------------------------------------------------- loaders


def test_load_daily_shape_and_licence_cleaning() -> None:
    daily = load_daily()
    assert daily.index[0] == np.datetime64("2012-01-01")
    assert daily.index.is_monotonic_increasing and daily.index.is_unique
    assert len(daily) == (daily.index[-1] - daily.index[0]).days + 1
    assert daily["price_usd"].dtype == np.float64
    # blockchain.com (no licence) fee rows are not shipped
    assert not daily["src_fees"].isin(["bc1", "bc2"]).any()
    assert daily.loc["2021-01-01", "fees_btc"] != daily.loc["2021-01-01", "fees_btc"]  # NaN
    assert daily.loc["2015-06-01", "src_fees"] == "cm"


def test_load_epochs() -> None:
    epochs = load_epochs()
    assert (epochs["height"] % 2016 == 0).all()
    assert epochs["height"].iloc[-1] == 878_976
    assert epochs.loc[epochs["height"] == 0, "bits"].item() == 0x1D00FFFF
    assert epochs["bits"].dtype == np.int64


# --------------------------------------------------------------------------- read_daily_series


def test_read_daily_series_round_trip(tmp_path: Path) -> None:
    path = _write(tmp_path, "day,x\n2024-01-01,1\n2024-01-02,2.5\n2024-01-03,4\n")
    got = read_daily_series(path, "day", "x", dt.date(2024, 1, 1), 3)
    assert got.dtype == np.float64 and got.shape == (3,)
    np.testing.assert_array_equal(got, [1.0, 2.5, 4.0])
    np.testing.assert_array_equal(
        read_daily_series(path, "day", "x", dt.date(2024, 1, 2), 1), [2.5]
    )


@pytest.mark.usefixtures("non_commercial_data")
def test_read_daily_series_builtin_matches_frame() -> None:
    got = read_daily_series("builtin:btc_daily", "date", "price_usd", dt.date(2016, 3, 1), 10)
    want = load_daily().loc["2016-03-01":"2016-03-10", "price_usd"].to_numpy()
    np.testing.assert_array_equal(got, want)


def test_read_daily_series_interpolates_short_gaps(tmp_path: Path) -> None:
    # blank cells on the 2nd..3rd, and the 5th..7th absent from the file
    text = "day,x\n2024-01-01,0\n2024-01-02,\n2024-01-03,\n2024-01-04,3\n2024-01-08,7\n"
    path = _write(tmp_path, text)
    got = read_daily_series(path, "day", "x", dt.date(2024, 1, 1), 8)
    np.testing.assert_allclose(got, np.arange(8.0))
    # a window starting inside a gap uses the neighbours outside it
    np.testing.assert_allclose(read_daily_series(path, "day", "x", dt.date(2024, 1, 6), 1), [5.0])


def test_read_daily_series_builtin_difficulty_gap_is_filled() -> None:
    got = read_daily_series("builtin:btc_daily", "date", "difficulty", dt.date(2025, 11, 12), 5)
    assert np.isfinite(got).all()
    assert got[0] <= got[1] <= got[4] or got[0] >= got[1] >= got[4]


def test_read_daily_series_long_gap_names_the_dates(tmp_path: Path) -> None:
    rows = ["day,x", "2024-01-01,1"] + [f"2024-01-{d:02d}," for d in range(2, 10)]
    path = _write(tmp_path, "\n".join([*rows, "2024-01-10,2"]) + "\n")
    with pytest.raises(DataError) as info:
        read_daily_series(path, "day", "x", dt.date(2024, 1, 1), 10)
    msg = str(info.value)
    assert path in msg and "'x'" in msg and "2024-01-02..2024-01-09" in msg and "8 " in msg


def test_read_daily_series_gap_at_end_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "day,x\n2024-01-01,1\n2024-01-02,\n2024-01-03,\n")
    with pytest.raises(DataError, match=r"'x': no value on 2024-01-02\.\.2024-01-03 \(2 days at"):
        read_daily_series(path, "day", "x", dt.date(2024, 1, 1), 3)


def test_builtin_fees_gap_without_licensed_source() -> None:
    # blockchain.com fee rows were removed: no fees from 2020-07-28 until Coin Metrics resumes
    with pytest.raises(DataError, match=r"'fees_btc': no value on 2020-07-28\.\.2025-11-04"):
        read_daily_series("builtin:btc_daily", "date", "fees_btc", dt.date(2021, 5, 1), 3)


@pytest.mark.usefixtures("non_commercial_data")
def test_read_daily_series_out_of_range(tmp_path: Path) -> None:
    path = _write(tmp_path, "day,x\n2024-01-01,1\n2024-01-02,2\n")
    with pytest.raises(DataError) as info:
        read_daily_series(path, "day", "x", dt.date(2024, 1, 2), 3)
    msg = str(info.value)
    assert path in msg and "'x'" in msg and "missing 2024-01-03..2024-01-04" in msg
    with pytest.raises(DataError, match=r"missing 2011-12-30\.\.2011-12-31"):
        read_daily_series("builtin:btc_daily", "date", "price_usd", dt.date(2011, 12, 30), 5)


def test_read_daily_series_bad_column_and_cells(tmp_path: Path) -> None:
    path = _write(tmp_path, "day,x\n2024-01-01,1\n2024-01-02,abc\n")
    with pytest.raises(DataError, match=r"column 'y' not found in the header row \(2 columns\)"):
        read_daily_series(path, "day", "y", dt.date(2024, 1, 1), 1)
    with pytest.raises(DataError) as info:
        read_daily_series(path, "day", "x", dt.date(2024, 1, 1), 1)
    # the message names the file, line and column, never the cell (a file's content)
    assert f"{path}:3: column 'x'" in str(info.value) and "abc" not in str(info.value)
    bad_date = _write(tmp_path, "day,x\n2024-01-01,1\n01/02/2024,2\n")
    with pytest.raises(DataError, match=r"series\.csv:3: column 'day': expected a date"):
        read_daily_series(bad_date, "day", "x", dt.date(2024, 1, 1), 1)
    with pytest.raises(DataError, match="absolute path"):
        read_daily_series("relative.csv", "day", "x", dt.date(2024, 1, 1), 1)
    with pytest.raises(DataError, match="file not found"):
        read_daily_series(str(tmp_path / "nope.csv"), "day", "x", dt.date(2024, 1, 1), 1)


# --------------------------------------------------------------------------- price, state


@pytest.mark.usefixtures("non_commercial_data")
def test_price_on() -> None:
    assert price_on(dt.date(2012, 1, 1)) == pytest.approx(5.2948427773232)
    assert price_on(dt.date(2026, 2, 12)) == pytest.approx(66221.84375)
    with pytest.raises(DataError, match="price_usd"):
        price_on(dt.date(2030, 1, 1))


def test_network_state_around_epoch_558432() -> None:
    epochs = load_epochs().set_index("height")
    start = epochs.loc[558_432, "timestamp"]
    assert start.date() == dt.date(2019, 1, 14) and start.hour > 0  # after midnight
    before = network_state_at(dt.date(2019, 1, 14))
    assert before.epoch_start_height == 558_432 - 2016
    assert before.bits == epochs.loc[556_416, "bits"]
    assert 558_432 - 40 <= before.height < 558_432
    after = network_state_at(dt.date(2019, 1, 15))
    assert after.epoch_start_height == 558_432
    assert after.bits == epochs.loc[558_432, "bits"] == 0x172FD633
    assert after.difficulty == epochs.loc[558_432, "difficulty"]
    assert after.epoch_start_time == start.to_pydatetime()
    assert 558_432 < after.height < 558_432 + 2016


def test_height_count_matches_epochs_file() -> None:
    """Counting daily blocks from each epoch start to the next gives 2016 (±tolerance)."""
    chain = history._chain()
    t_file = history._unix(history.FIRST_STATE_DATE)
    errors = [
        chain.blocks_between(k, chain.epochs[k + 1].unix_time) - 2016
        for k in range(chain.n_file_epochs - 1)
        if chain.epochs[k].unix_time >= t_file
    ]
    assert len(errors) > 350
    assert max(abs(e) for e in errors) <= history.HEIGHT_TOLERANCE_BLOCKS <= 150
    assert abs(float(np.mean(errors))) < 1


@pytest.mark.parametrize("day", ["2012-01-01", "2016-07-09", "2020-05-11", "2024-04-20"])
def test_state_inside_epochs_file(day: str) -> None:
    date = dt.date.fromisoformat(day)
    state = network_state_at(date)
    epochs = load_epochs()
    row = epochs[epochs["height"] == state.epoch_start_height].iloc[0]
    nxt = epochs[epochs["height"] == state.epoch_start_height + 2016].iloc[0]
    midnight = dt.datetime.combine(date, dt.time(), tzinfo=dt.UTC).timestamp()
    assert row["unix_time"] < midnight <= nxt["unix_time"]
    assert state.bits == row["bits"] and state.difficulty == row["difficulty"]
    # against the height implied by the next epoch start at the epoch's mean block rate
    linear = row["height"] + 2016 * (midnight - row["unix_time"]) / (
        nxt["unix_time"] - row["unix_time"]
    )
    assert abs(state.height - linear) <= 150
    assert "epochs file" in state.source


def test_halving_day_height() -> None:
    # block 840,000 is the first block dated 2024-04-20: the tip at 00:00 is 839,999
    height = network_state_at(dt.date(2024, 4, 20)).height
    assert abs(height - 839_999) <= history.HEIGHT_TOLERANCE_BLOCKS


def test_state_2026_01_01_is_plausible() -> None:
    state = network_state_at(dt.date(2026, 1, 1))
    diff_mean = load_daily().loc["2026-01-01", "difficulty"]
    assert state.difficulty == pytest.approx(diff_mean, rel=0.01)
    assert state.epoch_start_height % 2016 == 0
    assert state.epoch_start_height <= state.height < state.epoch_start_height + 2016
    assert 925_000 < state.height < 935_000
    assert state.epoch_start_time < dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    # bits decode to the difficulty within the compact encoding's precision
    target = (state.bits & 0x7FFFFF) << (8 * ((state.bits >> 24) - 3))
    assert 0xFFFF * 2**208 / target == pytest.approx(state.difficulty, rel=1e-5)
    assert "DiffMean" in state.source


def test_compact_of_daily_difficulty_recovers_true_bits() -> None:
    epochs = load_epochs().set_index("height")
    daily = load_daily()
    for height, day in [(558_432, "2019-01-20"), (840_672, "2024-04-27")]:
        assert (
            history._compact_from_difficulty(daily.loc[day, "difficulty"])
            == (epochs.loc[height, "bits"])
        )


def test_state_heights_increase_and_range() -> None:
    days = [dt.date(2025, 1, 10) + dt.timedelta(days=i) for i in range(0, 395, 7)]
    heights = [network_state_at(d).height for d in days]
    assert all(b > a for a, b in itertools.pairwise(heights))
    assert network_state_at(dt.datetime(2026, 2, 12, 15, tzinfo=dt.UTC)).height > heights[-1]
    with pytest.raises(DataError, match=r"2012-01-01 to 2026-02-12.*got 2011-12-31"):
        network_state_at(dt.date(2011, 12, 31))
    with pytest.raises(DataError, match="got 2026-02-13"):
        network_state_at(dt.date(2026, 2, 13))
