"""Rolling-origin back-test of the network forecasts against three baselines.

Forecast origins every 6 months (default 2016-01-01 .. 2024-01-01); from each origin the
network is simulated up to 24 months ahead (or to the end of the shipped history) with the
back-test's set-up (:func:`hashfleet.studies.backtest.backtest_scenario`: the **real** BTC
price path — the forecasts are conditional on the price, except ``model_price_unknown`` —,
the real starting chain state and
hashrate, constant mean fees, Poisson blocks), and every real value after the origin is
scored:

* *difficulty per epoch*: each real retarget's difficulty (first full day of the epoch)
  against the simulated difficulty of that day;
* *hashrate per day*: the real hashrate (centred 7-day mean of the shipped daily estimate)
  against the simulated network hashrate of that day.

Lead times are grouped into horizons: 3 months = days 1–91, 6 = 92–182, 12 = 183–365,
24 = 366–730 after the origin.  Scores are on **log values** (log difficulty, log EH/s):
coverage of the central 50 % and 90 % bands, CRPS (energy form over the paths, closed form
for the Gaussian baselines) and the log score (Gaussian fit to the paths, exact for the
baselines; :mod:`hashfleet.studies.scores`).  Out of sample = origins from 2020-01-01 on (the
calibration's in-sample period ends 2019-12-31).

Methods
    ``model``: the endogenous model with the calibration's parameter distribution (each path
    draws its own parameters) and the calibrated regimes.  ``model_price_unknown``: the same
    without knowing the future price — daily log returns block-bootstrapped (30-day blocks)
    from the 4 years before the origin, recentred to zero drift, from the real price of the
    day before the origin: the fair comparison with the baselines, which do not see the
    price either.  ``model_point``: today's model, the point calibration with the
    back-test's random shocks (0.5 a year, 15 %), no parameter draws.  ``growth``: the
    calculators' constant growth per month — the value of the day before the origin grown at
    the slope of a least-squares line through the log series over the 365 days before the
    origin, with that line's prediction interval (OLS standard error of a new value) as its
    spread.  ``random_walk``: a driftless random
    walk in the log series from its value the day before the origin, step variance per day
    ``mean(Δ₃₀²)/30`` over the two years before the origin.
    Baselines use only history before the origin and not the price.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from hashfleet.errors import InputError
from hashfleet.studies import scores

__all__ = ["HORIZON_MONTHS", "RollingResult", "default_origins", "rolling_backtest"]

FloatArray = NDArray[np.float64]
HORIZON_MONTHS: tuple[int, ...] = (3, 6, 12, 24)
METHODS: tuple[str, ...] = ("model", "model_price_unknown", "model_point", "growth", "random_walk")
#: Years of daily returns before the origin that the price-unknown forecast resamples.
PRICE_HISTORY_YEARS = 4
OUT_OF_SAMPLE_FROM = dt.date(2020, 1, 1)


@dataclass
class RollingResult:
    """What the rolling back-test measured.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per (origin, variable, target, method): lead days, horizon (months), real
        value, CRPS, log score, PIT, in the 50 % / 90 % band.
    table : pandas.DataFrame
        Means per (sample, variable, horizon, method): targets, coverage 50 % and 90 %,
        CRPS, log score.
    summary : dict
    """

    scores: pd.DataFrame
    table: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def default_origins(
    first: dt.date = dt.date(2016, 1, 1), last: dt.date = dt.date(2024, 1, 1)
) -> list[dt.date]:
    """Origins every 6 months (1 January and 1 July) from ``first`` to ``last``."""
    out = []
    y, m = first.year, first.month
    while dt.date(y, m, 1) <= last:
        out.append(dt.date(y, m, 1))
        m += 6
        if m > 12:
            y, m = y + 1, m - 12
    return out


def rolling_backtest(
    origins: Sequence[dt.date] | None = None,
    *,
    horizons_months: Sequence[int] = HORIZON_MONTHS,
    paths: int = 250,
    seed: int = 0,
    calibration: str = "history-2016-2019",
    progress: Callable[[str], None] | None = None,
) -> RollingResult:
    """Run the rolling-origin back-test (see the module docstring).

    Parameters
    ----------
    origins : sequence of datetime.date, optional
        Forecast origins (default :func:`default_origins`).
    horizons_months : sequence of int
        Horizons in months (30.44 days each, rounded); the longest sets the simulated days.
    paths, seed : int
        Monte Carlo paths and root seed of every simulation.
    calibration : str
        Calibration (name or .json path) whose parameter distribution and regimes the
        ``model`` method uses.
    progress : callable, optional
        Called with a line of text after each origin.
    """
    from hashfleet import history

    origins = list(origins or default_origins())
    hz = sorted(int(h) for h in horizons_months)
    if not hz or hz[0] < 1:
        raise InputError(f"horizons: expected months ≥ 1, got {list(horizons_months)}")
    h_days = [round(h * 30.4375) for h in hz]
    last_day = history.load_daily().index[-1].date()
    frames = []
    for origin in origins:
        n_days = min(h_days[-1] + 1, (last_day - origin).days + 1)
        if n_days < 30:
            raise InputError(f"origin {origin}: expected 30 days of history after it")
        frames.append(_score_origin(origin, n_days, paths, seed, calibration))
        if progress is not None:
            progress(f"origin {origin}: {n_days} days scored")
    sc = pd.concat(frames, ignore_index=True)
    sc = sc[sc["lead_days"] >= 1]
    sc["horizon_months"] = np.array(hz)[np.searchsorted(h_days, sc["lead_days"].to_numpy())]
    sc["out_of_sample"] = pd.to_datetime(sc["origin"]) >= pd.Timestamp(OUT_OF_SAMPLE_FROM)
    table = _table(sc)
    summary = {
        "origins": [o.isoformat() for o in origins],
        "horizons_months": hz,
        "paths": paths,
        "seed": seed,
        "calibration": calibration,
        "out_of_sample_from": OUT_OF_SAMPLE_FROM.isoformat(),
        "scored_on": "log values; CRPS energy form (paths) / closed form (Gaussian baselines); "
        "log score = Gaussian fit to the paths / exact Gaussian",
        "conditional_on": "the real BTC price path (the model's inputs), real start state",
    }
    return RollingResult(sc, table, summary)


def write_rolling(result: RollingResult, out_dir: str | Path) -> list[Path]:
    """Write ``rolling_scores.csv``, ``rolling_table.csv``, ``rolling_table.md``,
    ``rolling_summary.json`` and ``pit.png`` into ``out_dir``; return the files."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out: cannot create directory {out}: {exc}") from exc
    files = [out / n for n in ("rolling_scores.csv", "rolling_table.csv", "rolling_table.md")]
    result.scores.to_csv(files[0], index=False)
    result.table.to_csv(files[1], index=False)
    files[2].write_text(format_table(result.table))
    (out / "rolling_summary.json").write_text(json.dumps(result.summary, indent=2) + "\n")
    files.append(out / "rolling_summary.json")
    files.append(_pit_plot(result.scores, out / "pit.png"))
    return files


