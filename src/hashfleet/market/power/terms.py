"""Power over time: a PPA's price day by day — escalator, expiry, re-contracting.

A fixed contract with ``terms`` (:class:`~hashfleet.scenario.power.PpaTermsSpec`) has a price
that changes over the run; :class:`ContractPriceProcess` (purpose ``"power_contracts"``, drawn
after the spot process, drawing no random number) gives it per path and day as the exogenous
output :func:`contract_output` ``(site)``, which dispatch reads through
:meth:`hashfleet.market.power.FleetPower.hours`.

Price on day ``d``
    * up to the end date: ``p_0 · (1 + e)^k``, ``k`` the number of anniversaries of the run's
      start passed by day ``d`` (escalation in annual steps, as PPAs do);
    * after it, ``recontract: spot``: the site's spot daily level of the day plus the premium;
    * ``recontract: forward``: a new fixed price on the first day ``r`` after each expiry,
      flat for ``N = round(365.25 · term_years)`` days, then again:

      ``F_r = (1/N) Σ_{k=0}^{N−1} E[L_{r+k} | x_r] + premium``

      with the spot model's conditional expectation of the (uncapped) daily level:
      ``E[L_{r+k} | x_r] = exp(c(r+k) + φ^k x_r + σ²(1 − φ^{2k})/2 + Σ_{i<k} λ(e^{φ^i μ_J +
      φ^{2i} σ_J²/2} − 1))``, ``c(d)`` the log median (trend included) plus the season, ``x``
      the log deviation, ``φ`` the daily persistence, ``λ`` the daily jump rate.  This is the
      fair (risk-neutral under the model, no risk premium) price of a baseload swap over the
      new term, per path: re-contracting in a high-price state locks in a high price.  The
      price cap is ignored in the forward (it lowers ``E[min(L, cap)]`` only when spikes
      reach the cap); set the premium to price risk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hashfleet.constants import DAYS_PER_YEAR
from hashfleet.market.power.spot import SpotPowerProcess, spot_deviation_output, spot_output
from hashfleet.processes import FloatArray
from hashfleet.scenario.power import PpaTermsSpec

__all__ = ["ContractPriceProcess", "TermsState", "contract_output"]


def contract_output(site: int) -> str:
    """Name of the output holding a time-varying contract's price of the day (USD/MWh)."""
    return f"contract_usd_per_mwh:{site}"


def _anniversaries(start: dt.date, days: NDArray[np.int64]) -> NDArray[np.float64]:
    """Anniversaries of ``start`` passed by each day (0 in the first year)."""
    out = np.empty(days.shape[0])
    for n, d in enumerate(days):
        date = start + dt.timedelta(days=int(d))
        out[n] = date.year - start.year - ((date.month, date.day) < (start.month, start.day))
    return out


@dataclass
class TermsState:
    """Per stream block: the current re-contracted price (n_paths,) of each forward site."""

    n_paths: int
    price: dict[int, NDArray[np.float64]]


class ContractPriceProcess:
    """The price of the day of every fixed contract with ``terms``.

    Parameters
    ----------
    sites : sequence of (site index, starting price USD/MWh, PpaTermsSpec)
        The contracts whose price changes over time
        (:meth:`~hashfleet.market.power.contracts.PowerContract.dated_terms`).
    start : datetime.date
        Day 0.
    spot : SpotPowerProcess or None
        The sites' spot process (needed after an end date).
    """

    def __init__(
        self,
        sites: Sequence[tuple[int, float, PpaTermsSpec]],
        start: dt.date,
        spot: SpotPowerProcess | None,
    ) -> None:
        self.sites = tuple(sites)
        self.start = start
        self.spot = spot
        self.outputs: tuple[str, ...] = tuple(contract_output(i) for i, _, _ in sites)
        #: Per site: first day after the end date (None: no end; never before day 0) and
        #: the term of each re-contracted price (days).
        self.end_day: dict[int, int | None] = {}
        self.term_days: dict[int, int] = {}
        #: Forward weights by (site, renewal day), computed when first needed (deterministic).
        self._weights: dict[tuple[int, int], tuple[FloatArray, FloatArray]] = {}
        for i, _, terms in sites:
            if terms.end_date is None:
                self.end_day[i] = None
                continue
            self.end_day[i] = max((terms.end_date - start).days + 1, 0)
            self.term_days[i] = max(1, round(terms.recontract_term_years * DAYS_PER_YEAR))
            if terms.recontract == "forward" or terms.recontract == "spot":
                assert spot is not None and i in spot.site_index, "re-contracting needs spot"

    def _forward_weights(
        self, site: int, r: int, n: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(a_k, φ^k)`` over the term's ``n`` days: ``F(x) = mean_k a_k·exp(φ^k x)``."""
        sp = self.spot
        assert sp is not None
        j = sp.site_index[site]
        k = np.arange(n, dtype=np.float64)
        phi, sigma = sp.phi[j], sp.sigma[j]
        pk = phi**k
        var = sigma**2 * (1.0 - pk**2)
        lam, mu, sd = sp.jump_p[j], sp.jump_mu[j], sp.jump_sd[j]
        jump_term = lam * np.expm1(pk * mu + pk**2 * sd**2 / 2.0)  # day i's jump after k−1−i
        jumps = np.concatenate([[0.0], np.cumsum(jump_term)[:-1]])
        centre = sp.log_centre(np.arange(r, r + n))[:, j]
        return np.exp(centre + var / 2.0 + jumps), pk

    def forward_usd_per_mwh(self, site: int, r: int, x: NDArray[np.float64]) -> FloatArray:
        """The forward price (no premium) of the term starting on renewal day ``r`` given the
        log deviation ``x`` (n_paths,) of that day: ``(n_paths,)`` USD/MWh."""
        key = (site, r)
        if key not in self._weights:
            self._weights[key] = self._forward_weights(site, r, self.term_days[site])
        a, pk = self._weights[key]
        return np.mean(a[None, :] * np.exp(pk[None, :] * x[:, None]), axis=1)

    def init_state(self, n_paths: int) -> TermsState:
        """No re-contracted price yet."""
        return TermsState(n_paths, {})

    def window(
        self,
        state: TermsState,
        rng: np.random.Generator,
        first_day: int,
        n_days: int,
        inputs: Mapping[str, FloatArray],
    ) -> dict[str, FloatArray]:
        """The contracts' prices of days ``first_day .. first_day + n_days − 1``."""
        days = np.arange(first_day, first_day + n_days)
        years = _anniversaries(self.start, days)
        out: dict[str, FloatArray] = {}
        for i, price0, terms in self.sites:
            base = price0 * (1.0 + terms.escalator_per_year) ** years
            price = np.broadcast_to(base, (state.n_paths, n_days)).copy()
            end = self.end_day[i]
            if end is not None and end < first_day + n_days:
                after = days >= end
                if terms.recontract == "spot":
                    level = inputs[spot_output(i)]
                    price[:, after] = level[:, after] + terms.recontract_premium_usd_per_mwh
                else:
                    x = inputs[spot_deviation_output(i)]
                    for c in np.flatnonzero(after):
                        d = int(days[c])
                        if (d - end) % self.term_days[i] == 0:
                            fwd = self.forward_usd_per_mwh(i, d, x[:, c])
                            state.price[i] = fwd + terms.recontract_premium_usd_per_mwh
                        price[:, c] = state.price[i]
            out[contract_output(i)] = price
        return out
