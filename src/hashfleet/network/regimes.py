"""Structural shocks of the rest of the network as a stochastic component ("regimes").

The supply model (:mod:`hashfleet.network.supply`) explains hashrate by hashprice: halving
responses, capitulations when the price falls, build-outs when margins are high.  What it
does not explain — the 2021 relocation out of China, storms and curtailment waves, chip
shortages that slowed growth in 2020–21, booms faster than margins imply — is modelled here
as two random processes per path, applied to the rest of the network's running hashrate
after the supply step (stage 15):

Drops (compound Poisson)
    On each day a drop happens with probability ``1 − exp(−λ/365.25)``; its size ``s`` is
    lognormal with median ``m`` and log standard deviation ``σ_s`` (capped at 0.9), and takes
    that share of the running hashrate offline: ``off ← 1 − (1 − off)(1 − s)``; offline
    capacity returns with half-life ``h``: ``off ← off · 2^(−1/h)`` daily.
Growth regimes (random walk)
    ``g ← g + σ_g · sqrt(1/365.25) · ε`` daily, ε standard normal: a multiplier ``e^g`` on the
    running hashrate whose log wanders with standard deviation ``σ_g`` over a year.

The rest of the network runs ``H_supply · (1 − off) · e^g``.  The supply model then sees the
hashprice this hashrate implies, so its own response (switching, investment) follows.

Calibration (:func:`fit_regimes`) uses the calibration's residual ``r = log(real) −
log(model)`` of the closed-loop deterministic history run (real prices): a *drop* is an episode
in which ``r`` falls more than ``threshold`` (12 %) below its running maximum of the last 21
days (a fast fall); λ is the number of episodes per year, ``m`` and ``σ_s`` the median and log
standard deviation of their depths, ``h`` the median days from the trough until half the depth is
recovered.  ``σ_g`` is the random-walk scale of the residual with the drop episodes masked:
``σ_g² = Σ_ℓ v_ℓ ℓ / Σ_ℓ ℓ²`` (least squares of ``v_ℓ = var(r_{t+ℓ} − r_t)`` on ``ℓ`` in
years, lags 30, 91, 182 and 365 days).

Three numbers per path and day come from the ``network_regimes`` stream, block by block, so
a path's draws depend only on the root seed and its index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.constants import DAYS_PER_YEAR

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine

__all__ = ["RegimeParams", "Regimes", "fit_regimes", "regime_step"]

FloatArray = NDArray[np.float64]
MAX_DROP = 0.9


@dataclass(frozen=True)
class RegimeParams:
    """Parameters of the regimes (see the module docstring).

    Attributes
    ----------
    drop_rate_per_year : float
        λ, drops per year.
    drop_median_share, drop_sigma : float
        Lognormal size of a drop: median share and log standard deviation.
    recovery_half_life_days : float
        Half-life of the return of dropped capacity (days).
    growth_sd_per_sqrt_year : float
        σ_g, the random walk's standard deviation over a year.
    """

    drop_rate_per_year: float
    drop_median_share: float
    drop_sigma: float
    recovery_half_life_days: float
    growth_sd_per_sqrt_year: float

    def to_json(self) -> dict[str, float]:
        """JSON-ready values (rounded to 4 significant digits)."""
        return {k: float(f"{v:.4g}") for k, v in self.__dict__.items()}


def regime_step(
    offline: FloatArray, log_mult: FloatArray, p: RegimeParams, draws: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """One day of the regimes.

    Parameters
    ----------
    offline, log_mult : ndarray, shape (n_paths,)
        Share offline after drops, and log of the growth multiplier, before the day.
    p : RegimeParams
    draws : ndarray, shape (n_paths, 3)
        A uniform (occurrence), then two standard normals (drop size, growth step).

    Returns
    -------
    (offline, log_mult) : the values after the day, shape (n_paths,) each.
    """
    keep = 0.5 ** (1.0 / p.recovery_half_life_days)
    off = offline * keep
    hit = draws[:, 0] < -np.expm1(-p.drop_rate_per_year / DAYS_PER_YEAR)
    size = np.minimum(p.drop_median_share * np.exp(p.drop_sigma * draws[:, 1]), MAX_DROP)
    off = np.where(hit, 1.0 - (1.0 - off) * (1.0 - size), off)
    g = log_mult + p.growth_sd_per_sqrt_year * np.sqrt(1.0 / DAYS_PER_YEAR) * draws[:, 2]
    return off, g


class Regimes:
    """Engine component: multiplies the rest of the network's running hashrate by the
    regimes' factor ``(1 − off)·e^g`` after the supply step (stage 15), from day 1 on.

    Records ``regime_offline_share`` and ``regime_log_multiplier``.
    """

    def __init__(self, params: RegimeParams) -> None:
        self.params = params

    def attach(self, engine: ChunkEngine) -> None:
        """Add the regimes step after the supply step."""
        rng = engine.rng("network_regimes")
        n = engine.n_paths
        state = {"off": np.zeros(n), "g": np.zeros(n)}
        engine.declare("regime_offline_share", "1", "Share of the rest offline after drops")
        engine.declare("regime_log_multiplier", "1", "Log of the growth-regime multiplier")

        def step(day: int) -> None:
            if day > 0:
                draws = np.concatenate(
                    [_day_draws(g, rng.block_paths) for g in rng.generators], axis=0
                )[:n]
                state["off"], state["g"] = regime_step(state["off"], state["g"], self.params, draws)
                t = engine.today
                t.rest_hashrate_hs = t.rest_hashrate_hs * (1.0 - state["off"]) * np.exp(state["g"])
            engine.values["regime_offline_share"] = state["off"].copy()
            engine.values["regime_log_multiplier"] = state["g"].copy()

        engine.add_step(15, "regimes", step)


def fit_regimes(
    residual: FloatArray, *, threshold: float = 0.12, window_days: int = 21
) -> tuple[RegimeParams, list[dict[str, Any]]]:
    """Fit the regimes to a daily log residual (see the module docstring).

    Parameters
    ----------
    residual : ndarray, shape (n_days,)
        ``log(real hashrate) − log(model hashrate)``, daily.
    threshold : float
        Depth below the running maximum (as a share) that makes an episode a drop.
    window_days : int
        Window of the running maximum: a drop is a *fast* fall, within this many days (a
        slow decline is the random walk's).

    Returns
    -------
    (RegimeParams, episodes)
        The fitted parameters and the detected drops (start, trough and recovery indices,
        depth).
    """
    r = np.asarray(residual, dtype=np.float64)
    n = r.size
    if n < 2 * window_days:
        raise ValueError(f"residual: expected at least {2 * window_days} days, got {n}")
    runmax = np.array([r[max(0, i - window_days) : i + 1].max() for i in range(n)])
    depth = -np.expm1(r - runmax)  # share below the running maximum
    episodes: list[dict[str, Any]] = []
    i = 0
    while i < n:
        if depth[i] < threshold:
            i += 1
            continue
        peak = int(np.flatnonzero(r[max(0, i - window_days) : i + 1] == runmax[i])[0])
        peak += max(0, i - window_days)
        j = i
        while j < n and depth[j] >= threshold / 2:
            j += 1
        trough = i + int(np.argmax(depth[i:j]))
        d = float(depth[trough])
        half = np.flatnonzero(depth[trough:] <= d / 2)
        rec = int(half[0]) if half.size else n - trough
        episodes.append(
            {"start": peak, "trough": trough, "end": j, "depth": d, "half_recovery_days": rec}
        )
        i = j + 1
    years = n / DAYS_PER_YEAR
    if episodes:
        depths = np.array([e["depth"] for e in episodes])
        med = float(np.exp(np.mean(np.log(depths))))
        sig = float(np.std(np.log(depths))) if depths.size > 1 else 0.3
        half_life = float(np.median([max(e["half_recovery_days"], 1) for e in episodes]))
    else:
        med, sig, half_life = threshold, 0.3, 30.0
    mask = np.ones(n, dtype=bool)
    for e in episodes:
        mask[e["start"] : min(e["end"] + e["half_recovery_days"], n)] = False
    num = den = 0.0
    for lag in (30, 91, 182, 365):
        if lag >= n:
            continue
        ok = mask[lag:] & mask[:-lag]
        if ok.sum() < 10:
            continue
        diff = (r[lag:] - r[:-lag])[ok]
        v = float(np.mean((diff - diff.mean()) ** 2))
        ly = lag / DAYS_PER_YEAR
        num += v * ly
        den += ly * ly
    sd = float(np.sqrt(num / den)) if den > 0 else 0.0
    params = RegimeParams(
        drop_rate_per_year=len(episodes) / years,
        drop_median_share=min(med, 0.9),
        drop_sigma=min(sig, 3.0),
        recovery_half_life_days=half_life,
        growth_sd_per_sqrt_year=min(sd, 5.0),
    )
    return params, episodes


def _day_draws(gen: np.random.Generator, n: int) -> FloatArray:
    """One uniform and two normals per path of a stream block, shape (n, 3)."""
    out = np.empty((n, 3))
    out[:, 0] = gen.random(n)
    out[:, 1:] = gen.standard_normal((n, 2))
    return out
