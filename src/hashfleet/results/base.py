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

__all__ = ["ComparisonLike", "ResultsLike", "format_value", "json_safe", "write_atomic"]

#: Why a statistic of ``summary.json`` is ``null``.
NULL_REASON = (
    "null: the value is not a number on at least one path (a metric that does not exist "
    "there, e.g. no IRR when the cash flows never change sign), so this statistic across all "
    "paths is undefined; the decision table gives it over the paths where it exists"
)


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
    daily: dict[str, Any]

    def to_json(self) -> str: ...


def json_safe(o: Any) -> Any:
    """``o`` with every NaN or infinity as ``None`` (standard JSON, ``allow_nan=False``), and
    beside each dict that lost a value a ``"null_reason"`` saying why.

    Parameters
    ----------
    o : dict, list, tuple, numpy array or scalar

    Returns
    -------
    Any
        Plain Python data.
    """
    import numpy as np

    if isinstance(o, np.ndarray):
        return json_safe(o.tolist())
    if isinstance(o, dict):
        out = {k: json_safe(v) for k, v in o.items()}
        if any(v is None and _nonfinite(o[k]) for k, v in out.items()):
            out["null_reason"] = NULL_REASON
        return out
    if isinstance(o, list | tuple):
        return [json_safe(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if _nonfinite(o):
        return None
    return o


def _nonfinite(v: Any) -> bool:
    import numpy as np

    return isinstance(v, float | np.floating) and not math.isfinite(float(v))


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
