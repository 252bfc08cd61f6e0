"""A small saved run shared by the results tests (every path stored)."""

from __future__ import annotations

from pathlib import Path

import pytest
from results_helpers import ROOT, SMALL_SET

from hashfleet.results import Results


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Results, Path]:
    """(results, saved directory) of 40 paths x 240 days with every path stored."""
    from hashfleet.runner import simulate
    from hashfleet.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios/strategies-baseline.yaml", set_args=SMALL_SET)
    res = simulate(sc, paths=40, seed=11, store_paths=True)
    out = tmp_path_factory.mktemp("small") / "run"
    res.save(out)
    return res, out
