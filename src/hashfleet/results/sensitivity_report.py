"""The report of a sensitivity study (``hashfleet sensitivity``): tornado charts, Sobol
indices with their confidence intervals, and the weighted cases with their mixture.

Same form as every report (:mod:`hashfleet.results.report`): one self-contained
``report.html``, each chart also under ``figures/``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["write_sensitivity_report"]


def write_sensitivity_report(result: Any, out_dir: str | Path, *, svg: bool = False) -> Path:
    """Write ``report.html`` of a :class:`~hashfleet.studies.sensitivity.SensitivityResult`.

    Returns
    -------
    pathlib.Path
        ``out_dir/report.html``.
    """
    from hashfleet.results.report import _chart, _header, _write
    from hashfleet.results.study_report import _frame_html

    out = Path(out_dir)
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    m = result.metadata
    title = f"hashfleet sensitivity: {result.scenario}"
    body = [
        _header(
            title,
            "Every run on the same seed (common random numbers). Tornado: one factor at a "
            "time at its low and high value, the others at base. Sobol: inputs uniform on "
            "[low, high], Saltelli design, first-order (Saltelli 2010) and total (Jansen "
            "1999) indices with bootstrap intervals.",
            {
                "metrics": ", ".join(result.metrics),
                "factors": ", ".join(f"{f.field} {f.low:g}..{f.high:g}" for f in result.factors),
                "paths per run": m.get("paths", ""),
                "seed": m.get("seed", ""),
                "runs": m.get("runs", ""),
                "wall time": f"{m['wall_time_s']:.1f} s" if "wall_time_s" in m else "",
            },
        )
    ]
    for metric, df in result.tornado.items():
        body += [
            f"<h2>Tornado: {html.escape(metric)}</h2>",
            _chart(
                tornado_figure(df, metric),
                figs / f"tornado_{metric}",
                f"Tornado of {metric}: change from base at each factor's low and high",
                svg,
            ),
            _frame_html(df),
        ]
    for metric, df in result.sobol.items():
        body += [
            f"<h2>Sobol indices: {html.escape(metric)}</h2>",
            _chart(
                sobol_figure(df, metric),
                figs / f"sobol_{metric}",
                f"Sobol indices of {metric} with 95 % bootstrap intervals",
                svg,
            ),
            _frame_html(df),
            f"<p class='note'>{df.attrs.get('evaluations', '')} evaluations; variance of the "
            f"metric's mean across the design {df.attrs.get('variance', float('nan')):.4g}.</p>",
        ]
    if result.cases is not None:
        body += ["<h2>Weighted cases and their mixture</h2>"]
        for metric in result.metrics:
            body.append(
                _chart(
                    cases_figure(result.case_values, result.case_weights, metric),
                    figs / f"cases_{metric}",
                    f"{metric}: each case and the probability-weighted mixture",
                    svg,
                )
            )
        body.append(_frame_html(result.cases))
    return _write(out / "report.html", title, body, 0.0)


def tornado_figure(df: pd.DataFrame, metric: str) -> Figure:
    """Horizontal bars per factor (largest swing on top): the metric's change from base at
    the factor's low (grey) and high (blue) value, with the swing's interval as text."""
    from hashfleet.results.plots import _BLUE, _grid, _style

    fig, axes = _grid(9.0, max(2.2, 0.45 * len(df) + 1.0), 1, 1)
    ax = axes[0, 0]
    base = float(df.attrs.get("base", 0.0))
    scale, unit = _scale(metric, df[["at_low", "at_high"]].to_numpy())
    y = np.arange(len(df))
    lo = (df["at_low"].to_numpy() - base) * scale
    hi = (df["at_high"].to_numpy() - base) * scale
    ax.barh(y, lo, color="0.65", label="at low")
    ax.barh(y, hi, color=_BLUE, alpha=0.85, label="at high")
    labels = [
        f"{f}\n{a:g} .. {b:g}" for f, a, b in zip(df["factor"], df["low"], df["high"], strict=True)
    ]
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="0.2", lw=0.8)
    ax.set_xlabel(
        f"change of mean {metric} from its base value {base * scale:,.4g}"
        + (f" ({unit})" if unit else "")
    )
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    _style(ax)
    return fig


def sobol_figure(df: pd.DataFrame, metric: str) -> Figure:
    """First-order and total indices per factor with their bootstrap intervals."""
    from hashfleet.results.plots import _BLUE, _ORANGE, _grid, _style

    fig, axes = _grid(9.0, 3.0, 1, 1)
    ax = axes[0, 0]
    x = np.arange(len(df))
    for off, (key, color, label) in zip(
        (-0.18, 0.18), (("S1", _BLUE, "first order S1"), ("ST", _ORANGE, "total ST")), strict=True
    ):
        v = df[key].to_numpy()
        err = np.vstack([v - df[f"{key}_low"].to_numpy(), df[f"{key}_high"].to_numpy() - v])
        ax.bar(x + off, v, width=0.36, color=color, label=label)
        ax.errorbar(
            x + off, v, yerr=np.clip(err, 0, None), fmt="none", ecolor="0.15", lw=1, capsize=3
        )
    ax.set_xticks(x, df["factor"], fontsize=7, rotation=15)
    ax.axhline(0, color="0.2", lw=0.6)
    ax.set_ylabel("share of variance")
    ax.set_title(f"Sobol indices of mean {metric}", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    _style(ax)
    return fig


def cases_figure(
    values: Mapping[str, Mapping[str, np.ndarray]], weights: Mapping[str, float], metric: str
) -> Figure:
    """Per case a step histogram of the per-path metric (area ∝ the case's weight) and the
    mixture's CDF."""
    from hashfleet.results.plots import _COLORS, _grid, _style

    fig, axes = _grid(11.0, 3.0, 1, 2)
    ax, ax2 = axes[0]
    allx = np.concatenate([np.asarray(v[metric]) for v in values.values()])
    allx = allx[np.isfinite(allx)]
    scale, unit = _scale(metric, allx)
    if not allx.size:
        return fig
    bins = np.linspace(allx.min(), allx.max(), 40) * scale if np.ptp(allx) > 0 else 10
    xs, ws = [], []
    for i, (name, v) in enumerate(values.items()):
        x = np.asarray(v[metric], dtype=float)
        x = x[np.isfinite(x)] * scale
        if not x.size:
            continue
        w = np.full(x.size, weights[name] / x.size)
        ax.hist(x, bins=bins, weights=w, histtype="step", lw=1.4, color=_COLORS[i % len(_COLORS)],
                label=f"{name} (p = {weights[name]:g})")  # fmt: skip
        xs.append(x)
        ws.append(w)
    x, w = np.concatenate(xs), np.concatenate(ws)
    order = np.argsort(x)
    ax2.plot(x[order], np.cumsum(w[order]) / w.sum(), color="0.15", lw=1.4, label="mixture")
    ax2.axvline(0, color="#c0392b", lw=0.8)
    ax.set_title(f"{metric} per case ({unit}; bar area = case probability)", fontsize=10)
    ax2.set_title(f"Mixture CDF of {metric} ({unit})", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    ax2.set_ylabel("P(≤ x)")
    _style(ax)
    _style(ax2)
    return fig


def _scale(metric: str, x: np.ndarray) -> tuple[float, str]:
    finite = np.asarray(x, dtype=float)
    finite = finite[np.isfinite(finite)]
    if "usd" in metric and finite.size and np.max(np.abs(finite)) >= 1e6:
        return 1e-6, "USD m"
    return 1.0, "USD" if metric.endswith("_usd") else ""
