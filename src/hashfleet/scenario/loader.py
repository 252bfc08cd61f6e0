"""Loading scenario files: YAML with line numbers, ``extends``, overrides, clear errors.

A scenario file is read in four steps:

1. **Parse.**  The YAML is composed into a node graph with a :class:`yaml.SafeLoader`
   and built into plain dicts and lists by this module, which records the file, line
   and column of every key and value (a *source map* from field path to position).
   Only plain YAML is accepted: a tag such as ``!!python/object`` is an error, duplicate
   keys are errors, and aliases are expanded with a node budget so that an alias bomb
   ("billion laughs") fails fast in bounded memory.
2. **Extend.**  ``extends: base.yaml`` (relative to the extending file; a list is merged
   in order) loads the base first and deep-merges the file onto it: mappings merge
   key by key, scalars **and lists are replaced**.  Every position still points at the
   file that set the value.
3. **Override.**  ``--set dotted.path=VALUE`` strings and Python ``overrides`` replace
   single values; their errors are located at the override itself.
4. **Validate.**  Relative paths in ``ScenarioPath`` fields are resolved against the
   folder of the file that set them, the schema validates, and the cross-field checks
   of :mod:`hashfleet.scenario.consistency` run.  Every problem found is collected into
   one :class:`~hashfleet.errors.ScenarioError`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from hashfleet.errors import IssueLocation, ScenarioError, ScenarioIssue
from hashfleet.scenario.consistency import check_consistency, known_model_names
from hashfleet.scenario.reference import (
    ANY_INDEX,
    FieldPath,
    Shape,
    format_path,
    normalize_loc,
    path_field_patterns,
)
from hashfleet.scenario.schema import Scenario

__all__ = [
    "MAX_YAML_NODES",
    "deep_merge",
    "dump_resolved",
    "load_scenario",
    "load_scenario_data",
    "load_scenario_text",
    "parse_field_path",
    "scenario_hash",
]

#: Most YAML nodes a scenario may have once aliases are expanded (alias-bomb guard).
MAX_YAML_NODES = 100_000
#: Deepest nesting of mappings and lists accepted.
MAX_YAML_DEPTH = 100

_YAML_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_YAML_TAG + t for t in ("null", "bool", "int", "float", "str", "timestamp")}
_MAP_TAG = _YAML_TAG + "map"
_SEQ_TAG = _YAML_TAG + "seq"
_MERGE_TAG = _YAML_TAG + "merge"


# ------------------------------------------------------------------ public API


def load_scenario(
    path: str | os.PathLike[str],
    *,
    overrides: Mapping[str, Any] | None = None,
    set_args: Sequence[str] = (),
) -> Scenario:
    """Load, merge, override and validate a scenario file.

    Parameters
    ----------
    path : str or path-like
        The YAML file.
    overrides : mapping, optional
        Values to replace after ``extends``: keys are dotted field paths
        (``"run.paths"``, ``"fleet.cohorts[0].units"``) or nested mappings, which are
        flattened to their leaves (``{"run": {"paths": 10}}`` is ``{"run.paths": 10}``).
    set_args : sequence of str
        ``"dotted.path=VALUE"`` strings as given to ``--set``; each VALUE is parsed as
        YAML and replaces the value at the path.  Applied after ``overrides``.

    Returns
    -------
    Scenario
        The validated scenario, with relative paths made absolute.

    Raises
    ------
    ScenarioError
        With every problem found (YAML, schema and cross-field checks), each located at
        ``file:line:col`` and a field path.
    """
    doc = _load_document(path, overrides=overrides, set_args=set_args)
    return _validate(doc)


def load_scenario_text(
    text: str,
    *,
    name: str = "<string>",
    overrides: Mapping[str, Any] | None = None,
    set_args: Sequence[str] = (),
    base_dir: str | os.PathLike[str] | None = None,
) -> Scenario:
    """Load a scenario from YAML text; see :func:`load_scenario`.

    Parameters
    ----------
    text : str
        The YAML document.
    name : str
        The name errors give as the file.
    overrides, set_args
        As for :func:`load_scenario`.
    base_dir : str or path-like, optional
        Folder that relative paths and ``extends`` are resolved against (default: the
        current folder).

    Returns
    -------
    Scenario
    """
    folder = Path(base_dir).resolve() if base_dir is not None else Path.cwd()
    doc = _parse_yaml(text, name, folder)
    doc = _extend(doc, name, folder, chain=())
    doc = _apply_overrides(doc, overrides, set_args)
    return _validate(doc)


def load_scenario_data(
    path: str | os.PathLike[str],
    *,
    overrides: Mapping[str, Any] | None = None,
    set_args: Sequence[str] = (),
) -> dict[str, Any]:
    """The merged scenario as the user wrote it, after ``extends`` and overrides.

    Nothing is validated or filled in, and paths are left as written; this is what
    ``hashfleet scenario show`` prints.

    Parameters
    ----------
    path : str or path-like
        The YAML file.
    overrides, set_args
        As for :func:`load_scenario`.

    Returns
    -------
    dict
        Plain YAML data (dicts, lists, scalars).
    """
    return _load_document(path, overrides=overrides, set_args=set_args).data


def dump_resolved(scenario: Scenario) -> str:
    """YAML of the fully resolved scenario.

    Every default is filled in, dates are ISO 8601, ``network.start.bits`` is a hex
    string (``'0x17027726'``) and paths are absolute, so that
    ``load_scenario_text(dump_resolved(s)) == s``.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    str
    """
    data = scenario.model_dump(mode="json")
    start = data["network"]["start"]
    if start.get("bits") is not None:
        start["bits"] = f"0x{start['bits']:08x}"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 (hex) of the scenario's canonical JSON.

    Canonical JSON: the resolved scenario (every default filled in), keys sorted, no
    whitespace, UTF-8.  Equal scenarios have equal hashes, however they were written.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    str
        64 hex digits.
    """
    data = scenario.model_dump(mode="json")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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


