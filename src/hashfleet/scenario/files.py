"""Files a scenario names: where they may be, and how they are read.

A scenario is data a user may have received from someone else, so the files it names
(``extends:``, ``fleet.catalogue``, the ``path`` of a CSV price or hashrate model) are
treated as requests, not orders:

* **Where.**  A relative name is resolved against the folder of the file that wrote it; the
  result (symlinks followed) must lie inside the folder of the scenario file that was loaded,
  or inside a folder (or be a file) allowed explicitly: ``allow_paths=`` of
  :func:`~hashfleet.scenario.load_scenario`, ``--allow-path DIR`` on the command line, or
  the ``HASHFLEET_ALLOW_PATH`` environment variable (folders separated by ``os.pathsep``).
  ``builtin:NAME`` names shipped data and is always allowed.  Values given by the user
  directly (``--set``, ``overrides=``) are resolved against the current folder and trusted.
* **What.**  Only regular files are read: :func:`read_text` checks ``os.stat`` before
  opening (a device such as ``/dev/zero``, a FIFO, a socket or a folder is refused at
  once), opens without blocking, checks again on the open file, and reads at most a size
  cap, within a time limit.
* **What is said.**  An error names the file and the problem, never the file's content.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from hashfleet.errors import DataError

__all__ = [
    "ENV_ALLOW_PATH",
    "MAX_CSV_BYTES",
    "MAX_YAML_BYTES",
    "READ_TIMEOUT_S",
    "allowed_roots",
    "file_stamp",
    "is_allowed",
    "read_bytes",
    "read_text",
]

#: Environment variable: folders (``os.pathsep``-separated) a scenario may name files in.
ENV_ALLOW_PATH = "HASHFLEET_ALLOW_PATH"
#: Largest scenario YAML file read (bytes).
MAX_YAML_BYTES = 4 * 2**20
#: Largest CSV file (catalogue, price or hashrate series) read (bytes).
MAX_CSV_BYTES = 256 * 2**20
#: Longest a single file read may take (seconds).
READ_TIMEOUT_S = 30.0

_CHUNK = 1 << 20


def allowed_roots(
    folder: str | os.PathLike[str] | None, extra: Iterable[str | os.PathLike[str]] = ()
) -> tuple[Path, ...]:
    """The folders (or single files) a scenario loaded from ``folder`` may name.

    Parameters
    ----------
    folder : path-like or None
        The folder of the scenario file loaded (or the ``base_dir`` of a text).
    extra : iterable of path-like
        Further folders or files allowed explicitly (``--allow-path``).

    Returns
    -------
    tuple of Path
        Resolved (symlinks followed): ``folder``, then ``extra``, then the folders of
        :data:`ENV_ALLOW_PATH`.
    """
    env = [p for p in os.environ.get(ENV_ALLOW_PATH, "").split(os.pathsep) if p]
    out: list[Path] = []
    for p in [*([folder] if folder is not None else []), *extra, *env]:
        try:
            real = Path(os.path.expanduser(os.fspath(p))).resolve()
        except (OSError, RuntimeError, ValueError):
            continue
        if real not in out:
            out.append(real)
    return tuple(out)


def is_allowed(path: str | os.PathLike[str], roots: Sequence[Path]) -> bool:
    """Whether ``path`` (resolved, symlinks followed) is one of ``roots`` or inside one.

    Parameters
    ----------
    path : path-like
    roots : sequence of Path
        As returned by :func:`allowed_roots`.

    Returns
    -------
    bool
    """
    try:
        real = Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    return any(real == r or r in real.parents for r in roots)


def read_bytes(path: str | os.PathLike[str], *, what: str, max_bytes: int) -> bytes:
    """Read a regular file of at most ``max_bytes`` bytes.

    Parameters
    ----------
    path : path-like
        The file (absolute).
    what : str
        What the file is, for messages (``"scenario file"``, ``"catalogue"``).
    max_bytes : int
        Size cap.

    Returns
    -------
    bytes

    Raises
    ------
    DataError
        If the file does not exist, is not a regular file (folder, device, FIFO,
        socket), is larger than ``max_bytes``, or cannot be read within
        :data:`READ_TIMEOUT_S`.  The message names the file and the problem only.
    """
    name = os.fspath(path)
    _stat_regular(name, what, max_bytes)
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise DataError(f"{what} {name}: cannot open it ({e.strerror})") from None
    try:
        _check_regular(os.fstat(fd), name, what, max_bytes)  # the file opened is the one checked
        deadline = time.monotonic() + READ_TIMEOUT_S
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise DataError(f"{what} {name}: larger than the {_size(max_bytes)} allowed")
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise DataError(f"{what} {name}: not read within {READ_TIMEOUT_S:g} s")
        return b"".join(chunks)
    except OSError as e:
        raise DataError(f"{what} {name}: cannot read it ({e.strerror})") from None
    finally:
        os.close(fd)


def file_stamp(
    path: str | os.PathLike[str], *, what: str, max_bytes: int = MAX_CSV_BYTES
) -> tuple[int, int]:
    """``(mtime_ns, size)`` of a regular file, for caches keyed on its version.

    Raises
    ------
    DataError
        As :func:`read_bytes`, before anything is opened.
    """
    st = _stat_regular(os.fspath(path), what, max_bytes)
    return st.st_mtime_ns, st.st_size


def _stat_regular(name: str, what: str, max_bytes: int) -> os.stat_result:
    """``os.stat`` of ``name`` (no NUL, exists, a regular file of at most ``max_bytes``)."""
    if "\x00" in name:
        raise DataError(f"{what} {name!r}: a file name cannot contain a NUL character")
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise DataError(f"{what} {name}: file not found") from None
    except OSError as e:
        raise DataError(f"{what} {name}: cannot read it ({e.strerror})") from None
    _check_regular(st, name, what, max_bytes)
    return st


def read_text(path: str | os.PathLike[str], *, what: str, max_bytes: int = MAX_CSV_BYTES) -> str:
    """Read a regular UTF-8 text file (a leading byte-order mark is dropped).

    As :func:`read_bytes`; a file that is not UTF-8 is a :class:`DataError` naming the
    byte offset, not the bytes.
    """
    raw = read_bytes(path, what=what, max_bytes=max_bytes)
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise DataError(
            f"{what} {os.fspath(path)}: not UTF-8 text (undecodable byte at offset {e.start}); "
            "save it as UTF-8"
        ) from None


def _check_regular(st: os.stat_result, name: str, what: str, max_bytes: int) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{what} {name}: expected a file, got a folder")
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "not a regular file"
        )
        raise DataError(f"{what} {name}: expected a regular file, got {kind}")
    if st.st_size > max_bytes:
        raise DataError(
            f"{what} {name}: {_size(st.st_size)}, larger than the {_size(max_bytes)} allowed"
        )


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n:,} bytes"
