"""Grid programmes: demand-response payments and the coincident-peak charge."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hashfleet.constants import DAYS_PER_YEAR
from hashfleet.market.power.contracts import HOURS
from hashfleet.scenario.schema import CoincidentPeakSpec, DemandResponseSpec


def _hour_mask(start: int, end: int) -> NDArray[np.bool_]:
    m = np.zeros(HOURS, dtype=bool)
    m[start:end] = True
    return m


def dr_capacity_usd_per_day(dr: DemandResponseSpec) -> float:
    """Demand-response capacity payment per day: ``enrolled MW × USD/MW-month × 12/365.25``."""
    return dr.enrolled_mw * dr.capacity_usd_per_mw_month * 12.0 / DAYS_PER_YEAR


def _cp_charge_usd(
    cp: CoincidentPeakSpec, load_mw: NDArray[np.float64], weekdays_in_month: int
) -> NDArray[np.float64]:
    """A weekday's accrual of the coincident-peak charge for the window load ``load_mw``
    (n_paths,): ``charge/4 × 1000 × charged MW / weekdays in the month``, the charged load
    reduced by ``capture_share`` when the site avoids the window."""
    charged = load_mw * ((1.0 - cp.capture_share) if cp.avoid else 1.0)
    out: NDArray[np.float64] = (
        cp.charge_usd_per_kw_year / 4.0 * 1000.0 * charged / max(weekdays_in_month, 1)
    )
    return out
