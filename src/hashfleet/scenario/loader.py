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

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from hashfleet.errors import IssueLocation
from hashfleet.scenario.compose import (
    _apply_overrides,
    _extend,
    deep_merge,
    parse_field_path,
)
from hashfleet.scenario.files import allowed_roots
from hashfleet.scenario.messages import _expand, _locate, _validate, _variant_values
from hashfleet.scenario.reference import FieldPath, path_field_patterns
from hashfleet.scenario.schema import Scenario
from hashfleet.scenario.sourcemap import (
    MAX_YAML_NODES,
    _Document,
    _parse_yaml,
    _read_file,
)

__all__ = [
    "MAX_YAML_NODES",
    "deep_merge",
    "dump_resolved",
    "field_locator",
    "load_scenario",
    "load_scenario_data",
    "load_scenario_text",
    "parse_field_path",
    "scenario_hash",
    "vetted_files",
]

# ------------------------------------------------------------------ public API


def load_scenario(
    path: str | os.PathLike[str],
    *,
    overrides: Mapping[str, Any] | None = None,
    set_args: Sequence[str] = (),
    allow_paths: Sequence[str | os.PathLike[str]] = (),
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
    allow_paths : sequence of path-like
        Folders (or files) outside the scenario's folder that the scenario may name
        (``extends``, ``fleet.catalogue``, CSV ``path``); see :mod:`hashfleet.scenario.files`.

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
    real = Path(os.fspath(path)).resolve()
    roots = allowed_roots(real.parent, allow_paths)
    doc = _load_document(path, overrides=overrides, set_args=set_args, roots=roots)
    return _validate(doc, roots)


def load_scenario_text(
    text: str,
    *,
    name: str = "<string>",
    overrides: Mapping[str, Any] | None = None,
    set_args: Sequence[str] = (),
    base_dir: str | os.PathLike[str] | None = None,
    allow_paths: Sequence[str | os.PathLike[str]] = (),
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
        current folder); files it names must be inside it.
    allow_paths : sequence of path-like
        As for :func:`load_scenario`.

    Returns
    -------
    Scenario
    """
    folder = Path(base_dir).resolve() if base_dir is not None else Path.cwd()
    roots = allowed_roots(folder, allow_paths)
    doc = _parse_yaml(text, name, folder)
    doc = _extend(doc, name, folder, chain=(), roots=roots)
    doc = _apply_overrides(doc, overrides, set_args)
    return _validate(doc, roots)


def load_scenario_data(
    path: str | os.PathLike[str],
    *,
    overrides: Mapping[str, Any] | None = None,
    set_args: Sequence[str] = (),
    allow_paths: Sequence[str | os.PathLike[str]] = (),
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
    roots = allowed_roots(Path(os.fspath(path)).resolve().parent, allow_paths)
    return _load_document(path, overrides=overrides, set_args=set_args, roots=roots).data


def field_locator(
    path: str | os.PathLike[str],
    *,
    set_args: Sequence[str] = (),
    allow_paths: Sequence[str | os.PathLike[str]] = (),
) -> Callable[[FieldPath], IssueLocation]:
    """Where each field of a scenario file was written (after ``extends`` and ``--set``).

    For messages about a field that the loader did not raise (a strategy's or sweep
    point's problem, a compile-time check): the location of the field, or of its nearest
    parent that is written, or the top of the file.

    Parameters
    ----------
    path, set_args, allow_paths
        As for :func:`load_scenario`.

    Returns
    -------
    callable
        Field path -> :class:`~hashfleet.errors.IssueLocation` with a line and column.
    """
    roots = allowed_roots(Path(os.fspath(path)).resolve().parent, allow_paths)
    doc = _load_document(path, overrides=None, set_args=set_args, roots=roots)
    return lambda field: _locate(doc, field)


def vetted_files(scenario: Scenario) -> tuple[str, ...]:
    """The files a loaded scenario names (absolute; checked when it was loaded): its file
    fields and the file fields inside ``strategies[].set`` and ``sweep``.

    Reloading a variant of the scenario from text (a strategy) allows exactly these.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    tuple of str
    """
    data = scenario.model_dump(mode="json")
    out: list[str] = []
    patterns = path_field_patterns()
    found = [parent[p[-1]] for pat in patterns for p, parent in _expand(data, pat, ())]
    found += [parent[key] for _, parent, key, _ in _variant_values(data, patterns)]
    for v in found:
        if isinstance(v, str) and os.path.isabs(v) and v not in out:
            out.append(v)
    return tuple(out)


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
    # fields typed Any hold the user's YAML as written: keep their dates as dates
    for i, strat in enumerate(scenario.strategies):
        data["strategies"][i]["set"] = _plain(strat.set)
    for i, custom in enumerate(scenario.policies.custom):
        data["policies"]["custom"][i]["params"] = _plain(custom.params)
    if scenario.sweep is not None:
        for kind in ("grid", "zip"):
            if getattr(scenario.sweep, kind) is not None:
                data["sweep"][kind] = _plain(getattr(scenario.sweep, kind))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _plain(value: Any) -> Any:
    """Plain YAML data (tuples as lists), dates and times kept."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


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


def _load_document(
    path: str | os.PathLike[str],
    *,
    overrides: Mapping[str, Any] | None,
    set_args: Sequence[str],
    roots: Sequence[Path],
) -> _Document:
    display = os.fspath(path)
    real = Path(display).resolve()
    doc = _read_file(real, display, via=None)
    doc = _extend(doc, display, real.parent, chain=(real,), roots=roots)
    return _apply_overrides(doc, overrides, set_args)
