"""Which Python code a scenario may run: the trust boundary of custom policies.

Three scenario fields name Python code: ``policies.custom[].target``
(``package.module:ClassName``), ``hpc.policy.target`` and ``capital.treasury.custom``
(``module:function``).  A scenario file is data that may come from someone else, so naming
code in it is not enough to run it.  :func:`load_target` imports a target only if

1. it is an **installed entry point** of the group :data:`ENTRY_POINT_GROUP`
   (``hashfleet.policies``): the target is the entry point's name or its value
   (``module:attr``); installing a package is an act of trust of its own; or
2. its module is **a file or lies in a folder allowed explicitly**: ``--allow-code PATH``
   on the command line, :func:`allow_code` in Python, or the ``HASHFLEET_ALLOW_CODE``
   environment variable (paths separated by ``os.pathsep``; worker processes inherit it).

Nothing else is imported: not a module next to the scenario, not one in the current folder
(``python -m`` puts it on ``sys.path``), not an installed module that is not an entry point
(``subprocess:run`` would otherwise be a valid target).  :func:`target_problem` says
whether a target would be allowed without importing anything, which is what ``validate``
checks.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from hashfleet.errors import InputError

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_ALLOW_CODE",
    "allow_code",
    "allowed_code_paths",
    "load_target",
    "target_problem",
]

#: Entry-point group of installed custom policies (``[project.entry-points."hashfleet.policies"]``).
ENTRY_POINT_GROUP = "hashfleet.policies"
#: Environment variable: module files or folders whose code scenarios may run.
ENV_ALLOW_CODE = "HASHFLEET_ALLOW_CODE"

_TARGET = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
_HINT = (
    "custom Python code runs only from an installed entry point (group "
    f"'{ENTRY_POINT_GROUP}') or from a module file or folder given with --allow-code PATH "
    "(hashfleet.scenario.trust.allow_code in Python); see docs/security.md"
)


def allowed_code_paths(extra: Sequence[str | os.PathLike[str]] = ()) -> tuple[Path, ...]:
    """Module files and folders allowed to run: ``extra``, then :data:`ENV_ALLOW_CODE`.

    Returns
    -------
    tuple of Path
        Resolved paths.
    """
    env = [p for p in os.environ.get(ENV_ALLOW_CODE, "").split(os.pathsep) if p]
    out: list[Path] = []
    for p in [*extra, *env]:
        try:
            real = Path(os.path.expanduser(os.fspath(p))).resolve()
        except (OSError, RuntimeError, ValueError):
            continue
        if real not in out:
            out.append(real)
    return tuple(out)


@contextmanager
def allow_code(*paths: str | os.PathLike[str]) -> Iterator[None]:
    """Allow scenarios to run code from these module files or folders inside the block
    (the Python twin of ``--allow-code``; worker processes started inside inherit it).

    Examples
    --------
    >>> from hashfleet.scenario.trust import allow_code
    >>> with allow_code("my_policies.py"):          # doctest: +SKIP
    ...     res = hashfleet.simulate("received.yaml")
    """
    old = os.environ.get(ENV_ALLOW_CODE)
    given = [os.path.abspath(os.fspath(p)) for p in paths]
    os.environ[ENV_ALLOW_CODE] = os.pathsep.join([*([old] if old else []), *given])
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(ENV_ALLOW_CODE, None)
        else:
            os.environ[ENV_ALLOW_CODE] = old


def target_problem(target: str, allow: Sequence[str | os.PathLike[str]] = ()) -> str | None:
    """Why ``target`` would not be loaded, or None if it would; imports nothing.

    Parameters
    ----------
    target : str
        ``module:attr`` or the name of an entry point.
    allow : sequence of path-like
        Module files or folders allowed besides :data:`ENV_ALLOW_CODE`.

    Returns
    -------
    str or None
    """
    if _entry_point(target) is not None:
        return None
    if not _TARGET.fullmatch(target):
        return f"expected 'package.module:Name' or an installed entry point name, got {target!r}"
    module = target.partition(":")[0]
    if _module_root(module, allowed_code_paths(allow)) is None:
        return f"{target!r} is not allowed to run: {_HINT}"
    return None


def load_target(target: str, where: str, allow: Sequence[str | os.PathLike[str]] = ()) -> Any:
    """The object a target names, if it is allowed (see the module docstring).

    Parameters
    ----------
    target : str
        ``module:attr`` or the name of an entry point.
    where : str
        The scenario field, for messages (``policies.custom[0].target``).
    allow : sequence of path-like
        Module files or folders allowed besides :data:`ENV_ALLOW_CODE`.

    Returns
    -------
    Any
        The class or function.

    Raises
    ------
    InputError
        If the target is not allowed (nothing is imported then), or cannot be imported.
    """
    ep = _entry_point(target)
    if ep is not None:
        try:
            return ep.load()
        except Exception as exc:
            raise InputError(f"{where}: cannot load entry point {target!r} ({exc})") from None
    problem = target_problem(target, allow)
    if problem is not None:
        raise InputError(f"{where}: {problem}")
    module_name, _, attr = target.partition(":")
    root = _module_root(module_name, allowed_code_paths(allow))
    assert root is not None
    try:
        module = _import_from(module_name, root)
        return getattr(module, attr)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    except (ImportError, AttributeError) as exc:
        raise InputError(f"{where}: cannot import {target!r} ({exc})") from None


# --------------------------------------------------------------------------- private


def _entry_point(target: str) -> importlib.metadata.EntryPoint | None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if target in (ep.name, ep.value.replace(" ", "")):
            return ep
    return None


def _module_root(module: str, allowed: Sequence[Path]) -> Path | None:
    """The allowed file or folder holding ``module``, or None."""
    parts = module.split(".")
    for root in allowed:
        if root.is_file():
            if root.suffix == ".py" and len(parts) == 1 and root.stem == parts[0]:
                return root
        elif root.is_dir():
            top = root / parts[0]
            if (root / f"{parts[0]}.py").is_file() or (top / "__init__.py").is_file():
                return root
    return None


def _inside(file: str | None, root: Path) -> bool:
    if not file:
        return False
    real = Path(file).resolve()
    return real == root or root in real.parents


def _import_from(module_name: str, root: Path) -> Any:
    """Import ``module_name`` from the allowed file or folder ``root`` and check that the
    module imported is the one there (not a namesake earlier on ``sys.path``)."""
    folder = root.parent if root.is_file() else root
    loaded = sys.modules.get(module_name)
    if loaded is None:
        sys.path.insert(0, str(folder))
        try:
            loaded = importlib.import_module(module_name)
        finally:
            with suppress(ValueError):
                sys.path.remove(str(folder))
    if not _inside(getattr(loaded, "__file__", None), root):
        raise InputError(
            f"module {module_name!r} is already imported from outside the allowed {root}; "
            "rename your module"
        )
    return loaded
