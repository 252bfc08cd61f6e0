"""Calendar constants, defined once (consensus rules live in :mod:`hashfleet.consensus`)."""

from __future__ import annotations

from hashfleet.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, SUBSIDY_HALVING_INTERVAL

__all__ = [
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "HALVING_INTERVAL_BLOCKS",
    "RETARGET_INTERVAL_BLOCKS",
    "SECONDS_PER_DAY",
]

#: Days in a year (Julian): every per-year rate is converted with it.
DAYS_PER_YEAR: float = 365.25
#: Days in an average month.
DAYS_PER_MONTH: float = DAYS_PER_YEAR / 12.0
#: Seconds in a day.
SECONDS_PER_DAY: float = 86_400.0
#: Blocks per difficulty epoch (Bitcoin Core's retarget interval).
RETARGET_INTERVAL_BLOCKS: int = DIFFICULTY_ADJUSTMENT_INTERVAL
#: Blocks between subsidy halvings.
HALVING_INTERVAL_BLOCKS: int = SUBSIDY_HALVING_INTERVAL
