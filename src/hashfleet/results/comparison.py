"""A comparison of strategies under common random numbers: per-path tables, the summary and
the paired differences (made by :func:`hashfleet.studies.compare.compare`; read back with
:meth:`Comparison.load`)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hashfleet.finance.valuation import METRICS

__all__ = ["Comparison"]


@dataclass
class Comparison:
    """What :func:`compare` returns.

    Attributes
    ----------
    strategies : list of str
        Names; the first is the reference.
    metrics : list of str
    per_path : dict of str -> pandas.DataFrame
        Per strategy, the per-path metrics (index ``path``).
    summary : pandas.DataFrame
        Per strategy and metric: ``mean, se, q05, q50, q95`` over the paths where the
        metric exists (``n`` of them; ``n_missing``: paths where it does not, e.g. no IRR).
    paired : pandas.DataFrame
        Per strategy (≠ reference) and metric: ``mean_diff, se_diff, ci_low, ci_high,
        q05_diff, q50_diff, q95_diff, p_beats, p_low, p_high, n, n_missing`` over the
        paths where both strategies have the metric.
    metadata : dict
        Seed, paths, confidence, whether draws were independent.
    daily : dict of str -> xarray.Dataset
        Per strategy, :attr:`Results.daily` (the quantiles across paths per day): the
        per-strategy fan charts.  Empty for comparisons saved before it existed.
    """

    strategies: list[str]
    metrics: list[str]
    per_path: dict[str, pd.DataFrame]
    summary: pd.DataFrame
    paired: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    daily: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, out_dir: str | Path) -> Comparison:
        """Read a comparison saved by ``hashfleet compare`` (``comparison.json`` and the
        per-path table)."""
        from hashfleet.results.tables import load_comparison

        return load_comparison(out_dir, cls)

    def to_text(self) -> str:
        """A readable table: per strategy means, then paired differences vs the reference."""
        m = self.metadata
        ref = self.strategies[0]
        summary: dict[Any, dict[Any, Any]] = self.summary.to_dict("index")
        paired: dict[Any, dict[Any, Any]] = self.paired.to_dict("index")
        draws = "independent draws" if m["independent"] else "common random numbers"
        lines = [
            f"{m['scenario']}: {len(self.strategies)} strategies, {m['paths']:,} paths, "
            f"seed {m['seed']}, {draws}, "
            f"{m['confidence']:.0%} intervals",
            "",
            "Per strategy (mean [5%, 95%] across paths)",
        ]
        w = max(len(s) for s in self.strategies) + 2
        for metric in self.metrics:
            unit = METRICS[metric][0]
            lines.append(f"  {metric} ({unit})")
            for s in self.strategies:
                r = summary[(s, metric)]
                lines.append(f"    {s:<{w}} {_summary_cell(metric, r)}")
        lines += ["", f"Paired per path vs {ref!r}: mean difference [CI], P(beats {ref}) [CI]"]
        for s in self.strategies[1:]:
            lines.append(f"  {s}")
            for metric in self.metrics:
                r = paired[(s, metric)]
                n, gone = _counts(r)
                if not n:
                    lines.append(f"    {metric:<38} {_missing(metric, 1.0)} (on either side)")
                    continue
                lines.append(
                    f"    {metric:<38} {_num(r['mean_diff']):>14} "
                    f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]   "
                    f"P={r['p_beats']:.2f} [{r['p_low']:.2f}, {r['p_high']:.2f}]"
                    + (f"   over the {n:,} paths where both have one" if gone else "")
                )
        return "\n".join(lines)

    def plot(self, metrics: Sequence[str] | None = None) -> Any:
        """Paired-difference histograms per metric (:mod:`hashfleet.results.plots`)."""
        from hashfleet.results.comparison_plots import comparison_figure

        return comparison_figure(self, metrics)

    def __repr__(self) -> str:
        return (
            f"<Comparison {self.metadata.get('scenario', '')}: {self.strategies}, "
            f"{self.metadata.get('paths', '?')} paths, metrics {self.metrics}>"
        )

    def _repr_html_(self) -> str:
        from hashfleet.results.tables import comparison_html

        return comparison_html(self)

    def to_frame(self) -> pd.DataFrame:
        """The paired table with the per-strategy means of both sides, flat (for CSV)."""
        df = self.paired.reset_index()
        ref = self.strategies[0]
        df.insert(1, "reference", ref)
        df["mean_reference"] = [self.summary.loc[(ref, m), "mean"] for m in df["metric"]]
        df["mean_strategy"] = [
            self.summary.loc[(s, m), "mean"]
            for s, m in zip(df["strategy"], df["metric"], strict=True)
        ]
        return df

    def to_csv(self, path: str | Path) -> None:
        """Write :meth:`to_frame` as CSV (atomically: the file is complete or untouched)."""
        from hashfleet.results.base import write_atomic
        from hashfleet.results.folder import writing

        target = Path(path)
        with writing(target), write_atomic(target) as tmp:
            self.to_frame().to_csv(tmp, index=False)

    def to_json(self) -> str:
        """Metadata, per-strategy summary and paired table as JSON."""
        doc = {
            "metadata": self.metadata,
            "summary": _records(self.summary.reset_index()),
            "paired": _records(self.paired.reset_index()),
        }
        return json.dumps(doc, indent=2) + "\n"


def _counts(r: dict[Any, Any]) -> tuple[int, int]:
    """(paths with the value, paths without) of a summary or paired row (older saved
    comparisons have neither column: every path counted)."""
    gone = r.get("n_missing")
    gone = 0 if gone is None or not math.isfinite(float(gone)) else int(gone)
    n = r.get("n")
    n = -1 if n is None or not math.isfinite(float(n)) else int(n)
    return n, gone


def _missing(metric: str, share: float) -> str:
    what = "IRR" if metric.startswith("irr") else "value"
    return f"no {what} on {100.0 * share:.0f} % of paths"


def _summary_cell(metric: str, r: dict[Any, Any]) -> str:
    """``mean [q05, q95]`` over the paths with a value, and how many have none: a metric
    that does not exist on a path (no IRR) is never averaged in, nor shown as ``nan``."""
    n, gone = _counts(r)
    if n == 0:
        return f"{'—':>14}  {_missing(metric, 1.0)}"
    cell = f"{_num(r['mean']):>14}  [{_num(r['q05'])}, {_num(r['q95'])}]"
    if gone:
        cell += f"  ({_missing(metric, gone / (n + gone))}; mean over the others)"
    return cell


def _num(x: float) -> str:
    """Compact number: 1.23e9 -> '1,230.0m'; small values with 2 decimals."""
    if not math.isfinite(x):
        return "—"
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.1f}m"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.3f}"


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for rec in df.to_dict(orient="records"):
        out.append(
            {
                str(k): (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in rec.items()
            }
        )
    return out
