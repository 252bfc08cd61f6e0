"""Shared scenarios and helpers of the runner tests."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np

from builders import base_doc
from hashfleet.results import Results
from hashfleet.scenario.schema import Scenario

BASE: dict[str, Any] = base_doc(
    name="runner-test",
    horizon_days=70,  # two full 32-day windows and a partial one
    paths=700,  # three stream blocks, the last one partly dropped
    seed=11,
    volatility_per_year=0.6,
    power_usd_per_mwh=60,
)


def make_scenario(**run: Any) -> Scenario:
    """BASE with ``run`` settings replaced."""
    d = copy.deepcopy(BASE)
    d["run"].update(run)
    return Scenario.model_validate(d)


def assert_identical(a: Results, b: Results) -> None:
    """Every array of two results is equal (not close): daily, per path, paths, events."""
    assert list(a.daily.data_vars) == list(b.daily.data_vars)
    for v in a.daily.data_vars:
        assert np.array_equal(a.daily[v].values, b.daily[v].values, equal_nan=True), v
    assert list(a.per_path.data_vars) == list(b.per_path.data_vars)
    for v in a.per_path.data_vars:
        assert np.array_equal(a.per_path[v].values, b.per_path[v].values, equal_nan=True), v
    assert (a.paths is None) == (b.paths is None)
    if a.paths is not None and b.paths is not None:
        for v in a.paths.data_vars:
            assert np.array_equal(a.paths[v].values, b.paths[v].values, equal_nan=True), v
    assert a.retargets.equals(b.retargets)
    assert a.halvings.equals(b.halvings)
    # NaN (no IRR on a path) is not equal to itself: compare the JSON text
    assert json.dumps(a.summary["per_path"], sort_keys=True) == json.dumps(
        b.summary["per_path"], sort_keys=True
    )
