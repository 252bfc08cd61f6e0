"""``--set`` strings and Python ``overrides``."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashfleet.errors import ScenarioError
from hashfleet.scenario import load_scenario
from hashfleet.scenario.schema import ConstantFeesSpec


def test_set_scalar_list_item_and_flow_mapping(data_dir: Path) -> None:
    s = load_scenario(
        data_dir / "valid_minimal.yaml",
        set_args=[
            "run.paths=100",
            "fleet.cohorts[0].units=5",
            "network.fees={model: constant, btc_per_block: 0.02}",
        ],
    )
    assert s.run.paths == 100
    assert s.fleet.cohorts[0].units == 5
    assert s.network.fees == ConstantFeesSpec(btc_per_block=0.02)


def test_python_overrides_dotted_and_nested(data_dir: Path) -> None:
    s = load_scenario(
        data_dir / "valid_minimal.yaml",
        overrides={"run": {"paths": 7, "seed": 3}, "fleet.cohorts[0].units": 9},
    )
    assert (s.run.paths, s.run.seed, s.fleet.cohorts[0].units) == (7, 3, 9)


def test_set_type_error_located_at_the_override(data_dir: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(data_dir / "valid_minimal.yaml", set_args=["run.paths=ten"])
    (issue,) = info.value.issues
    assert str(issue) == "--set run.paths=ten: run.paths: expected an integer, got 'ten'"


def test_python_override_error_located_at_overrides(data_dir: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(data_dir / "valid_minimal.yaml", overrides={"run.paths": -1})
    (issue,) = info.value.issues
    assert issue.location.file == "overrides['run.paths']"
    assert issue.message == "expected an integer greater than or equal to 1, got -1"


def test_set_missing_list_index(data_dir: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(data_dir / "valid_minimal.yaml", set_args=["fleet.cohorts[3].units=5"])
    (issue,) = info.value.issues
    assert issue.location.file == "--set fleet.cohorts[3].units=5"
    assert "fleet.cohorts has 1 item(s); index 3 does not exist" in issue.message


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("run.paths", "expected PATH=VALUE"),
        ("run..paths=1", "expected a field path"),
        ("name[0]=x", "not a list"),
        ("run.paths.x=1", "not a mapping"),
        ("company.loans[0]=1", "is not set"),
        ("run.paths=[1", "YAML syntax error"),
        ("run.paths=!!python/name:os.system", "unsupported YAML tag"),
    ],
)
def test_bad_set_args(data_dir: Path, arg: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(data_dir / "valid_minimal.yaml", set_args=[arg])
    assert info.value.issues[0].location.file == f"--set {arg}"


def test_set_creates_missing_mapping(data_dir: Path) -> None:
    s = load_scenario(data_dir / "valid_minimal.yaml", set_args=["company.starting_btc=2.5"])
    assert s.company.starting_btc == 2.5
