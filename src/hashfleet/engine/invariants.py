"""Invariant guards: cheap-to-state, costly-to-run checks of every simulated day.

Off by default; on with ``HASHFLEET_CHECK=1`` (the test suite sets it), the CLI's
``--check-invariants`` or ``ChunkEngine(..., check_invariants=True)``.  Every day, after all
steps and before the values go to the recorder, the guard checks:

* every recorded value is finite (no NaN or inf);
* quantities are non-negative (variables in blocks, BTC, EH/s, MWh, hours, units, J/TH);
* no site draws more than its capacity (``max_site_load_share`` ≤ 1);
* cash is conserved: today's cash − yesterday's = inflows − outflows booked today;
* any check a component adds with :meth:`InvariantGuard.add`.

A failure raises :class:`InvariantError` naming the path, the day and the variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from hashfleet.errors import HashfleetError

__all__ = ["ENV_VAR", "InvariantError", "InvariantGuard", "checks_enabled"]

#: The environment variable that switches the guards on (``1``).
ENV_VAR = "HASHFLEET_CHECK"

#: Units of recorded variables that can never be negative.
NON_NEGATIVE_UNITS = frozenset({"block", "BTC", "EH/s", "MWh", "h", "unit", "J/TH"})

#: A component's check: ``(day) -> None or (variable, bad mask over paths, expectation)``.
Check = Callable[[int], "tuple[str, NDArray[np.bool_], str] | None"]


class GuardedEngine(Protocol):
    """What the guard reads of a chunk engine (:class:`~hashfleet.engine.core.ChunkEngine`)."""

    values: dict[str, NDArray[np.float64]]
    variables: dict[str, tuple[str, str]]
    nan_ok: set[str]
    cash_usd: NDArray[np.float64]
    n_paths: int
    path_offset: int

    def booked(
        self,
    ) -> tuple[dict[str, NDArray[np.float64]], dict[str, NDArray[np.float64]]]: ...

    def add_step(self, stage: int, name: str, fn: Callable[[int], None]) -> None: ...


class InvariantError(HashfleetError, AssertionError):
    """A simulated day broke an invariant (a bug, not a bad input)."""


def checks_enabled() -> bool:
    """Whether ``HASHFLEET_CHECK`` asks for the invariant guards."""
    return os.environ.get(ENV_VAR, "").strip() not in ("", "0", "false", "no")


class InvariantGuard:
    """The checks of one chunk engine (see the module docstring)."""

    def __init__(self, engine: GuardedEngine) -> None:
        self.engine = engine
        self.checks: list[tuple[str, Check]] = []
        self._cash_open: NDArray[np.float64] | None = None
        engine.add_step(0, "guard_open", self._open)

    def add(self, name: str, check: Check) -> None:
        """Run ``check(day)`` every day; it returns None or ``(variable, bad, expected)``."""
        self.checks.append((name, check))

    def _open(self, day: int) -> None:
        self._cash_open = self.engine.cash_usd.copy()

    def check_day(self, day: int) -> None:
        """Check the day's values (called by the kernel before recording)."""
        e = self.engine
        for name, arr in e.values.items():
            if name in e.nan_ok:
                self._require(day, name, np.isinf(arr), "a finite number or NaN (none)")
            else:
                self._require(day, name, ~np.isfinite(arr), "a finite number")
            unit = e.variables.get(name, ("", ""))[0]
            if unit in NON_NEGATIVE_UNITS:  # rounding noise (−1e-15 h) is not a breach
                floor = -1e-9 * max(1.0, float(np.max(np.abs(arr), initial=0.0)))
                self._require(day, name, arr < floor, f"≥ 0 {unit}")
        share = e.values.get("max_site_load_share")
        if share is not None:
            self._require(day, "max_site_load_share", share > 1.0 + 1e-9, "≤ 1 (site capacity)")
        if self._cash_open is not None and "cash_usd" in e.values:
            ins, outs = e.booked()
            net = sum(ins.values(), np.zeros(e.n_paths)) - sum(outs.values(), np.zeros(e.n_paths))
            moved = e.cash_usd - self._cash_open
            scale = (
                1.0
                + np.abs(self._cash_open)
                + sum((np.abs(v) for v in (*ins.values(), *outs.values())), np.zeros(e.n_paths))
            )
            self._require(
                day, "cash_usd", np.abs(moved - net) > 1e-9 * scale, "change = inflows − outflows"
            )
        for _, check in self.checks:
            found = check(day)
            if found is not None:
                self._require(day, *found)

    def _require(self, day: int, variable: str, bad: NDArray[np.bool_], expected: str) -> None:
        if not bad.any():
            return
        i = int(np.flatnonzero(bad)[0])
        got = self.engine.values.get(variable)
        value = f"{got[i]!r}" if got is not None and got.shape == bad.shape else "?"
        raise InvariantError(
            f"path {self.engine.path_offset + i}, day {day}, {variable}: expected {expected}, "
            f"got {value} ({int(bad.sum())} paths)"
        )
