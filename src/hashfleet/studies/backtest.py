"""Back-test the endogenous network against history.

``backtest(start, end)`` simulates the network with the **real** BTC price path (the CSV
price model on ``builtin:btc_daily``), the **real** starting chain state
(``network.start.from_history``; the rest of the network starts at the real 7-day mean
hashrate of the week before), the endogenous supply model with the shipped calibration, Poisson
block arrivals and random supply shocks, and compares the Monte Carlo bands with the real
hashrate and difficulty.

Error figures
    *Per epoch*: every real retarget in the window (a day whose daily mean difficulty differs
    from the day before, not counting the day right after such a day, whose mean also moves
    after a mid-day retarget; the epoch's difficulty is the next day's value) is compared with the
    simulated difficulty at the end of that next day: relative error of the median path
    ``sim/real − 1`` (median and worst absolute value) and whether the real value lies in the
    simulated 90 % band (5 %–95 % quantiles across paths).
    *Hashrate*: RMSE of ``log(median simulated) − log(real 7-day mean)`` and the share of days
    inside the 90 % band.
Halving responses
    For each halving in the window: ``pre`` is the 14-day mean hashrate before it; the dip is
    ``min(7-day mean over the next 120 days)/pre − 1`` and its timing the days to that minimum,
    for history and for the simulated median.

Fees are not in the shipped history from 2020-07-28 to 2025-11-04: the back-test uses constant
fees per block equal to the window's mean of the filled daily series of
:func:`hashfleet.studies.calibration.history_inputs`.

Outputs (``write_backtest``): ``summary.json``, ``epochs.csv``, ``halvings.csv``,
``table.md``, ``hashrate.png``, ``difficulty.png``.  Matplotlib is imported only to plot.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from hashfleet.errors import InputError

__all__ = [
    "HALVING_DATES",
    "BacktestResult",
    "backtest",
    "backtest_scenario",
    "halving_response",
    "write_backtest",
]

FloatArray = NDArray[np.float64]

#: UTC days of the halvings in the shipped history.
HALVING_DATES: tuple[dt.date, ...] = (
    dt.date(2012, 11, 28),
    dt.date(2016, 7, 9),
    dt.date(2020, 5, 11),
    dt.date(2024, 4, 20),
)
BAND = (0.05, 0.5, 0.95)


@dataclass
class BacktestResult:
    """What a back-test measured.

    Attributes
    ----------
    start, end : datetime.date
        The window (inclusive).
    daily : pandas.DataFrame
        Per day: real and simulated (5 %, 50 %, 95 %) hashrate (EH/s) and difficulty.
    epochs : pandas.DataFrame
        Per real retarget: date, real and simulated difficulty, relative error, in band.
    halvings : pandas.DataFrame
        Per halving in the window: real and simulated dip depth and timing.
    summary : dict
        The headline figures (see the module docstring).
    """

    start: dt.date
    end: dt.date
    daily: pd.DataFrame
    epochs: pd.DataFrame
    halvings: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def halving_response(
    hashrate_ehs: FloatArray, halving_index: int, *, window_days: int = 120
) -> tuple[float, int]:
    """Depth and timing of the hashrate dip after a halving.

    Parameters
    ----------
    hashrate_ehs : ndarray, shape (n_days,)
        Daily hashrate (EH/s).
    halving_index : int
        Index of the halving day (≥ 14).
    window_days : int
        Days after the halving searched for the minimum.

    Returns
    -------
    (depth, days) : (float, int)
        ``min(7-day mean)/pre − 1`` (negative for a dip) and days from the halving to it.
    """
    h = pd.Series(hashrate_ehs).rolling(7, center=True, min_periods=1).mean().to_numpy()
    pre = float(np.mean(hashrate_ehs[halving_index - 14 : halving_index]))
    post = h[halving_index : halving_index + window_days]
    i = int(np.argmin(post))
    return float(post[i] / pre - 1.0), i


def backtest(
    start: dt.date,
    end: dt.date,
    *,
    paths: int = 250,
    seed: int = 0,
    shock_rate_per_year: float = 0.5,
    shock_share: float = 0.15,
    overrides: dict[str, Any] | None = None,
    calibration: str | None = None,
) -> BacktestResult:
    """Run the back-test of ``start .. end`` (inclusive); see the module docstring.

    Parameters
    ----------
    start, end : datetime.date
        Window, within the shipped history.
    paths : int
        Monte Carlo paths.
    seed : int
        Root seed.
    shock_rate_per_year, shock_share : float
        Random supply shocks of the model (per path).
    overrides : dict, optional
        Extra fields of the endogenous hashrate spec (e.g. a re-fitted calibration).
    calibration : str, optional
        Forecast mode: the calibration (name or .json) each path draws its parameters from,
        with its regimes; the random shocks are then off (the regimes replace them).
    """
    from hashfleet.runner import simulate
    from hashfleet.studies.calibration import history_inputs

    if (end - start).days < 30:
        raise InputError(f"to: expected at least 30 days after from ({start}), got {end}")
    inputs = history_inputs(start, end)
    n_days = inputs.n_days
    hashrate = {
        "model": "endogenous",
        "start_ehs": inputs.start_ehs,
        "shock_rate_per_year": shock_rate_per_year,
        "shock_share": shock_share,
    }
    if calibration is not None:
        hashrate |= {
            "shock_rate_per_year": 0.0,
            "calibration": calibration,
            "parameter_draws": True,
            "regimes": {},
        }
    hashrate |= overrides or {}
    scenario = backtest_scenario(start, inputs, hashrate, paths=paths, seed=seed)
    res = simulate(scenario)
    q = res.daily
    dates = pd.date_range(start.isoformat(), periods=n_days, freq="D")
    daily = pd.DataFrame(
        {
            "real_hashrate_ehs": inputs.hashrate_ehs,
            "real_difficulty": inputs.difficulty,
            "price_usd": inputs.price_usd,
        },
        index=dates,
    )
    for var, short in (("network_hashrate_ehs", "hashrate_ehs"), ("difficulty", "difficulty")):
        for qq in BAND:
            daily[f"sim_{short}_q{round(qq * 100):02d}"] = q[var].sel(quantile=qq).to_numpy()
    epochs = _epochs(daily)
    halvings = _halvings(daily, start, end)
    log_err = np.log(daily["sim_hashrate_ehs_q50"]) - np.log(daily["real_hashrate_ehs"])
    in_band_days = (daily["real_hashrate_ehs"] >= daily["sim_hashrate_ehs_q05"]) & (
        daily["real_hashrate_ehs"] <= daily["sim_hashrate_ehs_q95"]
    )
    abs_err = epochs["rel_error"].abs()
    summary = {
        "window": {"from": start.isoformat(), "to": end.isoformat(), "days": n_days},
        "paths": paths,
        "seed": seed,
        "epochs": len(epochs),
        "difficulty_rel_error_median": round(float(abs_err.median()), 4) if len(epochs) else None,
        "difficulty_rel_error_worst": round(float(abs_err.max()), 4) if len(epochs) else None,
        "difficulty_epochs_in_90pct_band": round(float(epochs["in_band"].mean()), 4)
        if len(epochs)
        else None,
        "hashrate_rmse_log_median": round(float(np.sqrt(np.mean(log_err**2))), 4),
        "hashrate_days_in_90pct_band": round(float(in_band_days.mean()), 4),
        "final_hashrate_sim_median_ehs": round(float(daily["sim_hashrate_ehs_q50"].iloc[-1]), 2),
        "final_hashrate_real_ehs": round(float(daily["real_hashrate_ehs"].iloc[-1]), 2),
        "halvings": halvings.to_dict(orient="records"),
        "model": {k: v for k, v in hashrate.items()},
        "fees_btc_per_block": round(float(np.mean(inputs.fees_btc_per_block)), 5),
        "wall_time_s": res.metadata.get("wall_time_s"),
    }
    return BacktestResult(start, end, daily, epochs, halvings, summary)


def backtest_scenario(
    start: dt.date,
    inputs: Any,
    hashrate: dict[str, Any],
    *,
    paths: int,
    seed: int,
    store_paths: bool = False,
    btc_price: dict[str, Any] | None = None,
) -> Any:
    """The back-test's scenario: real price and starting state, constant mean fees.

    Parameters
    ----------
    start : datetime.date
        Day 0.
    inputs : HistoryInputs
        :func:`hashfleet.studies.calibration.history_inputs` of the window.
    hashrate : dict
        The ``network.hashrate`` section.
    paths, seed : int
    store_paths : bool
        Keep every path's daily values (``Results.paths``).
    btc_price : dict, optional
        The ``market.btc_price`` section (default: the real path, ``csv`` on
        ``builtin:btc_daily``).
    """
    from hashfleet.scenario.schema import Scenario

    return Scenario.model_validate(
        {
            "name": f"backtest {start}+{inputs.n_days}d",
            "run": {
                "start": start.isoformat(),
                "horizon_days": inputs.n_days,
                "paths": paths,
                "seed": seed,
                "outputs": {
                    "quantiles": list(BAND),
                    "event_log": False,
                    "store_paths": store_paths,
                },
            },
            "network": {
                "start": {"from_history": True},
                "hashrate": hashrate,
                "fees": {
                    "model": "constant",
                    "btc_per_block": float(np.mean(inputs.fees_btc_per_block)),
                },
            },
            "market": {"btc_price": btc_price or {"model": "csv", "path": "builtin:btc_daily"}},
        }
    )


def write_backtest(result: BacktestResult, out_dir: str | Path) -> list[Path]:
    """Write the summary, tables and plots of a back-test into ``out_dir``.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out: cannot create directory {out}: {exc}") from exc
    files = [out / n for n in ("summary.json", "epochs.csv", "halvings.csv", "daily.csv")]
    files[0].write_text(json.dumps(result.summary, indent=2, default=str) + "\n")
    result.epochs.to_csv(files[1], index=False)
    result.halvings.to_csv(files[2], index=False)
    result.daily.to_csv(files[3], index_label="date")
    md = out / "table.md"
    md.write_text(_markdown(result))
    files.append(md)
    files += _plots(result, out)
    return files


