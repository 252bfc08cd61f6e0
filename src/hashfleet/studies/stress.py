"""Stress tests of a capital plan: named shocks, Monte Carlo summaries, reverse stress test.

**Named shocks** (:mod:`hashfleet.studies.shocks`) are scenario transformations: each turns
the scenario's data (the merged YAML as a dict) and a shock level into dotted-path
overrides, applied exactly like ``--set`` (:func:`hashfleet.scenario.load_scenario_text`
with ``overrides``):

* ``price_crash`` (level: share of the price lost on day 0, 0..1): the BTC price model starts
  at ``(1 − level)`` × its start; the network hashrate keeps its own path, so it **lags** the
  price (miners do not switch off at once); the refinancing stress indicator sees the crash
  as a drawdown from the pre-start high.  Under common random numbers a GBM/Merton/
  bootstrap path scales with its start, so insolvency is monotone in the level path by path;
* ``halving`` (level: days until the next halving): the chain starts ``level × 144`` blocks
  before the next halving height;
* ``power_spike`` (level: relative increase): every site's ``*_usd_per_mwh`` and
  ``*_usd_per_kwh`` price × ``(1 + level)``;
* ``delivery_slip`` (level: days): every cohort's ``install_date`` later by ``level`` days;
* ``tenant_default`` (level: default hazard per year): needs the scenario's ``hpc`` section
  (added by the HPC capability); sets every lease's ``tenant_default_per_year``.

**Runs** (:func:`run_capital`) compile the scenario, add a
:class:`~hashfleet.finance.capital.CapitalComponent` and run the chunk engines directly (the
runner's lowest level), then :func:`summarise` reports P(insolvency), P(breach) and
P(margin call) by horizon with Wilson intervals, the first-event day distribution, minimum
liquidity, equity raised, VaR/CVaR of ending equity and the all-in cost per BTC.

**Reverse stress test** (:func:`reverse_stress`): the smallest shock level whose
P(insolvency) reaches a threshold, by bisection over **paired** runs (one seed for every
level), written against a callable ``p_insolvency(level, seed) -> (k, n)``.  Its uncertainty
is the delta-method standard error ``SE(x̂) = sqrt(p(1 − p)/n) / |dp/dx|`` with the slope
from a paired central difference at ``x̂``, combined with the bisection's resolution.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from hashfleet.errors import InputError
from hashfleet.finance.capital import CapitalComponent
from hashfleet.finance.stats import first_event_summary, proportion, var_cvar
from hashfleet.scenario.capital import CapitalSpec
from hashfleet.studies.shocks import SHOCKS, resolved_data, shock_overrides, shocked_scenario

__all__ = [
    "SHOCKS",
    "CapitalRun",
    "ReverseStress",
    "engine_p_insolvency",
    "format_stress",
    "resolved_data",
    "reverse_stress",
    "run_capital",
    "shock_overrides",
    "shocked_scenario",
    "stress",
    "summarise",
]

FloatArray = NDArray[np.float64]


@dataclass
class CapitalRun:
    """Per-path outcomes of one run of a capital plan.

    Attributes
    ----------
    n_days : int
    events : pandas.DataFrame
        ``path, day, kind, instrument``.
    insolvent_day : ndarray of int, shape (n_paths,)
        −1 if solvent at the horizon.
    min_cash_usd, equity_raised_usd : ndarray, shape (n_paths,)
    ending_equity_usd : ndarray, shape (n_paths,)
        Net asset value at the horizon (USD, not floored; ``nav_usd``): the "ending equity"
        of VaR/CVaR.
    ending_share_value_usd : ndarray, shape (n_paths,)
        Share-price proxy × shares at the horizon (floored at 0).
    totals : dict of str -> ndarray, shape (n_paths,)
        Run totals of production and cost flows.
    """

    n_days: int
    events: pd.DataFrame
    insolvent_day: NDArray[np.int64]
    min_cash_usd: FloatArray
    equity_raised_usd: FloatArray
    ending_equity_usd: FloatArray
    ending_share_value_usd: FloatArray
    totals: dict[str, FloatArray]

    @property
    def n_paths(self) -> int:
        """Paths."""
        return int(self.insolvent_day.size)

    def first_day(self, kinds: Sequence[str]) -> NDArray[np.int64]:
        """Day of each path's first event of one of ``kinds``, −1 if none."""
        out = np.full(self.n_paths, -1, dtype=np.int64)
        ev = self.events[self.events["kind"].isin(kinds)]
        if len(ev):
            first = ev.groupby("path")["day"].min()
            idx = first.index.to_numpy(dtype=np.int64)
            keep = idx < self.n_paths
            out[idx[keep]] = first.to_numpy(dtype=np.int64)[keep]
        return out

    def all_in_cost_usd_per_btc(self) -> FloatArray:
        """(power + opex + other costs + interest + fees + taxes) / production, per path."""
        t = self.totals
        cost = sum((t[k] for k in _COSTS if k in t), np.zeros(self.n_paths))
        prod = t["production_btc"]
        return np.divide(cost, prod, out=np.full(self.n_paths, np.nan), where=prod > 0)


