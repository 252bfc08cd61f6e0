"""Drive a CapitalBook without an engine: deterministic day inputs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from hashfleet.finance.capital import CapitalBook, DayInputs, run_day
from hashfleet.scenario.capital import CapitalSpec

START = dt.date(2026, 1, 1)


def book(
    spec: CapitalSpec, n_paths: int = 1, cash: float = 0.0, btc: float = 0.0, n_days: int = 400
) -> CapitalBook:
    return CapitalBook(spec, START, n_days, n_paths, cash, btc)


def day(
    d: int,
    n_paths: int,
    *,
    price: float | np.ndarray = 50_000.0,
    production: float | np.ndarray = 0.0,
    power: float | np.ndarray = 0.0,
    fleet_value: float | np.ndarray = 0.0,
) -> DayInputs:
    def arr(x: float | np.ndarray) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=float), (n_paths,)).copy()

    return DayInputs(d, arr(price), arr(production), {"power": -arr(power)}, arr(fleet_value))


def run(b: CapitalBook, prices: Sequence[float] | np.ndarray, **kw: float) -> None:
    p = np.asarray(prices, dtype=float)
    for d in range(p.shape[0]):
        run_day(b, day(d, b.n_paths, price=p[d], **kw))


def sell_half_the_treasury(ctx):  # type: ignore[no-untyped-def]
    """A user treasury policy (``custom: finance_helpers:sell_half_the_treasury``)."""
    return 0.5 * ctx.btc
