"""The worked example of docs/architecture.md runs: its component, attached to a compiled
scenario, books its flow every day and cash moves by it (the docs cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from builders import small_scenario
from hashfleet.engine.core import ChunkEngine
from hashfleet.model import compile_scenario

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _example() -> Any:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    code = next(b for b in blocks if "class HostingIncome" in b)
    ns: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), ns)
    return ns["HostingIncome"]


def _run(extra: tuple[Any, ...]) -> list[dict[str, Any]]:
    model = compile_scenario(small_scenario(run__horizon_days=3))
    model = type(model)(**{**model.__dict__, "components": (*model.components, *extra)})
    days: list[dict[str, Any]] = []
    engine = ChunkEngine(model, 5, 0, 1, lambda d, o, v: days.append(dict(v)))
    engine.run_until(3)
    return days


def test_the_worked_example_books_its_flow() -> None:
    hosting = _example()(usd_per_mw_day=100.0)
    with_it, without = _run((hosting,)), _run(())
    fee = 100.0 * 50  # one 50 MW site
    assert len(with_it) == len(without) == 3
    for day in with_it:
        np.testing.assert_array_equal(day["hosting_income_usd"], fee)
    np.testing.assert_allclose(with_it[-1]["cash_usd"] - without[-1]["cash_usd"], 3 * fee)
