"""Power: site contracts, the spot price process and hour-level curtailment.

Contracts (``fleet.sites[*].power``, discriminated on ``contract``)
    * ``fixed`` — a PPA at a fixed price (USD/MWh); with ``sell_back`` the site may resell the
      contracted MW it does not use: in an hour where spot ``p`` exceeds the strike ``s`` it
      earns ``(p − s)`` on ``contract_mw − load``, and running a machine costs ``max(s, p)``
      at the margin (the power could have been sold);
    * ``index`` — spot plus an adder;
    * ``tou`` — a peak price in the peak hours, an off-peak price in the others;
    * ``hosted`` — an all-in USD/kWh price.

Spot (``fleet.sites[*].spot``, one exogenous process of purpose ``"power"`` for all sites)
    Daily log level ``log L_d = log m + A·cos(2π(doy − peak)/365.25) + x_d`` with
    ``x_d = φ·x_{d−1} + σ·sqrt(1 − φ²)·z_d + J_d``, ``φ = 2^(−1/half_life)``, ``z_d`` standard
    normal, ``J_d`` the sum of ``N_d ~ Poisson(λ/365.25)`` normal jumps ``N(μ_J, σ_J²)`` (drawn as
    ``N_d·μ_J + sqrt(N_d)·σ_J·w_d``) that then decay with the level; ``x_0 ~ N(0, σ²)``.  The
    daily level is capped at the price cap.  Hour ``h`` (UTC) of day ``d`` has the price

        ``p_{d,h} = min(L_d · exp(a·cos(2π(h + ½ − h_peak)/24) − c + s·ε − s²/2), cap)``,

    ``ε`` standard normal per hour, ``c = log mean_h exp(a·cos(...))`` so that the uncapped
    hours average ``L_d`` in expectation.  ``log p`` (before the cap) is normal with mean
    ``μ_{d,h}`` and standard deviation ``s``.

Hour-level curtailment
    A cohort runs in an hour only if its revenue per MWh at the meter ``b`` (FPPS payout per TH
    per day × TH/s per MW / 24, PUE included) is at least that hour's marginal price.  With a
    lognormal hour the running probability and the expected cost of the hours run have closed
    forms: ``P(p ≤ b) = Φ((ln b − μ)/s)`` and ``E[p·1{p ≤ b}] = e^{μ + s²/2}·Φ((ln b − μ − s²)/s)``
    for ``b`` below the cap, and ``E[min(X, cap)]`` for ``b`` at or above it (the cohort always
    runs).  ``intraday: closed_form`` sums these over the 24 hours (exact expectation over the
    intraday distribution given the day's level); ``intraday: hourly`` draws the 24 prices and
    uses indicators (the brute-force reference; its hourly draws come from a child generator
    spawned from the process's generator, so the daily levels are the same in both modes).

Grid programmes (``fleet.sites[*].programmes``)
    * demand response: a capacity payment ``enrolled_mw × USD/MW-month`` (booked daily,
      ``× 12/365.25``); when ``call_price_usd_per_mwh`` is set the site is called in the hours
      whose spot exceeds it, sheds all load, and earns ``energy_usd_per_mwh`` on the MWh it
      would otherwise have drawn;
    * coincident peak: in the listed months the site pays ``charge_usd_per_kw_year/4`` per kW
      drawn at the month's coincident peak.  Modelled in expectation: the peak falls in the
      likely-peak window of a weekday of the month; with ``avoid`` the site curtails in that
      window on every weekday and still pays on the load it would have drawn with probability
      ``1 − capture_share`` (the peak fell elsewhere).  The charge accrues on each weekday of
      the month as ``charge/4 × 1000 × charged MW / weekdays in the month``.

Shapes: per-path values ``(n_paths,)``; per cohort ``(n_paths, n_cohorts_of_site)``; hours last
``(…, 24)``.  Prices USD/MWh, power MW, energy MWh, money USD.
"""

from __future__ import annotations

from hashfleet.constants import DAYS_PER_YEAR
from hashfleet.market.power.contracts import (
    HOURS,
    PowerContract,
    contract_of,
    flat_price_usd_per_mwh,
)
from hashfleet.market.power.hours import HourPrices, Threshold
from hashfleet.market.power.programmes import dr_capacity_usd_per_day
from hashfleet.market.power.sites import (
    FleetPower,
    SiteDay,
    SitePower,
    build_fleet_power,
    power_processes,
    site_day,
)
from hashfleet.market.power.spot import SpotPowerProcess, SpotState, spot_output

__all__ = [
    "DAYS_PER_YEAR",
    "HOURS",
    "FleetPower",
    "HourPrices",
    "PowerContract",
    "SiteDay",
    "SitePower",
    "SpotPowerProcess",
    "SpotState",
    "Threshold",
    "build_fleet_power",
    "contract_of",
    "dr_capacity_usd_per_day",
    "flat_price_usd_per_mwh",
    "power_processes",
    "site_day",
    "spot_output",
]