def format_table(table: pd.DataFrame) -> str:
    """The table as Markdown: one block per sample, rows variable × horizon × method."""
    lines = []
    for sample in ("out_of_sample", "all"):
        t = table[table["sample"] == sample]
        lines += [
            f"## {sample.replace('_', ' ')}",
            "",
            "| variable | horizon (months) | method | targets | in 50 % band | in 90 % band "
            "| CRPS (log) | log score |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in t.to_dict(orient="records"):
            lines.append(
                f"| {r['variable']} | {r['horizon_months']} | {r['method']} | {r['targets']} | "
                f"{100 * r['coverage_50']:.1f} % | {100 * r['coverage_90']:.1f} % | "
                f"{r['crps']:.4f} | {r['log_score']:.3f} |"
            )
        lines.append("")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- private


def _score_origin(
    origin: dt.date, n_days: int, paths: int, seed: int, calibration: str
) -> pd.DataFrame:
    from hashfleet.runner import simulate
    from hashfleet.studies.backtest import backtest_scenario
    from hashfleet.studies.calibration import history_inputs

    inputs = history_inputs(origin, origin + dt.timedelta(days=n_days - 1))
    base = {"model": "endogenous", "start_ehs": inputs.start_ehs}
    forecast = base | {"calibration": calibration, "parameter_draws": True, "regimes": {}}
    unknown_price = {
        "model": "bootstrap",
        "history_from": (
            origin - dt.timedelta(days=round(PRICE_HISTORY_YEARS * 365.25))
        ).isoformat(),
        "history_to": (origin - dt.timedelta(days=1)).isoformat(),
        "drift_per_year": 0.0,
    }
    specs: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
        "model": (forecast, None),
        "model_price_unknown": (forecast, unknown_price),
        "model_point": (base | {"shock_rate_per_year": 0.5, "shock_share": 0.15}, None),
    }
    targets = _targets(inputs)
    rows = []
    for method, (hashrate, price) in specs.items():
        sc = backtest_scenario(
            origin, inputs, hashrate, paths=paths, seed=seed, store_paths=True, btc_price=price
        )
        res = simulate(sc)
        assert res.paths is not None
        for var, (idx, real) in targets.items():
            sim_var = "difficulty" if var == "difficulty" else "network_hashrate_ehs"
            sims = np.log(res.paths[sim_var].to_numpy()[:, idx].T)  # (n_targets, n_paths)
            y = np.log(real)
            rows.append(
                _rows(
                    origin,
                    var,
                    method,
                    idx,
                    y,
                    scores.crps_samples(sims, y),
                    scores.log_score_samples(sims, y),
                    scores.pit_samples(sims, y),
                    scores.coverage_samples(sims, y, 0.5),
                    scores.coverage_samples(sims, y, 0.9),
                )
            )
    for var, (idx, real) in targets.items():
        y = np.log(real)
        for method, (mu, sd) in _baselines(origin, var, idx).items():
            rows.append(
                _rows(
                    origin,
                    var,
                    method,
                    idx,
                    y,
                    scores.crps_gaussian(mu, sd, y),
                    scores.log_score_gaussian(mu, sd, y),
                    scores.pit_gaussian(mu, sd, y),
                    scores.coverage_gaussian(mu, sd, y, 0.5),
                    scores.coverage_gaussian(mu, sd, y, 0.9),
                )
            )
    return pd.concat(rows, ignore_index=True)


