"""The chunk's event book: per-path events that components log (a margin call, a tenant
default, a covenant breach ...), kept by kind as columnar batches and collected by the runner
into ``Results.events`` at the end of a run.

Every batch of a kind has the same numeric columns, ``path`` (global path index) and
``time_days`` (days since the scenario start) among them; anything else a component wants to
say is a number too (an instrument's or a project's index, an amount), so the book can be
written to netCDF and to the block files without pickling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["EventBook"]


class EventBook:
    """Events of one chunk engine, by kind (see the module docstring)."""

    def __init__(self) -> None:
        self._parts: dict[str, list[dict[str, NDArray[Any]]]] = {}

    def log(self, kind: str, columns: Mapping[str, ArrayLike]) -> None:
        """Add a batch of events of ``kind``: equal-length numeric columns, ``path`` and
        ``time_days`` included.

        Raises
        ------
        ValueError
            If the kind is not an identifier, a column is missing, lengths differ, or a
            column is not numeric.
        """
        if not kind.isidentifier():
            raise ValueError(f"event kind: expected an identifier, got {kind!r}")
        cols = {k: np.asarray(v) for k, v in columns.items()}
        missing = {"path", "time_days"} - set(cols)
        if missing:
            raise ValueError(
                f"event {kind}: expected columns path and time_days, missing {missing}"
            )
        sizes = {v.shape for v in cols.values()}
        if len(sizes) != 1 or len(next(iter(sizes))) != 1:
            raise ValueError(f"event {kind}: expected 1-d columns of one length, got {sizes}")
        bad = [k for k, v in cols.items() if v.dtype.kind not in "biuf"]
        if bad:
            raise ValueError(f"event {kind}: expected numeric columns, got {bad} non-numeric")
        parts = self._parts.setdefault(kind, [])
        if parts and set(parts[0]) != set(cols):
            raise ValueError(
                f"event {kind}: expected the columns {sorted(parts[0])}, got {sorted(cols)}"
            )
        if next(iter(cols.values())).size:
            parts.append(cols)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds logged so far (in the order first logged)."""
        return tuple(self._parts)

    def columns(self, kind: str, *, release: bool = False) -> dict[str, NDArray[Any]]:
        """One kind's batches concatenated (``{}`` if none); ``release`` drops them."""
        parts = self._parts.get(kind, [])
        if not parts:
            return {}
        out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        if release:
            parts.clear()
        return out
