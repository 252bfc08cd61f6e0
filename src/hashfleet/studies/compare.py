"""Compare strategies under common random numbers.

A scenario lists ``strategies``: each is a name and a set of overrides of the base scenario
(usually its ``policies``); each value replaces the whole value at its dotted path
(:func:`strategy_scenario`).  :func:`compare` runs every strategy with the **same seed**.
Random streams are keyed by (seed, stream block, purpose), so the BTC price, fees, network
hashrate and block luck of path *i* are the same under every strategy as long as the
strategies draw them the same way; a strategy's own decisions use their own purposes
(``policies``, ``asic_prices``, ...).  The difference of a metric between two strategies is
then taken **per path** (paired), which removes the common noise from the comparison.

For each strategy B and the reference A (the first strategy) and each metric ``X``, with
``D_i = X_i(B) − X_i(A)`` over the ``n`` paths:

* mean difference ``D̄`` with a normal confidence interval ``D̄ ± z · s_D / √n``;
* quantiles of ``D`` across paths;
* ``P(B beats A)``: the share of paths where B is better (ties, equal to a relative
  1e-9, count one half), with a
  Wilson score interval.  "Better" is higher for money and production and lower for costs
  (:data:`hashfleet.finance.valuation.METRICS`).

With ``independent=True`` each strategy gets its own seed (``seed + k``): the unpaired
comparison, whose standard error ``sqrt(s_A²/n + s_B²/n)`` is what common random numbers
improve on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hashfleet.errors import InputError
from hashfleet.finance.valuation import METRICS
from hashfleet.results.comparison import Comparison
from hashfleet.results.decision import path_metrics
from hashfleet.scenario.schema import Scenario

__all__ = ["DEFAULT_METRICS", "Comparison", "compare", "strategy_scenario"]

#: Metrics reported when none are named.
DEFAULT_METRICS: tuple[str, ...] = (
    "npv_usd",
    "free_cash_flow_usd",
    "production_btc",
    "all_in_cost_usd_per_btc",
    "capex_usd",
)


def compare(
    scenario: Scenario | str | Path,
    *,
    paths: int | None = None,
    seed: int | None = None,
    metrics: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    set_args: Sequence[str] = (),
    confidence: float = 0.95,
    independent: bool = False,
    store_paths: bool | None = None,
) -> Comparison:
    """Run the scenario's strategies on common random numbers and compare them per path.

    Parameters
    ----------
    scenario : Scenario, str or pathlib.Path
        A scenario (or YAML file) with at least two ``strategies``.
    paths, seed : int, optional
        Monte Carlo paths and root seed (default: ``run.paths``, ``run.seed``).
    metrics : sequence of str, optional
        Keys of :data:`hashfleet.finance.valuation.METRICS` (default :data:`DEFAULT_METRICS`).
    strategies : sequence of str, optional
        Names to run (default all, in the scenario's order; the first is the reference).
    overrides, set_args
        Applied to the base scenario of a file, after each strategy's own overrides.
    confidence : float
        Level of the intervals, in (0, 1).
    independent : bool
        Give strategy ``k`` the seed ``seed + k`` (unpaired draws; for comparison only).
    store_paths : bool, optional
        Keep every path's daily values while each strategy runs (default
        ``run.outputs.store_paths``), so that the decision metrics of the cash path
        (minimum cash, first day below zero, payback) join the per-path table.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        Fewer than two strategies, unknown strategy or metric names, bad confidence.
    """
    from hashfleet.runner import simulate
    from hashfleet.scenario import load_scenario

    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence: expected a number in (0, 1), got {confidence}")
    if isinstance(scenario, Scenario):
        if overrides or set_args:
            raise InputError("overrides apply when loading a file; pass a path, not a Scenario")
        base = scenario
    else:
        base = load_scenario(scenario, overrides=overrides, set_args=set_args)
    specs = {s.name: s for s in base.strategies}
    names = list(strategies) if strategies else list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise InputError(f"strategies: expected names among {list(specs)}, got {unknown}")
    if len(names) < 2:
        raise InputError(
            f"strategies: expected at least two strategies to compare, got {len(names)} "
            "(list them under `strategies:` in the scenario)"
        )
    chosen = list(metrics) if metrics else list(DEFAULT_METRICS)
    bad = [m for m in chosen if m not in METRICS]
    if bad:
        raise InputError(f"metric: expected names among {list(METRICS)}, got {bad}")
    root = seed if seed is not None else base.run.seed
    n_paths = paths if paths is not None else base.run.paths
    from hashfleet.results.decision import per_path_decision

    t0 = time.perf_counter()
    per_path: dict[str, pd.DataFrame] = {}
    daily: dict[str, Any] = {}
    for k, name in enumerate(names):
        variant = strategy_scenario(base, name)
        seed_k = root + k if independent else root
        res = simulate(variant, paths=n_paths, seed=seed_k, store_paths=store_paths)
        pm = path_metrics(res)
        dec = per_path_decision(res)
        per_path[name] = pm.join(dec[[c for c in dec.columns if c not in pm.columns]])
        daily[name] = res.daily
    summary, paired = _tables(per_path, names, chosen, confidence)
    meta = {
        "scenario": base.name,
        "strategies": names,
        "paths": n_paths,
        "seed": root,
        "confidence": confidence,
        "independent": independent,
        "description": base.description,
        "hashfleet_version": res.metadata.get("hashfleet_version"),
        "wall_time_s": round(time.perf_counter() - t0, 3),
    }
    return Comparison(names, chosen, per_path, summary, paired, meta, daily=daily)


def strategy_scenario(base: Scenario, name: str) -> Scenario:
    """The scenario of strategy ``name``: ``base`` with the strategy's values **replacing**
    the values at their dotted paths (a mapping replaces the whole section, it is not merged:
    ``policies.upgrade: {kind: hold}`` drops the base policy's other fields).

    Raises
    ------
    InputError
        Unknown strategy or a path that does not exist in the resolved scenario.
    ScenarioError
        If the result is not a valid scenario.
    """
    import yaml

    from hashfleet.scenario import dump_resolved, load_scenario_text, parse_field_path
    from hashfleet.scenario.compose import set_value_at
    from hashfleet.scenario.loader import vetted_files

    specs = {s.name: s for s in base.strategies}
    if name not in specs:
        raise InputError(f"strategies: expected a name among {list(specs)}, got {name!r}")
    data = yaml.safe_load(dump_resolved(base))
    for path, value in specs[name].set.items():
        where = f"strategies[{name}].set.{path}"
        try:
            keys = parse_field_path(path)
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None
        try:
            set_value_at(data, keys, value)  # a new key in a mapping is checked by validation
        except (KeyError, IndexError, TypeError):
            raise InputError(
                f"{where}: expected a field path of the scenario, got {path!r}"
            ) from None
    return load_scenario_text(
        yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
        name=f"<strategy {name}>",
        allow_paths=vetted_files(base),  # the files the base and its strategies name, checked
    )


def _tables(
    per_path: dict[str, pd.DataFrame], names: list[str], metrics: list[str], confidence: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    z = float(_norm_ppf(0.5 + confidence / 2.0))
    rows = []
    for s in names:
        for m in metrics:
            # a metric that does not exist on a path (IRR without a sign change) is NaN
            # there: statistics over the paths where it exists, and how many those are
            x_all = per_path[s][m].to_numpy().astype(float)
            x = x_all[np.isfinite(x_all)]
            q = np.quantile(x, [0.05, 0.5, 0.95]) if x.size else np.full(3, np.nan)
            rows.append(
                {
                    "strategy": s,
                    "metric": m,
                    "mean": float(np.mean(x)) if x.size else math.nan,
                    "se": float(np.std(x, ddof=1) / math.sqrt(x.size)) if x.size > 1 else 0.0,
                    "q05": float(q[0]),
                    "q50": float(q[1]),
                    "q95": float(q[2]),
                    "n": int(x.size),
                    "n_missing": int(x_all.size - x.size),
                }
            )
    summary = pd.DataFrame(rows).set_index(["strategy", "metric"])
    ref = names[0]
    prow = []
    for s in names[1:]:
        for m in metrics:
            d_all = per_path[s][m].to_numpy() - per_path[ref][m].to_numpy()
            both = np.isfinite(d_all)  # the paths where both strategies have the metric
            d = d_all[both]
            n = d.size
            mean = float(np.mean(d)) if n else math.nan
            se = float(np.std(d, ddof=1) / math.sqrt(n)) if n > 1 else 0.0
            a = per_path[ref][m].to_numpy()[both]
            tie = np.abs(d) <= 1e-9 * (np.abs(a) + np.abs(a + d)) + 1e-12
            better = ~tie & ((d > 0) if METRICS[m][2] else (d < 0))
            p = float((np.sum(better) + 0.5 * np.sum(tie)) / n) if n else math.nan
            lo, hi = _wilson(p, n, z) if n else (math.nan, math.nan)
            q = np.quantile(d, [0.05, 0.5, 0.95]) if n else np.full(3, np.nan)
            prow.append(
                {
                    "strategy": s,
                    "metric": m,
                    "mean_diff": mean,
                    "se_diff": se,
                    "ci_low": mean - z * se,
                    "ci_high": mean + z * se,
                    "q05_diff": float(q[0]),
                    "q50_diff": float(q[1]),
                    "q95_diff": float(q[2]),
                    "p_beats": p,
                    "p_low": lo,
                    "p_high": hi,
                    "n": n,
                    "n_missing": int(d_all.size - n),
                }
            )
    return summary, pd.DataFrame(prow).set_index(["strategy", "metric"])


def _wilson(p: float, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def _norm_ppf(p: float) -> float:
    """Standard normal quantile (bisection on erf; no SciPy needed)."""
    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if 0.5 * (1.0 + math.erf(mid / math.sqrt(2.0))) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
