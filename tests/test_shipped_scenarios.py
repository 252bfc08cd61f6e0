"""Every scenario shipped in ``scenarios/`` runs (small: 250 paths, 30 days), with the
invariant guards on; a new file there is picked up without editing this test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hashfleet.history.licence import ENV_VAR as LICENCE_VAR
from hashfleet.runner import simulate

#: Scenarios replaying history's price (CC BY-NC 4.0; hashfleet --non-commercial-data).
NEEDS_PRICE_HISTORY = {"stress-2022"}
SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))


def test_there_are_shipped_scenarios() -> None:
    assert len(SCENARIOS) >= 4


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenario_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every scenario runs on licence-clean defaults, except those that name the shipped
    price history (CC BY-NC) and say so in their file."""
    if path.stem in NEEDS_PRICE_HISTORY:
        monkeypatch.setenv(LICENCE_VAR, "1")
    res = simulate(path, paths=250, seed=1, overrides={"run.horizon_days": 30})
    assert res.metadata["paths"] == 250
    cash = res.per_path["final_cash_usd"].to_numpy()
    assert cash.shape == (250,) and np.isfinite(cash).all()
    assert float(res.per_path["total_production_btc"].mean()) > 0
