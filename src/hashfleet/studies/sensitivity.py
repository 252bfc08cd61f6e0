"""Sensitivity studies: one-at-a-time tornado, Sobol indices, weighted cases.

Every study is written against an **evaluation function** ``evaluate(overrides) ->
{metric: per-path values}`` (``overrides``: dotted path -> value, as ``--set``), so the
machinery is tested on closed forms without the engine; :func:`engine_evaluator` is the one
that runs hashfleet, every time with the **same seed** — common random numbers, so that a
difference between two inputs is not drowned in Monte Carlo noise.

* **Tornado** (:func:`tornado`): each factor at its low and high value, the others at their
  base; the swing ``E[Y | high] − E[Y | low]`` with a normal interval from the paired
  per-path differences; factors ordered by ``|swing|``.
* **Sobol indices** (:func:`sobol_indices`): inputs independent and uniform on
  ``[low, high]``; a Saltelli design from a scrambled Sobol sequence
  (:class:`scipy.stats.qmc.Sobol` in ``2k`` dimensions: matrices ``A``, ``B`` and ``A_B^i``,
  ``A`` with column ``i`` from ``B``), ``N(k + 2)`` evaluations of ``Y`` = the mean of the
  metric across paths.  First order by Saltelli et al. (2010),
  ``S_i = mean(f(B)·(f(A_B^i) − f(A))) / V``; total by Jansen (1999),
  ``S_Ti = mean((f(A) − f(A_B^i))²) / (2V)``; ``V`` the variance of ``f(A) ∪ f(B)``, and
  ``f`` centred on the mean of ``f(A) ∪ f(B)`` first (the first-order estimator's variance
  grows with ``E[Y]²``; the indices do not change with a shift of ``Y``).
  Confidence intervals: percentile bootstrap over the ``N`` rows.  Implemented here with
  NumPy and SciPy rather than SALib: the two estimators are a few lines, SciPy is already a
  dependency, and the design must be evaluated through our own runner.
* **Cases** (:func:`cases_mixture`): the scenario's ``cases:`` (bear/base/bull with
  probabilities) each run on the same seed; the per-path metrics of all cases form one
  mixture distribution, each path of case ``c`` weighted ``w_c / n_c``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from hashfleet.errors import InputError

__all__ = [
    "Evaluate",
    "Factor",
    "SensitivityResult",
    "cases_mixture",
    "engine_evaluator",
    "parse_vary",
    "sobol_indices",
    "tornado",
    "weighted_quantile",
]

#: ``overrides -> {metric: per-path values}``.
Evaluate = Callable[[Mapping[str, Any]], Mapping[str, NDArray[np.float64]]]

_VARY = re.compile(r"^\s*([A-Za-z_][\w.\[\]]*)\s*=\s*([^:]+):([^:]+)\s*$")


@dataclass(frozen=True)
class Factor:
    """An input varied on ``[low, high]`` around its ``base`` (the scenario's value)."""

    field: str
    low: float
    high: float
    base: float
    integer: bool = False

    def value(self, u: float) -> float | int:
        """The value at ``u`` in [0, 1] (0: low, 1: high); rounded for integer fields."""
        x = self.low + float(u) * (self.high - self.low)
        return round(x) if self.integer else x


def parse_vary(spec: str) -> tuple[str, float, float]:
    """``"field=low:high"`` -> ``(field, low, high)``.

    Raises
    ------
    InputError
        Not of that shape, or ``low ≥ high``.
    """
    m = _VARY.match(spec)
    if not m:
        raise InputError(f"--vary: expected FIELD=LOW:HIGH (e.g. run.paths=100:200), got {spec!r}")
    try:
        low, high = float(m.group(2)), float(m.group(3))
    except ValueError:
        raise InputError(f"--vary {m.group(1)}: expected numbers LOW:HIGH, got {spec!r}") from None
    if not low < high:
        raise InputError(f"--vary {m.group(1)}: expected LOW < HIGH, got {low:g}:{high:g}")
    return m.group(1), low, high


def tornado(
    factors: Sequence[Factor],
    evaluate: Evaluate,
    metrics: Sequence[str],
    confidence: float = 0.95,
) -> dict[str, pd.DataFrame]:
    """One-at-a-time sensitivity: each factor at low and high, the others at base.

    Returns
    -------
    dict of metric -> pandas.DataFrame
        Rows by decreasing ``|swing|``: ``factor, low, high, base_value, at_low, at_high,
        swing, ci_low, ci_high, n`` (means across the paths where the metric exists on
        both sides).
    """
    z = _z(confidence)
    base = evaluate({})
    runs = {
        f.field: (evaluate({f.field: f.value(0)}), evaluate({f.field: f.value(1)})) for f in factors
    }
    out = {}
    for m in metrics:
        rows = []
        for f in factors:
            lo_y, hi_y = (np.asarray(r[m], dtype=float) for r in runs[f.field])
            both = np.isfinite(lo_y) & np.isfinite(hi_y)
            d = hi_y[both] - lo_y[both]
            n = int(d.size)
            mean = float(d.mean()) if n else math.nan
            se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
            rows.append(
                {
                    "factor": f.field,
                    "low": f.value(0),
                    "high": f.value(1),
                    "base_value": f.base,
                    "at_low": float(np.mean(lo_y[both])) if n else math.nan,
                    "at_high": float(np.mean(hi_y[both])) if n else math.nan,
                    "swing": mean,
                    "ci_low": mean - z * se,
                    "ci_high": mean + z * se,
                    "n": n,
                }
            )
        df = pd.DataFrame(rows)
        df = df.iloc[np.argsort(-np.abs(df["swing"].to_numpy()), kind="stable")]
        b = np.asarray(base[m], dtype=float)
        df.attrs["base"] = float(np.nanmean(b)) if np.isfinite(b).any() else math.nan
        out[m] = df.reset_index(drop=True)
    return out


def sobol_indices(
    factors: Sequence[Factor],
    evaluate: Evaluate,
    metrics: Sequence[str],
    *,
    n_base: int = 64,
    seed: int = 0,
    n_boot: int = 1000,
    confidence: float = 0.95,
    on_point: Callable[[int, int], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """First-order and total Sobol indices with bootstrap intervals (module docstring).

    Parameters
    ----------
    factors : sequence of Factor
        Independent, uniform on ``[low, high]``.
    evaluate : Evaluate
        ``Y`` of a point is the mean of its per-path values (NaN paths left out).
    n_base : int
        ``N``, a power of 2 (the Sobol sequence's balance); ``N(k + 2)`` evaluations.
    seed : int
        Scrambling of the Sobol sequence and the bootstrap.
    on_point : callable, optional
        ``on_point(done, total)`` after each evaluation (progress).

    Returns
    -------
    dict of metric -> pandas.DataFrame
        One row per factor: ``factor, S1, S1_low, S1_high, ST, ST_low, ST_high``;
        ``attrs``: ``variance``, ``mean``, ``evaluations``.
    """
    from scipy.stats import qmc

    k = len(factors)
    if k < 1:
        raise InputError("--vary: expected at least one factor for Sobol indices, got none")
    if n_base < 2 or n_base & (n_base - 1):
        raise InputError(f"--samples: expected a power of 2 (Sobol balance), got {n_base}")
    u = qmc.Sobol(d=2 * k, scramble=True, seed=seed).random(n_base)
    a, b = u[:, :k], u[:, k:]
    designs = [a, b] + [np.where(np.arange(k) == i, b, a) for i in range(k)]
    total = n_base * (k + 2)
    ys: dict[str, list[NDArray[np.float64]]] = {m: [] for m in metrics}
    done = 0
    for x in designs:
        vals = {m: np.empty(n_base) for m in metrics}
        for j in range(n_base):
            res = evaluate({f.field: f.value(x[j, i]) for i, f in enumerate(factors)})
            for m in metrics:
                y = np.asarray(res[m], dtype=float)
                vals[m][j] = float(np.nanmean(y)) if np.isfinite(y).any() else math.nan
            done += 1
            if on_point is not None:
                on_point(done, total)
        for m in metrics:
            ys[m].append(vals[m])
    rng = np.random.default_rng(seed)
    boot = rng.integers(0, n_base, size=(n_boot, n_base))
    alpha = (1.0 - confidence) / 2.0
    out = {}
    for m in metrics:
        ya, yb, yab = ys[m][0], ys[m][1], np.stack(ys[m][2:])  # yab: (k, N)
        s1, st = _saltelli_jansen(ya, yb, yab)
        s1_b, st_b = _saltelli_jansen(ya[boot], yb[boot], yab[:, boot])  # (n_boot, k)
        df = pd.DataFrame(
            {
                "factor": [f.field for f in factors],
                "S1": s1,
                "S1_low": np.nanquantile(s1_b, alpha, axis=0),
                "S1_high": np.nanquantile(s1_b, 1 - alpha, axis=0),
                "ST": st,
                "ST_low": np.nanquantile(st_b, alpha, axis=0),
                "ST_high": np.nanquantile(st_b, 1 - alpha, axis=0),
            }
        )
        df.attrs.update(
            variance=float(np.var(np.concatenate([ya, yb]), ddof=1)),
            mean=float(np.mean(np.concatenate([ya, yb]))),
            evaluations=total,
        )
        out[m] = df
    return out


def cases_mixture(
    cases: Mapping[str, tuple[float, Mapping[str, Any]]],
    evaluate: Evaluate,
    metrics: Sequence[str],
) -> tuple[pd.DataFrame, dict[str, dict[str, NDArray[np.float64]]]]:
    """Each case run on the same seed, then one weighted mixture of their per-path values.

    Parameters
    ----------
    cases : mapping of name -> (weight, overrides)
        Weights sum to 1 (the scenario's ``cases:`` section checks it).

    Returns
    -------
    (pandas.DataFrame, dict)
        Rows per case and ``mixture`` and metric: ``case, metric, weight, mean, q05, q25,
        q50, q75, q95, p_negative, n, n_missing``; and the per-case per-path values.
    """
    values = {}
    for name, (_, ovr) in cases.items():
        got = evaluate(ovr)
        values[name] = {m: np.asarray(got[m], dtype=float) for m in metrics}
    rows = []
    for m in metrics:
        xs, ws = [], []
        for name, (w, _) in cases.items():
            x_all = values[name][m]
            x = x_all[np.isfinite(x_all)]
            rows.append(_dist_row(name, m, w, x, np.full(x.size, 1.0), x_all.size - x.size))
            if x.size:
                xs.append(x)
                ws.append(np.full(x.size, w / x.size))
        x = np.concatenate(xs) if xs else np.empty(0)
        wt = np.concatenate(ws) if ws else np.empty(0)
        missing = sum(int((~np.isfinite(values[c][m])).sum()) for c in cases)
        rows.append(_dist_row("mixture", m, 1.0, x, wt, missing))
    return pd.DataFrame(rows), values


def weighted_quantile(
    x: NDArray[np.float64], w: NDArray[np.float64], q: Sequence[float]
) -> NDArray[np.float64]:
    """Quantiles of the distribution putting mass ``w_i / Σw`` on ``x_i`` (inverse CDF,
    midpoint rule: with equal weights it is ``numpy.quantile``'s ``hazen`` method)."""
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    c = (np.cumsum(ws) - 0.5 * ws) / ws.sum()
    return np.interp(np.asarray(q, dtype=float), c, xs)


def engine_evaluator(
    file: str | Path,
    *,
    paths: int,
    seed: int,
    metrics: Sequence[str],
    set_args: Sequence[str] = (),
) -> Evaluate:
    """``evaluate`` that runs hashfleet: the scenario file with ``set_args`` then the point's
    overrides, ``paths`` paths, always seed ``seed`` (common random numbers).

    The per-path metrics are :func:`hashfleet.results.decision.path_metrics` and the
    decision metrics (:func:`~hashfleet.results.decision.decision_frame`)."""
    from hashfleet.results.decision import decision_frame, path_metrics
    from hashfleet.runner import simulate
    from hashfleet.scenario import load_scenario

    def evaluate(overrides: Mapping[str, Any]) -> dict[str, NDArray[np.float64]]:
        sc = load_scenario(file, overrides=dict(overrides), set_args=set_args)
        res = simulate(sc, paths=paths, seed=seed)
        pm = path_metrics(res)
        dec = decision_frame(res)
        frame = pm.join(dec[[c for c in dec.columns if c not in pm.columns]])
        missing = [m for m in metrics if m not in frame]
        if missing:
            raise InputError(
                f"--metric: expected per-path metrics among {list(frame)}, got {missing}"
            )
        return {m: frame[m].to_numpy(dtype=float) for m in metrics}

    return evaluate


def base_values(data: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The resolved scenario's value at each dotted path (``a.b[0].c``)."""
    out = {}
    for f in fields:
        node: Any = data
        for part in re.findall(r"[^.\[\]]+|\[\d+\]", f):
            try:
                node = node[int(part[1:-1])] if part.startswith("[") else node[part]
            except (KeyError, IndexError, TypeError):
                raise InputError(
                    f"--vary {f}: expected a field of the scenario, got none there"
                ) from None
        if isinstance(node, bool) or not isinstance(node, int | float):
            raise InputError(f"--vary {f}: expected a numeric field, got {node!r}")
        out[f] = node
    return out


@dataclass
class SensitivityResult:
    """What ``hashfleet sensitivity`` computed (any of the three parts may be absent)."""

    scenario: str
    metrics: list[str]
    factors: list[Factor]
    tornado: dict[str, pd.DataFrame] = field(default_factory=dict)
    sobol: dict[str, pd.DataFrame] = field(default_factory=dict)
    cases: pd.DataFrame | None = None
    case_values: dict[str, dict[str, NDArray[np.float64]]] = field(default_factory=dict)
    case_weights: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``sensitivity.json`` (NaN as null, see ``json_safe``)."""
        from hashfleet.results.base import json_safe

        def frames(d: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
            return {m: {"rows": df.to_dict("records"), **df.attrs} for m, df in d.items()}

        return json_safe(
            {
                "metadata": self.metadata,
                "metrics": self.metrics,
                "factors": [vars(f) for f in self.factors],
                "tornado": frames(self.tornado),
                "sobol": frames(self.sobol),
                "cases": None if self.cases is None else self.cases.to_dict("records"),
                "case_weights": self.case_weights,
            }
        )


# ----------------------------------------------------------------------------- private


def _saltelli_jansen(
    ya: NDArray[np.float64], yb: NDArray[np.float64], yab: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """S1 (Saltelli 2010) and ST (Jansen 1999); ``ya``, ``yb`` shape (..., N), ``yab``
    shape (k, ..., N) -> each (..., k)."""
    both = np.concatenate([ya, yb], axis=-1)
    var = np.var(both, axis=-1, ddof=1)
    # centred (as SALib does): the first-order estimator's variance grows with E[Y]², the
    # indices do not depend on a shift of Y
    mu = np.mean(both, axis=-1, keepdims=True)
    ya, yb, yab = ya - mu, yb - mu, yab - mu
    with np.errstate(divide="ignore", invalid="ignore"):
        s1 = np.mean(yb * (yab - ya), axis=-1) / var
        st = 0.5 * np.mean((ya - yab) ** 2, axis=-1) / var
    return np.moveaxis(s1, 0, -1), np.moveaxis(st, 0, -1)


def _dist_row(
    case: str, metric: str, weight: float, x: NDArray[np.float64], w: NDArray[np.float64], gone: int
) -> dict[str, Any]:
    row: dict[str, Any] = {"case": case, "metric": metric, "weight": weight}
    if x.size:
        q = weighted_quantile(x, w, [0.05, 0.25, 0.5, 0.75, 0.95])
        row |= {
            "mean": float(np.sum(w * x) / np.sum(w)),
            **{
                f"q{int(p * 100):02d}": float(v)
                for p, v in zip((0.05, 0.25, 0.5, 0.75, 0.95), q, strict=True)
            },
            "p_negative": float(np.sum(w * (x < 0)) / np.sum(w)),
        }
    else:
        row |= dict.fromkeys(("mean", "q05", "q25", "q50", "q75", "q95", "p_negative"), math.nan)
    return row | {"n": int(x.size), "n_missing": int(gone)}


def _z(confidence: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2.0)