# ------------------------------------------------------------------ documents


@dataclass(frozen=True)
class _Mark:
    """Where a value was set: file (or override), key and value positions (1-based)."""

    file: str
    key: tuple[int, int] | None
    value: tuple[int, int] | None
    base_dir: Path

    def location(self, *, prefer_key: bool = False) -> IssueLocation:
        pos = self.key if prefer_key and self.key else (self.value or self.key)
        if pos is None:
            return IssueLocation(self.file)
        return IssueLocation(self.file, pos[0], pos[1])


_Marks = dict[FieldPath, _Mark]


@dataclass
class _Document:
    """Plain YAML data and its source map."""

    data: dict[str, Any]
    marks: _Marks
    root: _Mark


def _issue(mark: _Mark | IssueLocation, path: FieldPath, message: str) -> ScenarioIssue:
    loc = mark.location() if isinstance(mark, _Mark) else mark
    return ScenarioIssue(loc, format_path(path), message)


def _fail(loc: IssueLocation, message: str, path: FieldPath = ()) -> ScenarioError:
    return ScenarioError([ScenarioIssue(loc, format_path(path), message)])


def _load_document(
    path: str | os.PathLike[str],
    *,
    overrides: Mapping[str, Any] | None,
    set_args: Sequence[str],
) -> _Document:
    display = os.fspath(path)
    real = Path(display).resolve()
    doc = _read_file(real, display, via=None)
    doc = _extend(doc, display, real.parent, chain=(real,))
    return _apply_overrides(doc, overrides, set_args)


def _read_file(real: Path, display: str, via: IssueLocation | None) -> _Document:
    where = via or IssueLocation(display)
    try:
        raw = real.read_bytes()
    except FileNotFoundError:
        raise _fail(where, f"file not found: {display}") from None
    except IsADirectoryError:
        raise _fail(where, f"expected a YAML file, got a folder: {display}") from None
    except OSError as e:
        raise _fail(where, f"cannot read {display}: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise _fail(
            IssueLocation(display, line, col),
            f"file is not UTF-8: byte 0x{raw[e.start]:02x} at offset {e.start} cannot be "
            "decoded; save the file as UTF-8",
        ) from None
    return _parse_yaml(text.removeprefix("\ufeff"), display, real.parent)


