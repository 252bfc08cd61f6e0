"""Sweeps: expansion of grid and zip, list-valued parameters, and the CLI's combined table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from click.testing import CliRunner

from hashfleet.cli import cli
from hashfleet.errors import InputError, ScenarioError
from hashfleet.runner.blocks import FAULT_ENV
from hashfleet.scenario import load_scenario
from hashfleet.studies.sweep import expand_sweep

ROOT = Path(__file__).parents[2]
SWEEP = ROOT / "scenarios" / "sweep-baseline.yaml"


def _file(tmp_path: Path, sweep: object) -> Path:
    f = tmp_path / "s.yaml"
    f.write_text(
        yaml.safe_dump(
            {"extends": str(ROOT / "scenarios" / "baseline.yaml"), "sweep": sweep},
            sort_keys=False,
        )
    )
    return f


def test_grid_is_the_cartesian_product(tmp_path: Path) -> None:
    f = _file(tmp_path, {"grid": {"run.seed": [1, 2, 3], "fleet.pool.fee_share": [0.01, 0.03]}})
    points = expand_sweep(f)
    assert [p.scenario_id for p in points] == [f"baseline-{i:03d}" for i in range(6)]
    got = [(p.scenario.run.seed, p.scenario.fleet.pool.fee_share) for p in points]
    assert got == [(1, 0.01), (1, 0.03), (2, 0.01), (2, 0.03), (3, 0.01), (3, 0.03)]
    assert all(p.scenario.sweep is None and p.scenario.name == p.scenario_id for p in points)


def test_zip_pairs_the_lists(tmp_path: Path) -> None:
    f = _file(tmp_path, {"zip": {"run.seed": [1, 2], "fleet.cohorts[0].units": [10, 20]}})
    got = [(p.scenario.run.seed, p.scenario.fleet.cohorts[0].units) for p in expand_sweep(f)]
    assert got == [(1, 10), (2, 20)]


def test_a_list_valued_field_needs_a_list_of_lists(tmp_path: Path) -> None:
    """A flat list for a list field is an error that says how to write it, never a sweep."""
    f = _file(tmp_path, {"grid": {"run.outputs.quantiles": [0.1, 0.9]}})
    with pytest.raises(InputError, match=r"quantiles is a list, .*write a list of lists"):
        expand_sweep(f)
    f = _file(tmp_path, {"grid": {"run.outputs.quantiles": [[0.1, 0.9], [0.25, 0.75]]}})
    got = [p.scenario.run.outputs.quantiles for p in expand_sweep(f)]
    assert got == [(0.1, 0.9), (0.25, 0.75)]


def test_a_list_for_a_scalar_field_is_an_error(tmp_path: Path) -> None:
    f = _file(tmp_path, {"grid": {"run.seed": [[1, 2]]}})
    with pytest.raises(InputError, match=r"run.seed is a single value, got the list \[1, 2\]"):
        expand_sweep(f)


@pytest.mark.parametrize(
    ("sweep", "match"),
    [
        ({"grid": {"run.seed": [1]}, "zip": {"run.paths": [1]}}, "exactly one of grid"),
        ({}, "exactly one of grid"),
        ({"zip": {"run.seed": [1, 2], "run.paths": [5]}}, "lists of equal length"),
        ({"grid": {"run.seed": []}}, "non-empty list"),
        ({"grid": {"run.seed": 3}}, "list"),
    ],
)
def test_bad_sweep_sections_are_scenario_errors(tmp_path: Path, sweep: dict, match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        load_scenario(_file(tmp_path, sweep))


def test_a_bad_value_names_the_scenario(tmp_path: Path) -> None:
    f = _file(tmp_path, {"grid": {"fleet.pool.fee_share": [0.01, 7]}})
    with pytest.raises(InputError, match=r"sweep scenario baseline-001 \(fleet.pool.fee_share=7\)"):
        expand_sweep(f)


def test_the_sweep_file_has_twelve_scenarios() -> None:
    assert len(expand_sweep(SWEEP)) >= 12


def test_cli_sweep_writes_the_combined_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hashfleet sweep` over the baseline: 12 rows in Parquet and CSV, 12 resolved files.

    First with one scenario's block failing under --keep-going (the other 11 complete, exit
    code 1, the failure named), then --resume computes that block only.
    """
    out = tmp_path / "sweep"
    base = ["sweep", str(SWEEP), "--out", str(out), "--set", "run.horizon_days=20"]
    monkeypatch.setenv(FAULT_ENV, "sweep-baseline-004/0")
    r = CliRunner().invoke(cli, [*base, "--keep-going", "--no-progress"])
    assert r.exit_code == 1
    assert "sweep-baseline-004 block 0 (paths 0-249): RuntimeError" in r.output
    table = pd.read_csv(out / "sweep.csv")
    assert list(table["status"]).count("failed") == 1
    assert table.set_index("scenario_id").loc["sweep-baseline-004", "status"] == "failed"

    monkeypatch.delenv(FAULT_ENV)
    r = CliRunner().invoke(cli, [*base, "--resume", "--progress"])
    assert r.exit_code == 0, r.output
    assert r.output.count("done in") == 1  # only the failed scenario's block is computed
    assert "12 scenarios; table written to" in r.output
    table = pd.read_parquet(out / "sweep.parquet")
    assert len(table) == 12 and table["scenario_id"].is_unique
    assert (table["status"] == "ok").all()
    assert {"market.btc_price.volatility_per_year", "final_cash_usd_mean"} <= set(table.columns)
    csv = pd.read_csv(out / "sweep.csv")
    assert list(csv["scenario_id"]) == list(table["scenario_id"])
    for sid in table["scenario_id"]:
        resolved = load_scenario(out / "scenarios" / sid / "scenario.resolved.yaml")
        assert resolved.name == sid and resolved.sweep is None
    # the power price is the only difference between scenarios 000 and 001: costs differ
    a, b = table.iloc[0], table.iloc[1]
    assert b["total_power_cost_usd_mean"] > a["total_power_cost_usd_mean"]
    assert a["total_production_btc_mean"] == pytest.approx(b["total_production_btc_mean"], rel=0.05)