# ----------------------------------------------------------------------------- private


def _epochs(daily: pd.DataFrame) -> pd.DataFrame:
    real = daily["real_difficulty"].to_numpy()
    change = np.flatnonzero(np.abs(real[1:] / real[:-1] - 1.0) > 1e-9) + 1
    rows = []
    last = -10
    for i in change.tolist():
        j = i + 1  # first full day of the new epoch
        if i == last + 1 or j >= len(real):
            last = i  # the day after a mid-day retarget also changes its daily mean
            continue
        last = i
        lo, mid, hi = (daily[f"sim_difficulty_q{k}"].iloc[j] for k in ("05", "50", "95"))
        rows.append(
            {
                "date": daily.index[i].date().isoformat(),
                "real_difficulty": real[j],
                "sim_median": mid,
                "sim_q05": lo,
                "sim_q95": hi,
                "rel_error": mid / real[j] - 1.0,
                "in_band": bool(lo <= real[j] <= hi),
            }
        )
    cols = ["date", "real_difficulty", "sim_median", "sim_q05", "sim_q95", "rel_error", "in_band"]
    return pd.DataFrame(rows, columns=cols)


def _halvings(daily: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    rows = []
    for h in HALVING_DATES:
        i = (h - start).days
        if i < 14 or (end - h).days < 120:
            continue
        real_d, real_t = halving_response(daily["real_hashrate_ehs"].to_numpy(), i)
        sim_d, sim_t = halving_response(daily["sim_hashrate_ehs_q50"].to_numpy(), i)
        rows.append(
            {
                "halving": h.isoformat(),
                "real_dip": round(real_d, 4),
                "real_days_to_min": real_t,
                "sim_dip": round(sim_d, 4),
                "sim_days_to_min": sim_t,
            }
        )
    cols = ["halving", "real_dip", "real_days_to_min", "sim_dip", "sim_days_to_min"]
    return pd.DataFrame(rows, columns=cols)


def _markdown(r: BacktestResult) -> str:
    s = r.summary

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f} %"

    lines = [
        f"# Back-test {r.start} .. {r.end}",
        "",
        f"{s['paths']} paths, seed {s['seed']}; real price path, real starting state; "
        + (
            f"endogenous network, per-path parameter draws and regimes from "
            f"{s['model']['calibration']}."
            if s["model"].get("calibration")
            else "endogenous network (shipped calibration)."
        ),
        "",
        "| figure | value |",
        "|---|---|",
        f"| real retargets compared | {s['epochs']} |",
        f"| difficulty: median abs. relative error per epoch | "
        f"{pct(s['difficulty_rel_error_median'])} |",
        f"| difficulty: worst abs. relative error per epoch | "
        f"{pct(s['difficulty_rel_error_worst'])} |",
        f"| difficulty: real epochs inside the 90 % band | "
        f"{pct(s['difficulty_epochs_in_90pct_band'])} |",
        f"| hashrate: RMSE of log(median/real) | {s['hashrate_rmse_log_median']:.3f} |",
        f"| hashrate: days inside the 90 % band | {pct(s['hashrate_days_in_90pct_band'])} |",
        f"| final hashrate, simulated median / real (EH/s) | "
        f"{s['final_hashrate_sim_median_ehs']} / {s['final_hashrate_real_ehs']} |",
        "",
        "| halving | real dip | real days to min | simulated dip | simulated days to min |",
        "|---|---|---|---|---|",
    ]
    for h in s["halvings"]:
        lines.append(
            f"| {h['halving']} | {pct(h['real_dip'])} | {h['real_days_to_min']} | "
            f"{pct(h['sim_dip'])} | {h['sim_days_to_min']} |"
        )
    return "\n".join(lines) + "\n"


def _plots(r: BacktestResult, out: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise InputError("backtest plots need matplotlib: pip install 'hashfleet[plot]'") from exc
    files = []
    d = r.daily
    for short, label, fname in (
        ("hashrate_ehs", "network hashrate (EH/s)", "hashrate.png"),
        ("difficulty", "difficulty", "difficulty.png"),
    ):
        fig, ax = plt.subplots(figsize=(9, 4.5))
        ax.fill_between(
            d.index, d[f"sim_{short}_q05"], d[f"sim_{short}_q95"], alpha=0.3, label="simulated 90 %"
        )
        ax.plot(d.index, d[f"sim_{short}_q50"], lw=1.2, label="simulated median")
        ax.plot(d.index, d[f"real_{short}"], color="k", lw=1.0, label="history")
        for h in HALVING_DATES:
            if r.start <= h <= r.end:
                ax.axvline(pd.Timestamp(h), color="grey", ls=":", lw=1)  # type: ignore[arg-type]
        ax.set_yscale("log")
        ax.set_ylabel(label)
        ax.set_title(f"Back-test {r.start} .. {r.end}: {label}")
        ax.legend(loc="upper left")
        fig.tight_layout()
        path = out / fname
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files.append(path)
    return files
