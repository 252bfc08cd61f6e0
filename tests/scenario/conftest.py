"""Shared fixtures for the scenario tests."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """The folder of YAML fixtures."""
    return DATA


@pytest.fixture
def minimal_text() -> str:
    """The text of the valid minimal scenario."""
    return (DATA / "valid_minimal.yaml").read_text(encoding="utf-8")
