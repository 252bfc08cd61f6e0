"""``hashfleet validate``: everything ``run``, ``compare`` and ``sweep`` would check, at once.

:func:`validate_file` loads a scenario file (schema, cross-field checks, files it names,
code it names), then builds every scenario the commands would run from it -- each strategy
of ``strategies:`` (as ``compare`` does, :func:`~hashfleet.studies.compare.strategy_scenario`)
and each point of ``sweep:`` (as ``sweep`` does, :func:`~hashfleet.studies.sweep.expand_sweep`)
-- and compiles each one (:func:`~hashfleet.model.compile_scenario`: the chain's start state
from history, the catalogue, CSV windows, fleet arrays, components), which is what ``run``
does before it simulates.  Every problem comes back as one
:class:`~hashfleet.errors.ScenarioError` located in the user's file: a strategy's problem at
its ``set`` entry, a sweep point's at its ``sweep`` entry.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from hashfleet.errors import HashfleetError, IssueLocation, ScenarioError, ScenarioIssue
from hashfleet.scenario.schema import Scenario

__all__ = ["Validated", "validate_file"]

_FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w]*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*): ")


@dataclass(frozen=True)
class Validated:
    """A valid scenario file and what the commands would build from it.

    Attributes
    ----------
    scenario : Scenario
    strategies : int
        Strategy scenarios built (``compare``).
    sweep_points : int
        Sweep scenarios built (``sweep``).
    """

    scenario: Scenario
    strategies: int
    sweep_points: int


def validate_file(
    file: str | os.PathLike[str],
    *,
    set_args: Sequence[str] = (),
    allow_paths: Sequence[str | os.PathLike[str]] = (),
) -> Validated:
    """Check a scenario file as ``run``, ``compare`` and ``sweep`` would.

    Parameters
    ----------
    file : path-like
    set_args : sequence of str
        ``--set`` values.
    allow_paths : sequence of path-like
        As for :func:`hashfleet.scenario.load_scenario`.

    Returns
    -------
    Validated

    Raises
    ------
    ScenarioError
        Every problem found, each with ``file:line:col``.
    """
    from hashfleet.model import compile_scenario
    from hashfleet.scenario import load_scenario
    from hashfleet.scenario.loader import field_locator
    from hashfleet.studies.compare import strategy_scenario
    from hashfleet.studies.sweep import expand_sweep

    sc = load_scenario(file, set_args=set_args, allow_paths=allow_paths)
    located: list[Callable[[tuple[str | int, ...]], IssueLocation]] = []

    def locate(path: tuple[str | int, ...]) -> IssueLocation:
        if not located:  # parse the file again only when there is something to locate
            located.append(field_locator(file, set_args=set_args, allow_paths=allow_paths))
        return located[0](path)

    issues: list[ScenarioIssue] = []
    _check(lambda: compile_scenario(sc), (), "", locate, issues)
    for i, strat in enumerate(sc.strategies):
        where = ("strategies", i, "set")
        label = f"strategy {strat.name!r}: "

        def build(name: str = strat.name) -> None:
            compile_scenario(strategy_scenario(sc, name))

        _check(build, where, label, locate, issues)
    points = 0
    if sc.sweep is not None:
        kind = "grid" if sc.sweep.grid is not None else "zip"
        try:
            built = expand_sweep(Path(file), set_args=set_args, allow_paths=allow_paths)
        except HashfleetError as e:
            issues.extend(_located(e, ("sweep", kind), "", locate))
        else:
            points = len(built)
            for p in built:
                label = f"sweep scenario {p.scenario_id}: "
                at: tuple[str | int, ...] = ("sweep", kind)
                _check(partial(compile_scenario, p.scenario), at, label, locate, issues)
    if issues:
        raise ScenarioError(_dedupe(issues))
    return Validated(sc, len(sc.strategies), points)


def _check(
    fn: Callable[[], object],
    where: tuple[str | int, ...],
    label: str,
    locate: Callable[[tuple[str | int, ...]], IssueLocation],
    issues: list[ScenarioIssue],
) -> None:
    try:
        fn()
    except HashfleetError as e:
        issues.extend(_located(e, where, label, locate))


def _located(
    error: HashfleetError,
    where: tuple[str | int, ...],
    label: str,
    locate: Callable[[tuple[str | int, ...]], IssueLocation],
) -> list[ScenarioIssue]:
    """``error`` as issues located in the user's file: at the field its message names if
    the file writes it (base scenario), else at ``where`` (the strategy's or sweep's entry)."""
    from hashfleet.scenario import format_path, parse_field_path

    if isinstance(error, ScenarioError):
        raw: list[tuple[str, str, IssueLocation | None]] = [
            (i.field, i.message, i.location) for i in error.issues
        ]
    else:
        raw = []
        for line in str(error).splitlines() or [""]:
            m = _FIELD_PREFIX.match(line)
            field, msg = (m.group(1), line[m.end() :]) if m else ("", line)
            raw.append((field, msg, None))
    out = []
    for field, msg, loc in raw:
        path: tuple[str | int, ...] = where
        if not where and field:
            try:
                path = parse_field_path(field)
            except ValueError:
                path = ()
        ours = loc is not None and loc.line is not None and not loc.file.startswith("<")
        location = loc if loc is not None and ours and not where else locate(path)
        name = field or format_path(path)
        out.append(ScenarioIssue(location, name, f"{label}{msg}"))
    return out


def _dedupe(issues: list[ScenarioIssue]) -> list[ScenarioIssue]:
    seen: set[str] = set()
    out = []
    for i in issues:
        if str(i) not in seen:
            seen.add(str(i))
            out.append(i)
    return out
