"""Paired comparison under common random numbers; NPV and IRR against closed forms."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import hashfleet
from builders import CHAIN_2026
from hashfleet.cli import cli
from hashfleet.errors import InputError
from hashfleet.finance.valuation import irr_per_year, npv_usd
from hashfleet.results.decision import path_metrics
from hashfleet.runner import simulate
from hashfleet.scenario.schema import Scenario
from hashfleet.studies.compare import compare

ROOT = Path(__file__).resolve().parents[1]

BASE: dict[str, Any] = {
    "name": "compare-test",
    "run": {
        "start": "2026-01-01",
        "horizon_days": 40,
        "paths": 250,
        "seed": 11,
        "outputs": {"event_log": False},
    },
    "network": {
        "start": CHAIN_2026,
        "hashrate": {"model": "growth", "growth_per_year": 0.3, "noise_sigma": 0.05},
        "fees": {"model": "lognormal", "median_btc_per_block": 0.02, "sigma": 0.4},
    },
    "market": {"btc_price": {"model": "gbm", "start_usd": 88_000, "volatility_per_year": 0.8}},
    "fleet": {
        "models": [{"name": "Good", "hashrate_th_s": 200, "power_w": 3000}],
        "sites": [
            {
                "name": "A",
                "capacity_mw": 20,
                "power": {"contract": "fixed", "price_usd_per_mwh": 40},
            }
        ],
        "cohorts": [{"model": "Good", "site": "A", "units": 3000}],
    },
    "company": {"starting_cash_usd": 1e7},
    "strategies": [
        {"name": "hold", "set": {"policies.upgrade": {"kind": "hold"}}},
        {
            "name": "dip",
            "set": {
                "policies.upgrade": {
                    "kind": "buy_dip",
                    "model": "Good",
                    "threshold_days": 10_000,
                    "review_every_days": 10,
                    "budget_usd": 1e9,
                    "commissioning_days": 0,
                }
            },
        },
    ],
}


def test_paired_standard_error_is_smaller_than_independent() -> None:
    """Same seed for both strategies vs seeds 11 and 12: the paired s.e. of the difference
    in means must be well below the unpaired s.e. sqrt(se_A² + se_B²).  Measured: ratio
    2.2-2.4 for production, EBITDA and NPV (seeds 5 and 11); with independent draws it would
    be ~1, so the tolerance is a factor 1.5.  (Free cash flow gains nothing here: its
    difference is dominated by the dip's capex, which only one strategy has.)"""
    sc = Scenario.model_validate(BASE)
    metrics = ["production_btc", "ebitda_usd", "npv_usd"]
    paired = compare(sc, metrics=metrics)
    indep = compare(sc, metrics=metrics, independent=True)
    for m in metrics:
        se_paired = paired.paired.loc[("dip", m), "se_diff"]
        se_a = indep.summary.loc[("hold", m), "se"]
        se_b = indep.summary.loc[("dip", m), "se"]
        assert se_paired < np.hypot(se_a, se_b) / 1.5, m
    # both estimate the same mean difference (the dip strategy adds machines)
    d_p = paired.paired.loc[("dip", "production_btc"), "mean_diff"]
    d_i = indep.paired.loc[("dip", "production_btc"), "mean_diff"]
    assert d_p > 0
    assert abs(d_p - d_i) < 5 * np.hypot(
        indep.summary.loc[("hold", "production_btc"), "se"],
        indep.summary.loc[("dip", "production_btc"), "se"],
    )
    # common random numbers: the reference strategy's price paths coincide path by path
    assert (
        paired.per_path["hold"]["revenue_usd"].iloc[0]
        != indep.per_path["dip"]["revenue_usd"].iloc[0]
    )
    text = paired.to_text()
    assert "common random numbers" in text and "P(beats hold)" in text
    row = paired.paired.loc[("dip", "production_btc")]
    assert row["p_beats"] == 1.0 and row["p_low"] > 0.9


def test_compare_outputs_and_errors(tmp_path: Path) -> None:
    sc = Scenario.model_validate(BASE)
    c = hashfleet.compare(sc, paths=20, metrics=["capex_usd"])
    c.to_csv(tmp_path / "c.csv")
    head = (tmp_path / "c.csv").read_text().splitlines()[0]
    assert head.startswith("strategy,reference,metric,mean_diff")
    doc = json.loads(c.to_json())
    assert doc["metadata"]["strategies"] == ["hold", "dip"]
    with pytest.raises(InputError, match="metric"):
        compare(sc, metrics=["nope"])
    with pytest.raises(InputError, match="at least two"):
        compare(sc, strategies=["hold"])
    with pytest.raises(InputError, match="strategies"):
        compare(sc, strategies=["hold", "nope"])


def test_cli_compare_strategies_baseline(tmp_path: Path) -> None:
    """The shipped comparison runs from the CLI on a short horizon and prints the table."""
    out = tmp_path / "cmp.json"
    r = CliRunner().invoke(
        cli,
        [
            "compare",
            str(ROOT / "scenarios/strategies-baseline.yaml"),
            "--paths",
            "20",
            "--set",
            "run.horizon_days=40",
            "--json",
            str(out),
            "--out",
            str(tmp_path / "cmp"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "refresh-frontier" in r.output and "buy-the-dip" in r.output
    assert (tmp_path / "cmp" / "report.html").is_file()
    assert json.loads(out.read_text())["metadata"]["paths"] == 20
    bad = CliRunner().invoke(
        cli, ["compare", str(ROOT / "scenarios/baseline.yaml"), "--paths", "2"]
    )
    assert bad.exit_code == 2 and "InputError: strategies" in bad.output


# ---------------------------------------------------------------- NPV and IRR


def test_irr_kernel_against_the_annuity_closed_form() -> None:
    """Pay P = Σ_{m=1}^{60} C (1+r)^(−m/12) at t=0, receive C monthly: IRR = r."""
    rates = np.array([-0.2, 0.0, 0.15, 2.0])
    m = np.arange(1, 61)
    flows = np.zeros((4, 61))
    flows[:, 1:] = 1000.0
    flows[:, 0] = -np.array([(1000.0 * (1 + r) ** (-m / 12)).sum() for r in rates])
    assert irr_per_year(flows) == pytest.approx(rates, abs=1e-10)
    # no sign change: no IRR (NaN, never a sentinel)
    assert np.isnan(irr_per_year(np.ones((1, 5)))[0])
    assert np.isnan(irr_per_year(-np.ones((1, 5)))[0])
    assert np.isnan(irr_per_year(np.zeros((1, 5)))[0])
    # npv kernel: a perpetuity-like check on a short annuity
    assert npv_usd(flows[2:3], m_all := np.arange(61) / 12, 0.15)[0] == pytest.approx(0, abs=1e-6)
    assert m_all[-1] == 5.0


def test_engine_npv_matches_the_closed_form() -> None:
    """A fleet that never runs (power at 10,000 USD/MWh) and 1 m USD/month of opex: every
    day's flow is c = −1e6·12/365.25, so NPV = c·v(1−v^N)/(1−v) with v = 1.1^(−1/365.25).
    IRR: all flows negative, so none (NaN)."""
    d = copy.deepcopy(BASE)
    d["fleet"]["sites"][0]["power"]["price_usd_per_mwh"] = 10_000
    d["company"]["opex_usd_per_month"] = 1e6
    d["finance"] = {"discount_rate_per_year": 0.1, "include_fleet_value": False}
    d["run"]["paths"] = 3
    res = simulate(Scenario.model_validate(d))
    pm = path_metrics(res)
    c = -1e6 * 12 / 365.25
    v = 1.1 ** (-1 / 365.25)
    n = 40
    assert pm["npv_usd"].to_numpy() == pytest.approx(c * v * (1 - v**n) / (1 - v), rel=1e-12)
    assert np.all(np.isnan(pm["irr_per_year"].to_numpy()))
    assert pm["free_cash_flow_usd"].to_numpy() == pytest.approx(c * n, rel=1e-12)
    assert np.all(np.isnan(pm["all_in_cost_usd_per_btc"]))


def test_engine_irr_is_the_irr_of_monthly_aggregated_flows() -> None:
    """With the fleet's value in: −V0 at t=0, daily FCF summed per 30.4375-day month and
    dated at the month's end, V_T in the last month; the engine's IRR zeroes that NPV."""
    d = copy.deepcopy(BASE)
    d["run"].update(paths=4, horizon_days=70, outputs={"store_paths": True, "event_log": False})
    res = simulate(Scenario.model_validate(d))
    pm = path_metrics(res)
    fcf = res.paths["free_cash_flow_usd"].values
    npv = res.paths["npv_usd"].values
    v = 1.12 ** (-1 / 365.25)
    disc = v ** np.arange(1, 71)
    # NPV to date: −V0 + Σ discounted FCF (+ V_T·v^N on the last day)
    v0 = -(npv[:, 0] - fcf[:, 0] * disc[0])
    vt = (npv[:, -1] + v0 - fcf @ disc) / v**70
    assert np.all(v0 > 0) and np.all(vt > 0)
    month = (np.arange(70) // (365.25 / 12)).astype(int) + 1
    monthly = np.zeros((4, month[-1] + 1))
    monthly[:, 0] = -v0
    for j in range(month[-1] + 1):
        monthly[:, j] += fcf[:, month == j].sum(axis=1)
    monthly[:, -1] += vt
    r = pm["irr_per_year"].to_numpy()
    t = np.arange(monthly.shape[1]) / 12
    resid = (monthly * (1 + r[:, None]) ** (-t)).sum(axis=1)
    assert resid == pytest.approx(0, abs=1e-6 * np.abs(monthly).sum(axis=1).max())


def test_strategy_values_replace_whole_sections() -> None:
    """A strategy's mapping replaces the base value (no leftover fields of another policy
    kind); a bad path is an InputError naming the strategy."""
    from hashfleet.studies.compare import strategy_scenario

    d = copy.deepcopy(BASE)
    d["policies"] = {"upgrade": {"kind": "refresh_frontier", "budget_usd": 1e6}}
    d["strategies"][1]["set"]["fleet.cohorts[0].units"] = 10
    sc = Scenario.model_validate(d)
    hold = strategy_scenario(sc, "hold")
    assert hold.policies.upgrade.kind == "hold"
    dip = strategy_scenario(sc, "dip")
    assert dip.policies.upgrade.kind == "buy_dip" and dip.fleet.cohorts[0].units == 10
    assert dip.run == sc.run and dip.market == sc.market
    d["strategies"][0]["set"] = {"fleet.cohorts[5].units": 1}
    with pytest.raises(InputError, match=r"strategies\[hold\]\.set\.fleet\.cohorts\[5\]"):
        strategy_scenario(Scenario.model_validate(d), "hold")
