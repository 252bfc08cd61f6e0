"""Reading results back, tables as CSV and Parquet, and the notebook views.

* :func:`load_results`: what :meth:`Results.save` wrote, as a :class:`Results`.
* :func:`write_tables`: ``per_path``, the daily quantiles (long: one row per day, variable
  and statistic) and the event log as CSV and Parquet (pyarrow, imported where used).
* :func:`save_comparison` / :func:`load_comparison`: a :class:`Comparison` as
  ``comparison.json`` plus the per-path metrics of every strategy (``per_path.parquet``
  with a CSV twin), and back.
* :class:`PlotAccessor` (``Results.plot``) and the short HTML views of Jupyter.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
import xarray as xr

from hashfleet.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from matplotlib.figure import Figure

    from hashfleet.results.base import ComparisonLike as Comparison
    from hashfleet.results.base import ResultsLike as Results

__all__ = [
    "PlotAccessor",
    "comparison_html",
    "load_comparison",
    "load_results",
    "results_html",
    "save_comparison",
    "write_comparison_files",
    "write_tables",
]


T = TypeVar("T")


def load_results(out_dir: Path, cls: Callable[..., T]) -> T:
    """Read a run saved by :meth:`Results.save`.

    Parameters
    ----------
    out_dir : pathlib.Path
        Holds ``summary.json``, ``daily.nc``, ``per_path.nc``, ``events.nc``,
        ``scenario.resolved.yaml`` and optionally ``paths.nc``.

    Returns
    -------
    Results
        Loaded into memory (the files are closed).

    Raises
    ------
    InputError
        A file is missing.
    """
    from hashfleet.results.folder import require_complete

    require_complete(out_dir, "run")
    need = ["summary.json", "daily.nc", "per_path.nc", "scenario.resolved.yaml"]
    missing = [n for n in need if not (out_dir / n).is_file()]
    if missing:
        raise InputError(f"{out_dir}: expected the files of Results.save, missing {missing}")

    def nc(name: str) -> xr.Dataset:
        with xr.open_dataset(out_dir / name) as ds:
            return ds.load()

    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    daily = nc("daily.nc")
    per_path = nc("per_path.nc")
    paths = nc("paths.nc") if (out_dir / "paths.nc").is_file() else None
    retargets = pd.DataFrame({"path": np.zeros(0, dtype=np.int32), "time_days": np.zeros(0)})
    halvings = retargets.copy()
    other: dict[str, pd.DataFrame] = {}
    if (out_dir / "events.nc").is_file():
        ev = nc("events.nc")
        retargets = _events(ev, "retarget", retargets)
        halvings = _events(ev, "halving", halvings)
        for name in ev.data_vars:  # the components' kinds: "<kind>__<column>"
            kind, sep, col = str(name).partition("__")
            if sep:
                other.setdefault(kind, pd.DataFrame())[col] = ev[name].to_numpy()
    for ds in (daily, per_path) + ((paths,) if paths is not None else ()):
        ds.attrs = {}
    meta = dict(summary.get("metadata", {}))
    summary.pop("decision", None)
    return cls(
        daily=daily,
        per_path=per_path,
        paths=paths,
        retargets=retargets,
        halvings=halvings,
        metadata=meta,
        resolved_scenario_yaml=(out_dir / "scenario.resolved.yaml").read_text(encoding="utf-8"),
        summary=summary,
        events=other,
    )


def write_tables(
    results: Results, out_dir: str | Path, formats: Sequence[str] = ("csv", "parquet")
) -> list[Path]:
    """Per-run tables: ``per_path``, ``daily`` (quantiles and means, long) and
    ``retargets``/``halvings``, each as CSV and/or Parquet.

    Parameters
    ----------
    results : Results
    out_dir : str or pathlib.Path
        Created if missing.
    formats : sequence of {"csv", "parquet"}

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = {
        "per_path": results.per_path.to_dataframe().reset_index(),
        "daily": daily_long(results.daily),
        "retargets": results.retargets,
        "halvings": results.halvings,
        **{f"events_{k}": v for k, v in results.events.items()},
    }
    _require_pyarrow()
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    written = []
    for name, df in frames.items():
        table = pa.Table.from_pandas(df, preserve_index=False)
        if "parquet" in formats:
            pq.write_table(table, out / f"{name}.parquet")
            written.append(out / f"{name}.parquet")
        if "csv" in formats:  # pyarrow's writer: ~10x pandas' on 10^5 float rows
            pa_csv.write_csv(table, out / f"{name}.csv")
            written.append(out / f"{name}.csv")
    return written


