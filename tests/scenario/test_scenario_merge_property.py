"""Properties of the ``extends`` deep merge."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hashfleet.scenario import deep_merge

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
keys = st.sampled_from(["a", "b", "c", "d"])
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
mappings = st.dictionaries(keys, values, max_size=4)


@given(mappings)
def test_merging_with_empty_is_identity(m: dict[str, Any]) -> None:
    assert deep_merge(m, {}) == m
    assert deep_merge({}, m) == m


@given(mappings, mappings)
def test_later_wins_on_scalars_and_lists(base: dict[str, Any], over: dict[str, Any]) -> None:
    merged = deep_merge(base, over)
    assert set(merged) == set(base) | set(over)
    for k, v in over.items():
        if not (isinstance(v, dict) and isinstance(base.get(k), dict)):
            assert merged[k] == v
    for k, v in base.items():
        if k not in over:
            assert merged[k] == v


@given(mappings, mappings)
def test_inputs_not_modified(base: dict[str, Any], over: dict[str, Any]) -> None:
    import copy

    b, o = copy.deepcopy(base), copy.deepcopy(over)
    deep_merge(base, over)
    assert (base, over) == (b, o)


@given(mappings, mappings)
def test_idempotent(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert deep_merge(a, a) == a
    once = deep_merge(a, b)
    assert deep_merge(once, b) == once


def test_lists_replaced_mappings_merged() -> None:
    base = {"run": {"paths": 1, "seed": 2}, "cohorts": [1, 2, 3]}
    over = {"run": {"paths": 5}, "cohorts": [9]}
    assert deep_merge(base, over) == {"run": {"paths": 5, "seed": 2}, "cohorts": [9]}
