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

import csv
import datetime as dt
import io
import math
import os
import statistics
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from hashfleet.consensus import bits_to_target, difficulty_to_target, target_to_bits
from hashfleet.errors import DataError
from hashfleet.scenario.files import file_stamp, read_text

__all__ = [
    "BUILTIN_DAILY",
    "HEIGHT_TOLERANCE_BLOCKS",
    "MAX_GAP_DAYS",
    "NetworkState",
    "load_daily",
    "load_epochs",
    "network_state_at",
    "price_on",
    "read_daily_series",
]

#: ``path`` that names the shipped daily history in :func:`read_daily_series`.
BUILTIN_DAILY = "builtin:btc_daily"

#: Longest run of consecutive missing days that :func:`read_daily_series` interpolates.
MAX_GAP_DAYS = 7

#: Bound on the error of a tip height counted from the daily file inside one epoch (blocks);
#: measured against the epochs file for every epoch starting in 2012 or later.
HEIGHT_TOLERANCE_BLOCKS = 40

#: First date :func:`network_state_at` accepts (the daily file's first day).
FIRST_STATE_DATE = dt.date(2012, 1, 1)

_DAILY_FILE = "btc_daily.csv"
_EPOCHS_FILE = "btc_difficulty_epochs.csv"
_EPOCH_BLOCKS = 2016
_SECONDS_PER_DAY = 86_400
_UNIX_EPOCH = dt.date(1970, 1, 1)
_DIFF1_TARGET = 0xFFFF * 2**208  # target of bits 0x1d00ffff (difficulty 1)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class NetworkState:
    """The Bitcoin network at 00:00 UTC of a date, as far as history tells.

    Attributes
    ----------
    height : int
        Height of the chain tip at 00:00 UTC (estimated, see :func:`network_state_at`).
    bits : int
        Compact target (nBits) of the epoch in force.
    difficulty : float
        Difficulty of the epoch in force (dimensionless).
    epoch_start_height : int
        Height of the epoch's first block, a multiple of 2016.
    epoch_start_time : datetime.datetime
        Timestamp (UTC, tz-aware) of the epoch's first block.
    source : str
        How the values were derived, in words.
    """

    height: int
    bits: int
    difficulty: float
    epoch_start_height: int
    epoch_start_time: dt.datetime
    source: str


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
        A copy: callers may modify it.
    """
    return _daily_frame().copy()


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
        If the day is outside the shipped history.
    """
    day = _as_day(date, "price_on")
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


# --------------------------------------------------------------------------- private: files


def _as_day(value: dt.date, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise DataError(f"{where}: date: expected a datetime.date, got {value!r}")


def _resolve(path: str) -> tuple[str, tuple[int, int]]:
    """Return (label, stamp): the file to read and a change stamp for the cache."""
    if path.startswith("builtin:"):
        name = path.removeprefix("builtin:")
        if name != "btc_daily":
            raise DataError(f"{path}: unknown builtin daily file (known: {BUILTIN_DAILY})")
        return path, (0, 0)
    if not os.path.isabs(path):
        raise DataError(f"{path}: expected an absolute path or {BUILTIN_DAILY}")
    return path, file_stamp(path, what="CSV file")


def _read_text(label: str) -> str:
    if label.startswith("builtin:"):
        name = {"btc_daily": _DAILY_FILE, "btc_difficulty_epochs": _EPOCHS_FILE}[
            label.removeprefix("builtin:")
        ]
        return resources.files("hashfleet.data").joinpath(name).read_text(encoding="utf-8")
    return read_text(label, what="CSV file")


@dataclass(frozen=True)
class _Table:
    """A CSV as strings: header and, per row, its 1-based line number and cells."""

    label: str
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]

    def column_index(self, column: str) -> int:
        try:
            return self.header.index(column)
        except ValueError:
            raise DataError(
                f"{self.label}: column '{column}' not found in the header row "
                f"({len(self.header)} columns)"
            ) from None


@lru_cache(maxsize=16)
def _table(label: str, stamp: tuple[int, int]) -> _Table:
    reader = csv.reader(io.StringIO(_read_text(label), newline=""))
    try:
        header = tuple(h.strip() for h in next(reader))
    except StopIteration:
        raise DataError(f"{label}: the file is empty (expected a header row)") from None
    rows = []
    for cells in reader:
        if cells and any(c.strip() for c in cells):
            rows.append((reader.line_num, tuple(cells)))
    return _Table(label, header, tuple(rows))


