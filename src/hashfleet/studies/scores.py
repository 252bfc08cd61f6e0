"""Scores of probabilistic forecasts: coverage, CRPS, log score, PIT.

Forecasts are either **samples** (Monte Carlo paths, shape ``(n_targets, n_samples)``) or
**Gaussians** (``mean``, ``sd`` of shape ``(n_targets,)``); targets are observed values of
shape ``(n_targets,)``.  The back-tests score log values (log difficulty, log hashrate), so a
Gaussian here is a lognormal forecast of the level.

CRPS
    ``CRPS(F, y) = E|X − y| − ½·E|X − X'|`` (the energy form), for samples with the empirical
    distribution (``E|X − X'|`` over all ordered pairs, by sorting: ``Σ_i (2i − n + 1)·x_(i)``
    for 0-based ranks); for a Gaussian the closed form
    ``σ·[z(2Φ(z) − 1) + 2φ(z) − 1/√π]``, ``z = (y − μ)/σ`` (Gneiting & Raftery 2007).
Log score
    Negative log density at the target (lower is better).  For samples: a Gaussian with the
    samples' mean and standard deviation (stated: samples are scored by their Gaussian fit,
    not a KDE — the paths' log values are close to Gaussian at a horizon and a KDE's bandwidth
    would add a choice).
PIT
    ``F(y)``: the share of samples at or below the target (mid-rank for ties), or ``Φ(z)``.
Coverage
    Whether the target is in the central ``level`` band: sample quantiles
    ``(1 ± level)/2`` (linear interpolation), or ``μ ± z_{(1+level)/2}·σ``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

__all__ = [
    "coverage_gaussian",
    "coverage_samples",
    "crps_gaussian",
    "crps_samples",
    "log_score_gaussian",
    "log_score_samples",
    "pit_gaussian",
    "pit_samples",
]

FloatArray = NDArray[np.float64]
_SQRT_PI = float(np.sqrt(np.pi))


def crps_samples(samples: FloatArray, y: FloatArray) -> FloatArray:
    """CRPS of the empirical distribution of each row of ``samples`` at ``y``.

    Parameters
    ----------
    samples : ndarray, shape (n_targets, n_samples)
    y : ndarray, shape (n_targets,)

    Returns
    -------
    ndarray, shape (n_targets,)
    """
    x = np.sort(np.asarray(samples, dtype=np.float64), axis=1)
    n = x.shape[1]
    e_xy = np.mean(np.abs(x - np.asarray(y, dtype=np.float64)[:, None]), axis=1)
    w = 2.0 * np.arange(n) - n + 1.0
    e_xx = 2.0 * np.sum(x * w[None, :], axis=1) / (n * n)
    out: FloatArray = e_xy - 0.5 * e_xx
    return out


def crps_gaussian(mean: FloatArray, sd: FloatArray, y: FloatArray) -> FloatArray:
    """Closed-form CRPS of N(mean, sd²) at ``y``, all shape (n_targets,)."""
    sd = np.asarray(sd, dtype=np.float64)
    z = (np.asarray(y, dtype=np.float64) - mean) / sd
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    out: FloatArray = sd * (z * (2.0 * ndtr(z) - 1.0) + 2.0 * pdf - 1.0 / _SQRT_PI)
    return out


def log_score_gaussian(mean: FloatArray, sd: FloatArray, y: FloatArray) -> FloatArray:
    """Negative log density of N(mean, sd²) at ``y``, shape (n_targets,)."""
    sd = np.asarray(sd, dtype=np.float64)
    z = (np.asarray(y, dtype=np.float64) - mean) / sd
    out: FloatArray = 0.5 * z * z + np.log(sd) + 0.5 * np.log(2.0 * np.pi)
    return out


def log_score_samples(samples: FloatArray, y: FloatArray) -> FloatArray:
    """Log score of the Gaussian fitted to each row of ``samples`` (see the module docstring)."""
    x = np.asarray(samples, dtype=np.float64)
    sd = np.maximum(np.std(x, axis=1, ddof=1), 1e-9)
    return log_score_gaussian(np.mean(x, axis=1), sd, y)


def pit_samples(samples: FloatArray, y: FloatArray) -> FloatArray:
    """Mid-rank PIT ``(#{x < y} + ½·#{x = y}) / n`` per row, shape (n_targets,)."""
    x = np.asarray(samples, dtype=np.float64)
    yy = np.asarray(y, dtype=np.float64)[:, None]
    out: FloatArray = (np.sum(x < yy, axis=1) + 0.5 * np.sum(x == yy, axis=1)) / x.shape[1]
    return out


def pit_gaussian(mean: FloatArray, sd: FloatArray, y: FloatArray) -> FloatArray:
    """``Φ((y − mean)/sd)``, shape (n_targets,)."""
    out: FloatArray = ndtr((np.asarray(y, dtype=np.float64) - mean) / np.asarray(sd))
    return out


def coverage_samples(samples: FloatArray, y: FloatArray, level: float) -> NDArray[np.bool_]:
    """Whether ``y`` lies in each row's central ``level`` band of sample quantiles."""
    lo, hi = np.quantile(samples, [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=1)
    out: NDArray[np.bool_] = (y >= lo) & (y <= hi)
    return out


def coverage_gaussian(
    mean: FloatArray, sd: FloatArray, y: FloatArray, level: float
) -> NDArray[np.bool_]:
    """Whether ``y`` lies in ``mean ± z·sd``, ``z`` the ``(1 + level)/2`` normal quantile."""
    z = float(ndtri((1.0 + level) / 2.0))
    out: NDArray[np.bool_] = np.abs(np.asarray(y) - mean) <= z * np.asarray(sd)
    return out
