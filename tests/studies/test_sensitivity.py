"""Sensitivity machinery on toys with known answers, and one small real-engine run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hashfleet.errors import InputError
from hashfleet.studies.sensitivity import (
    Factor,
    cases_mixture,
    parse_vary,
    sobol_indices,
    tornado,
    weighted_quantile,
)

ROOT = Path(__file__).resolve().parents[2]

# Y = 3·x1 + 1·x2 + 0·x3, x1 ~ U(0, 1), x2 ~ U(0, 2), x3 ~ U(0, 1):
# V = 9/12 + 4/12 = 13/12; S1 = ST = (9/13, 4/13, 0)
FACTORS = [Factor("x1", 0.0, 1.0, 0.5), Factor("x2", 0.0, 2.0, 1.0), Factor("x3", 0.0, 1.0, 0.5)]
TRUTH = np.array([9 / 13, 4 / 13, 0.0])


def linear(overrides: Mapping[str, Any]) -> dict[str, np.ndarray]:
    x = {f.field: f.base for f in FACTORS} | dict(overrides)
    noise = np.random.default_rng(1).normal(0, 0.01, 50)  # the same "paths" every call: CRN
    return {"y": 3.0 * x["x1"] + 1.0 * x["x2"] + 0.0 * x["x3"] + noise}


def test_sobol_indices_of_a_linear_toy_match_the_variance_shares_within_their_cis() -> None:
    df = sobol_indices(FACTORS, linear, ["y"], n_base=512, seed=4, n_boot=400)["y"]
    for i, row in df.iterrows():
        for s in ("S1", "ST"):
            assert row[f"{s}_low"] <= TRUTH[i] + 0.01 and TRUTH[i] - 0.01 <= row[f"{s}_high"], row
            assert abs(row[s] - TRUTH[i]) < 0.05
            assert row[f"{s}_high"] - row[f"{s}_low"] < 0.2
    assert df.attrs["evaluations"] == 512 * 5
    assert df.attrs["variance"] == pytest.approx(13 / 12, rel=0.05)


def test_sobol_indices_see_an_interaction() -> None:
    # Y = x1·x2 on U(-1, 1)²: no first-order effect, all of it in the interaction
    f = [Factor("a", -1.0, 1.0, 0.0), Factor("b", -1.0, 1.0, 0.0)]

    def product(o: Mapping[str, Any]) -> dict[str, np.ndarray]:
        return {"y": np.array([o.get("a", 0.0) * o.get("b", 0.0)])}

    df = sobol_indices(f, product, ["y"], n_base=1024, seed=2, n_boot=300)["y"]
    assert np.all(np.abs(df["S1"]) < 0.05)
    assert np.all(np.abs(df["ST"] - 1.0) < 0.1)


def test_tornado_orders_by_swing_and_pairs_the_paths() -> None:
    t = tornado(FACTORS, linear, ["y"])["y"]
    assert list(t["factor"]) == ["x1", "x2", "x3"]
    np.testing.assert_allclose(t["swing"], [3.0, 2.0, 0.0], atol=1e-12)
    # common random numbers: the per-path noise cancels, the interval is a point
    np.testing.assert_allclose(t["ci_high"] - t["ci_low"], 0.0, atol=1e-9)
    assert t.attrs["base"] == pytest.approx(3.0 * 0.5 + 1.0, abs=0.01)


def test_mixture_weights_cases_by_probability() -> None:
    def ev(o: Mapping[str, Any]) -> dict[str, np.ndarray]:
        return {"y": np.full(100, float(o.get("level", 0.0)))}

    table, values = cases_mixture(
        {
            "bear": (0.25, {"level": -1.0}),
            "base": (0.5, {"level": 1.0}),
            "bull": (0.25, {"level": 3.0}),
        },
        ev,
        ["y"],
    )
    mix = table[table["case"] == "mixture"].iloc[0]
    assert mix["mean"] == pytest.approx(0.25 * -1 + 0.5 * 1 + 0.25 * 3)
    assert mix["p_negative"] == pytest.approx(0.25)
    assert mix["q50"] == pytest.approx(1.0)
    assert set(values) == {"bear", "base", "bull"}


def test_weighted_quantile_equal_weights_is_hazen() -> None:
    x = np.random.default_rng(0).normal(size=101)
    q = [0.1, 0.5, 0.9]
    np.testing.assert_allclose(
        weighted_quantile(x, np.ones_like(x), q), np.quantile(x, q, method="hazen")
    )


def test_parse_vary() -> None:
    assert parse_vary("market.btc_price.start_usd=50000:150000") == (
        "market.btc_price.start_usd",
        50000.0,
        150000.0,
    )
    assert parse_vary("fleet.cohorts[0].units=10:20")[0] == "fleet.cohorts[0].units"
    for bad in ("x=2:1", "x=1", "x=a:b", "=1:2"):
        with pytest.raises(InputError):
            parse_vary(bad)


def test_real_engine_tornado_cases_and_report(tmp_path: Path) -> None:
    """A small real run of the CLI: the BTC price's start moves NPV more than the discount
    rate over 90 days; the cases' mixture mean is the weighted mean of the cases' means."""
    import json

    from click.testing import CliRunner

    from hashfleet.cli import cli

    cases = (
        "cases={bear: {weight: 0.25, set: {market.btc_price.start_usd: 40000}}, "
        "base: {weight: 0.5}, bull: {weight: 0.25, set: {market.btc_price.start_usd: 140000}}}"
    )
    args = [
        "sensitivity", str(ROOT / "scenarios/baseline.yaml"), "--paths", "4",
        "--set", "run.horizon_days=90", "--set", cases, "--cases",
        "--vary", "finance.discount_rate_per_year=0.05:0.2",
        "--vary", "market.btc_price.start_usd=40000:140000",
        "--method", "both", "--samples", "2", "--out", str(tmp_path), "--no-progress",
    ]  # fmt: skip
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "sensitivity.json").read_text())
    rows = doc["tornado"]["npv_usd"]["rows"]
    assert [row["factor"] for row in rows] == [
        "market.btc_price.start_usd",
        "finance.discount_rate_per_year",
    ]
    assert rows[0]["swing"] > 0 > rows[1]["swing"]
    assert doc["metadata"]["runs"] == 5 + 2 * 4 + 3
    table = {(c["case"], c["metric"]): c for c in doc["cases"]}
    mix = sum(table[(k, "npv_usd")]["mean"] * w for k, w in doc["case_weights"].items())
    assert table[("mixture", "npv_usd")]["mean"] == pytest.approx(mix)
    page = (tmp_path / "report.html").read_text()
    for name in ("tornado_npv_usd", "sobol_npv_usd", "cases_npv_usd"):
        assert f"data-name='{name}'" in page


def test_case_weights_must_sum_to_one() -> None:
    from hashfleet.errors import ScenarioError
    from hashfleet.scenario import load_scenario

    with pytest.raises(ScenarioError, match="expected a sum of 1"):
        load_scenario(
            ROOT / "scenarios/baseline.yaml",
            set_args=["cases={bear: {weight: 0.3}, bull: {weight: 0.6}}"],
        )
