"""The protocol of daily exogenous processes (BTC price, fees, network hashrate, ...).

A process is built once per run from its scenario spec and a :class:`ProcessContext`, then
drawn *window by window* for one **stream block** of paths at a time.  The engine owns the
random streams: each stream block has its own ``numpy.random.Generator`` per process, so a
path's numbers depend only on (root seed, stream block, process) — never on the number of
paths, the chunking or the backend.

Rules a process must follow (they are what make runs reproducible):

* ``window`` is always called with the same ``n_days`` (the engine's window length,
  :data:`WINDOW_DAYS`), including past the horizon; deterministic processes pad past the
  end of their data with the last value.
* It draws only from the ``rng`` it is given, and the amount it draws depends only on its
  own state (never on other blocks).
* Arrays are ``(n_paths, n_days)``, path axis first, float64.
* Day ``d`` is the UTC day ``start + d``; the value for day ``d`` applies to that whole day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "WINDOW_DAYS",
    "DailySeriesProcess",
    "ExogenousProcess",
    "FloatArray",
    "ProcessContext",
]

FloatArray = NDArray[np.float64]

#: Days drawn per call of :meth:`ExogenousProcess.window`.  Part of the random-stream layout:
#: changing it changes every stochastic result for a given seed.
WINDOW_DAYS: int = 32


@dataclass(frozen=True)
class ProcessContext:
    """What a process may know about the run when it is built.

    Attributes
    ----------
    start : datetime.date
        Day 0 of the simulation (UTC).
    horizon_days : int
        Number of simulated days.
    initial_difficulty : float
        Network difficulty at t=0 (dimensionless).
    scenario_dir : pathlib.Path
        Directory of the scenario file (paths in specs are already absolute or ``builtin:``).
    extra : Mapping[str, Any]
        Anything else a later process needs, keyed by name.
    """

    start: dt.date
    horizon_days: int
    initial_difficulty: float
    scenario_dir: Path = Path(".")
    extra: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class ExogenousProcess(Protocol):
    """A daily stochastic (or deterministic) process drawn per stream block and window."""

    #: Names of the arrays :meth:`window` returns.
    outputs: tuple[str, ...]

    def init_state(self, n_paths: int) -> Any:
        """Return the mutable state of ``n_paths`` paths at t=0 (day 0 not yet drawn)."""
        ...

    def window(
        self,
        state: Any,
        rng: np.random.Generator,
        first_day: int,
        n_days: int,
        inputs: Mapping[str, FloatArray],
    ) -> dict[str, FloatArray]:
        """Draw days ``first_day .. first_day + n_days - 1`` and advance ``state``.

        Parameters
        ----------
        state
            From :meth:`init_state`, mutated in place.
        rng
            This process's generator for this stream block.
        first_day, n_days
            The window, in days since the start.
        inputs
            Arrays of processes drawn before this one in the same window, each
            ``(n_paths, n_days)`` (e.g. ``"price_shock"`` for fee correlation).

        Returns
        -------
        dict[str, numpy.ndarray]
            One ``(n_paths, n_days)`` float64 array per name in :attr:`outputs`.
        """
        ...


class DailySeriesProcess:
    """A deterministic process: the same daily series on every path, padded past its end
    with its last value.  It draws nothing.

    Parameters
    ----------
    series : Mapping[str, numpy.ndarray]
        Output name -> ``(n_values,)`` float64 values of days ``0 .. n_values - 1``.
    source : str
        Where the values came from, for error messages.
    positive : Sequence[str]
        Outputs that must be finite and > 0 on every day (e.g. a price).
    what : str
        How to name a bad value in an error (``"prices > 0"``).
    """

    def __init__(
        self,
        series: Mapping[str, FloatArray],
        source: str = "<array>",
        *,
        positive: tuple[str, ...] = (),
        what: str = "values > 0",
    ) -> None:
        from hashfleet.errors import DataError

        self.series = {k: np.asarray(v, dtype=np.float64) for k, v in series.items()}
        for name, v in self.series.items():
            if v.ndim != 1 or v.size == 0:
                raise DataError(f"{source}: expected a non-empty daily series, got shape {v.shape}")
            if name in positive:
                bad = ~(np.isfinite(v) & (v > 0))
                if bad.any():
                    day = int(np.flatnonzero(bad)[0])
                    raise DataError(
                        f"{source}: expected {what} on every day, got {v[day]} on day {day}"
                    )
        self.outputs: tuple[str, ...] = tuple(self.series)

    def init_state(self, n_paths: int) -> int:
        """Return the number of paths (the process has no other state)."""
        return n_paths

    def window(
        self,
        state: int,
        rng: np.random.Generator,
        first_day: int,
        n_days: int,
        inputs: Mapping[str, FloatArray],
    ) -> dict[str, FloatArray]:
        """Return days ``first_day .. first_day + n_days - 1`` of every series,
        each ``(n_paths, n_days)``; draws nothing."""
        out = {}
        for name, v in self.series.items():
            days = np.minimum(np.arange(first_day, first_day + n_days), v.size - 1)
            out[name] = np.broadcast_to(v[days], (state, n_days)).copy()
        return out
