"""Shipped Bitcoin history: daily series, retarget epochs and the network state on a date.

Two files ship in :mod:`hashfleet.data` (sources and licences in its ``README.md``):

* ``btc_daily.csv`` — one row per UTC day, 2012-01-01 onwards: BTC price (USD), mean
  difficulty of the day's blocks (Coin Metrics ``DiffMean``), hashrate (EH/s), blocks, subsidy
  and fees (BTC).  Missing values are blank cells.
* ``btc_difficulty_epochs.csv`` — the first block of every 2016-block retarget epoch up to
  height 878,976 (2025-01-12): height, header time, compact target ``bits`` and difficulty.

Gap filling
-----------
:func:`read_daily_series` fills *interior* gaps (blank cells or absent dates) of at most
:data:`MAX_GAP_DAYS` consecutive days by linear interpolation in time between the two
neighbouring known days; longer gaps, and gaps touching either end of the file, are errors.

Network state
-------------
:func:`network_state_at` estimates the chain tip at 00:00 UTC of a date.  The epoch in force
is the last one whose first block is timestamped before that instant.  Inside the epochs file
its start height, time and bits are exact; the tip height is the start height plus the blocks
of the daily file mined since the start — the first day's count taken pro rata of the part of
that day after the epoch's first block (blocks spread evenly over a day) — rounded to an
integer.  Checked against the epochs file itself — counting from each epoch start to the next
and comparing with 2016, for the 356 epochs starting from 2012 on — the error is at most 28
blocks (median 5, 99th percentile 22, mean +0.02): Coin Metrics assigns blocks to days by
their timestamps, and the even spread within the first day is only an approximation.
:data:`HEIGHT_TOLERANCE_BLOCKS` (40) is the bound the tests enforce.  For the part of an epoch
that began before the daily file (late 2011), blocks are counted at the epoch's mean rate.

Past the epochs file the epochs are continued from the last one: the time of each later
multiple of 2016 is where the cumulative daily block count reaches it (linear within the
day), the difficulty is the median ``DiffMean`` of the days lying wholly inside the epoch,
and ``bits`` is its compact encoding (``target = floor(0xffff·2^208 / difficulty)``,
encoded as Bitcoin Core's ``GetCompact`` does, then corrected by one mantissa unit where the
15-digit ``DiffMean`` made the truncation fall short; see :func:`_compact_from_difficulty`).
Epoch starts located this way inherit the counting error above (tens of blocks, i.e. a few
hours).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from hashfleet.errors import DataError
from hashfleet.history.chain import NetworkState, _chain
from hashfleet.history.chain import _compact_from_difficulty as _compact_from_difficulty
from hashfleet.history.chain import _unix as _unix
from hashfleet.history.files import (
    BUILTIN_DAILY,
    FIRST_STATE_DATE,
    HEIGHT_TOLERANCE_BLOCKS,
    MAX_GAP_DAYS,
    FloatArray,
    _as_day,
    _daily_column,
    _daily_frame,
    _epochs_frame,
    _resolve,
)
from hashfleet.history.licence import (
    NON_COMMERCIAL_COLUMNS,
    non_commercial_allowed,
    require_non_commercial,
)

__all__ = [
    "BUILTIN_DAILY",
    "FIRST_STATE_DATE",
    "HEIGHT_TOLERANCE_BLOCKS",
    "MAX_GAP_DAYS",
    "NetworkState",
    "load_daily",
    "load_epochs",
    "network_state_at",
    "price_on",
    "read_daily_series",
]


# --------------------------------------------------------------------------- public API


def load_daily() -> pd.DataFrame:
    """Return the shipped daily history.

    Returns
    -------
    pandas.DataFrame
        Index ``date`` (``datetime64[ns]``, one row per UTC day, no gaps in the index).
        Float columns: ``price_usd`` (USD/BTC), ``difficulty`` (dimensionless daily mean),
        ``hashrate_ehs`` (EH/s), ``blocks`` (blocks/day), ``subsidy_btc``, ``fees_btc`` (BTC/day),
        ``miner_revenue_usd`` (USD/day); missing values are NaN.  String columns
        ``src_price``, ``src_chain``, ``src_fees`` name the source of each row (NaN if none).
        A copy: callers may modify it.  The price columns (``price_usd``,
        ``miner_revenue_usd``, ``src_price``) are non-commercial data: all NaN unless
        enabled (:mod:`hashfleet.history.licence`).
    """
    frame = _daily_frame().copy()
    if not non_commercial_allowed():
        for name in NON_COMMERCIAL_COLUMNS:
            frame[name] = np.nan
    return frame


def load_epochs() -> pd.DataFrame:
    """Return the shipped retarget history (the first block of every 2016-block epoch).

    Returns
    -------
    pandas.DataFrame
        One row per epoch, ordered by height: ``height`` (int64), ``unix_time`` (int64, s),
        ``bits`` (int64 compact target), ``difficulty`` (float64) and ``timestamp``
        (``datetime64[ns, UTC]``).  A copy: callers may modify it.
    """
    return _epochs_frame().copy()


def read_daily_series(
    path: str, date_column: str, column: str, start: dt.date, n_days: int
) -> FloatArray:
    """Read one daily column of a CSV for the days ``start .. start + n_days - 1``.

    Interior gaps (blank cells or absent dates) of up to :data:`MAX_GAP_DAYS` consecutive
    days are filled by linear interpolation between the neighbouring known days.

    Parameters
    ----------
    path : str
        Absolute path of a CSV file with a header row, or ``"builtin:btc_daily"`` for the
        shipped history.
    date_column : str
        Column holding the UTC date as ``YYYY-MM-DD``.
    column : str
        Column to read (numbers; blank cells are missing values).
    start : datetime.date
        First day (UTC).
    n_days : int
        Number of days, >= 1.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_days,)``, float64, in the file's unit.

    Raises
    ------
    DataError
        If the file or a column is missing, a date or number cannot be parsed (with its line
        number), a date repeats, the requested days are not all in the file, or a gap longer
        than :data:`MAX_GAP_DAYS` days (or at an end of the file) falls in the requested days.
    """
    if isinstance(start, dt.datetime):
        start = start.date()
    if not isinstance(start, dt.date):
        raise DataError(f"read_daily_series: start: expected a date, got {start!r}")
    if isinstance(n_days, bool) or not isinstance(n_days, int | np.integer) or n_days < 1:
        raise DataError(f"read_daily_series: n_days: expected an integer >= 1, got {n_days!r}")
    label, stamp = _resolve(path)
    if label == BUILTIN_DAILY and column in NON_COMMERCIAL_COLUMNS:
        require_non_commercial(f"{BUILTIN_DAILY} column '{column}'")
    series = _daily_column(label, stamp, date_column, column)
    return series.window(start, int(n_days))


def price_on(date: dt.date) -> float:
    """Return the BTC price of the shipped history on a UTC day.

    Parameters
    ----------
    date : datetime.date
        The UTC day (a ``datetime`` is converted to UTC and truncated to its day).

    Returns
    -------
    float
        The day's close in USD/BTC (Coin Metrics ``PriceUSD`` up to 2020-07-27, the Yahoo
        BTC-USD close after).

    Raises
    ------
    DataError
        If the day is outside the shipped history, or the price history (non-commercial
        data, :mod:`hashfleet.history.licence`) is not enabled.
    """
    day = _as_day(date, "price_on")
    require_non_commercial("price_on")
    return float(read_daily_series(BUILTIN_DAILY, "date", "price_usd", day, 1)[0])


def network_state_at(date: dt.date) -> NetworkState:
    """Estimate the Bitcoin network state at 00:00 UTC of a date from the shipped history.

    Parameters
    ----------
    date : datetime.date
        A UTC day from 2012-01-01 to the last day of the daily file (a ``datetime`` is
        converted to UTC and truncated to its day).

    Returns
    -------
    NetworkState
        Tip height, bits and difficulty of the epoch in force, and the epoch's start.  Inside
        the epochs file (dates up to 2025-01-12) bits, difficulty and epoch start are exact and
        the height is counted from daily blocks (error within ±150 blocks, typically a few);
        later epochs are located from daily block counts and their difficulty is the daily
        ``DiffMean`` (see the module docstring).

    Raises
    ------
    DataError
        If the date is outside the supported range.
    """
    day = _as_day(date, "network_state_at")
    chain = _chain()
    if not FIRST_STATE_DATE <= day <= chain.last_day:
        raise DataError(
            f"network_state_at: date: expected a day from {FIRST_STATE_DATE} to "
            f"{chain.last_day} (the shipped history), got {day}"
        )
    return chain.state_at(day)
