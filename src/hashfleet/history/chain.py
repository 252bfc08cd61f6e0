"""The chain's epochs (the epochs file, continued from daily block counts) and the network
state on a date; see :mod:`hashfleet.history`."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from hashfleet.consensus import bits_to_target, difficulty_to_target, target_to_bits
from hashfleet.errors import DataError
from hashfleet.history.files import (
    _DIFF1_TARGET,
    _EPOCH_BLOCKS,
    _SECONDS_PER_DAY,
    _UNIX_EPOCH,
    BUILTIN_DAILY,
    HEIGHT_TOLERANCE_BLOCKS,
    FloatArray,
    _daily_column,
    _DailyColumn,
    _epochs_frame,
    _resolve,
)


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