def _parse_yaml(text: str, display: str, base_dir: Path) -> _Document:
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        raise _fail(_yaml_location(display, e.problem_mark), _syntax_message(e)) from None
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        col = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        raise _fail(
            IssueLocation(display, line, col),
            f"YAML cannot contain the character #x{e.character:04x} ({e.reason})",
        ) from None
    except yaml.YAMLError as e:
        raise _fail(IssueLocation(display), f"YAML error: {e}") from None
    except RecursionError:
        raise _fail(IssueLocation(display), "YAML nesting is too deep to be a scenario") from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        raise _fail(
            IssueLocation(display),
            "file is empty; expected a mapping of scenario sections (name, run, ...)",
        )
    root = _Mark(display, None, _pos(node.start_mark), base_dir)
    if not isinstance(node, yaml.MappingNode) or node.tag != _MAP_TAG:
        got = _node_kind(node)
        raise _fail(
            root.location(),
            f"expected a mapping of scenario sections (name, run, ...) at the top level, got {got}",
        )
    builder = _Builder(display, base_dir, loader)
    data = builder.build(node, (), None)
    if builder.issues:
        raise ScenarioError(builder.issues)
    builder.marks[()] = root
    return _Document(data, builder.marks, root)


def _pos(mark: yaml.Mark | None) -> tuple[int, int] | None:
    return (mark.line + 1, mark.column + 1) if mark is not None else None


def _yaml_location(display: str, mark: yaml.Mark | None) -> IssueLocation:
    pos = _pos(mark)
    return IssueLocation(display, *pos) if pos else IssueLocation(display)


def _syntax_message(e: yaml.MarkedYAMLError) -> str:
    msg = f"YAML syntax error: {e.problem or 'invalid YAML'}"
    if e.context:
        where = f" (line {e.context_mark.line + 1})" if e.context_mark is not None else ""
        msg += f", {e.context}{where}"
    return msg


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return f"the scalar {node.value!r}"


class _Builder:
    """Builds plain data from a YAML node graph, recording positions and issues."""

    def __init__(self, display: str, base_dir: Path, loader: yaml.SafeLoader) -> None:
        self.display = display
        self.base_dir = base_dir
        self.loader = loader
        self.marks: _Marks = {}
        self.issues: list[ScenarioIssue] = []
        self.count = 0
        self.stack: list[int] = []

    def mark(self, key: yaml.Node | None, value: yaml.Node) -> _Mark:
        return _Mark(
            self.display,
            _pos(key.start_mark) if key is not None else None,
            _pos(value.start_mark),
            self.base_dir,
        )

    def problem(self, node: yaml.Node, path: FieldPath, message: str) -> None:
        loc = IssueLocation(self.display, *(_pos(node.start_mark) or (None, None)))
        self.issues.append(ScenarioIssue(loc, format_path(path), message))

    def build(self, node: yaml.Node, path: FieldPath, marks: _Marks | None) -> Any:
        marks = self.marks if marks is None else marks
        self.count += 1
        if self.count > MAX_YAML_NODES:
            raise _fail(
                IssueLocation(self.display, *(_pos(node.start_mark) or (None, None))),
                f"YAML expands to more than {MAX_YAML_NODES:,} values once aliases are "
                "followed; refusing to load (an alias bomb, 'billion laughs'?)",
            )
        if id(node) in self.stack:
            self.problem(node, path, "recursive YAML alias: a value contains itself")
            return None
        if len(self.stack) >= MAX_YAML_DEPTH:
            raise _fail(
                IssueLocation(self.display, *(_pos(node.start_mark) or (None, None))),
                f"YAML nested deeper than {MAX_YAML_DEPTH} levels",
            )
        self.stack.append(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path, marks)
            if isinstance(node, yaml.SequenceNode):
                return self.sequence(node, path, marks)
            return self.scalar(node, path)
        finally:
            self.stack.pop()

    def tag_ok(self, node: yaml.Node, path: FieldPath, expected: set[str]) -> bool:
        if node.tag in expected:
            return True
        tag = node.tag.replace(_YAML_TAG, "!!")
        self.problem(
            node,
            path,
            f"unsupported YAML tag '{tag}'; scenarios are plain YAML "
            "(mappings, lists, text, numbers, booleans, dates), without tags",
        )
        return False

    def scalar(self, node: yaml.Node, path: FieldPath) -> Any:
        if not self.tag_ok(node, path, _SCALAR_TAGS):
            return None
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError) as e:
            kind = node.tag.replace(_YAML_TAG, "")
            kind = "date" if kind == "timestamp" else kind
            self.problem(node, path, f"expected a valid {kind}, got {node.value!r} ({e})")
            return None

    def sequence(self, node: yaml.SequenceNode, path: FieldPath, marks: _Marks) -> Any:
        if not self.tag_ok(node, path, {_SEQ_TAG}):
            return None
        out = []
        for i, item in enumerate(node.value):
            marks[(*path, i)] = self.mark(None, item)
            out.append(self.build(item, (*path, i), marks))
        return out

    def mapping(self, node: yaml.MappingNode, path: FieldPath, marks: _Marks) -> Any:
        if not self.tag_ok(node, path, {_MAP_TAG}):
            return None
        out: dict[str, Any] = {}
        first: dict[str, yaml.Node] = {}
        merges: list[yaml.Node] = []
        for knode, vnode in node.value:
            if knode.tag == _MERGE_TAG:
                merges.append(vnode)
                continue
            if not isinstance(knode, yaml.ScalarNode) or not self.tag_ok(knode, path, _SCALAR_TAGS):
                if isinstance(knode, yaml.ScalarNode):
                    continue
                self.problem(knode, path, f"expected a text key, got {_node_kind(knode)}")
                continue
            key = str(knode.value)
            if key in first:
                line = first[key].start_mark.line + 1
                self.problem(
                    knode,
                    (*path, key),
                    f"duplicate key {key!r} (first at line {line}, again at line "
                    f"{knode.start_mark.line + 1}); keep only one",
                )
                continue
            first[key] = knode
            marks[(*path, key)] = self.mark(knode, vnode)
            out[key] = self.build(vnode, (*path, key), marks)
        self.merge_keys(out, merges, path, marks)
        return out

    def merge_keys(
        self, out: dict[str, Any], merges: list[yaml.Node], path: FieldPath, marks: _Marks
    ) -> None:
        """YAML merge keys (``<<: *base``): keys not set explicitly come from the bases."""
        for vnode in merges:
            bases = vnode.value if isinstance(vnode, yaml.SequenceNode) else [vnode]
            for base in bases:
                sub: _Marks = {}
                value = self.build(base, path, sub)
                if not isinstance(value, dict):
                    self.problem(base, path, "expected a mapping after '<<:'")
                    continue
                for k, v in value.items():
                    if k in out:
                        continue
                    out[k] = v
                    for p, m in sub.items():
                        if p[: len(path) + 1] == (*path, k):
                            marks[p] = m


