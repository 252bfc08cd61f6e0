"""Results from a run's recorder and event columns: one assembly for every execution mode."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hashfleet.results import Results
from hashfleet.scenario.schema import Scenario

__all__ = ["assemble_results", "merge_all_events", "merge_events"]


def assemble_results(
    scenario: Scenario,
    n_days: int,
    rec: Any,
    retargets: pd.DataFrame,
    halvings: pd.DataFrame,
    variables: Mapping[str, tuple[str, str]],
    meta: dict[str, Any],
    resolved_yaml: str,
    events: Mapping[str, pd.DataFrame] | None = None,
) -> Results:
    n = rec.n_paths
    other = {k: v for k, v in (events or {}).items() if k not in ("retargets", "halvings")}
    start = np.datetime64(scenario.run.start.isoformat(), "D")
    coords = {
        "day": np.arange(n_days),
        "date": ("day", start + np.arange(n_days)),
        "quantile": rec.quantiles,
    }
    data: dict[str, Any] = {}
    for i, v in enumerate(rec.variables):
        unit, desc = variables[v]
        attrs = {"units": unit, "description": desc}
        data[f"{v}_mean"] = ("day", rec.mean[i], attrs | {"statistic": "mean across paths"})
        data[v] = (("quantile", "day"), rec.quantile[i], attrs | {"statistic": "quantiles"})
    daily = xr.Dataset(data, coords=coords)
    daily["hashprice_usd_per_th_day_mean"] = daily["hashprice_usd_per_ph_day_mean"] / 1000.0
    daily["hashprice_usd_per_th_day"] = daily["hashprice_usd_per_ph_day"] / 1000.0

    per: dict[str, Any] = {f"total_{k}": ("path", v[:n]) for k, v in rec.totals.items()}
    per |= {f"final_{k}": ("path", v) for k, v in rec.last.items()}
    per["retargets"] = ("path", np.bincount(retargets["path"], minlength=n)[:n])
    per["halvings"] = ("path", np.bincount(halvings["path"], minlength=n)[:n])
    per_path = xr.Dataset(per, coords={"path": np.arange(n)})

    paths_ds = None
    if rec.paths is not None:
        paths_ds = xr.Dataset(
            {v: (("path", "day"), rec.paths[i]) for i, v in enumerate(rec.variables)},
            coords={"path": np.arange(n), "day": np.arange(n_days), "date": coords["date"]},
        )
    summary = {
        "metadata": meta,
        "per_path": {
            k: _describe(per_path[k].to_numpy(), rec.quantiles) for k in per_path.data_vars
        },
        "events": {"retargets": len(retargets), "halvings": len(halvings)}
        | {k: len(v) for k, v in other.items()},
    }
    return Results(
        daily, per_path, paths_ds, retargets, halvings, meta, resolved_yaml, summary, other
    )


def merge_all_events(
    parts: Sequence[dict[str, dict[str, np.ndarray]]], n_paths: int
) -> dict[str, pd.DataFrame]:
    """Every event kind of consecutive chunks (each ``kind -> columns``), merged and sorted
    by path and time (:func:`merge_events`); ``retargets`` and ``halvings`` always present.

    Each kind is popped from ``parts`` as it is merged, so a chunk's columns are freed as
    they are concatenated (a 10,000-path decade holds millions of retargets: keeping the
    chunks' copies alive until the end cost ~90 MB of peak memory)."""
    kinds = ["retargets", "halvings"]
    for part in parts:
        kinds += [k for k in part if k not in kinds]
    return {k: merge_events([p.pop(k, {}) for p in parts], n_paths) for k in kinds}


def merge_events(cols: list[dict[str, np.ndarray]], n_paths: int) -> pd.DataFrame:
    """Event columns of consecutive chunks, merged, sorted by path and time (stable)."""
    cols = [c for c in cols if c]
    if not cols:
        return pd.DataFrame({"path": np.zeros(0, dtype=np.int32), "time_days": np.zeros(0)})
    merged = cols[0] if len(cols) == 1 else {}
    for k in list(cols[0]) if len(cols) > 1 else []:
        merged[k] = np.concatenate([c.pop(k) for c in cols])
    keep = np.flatnonzero(merged["path"] < n_paths)
    order = keep[np.lexsort((merged["time_days"][keep], merged["path"][keep]))]
    for k in list(merged):
        merged[k] = merged.pop(k)[order]
    return pd.DataFrame(merged, copy=False)


def _describe(x: np.ndarray, quantiles: np.ndarray) -> dict[str, float]:
    out = {"mean": float(np.mean(x)), "std": float(np.std(x, ddof=1)) if x.size > 1 else 0.0}
    for q, v in zip(quantiles, np.quantile(x, quantiles), strict=True):
        out[f"q{q:g}"] = float(v)
    return out
