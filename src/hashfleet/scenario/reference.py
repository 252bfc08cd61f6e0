"""Introspection of the scenario schema, and the generated scenario reference.

The pydantic models in :mod:`hashfleet.scenario.schema` are the single source of truth
for every scenario field: type, unit (``json_schema_extra["unit"]``), default, bounds
(``ge``/``gt``/``le``/``lt``) and description.  This module walks them to

* generate the Markdown reference (:func:`reference_markdown`, committed as
  ``docs/scenario-reference.md`` and checked by a test so docs and code cannot drift);
* answer the questions the loader asks about a field path: which fields hold file paths
  (:func:`path_field_patterns`), how pydantic's error locations map to scenario field
  paths (:func:`normalize_loc`).
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Literal, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from hashfleet.scenario.schema import Scenario

__all__ = [
    "FieldPath",
    "Shape",
    "format_path",
    "normalize_loc",
    "path_field_patterns",
    "reference_markdown",
    "shape_of",
]

#: A field path: mapping keys and list indices, e.g. ``("fleet", "cohorts", 2, "units")``.
FieldPath = tuple[str | int, ...]

#: Wildcard for "any list index" in a path pattern.
ANY_INDEX = "[]"


def format_path(path: Sequence[str | int]) -> str:
    """Format a field path as ``fleet.cohorts[2].units``.

    Parameters
    ----------
    path : sequence of str or int
        Mapping keys (str) and list indices (int, or the wildcard ``"[]"``).

    Returns
    -------
    str
        The dotted path with list indices in brackets.
    """
    out = ""
    for seg in path:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif seg == ANY_INDEX:
            out += "[]"
        else:
            out += f".{seg}" if out else str(seg)
    return out


@dataclass(frozen=True)
class Shape:
    """What a schema annotation accepts, with ``Optional`` and ``Annotated`` peeled off.

    Attributes
    ----------
    kind : str
        ``"model"``, ``"union"`` (a discriminated union of models), ``"list"``,
        ``"literal"`` or ``"scalar"``.
    optional : bool
        ``None`` is accepted too.
    model : type of BaseModel or None
        The model, for ``kind == "model"``.
    variants : dict
        Tag -> model, for ``kind == "union"``.
    discriminator : str
        The tag's field name, for ``kind == "union"``.
    item : Shape or None
        The item shape, for ``kind == "list"``.
    choices : tuple
        The allowed values, for ``kind == "literal"``.
    scalar : type or None
        The Python type, for ``kind == "scalar"``.
    is_path : bool
        The value is a :data:`~hashfleet.scenario.schema.ScenarioPath`.
    """

    kind: str
    optional: bool = False
    model: type[BaseModel] | None = None
    variants: dict[str, type[BaseModel]] = field(default_factory=dict)
    discriminator: str = "model"
    item: Shape | None = None
    choices: tuple[Any, ...] = ()
    scalar: type | None = None
    is_path: bool = False


def shape_of(annotation: Any, info: FieldInfo | None = None) -> Shape:
    """The :class:`Shape` of a field's annotation.

    Parameters
    ----------
    annotation : Any
        A type annotation as pydantic stores it (``FieldInfo.annotation``).
    info : FieldInfo, optional
        The field's info, for its discriminator and ``scenario_path`` marker.

    Returns
    -------
    Shape
    """
    optional = False
    discriminator = info.discriminator if info is not None else None
    is_path = _marks_path(info)
    ann = annotation
    while True:
        origin = get_origin(ann)
        if origin is Annotated:
            base, *meta = get_args(ann)
            for m in meta:
                if isinstance(m, FieldInfo):
                    is_path = is_path or _marks_path(m)
                    discriminator = discriminator or m.discriminator
            ann = base
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in get_args(ann) if a is not type(None)]
            optional = optional or len(members) < len(get_args(ann))
            if len(members) == 1:
                ann = members[0]
                continue
            disc = discriminator if isinstance(discriminator, str) else "model"
            variants = {}
            for m in members:
                if isinstance(m, type) and issubclass(m, BaseModel):
                    tag_info = m.model_fields.get(disc)
                    for tag in get_args(tag_info.annotation) if tag_info else ():
                        variants[str(tag)] = m
            return Shape("union", optional, variants=variants, discriminator=disc)
        break
    origin = get_origin(ann)
    if origin in (list, tuple, Sequence):
        args = [a for a in get_args(ann) if a is not Ellipsis]
        item = shape_of(args[0]) if args else Shape("scalar")
        return Shape("list", optional, item=item)
    if origin is Literal:
        return Shape("literal", optional, choices=get_args(ann))
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return Shape("model", optional, model=ann)
    return Shape("scalar", optional, scalar=ann if isinstance(ann, type) else None, is_path=is_path)


def normalize_loc(loc: Sequence[str | int]) -> tuple[FieldPath, list[Shape | None]]:
    """Map a pydantic error location to a scenario field path.

    Pydantic inserts the tag of a discriminated union into the location
    (``("market", "btc_price", "gbm", "drift_per_year")``); a scenario file has no such
    level, so it is dropped.

    Parameters
    ----------
    loc : sequence of str or int
        ``ValidationError.errors()[i]["loc"]`` for :class:`~hashfleet.scenario.schema.Scenario`.

    Returns
    -------
    path : FieldPath
        The path as the user writes it.
    shapes : list of Shape or None
        ``shapes[i]`` is the shape of the value at ``path[:i]`` (``shapes[0]`` is the
        scenario itself); ``None`` where the schema has no such field.
    """
    shape: Shape | None = Shape("model", model=Scenario)
    path: list[str | int] = []
    shapes: list[Shape | None] = [shape]
    for seg in loc:
        if shape is not None and shape.kind == "union" and seg in shape.variants:
            shape = Shape("model", model=shape.variants[str(seg)])
            shapes[-1] = shape
            continue
        path.append(seg)
        shape = _child(shape, seg)
        shapes.append(shape)
    return tuple(path), shapes


def _child(shape: Shape | None, seg: str | int) -> Shape | None:
    if shape is None:
        return None
    if shape.kind == "model" and shape.model is not None and isinstance(seg, str):
        info = shape.model.model_fields.get(seg)
        return shape_of(info.annotation, info) if info is not None else None
    if shape.kind == "list" and isinstance(seg, int):
        return shape.item
    return None


def path_field_patterns() -> list[FieldPath]:
    """Path patterns of every field that holds a file path (``ScenarioPath``).

    Returns
    -------
    list of FieldPath
        E.g. ``("fleet", "catalogue")``, ``("market", "btc_price", "path")``; list
        levels appear as the wildcard ``"[]"``.  A union contributes the path fields of
        all its variants.
    """
    return list(_all_path_patterns())


@lru_cache(maxsize=1)
def _all_path_patterns() -> tuple[FieldPath, ...]:
    return tuple(_path_patterns(Shape("model", model=Scenario), ()))


def _path_patterns(shape: Shape, prefix: FieldPath) -> Iterator[FieldPath]:
    if shape.is_path:
        yield prefix
    elif shape.kind == "model" and shape.model is not None:
        for name, info in shape.model.model_fields.items():
            yield from _path_patterns(shape_of(info.annotation, info), (*prefix, name))
    elif shape.kind == "union":
        seen: set[FieldPath] = set()
        for model in shape.variants.values():
            for p in _path_patterns(Shape("model", model=model), prefix):
                if p not in seen:
                    seen.add(p)
                    yield p
    elif shape.kind == "list" and shape.item is not None:
        yield from _path_patterns(shape.item, (*prefix, ANY_INDEX))


def _marks_path(info: FieldInfo | None) -> bool:
    extra = info.json_schema_extra if info is not None else None
    return isinstance(extra, dict) and bool(extra.get("scenario_path"))


# ------------------------------------------------------------------ reference docs

_HEADER = """\
# Scenario reference

