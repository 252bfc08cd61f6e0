"""Reading the shipped (and user) daily CSV files: tables, daily columns on a complete grid
with interior gaps interpolated, and the pandas frames of :func:`hashfleet.history.load_daily`
and :func:`hashfleet.history.load_epochs`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from hashfleet.errors import DataError
from hashfleet.scenario.files import file_stamp, read_text

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
