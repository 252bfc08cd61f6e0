"""The ``hashfleet`` command line: output, exit codes, no tracebacks for user mistakes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import hashfleet
from hashfleet import cli as cli_module
from hashfleet.cli import cli
from hashfleet.errors import RunError
from hashfleet.scenario import load_scenario_text, reference_markdown

#: valid_minimal.yaml takes its start price from the price history (CC BY-NC, opt-in), and
#: validate now compiles the scenario.
pytestmark = pytest.mark.usefixtures("non_commercial_data")

DATA = Path(__file__).parent / "scenario" / "data"
VALID = str(DATA / "valid_minimal.yaml")
BAD = {
    "bad_misspelt_key": (8, "unknown field 'capcity_mw'; did you mean 'capacity_mw'?"),
    "bad_wrong_type": (4, "expected an integer, got 'ten'"),
    "bad_negative_capacity": (8, "expected a number greater than or equal to 1e-06, got -5"),
    "bad_syntax": (5, "YAML syntax error: mapping values are not allowed here"),
}


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version() -> None:
    code, out, _ = _run("--version")
    assert (code, out) == (0, f"hashfleet {hashfleet.__version__}\n")


def test_validate_ok() -> None:
    assert _run("validate", VALID) == (0, f"OK {VALID}\n", "")


@pytest.mark.parametrize("name", sorted(BAD))
def test_validate_bad_fixture_one_message(name: str) -> None:
    line, message = BAD[name]
    path = str(DATA / f"{name}.yaml")
    code, out, err = _run("validate", path)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"ScenarioError: {path}:{line}:")
    assert err.rstrip().endswith(message)
    assert "Traceback" not in err


def test_validate_reports_every_file() -> None:
    bad = str(DATA / "bad_wrong_type.yaml")
    several = str(DATA / "bad_several.yaml")
    code, out, err = _run("validate", VALID, bad, several)
    assert code == 2
    assert out == f"OK {VALID}\n"
    lines = err.splitlines()
    assert lines[0].startswith(f"ScenarioError: {bad}:4:17: run.horizon_days")
    assert lines[1] == "ScenarioError: 4 issues"
    assert all(line.startswith(f"{several}:") for line in lines[2:6])
    assert len(lines) == 6


def test_validate_with_set() -> None:
    code, _, err = _run("validate", VALID, "--set", "run.paths=ten")
    assert code == 2
    assert err == "ScenarioError: --set run.paths=ten: run.paths: expected an integer, got 'ten'\n"
    assert _run("validate", VALID, "--set", "run.paths=5")[0] == 0


def test_validate_builds_every_strategy_and_sweep_point(tmp_path: Path) -> None:
    """validate checks what compare and sweep would run: a strategy that sets a field the
    scenario does not have fails validate (issue 19), and good files say what was built."""
    scenarios = Path(__file__).resolve().parents[1] / "scenarios"
    code, out, _ = _run(
        "validate", str(scenarios / "ai-pivot.yaml"), str(scenarios / "sweep-baseline.yaml")
    )
    assert code == 0
    assert "ai-pivot.yaml (3 strategies)" in out and "(12 sweep points)" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"extends: {scenarios / 'baseline.yaml'}\n"
        "strategies:\n  - name: oops\n    set: {policies.upgrade.no_such_field: 1}\n"
    )
    code, out, err = _run("validate", str(bad), "--allow-path", str(scenarios))
    assert code == 2 and out == ""
    assert "strategies[oops]" in err or "no_such_field" in err
    assert "Traceback" not in err


def test_show_as_written_and_resolved() -> None:
    code, out, _ = _run("scenario", "show", VALID, "--set", "run.paths=3")
    assert code == 0
    assert "paths: 3" in out
    assert "company" not in out
    code, out, _ = _run("scenario", "show", VALID, "--resolved")
    assert code == 0
    assert "bits: '0x17027726'" in out
    assert load_scenario_text(out).run.paths == 10


def test_reference_stdout_and_out(tmp_path: Path) -> None:
    code, out, _ = _run("scenario", "reference")
    assert (code, out) == (0, reference_markdown())
    target = tmp_path / "ref.md"
    assert _run("scenario", "reference", "--out", str(target))[0] == 0
    assert target.read_text(encoding="utf-8") == reference_markdown()


@pytest.mark.parametrize(
    "args",
    [(), ("validate",), ("scenario",), ("scenario", "show"), ("scenario", "reference")],
)
def test_help_has_examples(args: tuple[str, ...]) -> None:
    code, out, _ = _run(*args, "--help")
    assert code == 0
    assert "Examples:\n    hashfleet " in out or "Examples:\n  hashfleet " in out


def test_run_error_exit_1_and_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom_run(*_a: object, **_k: object) -> None:
        raise RunError("path 3 diverged")

    def boom_internal(*_a: object, **_k: object) -> None:
        raise KeyError("oops")

    monkeypatch.setattr("hashfleet.scenario.load_scenario", boom_run)
    assert _run("validate", VALID) == (1, "", "RunError: path 3 diverged\n")
    monkeypatch.setattr("hashfleet.scenario.load_scenario", boom_internal)
    code, _, err = _run("validate", VALID)
    assert code == 1
    assert err.startswith("InternalError: KeyError: 'oops'\n")
    assert "--debug" in err
    assert "Traceback" not in err
    code, _, err = _run("--debug", "validate", VALID)
    assert code == 1
    assert "Traceback (most recent call last)" in err


def test_main_is_the_group() -> None:
    with pytest.raises(SystemExit) as info:
        cli_module.main(["validate", VALID])
    assert info.value.code == 0


def test_subprocess_no_traceback() -> None:
    bad = DATA / "bad_negative_capacity.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "hashfleet", "validate", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"ScenarioError: {bad}:8:20: fleet.sites[0].capacity_mw:")