<!-- Generated from src/hashfleet/scenario/schema.py; do not edit by hand.
     Regenerate with: hashfleet scenario reference --out docs/scenario-reference.md -->

A scenario is a YAML file with the sections below.  Every field lists its type, unit,
default, bounds and meaning; a field without a default is required.  Unknown fields are
errors.  Paths are written `section.field`; `[]` stands for every item of a list.

Loading rules:

* `extends: base.yaml` (a path relative to the extending file, or a list of them, merged
  in order) starts from another scenario.  Mappings merge key by key, recursively;
  scalars **and lists are replaced** as a whole (a list in the extending file replaces
  the base's list, it is not appended to).
* `--set dotted.path=VALUE` (CLI) and `overrides={"dotted.path": value}` (Python) replace
  one value after `extends`, e.g. `--set run.paths=100`,
  `--set fleet.cohorts[0].units=5`, `--set "network.fees={model: constant}"`.  The value
  is parsed as YAML.  A list index must already exist.
* A field of type *path* that is relative is resolved against the folder of the file
  that set it (the current folder for `--set`); `builtin:NAME` names shipped data.
* Trust boundary (docs/security.md): files a scenario names (`extends`, *path* fields)
  must lie inside the loaded scenario's folder unless allowed with `--allow-path DIR`
  (`allow_paths=` in Python); only regular files are read.  Python code named by a
  scenario (`policies.custom`, `hpc.policy.target`, `capital.treasury.custom`) runs only
  from an installed `hashfleet.policies` entry point or a module allowed with
  `--allow-code PATH`.
* Every number has a range (the *bounds* column), chosen wide enough for any physical
  fleet and narrow enough that no value overflows the engine.
* Sections with a `model` field (a *variant* table) choose their model with
  `model: NAME`; each variant has its own fields.
"""


def reference_markdown() -> str:
    """The scenario reference as Markdown, generated from the schema.

    Returns
    -------
    str
        One table per section (field path, type, unit, default, bounds, description);
        discriminated unions get one table per ``model`` variant.  Ends with a newline.
    """
    out = [_HEADER]
    top_rows: list[list[str]] = []
    sections: list[str] = []
    for name, info in Scenario.model_fields.items():
        shape = shape_of(info.annotation, info)
        if shape.kind == "model" and shape.model is not None:
            sections.extend(_section(name, shape.model, info))
        else:
            top_rows.append(_row((name,), info, shape))
    out.append("## Top level\n\n" + _table(top_rows))
    out.extend(sections)
    return "\n".join(s.rstrip("\n") + "\n" for s in out)


def _section(name: str, model: type[BaseModel], info: FieldInfo) -> list[str]:
    rows: list[list[str]] = []
    unions: list[tuple[FieldPath, Shape]] = []
    _rows(model, (name,), rows, unions)
    required = " Required." if info.is_required() else ""
    text = f"## `{name}`\n\n{_doc(model)}{required}\n\n{_table(rows)}"
    parts = [text]
    while unions:
        path, shape = unions.pop(0)
        for tag, variant in shape.variants.items():
            vrows: list[list[str]] = []
            _rows(variant, path, vrows, unions)
            # The discriminator first, with a description if the schema has none.
            key = f"`{format_path((*path, shape.discriminator))}`"
            tag_rows = [r for r in vrows if r[0] == key]
            for r in tag_rows:
                r[5] = r[5] or "Selects this variant."
            vrows = tag_rows + [r for r in vrows if r[0] != key]
            parts.append(
                f"### `{format_path(path)}` with `{shape.discriminator}: {tag}`\n\n"
                f"{_doc(variant)}\n\n{_table(vrows)}"
            )
    return parts


def _rows(
    model: type[BaseModel],
    prefix: FieldPath,
    rows: list[list[str]],
    unions: list[tuple[FieldPath, Shape]],
) -> None:
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        shape = shape_of(info.annotation, info)
        rows.append(_row(path, info, shape))
        if shape.kind == "model" and shape.model is not None:
            _rows(shape.model, path, rows, unions)
        elif shape.kind == "union":
            unions.append((path, shape))
        elif shape.kind == "list" and shape.item is not None:
            item = shape.item
            if item.kind == "model" and item.model is not None:
                _rows(item.model, (*path, ANY_INDEX), rows, unions)
            elif item.kind == "union":
                unions.append(((*path, ANY_INDEX), item))


def _row(path: FieldPath, info: FieldInfo, shape: Shape) -> list[str]:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    unit = str(extra.get("unit", "")) if extra else ""
    return [
        f"`{format_path(path)}`",
        _type_name(shape),
        unit,
        _default(info, shape),
        _bounds(info),
        (info.description or "").replace("\n", " "),
    ]


def _table(rows: list[list[str]]) -> str:
    head = ["Field", "Type", "Unit", "Default", "Bounds", "Description"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(lines) + "\n"


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())


_SCALAR_NAMES: dict[Any, str] = {
    int: "integer",
    float: "number",
    str: "text",
    bool: "boolean",
    dt.date: "date",
    dt.datetime: "date-time (UTC)",
}


def _type_name(shape: Shape) -> str:
    if shape.kind == "model":
        name = "mapping"
    elif shape.kind == "union":
        tags = ", ".join(f"`{t}`" for t in shape.variants)
        name = f"mapping, `{shape.discriminator}` one of {tags}"
    elif shape.kind == "list":
        item = shape.item
        if item is not None and item.kind in ("model", "union"):
            name = "list of mappings"
        else:
            name = f"list of {_type_name(item) if item else 'values'}"
            name = name.replace("integer", "integers").replace("number", "numbers")
    elif shape.kind == "literal":
        name = " or ".join(f"`{_inline(c)}`" for c in shape.choices)
    elif shape.is_path:
        name = "path"
    else:
        name = _SCALAR_NAMES.get(shape.scalar, getattr(shape.scalar, "__name__", "value"))
    return f"{name} or null" if shape.optional else name


def _default(info: FieldInfo, shape: Shape) -> str:
    if info.is_required():
        return "required"
    value = info.default
    if value is PydanticUndefined and info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        data = value.model_dump(mode="json", exclude_defaults=True)
        if shape.kind == "union":
            disc = shape.discriminator
            data = {disc: getattr(value, disc), **data}
        return f"`{_inline(data)}`" if data else "(all defaults)"
    return f"`{_inline(value)}`"


def _bounds(info: FieldInfo) -> str:
    out = []
    for m in info.metadata:
        if isinstance(m, at.Gt):
            out.append(f"> {_inline(m.gt)}")
        elif isinstance(m, at.Ge):
            out.append(f"≥ {_inline(m.ge)}")
        elif isinstance(m, at.Lt):
            out.append(f"< {_inline(m.lt)}")
        elif isinstance(m, at.Le):
            out.append(f"≤ {_inline(m.le)}")
        elif isinstance(m, at.MinLen) and m.min_length > 0:
            out.append("non-empty" if m.min_length == 1 else f"length ≥ {m.min_length}")
        elif isinstance(m, at.MaxLen):
            out.append(f"length ≤ {m.max_length}")
    return ", ".join(out)


def _inline(value: Any) -> str:
    """A value in YAML flow style, for tables."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '""' if value == "" else value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value)
