"""Calibrate the endogenous hashrate model to the shipped history.

The fit drives the supply model (:mod:`hashfleet.network.supply`) with the **real** daily BTC
price and a deterministic chain (fluid block production with Bitcoin's exact retarget and
halving rules, :func:`hashfleet.network.blocks.produce_day` with ``block_rng=None``) started
from the real network state, and minimises the root-mean-square error of
``log(simulated network hashrate) − log(real hashrate)`` over the in-sample days.  The real
hashrate is the shipped daily estimate smoothed by a centred 7-day mean (the daily estimate
carries Poisson noise of about 8 %).  The simulated difficulty follows the simulated
hashrate, so errors compound as they would in a forecast: this is a closed-loop fit, not a
one-day-ahead regression.

Fitted parameters (:data:`FITTED`): the median and dispersion of the world's power costs, the
investment rate and the margin threshold of investment, the retirement rate of idle capacity
and the switching half-life.  The rest keep their schema defaults
(written to the JSON as ``fixed``).  The optimiser is Nelder–Mead on transformed parameters
(logs of the positive ones) with a bounded number of evaluations.

Fees: the shipped history has no fee rows from 2020-07-28 to 2025-11-04.  On days without fees,
fees per block are ``subsidy · s / (1 − s)`` with ``s`` the fee share of miner revenue
(fees / (subsidy + fees), ratio of sums) over the available days since 2016-01-01.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.errors import DataError, InputError
from hashfleet.network.blocks import NetworkState, produce_day, subsidy_sat_array
from hashfleet.network.hashprice import hashprice_usd_per_ph_day
from hashfleet.network.retarget import bits_to_difficulty_array, next_bits_array
from hashfleet.network.supply import (
    initial_supply_state,
    supply_params_from_spec,
    supply_running_hs,
    supply_update,
)
from hashfleet.scenario.schema import EndogenousHashrateSpec
from hashfleet.studies.uncertainty import (
    effective_sample_size,
    laplace_covariance,
    n_hessian_evaluations,
)

__all__ = [
    "DEFAULT_IN_SAMPLE",
    "FITTED",
    "HistoryInputs",
    "calibrate",
    "fee_share_of_revenue",
    "history_inputs",
    "load_calibration",
    "log_hashrate_errors",
    "simulate_history",
]

FloatArray = NDArray[np.float64]

#: Parameters the calibration fits (fields of :class:`EndogenousHashrateSpec`).
FITTED: tuple[str, ...] = (
    "power_cost_median_usd_per_mwh",
    "power_cost_sigma",
    "investment_rate_per_year",
    "investment_margin_threshold",
    "retirement_rate_per_year",
    "switch_half_life_days",
)
#: The default in-sample period (first and last day, inclusive).
DEFAULT_IN_SAMPLE: tuple[dt.date, dt.date] = (dt.date(2016, 1, 1), dt.date(2019, 12, 31))
CALIBRATION_RESOURCE = "network_calibration.json"
#: Bounds of the transformed parameters (economic priors, see docs/network.md): median power
#: cost 20–150 USD/MWh, sigma 0.1–2, investment rate e^-5–e^3 a year, threshold 0–0.9 (nobody
#: orders machines that lose money at the median cost), retirement rate e^-5–e^3 a year,
#: switching half-life 0.5–14 days (miners switch off within days to weeks).
_BOUNDS: tuple[tuple[float, float], ...] = (
    (float(np.log(20.0)), float(np.log(150.0))),
    (float(np.log(0.1)), float(np.log(2.0))),
    (-5.0, 3.0),
    (0.0, 0.9),
    (-5.0, 3.0),
    (float(np.log(0.5)), float(np.log(14.0))),
)


@dataclass(frozen=True)
class HistoryInputs:
    """Real daily inputs and targets of a period.

    Attributes
    ----------
    start : datetime.date
        Day 0.
    price_usd, fees_btc_per_block : ndarray, shape (n_days,)
        Daily BTC price and fees per block (gaps filled, see the module docstring).
    hashrate_ehs : ndarray, shape (n_days,)
        Real network hashrate, centred 7-day mean (EH/s).
    difficulty : ndarray, shape (n_days,)
        Real daily mean difficulty.
    start_ehs : float
        Real hashrate on day 0 (7-day mean of the week before; EH/s).
    height, bits, epoch_start_time : int
        Real chain state at 00:00 UTC of day 0.
    fee_share : float
        Fee share of miner revenue used to fill missing fees.
    """

    start: dt.date
    price_usd: FloatArray
    fees_btc_per_block: FloatArray
    hashrate_ehs: FloatArray
    difficulty: FloatArray
    start_ehs: float
    height: int
    bits: int
    epoch_start_time: int
    fee_share: float

    @property
    def n_days(self) -> int:
        """Number of days."""
        return int(self.price_usd.shape[0])


def fee_share_of_revenue() -> float:
    """Fees / (subsidy + fees) over the shipped days with fees since 2016-01-01 (ratio of sums)."""
    from hashfleet import history

    d = history.load_daily()
    d = d[(d.index >= "2016-01-01") & d["fees_btc"].notna() & d["subsidy_btc"].notna()]
    return float(d["fees_btc"].sum() / (d["fees_btc"].sum() + d["subsidy_btc"].sum()))


def history_inputs(start: dt.date, end: dt.date) -> HistoryInputs:
    """Real inputs for the days ``start .. end`` (inclusive) from the shipped history.

    Raises
    ------
    InputError
        If the period is empty or outside the shipped history, or the price history
        (non-commercial data, :mod:`hashfleet.history.licence`) is not enabled.
    """
    from hashfleet import history
    from hashfleet.history.licence import require_non_commercial

    require_non_commercial("calibration and back-test (the real BTC price drives the network)")
    if end < start:
        raise InputError(f"to: expected a date after from ({start}), got {end}")
    d = history.load_daily()
    first, last = d.index[0].date(), d.index[-1].date()
    if start < first + dt.timedelta(days=7) or end > last:
        raise DataError(
            f"from/to: expected dates from {first + dt.timedelta(days=7)} to {last} "
            f"(the shipped history), got {start} .. {end}"
        )
    smooth = d["hashrate_ehs"].interpolate(limit_direction="both")
    smooth = smooth.rolling(7, center=True, min_periods=1).mean()
    sel = (d.index >= str(start)) & (d.index <= str(end))
    w = d[sel]
    s = fee_share_of_revenue()
    per_block_fee = w["fees_btc"] / w["blocks"]
    fill = w["subsidy_btc"] / w["blocks"] * s / (1.0 - s)
    fees = per_block_fee.where(per_block_fee.notna(), fill).interpolate(limit_direction="both")
    before = d["hashrate_ehs"][
        (d.index >= str(start - dt.timedelta(days=7))) & (d.index < str(start))
    ]
    st = history.network_state_at(start)
    return HistoryInputs(
        start=start,
        price_usd=w["price_usd"].interpolate(limit_direction="both").to_numpy(np.float64),
        fees_btc_per_block=fees.to_numpy(np.float64),
        hashrate_ehs=smooth[sel].to_numpy(np.float64),
        difficulty=w["difficulty"].interpolate(limit_direction="both").to_numpy(np.float64),
        start_ehs=float(before.mean()),
        height=st.height,
        bits=st.bits,
        epoch_start_time=int(st.epoch_start_time.timestamp()),
        fee_share=s,
    )


def simulate_history(spec: EndogenousHashrateSpec, inputs: HistoryInputs) -> dict[str, FloatArray]:
    """Drive the supply model with real prices on a deterministic chain (one path).

    Parameters
    ----------
    spec : EndogenousHashrateSpec
        Model parameters (``start_ehs`` None takes the real day-0 hashrate).
    inputs : HistoryInputs

    Returns
    -------
    dict
        ``network_hashrate_ehs``, ``difficulty``, ``hashprice_usd_per_ph_day``,
        ``installed_ehs``: arrays of shape ``(n_days,)``.
    """
    n = inputs.n_days
    params = supply_params_from_spec(spec, inputs.start, n)
    start_unix = int(dt.datetime.combine(inputs.start, dt.time(), tzinfo=dt.UTC).timestamp())
    net = NetworkState.uniform(1, inputs.height, inputs.bits, inputs.epoch_start_time)
    if net.height[0] % 2016 == 2015:  # a tip that ends an epoch retargets at t=0
        net.bits = next_bits_array(net.bits, start_unix - net.epoch_start_time)
        net.difficulty = bits_to_difficulty_array(net.bits)
    out = {k: np.empty(n) for k in ("network_hashrate_ehs", "difficulty", "hashprice", "inst")}
    start_hs = np.array([(spec.start_ehs or inputs.start_ehs) * 1e18])
    state = None
    for d in range(n):
        price = inputs.price_usd[d : d + 1]
        fees = inputs.fees_btc_per_block[d : d + 1]
        reward = subsidy_sat_array(net.height + 1) / 1e8 + fees
        hp = hashprice_usd_per_ph_day(price, net.difficulty, reward)
        if state is None:
            state = initial_supply_state(params, start_hs, hp)
            h = start_hs * (1.0 - state.offline)
        else:
            h = supply_running_hs(state, params, hp)
        h = np.maximum(h, 1.0)
        blocks = produce_day(net, h, fees, float(start_unix + d * 86400), d, block_rng=None)
        realised = blocks.reward_per_hash_btc * 1e15 * price
        supply_update(state, params, d, realised)
        out["network_hashrate_ehs"][d] = h[0] / 1e18
        out["difficulty"][d] = net.difficulty[0]
        out["hashprice"][d] = realised[0]
        out["inst"][d] = state.installed_total_hs[0] / 1e18
    return {
        "network_hashrate_ehs": out["network_hashrate_ehs"],
        "difficulty": out["difficulty"],
        "hashprice_usd_per_ph_day": out["hashprice"],
        "installed_ehs": out["inst"],
    }


def log_hashrate_errors(sim_ehs: FloatArray, real_ehs: FloatArray) -> FloatArray:
    """``log(sim) − log(real)`` per day, shape (n_days,)."""
    out: FloatArray = np.log(np.maximum(sim_ehs, 1e-12)) - np.log(real_ehs)
    return out


def calibrate(
    start: dt.date = DEFAULT_IN_SAMPLE[0],
    end: dt.date = DEFAULT_IN_SAMPLE[1],
    *,
    base: EndogenousHashrateSpec | None = None,
    max_evaluations: int = 300,
    uncertainty: bool = True,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Fit :data:`FITTED` to the history of ``start .. end``.

    Parameters
    ----------
    start, end : datetime.date
        In-sample period (inclusive).
    base : EndogenousHashrateSpec, optional
        Starting guess and fixed parameters (default: the schema defaults).
    max_evaluations : int
        Bound on objective evaluations of the fit (each is one deterministic simulation).
    uncertainty : bool
        Also compute the parameter distribution (Laplace approximation,
        :mod:`hashfleet.studies.uncertainty`; 73 more evaluations) and fit the regimes
        (:func:`hashfleet.network.regimes.fit_regimes`) to the residual at the optimum.
    progress : callable, optional
        Called after every evaluation with a dict: ``phase`` ("fit" | "hessian"),
        ``evaluation``, ``planned`` (upper bound of evaluations), ``rmse``, ``best``,
        ``elapsed_s`` and ``eta_s`` (estimated seconds left at the mean time per evaluation).

    Returns
    -------
    dict
        JSON-ready: ``fitted`` values, ``fixed`` values, ``in_sample`` period, ``fit`` (RMSE of
        log hashrate at the fit and at the starting guess, per-year errors, evaluations, wall
        time), ``fees`` (how missing fees were filled), ``convergence`` (optimiser status and
        the Hessian's condition), ``uncertainty`` (the Laplace distribution, see
        :class:`hashfleet.network.parameters.ParameterDistribution`) and ``regimes``.
    """
    from scipy.optimize import minimize

    base = base or EndogenousHashrateSpec()
    inputs = history_inputs(start, end)
    t0 = time.perf_counter()

    def spec_of(x: FloatArray) -> EndogenousHashrateSpec:
        vals = {
            "power_cost_median_usd_per_mwh": float(np.exp(x[0])),
            "power_cost_sigma": float(np.clip(np.exp(x[1]), 0.05, 3.0)),
            "investment_rate_per_year": float(np.exp(x[2])),
            "investment_margin_threshold": float(np.clip(x[3], -0.99, 0.99)),
            "retirement_rate_per_year": float(np.exp(x[4])),
            "switch_half_life_days": float(np.clip(np.exp(x[5]), 0.1, 365.0)),
        }
        return base.model_copy(update=vals)

    k = len(FITTED)
    planned = max_evaluations + 1 + (n_hessian_evaluations(k) if uncertainty else 0)
    tally: dict[str, Any] = {"n": 0, "best": np.inf, "phase": "fit"}

    def rmse(spec: EndogenousHashrateSpec) -> float:
        sim = simulate_history(spec, inputs)["network_hashrate_ehs"]
        val = float(np.sqrt(np.mean(log_hashrate_errors(sim, inputs.hashrate_ehs) ** 2)))
        tally["n"] += 1
        tally["best"] = min(float(tally["best"]), val)
        if progress is not None:
            el = time.perf_counter() - t0
            n = int(tally["n"])
            progress(
                {
                    "phase": tally["phase"],
                    "evaluation": n,
                    "planned": planned,
                    "rmse": val,
                    "best": float(tally["best"]),
                    "elapsed_s": el,
                    "eta_s": el / n * max(planned - n, 0),
                }
            )
        return val

    x0 = _transformed(base)
    x0 = np.clip(x0, [b[0] for b in _BOUNDS], [b[1] for b in _BOUNDS])
    start_rmse = rmse(spec_of(x0))
    res = minimize(
        lambda x: rmse(spec_of(x)),
        x0,
        method="Nelder-Mead",
        bounds=[(lo, hi) for lo, hi in _BOUNDS],
        options={"maxfev": max_evaluations, "xatol": 1e-3, "fatol": 1e-5},
    )
    best = spec_of(res.x)
    fitted = {k: float(f"{getattr(best, k):.4g}") for k in FITTED}
    best = base.model_copy(update=fitted)
    sim = simulate_history(best, inputs)
    err = log_hashrate_errors(sim["network_hashrate_ehs"], inputs.hashrate_ehs)
    convergence: dict[str, Any] = {
        "optimiser": "Nelder-Mead",
        "success": bool(res.success),
        "status": int(res.status),
        "message": str(res.message),
        "iterations": int(res.nit),
    }
    extra: dict[str, Any] = {}
    if uncertainty:
        tally["phase"] = "hessian"
        x_hat = np.clip(_transformed(best), [b[0] for b in _BOUNDS], [b[1] for b in _BOUNDS])
        extra = _uncertainty_sections(
            x_hat, err, lambda x: 2.0 * float(np.log(rmse(spec_of(x)))), inputs.start
        )
        convergence |= extra.pop("hessian_diagnostics")
    years = np.array([(inputs.start + dt.timedelta(days=i)).year for i in range(inputs.n_days)])
    per = [
        {
            "period": str(y),
            "rmse_log_hashrate": round(float(np.sqrt(np.mean(err[years == y] ** 2))), 4),
            "mean_log_error": round(float(np.mean(err[years == y])), 4),
        }
        for y in np.unique(years)
    ]
    fixed = {
        k: v
        for k, v in base.model_dump(mode="json").items()
        if k not in FITTED
        and k
        not in (
            "model",
            "start_ehs",
            "shocks",
            "frontier_j_per_th",
            "calibration",
            "parameter_draws",
            "regimes",
        )
    }
    from hashfleet.version import __version__

    return {
        "description": "Fitted defaults of network.hashrate model: endogenous "
        "(hashfleet calibrate).",
        "hashfleet_version": __version__,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "in_sample": {"from": start.isoformat(), "to": end.isoformat()},
        "fitted": fitted,
        "fixed": fixed,
        "fees": {
            "fee_share_of_revenue": round(inputs.fee_share, 5),
            "method": "fees/block from history where present; elsewhere subsidy·s/(1−s) with "
            "s the fee share of miner revenue over the days with fees since 2016",
        },
        "fit": {
            "objective": "RMSE of log(simulated hashrate) − log(real 7-day mean hashrate), "
            "deterministic closed-loop path driven by the real price",
            "rmse_log_hashrate": round(float(np.sqrt(np.mean(err**2))), 4),
            "rmse_log_hashrate_start_guess": round(start_rmse, 4),
            "final_hashrate_ratio": round(
                float(sim["network_hashrate_ehs"][-1] / inputs.hashrate_ehs[-1]), 4
            ),
            "per_period": per,
            "evaluations": int(tally["n"]),
            "wall_time_s": round(time.perf_counter() - t0, 1),
        },
        "convergence": convergence,
    } | extra