#: The costs of the all-in cost per BTC, and the run totals a stress run keeps.
_COSTS = (
    "power_cost_usd",
    "opex_usd",
    "interest_usd",
    "financing_fees_usd",
    "taxes_usd",
    "hosting_usd",
    "maintenance_usd",
)
_TOTALS = ("production_btc", *_COSTS)


def run_capital(
    scenario: Any,
    capital: CapitalSpec,
    *,
    paths: int,
    seed: int,
    chunk_paths: int | None = None,
) -> CapitalRun:
    """Run ``scenario`` with the capital plan on ``paths`` paths (the runner's lowest level:
    one :class:`~hashfleet.engine.core.ChunkEngine` per chunk, each run to the horizon).

    Results do not depend on ``chunk_paths`` (a multiple of 250; default one chunk).
    """
    from hashfleet.engine.core import ChunkEngine
    from hashfleet.engine.streams import STREAM_BLOCK_PATHS as B
    from hashfleet.model import compile_scenario

    # the composition root attaches the plan of the scenario's ``capital`` section
    model = compile_scenario(scenario.model_copy(update={"capital": capital}))
    comp = next(c for c in model.components if isinstance(c, CapitalComponent))
    n_blocks = math.ceil(paths / B)
    per = n_blocks if chunk_paths is None else max(chunk_paths // B, 1)
    totals = {k: np.zeros(n_blocks * B) for k in _TOTALS}

    def sink(day: int, offset: int, values: dict[str, FloatArray]) -> None:
        for k, acc in totals.items():
            if k in values:
                acc[offset : offset + values[k].size] += values[k]

    for first in range(0, n_blocks, per):
        engine = ChunkEngine(
            model, seed, first, min(per, n_blocks - first), sink, record_events=False
        )
        engine.run_until(model.n_days)
    ev = comp.events()
    ev = ev[ev["path"] < paths].reset_index(drop=True)
    return CapitalRun(
        n_days=model.n_days,
        events=ev,
        insolvent_day=comp.final("insolvent_day").astype(np.int64)[:paths],
        min_cash_usd=comp.final("min_cash_usd")[:paths],
        equity_raised_usd=comp.final("equity_raised_usd")[:paths],
        ending_equity_usd=comp.final("nav_usd")[:paths],
        ending_share_value_usd=comp.final("equity_value_usd")[:paths],
        totals={k: v[:paths] for k, v in totals.items()},
    )


def summarise(
    run: CapitalRun, horizons_days: Sequence[int] | None = None, alpha: float = 0.05
) -> dict[str, Any]:
    """The stress report of one run (module docstring); plain numbers, JSON-ready."""
    hz = list(horizons_days or sorted({min(h, run.n_days) for h in (90, 365, run.n_days)}))
    out: dict[str, Any] = {"paths": run.n_paths}
    kinds = {
        "insolvency": ["insolvency"],
        "breach": ["covenant_breach"],
        "margin_call": ["margin_call"],
        "liquidation": ["liquidation"],
    }
    for name, k in kinds.items():
        s = first_event_summary(run.first_day(k), hz)
        out[f"p_{name}"] = {
            h: dataclasses.asdict(p)
            for h, p in s["by_horizon"].items()  # type: ignore[attr-defined]
        }
        out[f"first_{name}_day_quantiles"] = s["day_quantiles"]
    var, cvar = var_cvar(run.ending_equity_usd, alpha)
    cost = run.all_in_cost_usd_per_btc()
    out |= {
        "min_cash_usd_quantiles": {
            q: float(np.quantile(run.min_cash_usd, q)) for q in (0.05, 0.5, 0.95)
        },
        "equity_raised_usd_mean": float(run.equity_raised_usd.mean()),
        "p_equity_raised": dataclasses.asdict(proportion(run.equity_raised_usd > 0)),
        f"ending_equity_var_{alpha:g}_usd": var,
        f"ending_equity_cvar_{alpha:g}_usd": cvar,
        "ending_equity_mean_usd": float(run.ending_equity_usd.mean()),
        "ending_share_value_median_usd": float(np.median(run.ending_share_value_usd)),
        "all_in_cost_usd_per_btc_median": float(np.nanmedian(cost)),
    }
    return out


@dataclass(frozen=True)
class ReverseStress:
    """Result of :func:`reverse_stress`.

    Attributes
    ----------
    level : float
        Smallest level whose estimated P(insolvency) reaches the threshold.
    se : float
        Its standard error (delta method and bisection resolution).
    lo, hi : float
        ``level ∓ z · se``.
    p_at_level : float
    slope : float
        dP/dlevel at ``level`` (paired central difference).
    evaluations : list of (level, k, n)
    """

    level: float
    se: float
    lo: float
    hi: float
    threshold: float
    p_at_level: float
    slope: float
    evaluations: list[tuple[float, int, int]]


def reverse_stress(
    p_insolvency: Callable[[float, int], tuple[int, int]],
    lo: float,
    hi: float,
    threshold: float,
    *,
    seed: int,
    tol: float | None = None,
    max_iter: int = 30,
    z: float = 1.96,
) -> ReverseStress:
    """Bisection for the smallest level with ``P(insolvency) ≥ threshold`` (module docstring).

    Parameters
    ----------
    p_insolvency : callable ``(level, seed) -> (k, n)``
        Insolvent paths out of ``n`` at a shock level; P must increase with the level.
    lo, hi : float
        A bracket: P(lo) < threshold ≤ P(hi) at ``seed``.
    tol : float, optional
        Bracket width to stop at (default ``(hi − lo) / 1000``).
    """
    evals: list[tuple[float, int, int]] = []

    def p(x: float) -> tuple[float, int]:
        k, n = p_insolvency(x, seed)
        evals.append((x, k, n))
        return k / n, n

    tol = (hi - lo) / 1000 if tol is None else tol
    if p(lo)[0] >= threshold or p(hi)[0] < threshold:
        raise InputError(
            f"reverse stress: expected P({lo}) < {threshold} ≤ P({hi}), got "
            f"{evals[0][1]}/{evals[0][2]} and {evals[-1][1]}/{evals[-1][2]}"
        )
    a, b = lo, hi
    for _ in range(max_iter):
        if b - a <= tol:
            break
        mid = 0.5 * (a + b)
        if p(mid)[0] >= threshold:
            b = mid
        else:
            a = mid
    x = b
    px, n = p(x)
    delta = max((hi - lo) / 20, 4 * tol)
    up, down = min(x + delta, hi), max(x - delta, lo)
    slope = (p(up)[0] - p(down)[0]) / (up - down)
    pbar = min(max(threshold, 1.0 / n), 1 - 1.0 / n)
    se_p = math.sqrt(pbar * (1 - pbar) / n)
    se = math.hypot(se_p / slope if slope > 0 else math.inf, (b - a) / math.sqrt(12))
    return ReverseStress(x, se, x - z * se, x + z * se, threshold, px, slope, evals)


def engine_p_insolvency(
    data: Mapping[str, Any],
    capital: CapitalSpec,
    shock: str,
    *,
    paths: int,
    base_dir: str | Path | None = None,
    horizon_days: int | None = None,
) -> Callable[[float, int], tuple[int, int]]:
    """``p_insolvency(level, seed)`` for :func:`reverse_stress` on the real engine."""

    def p(level: float, seed: int) -> tuple[int, int]:
        ovr = {"run.horizon_days": horizon_days} if horizon_days else None
        sc = shocked_scenario(data, shock, level, base_dir=base_dir, overrides=ovr)
        run = run_capital(sc, capital, paths=paths, seed=seed)
        return int((run.insolvent_day >= 0).sum()), run.n_paths

    return p


def stress(
    data: Mapping[str, Any],
    capital: CapitalSpec,
    *,
    shocks: Mapping[str, float | None] | None = None,
    paths: int | None = None,
    seed: int | None = None,
    horizons_days: Sequence[int] | None = None,
    base_dir: str | Path | None = None,
) -> dict[str, Any]:
    """``hashfleet stress``: the plan under the scenario's own Monte Carlo (``"base"``) and
    each named shock, all with the same seed (common random numbers).

    Parameters
    ----------
    data : mapping
        The scenario as merged YAML data (``load_scenario_data``), ``capital`` key ignored.
    shocks : mapping of shock name -> level (None: the shock's default), optional
        Default: every shock of :data:`SHOCKS`.

    Returns
    -------
    dict
        ``{"base": summary, shock: summary | {"not_applicable": reason}, ...}`` with
        :func:`summarise`'s summaries plus each shock's level and overrides.
    """
    plain = {k: v for k, v in data.items() if k != "capital"}
    run_spec = resolved_data(plain, base_dir)["run"]
    n = int(paths or run_spec.get("paths", 1000))
    sd = int(seed if seed is not None else run_spec.get("seed", 0))
    todo: dict[str, float | None] = dict(shocks) if shocks is not None else dict.fromkeys(SHOCKS)
    out: dict[str, Any] = {}
    full = resolved_data(plain, base_dir)
    for name, level in [("base", None), *todo.items()]:
        try:
            ovr = {} if name == "base" else shock_overrides(full, name, level)
        except InputError as e:
            out[name] = {"not_applicable": str(e)}
            continue
        sc = shocked_scenario(plain, base_dir=base_dir, overrides=ovr)
        summary = summarise(run_capital(sc, capital, paths=n, seed=sd), horizons_days)
        if name != "base":
            summary["level"] = SHOCKS[name][1] if level is None else level
            summary["overrides"] = ovr
        out[name] = summary
    return out


def format_stress(result: Mapping[str, Any]) -> str:
    """The stress report as a table for people: one block per shock (``base`` first) with
    P(insolvency), P(covenant breach) and P(margin call) by horizon with 95 % Wilson
    intervals, the median first-insolvency day, minimum cash, equity raised, VaR/CVaR of
    ending equity (NAV) and the all-in cost per BTC."""

    def pct(p: Mapping[str, Any]) -> str:
        return f"{100 * p['p']:5.1f} % [{100 * p['lo']:4.1f}, {100 * p['hi']:4.1f}]"

    def usd(x: float) -> str:
        return f"{x / 1e6:,.1f} M" if math.isfinite(x) else "–"

    lines: list[str] = []
    for name, s in result.items():
        if "not_applicable" in s:
            lines += [f"{name}: not applicable ({s['not_applicable']})", ""]
            continue
        level = f"  (level {s['level']:g})" if "level" in s else ""
        lines.append(f"{name}{level}: {s['paths']:,} paths")
        for key, label in (
            ("p_insolvency", "P(insolvency)"),
            ("p_breach", "P(covenant breach)"),
            ("p_margin_call", "P(margin call)"),
        ):
            cells = "   ".join(f"by day {h}: {pct(p)}" for h, p in s[key].items())
            lines.append(f"  {label:<19} {cells}")
        q = s.get("first_insolvency_day_quantiles") or {}
        first = ", ".join(f"q{100 * float(k):g} day {v:.0f}" for k, v in q.items()) or "none"
        cash = s["min_cash_usd_quantiles"]
        var_key = next(k for k in s if k.startswith("ending_equity_var_"))
        cvar_key = next(k for k in s if k.startswith("ending_equity_cvar_"))
        lines += [
            f"  first insolvency     {first}",
            f"  minimum cash         q5 {usd(cash[0.05])}, median {usd(cash[0.5])}",
            f"  equity raised        mean {usd(s['equity_raised_usd_mean'])}, "
            f"on {pct(s['p_equity_raised'])} of paths",
            f"  ending equity (NAV)  mean {usd(s['ending_equity_mean_usd'])}, "
            f"VaR 5 % {usd(s[var_key])}, CVaR 5 % {usd(s[cvar_key])}",
            f"  all-in cost per BTC  median {s['all_in_cost_usd_per_btc_median']:,.0f} USD",
            "",
        ]
    return "\n".join(lines)
