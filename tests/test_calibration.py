"""Calibration of the endogenous network: shipped defaults, fee filling, the fit itself."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from click.testing import CliRunner

from hashfleet.cli import cli
from hashfleet.scenario.schema import EndogenousHashrateSpec
from hashfleet.studies.calibration import (
    DEFAULT_IN_SAMPLE,
    FITTED,
    calibrate,
    fee_share_of_revenue,
    history_inputs,
    load_calibration,
    log_hashrate_errors,
    simulate_history,
)


def test_schema_defaults_equal_the_shipped_calibration() -> None:
    """Every fitted value is the endogenous spec's default, exactly."""
    cal = load_calibration()
    spec = EndogenousHashrateSpec()
    assert set(cal["fitted"]) == set(FITTED)
    for k, v in cal["fitted"].items():
        assert getattr(spec, k) == v, k
    for k, v in cal["fixed"].items():
        assert getattr(spec, k) == v, k


def test_shipped_calibration_documents_its_fit() -> None:
    """In-sample period, fit quality per year, and a fit better than its starting guess."""
    cal = load_calibration()
    assert cal["in_sample"] == {
        "from": DEFAULT_IN_SAMPLE[0].isoformat(),
        "to": DEFAULT_IN_SAMPLE[1].isoformat(),
    }
    fit = cal["fit"]
    assert fit["rmse_log_hashrate"] < fit["rmse_log_hashrate_start_guess"]
    assert [p["period"] for p in fit["per_period"]] == ["2016", "2017", "2018", "2019"]


@pytest.mark.usefixtures("non_commercial_data")
def test_shipped_fit_quality_is_reproduced() -> None:
    """Re-simulating the in-sample period with the defaults gives the stored RMSE (±1e-3)."""
    inputs = history_inputs(*DEFAULT_IN_SAMPLE)
    sim = simulate_history(EndogenousHashrateSpec(), inputs)
    err = log_hashrate_errors(sim["network_hashrate_ehs"], inputs.hashrate_ehs)
    rmse = float(np.sqrt(np.mean(err**2)))
    assert rmse == pytest.approx(load_calibration()["fit"]["rmse_log_hashrate"], abs=1e-3)


@pytest.mark.usefixtures("non_commercial_data")
def test_missing_fees_are_a_share_of_subsidy() -> None:
    """In the fee gap (2021), fees/block = subsidy/block · s/(1−s); outside it, history's."""
    s = fee_share_of_revenue()
    assert 0.01 < s < 0.2
    gap = history_inputs(dt.date(2021, 3, 1), dt.date(2021, 3, 10))
    assert gap.fees_btc_per_block == pytest.approx(6.25 * s / (1 - s), rel=1e-9)
    known = history_inputs(dt.date(2019, 3, 1), dt.date(2019, 3, 10))
    assert np.ptp(known.fees_btc_per_block) > 0  # real, varying fees


@pytest.mark.usefixtures("non_commercial_data")
def test_calibration_improves_on_its_starting_guess() -> None:
    """From a poor guess (median cost 40 USD/MWh, σ 0.4) a short fit on 2019-H1 lowers the
    RMSE of log hashrate by at least 20 %."""
    base = EndogenousHashrateSpec(power_cost_median_usd_per_mwh=40.0, power_cost_sigma=0.4)
    res = calibrate(dt.date(2019, 1, 1), dt.date(2019, 6, 30), base=base, max_evaluations=25)
    fit = res["fit"]
    assert fit["rmse_log_hashrate"] < 0.8 * fit["rmse_log_hashrate_start_guess"]
    assert res["in_sample"] == {"from": "2019-01-01", "to": "2019-06-30"}
    json.dumps(res)  # JSON-ready


@pytest.mark.usefixtures("non_commercial_data")
def test_cli_calibrate_rejects_dates_outside_history(tmp_path) -> None:
    """A window outside the shipped history is an input error (exit 2) naming from/to."""
    r = CliRunner().invoke(
        cli,
        [
            "calibrate",
            "--from",
            "2030-01-01",
            "--to",
            "2030-06-01",
            "--out",
            str(tmp_path / "c.json"),
        ],
    )
    assert r.exit_code == 2
    assert "from/to" in r.output


@pytest.mark.usefixtures("non_commercial_data")
def test_calibrate_cli_reports_progress_and_diagnostics(tmp_path, monkeypatch) -> None:
    """Two evaluations without uncertainty: a progress line per evaluation on stderr, the
    optimiser's status, a named file in calibrations/."""
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(
        cli,
        ["calibrate", "--max-evaluations", "2", "--no-uncertainty", "--name", "quick"],
    )
    assert r.exit_code == 0, r.output
    assert r.stderr.count("[fit] evaluation") >= 3
    assert "left <=" in r.stderr
    assert "optimiser: Nelder-Mead status" in r.stdout
    cal = json.loads((tmp_path / "calibrations" / "quick.json").read_text())
    assert cal["convergence"]["status"] == 1
    assert "uncertainty" not in cal


def test_shipped_forecast_calibration_has_a_proper_distribution() -> None:
    """The shipped history-2016-2019 calibration: a positive definite covariance, an
    effective sample size far below the number of days, regimes fitted."""
    from hashfleet.network.parameters import (
        ParameterDistribution,
        load_named_calibration,
        symmetric_eigen,
    )

    cal = load_named_calibration("history-2016-2019")
    dist = ParameterDistribution.from_json(cal["uncertainty"])
    assert symmetric_eigen(dist.covariance)[0].min() > 0
    assert 1 <= cal["uncertainty"]["n_eff"] < cal["uncertainty"]["n_days"] / 10
    assert cal["regimes"]["drop_rate_per_year"] > 0
    assert cal["in_sample"] == {"from": "2016-01-01", "to": "2019-12-31"}