def _rows(origin: dt.date, var: str, method: str, idx: Any, y: Any, *cols: Any) -> pd.DataFrame:
    crps, logs, pit, in50, in90 = cols
    return pd.DataFrame(
        {
            "origin": origin.isoformat(),
            "variable": var,
            "method": method,
            "lead_days": idx,
            "log_real": y,
            "crps": crps,
            "log_score": logs,
            "pit": pit,
            "in_50": in50,
            "in_90": in90,
        }
    )


def _targets(inputs: Any) -> dict[str, tuple[NDArray[np.intp], FloatArray]]:
    """Day indices and real values: retarget epochs (difficulty) and every day (hashrate)."""
    real = inputs.difficulty
    change = np.flatnonzero(np.abs(real[1:] / real[:-1] - 1.0) > 1e-9) + 1
    keep, last = [], -10
    for i in change.tolist():  # the day after a mid-day retarget moves the daily mean too
        if i != last + 1 and i + 1 < real.size:
            keep.append(i + 1)
        last = i
    ep = np.array(keep, dtype=np.intp)
    days = np.arange(1, inputs.n_days, dtype=np.intp)
    return {"difficulty": (ep, real[ep]), "hashrate": (days, inputs.hashrate_ehs[days])}


def _baselines(
    origin: dt.date, var: str, idx: NDArray[np.intp]
) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Gaussian forecasts of the log series at lead days ``idx`` from history before origin."""
    from hashfleet import history

    d = history.load_daily()
    if var == "difficulty":
        s = d["difficulty"].interpolate(limit_direction="both")
    else:
        s = d["hashrate_ehs"].interpolate(limit_direction="both")
        s = s.rolling(7, center=True, min_periods=1).mean()
        s = s.shift(3)  # a centred mean needs 3 days after it: use only what is known
    s = np.log(s[s.index < pd.Timestamp(origin)].dropna())
    y0 = float(s.iloc[-1])
    lead = idx.astype(np.float64)
    # constant growth: the OLS slope of the last 365 days from today's value (as calculators
    # do), with the line's prediction interval as the spread
    yr = s.iloc[-365:].to_numpy()
    t = np.arange(-yr.size, 0, dtype=np.float64)
    tm, ym = t.mean(), yr.mean()
    sxx = float(np.sum((t - tm) ** 2))
    slope = float(np.sum((t - tm) * (yr - ym))) / sxx
    resid = yr - (ym + slope * (t - tm))
    s2 = float(np.sum(resid**2)) / (yr.size - 2)
    mu_g = y0 + slope * lead
    sd_g = np.sqrt(s2 * (1.0 + 1.0 / yr.size + (lead - tm) ** 2 / sxx))
    # driftless random walk, step variance from 30-day changes over two years
    y2 = s.iloc[-730:].to_numpy()
    d30 = y2[30:] - y2[:-30]
    sig2 = float(np.mean(d30**2)) / 30.0
    return {
        "growth": (mu_g, sd_g),
        "random_walk": (np.full(lead.size, y0), np.sqrt(sig2 * lead)),
    }


def _table(sc: pd.DataFrame) -> pd.DataFrame:
    out = []
    for sample, sub in (("out_of_sample", sc[sc["out_of_sample"]]), ("all", sc)):
        g = sub.groupby(["variable", "horizon_months", "method"], sort=True)
        t = g.agg(
            targets=("crps", "size"),
            coverage_50=("in_50", "mean"),
            coverage_90=("in_90", "mean"),
            crps=("crps", "mean"),
            log_score=("log_score", "mean"),
        ).reset_index()
        t.insert(0, "sample", sample)
        t["method"] = pd.Categorical(t["method"], METHODS, ordered=True)
        out.append(t.sort_values(["variable", "horizon_months", "method"]))
    res = pd.concat(out, ignore_index=True)
    res["method"] = res["method"].astype(str)
    return res


def _pit_plot(sc: pd.DataFrame, path: Path) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise InputError("backtest plots need matplotlib: pip install 'hashfleet[plot]'") from exc
    oos = sc[sc["out_of_sample"]]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    bins = np.linspace(0.0, 1.0, 11)
    for ax, var in zip(axes, ("difficulty", "hashrate"), strict=True):
        for method, style in (
            ("model", "-"),
            ("model_price_unknown", "-."),
            ("model_point", ":"),
            ("random_walk", "--"),
        ):
            p = oos[(oos["variable"] == var) & (oos["method"] == method)]["pit"].to_numpy()
            if p.size:
                h, _ = np.histogram(p, bins=bins, density=True)
                ax.stairs(h, bins, ls=style, label=method)
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_xlabel("PIT")
        ax.set_ylabel("density")
        ax.set_title(f"{var}, origins ≥ {OUT_OF_SAMPLE_FROM.year}, all horizons")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
