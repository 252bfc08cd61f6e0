"""Loading valid scenarios: defaults, round trips, hashes, paths."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hashfleet.errors import ScenarioError
from hashfleet.scenario import (
    dump_resolved,
    load_scenario,
    load_scenario_data,
    load_scenario_text,
    parse_field_path,
    scenario_hash,
)


def test_minimal_scenario_loads(data_dir: Path) -> None:
    s = load_scenario(data_dir / "valid_minimal.yaml")
    assert s.name == "minimal"
    assert s.run.start == dt.date(2025, 2, 1)
    assert s.network.start.bits == 0x17027726
    assert s.network.start.height == 880_000
    assert s.network.start.epoch_start_time == dt.datetime(2025, 1, 25, tzinfo=dt.UTC)
    assert s.fleet.cohorts[0].units == 1000
    assert s.fleet.catalogue == "builtin:asic_catalogue"  # builtin: left alone


def test_resolved_round_trip_and_hash(data_dir: Path) -> None:
    s = load_scenario(data_dir / "valid_minimal.yaml")
    text = dump_resolved(s)
    assert "bits: '0x17027726'" in text
    assert "start: '2025-02-01'" in text
    again = load_scenario_text(text)
    assert again == s
    assert scenario_hash(again) == scenario_hash(s)


def test_resolved_round_trip_with_extends_and_paths(data_dir: Path) -> None:
    s = load_scenario(data_dir / "extends" / "child.yaml")
    again = load_scenario_text(dump_resolved(s))
    assert again == s
    assert scenario_hash(again) == scenario_hash(s)


def test_hash_ignores_spelling(minimal_text: str) -> None:
    a = load_scenario_text(minimal_text)
    b = load_scenario_text(minimal_text.replace("paths: 10", "paths: 10\n  seed: 0"))
    c = load_scenario_text(minimal_text.replace("paths: 10", "paths: 11"))
    assert scenario_hash(a) == scenario_hash(b)
    assert scenario_hash(a) != scenario_hash(c)
    assert len(scenario_hash(a)) == 64


def test_naive_epoch_time_is_utc(minimal_text: str) -> None:
    s = load_scenario_text(minimal_text.replace("2025-01-25T00:00:00Z", "2025-01-25 00:00:00"))
    assert s.network.start.epoch_start_time == dt.datetime(2025, 1, 25, tzinfo=dt.UTC)


def test_relative_path_resolved_against_the_file_that_set_it(data_dir: Path) -> None:
    s = load_scenario(data_dir / "extends" / "child.yaml")
    expected = (data_dir / "extends" / "base" / "prices.csv").resolve()
    assert Path(s.market.btc_price.path) == expected  # type: ignore[union-attr]


def test_relative_path_from_set_resolves_against_cwd(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_scenario(
        data_dir / "extends" / "child.yaml", set_args=["market.btc_price.path=mine.csv"]
    )
    assert Path(s.market.btc_price.path) == tmp_path / "mine.csv"  # type: ignore[union-attr]


def test_builtin_path_left_alone(minimal_text: str) -> None:
    s = load_scenario_text(
        minimal_text + "market: {btc_price: {model: csv, path: builtin:btc_daily}}\n"
    )
    assert s.market.btc_price.path == "builtin:btc_daily"  # type: ignore[union-attr]


def test_yaml_merge_keys_and_anchors(minimal_text: str) -> None:
    text = minimal_text.replace(
        "  cohorts:\n    - model: TestMiner\n      site: TX1\n      units: 1000\n",
        "  cohorts:\n    - &c {model: TestMiner, site: TX1, units: 1000}\n"
        "    - {<<: *c, units: 7}\n",
    )
    s = load_scenario_text(text)
    assert [c.units for c in s.fleet.cohorts] == [1000, 7]
    assert s.fleet.cohorts[1].site == "TX1"


def test_show_data_is_as_written(data_dir: Path) -> None:
    data = load_scenario_data(data_dir / "extends" / "child.yaml", set_args=["run.paths=3"])
    assert "extends" not in data
    assert data["name"] == "child"
    assert data["run"] == {"start": dt.date(2025, 2, 1), "horizon_days": 30, "paths": 3, "seed": 7}
    assert data["market"]["btc_price"]["path"] == "prices.csv"
    assert "company" not in data  # no defaults filled in


def test_parse_field_path() -> None:
    assert parse_field_path("fleet.cohorts[2].units") == ("fleet", "cohorts", 2, "units")
    assert parse_field_path("a[0][1].b") == ("a", 0, 1, "b")
    with pytest.raises(ValueError, match="expected a field path"):
        parse_field_path("fleet..cohorts")


def test_text_name_used_in_errors() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text("name: x\n", name="inline.yaml")
    assert str(info.value).startswith("inline.yaml:1:1: run: missing required field 'run'")
