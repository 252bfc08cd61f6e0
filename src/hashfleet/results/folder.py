"""Results folders that are complete from one run or untouched.

A run's (or a comparison's) files are written into a new hidden folder beside the target,
``.<name>.staging-<pid>-<hex>``; the last file written there is the completion marker
:data:`MARKER` (JSON: kind, hashfleet version, the files and their sizes).  The staging folder
then replaces the target in one step: ``renameat2(RENAME_EXCHANGE)`` swaps the two atomically
on Linux (the old folder is then deleted); elsewhere the old folder is renamed aside first and
deleted after.  An interruption (SIGINT, SIGTERM, an exception, a full disk) before the swap
deletes the staging folder and leaves the target as it was; a ``kill -9`` leaves a staging
folder whose process is gone, which the next save into the same target removes.

Every reader (:meth:`hashfleet.results.Results.load`, ``hashfleet report``, a comparison's
load) calls :func:`require_complete`, so a folder without its marker is refused with a clear
message instead of being read half.

A target that exists must be empty or a hashfleet results folder (only names hashfleet
writes): ``--out .`` in a folder of one's own files is refused rather than replaced.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hashfleet.errors import InputError, OutputError

__all__ = ["MARKER", "OWN_NAMES", "require_complete", "staged_folder", "writing"]

#: The completion marker, written last into a results folder.
MARKER = "hashfleet-complete.json"

#: Names hashfleet writes into a results folder (a target holding anything else is refused).
OWN_NAMES = frozenset(
    {
        MARKER,
        "summary.json",
        "daily.nc",
        "per_path.nc",
        "events.nc",
        "paths.nc",
        "scenario.resolved.yaml",
        "tables",
        "figures",
        "report.html",
        "blocks",
        "comparison.json",
        "per_path.parquet",
        "per_path.csv",
    }
)

_STAGING = ".staging-"
_ASIDE = ".replaced-"


@contextmanager
def staged_folder(target: str | Path, kind: str, keep: Sequence[str] = ()) -> Iterator[Path]:
    """Yield a new empty folder beside ``target``; on success it replaces ``target``.

    Parameters
    ----------
    target : str or pathlib.Path
        The results folder to write.  It may not exist yet; if it does, it must be empty
        or hold only :data:`OWN_NAMES` (and stale staging folders of dead processes).
    kind : str
        ``"run"`` or ``"comparison"``, recorded in the marker.
    keep : sequence of str
        Entries of the old folder moved into the new one before the swap (``"blocks"``:
        the block store of the run being saved, which ``--resume`` reuses).

    Raises
    ------
    InputError
        ``target`` is a file, or a folder holding files hashfleet did not write.
    OutputError
        Writing failed (e.g. the disk is full); ``target`` is untouched.
    """
    out = Path(target)
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(out)
    stage = out.parent / f".{out.name}{_STAGING}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    stage.mkdir()
    try:
        with writing(out):
            yield stage
            for name in keep:
                if (out / name).exists() and not (stage / name).exists():
                    os.replace(out / name, stage / name)
            _write_marker(stage, kind)
            _swap(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def require_complete(folder: str | Path, kind: str | None = None) -> dict[str, Any]:
    """Check that ``folder`` is a complete results folder; return its marker.

    Raises
    ------
    InputError
        No folder, no marker (an interrupted save, or not a hashfleet results folder), or
        a file the marker lists is missing or has another size.
    """
    d = Path(folder)
    if not d.is_dir():
        raise InputError(f"{d}: expected a results folder, got no such folder")
    marker = d / MARKER
    try:
        doc = json.loads(marker.read_text(encoding="utf-8"))
        files = dict(doc["files"])
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(
            f"{d}: expected a complete hashfleet results folder (with {MARKER}, written "
            "last by every save), got none: the save was interrupted, or the folder was not "
            "written by this version of hashfleet; run again to write it"
        ) from None
    if kind is not None and doc.get("kind") != kind:
        raise InputError(f"{d}: expected the results of a {kind}, got a {doc.get('kind')}")
    for name, size in files.items():
        p = d / name
        if not p.is_file() or p.stat().st_size != size:
            raise InputError(
                f"{d}: {name}: expected {size} bytes as saved, got "
                f"{p.stat().st_size if p.is_file() else 'no file'}: the folder was changed "
                "after it was saved; run again to rewrite it"
            )
    return doc


@contextmanager
def writing(target: Path) -> Iterator[None]:
    """Turn write failures into :class:`OutputError` (disk full, permissions, HDF errors)."""
    try:
        yield
    except OSError as exc:
        raise OutputError(_describe(target, exc)) from None
    except RuntimeError as exc:
        # netCDF4 reports a failed write (a full disk among others) as "NetCDF: HDF error"
        if "NetCDF" not in str(exc) and "HDF" not in str(exc):
            raise
        raise OutputError(_describe(target, exc)) from None


def _describe(target: Path, exc: BaseException) -> str:
    where = target.parent if target.parent.exists() else Path(".")
    try:
        free = f"{shutil.disk_usage(where).free / 2**20:,.0f} MiB free"
    except OSError:
        free = "free space unknown"
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or (code is None and free.startswith("0 ")):
        why = "no space left on the device"
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = f"not allowed ({os.strerror(code)})"
    elif code is not None:
        why = os.strerror(code)
    else:
        why = "the netCDF writer failed (a full disk or a failing file system)"
    return (
        f"{target}: cannot write the results: {why} ({free} on {where.resolve()}); "
        f"earlier results in {target} are untouched"
    )


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: expected a folder for the results, got a file")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in OWN_NAMES)
        if foreign:
            shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
            raise InputError(
                f"{out}: expected a new, empty or hashfleet results folder (it is replaced "
                f"as a whole), got other files: {shown}; choose another --out"
            )


def _remove_stale(out: Path) -> None:
    """Delete staging/aside folders of ``out`` left by processes that no longer run."""
    prefix = f".{out.name}."
    for p in out.parent.iterdir():
        if not p.name.startswith(prefix):
            continue
        rest = p.name[len(out.name) + 1 :]
        for tag in (_STAGING, _ASIDE):
            if rest.startswith(tag):
                pid = rest[len(tag) :].split("-", 1)[0]
                if pid.isdigit() and not _alive(int(pid)):
                    shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_marker(stage: Path, kind: str) -> None:
    from hashfleet.version import __version__

    # the data files (a later ``hashfleet report`` may rewrite report.html and figures/)
    files = {
        p.name: p.stat().st_size
        for p in sorted(stage.iterdir())
        if p.is_file() and p.name != "report.html"
    }
    doc = {"kind": kind, "hashfleet_version": __version__, "files": files}
    tmp = stage / f"{MARKER}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(doc, indent=1) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, stage / MARKER)


def _swap(stage: Path, out: Path) -> None:
    """Put ``stage`` at ``out``; the old ``out`` (if any) ends up at ``stage`` to be deleted."""
    if not out.exists():
        os.replace(stage, out)
        return
    exchange = _renameat2()
    if exchange is not None and exchange(stage, out):
        return
    aside = out.parent / f".{out.name}{_ASIDE}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    os.replace(out, aside)
    os.replace(stage, out)
    shutil.rmtree(aside, ignore_errors=True)


@functools.cache
def _renameat2() -> Callable[[Path, Path], bool] | None:
    """Atomic exchange of two paths (Linux ``renameat2(RENAME_EXCHANGE)``), if available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    at_fdcwd, rename_exchange = -100, 2

    def exchange(a: Path, b: Path) -> bool:
        rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
        return bool(rc == 0)

    return exchange