@dataclass(frozen=True)
class _DailyColumn:
    """One column on a complete daily grid: ``values[i]`` is day ``first + i`` (NaN if missing)."""

    label: str
    column: str
    first: dt.date
    values: FloatArray

    @property
    def last(self) -> dt.date:
        return self.first + dt.timedelta(days=len(self.values) - 1)

    def window(self, start: dt.date, n_days: int) -> FloatArray:
        end = start + dt.timedelta(days=n_days - 1)
        where = f"{self.label}: column '{self.column}'"
        if start < self.first or end > self.last:
            lo, hi = max(start, self.first), min(end, self.last)
            if start < self.first:
                missing = f"{start}..{min(end, self.first - dt.timedelta(days=1))}"
            else:
                missing = f"{max(start, self.last + dt.timedelta(days=1))}..{end}"
            inside = f"; {lo}..{hi} are in the file" if lo <= hi else ""
            raise DataError(
                f"{where}: days {start}..{end} requested but the file covers "
                f"{self.first}..{self.last}: missing {missing}{inside}"
            )
        i0 = (start - self.first).days
        out = self.values[i0 : i0 + n_days].copy()
        if np.isnan(out).any():
            self._fill(out, i0, where)
        return out

    def _fill(self, out: FloatArray, i0: int, where: str) -> None:
        known = ~np.isnan(self.values)
        for a, b in _nan_runs(out):
            ga, gb = i0 + a, i0 + b  # the gap on the file grid, extended to its full length
            while ga > 0 and not known[ga - 1]:
                ga -= 1
            while gb < len(self.values) and not known[gb]:
                gb += 1
            gap = f"{self.first + dt.timedelta(days=ga)}..{self.first + dt.timedelta(days=gb - 1)}"
            if ga == 0 or gb == len(self.values):
                raise DataError(
                    f"{where}: no value on {gap} ({gb - ga} days at the end of the file's "
                    "data; only interior gaps are interpolated)"
                )
            if gb - ga > MAX_GAP_DAYS:
                raise DataError(
                    f"{where}: no value on {gap} ({gb - ga} consecutive days; at most "
                    f"{MAX_GAP_DAYS} are interpolated)"
                )
            y0, y1 = self.values[ga - 1], self.values[gb]
            steps = np.arange(1, gb - ga + 1, dtype=np.float64) / (gb - ga + 1)
            filled = y0 + (y1 - y0) * steps
            out[a:b] = filled[a + i0 - ga : b + i0 - ga]


