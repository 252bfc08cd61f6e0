"""What the modules of :mod:`hashfleet.results` share at the bottom of the package: the shapes
of a run's and a comparison's results (protocols, so the helpers need not import the classes
that call them), atomic file writes and the number format of reports and tables."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import xarray as xr

__all__ = ["ComparisonLike", "ResultsLike", "format_value", "write_atomic"]


class ResultsLike(Protocol):
    """A run's results (:class:`hashfleet.results.Results`)."""

    daily: xr.Dataset
    per_path: xr.Dataset
    paths: xr.Dataset | None
    retargets: pd.DataFrame
    halvings: pd.DataFrame
    metadata: dict[str, Any]
    resolved_scenario_yaml: str
    summary: Any
    events: dict[str, pd.DataFrame]


class ComparisonLike(Protocol):
    """A comparison of strategies (:class:`hashfleet.results.comparison.Comparison`)."""

    strategies: list[str]
    metrics: list[str]
    per_path: dict[str, pd.DataFrame]
    summary: pd.DataFrame
    paired: pd.DataFrame
    metadata: dict[str, Any]

    def to_json(self) -> str: ...


@contextmanager
def write_atomic(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def format_value(x: Any, unit: Any) -> str:
    """A number for people: shares as %, USD in m/k, days as whole days.

    Parameters
    ----------
    x : float-like
        The value (None or NaN: "–").
    unit : str-like
        ``share``, ``%``, ``day``, ``1/year``, ``USD…`` or any other unit (shown after).
    """
    if x is None or not math.isfinite(float(x)):
        return "–"
    x, unit = float(x), str(unit)
    if unit == "share":
        return f"{100 * x:.1f} %"
    if unit == "%":
        return f"{x:.1f} %"
    if unit == "day":
        return f"{x:,.0f} d"
    if unit == "1/year":
        return f"{100 * x:.1f} %/yr"
    if unit.startswith("USD"):
        rest = unit[3:]
        if abs(x) >= 1e6:
            return f"{x / 1e6:,.1f} m USD{rest}"
        return f"{x:,.0f} USD{rest}" if abs(x) >= 100 else f"{x:,.2f} USD{rest}"
    return f"{x:,.4g} {unit}"


# ----------------------------------------------------------------------------- pieces
