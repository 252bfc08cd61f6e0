"""Covenants: minimum liquidity, maximum net leverage, minimum debt-service cover.

Metrics are computed on a trailing window of ``window_days`` days (EBITDA and debt service
are summed over the window; EBITDA is annualised by ``365 / window_days``):

* liquidity = cash (USD);
* net leverage = (debt − cash) / annualised EBITDA (``inf`` with debt and EBITDA ≤ 0);
* debt-service cover (DSCR) = EBITDA / (interest + scheduled principal), both over the
  window (``inf`` with no debt service).

A test date finding a breach opens a cure period to the next test date; a path still in
breach then **defaults** (an event; with ``default_accelerates`` all its debt is due).  A
path back in compliance is **cured**.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hashfleet.scenario.capital import CovenantsSpec

__all__ = ["CovenantMetrics", "Trailing", "covenant_breaches", "covenant_metrics"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass
class Trailing:
    """Running sum over the last ``window`` days, per path (a ring buffer)."""

    n_paths: int
    window: int
    _buf: FloatArray = field(init=False)
    _pos: int = field(default=0, init=False)
    total: FloatArray = field(init=False)
    days: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._buf = np.zeros((self.n_paths, self.window))
        self.total = np.zeros(self.n_paths)

    def add(self, x: FloatArray) -> None:
        """Add today's value (shape ``(n_paths,)``), dropping the oldest."""
        self.total += x - self._buf[:, self._pos]
        self._buf[:, self._pos] = x
        self._pos = (self._pos + 1) % self.window
        self.days = min(self.days + 1, self.window)

    def per_year(self) -> FloatArray:
        """The window's total annualised over the days seen (≤ window)."""
        return self.total * 365.0 / max(self.days, 1)


@dataclass(frozen=True)
class CovenantMetrics:
    """Covenant metrics per path, shape (n_paths,)."""

    liquidity_usd: FloatArray
    net_leverage: FloatArray
    dscr: FloatArray


def covenant_metrics(
    cash_usd: FloatArray,
    debt_usd: FloatArray,
    ebitda_window_usd: FloatArray,
    debt_service_window_usd: FloatArray,
    window_days: int,
) -> CovenantMetrics:
    """Liquidity, net leverage and DSCR (module docstring)."""
    ebitda_year = ebitda_window_usd * 365.0 / window_days
    net_debt = debt_usd - cash_usd
    lev = np.where(
        ebitda_year > 0,
        net_debt / np.where(ebitda_year > 0, ebitda_year, 1.0),
        np.where(net_debt > 0, np.inf, 0.0),
    )
    ds = debt_service_window_usd
    dscr = np.where(ds > 0, ebitda_window_usd / np.where(ds > 0, ds, 1.0), np.inf)
    return CovenantMetrics(cash_usd.copy(), lev, dscr)


def covenant_breaches(spec: CovenantsSpec, m: CovenantMetrics) -> dict[str, BoolArray]:
    """Breach masks per covenant: ``min_liquidity``, ``max_net_leverage``, ``min_dscr``."""
    out: dict[str, BoolArray] = {}
    if spec.min_liquidity_usd is not None:
        out["min_liquidity"] = m.liquidity_usd < spec.min_liquidity_usd
    if spec.max_net_leverage is not None:
        out["max_net_leverage"] = m.net_leverage > spec.max_net_leverage
    if spec.min_dscr is not None:
        out["min_dscr"] = m.dscr < spec.min_dscr
    return out
