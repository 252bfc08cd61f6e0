"""Scenarios: the YAML language that says what to simulate.

:func:`load_scenario` reads a file (with ``extends`` and overrides), validates it against
the schema in :mod:`hashfleet.scenario.schema` and runs the cross-field checks of
:mod:`hashfleet.scenario.consistency`; every problem is reported at once in a
:class:`~hashfleet.errors.ScenarioError` with ``file:line:col`` locations.
"""

from __future__ import annotations

from hashfleet.scenario.consistency import check_consistency
from hashfleet.scenario.loader import (
    deep_merge,
    dump_resolved,
    load_scenario,
    load_scenario_data,
    load_scenario_text,
    parse_field_path,
    scenario_hash,
)
from hashfleet.scenario.reference import format_path, reference_markdown
from hashfleet.scenario.schema import Scenario

__all__ = [
    "Scenario",
    "check_consistency",
    "deep_merge",
    "dump_resolved",
    "format_path",
    "load_scenario",
    "load_scenario_data",
    "load_scenario_text",
    "parse_field_path",
    "reference_markdown",
    "scenario_hash",
]