def _transformed(spec: EndogenousHashrateSpec) -> FloatArray:
    """The fitted fields of ``spec`` in the optimiser's space (order of :data:`FITTED`)."""
    return np.array(
        [
            np.log(spec.power_cost_median_usd_per_mwh),
            np.log(spec.power_cost_sigma),
            np.log(max(spec.investment_rate_per_year, 1e-3)),
            spec.investment_margin_threshold,
            np.log(max(spec.retirement_rate_per_year, 1e-3)),
            np.log(max(spec.switch_half_life_days, 0.1)),
        ]
    )


def _uncertainty_sections(
    x_hat: FloatArray, err: FloatArray, log_mse: Callable[[FloatArray], float], start: dt.date
) -> dict[str, Any]:
    """The ``uncertainty``, ``regimes`` and Hessian-diagnostics sections of a calibration."""
    from hashfleet.network.parameters import TRANSFORMS
    from hashfleet.network.regimes import fit_regimes

    n_eff = effective_sample_size(err)
    prior_sd = np.array([(hi - lo) / 4.0 for lo, hi in _BOUNDS])  # bounds = ±2 sd
    lap = laplace_covariance(log_mse, x_hat, n_eff, prior_sd=prior_sd)
    regimes, episodes = fit_regimes(-err)  # residual log(real) − log(model)
    return {
        "uncertainty": {
            "method": "Laplace approximation of the Gaussian quasi-likelihood "
            "-(n_eff/2)·log MSE of the daily log-hashrate error, n_eff the effective sample "
            "size of the residual, and a weak Gaussian prior (±2 sd = the bounds; see "
            "hashfleet.studies.uncertainty)",
            "prior_sd": [round(float(v), 5) for v in prior_sd],
            "names": [n for n, _ in TRANSFORMS],
            "logged": [lg for _, lg in TRANSFORMS],
            "mean": [float(v) for v in x_hat],
            "covariance": [[float(v) for v in row] for row in lap["covariance"]],
            "sd": [round(float(v), 5) for v in lap["sd"]],
            "lower": [b[0] for b in _BOUNDS],
            "upper": [b[1] for b in _BOUNDS],
            "n_days": int(err.size),
            "n_eff": round(n_eff, 2),
        },
        "regimes": regimes.to_json(),
        "regime_episodes": [
            {
                "start": (start + dt.timedelta(days=e["start"])).isoformat(),
                "trough": (start + dt.timedelta(days=e["trough"])).isoformat(),
                "depth": round(e["depth"], 4),
                "half_recovery_days": e["half_recovery_days"],
            }
            for e in episodes
        ],
        "hessian_diagnostics": {
            "hessian_eigenvalues": [float(f"{v:.4g}") for v in lap["eigenvalues"]],
            "hessian_condition_number": float(f"{lap['condition_number']:.4g}"),
            "hessian_eigenvalues_floored": lap["floored"],
        },
    }


def load_calibration(path: str | Path | None = None) -> dict[str, Any]:
    """The shipped calibration (or the JSON at ``path``)."""
    try:
        if path is None:
            text = (resources.files("hashfleet") / "data" / CALIBRATION_RESOURCE).read_text()
        else:
            text = Path(path).read_text()
        data: dict[str, Any] = json.loads(text)
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"calibration file {path or CALIBRATION_RESOURCE}: {exc}") from exc
    return data
