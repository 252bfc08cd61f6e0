"""Validation messages: schema errors located in the source map, with suggestions."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pydantic import TypeAdapter, ValidationError

from hashfleet.errors import IssueLocation, ScenarioError, ScenarioIssue
from hashfleet.scenario.compose import _outside_message, parse_field_path
from hashfleet.scenario.consistency import (
    CHECKS,
    CheckContext,
    check_consistency,
    known_model_names,
)
from hashfleet.scenario.files import is_allowed
from hashfleet.scenario.reference import (
    ANY_INDEX,
    FieldPath,
    Shape,
    format_path,
    normalize_loc,
    path_field_patterns,
)
from hashfleet.scenario.schema import Scenario
from hashfleet.scenario.sourcemap import _Document, _Mark, _show

# ------------------------------------------------------------------ validation


def _validate(doc: _Document, roots: Sequence[Path] = ()) -> Scenario:
    path_issues = _resolve_paths(doc, roots)
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as e:
        issues = path_issues + _schema_issues(e, doc)
        raise ScenarioError(_sorted(issues + _partial_checks(doc, path_issues))) from None
    except (RecursionError, MemoryError):
        raise ScenarioError(
            [ScenarioIssue(doc.root.location(), "", "scenario too deeply nested or too large")]
        ) from None
    if path_issues:
        raise ScenarioError(_sorted(path_issues))
    locate = _locator(doc)
    names, catalogue_issues = known_model_names(scenario, locate)
    issues = catalogue_issues + check_consistency(scenario, locate=locate, model_names=names)
    if issues:
        raise ScenarioError(_sorted(issues))
    return scenario


def _partial_checks(doc: _Document, path_issues: list[ScenarioIssue]) -> list[ScenarioIssue]:
    """The cross-field checks over the top-level sections that do validate, when others do
    not: a check that reads an invalid (or missing) section is skipped."""
    data = doc.data
    good: dict[str, Any] = {}
    for name, info in Scenario.model_fields.items():
        if name not in data:
            if info.is_required():
                continue
            good[name] = info.get_default(call_default_factory=True)
            continue
        try:
            good[name] = TypeAdapter(info.annotation).validate_python(data[name])  # type: ignore[arg-type]
        except (ValidationError, RecursionError, MemoryError):
            continue
    partial = SimpleNamespace(**good)
    locate = _locator(doc)
    issues: list[ScenarioIssue] = []
    if "fleet" in good and not path_issues:
        try:
            names, cat = known_model_names(partial, locate)  # type: ignore[arg-type]
        except AttributeError:
            names, cat = None, []
        issues.extend(cat)
    else:
        names = None
    for check in CHECKS.values():
        try:
            issues.extend(check(partial, CheckContext(locate, _with_models(names, partial))))  # type: ignore[arg-type]
        except AttributeError:
            continue
    return issues


def _with_models(names: frozenset[str] | None, partial: Any) -> frozenset[str] | None:
    if names is None:
        return None
    return names | {m.name for m in partial.fleet.models}


def _sorted(issues: list[ScenarioIssue]) -> list[ScenarioIssue]:
    def key(i: ScenarioIssue) -> tuple[str, int, int]:
        return (i.location.file, i.location.line or 0, i.location.column or 0)

    return sorted(issues, key=key)


def _locator(doc: _Document) -> Callable[[FieldPath], IssueLocation]:
    def locate(path: FieldPath) -> IssueLocation:
        return _locate(doc, path)

    return locate


def _locate(doc: _Document, path: FieldPath, *, prefer_key: bool = False) -> IssueLocation:
    p = tuple(path)
    if p in doc.marks:
        return doc.marks[p].location(prefer_key=prefer_key)
    while p and p not in doc.marks:
        p = p[:-1]
    # The nearest mapping that exists: point at its key, where it starts.
    return doc.marks.get(p, doc.root).location(prefer_key=True)


def _resolve_paths(doc: _Document, roots: Sequence[Path]) -> list[ScenarioIssue]:
    """Make every file path of the document absolute (relative to the file that wrote it)
    and check it is allowed; paths inside ``strategies[].set`` and ``sweep`` values too.

    Returns the issues of paths outside ``roots`` (not from a trusted override)."""
    issues: list[ScenarioIssue] = []
    patterns = path_field_patterns()
    for pattern in patterns:
        for path, parent in _expand(doc.data, pattern, ()):
            _resolve_one(doc, path, parent, path[-1], path, roots, issues)
    for path, parent, key, field in _variant_values(doc.data, patterns):
        _resolve_one(doc, path, parent, key, field, roots, issues)
    return issues


def _resolve_one(
    doc: _Document,
    path: FieldPath,
    parent: Any,
    key: Any,
    field: FieldPath,
    roots: Sequence[Path],
    issues: list[ScenarioIssue],
) -> None:
    value = parent[key]
    if not isinstance(value, str) or not value or value.startswith("builtin:"):
        return
    mark = doc.marks.get(path) or _nearest_mark(doc, path)
    if "\x00" in value:
        issues.append(_issue_at(mark, path, "expected a file name, got text with a NUL"))
        return
    value = os.path.expanduser(value)
    if not os.path.isabs(value):
        value = os.path.normpath(os.path.join(mark.base_dir, value))
    parent[key] = value
    if not mark.trusted and not is_allowed(value, roots):
        issues.append(_issue_at(mark, path, _outside_message(value, roots)))


def _issue_at(mark: _Mark, field: FieldPath, message: str) -> ScenarioIssue:
    return ScenarioIssue(mark.location(), format_path(field), message)


def _nearest_mark(doc: _Document, path: FieldPath) -> _Mark:
    p = tuple(path)
    while p and p not in doc.marks:
        p = p[:-1]
    return doc.marks.get(p, doc.root)


def _variant_values(
    data: Any, patterns: Sequence[FieldPath]
) -> Iterator[tuple[FieldPath, Any, Any, FieldPath]]:
    """File-path values inside ``strategies[i].set`` and ``sweep.grid``/``sweep.zip``:
    ``(document path, container, key, scenario field path)`` of each."""
    if not isinstance(data, dict):
        return
    strategies = data.get("strategies")
    if isinstance(strategies, list):
        for i, strat in enumerate(strategies):
            table = strat.get("set") if isinstance(strat, dict) else None
            if isinstance(table, dict):
                for k, v in table.items():
                    yield from _leaves(
                        ("strategies", i, "set", k), table, k, _field(k), v, patterns
                    )
    sweep = data.get("sweep")
    if isinstance(sweep, dict):
        for kind in ("grid", "zip"):
            table = sweep.get(kind)
            if not isinstance(table, dict):
                continue
            for k, values in table.items():
                if isinstance(values, list):
                    for j, v in enumerate(values):
                        where = ("sweep", kind, k, j)
                        yield from _leaves(where, values, j, _field(k), v, patterns)


def _field(key: Any) -> FieldPath | None:
    try:
        return parse_field_path(str(key))
    except ValueError:
        return None


def _leaves(
    where: FieldPath,
    parent: Any,
    key: Any,
    field: FieldPath | None,
    value: Any,
    patterns: Sequence[FieldPath],
) -> Iterator[tuple[FieldPath, Any, Any, FieldPath]]:
    if field is None:
        return
    if isinstance(value, str):
        if any(_matches(field, p) for p in patterns):
            yield where, parent, key, field
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves((*where, k), value, k, (*field, k), v, patterns)
    elif isinstance(value, list):
        for j, v in enumerate(value):
            yield from _leaves((*where, j), value, j, (*field, j), v, patterns)


def _matches(field: FieldPath, pattern: FieldPath) -> bool:
    return len(field) == len(pattern) and all(
        (p == ANY_INDEX and isinstance(f, int)) or f == p
        for f, p in zip(field, pattern, strict=True)
    )


def _expand(data: Any, pattern: FieldPath, done: FieldPath) -> Iterator[tuple[FieldPath, Any]]:
    """Concrete paths matching ``pattern`` in ``data``, with the container of the last key."""
    seg, rest = pattern[0], pattern[1:]
    if seg == ANY_INDEX:
        keys: Sequence[str | int] = range(len(data)) if isinstance(data, list) else ()
    else:
        keys = [seg] if isinstance(data, dict) and seg in data else []
    for k in keys:
        if rest:
            yield from _expand(data[k], rest, (*done, k))
        else:
            yield (*done, k), data


def _schema_issues(error: ValidationError, doc: _Document) -> list[ScenarioIssue]:
    errors = error.errors(include_url=False)
    parsed = [(e, *normalize_loc(e["loc"])) for e in errors]
    # A misspelt field is reported once, as unknown with a suggestion: drop the
    # "missing" error of the field it was meant to be.
    suggested: set[FieldPath] = set()
    for e, path, shapes in parsed:
        if e["type"] == "extra_forbidden" and path:
            guess = _suggest(str(path[-1]), shapes[-2] if len(shapes) > 1 else None)
            if guess:
                suggested.add((*path[:-1], guess))
    issues = []
    for e, path, shapes in parsed:
        if e["type"] == "missing" and path in suggested:
            continue
        issues.append(_schema_issue(e, path, shapes, doc))
    return issues


def _schema_issue(
    e: Any, path: FieldPath, shapes: list[Shape | None], doc: _Document
) -> ScenarioIssue:
    kind = e["type"]
    shape = shapes[-1] if shapes else None
    parent = shapes[-2] if len(shapes) > 1 else None
    if kind == "extra_forbidden":
        key = str(path[-1])
        guess = _suggest(key, parent)
        if guess:
            msg = f"unknown field {key!r}; did you mean {guess!r}?"
        else:
            valid = ", ".join(_fields(parent)) or "none"
            msg = f"unknown field {key!r}; valid fields here: {valid}"
        return ScenarioIssue(_locate(doc, path, prefer_key=True), format_path(path), msg)
    if kind in ("union_tag_invalid", "union_tag_not_found") and shape is not None:
        tags = ", ".join(repr(t) for t in shape.variants)
        path = (*path, shape.discriminator)
        if kind == "union_tag_invalid":
            msg = f"expected one of {tags}, got {_show(e['ctx']['tag'])}"
        else:
            msg = f"expected a '{shape.discriminator}' field, one of {tags}; got none"
        return ScenarioIssue(_locate(doc, path), format_path(path), msg)
    if kind == "missing":
        name = str(path[-1])
        info = _field_info(parent, name)
        what = f" ({info})" if info else ""
        return ScenarioIssue(
            _locate(doc, path), format_path(path), f"missing required field {name!r}{what}"
        )
    prefer_key = (
        kind in ("value_error", "assertion_error")
        and shape is not None
        and (shape.kind in ("model", "union"))
    )
    return ScenarioIssue(
        _locate(doc, path, prefer_key=prefer_key), format_path(path), _message(e, shape)
    )


def _fields(shape: Shape | None) -> list[str]:
    if shape is not None and shape.kind == "model" and shape.model is not None:
        return list(shape.model.model_fields)
    return []


def _suggest(key: str, parent: Shape | None) -> str | None:
    close = difflib.get_close_matches(key, _fields(parent), n=1, cutoff=0.6)
    return close[0] if close else None


def _field_info(parent: Shape | None, name: str) -> str:
    if parent is None or parent.model is None:
        return ""
    info = parent.model.model_fields.get(name)
    return (info.description or "").rstrip(".") if info is not None else ""


def _message(e: Any, shape: Shape | None) -> str:
    kind: str = e["type"]
    ctx = e.get("ctx") or {}
    got = _show(e.get("input"))
    number = "an integer" if shape is not None and shape.scalar is int else "a number"
    bounds = {
        "greater_than": ("greater than", "gt"),
        "greater_than_equal": ("greater than or equal to", "ge"),
        "less_than": ("less than", "lt"),
        "less_than_equal": ("less than or equal to", "le"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"expected {number} {words} {_show(ctx.get(key))}, got {got}"
    simple = {
        "int_type": "an integer",
        "int_parsing": "an integer",
        "int_from_float": "an integer",
        "float_type": "a number",
        "float_parsing": "a number",
        "finite_number": "a finite number",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
        "string_type": "text",
        "model_type": "a mapping",
        "model_attributes_type": "a mapping",
        "dict_type": "a mapping",
        "list_type": "a list",
        "tuple_type": "a list",
        "date_type": "a date like 2025-01-31",
        "date_parsing": "a date like 2025-01-31",
        "date_from_datetime_parsing": "a date like 2025-01-31",
        "date_from_datetime_inexact": "a date without a time of day",
        "datetime_type": "a date-time like 2025-01-25T00:00:00Z",
        "datetime_parsing": "a date-time like 2025-01-25T00:00:00Z",
        "datetime_from_date_parsing": "a date-time like 2025-01-25T00:00:00Z",
    }
    if kind in simple:
        return f"expected {simple[kind]}, got {got}"
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        what = "non-empty text" if n == 1 else f"text of at least {n} characters"
        return f"expected {what}, got {got}"
    if kind == "literal_error":
        choices = shape.choices if shape is not None and shape.choices else ()
        if len(choices) == 1:
            return f"expected {_show(choices[0])}, got {got}"
        if choices:
            return f"expected one of {', '.join(_show(c) for c in choices)}, got {got}"
        return f"expected {ctx.get('expected', 'one of the allowed values')}, got {got}"
    if kind in ("value_error", "assertion_error"):
        msg = str(e.get("msg", ""))
        return re.sub(r"^(Value|Assertion) error, ", "", msg)
    msg = str(e.get("msg", "invalid value"))
    msg = msg[:1].lower() + msg[1:]
    return f"{msg}, got {got}"