def _nan_runs(x: FloatArray) -> list[tuple[int, int]]:
    """Half-open index ranges of the runs of NaN in ``x``."""
    isnan = np.concatenate(([False], np.isnan(x), [False]))
    edges = np.flatnonzero(np.diff(isnan.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@lru_cache(maxsize=64)
def _daily_column(
    label: str, stamp: tuple[int, int], date_column: str, column: str
) -> _DailyColumn:
    table = _table(label, stamp)
    i_date, i_val = table.column_index(date_column), table.column_index(column)
    if not table.rows:
        raise DataError(f"{label}: column '{column}': the file has no data rows")
    days: dict[dt.date, float] = {}
    seen_line: dict[dt.date, int] = {}
    for line, cells in table.rows:
        raw_date = cells[i_date].strip() if i_date < len(cells) else ""
        try:
            day = dt.date.fromisoformat(raw_date)
        except ValueError:
            raise DataError(
                f"{label}:{line}: column '{date_column}': expected a date YYYY-MM-DD"
            ) from None
        if day in seen_line:
            raise DataError(
                f"{label}:{line}: column '{date_column}': date {day} repeats "
                f"(first on line {seen_line[day]})"
            )
        seen_line[day] = line
        raw = cells[i_val].strip() if i_val < len(cells) else ""
        if raw == "":
            continue
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise DataError(
                f"{label}:{line}: column '{column}': expected a finite number (date {day})"
            )
        days[day] = value
    first, last = min(seen_line), max(seen_line)
    values = np.full((last - first).days + 1, np.nan)
    for day, value in days.items():
        values[(day - first).days] = value
    values.setflags(write=False)
    return _DailyColumn(label, column, first, values)


@lru_cache(maxsize=1)
def _daily_frame() -> pd.DataFrame:
    text = _read_text(BUILTIN_DAILY)
    frame = pd.read_csv(
        io.StringIO(text),
        dtype={"src_price": "string", "src_chain": "string", "src_fees": "string"},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    frame = frame.set_index("date")
    src = ["src_price", "src_chain", "src_fees"]
    for name in frame.columns:
        if name not in src:
            frame[name] = frame[name].astype("float64")
    for name in src:
        frame[name] = frame[name].astype(object).where(frame[name].notna(), np.nan)
    return frame


@lru_cache(maxsize=1)
def _epochs_frame() -> pd.DataFrame:
    raw = pd.read_csv(io.StringIO(_read_text("builtin:btc_difficulty_epochs")), dtype=str)
    frame = pd.DataFrame(
        {
            "height": raw["height"].astype("int64"),
            "unix_time": raw["unix_time"].astype("int64"),
            "bits": raw["bits_hex"].map(lambda s: int(s, 16)).astype("int64"),
            "difficulty": raw["difficulty"].astype("float64"),
        }
    )
    frame["timestamp"] = pd.to_datetime(frame["unix_time"], unit="s", utc=True)
    return frame


# --------------------------------------------------------------------------- private: chain


def _compact_from_difficulty(difficulty: float) -> int:
    """nBits for a difficulty: the compact target nearest to it in difficulty.

    ``target = floor(0xffff·2^208 / difficulty)`` (exact, :func:`hashfleet.consensus.
    difficulty_to_target`) is encoded truncating, as Bitcoin Core's ``GetCompact`` does
    (:func:`hashfleet.consensus.target_to_bits`).  A daily ``DiffMean`` is the true difficulty
    rounded to 15 digits, so that target can land just below the true one and the truncation
    then loses one unit of the mantissa (it did on 172 of 356 epochs of the epochs file); the
    encoding one mantissa unit up is therefore also tried and whichever reproduces
    ``difficulty`` more closely is returned (356 of 356 then match the true bits).
    """
    exact = Fraction(float(difficulty))
    bits = target_to_bits(difficulty_to_target(float(difficulty)))
    candidates = [bits, bits + 1] if (bits & 0x007FFFFF) < 0x007FFFFF else [bits]

    def error(b: int) -> Fraction:
        return abs(Fraction(_DIFF1_TARGET, bits_to_target(b)) - exact)

    return min(candidates, key=error)


def _unix(day: dt.date) -> int:
    return (day - _UNIX_EPOCH).days * _SECONDS_PER_DAY


def _utc(unix_time: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(unix_time, tz=dt.UTC)


@dataclass(frozen=True)
class _Epoch:
    height: int
    unix_time: float
    bits: int
    difficulty: float
    note: str


@dataclass(frozen=True)
class _Chain:
    """Epochs (from the file, then continued from daily blocks) and cumulative daily blocks.

    ``cum[i]`` is the number of blocks in the daily file before day ``first + i``; block counts
    within a day are spread evenly, so :meth:`blocks_before` is piecewise linear in time.
    """

    epochs: tuple[_Epoch, ...]
    first: dt.date
    cum: FloatArray
    n_file_epochs: int

    @property
    def last_day(self) -> dt.date:
        return self.first + dt.timedelta(days=len(self.cum) - 2)

    def blocks_before(self, unix_time: float) -> float:
        """Daily-file blocks mined before ``unix_time`` (fractional; needs time in the file)."""
        x = (unix_time - _unix(self.first)) / _SECONDS_PER_DAY
        i = min(math.floor(x), len(self.cum) - 2)
        return float(self.cum[i] + (self.cum[i + 1] - self.cum[i]) * (x - i))

    def time_of_count(self, count: float) -> float | None:
        """Unix time at which :meth:`blocks_before` reaches ``count`` (None if past the file)."""
        if count > self.cum[-1]:
            return None
        i = int(np.searchsorted(self.cum, count, side="left")) - 1
        i = max(i, 0)
        per_day = self.cum[i + 1] - self.cum[i]
        frac = (count - self.cum[i]) / per_day if per_day > 0 else 0.0
        return _unix(self.first) + (i + frac) * _SECONDS_PER_DAY

    def blocks_between(self, k: int, unix_time: float) -> float:
        """Blocks mined from the start of epoch ``k`` to ``unix_time`` (estimated)."""
        start = self.epochs[k].unix_time
        t_file = _unix(self.first)
        if start >= t_file:
            return self.blocks_before(unix_time) - self.blocks_before(start)
        # The epoch began before the daily file: its first part at the epoch's mean rate.
        nxt = self.epochs[k + 1]
        rate = _EPOCH_BLOCKS / (nxt.unix_time - start)
        return (t_file - start) * rate + self.blocks_before(unix_time)

    def state_at(self, day: dt.date) -> NetworkState:
        t0 = _unix(day)
        times = [e.unix_time for e in self.epochs]
        k = int(np.searchsorted(times, t0, side="left")) - 1
        epoch = self.epochs[k]
        counted = self.blocks_between(k, t0)
        top = epoch.height + _EPOCH_BLOCKS - 1
        height = min(max(round(counted) + epoch.height, epoch.height), top)
        how = (
            f"tip height = epoch start + {counted:.1f} blocks counted in btc_daily.csv from "
            "the epoch's first block (first day pro rata), rounded; error typically 5 "
            f"blocks, at most ±{HEIGHT_TOLERANCE_BLOCKS}"
        )
        return NetworkState(
            height=height,
            bits=epoch.bits,
            difficulty=epoch.difficulty,
            epoch_start_height=epoch.height,
            epoch_start_time=_utc(epoch.unix_time),
            source=f"{epoch.note}; {how}",
        )


@lru_cache(maxsize=1)
def _chain() -> _Chain:
    label, stamp = _resolve(BUILTIN_DAILY)
    blocks_col = _daily_column(label, stamp, "date", "blocks")
    diff_col = _daily_column(label, stamp, "date", "difficulty")
    blocks = blocks_col.window(blocks_col.first, len(blocks_col.values))
    cum = np.concatenate(([0.0], np.cumsum(blocks)))
    frame = _epochs_frame()
    columns = zip(
        frame["height"].tolist(),
        frame["unix_time"].tolist(),
        frame["bits"].tolist(),
        frame["difficulty"].tolist(),
        strict=True,
    )
    epochs = [
        _Epoch(
            int(height),
            float(unix_time),
            int(bits),
            float(difficulty),
            f"epoch {height}: start time, bits and difficulty from the epochs file "
            "(bitcoinj checkpoints)",
        )
        for height, unix_time, bits, difficulty in columns
    ]
    chain = _Chain(tuple(epochs), blocks_col.first, cum, len(epochs))
    return _Chain(
        tuple(epochs) + _continue_epochs(chain, diff_col),
        chain.first,
        cum,
        len(epochs),
    )


def _continue_epochs(chain: _Chain, diff: _DailyColumn) -> tuple[_Epoch, ...]:
    """Epochs after the epochs file, located and priced from the daily file."""
    last = chain.epochs[-1]
    base = chain.blocks_before(last.unix_time)
    starts: list[float] = [last.unix_time]
    j = 1
    while (t := chain.time_of_count(base + j * _EPOCH_BLOCKS)) is not None:
        starts.append(t)
        j += 1
    out: list[_Epoch] = []
    end_of_file = _unix(chain.last_day + dt.timedelta(days=1))
    for j in range(1, len(starts)):
        t_start = starts[j]
        t_end = starts[j + 1] if j + 1 < len(starts) else end_of_file
        first_full = _UNIX_EPOCH + dt.timedelta(days=math.ceil(t_start / _SECONDS_PER_DAY))
        days: list[dt.date] = []
        day = first_full
        while _unix(day + dt.timedelta(days=1)) <= t_end:
            days.append(day)
            day += dt.timedelta(days=1)
        values = [
            float(diff.values[(d - diff.first).days])
            for d in days
            if not math.isnan(diff.values[(d - diff.first).days])
        ]
        height = last.height + j * _EPOCH_BLOCKS
        if not values and t_start >= _unix(chain.last_day):
            break  # starts on the file's last day: no date of the file lies in it
        if not values:
            raise DataError(
                f"{diff.label}: column 'difficulty': no value on any whole day of epoch "
                f"{height} (starting {_utc(t_start):%Y-%m-%d %H:%M} UTC)"
            )
        difficulty = statistics.median(values)
        span = f"{days[0]}..{days[-1]}" if len(days) > 1 else f"{days[0]}"
        out.append(
            _Epoch(
                height,
                t_start,
                _compact_from_difficulty(difficulty),
                difficulty,
                f"epoch {height}: start time where btc_daily.csv's cumulative blocks since "
                f"epoch {last.height} reach {j * _EPOCH_BLOCKS} (linear within the day); "
                f"difficulty = median DiffMean of the whole days {span} inside the epoch; "
                "bits = compact encoding of that difficulty",
            )
        )
    return tuple(out)
