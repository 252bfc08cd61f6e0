"""Property tests over mutated scenario files (the fast half of ``scenario_fuzz.py``): every
input loads or is rejected with located, bounded issues; every accepted one survives the
resolved round trip ``load(dump_resolved(s)) == s``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
import scenario_fuzz as fz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashfleet.errors import ScenarioError
from hashfleet.scenario import dump_resolved, load_scenario, load_scenario_text
from hashfleet.scenario.loader import vetted_files

_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fuzz workspace: a copy of the shipped scenarios with planted files."""
    with mock.patch.dict(os.environ):
        os.environ.pop("HASHFLEET_ALLOW_PATH", None)
        os.environ.pop("HASHFLEET_ALLOW_CODE", None)
        yield fz.make_workspace(tmp_path_factory.mktemp("fuzz"))


def _input(work: Path, data: st.DataObject, name: str) -> Path:
    seeds = [work / p.name for p in fz.seed_files()]
    target = work / name
    target.write_bytes(fz.mutated_scenario(fz.DrawChooser(data), seeds))
    return target


@settings(**_SETTINGS)  # type: ignore[arg-type]  # examples: the profile (ci 200, dev 60)
@given(data=st.data())
def test_mutated_scenarios_load_or_are_rejected_cleanly(work: Path, data: st.DataObject) -> None:
    with mock.patch.dict(os.environ):
        os.environ.pop("HASHFLEET_ALLOW_PATH", None)
        outcome, detail = fz.classify(_input(work, data, "fuzz-a.yaml"))
    assert outcome != "crash", detail


@settings(**_SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_resolved_round_trip_is_exact(work: Path, data: st.DataObject) -> None:
    with mock.patch.dict(os.environ):
        os.environ.pop("HASHFLEET_ALLOW_PATH", None)
        try:
            s = load_scenario(_input(work, data, "fuzz-b.yaml"))
        except ScenarioError:
            return
        again = load_scenario_text(dump_resolved(s), allow_paths=vetted_files(s))
    assert again == s


@pytest.mark.parametrize("seed", fz.seed_files(), ids=lambda p: p.stem)
def test_every_seed_round_trips(seed: Path) -> None:
    s = load_scenario(seed)
    assert load_scenario_text(dump_resolved(s), allow_paths=vetted_files(s)) == s
