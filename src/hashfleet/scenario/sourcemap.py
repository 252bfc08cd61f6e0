"""The YAML source map: parse a scenario file into plain data and the position of
every key and value (file, line, column); plain YAML only, aliases expanded on a budget."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from hashfleet.errors import DataError, IssueLocation, ScenarioError, ScenarioIssue
from hashfleet.scenario.files import MAX_YAML_BYTES, file_stamp, read_bytes
from hashfleet.scenario.reference import (
    FieldPath,
    format_path,
)

#: Most YAML nodes a scenario may have once aliases are expanded (alias-bomb guard).
MAX_YAML_NODES = 100_000
#: Deepest nesting of mappings and lists accepted.
MAX_YAML_DEPTH = 100
#: Longest text value or key accepted (characters).
MAX_TEXT_CHARS = 10_000
#: Longest excerpt of a user's value quoted in a message (characters).
MAX_EXCERPT_CHARS = 60

_YAML_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_YAML_TAG + t for t in ("null", "bool", "int", "float", "str", "timestamp")}
_MAP_TAG = _YAML_TAG + "map"
_SEQ_TAG = _YAML_TAG + "seq"
_MERGE_TAG = _YAML_TAG + "merge"
#: The YAML loader (pure Python: its messages and marks are the ones the tests pin).
_LOADER: Any = yaml.SafeLoader
_TAG_WORDS = {
    _YAML_TAG + "timestamp": "a valid date",
    _YAML_TAG + "bool": "true or false",
    _YAML_TAG + "int": "an integer",
    _YAML_TAG + "float": "a number",
}


# ------------------------------------------------------------------ documents


@dataclass(frozen=True)
class _Mark:
    """Where a value was set: file (or override), key and value positions (1-based)."""

    file: str
    key: tuple[int, int] | None
    value: tuple[int, int] | None
    base_dir: Path
    #: Set by the user directly (``--set``, ``overrides=``): the paths it names are trusted.
    trusted: bool = False

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


def _read_file(real: Path, display: str, via: IssueLocation | None) -> _Document:
    where = via or IssueLocation(display, 1, 1)
    try:
        raw = read_bytes(real, what="scenario file", max_bytes=MAX_YAML_BYTES)
    except DataError as e:
        message = str(e).replace(f"scenario file {real}", f"scenario file {display}")
        raise _fail(where, message) from None
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


def _read_base(real: Path, display: str, via: IssueLocation) -> _Document:
    """:func:`_read_file` for a file named by ``extends``, parsed once per version of the
    file (size and modification time) and copied out: a base shared by many scenarios (a
    sweep reloads its file once per point) is not parsed again."""
    try:
        stamp = file_stamp(real, what="scenario file", max_bytes=MAX_YAML_BYTES)
    except DataError as e:
        message = str(e).replace(f"scenario file {real}", f"scenario file {display}")
        raise _fail(via, message) from None
    doc = _cached_base(real, display, via, stamp)
    return _Document(copy.deepcopy(doc.data), dict(doc.marks), doc.root)


@lru_cache(maxsize=32)
def _cached_base(real: Path, display: str, via: IssueLocation, stamp: tuple[int, int]) -> _Document:
    return _read_file(real, display, via)


def _fast_compose(text: str) -> tuple[Any, Any] | None:
    """The node graph from libyaml's C parser (several times faster), or None if PyYAML
    has no C parser or it fails: the pure-Python parser then says what is wrong."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is None:
        return None
    loader = None
    try:
        loader = fast(text)
        return loader.get_single_node(), loader
    except Exception:
        return None
    finally:
        if loader is not None:
            loader.dispose()


