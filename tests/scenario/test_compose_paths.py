"""The one getter and setter of values at field paths (used by sweeps and strategies)."""

from __future__ import annotations

import pytest

from hashfleet.scenario.compose import parse_field_path, set_value_at, value_at


def test_value_at_reads_and_misses_quietly() -> None:
    data = {"fleet": {"cohorts": [{"units": 10}]}}
    assert value_at(data, parse_field_path("fleet.cohorts[0].units")) == 10
    assert value_at(data, parse_field_path("fleet.cohorts[3].units")) is None
    assert value_at(data, parse_field_path("run.paths")) is None


def test_set_value_at_replaces_an_existing_path_only() -> None:
    data = {"fleet": {"cohorts": [{"units": 10}]}}
    set_value_at(data, parse_field_path("fleet.cohorts[0].units"), 20)
    assert data["fleet"]["cohorts"][0]["units"] == 20
    with pytest.raises(IndexError):
        set_value_at(data, parse_field_path("fleet.cohorts[2].units"), 1)
    with pytest.raises(KeyError):
        set_value_at(data, parse_field_path("run.horizon_days"), 1)