def test_cli_run_on_processes_and_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", str(ROOT / "scenarios" / "baseline.yaml"), "--out", str(out)]
    args += ["--paths", "300", "--set", "run.horizon_days=10", "--block-paths", "250"]
    r = CliRunner().invoke(cli, [*args, "--backend", "processes", "--workers", "2"])
    assert r.exit_code == 0, r.output
    assert (out / "blocks" / "store.zarr").is_dir() and (out / "daily.nc").exists()
    r = CliRunner().invoke(cli, [*args, "--resume", "--progress"])
    assert r.exit_code == 0, r.output
    assert "done in" not in r.output  # nothing recomputed


@pytest.mark.slow
def test_cli_sweep_full_horizon_runs_in_process(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["sweep", str(SWEEP), "--out", str(tmp_path), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert len(pd.read_parquet(tmp_path / "sweep.parquet")) == 12


def test_cli_errors_name_the_option(tmp_path: Path) -> None:
    """Bad backend options and a file without a sweep: section are clear input errors."""
    baseline = str(ROOT / "scenarios" / "baseline.yaml")
    r = CliRunner().invoke(cli, ["run", baseline, "--workers", "2", "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert "InputError: workers: apply to the processes and dask backends" in r.output
    r = CliRunner().invoke(cli, ["sweep", baseline, "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert "sweep: expected a sweep section with grid: or zip:, got none" in r.output
    r = CliRunner().invoke(
        cli, ["run", baseline, "--out", str(tmp_path), "--block-paths", "300", "--paths", "5"]
    )
    assert r.exit_code == 2
    assert "block_paths: expected a positive multiple of 250, got 300" in r.output


def test_cli_run_on_local_workers_uses_the_shared_memory_lockstep(tmp_path: Path) -> None:
    """``--backend processes --workers 2`` without block options runs the local lockstep (no
    block files), and its results equal the in-process run's."""
    out, ref = tmp_path / "run", tmp_path / "ref"
    args = ["run", str(ROOT / "scenarios" / "baseline.yaml")]
    args += ["--paths", "600", "--set", "run.horizon_days=20"]
    local = ["--out", str(out), "--backend", "processes", "--workers", "2"]
    r = CliRunner().invoke(cli, [*args, *local])
    assert r.exit_code == 0, r.output
    assert not (out / "blocks").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metadata"]["mode"] == "local-lockstep"
    r = CliRunner().invoke(cli, [*args, "--out", str(ref)])
    assert r.exit_code == 0, r.output
    a, b = xr.open_dataset(out / "daily.nc"), xr.open_dataset(ref / "daily.nc")
    for v in a.data_vars:
        assert np.array_equal(a[v].values, b[v].values, equal_nan=True), v
