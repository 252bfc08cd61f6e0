"""Bit identity: every golden case (see ``tests/golden/record.py``) gives the recorded
SHA-256 of every output array.  Recorded before the architecture refactor of issue 12; a
change of any figure of any shipped scenario or benchmark workload fails here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
from record import HASHES, cases, result_hashes

RECORDED: dict[str, dict[str, str]] = json.loads(HASHES.read_text())


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_outputs_are_bit_identical(name: str) -> None:
    got = result_hashes(cases()[name]())
    want = RECORDED[name]
    assert sorted(got) == sorted(want), f"{name}: arrays differ in name"
    changed = [k for k in want if got[k] != want[k]]
    assert not changed, f"{name}: {len(changed)} arrays changed, first: {changed[:5]}"


def test_every_case_is_recorded() -> None:
    assert sorted(cases()) == sorted(RECORDED)
