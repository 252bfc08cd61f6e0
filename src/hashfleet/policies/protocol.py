"""The policy protocol: what a built-in or user policy implements."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine

__all__ = ["Policy"]


@runtime_checkable
class Policy(Protocol):
    """A decision rule run on its schedule (see :mod:`hashfleet.policies`)."""

    def schedule(self, n_days: int) -> Iterable[int]:
        """Days (0 ≤ day < n_days) on which :meth:`review` runs."""
        ...

    def review(self, engine: ChunkEngine, day: int) -> None:
        """Act on every path of ``engine`` at once (masks, arrays of shape (n_paths,))."""
        ...