def _parse_yaml(text: str, display: str, base_dir: Path) -> _Document:
    composed = _fast_compose(text)
    if composed is not None:
        return _document(composed[0], composed[1], display, base_dir)
    loader: Any = None
    try:
        loader = _LOADER(text)
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
        raise _fail(IssueLocation(display, 1, 1), f"YAML error: {_cut(str(e))}") from None
    except RecursionError:
        raise _fail(
            IssueLocation(display, 1, 1), "YAML nesting is too deep to be a scenario"
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    return _document(node, loader, display, base_dir)


def _document(node: Any, loader: Any, display: str, base_dir: Path) -> _Document:
    if node is None:
        raise _fail(
            IssueLocation(display, 1, 1),
            "file is empty; expected a mapping of scenario sections (name, run, ...)",
        )
    root = _Mark(display, None, _pos(node.start_mark), base_dir)
    if not isinstance(node, yaml.MappingNode) or node.tag != _MAP_TAG:
        got = _node_kind(node)
        raise _fail(
            root.location(),
            f"expected a mapping of scenario sections (name, run, ...) at the top level, got {got}",
        )
    try:
        size = _expanded_size(node, {}, set())
    except RecursionError:
        raise _fail(
            IssueLocation(display, 1, 1), "YAML nesting is too deep to be a scenario"
        ) from None
    if size > MAX_YAML_NODES:  # before building anything
        raise _fail(
            _yaml_location(display, node.start_mark),
            f"YAML expands to more than {MAX_YAML_NODES:,} values once aliases are "
            "followed; refusing to load (an alias bomb, 'billion laughs'?)",
        )
    builder = _Builder(display, base_dir, loader)
    data = builder.build(node, (), None)
    if builder.issues:
        raise ScenarioError(builder.issues)
    builder.marks[()] = root
    return _Document(data, builder.marks, root)


def _expanded_size(node: yaml.Node, memo: dict[int, int], active: set[int]) -> int:
    """Values ``node`` holds once aliases are followed (a shared node counts every time it
    is used), computed over the distinct nodes only; capped just above the budget."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:  # a recursive alias: reported by the builder
        return 1
    active.add(key)
    total = 1
    if isinstance(node, yaml.SequenceNode):
        children: list[yaml.Node] = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    else:
        children = []
    for child in children:
        total += _expanded_size(child, memo, active)
        if total > MAX_YAML_NODES:
            break
    active.discard(key)
    memo[key] = min(total, MAX_YAML_NODES + 1)
    return memo[key]


def _pos(mark: yaml.Mark | None) -> tuple[int, int] | None:
    return (mark.line + 1, mark.column + 1) if mark is not None else None


def _yaml_location(display: str, mark: yaml.Mark | None) -> IssueLocation:
    pos = _pos(mark)
    return IssueLocation(display, *pos) if pos else IssueLocation(display, 1, 1)


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
    return "a single value"  # not quoted: the file may not be a scenario at all


class _Builder:
    """Builds plain data from a YAML node graph, recording positions and issues."""

    def __init__(self, display: str, base_dir: Path, loader: Any) -> None:
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
        loc = IssueLocation(self.display, *(_pos(node.start_mark) or (1, 1)))
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
        text = node.value if isinstance(node.value, str) else str(node.value)
        if len(text) > MAX_TEXT_CHARS:
            self.problem(
                node,
                path,
                f"expected text of at most {MAX_TEXT_CHARS:,} characters, got "
                f"{len(text):,} characters",
            )
            return None
        bad = _bad_character(text)
        if bad is not None:
            self.problem(node, path, f"expected text without control characters, got {bad}")
            return None
        try:
            # PyYAML's constructors assume their resolver matched the text: an explicit tag on
            # other text (``!!timestamp hello``, ``!!bool maybe``) makes them fail with
            # AttributeError/KeyError/TypeError.  Any failure here is the user's value.
            value = self.loader.construct_object(node, deep=True)
        except Exception:
            kind = _TAG_WORDS.get(node.tag, node.tag.replace(_YAML_TAG, ""))
            self.problem(node, path, f"expected {kind}, got {_excerpt(text)}")
            return None
        return value

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
            if len(key) > 200 or _bad_character(key) is not None:
                self.problem(knode, path, f"expected a field name, got {_excerpt(key)}")
                continue
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


def _show(value: Any) -> str:
    """A user's value as they would write it in YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return _cut(repr(value))
    if isinstance(value, str):
        return _excerpt(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return _cut(repr(value))


def _cut(text: str) -> str:
    if len(text) <= MAX_EXCERPT_CHARS:
        return text
    return text[: MAX_EXCERPT_CHARS - 8] + f"... ({len(text):,} characters)"


def _excerpt(value: Any) -> str:
    """A short quotation of a user's value: its ``repr`` for text, cut to
    :data:`MAX_EXCERPT_CHARS` characters."""
    if not isinstance(value, str):
        return _show(value)
    text = repr(value)
    if len(text) <= MAX_EXCERPT_CHARS:
        return text
    return repr(value[: MAX_EXCERPT_CHARS - 8]) + f"... ({len(value):,} characters)"


_BAD_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _bad_character(text: str) -> str | None:
    """How the first character a scenario's text may not hold looks (NUL, other control
    characters but tab and newline, lone surrogates), or None if there is none."""
    m = _BAD_CHARACTER.search(text)
    if m is None:
        return None
    code = ord(m.group())
    what = "an unpaired surrogate" if 0xD800 <= code <= 0xDFFF else "the control character"
    return f"{what} U+{code:04X} at character {m.start() + 1}"
