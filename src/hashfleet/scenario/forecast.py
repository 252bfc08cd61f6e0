"""Forecast options of the endogenous network: parameter draws and stochastic regimes.

Fields of ``network.hashrate`` (model ``endogenous``) that make its bands forecast intervals
(docs/network.md, "Forecast uncertainty"):

``calibration``
    A stored calibration by name (``NAME`` → ``calibrations/NAME.json`` next to the scenario
    or in the working directory, else the shipped ``hashfleet/data/calibrations/NAME.json``) or
    a path to a ``.json`` file written by ``hashfleet calibrate``.  Its fitted values replace
    the fitted fields the scenario does not set itself.
``parameter_draws``
    Each Monte Carlo path draws its own supply parameters from the calibration's parameter
    distribution (Laplace approximation, see :mod:`hashfleet.studies.calibration`).
``regimes``
    Structural shocks as a stochastic component (:class:`RegimesSpec`).

All are off by default, so existing scenarios give identical results.
"""

from __future__ import annotations

from hashfleet.scenario.fields import Spec, _f

__all__ = ["RegimesSpec"]


class RegimesSpec(Spec):
    """Structural shocks of the rest of the network, random per path
    (:mod:`hashfleet.network.regimes`).  Fields left empty take the calibration's values
    (``regimes`` section of the calibration file, fitted to the history).

    *Drops* (regional bans, relocations such as the 2021 one, storms) are a compound Poisson
    process: a drop takes ``size`` of the running hashrate offline, size lognormal with the
    given median and log standard deviation (capped at 0.9), and it comes back with half-life
    ``recovery_half_life_days``.  *Growth regimes* (chip shortages, build-out booms the
    supply model does not explain) are a random walk in the log of a hashrate multiplier with
    standard deviation ``growth_sd_per_sqrt_year`` over a year."""

    drop_rate_per_year: float | None = _f(
        None, ge=0, le=50, unit="1/year", description="Rate of hashrate drops (per path)."
    )
    drop_median_share: float | None = _f(
        None, gt=0, lt=1, description="Median share of the hashrate a drop takes offline."
    )
    drop_sigma: float | None = _f(
        None, ge=0, le=3, description="Log standard deviation of the drop size."
    )
    recovery_half_life_days: float | None = _f(
        None, gt=0, le=3650, unit="day", description="Half-life of the return after a drop."
    )
    growth_sd_per_sqrt_year: float | None = _f(
        None,
        ge=0,
        le=5,
        unit="1/sqrt(year)",
        description="Standard deviation of the log hashrate multiplier's random walk over a "
        "year (unexplained growth regimes).",
    )