def daily_long(daily: xr.Dataset) -> pd.DataFrame:
    """The daily statistics as one long table.

    Returns
    -------
    pandas.DataFrame
        Columns ``day, date, variable, mean`` and one ``q<p>`` column per quantile.
    """
    qs = [float(q) for q in daily["quantile"].values]
    dates = daily["date"].values
    parts = []
    for v in daily.data_vars:
        if "quantile" not in daily[v].dims:
            continue
        part = {"day": daily["day"].values, "date": dates, "variable": str(v)}
        mean = f"{v}_mean"
        part["mean"] = daily[mean].values if mean in daily else np.nan
        vals = daily[v].transpose("quantile", "day").values
        for i, q in enumerate(qs):
            part[f"q{q:g}"] = vals[i]
        parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)


def save_comparison(cmp: Comparison, out_dir: str | Path) -> Path:
    """Write ``comparison.json`` and ``per_path.parquet``/``.csv`` (one row per strategy and
    path) into ``out_dir``; :func:`load_comparison` reads them back."""
    from hashfleet.results.folder import staged_folder

    out = Path(out_dir)
    with staged_folder(out, "comparison") as stage:
        write_comparison_files(cmp, stage)
    return out


def write_comparison_files(cmp: Comparison, out: Path) -> None:
    """Write the files of :func:`save_comparison` into an existing folder (no marker)."""
    long = pd.concat(
        [df.reset_index().assign(strategy=s) for s, df in cmp.per_path.items()],
        ignore_index=True,
    )
    _require_pyarrow()
    long.to_parquet(out / "per_path.parquet", index=False)
    long.to_csv(out / "per_path.csv", index=False)
    doc = json.loads(cmp.to_json())
    doc["strategies"] = cmp.strategies
    doc["metrics"] = cmp.metrics
    files = {}
    for k, s in enumerate(cmp.strategies):  # file names by position: any strategy name
        if s in cmp.daily:
            (out / "daily").mkdir(exist_ok=True)
            files[s] = f"daily/{k}.nc"
            cmp.daily[s].to_netcdf(out / files[s], engine="netcdf4")
    doc["daily_files"] = files
    (out / "comparison.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def load_comparison(out_dir: str | Path, cls: Callable[..., T]) -> T:
    """Read what :func:`save_comparison` wrote."""
    from hashfleet.results.folder import require_complete

    d = Path(out_dir)
    require_complete(d, "comparison")
    doc = json.loads((d / "comparison.json").read_text(encoding="utf-8"))
    if (d / "per_path.parquet").is_file():
        _require_pyarrow()
        long = pd.read_parquet(d / "per_path.parquet")
    else:
        long = pd.read_csv(d / "per_path.csv")
    per_path = {
        s: long[long["strategy"] == s].drop(columns="strategy").set_index("path")
        for s in doc["strategies"]
    }

    def frame(records: list[dict[str, Any]], index: list[str]) -> pd.DataFrame:
        return (
            pd.DataFrame(records)
            .astype({"metric": str})
            .set_index(index)
            .astype(float, errors="ignore")
        )

    summary = frame(doc["summary"], ["strategy", "metric"])
    paired = frame(doc["paired"], ["strategy", "metric"])
    daily = {}
    for s, name in doc.get("daily_files", {}).items():
        with xr.open_dataset(d / name, engine="netcdf4") as ds:
            daily[s] = ds.load()
    return cls(
        doc["strategies"], doc["metrics"], per_path, summary, paired, doc["metadata"], daily=daily
    )


class PlotAccessor:
    """``Results.plot``: matplotlib figures of a run (see :mod:`hashfleet.results.plots`)."""

    def __init__(self, results: Results) -> None:
        self._results = results

    def fan(self, variables: str | Sequence[str], **kwargs: Any) -> Figure:
        """Fan chart(s) of daily variable(s): median, P25–P75, P5–P95 across paths."""
        from hashfleet.results.plots import fan_figure

        return fan_figure(self._results.daily, variables, **kwargs)

    def events(self) -> Figure:
        """Retarget adjustments, halving dates and policy actions over time."""
        from hashfleet.results.plots import events_figure

        return events_figure(self._results)

    def distributions(self) -> Figure:
        """Per-path NPV, ending cash (and minimum cash) with VaR marked."""
        from hashfleet.results.decision import decision_frame
        from hashfleet.results.plots import distribution_figure

        return distribution_figure(decision_frame(self._results))


def results_html(results: Results) -> str:
    """A short HTML card of a run for Jupyter: facts and five decision figures."""
    from hashfleet.results.base import format_value
    from hashfleet.results.decision import decision_frame, summarize

    m = results.metadata
    try:
        table = summarize(decision_frame(results))
    except (KeyError, ValueError):  # a run without the metrics component
        table = pd.DataFrame()
    keys = [
        "P(cash < 0 at any time)",
        "P(cash < 0 at the end)",
        "P(NPV < 0)",
        "mean NPV",
        "mean ebitda_margin_pct",
    ]

    def row(k: str) -> str:
        r = table.loc[k]
        return (
            f"<tr><td>{html.escape(k)}</td><td>{format_value(r['estimate'], r['unit'])}</td>"
            f"<td>[{format_value(r['ci_low'], r['unit'])}, "
            f"{format_value(r['ci_high'], r['unit'])}]</td></tr>"
        )

    rows = "".join(row(k) for k in keys if k in table.index)
    return (
        f"<div><b>Results</b> {html.escape(str(m.get('scenario_name', '')))}: "
        f"{m.get('paths', '?'):,} paths × {m.get('horizon_days', '?'):,} days from "
        f"{html.escape(str(m.get('start', '')))}, seed {m.get('seed', '')}, "
        f"{len(results.daily.data_vars)} daily variables, paths "
        f"{'stored' if results.paths is not None else 'not stored'}"
        f"<table>{rows}</table><small>results.summary() for all; results.plot.fan('cash_usd')"
        "</small></div>"
    )


def comparison_html(cmp: Comparison) -> str:
    """A short HTML card of a comparison for Jupyter: paired mean differences."""
    from hashfleet.finance.valuation import METRICS
    from hashfleet.results.base import format_value

    rows = "".join(
        f"<tr><td>{html.escape(str(r['strategy']))}</td><td>{html.escape(str(r['metric']))}</td>"
        f"<td>{format_value(r['mean_diff'], _unit(METRICS, r['metric']))}</td>"
        f"<td>{r['p_beats']:.2f}</td></tr>"
        for r in cmp.paired.reset_index().to_dict("records")
    )
    meta = cmp.metadata
    return (
        f"<div><b>Comparison</b> {html.escape(str(meta.get('scenario', '')))}: "
        f"{len(cmp.strategies)} strategies, {meta.get('paths', 0):,} paths, reference "
        f"{html.escape(cmp.strategies[0])}<table><tr><th>strategy</th><th>metric</th>"
        f"<th>mean difference</th><th>P(beats)</th></tr>{rows}</table>"
        "<small>comparison.plot() for the paired distributions</small></div>"
    )


def _unit(metrics: dict[str, tuple[str, str, bool]], name: Any) -> str:
    return metrics[str(name)][0] if str(name) in metrics else ""


def _events(ev: xr.Dataset, kind: str, empty: pd.DataFrame) -> pd.DataFrame:
    cols = {
        str(k)[len(kind) + 1 :]: ev[k].values for k in ev.data_vars if str(k).startswith(kind + "_")
    }
    return pd.DataFrame(cols) if cols else empty


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputError("Parquet tables need pyarrow: pip install pyarrow") from None
