"""Network segments of the endogenous supply: ``network.hashrate.segments``.

The rest of the network can be split into **segments** (listed miners, private miners,
sovereign/state-backed mining, stranded/flared-gas mining, …), each an installed base by
vintage of its own with its own power-cost distribution, response to hashprice, capital
access (investment rate, threshold, lead time) and growth (scheduled additions, a random
addition process, exogenous capacity growth up to a cap).  The model is in
:mod:`hashfleet.network.segments`; this module holds the scenario sections.

Every per-segment model field is optional: unset, it takes the ``kind``'s preset (see
:data:`KIND_PRESETS`) and otherwise the value of the enclosing ``endogenous`` section, so one
segment with ``start_share: 1`` and nothing else is today's one-population model, bit for bit.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator

from hashfleet.scenario.fields import Spec, _f

__all__ = [
    "KIND_PRESETS",
    "SegmentAdditionSpec",
    "SegmentList",
    "SupplySegmentSpec",
]

#: Defaults a segment's ``kind`` implies (explicit fields win; then the enclosing section).
#: sovereign: price-insensitive, no margin-driven investment (its additions are policy-driven:
#: ``additions`` or ``addition_rate_per_year``), never retires idle capacity (it is never idle);
#: stranded: near-zero power cost (flared/vented gas, curtailed hydro), no margin-driven
#: investment (growth is the gas available: ``growth_per_year`` up to ``cap_ehs``).
KIND_PRESETS: dict[str, dict[str, float]] = {
    "listed": {},
    "private": {},
    "custom": {},
    "sovereign": {"price_response": 0.0, "investment_rate_per_year": 0.0},
    "stranded": {
        "power_cost_median_usd_per_mwh": 5.0,
        "power_cost_sigma": 0.5,
        "investment_rate_per_year": 0.0,
    },
}


class SegmentAdditionSpec(Spec):
    """Capacity a segment adds by decision (a state programme, a gas field coming on line)."""

    date: dt.date = _f(description="First day of the addition (ignored outside the run).")
    ehs: float = _f(
        gt=0, le=10000, unit="EH/s", description="Capacity added in total (at the frontier)."
    )
    over_days: int = _f(
        1,
        ge=1,
        le=3660,
        unit="day",
        description="Days over which it arrives, in equal daily parts (365: through the year).",
    )


class SupplySegmentSpec(Spec):
    """One segment of the rest of the network.  Unset model fields take the ``kind``'s preset,
    then the enclosing ``endogenous`` section's value."""

    name: str = _f(
        pattern=r"^[a-z][a-z0-9_]{0,31}$",
        description="Identifier (lower case, digits, _): outputs are segment_*__<name>.",
    )
    kind: Literal["listed", "private", "sovereign", "stranded", "custom"] = _f(
        "custom", description="What the segment is; sets presets (see docs/network.md)."
    )
    start_share: float = _f(
        gt=0,
        le=1,
        description="Share of the rest of the network's day-0 hashrate in this segment "
        "(the segments' shares sum to 1).",
    )
    price_response: float | None = _f(
        None,
        ge=0,
        le=1,
        description="Scaling of the switch-off response: 1 = the cost distribution's "
        "switch-off (elastic), 0 = runs whatever the hashprice (price-insensitive).",
    )
    power_cost_median_usd_per_mwh: float | None = _f(
        None, gt=0, le=1000, unit="USD/MWh", description="Median all-in power cost."
    )
    power_cost_sigma: float | None = _f(
        None, gt=0, le=3, description="Log standard deviation of the segment's power costs."
    )
    switch_half_life_days: float | None = _f(
        None, ge=0, le=365, unit="day", description="Half-life of switching on/off."
    )
    age_growth_per_year: float | None = _f(
        None, ge=0, le=5, unit="1/year", description="Initial fleet-age profile ∝ exp(−g·age)."
    )
    max_age_years: float | None = _f(
        None, gt=0, le=20, unit="year", description="Oldest machines in the initial base."
    )
    investment_rate_per_year: float | None = _f(
        None,
        ge=0,
        le=50,
        unit="1/year",
        description="Capital access: orders per year as a share of installed capacity per "
        "unit of smoothed frontier margin above the threshold (0: no margin-driven orders).",
    )
    investment_margin_threshold: float | None = _f(
        None, ge=-1, lt=1, description="Frontier relative margin below which nobody orders."
    )
    investment_memory_days: float | None = _f(
        None, gt=0, le=3650, unit="day", description="Half-life of the margin EWMA."
    )
    lead_time_days: int | None = _f(
        None, ge=1, le=1000, unit="day", description="Capital access: days from order to hashing."
    )
    retirement_rate_per_year: float | None = _f(
        None, ge=0, le=50, unit="1/year", description="Retirement rate of long-idle capacity."
    )
    additions: list[SegmentAdditionSpec] = _f(
        [], description="Scheduled additions (e.g. a sovereign adds 50 EH/s in 2027)."
    )
    addition_rate_per_year: float = _f(
        0.0,
        ge=0,
        le=365,
        unit="1/year",
        description="Random additions: rate of a Poisson process of programmes (per path).",
    )
    addition_mean_ehs: float = _f(
        10.0,
        gt=0,
        le=10000,
        unit="EH/s",
        description="Mean size of a random addition (exponential), arriving at once.",
    )
    growth_per_year: float = _f(
        0.0,
        ge=0,
        le=10,
        unit="1/year",
        description="Exogenous capacity growth (e.g. flared gas +20 %/year), compounded daily.",
    )
    cap_ehs: float | None = _f(
        None,
        gt=0,
        le=100000,
        unit="EH/s",
        description="Cap on the segment's installed capacity (EH/s): growth, orders and "
        "additions stop at it (capacity above it is scaled down to it).",
    )

    def resolved(self, field: str) -> float | None:
        """The field's own value, else the ``kind``'s preset, else None (the section's)."""
        value = getattr(self, field)
        if value is not None:
            return float(value)
        preset = KIND_PRESETS[self.kind].get(field)
        return None if preset is None else float(preset)


def _check_segments(segments: list[SupplySegmentSpec]) -> list[SupplySegmentSpec]:
    names = [s.name for s in segments]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"expected unique segment names, got {dup} more than once")
    if segments:
        total = sum(s.start_share for s in segments)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"expected the segments' start_share to sum to 1, got {total:.6g} "
                f"({' + '.join(f'{s.name} {s.start_share:g}' for s in segments)})"
            )
    return segments


#: The ``segments`` list: unique names, start shares summing to 1.
SegmentList = Annotated[list[SupplySegmentSpec], AfterValidator(_check_segments)]
