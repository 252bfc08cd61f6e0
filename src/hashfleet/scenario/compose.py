"""Composition of scenario documents: ``extends`` (deep merge), dotted field paths, the one
setter of a value at a path, and ``--set``/``overrides``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from hashfleet.errors import IssueLocation, ScenarioError, ScenarioIssue
from hashfleet.scenario.files import is_allowed
from hashfleet.scenario.reference import (
    FieldPath,
    format_path,
)
from hashfleet.scenario.sourcemap import (
    _bad_character,
    _Builder,
    _Document,
    _fail,
    _issue,
    _Mark,
    _Marks,
    _read_base,
    _show,
    _syntax_message,
)


def deep_merge(base: Any, over: Any) -> Any:
    """Merge ``over`` onto ``base`` the way ``extends`` does.

    Mappings merge key by key, recursively (keys keep the base's order, new keys come
    after); anything else in ``over`` -- scalars and **lists** -- replaces what ``base``
    had.  Neither argument is modified.

    Parameters
    ----------
    base, over : Any
        Plain YAML data.

    Returns
    -------
    Any
    """
    return _merge(base, over, (), {}, {}, {})


_PATH_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")


def parse_field_path(text: str) -> FieldPath:
    """Parse ``fleet.cohorts[0].units`` into ``("fleet", "cohorts", 0, "units")``.

    Parameters
    ----------
    text : str

    Returns
    -------
    FieldPath

    Raises
    ------
    ValueError
        If ``text`` is not a dotted path of names with optional ``[index]`` suffixes.
    """
    out: list[str | int] = []
    for part in text.strip().split("."):
        m = _PATH_TOKEN.fullmatch(part)
        if m is None:
            raise ValueError(
                f"expected a field path like run.paths or fleet.cohorts[0].units, got {text!r}"
            )
        out.append(m.group(1))
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return tuple(out)


def value_at(data: Any, path: FieldPath) -> Any:
    """The value at ``path`` in plain scenario data, or None if it is not there."""
    node = data
    for key in path:
        in_list = isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node)
        in_dict = isinstance(key, str) and isinstance(node, dict) and key in node
        if not (in_list or in_dict):
            return None
        node = node[key]
    return node


def set_value_at(data: Any, path: FieldPath, value: Any) -> None:
    """Replace the value at an existing ``path`` of plain data (a new key in an existing
    mapping is allowed: validation checks it).

    Raises
    ------
    KeyError, IndexError, TypeError
        If the path does not lead to a mapping or list of the data.
    """
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


# ------------------------------------------------------------------ extends


def _extend(
    doc: _Document,
    display: str,
    folder: Path,
    chain: tuple[Path, ...],
    roots: Sequence[Path] = (),
) -> _Document:
    if "extends" not in doc.data:
        return doc
    value = doc.data.pop("extends")
    mark = doc.marks.get(("extends",), doc.root)
    for p in [p for p in doc.marks if p[:1] == ("extends",)]:
        del doc.marks[p]
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise ScenarioError(
            [_issue(mark, ("extends",), f"expected a file name or a list of them, got {value!r}")]
        )
    merged: _Document | None = None
    for name in names:
        if _bad_character(name) is not None or len(name) > 4096:
            raise ScenarioError(
                [_issue(mark, ("extends",), f"expected a file name, got {_show(name)}")]
            )
        real = (folder / os.path.expanduser(name)).resolve()
        if not is_allowed(real, roots):
            raise ScenarioError([_issue(mark, ("extends",), _outside_message(name, roots))])
        base_display = (
            name
            if os.path.isabs(name)
            else os.path.normpath(os.path.join(os.path.dirname(display), name))
        )
        if real in chain:
            cycle = " -> ".join([*(str(c.name) for c in chain), real.name])
            raise ScenarioError(
                [_issue(mark, ("extends",), f"extends cycle: {cycle}; remove one extends")]
            )
        base = _read_base(real, base_display, via=mark.location())
        base = _extend(base, base_display, real.parent, (*chain, real), roots)
        merged = base if merged is None else _merge_docs(merged, base)
    assert merged is not None
    return _merge_docs(merged, doc)


def _merge_docs(base: _Document, over: _Document) -> _Document:
    marks: _Marks = {}
    data = _merge(base.data, over.data, (), base.marks, over.marks, marks)
    marks[()] = over.root
    return _Document(data, marks, over.root)


def _merge(base: Any, over: Any, path: FieldPath, bm: _Marks, om: _Marks, out: _Marks) -> Any:
    if not (isinstance(base, dict) and isinstance(over, dict)):
        _copy_marks(over, path, om, out)
        return over
    if path in om:
        out[path] = om[path]
    elif path in bm:
        out[path] = bm[path]
    result: dict[Any, Any] = {}
    for k, v in base.items():
        if k in over:
            result[k] = _merge(v, over[k], (*path, k), bm, om, out)
        else:
            result[k] = v
            _copy_marks(v, (*path, k), bm, out)
    for k, v in over.items():
        if k not in base:
            result[k] = v
            _copy_marks(v, (*path, k), om, out)
    return result


def _copy_marks(value: Any, path: FieldPath, src: _Marks, dst: _Marks) -> None:
    if path in src:
        dst[path] = src[path]
    if isinstance(value, dict):
        for k, v in value.items():
            _copy_marks(v, (*path, k), src, dst)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _copy_marks(v, (*path, i), src, dst)


# ------------------------------------------------------------------ overrides


def _apply_overrides(
    doc: _Document, overrides: Mapping[str, Any] | None, set_args: Sequence[str]
) -> _Document:
    cwd = Path.cwd()
    for key, value in _flatten(overrides or {}, ""):
        label = f"overrides[{key!r}]"
        mark = _Mark(label, None, None, cwd, trusted=True)
        try:
            path = parse_field_path(key)
        except ValueError as e:
            raise _fail(mark.location(), str(e)) from None
        _set(doc, path, value, {}, mark)
    for arg in set_args:
        label = f"--set {arg}"
        mark = _Mark(label, None, None, cwd, trusted=True)
        key, eq, text = arg.partition("=")
        if not eq:
            raise _fail(mark.location(), f"expected PATH=VALUE like run.paths=100, got {arg!r}")
        try:
            path = parse_field_path(key)
        except ValueError as e:
            raise _fail(mark.location(), str(e)) from None
        value, sub = _parse_value(text, label, cwd)
        _set(doc, path, value, sub, mark)
    return doc


def _flatten(overrides: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in overrides.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, dotted)
        else:
            yield dotted, value


def _parse_value(text: str, label: str, cwd: Path) -> tuple[Any, _Marks]:
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        raise _fail(IssueLocation(label), _syntax_message(e)) from None
    except yaml.reader.ReaderError as e:
        raise _fail(
            IssueLocation(label), f"the value cannot contain the character #x{e.character:04x}"
        ) from None
    except (yaml.YAMLError, RecursionError) as e:
        raise _fail(IssueLocation(label), f"cannot parse the value: {e}") from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        return None, {}
    builder = _Builder(label, cwd, loader)
    value = builder.build(node, (), None)
    if builder.issues:
        raise ScenarioError(
            [ScenarioIssue(IssueLocation(label), i.field, i.message) for i in builder.issues]
        )
    return value, builder.marks


def _set(doc: _Document, path: FieldPath, value: Any, sub: _Marks, mark: _Mark) -> None:
    node: Any = doc.data
    for i, seg in enumerate(path):
        here = path[:i]
        last = i == len(path) - 1
        if isinstance(seg, int):
            if not isinstance(node, list):
                raise _fail(
                    mark.location(),
                    f"{format_path(here)} is {_kind(node)}, not a list; cannot use [{seg}]",
                    path,
                )
            if seg >= len(node):
                raise _fail(
                    mark.location(),
                    f"{format_path(here)} has {len(node)} item(s); index {seg} does not exist "
                    "(indices start at 0; an override cannot add list items)",
                    path,
                )
        elif not isinstance(node, dict):
            raise _fail(
                mark.location(),
                f"{format_path(here) or 'the scenario'} is {_kind(node)}, not a mapping; "
                f"cannot set {seg!r} in it",
                path,
            )
        elif not last and node.get(seg) is None:
            if isinstance(path[i + 1], int):
                raise _fail(
                    mark.location(),
                    f"{format_path((*here, seg))} is not set, so it has no item [{path[i + 1]}]",
                    path,
                )
            node[seg] = {}
            doc.marks[(*here, seg)] = mark
        if last:
            node[seg] = value
        else:
            node = node[seg]
    for p in [p for p in doc.marks if p[: len(path)] == path]:
        del doc.marks[p]
    _copy_marks(value, path, {**{(*path, *p): mark for p in sub}, path: mark}, doc.marks)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"the value {_show(value)}"


def _outside_message(name: str, roots: Sequence[Path]) -> str:
    """Why a file a scenario names is refused: it is outside the scenario's folder."""
    where = f"the scenario's folder {roots[0]}" if roots else "the scenario's folder"
    return (
        f"{_show(name)} is outside {where}; a scenario may name files only inside its own "
        "folder: copy the file there, or allow its folder explicitly (--allow-path DIR, "
        "allow_paths=, or HASHFLEET_ALLOW_PATH)"
    )
