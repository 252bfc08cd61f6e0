"""`hashfleet run` and `hashfleet catalogue`, and that a resolved scenario runs the same."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from hashfleet.cli import cli
from hashfleet.runner import simulate
from hashfleet.scenario import dump_resolved, load_scenario, load_scenario_text

ROOT = Path(__file__).parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def test_run_writes_results_and_says_where(tmp_path: Path) -> None:
    out = tmp_path / "res"
    r = CliRunner().invoke(
        cli,
        [
            "run",
            str(BASELINE),
            "--paths",
            "20",
            "--seed",
            "3",
            "--out",
            str(out),
            "--set",
            "run.horizon_days=20",
            "--store-paths",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    assert f"Results written to {out}/" in r.output
    assert "BTC produced" in r.output
    for name in ("summary.json", "daily.nc", "per_path.nc", "events.nc", "paths.nc"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metadata"]["seed"] == 3 and summary["metadata"]["paths"] == 20
    again = load_scenario(out / "scenario.resolved.yaml")
    assert again.run.paths == 20 and again.run.seed == 3 and again.run.horizon_days == 20
    assert not list(out.glob(".*.tmp"))


def test_run_bad_input_is_exit_2_without_traceback(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["run", str(BASELINE), "--set", "run.horizon_days=-3"])
    assert r.exit_code == 2
    assert "run.horizon_days" in r.output and "Traceback" not in r.output


def test_resolved_scenario_runs_identically() -> None:
    sc = load_scenario(BASELINE, overrides={"run.horizon_days": 40, "run.paths": 30})
    again = load_scenario_text(dump_resolved(sc))
    a = simulate(sc, store_paths=True)
    b = simulate(again, store_paths=True)
    assert a.paths is not None and b.paths is not None
    for v in a.paths.data_vars:
        assert np.array_equal(a.paths[v].values, b.paths[v].values), v
    assert a.metadata["scenario_hash"] == b.metadata["scenario_hash"]


def test_catalogue_lists_models() -> None:
    r = CliRunner().invoke(cli, ["catalogue"])
    assert r.exit_code == 0
    assert "Antminer S21 XP" in r.output and "efficiency_j_per_th" in r.output
    r = CliRunner().invoke(cli, ["catalogue", "--csv"])
    assert r.output.splitlines()[0].startswith("name,")
