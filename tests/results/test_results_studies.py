"""Study reports (sweep, stress), the compare table without sentinels or ``nan``, JSON
without NaN, and J/TH drawn as a gap where nothing runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hashfleet.results.base import NULL_REASON, json_safe
from hashfleet.results.comparison import Comparison
from hashfleet.results.plots import _gaps
from hashfleet.results.study_report import write_stress_report, write_sweep_report
from hashfleet.studies.compare import _tables


def _comparison(irr_missing: int) -> Comparison:
    rng = np.random.default_rng(3)
    n = 20
    per_path = {}
    for s in ("a", "b"):
        irr = rng.normal(0.1, 0.05, n)
        irr[:irr_missing] = np.nan  # no IRR on these paths
        per_path[s] = pd.DataFrame(
            {"npv_usd": rng.normal(1e8, 1e7, n), "irr_per_year": irr},
            index=pd.Index(np.arange(n), name="path"),
        )
    names, metrics = ["a", "b"], ["npv_usd", "irr_per_year"]
    summary, paired = _tables(per_path, names, metrics, 0.95)
    meta = {"scenario": "toy", "paths": n, "seed": 0, "confidence": 0.95, "independent": False}
    return Comparison(names, metrics, per_path, summary, paired, meta)


def test_compare_table_says_no_irr_on_k_percent_and_averages_only_existing_irrs() -> None:
    cmp = _comparison(irr_missing=5)
    text = cmp.to_text()
    assert "nan" not in text.lower()
    assert "no IRR on 25 % of paths" in text
    expected = float(np.mean(cmp.per_path["a"]["irr_per_year"].to_numpy()[5:]))
    assert cmp.summary.loc[("a", "irr_per_year"), "mean"] == pytest.approx(expected)
    assert cmp.summary.loc[("a", "irr_per_year"), "n_missing"] == 5
    assert cmp.paired.loc[("b", "irr_per_year"), "n"] == 15


def test_compare_table_with_no_irr_anywhere() -> None:
    text = _comparison(irr_missing=20).to_text()
    assert "nan" not in text.lower()
    assert "no IRR on 100 % of paths" in text


def test_json_safe_writes_null_with_a_reason() -> None:
    doc = {"per_path": {"irr": {"mean": float("nan"), "q0.5": np.float64(np.inf)}, "x": 1.0}}
    safe = json_safe(doc)
    text = json.dumps(safe, allow_nan=False)
    back = json.loads(text)
    assert back["per_path"]["irr"] == {"mean": None, "q0.5": None, "null_reason": NULL_REASON}
    assert "null_reason" not in back["per_path"]
    assert back["per_path"]["x"] == 1.0


def test_j_per_th_is_a_gap_where_nothing_runs() -> None:
    y = np.array([25.0, 0.0, 24.0])
    assert np.isnan(_gaps("fleet_j_per_th", y)[1])
    assert _gaps("cash_usd", y)[1] == 0.0


def _charts(page: Path) -> list[str]:
    return re.findall(r"data-name='([^']+)'", page.read_text(encoding="utf-8"))


def test_sweep_report(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "scenario_id": ["s0", "s1", "s2"],
            "status": ["ok", "ok", "failed"],
            "run.paths": [10, 20, 30],
            "final_npv_usd_mean": [1e8, 2e8, np.nan],
            "final_npv_usd_q0.05": [-1e8, 0.0, np.nan],
            "final_npv_usd_q0.95": [3e8, 4e8, np.nan],
        }
    )
    page = write_sweep_report(table, ["run.paths"], tmp_path)
    assert _charts(page) == ["sweep_metrics"]
    text = page.read_text(encoding="utf-8")
    assert "s2" in text and "failed" in text and "nan" not in text.lower()


def test_stress_report(tmp_path: Path) -> None:
    def p(x: float) -> dict[str, float]:
        return {"k": int(100 * x), "n": 100, "p": x, "lo": max(0.0, x - 0.05), "hi": x + 0.05}

    def summary(x: float) -> dict[str, object]:
        probs = {90: p(x / 2), 365: p(x)}
        return {
            "paths": 100,
            "p_insolvency": probs,
            "p_breach": probs,
            "p_margin_call": probs,
            "ending_equity_mean_usd": 1e8,
            "ending_equity_var_0.05_usd": -1e7,
            "ending_equity_cvar_0.05_usd": -2e7,
            "all_in_cost_usd_per_btc_median": 50_000.0,
        }

    result = {
        "base": summary(0.1),
        "price_crash": summary(0.4) | {"level": 0.5},
        "tenant_default": {"not_applicable": "no hpc section"},
    }
    page = write_stress_report(result, tmp_path)
    assert _charts(page) == ["stress_probabilities"]
    text = page.read_text(encoding="utf-8")
    assert "40.0 %" in text and "no hpc section" in text
