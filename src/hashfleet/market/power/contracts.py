"""Power contracts: flat prices, the hour constants and the calendar helpers."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from typing import Any

import numpy as np

from hashfleet.scenario.schema import (
    FixedPowerSpec,
    HostedPowerSpec,
)

HOURS: int = 24


_HOUR_INDEX = np.arange(HOURS, dtype=np.float64)


def flat_price_usd_per_mwh(spec: Any) -> float:
    """The constant price of a fixed or hosted contract (USD/MWh); NaN for the others."""
    if isinstance(spec, FixedPowerSpec):
        return float(spec.price_usd_per_mwh)
    if isinstance(spec, HostedPowerSpec):
        return float(spec.price_usd_per_kwh) * 1000.0
    return float("nan")


@functools.cache
def _weekdays_in_month(year: int, month: int) -> int:
    n = calendar.monthrange(year, month)[1]
    return sum(dt.date(year, month, d).weekday() < 5 for d in range(1, n + 1))
