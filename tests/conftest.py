"""Shared test fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from hashfleet.engine.invariants import ENV_VAR

settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def non_commercial_data(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Enable the shipped CC BY-NC price history for one test (``hashfleet.history.licence``;
    off by default, as for a user)."""
    from hashfleet.history.licence import ENV_VAR as LICENCE_VAR

    monkeypatch.setenv(LICENCE_VAR, "1")
    yield


@pytest.fixture(autouse=True)
def _check_invariants(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every simulation in the tests runs the invariant guards (``HASHFLEET_CHECK=1``)."""
    monkeypatch.setenv(ENV_VAR, "1")
    yield


@pytest.fixture(autouse=True)
def _shipped_files_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Scenarios the tests write to ``tmp_path`` may extend the shipped ``scenarios/`` and
    name test data under ``tests/`` (as ``--allow-path`` would allow); the containment
    tests clear this (``monkeypatch.delenv``)."""
    from pathlib import Path

    from hashfleet.scenario.files import ENV_ALLOW_PATH

    root = Path(__file__).resolve().parents[1]
    monkeypatch.setenv(
        ENV_ALLOW_PATH, os.pathsep.join([str(root / "scenarios"), str(root / "tests")])
    )
    yield
