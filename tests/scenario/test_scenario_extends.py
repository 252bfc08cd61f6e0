"""``extends``: chains, replaced lists, errors located in the file that set the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashfleet.errors import ScenarioError
from hashfleet.scenario import load_scenario


def test_chain_overrides_values_and_replaces_lists(data_dir: Path) -> None:
    s = load_scenario(data_dir / "extends" / "child.yaml")
    assert s.name == "child"
    assert s.run.paths == 50  # middle
    assert s.run.seed == 7  # child
    assert s.run.horizon_days == 30  # base
    assert [c.units for c in s.fleet.cohorts] == [42]  # list replaced, not appended
    assert s.fleet.sites[0].name == "TX1"


def test_error_located_in_base_file(data_dir: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(data_dir / "extends" / "child_of_bad.yaml")
    (issue,) = info.value.issues
    assert issue.location.file.endswith("base_bad.yaml")
    assert (issue.location.line, issue.location.column) == (6, 17)
    assert issue.field == "company.starting_btc"


def test_error_located_in_child_after_override(data_dir: Path, tmp_path: Path) -> None:
    base = (data_dir / "extends" / "base" / "base.yaml").resolve()
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {base}\nrun:\n  paths: 0\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child, allow_paths=[base.parent])
    (issue,) = info.value.issues
    assert issue.location.file == str(child)
    assert issue.location.line == 3


def test_cycle_detected(data_dir: Path) -> None:
    with pytest.raises(ScenarioError, match=r"extends cycle: a.yaml -> b.yaml -> a.yaml"):
        load_scenario(data_dir / "extends" / "cycle" / "a.yaml")


def test_missing_base_located_at_extends(data_dir: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(data_dir / "extends" / "missing_base.yaml")
    (issue,) = info.value.issues
    assert issue.location.line == 2
    assert "file not found" in issue.message


def test_extends_must_be_a_file_name(tmp_path: Path) -> None:
    f = tmp_path / "x.yaml"
    f.write_text("extends: 3\nname: x\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="extends: expected a file name"):
        load_scenario(f)
