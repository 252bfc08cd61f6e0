"""The sourced capital scenarios in tests/finance/data validate and run: the baseline's
capital stack (with its CRN comparisons) and the 2022 leveraged-miner replay."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from hashfleet.finance.stats import paired_difference
from hashfleet.scenario import load_scenario
from hashfleet.scenario.capital import CapitalSpec
from hashfleet.studies.stress import run_capital, shocked_scenario

DATA = Path(__file__).resolve().parents[2] / "scenarios"


def load(name: str) -> tuple[dict[str, Any], Any, CapitalSpec]:
    data = yaml.safe_load((DATA / name).read_text())
    cap = CapitalSpec.model_validate(data["capital"])
    plain = {k: v for k, v in data.items() if k != "capital"}
    return data, shocked_scenario(plain, base_dir=DATA), cap


def with_set(capital: dict[str, Any], sets: dict[str, Any]) -> CapitalSpec:
    out = copy.deepcopy(capital)
    for path, value in sets.items():
        keys = path.split(".")
        assert keys[0] == "capital", path
        node = out
        for k in keys[1:-1]:
            node = node[k]
        node[keys[-1]] = value
    return CapitalSpec.model_validate(out)


@pytest.mark.parametrize("name", ["baseline-capital.yaml", "stress-2022.yaml"])
def test_capital_scenarios_validate(name: str) -> None:
    data, _, cap = load(name)
    assert cap.instruments
    for s in data.get("strategies", []):
        with_set(data["capital"], s.get("set", {}))
    load_scenario(DATA / name)  # the whole file through the loader, strategies included


@pytest.mark.usefixtures("non_commercial_data")
def test_stress_2022_replay_keeps_the_identities_and_the_leveraged_miner_fails() -> None:
    """History's 2022 prices: BTC fell from ~$47k to ~$16.5k.  The leveraged miner's
    equipment collateral (secondary ASIC value follows hashprice) breaches its LTV and the
    path runs out of cash within the year (the real one filed for Chapter 11 on 2022-12-21).
    Identities are checked every day."""
    _, sc, cap = load("stress-2022.yaml")
    run = run_capital(sc, cap.model_copy(update={"check_identities": True}), paths=250, seed=1)
    calls = run.first_day(["margin_call"])
    assert (calls >= 0).all()
    ins = run.insolvent_day
    assert (ins >= 0).mean() > 0.5
    assert (ins[ins >= 0] > calls[ins >= 0]).all()  # calls come before the end


def test_baseline_crn_comparisons() -> None:
    """HODL vs sell-all and two financing plans, paired over one seed; each paired
    difference is reported with its SE, which is finite and smaller than unpaired."""
    data, sc, _ = load("baseline-capital.yaml")
    sc = sc.model_copy(update={"run": sc.run.model_copy(update={"horizon_days": 365})})
    plans = {s["name"]: with_set(data["capital"], s.get("set", {})) for s in data["strategies"]}
    a = run_capital(sc, plans["sell-all"], paths=250, seed=5).ending_equity_usd
    b = run_capital(sc, plans["hodl"], paths=250, seed=5).ending_equity_usd
    d = paired_difference(a, b)
    unpaired = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    assert 0 < d.se < unpaired
    fin = {name: run_capital(sc, plans[name], paths=250, seed=5) for name in plans}
    e = paired_difference(fin["convert-only"].min_cash_usd, fin["sell-to-cover"].min_cash_usd)
    assert np.isfinite(e.se)
