"""Charts of a comparison of strategies: per-strategy fan charts overlaid and the paired
differences per path (same conventions as :mod:`hashfleet.results.plots`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from hashfleet.errors import InputError
from hashfleet.results.plots import (
    _COLORS,
    FAN_VARIABLES,
    _date_ticks,
    _date_x,
    _gaps,
    _grid,
    _style,
)

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.figure import Figure

    from hashfleet.results.base import ComparisonLike as Comparison

__all__ = ["STRATEGY_FAN_VARIABLES", "comparison_figure", "strategy_fan_figure"]

#: Daily variables of the per-strategy fan charts of a comparison (those present).
STRATEGY_FAN_VARIABLES = (
    "fleet_hashrate_ehs",
    "fleet_j_per_th",
    "production_btc",
    "revenue_usd",
    "ebitda_usd",
    "cash_usd",
    "treasury_btc",
    "debt_usd",
)


def comparison_figure(comparison: Comparison, metrics: Sequence[str] | None = None) -> Figure:
    """Paired differences per path against the reference strategy, one panel per metric.

    Parameters
    ----------
    comparison : Comparison
    metrics : sequence of str, optional
        Default: the comparison's metrics (and any decision columns it carries).

    Returns
    -------
    matplotlib.figure.Figure
        Step histograms of ``X_i(B) − X_i(A)`` for each strategy ``B`` (``A`` the
        reference), with zero and each mean marked.
    """
    from hashfleet.finance.valuation import METRICS

    names = list(metrics) if metrics else list(comparison.metrics)
    ref = comparison.strategies[0]
    ncols = 2 if len(names) > 1 else 1
    nrows = -(-len(names) // ncols)
    fig, axes = _grid(11.0, 2.9, nrows, ncols)
    for ax, m in zip(axes.flat, names, strict=False):
        unit = METRICS[m][0] if m in METRICS else ""
        scale, unit_s = (1e-6, f"{unit} m") if unit == "USD" else (1.0, unit)
        a = comparison.per_path[ref][m].to_numpy()
        for i, s in enumerate(comparison.strategies[1:]):
            d = (comparison.per_path[s][m].to_numpy() - a) * scale
            d = d[np.isfinite(d)]
            if not d.size:
                continue
            color = _COLORS[(i + 1) % len(_COLORS)]
            ax.hist(
                d, bins=min(50, max(10, d.size // 8)), histtype="stepfilled", alpha=0.3, color=color
            )
            ax.hist(
                d,
                bins=min(50, max(10, d.size // 8)),
                histtype="step",
                color=color,
                label=f"{s} − {ref}",
            )
            ax.axvline(float(np.mean(d)), color=color, lw=1.2, ls="--")
        ax.axvline(0, color="0.2", lw=0.8)
        ax.set_title(f"{m} ({unit_s}): paired difference per path", fontsize=10)
        ax.set_ylabel("paths")
        ax.legend(fontsize=8, frameon=False)
        _style(ax)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    return fig


def strategy_fan_figure(
    daily: dict[str, xr.Dataset], variables: Sequence[str] | None = None
) -> Figure:
    """Fan charts of several strategies overlaid: per strategy (one colour each) the median
    (line), the P25–P75 band (filled) and P5 and P95 (thin dotted lines), one panel per
    variable.

    Parameters
    ----------
    daily : dict of str -> xarray.Dataset
        Per strategy, :attr:`Results.daily` (``Comparison.daily``); the first is the
        reference.
    variables : sequence of str, optional
        Default: :data:`STRATEGY_FAN_VARIABLES` present in every strategy's run.

    Returns
    -------
    matplotlib.figure.Figure
    """
    first = next(iter(daily.values()))
    names = (
        list(variables)
        if variables
        else [
            v
            for v in STRATEGY_FAN_VARIABLES
            if all(v in d and "quantile" in d[v].dims for d in daily.values())
        ]
    )
    if not names:
        raise InputError("variables: expected daily variables every strategy recorded, got none")
    ncols = 2 if len(names) > 1 else 1
    nrows = -(-len(names) // ncols)
    fig, axes = _grid(11.0, 2.9, nrows, ncols)
    _, dates = _date_x(first)
    for ax, name in zip(axes.flat, names, strict=False):
        title, unit, scale = FAN_VARIABLES.get(name, (name, "", 1.0))
        for i, (strategy, d) in enumerate(daily.items()):
            qs = np.asarray(d["quantile"].values, dtype=float)
            color = _COLORS[i % len(_COLORS)]

            da = d[name]

            def q(
                p: float, da: xr.DataArray = da, qs: np.ndarray = qs, name: str = name
            ) -> np.ndarray | None:
                hit = np.flatnonzero(np.isclose(qs, p))
                if not hit.size:
                    return None
                return _gaps(name, da.isel(quantile=int(hit[0])).to_numpy())

            lo, hi, med = q(0.25), q(0.75), q(0.5)
            if lo is not None and hi is not None:
                ax.fill_between(dates, lo * scale, hi * scale, color=color, alpha=0.18, lw=0)
            for p in (0.05, 0.95):
                tail = q(p)
                if tail is not None:
                    ax.plot(dates, tail * scale, color=color, lw=0.6, ls=":")
            if med is not None:
                ax.plot(dates, med * scale, color=color, lw=1.4, label=strategy)
        if name == "cash_usd":
            ax.axhline(0, color="#c0392b", lw=0.8)
        ax.set_title(f"{title} ({unit})", fontsize=10)
        _date_ticks(ax, first)
        _style(ax)
    axes.flat[0].legend(loc="best", fontsize=7, frameon=True, framealpha=0.8)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    return fig