# ------------------------------------------------------------------ extends


def _extend(doc: _Document, display: str, folder: Path, chain: tuple[Path, ...]) -> _Document:
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
        real = (folder / os.path.expanduser(name)).resolve()
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
        base = _read_file(real, base_display, via=mark.location())
        base = _extend(base, base_display, real.parent, (*chain, real))
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
        mark = _Mark(label, None, None, cwd)
        try:
            path = parse_field_path(key)
        except ValueError as e:
            raise _fail(mark.location(), str(e)) from None
        _set(doc, path, value, {}, mark)
    for arg in set_args:
        label = f"--set {arg}"
        mark = _Mark(label, None, None, cwd)
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


# ------------------------------------------------------------------ validation


def _validate(doc: _Document) -> Scenario:
    _resolve_paths(doc)
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as e:
        raise ScenarioError(_sorted(_schema_issues(e, doc))) from None
    locate = _locator(doc)
    names, catalogue_issues = known_model_names(scenario, locate)
    issues = catalogue_issues + check_consistency(scenario, locate=locate, model_names=names)
    if issues:
        raise ScenarioError(_sorted(issues))
    return scenario


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


def _resolve_paths(doc: _Document) -> None:
    for pattern in path_field_patterns():
        for path, parent in _expand(doc.data, pattern, ()):
            value = parent[path[-1]]
            if not isinstance(value, str) or not value or value.startswith("builtin:"):
                continue
            value = os.path.expanduser(value)
            if not os.path.isabs(value):
                mark = doc.marks.get(path, doc.root)
                value = os.path.normpath(os.path.join(mark.base_dir, value))
            parent[path[-1]] = value


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


def _show(value: Any) -> str:
    """A user's value as they would write it in YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return repr(value)
