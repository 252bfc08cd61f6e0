"""Scenario building blocks shared by the tests (importable because tests/conftest.py puts
this folder on ``sys.path``)."""

from __future__ import annotations

import copy
from typing import Any

from hashfleet.scenario.schema import Scenario

#: The chain at 2026-01-01 00:00 UTC as the shipped history derives it (see baseline.yaml).
CHAIN_2026: dict[str, Any] = {
    "height": 930_349,
    "bits": 0x1701E605,
    "epoch_start_time": "2025-12-25T03:03:10Z",
}


def build(base: dict[str, Any], **changes: Any) -> Scenario:
    """Validate a deep copy of ``base`` with changes at ``a__b__c`` paths (``run__paths=10``)."""
    d = copy.deepcopy(base)
    for path, value in changes.items():
        node = d
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return Scenario.model_validate(d)
