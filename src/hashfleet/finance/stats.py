"""Statistics of Monte Carlo capital outcomes.

* Binomial proportions (P(insolvency), P(breach), ...): Wilson score and Clopper–Pearson
  (exact) intervals.
* Tail risk of ending equity: ``VaR_α`` is the α-quantile of ending equity (USD; a level,
  not a loss) and ``CVaR_α`` the mean of the outcomes at or below it (lower tail).
* Paired differences under common random numbers: mean, standard error ``s_D/√n`` and a
  normal interval.
* Time to first event: per-horizon probabilities (with intervals) and quantiles of the day
  of the first event among paths that had one (paths without one are censored at the
  horizon).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

__all__ = [
    "Paired",
    "Proportion",
    "clopper_pearson",
    "first_event_summary",
    "paired_difference",
    "proportion",
    "var_cvar",
    "wilson",
]


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k/n``."""
    if n <= 0:
        raise ValueError(f"n: expected > 0, got {n}")
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    lo = 0.0 if k == 0 else max(0.0, mid - half)
    hi = 1.0 if k == n else min(1.0, mid + half)
    return lo, hi


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of a binomial proportion ``k/n``."""
    if n <= 0:
        raise ValueError(f"n: expected > 0, got {n}")
    a = 1 - confidence
    lo = 0.0 if k == 0 else float(sps.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(sps.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


@dataclass(frozen=True)
class Proportion:
    """An estimated probability with its Wilson interval."""

    k: int
    n: int
    p: float
    lo: float
    hi: float


def proportion(mask: ArrayLike, confidence: float = 0.95) -> Proportion:
    """The share of ``True`` in ``mask`` (one entry per path) with a Wilson interval."""
    m = np.asarray(mask, dtype=bool)
    k, n = int(m.sum()), int(m.size)
    lo, hi = wilson(k, n, confidence)
    return Proportion(k, n, k / n, lo, hi)


def var_cvar(x: ArrayLike, alpha: float = 0.05) -> tuple[float, float]:
    """Lower-tail ``(VaR_α, CVaR_α)`` of outcomes ``x`` (module docstring), in x's unit."""
    a = np.sort(np.asarray(x, dtype=float))
    var = float(np.quantile(a, alpha))
    return var, float(a[a <= var].mean())


@dataclass(frozen=True)
class Paired:
    """Paired difference ``D = b − a`` over paths."""

    mean: float
    se: float
    lo: float
    hi: float
    n: int


def paired_difference(a: ArrayLike, b: ArrayLike, confidence: float = 0.95) -> Paired:
    """Mean of ``b − a`` path by path, its standard error and a normal interval."""
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = d.size
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    m = float(d.mean())
    return Paired(m, se, m - z * se, m + z * se, n)


def first_event_summary(
    first_day: NDArray[np.int64],
    horizons_days: Sequence[int],
    quantiles: Sequence[float] = (0.1, 0.5, 0.9),
    confidence: float = 0.95,
) -> dict[str, object]:
    """P(event by each horizon) and quantiles of the first event's day.

    Parameters
    ----------
    first_day : ndarray of int, shape (n_paths,)
        Day of each path's first event, −1 for none.
    """
    d = np.asarray(first_day)
    had = d >= 0
    by = {int(h): proportion(had & (d < h), confidence) for h in horizons_days}
    q = {float(x): float(np.quantile(d[had], x)) for x in quantiles} if had.any() else {}
    return {"by_horizon": by, "day_quantiles": q, "n_with_event": int(had.sum())}
