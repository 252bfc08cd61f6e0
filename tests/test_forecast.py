"""Forecast uncertainty: scores, per-path parameter draws, regimes, the Laplace step."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from hashfleet.errors import InputError
from hashfleet.network.parameters import (
    ParameterDistribution,
    resolve_calibration,
    symmetric_eigen,
)
from hashfleet.network.regimes import RegimeParams, fit_regimes, regime_step
from hashfleet.studies import scores
from hashfleet.studies.uncertainty import effective_sample_size, laplace_covariance

#: These tests drive the network with the shipped BTC price history (CC BY-NC, opt-in).
pytestmark = pytest.mark.usefixtures("non_commercial_data")

# ----------------------------------------------------------------------------- scores


def test_crps_of_samples_matches_the_gaussian_closed_form() -> None:
    rng = np.random.default_rng(1)
    mu, sd = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.3, 2.0])
    y = np.array([0.5, 1.9, -2.0])
    x = mu[:, None] + sd[:, None] * rng.standard_normal((3, 40_000))
    got = scores.crps_samples(x, y)
    want = scores.crps_gaussian(mu, sd, y)
    np.testing.assert_allclose(got, want, rtol=0.02)
    # closed form against the definition ∫ (F(t) − 1{t ≥ y})² dt
    t = np.linspace(-20, 20, 400_001)
    f = stats.norm.cdf(t, 1.0, 0.3)
    integral = np.sum((f - (t >= 1.9)) ** 2) * (t[1] - t[0])
    assert (
        abs(scores.crps_gaussian(np.array([1.0]), np.array([0.3]), np.array([1.9]))[0] - integral)
        < 1e-4
    )


def test_crps_of_a_point_forecast_is_the_absolute_error() -> None:
    x = np.full((1, 10), 3.0)
    assert scores.crps_samples(x, np.array([1.0]))[0] == pytest.approx(2.0)


def test_pit_is_uniform_and_bands_cover_for_a_well_specified_forecast() -> None:
    rng = np.random.default_rng(2)
    n = 2000
    mu = rng.normal(size=n)
    y = mu + rng.standard_normal(n)  # truth ~ N(mu, 1)
    sims = mu[:, None] + rng.standard_normal((n, 400))
    pit = scores.pit_samples(sims, y)
    assert stats.kstest(pit, "uniform").pvalue > 0.01
    assert abs(scores.coverage_samples(sims, y, 0.9).mean() - 0.9) < 0.03
    assert abs(scores.coverage_samples(sims, y, 0.5).mean() - 0.5) < 0.04
    assert abs(scores.coverage_gaussian(mu, np.ones(n), y, 0.9).mean() - 0.9) < 0.03
    # a forecast twice too narrow is caught: PIT piles up at the ends
    narrow = scores.pit_samples(mu[:, None] + 0.5 * rng.standard_normal((n, 400)), y)
    assert stats.kstest(narrow, "uniform").pvalue < 1e-6


def test_log_score_of_samples_is_their_gaussian_fit() -> None:
    x = np.array([[0.0, 1.0, 2.0]])
    got = scores.log_score_samples(x, np.array([1.0]))
    assert got[0] == pytest.approx(-stats.norm.logpdf(1.0, 1.0, 1.0))


# ------------------------------------------------------------------ linear algebra, Laplace


def test_symmetric_eigen_decomposes() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(6, 6))
    a = a + a.T
    w, v = symmetric_eigen(a)
    np.testing.assert_allclose(np.sum(v[:, None, :] * w * v[None, :, :], axis=2), a, atol=1e-10)
    assert np.all(np.diff(w) >= 0)


def test_effective_sample_size_of_ar1() -> None:
    rng = np.random.default_rng(4)
    phi, n = 0.9, 200_000
    e = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = e[0]
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    want = n * (1 - phi) / (1 + phi)
    assert effective_sample_size(x) == pytest.approx(want, rel=0.1)
    assert effective_sample_size(rng.standard_normal(5000)) == pytest.approx(5000, rel=0.1)


def test_laplace_covariance_of_a_quadratic_is_the_inverse_hessian() -> None:
    a = np.array([[2.0, 0.3], [0.3, 1.0]])
    n_eff = 10.0

    def log_mse(x: Any) -> float:
        return float(np.sum(x[:, None] * a * x[None, :]))

    lap = laplace_covariance(log_mse, np.zeros(2), n_eff, step=0.1)
    h = n_eff * a  # −ℓ = (n_eff/2)·xᵀAx
    np.testing.assert_allclose(lap["hessian"], h, rtol=1e-8)
    np.testing.assert_allclose(lap["covariance"], np.linalg.inv(h), rtol=1e-8)
    # a prior adds its precision; negative curvature counts as none
    prior = np.array([0.5, 2.0])
    lap = laplace_covariance(log_mse, np.zeros(2), n_eff, step=0.1, prior_sd=prior)
    np.testing.assert_allclose(
        lap["covariance"], np.linalg.inv(h + np.diag(prior**-2.0)), rtol=1e-8
    )
    lap = laplace_covariance(lambda x: -log_mse(x), np.zeros(2), n_eff, step=0.1, prior_sd=prior)
    assert lap["floored"] == 2
    np.testing.assert_allclose(lap["covariance"], np.diag(prior**2), rtol=1e-8)


def test_parameter_draws_have_the_stored_distribution() -> None:
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    dist = ParameterDistribution(
        ("power_cost_median_usd_per_mwh", "investment_margin_threshold"),
        (True, False),
        np.array([np.log(80.0), 0.1]),
        cov,
        np.array([-10.0, -10.0]),
        np.array([10.0, 10.0]),
    )
    z = np.random.default_rng(5).standard_normal((50_000, 2))
    v = dist.transform(z)
    x = np.column_stack(
        [np.log(v["power_cost_median_usd_per_mwh"]), v["investment_margin_threshold"]]
    )
    np.testing.assert_allclose(x.mean(axis=0), dist.mean, atol=0.005)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=0.003)


# ----------------------------------------------------------------------------- regimes


def test_regime_step_rate_and_recovery() -> None:
    p = RegimeParams(36.525, 0.2, 0.0, 10.0, 0.0)  # a drop every 10 days on average
    rng = np.random.default_rng(6)
    n = 200_000
    draws = np.column_stack([rng.random(n), np.zeros(n), rng.standard_normal(n)])
    off, g = regime_step(np.full(n, 0.5), np.zeros(n), p, draws)
    hit = off > 0.5 * 0.5**0.1 + 1e-12
    assert hit.mean() == pytest.approx(1 - np.exp(-0.1), rel=0.03)
    np.testing.assert_allclose(off[~hit], 0.5 * 0.5**0.1)
    np.testing.assert_allclose(off[hit], 1 - (1 - 0.5 * 0.5**0.1) * 0.8)
    assert np.all(g == 0.0)


def test_fit_regimes_finds_planted_drops() -> None:
    rng = np.random.default_rng(7)
    n = 4 * 365
    r = np.cumsum(rng.normal(0, 0.15 / np.sqrt(365.25), n))
    for start, depth in ((300, 0.3), (900, 0.25)):
        k = np.arange(n - start)
        r[start:] += np.log(1 - depth * 0.5 ** (k / 20.0))
    params, episodes = fit_regimes(r)
    assert len(episodes) == 2
    assert [e["trough"] for e in episodes] == pytest.approx([300, 900], abs=3)
    assert params.drop_rate_per_year == pytest.approx(2 / 4 * 365 / 365.25, rel=0.01)
    assert params.drop_median_share == pytest.approx(np.sqrt(0.3 * 0.25), abs=0.03)
    assert 10 <= params.recovery_half_life_days <= 30
    assert 0.08 < params.growth_sd_per_sqrt_year < 0.25


# ------------------------------------------------------------- the engine: draws, chunking


def _calibration_file(tmp_path: Path, sd: float = 0.3) -> Path:
    from hashfleet.network.parameters import TRANSFORMS
    from hashfleet.scenario.schema import EndogenousHashrateSpec

    spec = EndogenousHashrateSpec()
    fitted = {k: getattr(spec, k) for k, _ in TRANSFORMS}
    mean = [np.log(v) if lg else v for (k, lg), v in zip(TRANSFORMS, fitted.values(), strict=True)]
    k = len(TRANSFORMS)
    cal = {
        "fitted": fitted,
        "uncertainty": {
            "names": [n for n, _ in TRANSFORMS],
            "logged": [lg for _, lg in TRANSFORMS],
            "mean": mean,
            "covariance": (np.eye(k) * sd**2).tolist(),
            "lower": [-20.0] * k,
            "upper": [20.0] * k,
        },
        "regimes": RegimeParams(2.0, 0.15, 0.4, 20.0, 0.3).to_json(),
    }
    path = tmp_path / "calibrations" / "toy.json"
    path.parent.mkdir()
    path.write_text(json.dumps(cal))
    return path


def _run(hashrate: dict[str, Any], paths: int, chunk: int | None = None, **kw: Any) -> Any:
    from hashfleet.runner import simulate
    from hashfleet.studies.backtest import backtest_scenario
    from hashfleet.studies.calibration import history_inputs

    start = dt.date(2021, 1, 1)
    inputs = history_inputs(start, start + dt.timedelta(days=40))
    hr = {"model": "endogenous", "start_ehs": inputs.start_ehs} | hashrate
    sc = backtest_scenario(start, inputs, hr, paths=paths, seed=3, store_paths=True)
    return simulate(sc, chunk_paths=chunk, **kw)


def test_per_path_draws_are_invariant_to_chunking_and_vary_by_path(tmp_path: Path) -> None:
    cal = str(_calibration_file(tmp_path))
    hr = {"calibration": cal, "parameter_draws": True, "regimes": {}}
    one = _run(hr, 500)
    two = _run(hr, 500, chunk=250)
    for v in ("network_hashrate_ehs", "difficulty", "regime_log_multiplier"):
        np.testing.assert_array_equal(one.paths[v].to_numpy(), two.paths[v].to_numpy())
    # worker processes (each compiles the scenario and draws its own blocks) agree
    procs = _run(hr, 500, backend="processes", workers=2, block_paths=250)
    np.testing.assert_array_equal(
        one.paths["network_hashrate_ehs"].to_numpy(), procs.paths["network_hashrate_ehs"].to_numpy()
    )
    # the first 250 paths do not depend on how many paths run
    few = _run(hr, 250)
    np.testing.assert_array_equal(
        few.paths["network_hashrate_ehs"].to_numpy(),
        one.paths["network_hashrate_ehs"].to_numpy()[:250],
    )
    point = _run({"calibration": cal}, 500)
    spread = np.std(np.log(one.paths["network_hashrate_ehs"].to_numpy()[:, -1]))
    spread_point = np.std(np.log(point.paths["network_hashrate_ehs"].to_numpy()[:, -1]))
    assert spread > 2 * spread_point


def test_a_calibration_with_the_default_values_and_no_draws_changes_nothing(
    tmp_path: Path,
) -> None:
    cal = str(_calibration_file(tmp_path))
    a = _run({}, 250)
    b = _run({"calibration": cal}, 250)
    np.testing.assert_array_equal(
        a.paths["network_hashrate_ehs"].to_numpy(), b.paths["network_hashrate_ehs"].to_numpy()
    )


def test_calibration_names_resolve_and_bad_ones_say_where_they_looked(tmp_path: Path) -> None:
    path = _calibration_file(tmp_path)
    assert resolve_calibration("toy", tmp_path) == path
    with pytest.raises(InputError, match=r"shipped: .*history-2016-2019"):
        resolve_calibration("nope", tmp_path)
    assert resolve_calibration("history-2016-2019").is_file()


def test_parameter_draws_need_a_calibration_with_uncertainty() -> None:
    with pytest.raises(InputError, match="calibration: expected a calibration name"):
        _run({"parameter_draws": True}, 250)


def test_a_scenario_names_its_calibration_next_to_it(tmp_path: Path) -> None:
    """``calibration: NAME`` in a YAML file finds calibrations/NAME.json beside the file;
    the run gets the per-path sampler and the regimes component."""
    from hashfleet.model import compile_scenario
    from hashfleet.network.regimes import Regimes
    from hashfleet.network.supply import EndogenousSupply
    from hashfleet.scenario import load_scenario

    _calibration_file(tmp_path)
    f = tmp_path / "s.yaml"
    f.write_text(
        "name: t\nrun: {start: 2022-01-01, horizon_days: 5, paths: 250}\nnetwork:\n"
        "  hashrate: {model: endogenous, calibration: toy, parameter_draws: true,\n"
        "             regimes: {drop_rate_per_year: 1.0}}\n"
    )
    comps = compile_scenario(load_scenario(f)).components
    [supply] = [c for c in comps if isinstance(c, EndogenousSupply)]
    [regimes] = [c for c in comps if isinstance(c, Regimes)]
    assert supply.param_sampler is not None
    assert regimes.params.drop_rate_per_year == 1.0  # set in the scenario
    assert regimes.params.growth_sd_per_sqrt_year == 0.3  # from the calibration
    assert comps.index(regimes) == comps.index(supply) + 1


def test_a_calibration_with_a_bad_fitted_value_is_a_data_error(tmp_path: Path) -> None:
    from hashfleet.errors import DataError
    from hashfleet.network.parameters import apply_calibration
    from hashfleet.scenario.schema import EndogenousHashrateSpec

    with pytest.raises(DataError, match=r"fitted\.power_cost_sigma: .*got -1"):
        apply_calibration(
            EndogenousHashrateSpec(), {"fitted": {"power_cost_sigma": -1}, "_path": "x.json"}
        )
