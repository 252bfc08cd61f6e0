"""The capital plan's per-chunk run state: :class:`CapitalBook` and the day's :class:`DayInputs`.

The book holds one chunk's balance sheet (a :class:`~hashfleet.finance.balance.CapitalState`),
the compiled debt calendar, the trailing windows and the events; it knows no engine.  The daily
order of operations that advances it is :func:`hashfleet.finance.capital_day.run_day` (its
module docstring); :mod:`hashfleet.finance.capital` attaches it to the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from hashfleet.finance import debt as dk
from hashfleet.finance.balance import CapitalState
from hashfleet.finance.covenants import Trailing
from hashfleet.finance.treasury import TreasuryContext, load_custom
from hashfleet.scenario.capital import BtcLoanSpec, CapitalSpec, ConvertibleSpec, RevolverSpec

__all__ = ["BoolArray", "CapitalBook", "DayInputs", "FloatArray"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class DayInputs:
    """The engine's day as the capital plan sees it (arrays of shape ``(n_paths,)``).

    Attributes
    ----------
    day : int
    price_usd : BTC price (daily close).
    production_btc : BTC mined by the fleet today (after pool fee).
    cash_flows : category -> USD (signed) of the engine's booked flows, mining revenue
        excluded (it arrives as ``production_btc``).
    fleet_value_usd : the fleet at today's secondary ASIC price.
    """

    day: int
    price_usd: FloatArray
    production_btc: FloatArray
    cash_flows: dict[str, FloatArray]
    fleet_value_usd: FloatArray
    booked_inflows: dict[str, FloatArray] = field(default_factory=dict)


class CapitalBook:
    """The capital plan's run state for one chunk of paths (no engine inside).

    Parameters
    ----------
    spec : CapitalSpec
    start : datetime.date
        Day 0 of the run.
    n_days, n_paths : int
    cash_usd, btc : float
        Opening cash and unencumbered BTC.
    path_offset : int
        Global index of the first path (for events).
    """

    def __init__(
        self,
        spec: CapitalSpec,
        start: dt.date,
        n_days: int,
        n_paths: int,
        cash_usd: float,
        btc: float,
        path_offset: int = 0,
    ) -> None:
        self.spec = spec
        self.start = start
        self.n_paths = n_paths
        self.path_offset = path_offset
        inst = spec.instruments
        n = len(inst)
        self.state = CapitalState.start(n_paths, n, cash_usd, btc, spec.equity.shares_outstanding)
        for i, s in enumerate(inst):
            self.state.debt_usd[:, i] = dk.opening_balance_usd(s, start)
        #: Contract rate (coupon for convertibles) per path and instrument, 1/year; a
        #: refinancing changes it on the paths it rolls.
        contract = [
            s.coupon_per_year if isinstance(s, ConvertibleSpec) else s.rate_per_year for s in inst
        ]
        self.rate = np.tile(np.asarray(contract, dtype=float), (n_paths, 1))
        self.deadline = np.full((n_paths, n), -1, dtype=np.int64)
        #: Daily variable of each instrument's principal: ``debt_usd_<name>``.
        self.debt_variables = [
            "debt_usd_" + "".join(c if c.isalnum() else "_" for c in s.name) for s in inst
        ]
        self.events_by_day: dict[int, list[dk.DebtEvent]] = {}
        for i, s in enumerate(inst):
            for ev in dk.compile_events(s, i, start, n_days):
                self.events_by_day.setdefault(ev.day, []).append(ev)
        self.revolver_open = np.zeros(n, dtype=bool)
        for i, s in enumerate(inst):
            if isinstance(s, RevolverSpec):
                self.revolver_open[i] = (
                    (s.open_date - start).days <= 0 < (s.maturity_date - start).days
                )
        self._post_opening_collateral = [
            i for i, s in enumerate(inst) if isinstance(s, BtcLoanSpec) and s.draw_date < start
        ]
        cov = spec.covenants
        self.cov_days = set(range(cov.test_every_days, n_days, cov.test_every_days))
        self.ebitda_cov = Trailing(n_paths, cov.window_days)
        self.ebitda_eq = Trailing(n_paths, spec.equity.ebitda_window_days)
        self.service = Trailing(n_paths, cov.window_days)
        self.costs = Trailing(n_paths, spec.treasury.cover_days)
        self.breach = np.zeros(n_paths, dtype=bool)
        self.accelerate = np.zeros(n_paths, dtype=bool)
        self.peak_price = np.zeros(n_paths)
        self.atm_room = np.zeros(n_paths)
        self.atm_month = -1
        self.custom: Callable[[TreasuryContext], FloatArray] | None = (
            load_custom(spec.treasury.custom) if spec.treasury.custom else None
        )
        self.values: dict[str, FloatArray] = {}
        self.min_cash_usd = np.full(n_paths, np.inf)
        self._events: list[tuple[NDArray[np.int64], int, str, str]] = []
        self.logged = 0  # events handed to the engine's event log so far
        self.stopped_today = np.zeros(n_paths, dtype=bool)
        #: Filled by SimPy processes when attached to an engine (see
        #: :func:`~hashfleet.finance.capital.calendar`); standalone,
        #: :func:`~hashfleet.finance.capital_day.run_day` takes each day's events from
        #: ``events_by_day``.
        self.on_calendar = False
        self.due: list[dk.DebtEvent] = []
        self.covenant_test_due = False

    def event(self, kind: str, mask: BoolArray, day: int, instrument: str = "") -> None:
        """Record ``kind`` on the ``mask`` paths at ``day``."""
        idx = np.flatnonzero(mask)
        if idx.size:
            self._events.append((idx + self.path_offset, day, kind, instrument))

    def events(self) -> pd.DataFrame:
        """Events as a table: ``path, day, kind, instrument, date`` (UTC day)."""
        if not self._events:
            cols = ("path", "day", "kind", "instrument", "date")
            return pd.DataFrame({c: [] for c in cols})
        return pd.DataFrame(
            {
                "path": np.concatenate([p for p, _, _, _ in self._events]),
                "day": np.concatenate([np.full(p.size, d) for p, d, _, _ in self._events]),
                "kind": np.concatenate([np.full(p.size, k) for p, _, k, _ in self._events]),
                "instrument": np.concatenate(
                    [np.full(p.size, n, dtype=object) for p, _, _, n in self._events]
                ),
                "date": np.concatenate(
                    [np.full(p.size, np.datetime64(self.start) + d) for p, d, _, _ in self._events]
                ),
            }
        )
