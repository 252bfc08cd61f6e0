"""Nothing is written outside ``--out`` / ``./results/NAME``: scenario names are safe slugs,
and every writing command keeps to its output folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hashfleet.cli import cli
from hashfleet.errors import ScenarioError
from hashfleet.scenario import load_scenario

ROOT = Path(__file__).parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
STRATEGIES = ROOT / "scenarios" / "strategies-baseline.yaml"
SWEEP = ROOT / "scenarios" / "sweep-baseline.yaml"
SHORT = ["--set", "run.horizon_days=3"]

BAD_NAMES = ["../x", "/tmp/x", "a/b", "a\\b", ".hidden", "..", "x" * 101, "é", "a\x00b", "end."]


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory ``tmp/cwd`` inside a watched ``tmp``."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return tmp_path


def _invoke(args: list[str]) -> tuple[int, str]:
    r = CliRunner().invoke(cli, args)
    return r.exit_code, r.output


@pytest.mark.parametrize("name", BAD_NAMES)
def test_unsafe_names_are_rejected_with_the_field(name: str) -> None:
    with pytest.raises(ScenarioError, match="name: expected a safe name"):
        load_scenario(BASELINE, overrides={"name": name})


@pytest.mark.parametrize("name", ["baseline", "wrong type", "a.b-c_d+e", "2026Q1", "x" * 100])
def test_safe_names_load(name: str) -> None:
    assert load_scenario(BASELINE, overrides={"name": name}).name == name


@pytest.mark.parametrize("name", ["../escaped", "/tmp/escaped-hashfleet"])
@pytest.mark.parametrize(
    "command",
    [
        ["run", str(BASELINE), "--paths", "5", "--no-report", "--no-progress"],
        ["compare", str(STRATEGIES), "--paths", "5"],
        ["sweep", str(SWEEP), "--out", "sw"],
        ["stress", str(ROOT / "scenarios" / "baseline-capital.yaml"), "--paths", "5"],
    ],
    ids=["run", "compare", "sweep", "stress"],
)
def test_a_name_that_escapes_writes_nothing(sandbox: Path, command: list[str], name: str) -> None:
    before = _files(sandbox)
    code, output = _invoke([*command, *SHORT, "--set", f"name={name}"])
    assert code == 2, output
    assert "name: expected a safe name" in output
    assert _files(sandbox) == before
    assert not Path("/tmp/escaped-hashfleet").exists()


def test_run_writes_only_into_results_name(sandbox: Path) -> None:
    code, output = _invoke(["run", str(BASELINE), "--paths", "5", "--no-progress", *SHORT])
    assert code == 0, output
    new = _files(sandbox)
    assert new and all(p.is_relative_to(sandbox / "cwd" / "results" / "baseline") for p in new)
    assert sorted(p.name for p in (sandbox / "cwd" / "results").iterdir()) == ["baseline"]


def test_compare_with_a_slash_in_a_strategy_name_writes_only_into_out(sandbox: Path) -> None:
    sc = STRATEGIES.read_text().replace("name: buy-the-dip", "name: ../../buy/the-dip")
    (sandbox / "cwd" / "s.yaml").write_text(sc.replace("extends: ", f"extends: {ROOT}/scenarios/"))
    before = _files(sandbox)
    code, output = _invoke(["compare", "s.yaml", "--paths", "5", "--out", "cmp", *SHORT])
    assert code == 0, output
    new = _files(sandbox) - before
    assert new and all(p.is_relative_to(sandbox / "cwd" / "cmp") for p in new)
    code, output = _invoke(["report", "cmp", "--no-svg"])
    assert code == 0, output
    assert all(p.is_relative_to(sandbox / "cwd" / "cmp") for p in _files(sandbox) - before)


@pytest.mark.slow
def test_sweep_writes_only_into_out(sandbox: Path) -> None:
    code, output = _invoke(["sweep", str(SWEEP), "--out", "sw", *SHORT])
    assert code == 0, output
    new = _files(sandbox)
    assert new and all(p.is_relative_to(sandbox / "cwd" / "sw") for p in new)


def test_report_writes_only_into_its_folder(sandbox: Path) -> None:
    code, output = _invoke(
        ["run", str(BASELINE), "--paths", "5", "--no-progress", "--no-report", "--out", "r", *SHORT]
    )
    assert code == 0, output
    before = _files(sandbox)
    code, output = _invoke(["report", "r", "--no-svg"])
    assert code == 0, output
    assert all(p.is_relative_to(sandbox / "cwd" / "r") for p in _files(sandbox) - before)


def test_a_sweep_over_the_memory_limit_is_refused_before_any_file(
    sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HASHFLEET_MAX_MEMORY_GB", "0.001")
    before = _files(sandbox)
    code, output = _invoke(["sweep", str(SWEEP), "--out", "sw", *SHORT])
    assert code == 2, output
    assert "ResourceError: sweep scenario sweep-baseline-000: the run needs an estimated" in output
    assert _files(sandbox) == before


@pytest.mark.usefixtures("non_commercial_data")
def test_backtest_writes_only_into_out(sandbox: Path) -> None:
    args = ["backtest", "--from", "2021-01-01", "--to", "2021-03-01", "--paths", "5"]
    code, output = _invoke([*args, "--out", "bt"])
    assert code == 0, output
    new = _files(sandbox)
    assert new and all(p.is_relative_to(sandbox / "cwd" / "bt") for p in new)
