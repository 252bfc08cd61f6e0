"""Static charts of a run and of a comparison, with matplotlib.

matplotlib, not plotly or altair: a report must open with no network and stay small, and
matplotlib's PNG/SVG output needs no JavaScript at all (plotly inlines ~3.5 MB of it per
file); it is also what the scientific-Python users of hashfleet already have, it renders
headless (the object-oriented :class:`~matplotlib.figure.Figure` API, no ``pyplot`` and no
global backend switch, so importing this module changes nothing in a Jupyter session), and
its output is deterministic enough to review as files.

Every function returns a :class:`matplotlib.figure.Figure`; :func:`save_figure` writes it as
PNG and SVG and returns the PNG bytes for inlining.  matplotlib is imported inside the
functions (``pip install 'hashfleet[plot]'`` when missing).

Fan charts show, per day, the median across paths (line), the P25–P75 band (dark) and the
P5–P95 band (light), from the ``quantile`` dim of :attr:`Results.daily`; a band whose
quantiles the run did not record is left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hashfleet.errors import InputError

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from hashfleet.results.base import ResultsLike as Results

__all__ = [
    "FAN_VARIABLES",
    "distribution_figure",
    "events_figure",
    "fan_figure",
    "fan_panels",
    "fan_variables",
    "save_figure",
]

#: Daily variables drawn as fan charts, in order: name -> (title, unit shown, scale).
#: Names absent from a run (treasury, debt, MW by use before those components exist) are
#: skipped.
FAN_VARIABLES: dict[str, tuple[str, str, float]] = {
    "hashprice_usd_per_ph_day": ("Hashprice", "USD/(PH/s)/day", 1.0),
    "network_hashrate_ehs": ("Network hashrate", "EH/s", 1.0),
    "difficulty": ("Difficulty", "T", 1e-12),
    "btc_price_usd": ("BTC price", "USD thousand", 1e-3),
    "fleet_hashrate_ehs": ("Fleet hashrate (running)", "EH/s", 1.0),
    "fleet_j_per_th": ("Fleet efficiency (running; gap: nothing runs)", "J/TH", 1.0),
    "installed_j_per_th": ("Installed efficiency", "J/TH", 1.0),
    "production_btc": ("Production", "BTC/day", 1.0),
    "revenue_usd": ("Revenue", "USD m/day", 1e-6),
    "power_cost_usd": ("Power cost", "USD m/day", 1e-6),
    "ebitda_usd": ("EBITDA", "USD m/day", 1e-6),
    "cash_usd": ("Cash", "USD m", 1e-6),
    "treasury_btc": ("Treasury", "BTC", 1.0),
    "debt_usd": ("Debt", "USD m", 1e-6),
    "mining_mw": ("MW mining", "MW", 1.0),
    "hpc_mw": ("MW AI/HPC", "MW", 1.0),
    "emissions_tco2e": ("Emissions (fleet)", "tCO2e/day", 1.0),
    "renewable_share": ("Renewable share (fleet)", "1", 1.0),
    "network_energy_mwh_guess": ("Network energy (CBECI best guess)", "TWh/year", 365.25e-6),
}

#: Ratios the engine records as 0 on a path where nothing runs (no TH/s to divide by): drawn
#: as gaps ("—"), never as an efficiency of 0 J/TH.
NONE_WHEN_ZERO = frozenset({"fleet_j_per_th", "installed_j_per_th"})

_BLUE = "#1f5fa8"
_ORANGE = "#d9730d"
_COLORS = ["#1f5fa8", "#d9730d", "#2a9d55", "#b8336a", "#6b4fbb", "#7a7a7a"]


def fan_variables(daily: xr.Dataset) -> list[str]:
    """The :data:`FAN_VARIABLES` present in a run's daily dataset, in order."""
    return [v for v in FAN_VARIABLES if v in daily and "quantile" in daily[v].dims]


def fan_figure(
    daily: xr.Dataset,
    variables: str | Sequence[str],
    *,
    ncols: int = 2,
    width: float = 11.0,
    legend: bool = True,
) -> Figure:
    """Fan charts (median, P25–P75, P5–P95 across paths) of daily variables.

    Parameters
    ----------
    daily : xarray.Dataset
        :attr:`Results.daily` (dims ``quantile``, ``day``; coordinate ``date``).
    variables : str or sequence of str
        Daily variable names (any; those of :data:`FAN_VARIABLES` get their title, unit and
        scale).
    ncols : int
        Panels per row.
    width : float
        Figure width, inches.
    legend : bool
        Label the bands in each panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = [variables] if isinstance(variables, str) else list(variables)
    missing = [v for v in names if v not in daily]
    if missing:
        raise InputError(f"variables: expected daily variables of the run, got {missing}")
    ncols = min(ncols, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = _grid(width, 2.9, nrows, ncols)
    for ax, name in zip(axes.flat, names, strict=False):
        _fan(ax, daily, name, legend)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    return fig


def fan_panels(
    daily: xr.Dataset, variables: Sequence[str], *, width: float = 5.6
) -> Iterator[tuple[str, Figure]]:
    """One single-panel fan chart per variable, drawn in turn on **one** reused figure.

    The report saves each panel as its own file; building a figure and its axes per panel
    (tick objects, spines, text) cost more than drawing it.  Here the figure, the axes and
    their ticks are made once and only the bands, lines, limits and title change, so save
    (or copy) each yielded figure before advancing the iterator.

    Parameters
    ----------
    daily : xarray.Dataset
        :attr:`Results.daily`.
    variables : sequence of str
        Daily variables with a ``quantile`` dim.
    width : float
        Figure width, inches.

    Yields
    ------
    (str, matplotlib.figure.Figure)
        The variable and the figure showing it (the same figure every time).
    """
    fig, axes = _grid(width, 2.9, 1, 1)
    ax = axes[0, 0]
    _date_ticks(ax, daily)
    _style(ax)
    for name in variables:
        for artist in [*ax.collections, *ax.lines]:
            artist.remove()
        _fan(ax, daily, name, legend=False, restyle=False)
        ax.relim()
        ax.autoscale_view(scalex=False)
        yield name, fig


def events_figure(results: Results) -> Figure:
    """Event timelines: retarget adjustments, halving dates, and purchases and sales.

    Panels (shared date axis): the difficulty change at each retarget (median and P5–P95 of
    all paths' retargets in 14-day bins, %); the share of paths whose halving falls in each
    week; the mean USD per day across paths of capex deposits (orders placed), capex
    balances (deliveries paid) and asset sales (machines sold) — the upgrade policy's
    actions.

    Parameters
    ----------
    results : Results

    Returns
    -------
    matplotlib.figure.Figure
    """
    daily = results.daily
    x0, xs = _date_x(daily)
    n_paths = int(results.metadata.get("paths", results.per_path.sizes["path"]))
    fig, axes = _grid(11.0, 2.4, 3, 1)
    ax1, ax2, ax3 = axes[:, 0]

    rt = results.retargets
    if len(rt) and "new_difficulty" in rt:
        change = 100.0 * (rt["new_difficulty"].to_numpy() / rt["old_difficulty"].to_numpy() - 1)
        bins = (rt["time_days"].to_numpy() // 14).astype(int)
        df = pd.DataFrame({"bin": bins, "change": change}).groupby("bin")["change"]
        q = df.quantile(np.array([0.05, 0.5, 0.95])).unstack()
        x = x0 + q.index.to_numpy() * 14.0 + 7.0
        ax1.fill_between(x, q[0.05], q[0.95], color=_BLUE, alpha=0.2, lw=0, label="P5–P95")
        ax1.plot(x, q[0.5], color=_BLUE, lw=1.4, label="median")
        ax1.axhline(0, color="0.4", lw=0.6)
        ax1.legend(loc="upper right", fontsize=8, frameon=False)
    else:
        _empty(ax1, "no retargets recorded (run.outputs.event_log: false?)")
    ax1.set_title(f"Retargets: difficulty change per adjustment ({len(rt):,} retargets)")
    ax1.set_ylabel("%")

    hv = results.halvings
    if len(hv):
        weeks = (hv["time_days"].to_numpy() // 7).astype(int)
        counts = np.bincount(weeks)
        nz = np.flatnonzero(counts)
        bar_x = x0 + nz * 7.0 + 3.5
        ax2.bar(bar_x, 100.0 * counts[nz] / n_paths, width=6, color=_ORANGE)
        med = daily["date"].values[0] + np.timedelta64(int(np.median(hv["time_days"])), "D")
        ax2.set_title(f"Halvings: share of paths per week (median {str(med)[:10]})")
    else:
        _empty(ax2, "no halving inside the horizon")
        ax2.set_title("Halvings")
    ax2.set_ylabel("% of paths")

    drew = False
    for i, (name, label) in enumerate(
        (
            ("capex_deposits_usd_mean", "orders placed (deposits)"),
            ("capex_balance_usd_mean", "deliveries paid (balances)"),
            ("asset_sales_usd_mean", "machines sold"),
        )
    ):
        if name in daily:
            y = daily[name].to_numpy() / 1e6
            days = np.flatnonzero(np.abs(y) > 0)
            if days.size:
                ax3.vlines(xs[days], 0, y[days], color=_COLORS[i], lw=2, label=label)
                drew = True
    if drew:
        ax3.legend(loc="upper right", fontsize=8, frameon=False)
    else:
        _empty(ax3, "no purchases or sales (the upgrade policy did nothing)")
    ax3.set_title("Policy actions: mean across paths")
    ax3.set_ylabel("USD m/day")
    for ax in (ax1, ax2, ax3):
        _style(ax)
        _date_ticks(ax, daily)
    return fig


def distribution_figure(decision: pd.DataFrame, tail: float = 0.05) -> Figure:
    """Histograms across paths of NPV, ending cash and (with stored paths) minimum cash,
    with zero, the median and the VaR (``tail`` quantile) marked.

    Parameters
    ----------
    decision : pandas.DataFrame
        :func:`hashfleet.results.decision.per_path_decision`.
    tail : float

    Returns
    -------
    matplotlib.figure.Figure
    """
    cols = [
        (c, t)
        for c, t in (
            ("npv_usd", "NPV"),
            ("final_cash_usd", "Ending cash"),
            ("min_cash_usd", "Minimum cash"),
        )
        if c in decision
    ]
    fig, grid = _grid(11.0, 3.2, 1, len(cols))
    axes = grid[0]
    for ax, (c, title) in zip(axes, cols, strict=True):
        x = decision[c].to_numpy() / 1e6
        x = x[np.isfinite(x)]
        # one polygon, not a rectangle per bin (a third of the figure's drawing time)
        ax.hist(
            x, bins=min(60, max(10, x.size // 10)), color=_BLUE, alpha=0.75, histtype="stepfilled"
        )
        var = float(np.quantile(x, tail))
        ax.axvline(0, color="0.2", lw=0.8)
        ax.axvline(var, color="#c0392b", lw=1.2, ls="--", label=f"VaR P{tail * 100:g}: {var:,.0f}")
        ax.axvline(float(np.median(x)), color=_ORANGE, lw=1.2, label="median")
        neg = 100.0 * float(np.mean(x < 0))
        ax.set_title(f"{title} (USD m): {neg:.0f} % of paths < 0", fontsize=10)
        ax.set_ylabel("paths")
        ax.legend(fontsize=8, frameon=False)
        _style(ax)
    return fig


def save_figure(fig: Figure, stem: Path, *, dpi: int = 96, svg: bool = True) -> bytes:
    """Write ``stem.png`` (and ``stem.svg``) and return the PNG bytes.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    stem : pathlib.Path
        Path without suffix; its directory must exist.
    dpi : int
    svg : bool
        Also write SVG.

    Returns
    -------
    bytes
        The PNG file's content.
    """
    import io

    buf = io.BytesIO()
    # zlib level 1: a third of the encoding time of the default 6, files ~20 % larger
    fig.savefig(
        buf, format="png", dpi=dpi, metadata={"Software": None}, pil_kwargs={"compress_level": 1}
    )
    png = buf.getvalue()
    stem.with_suffix(".png").write_bytes(png)
    if svg:
        fig.savefig(stem.with_suffix(".svg"), format="svg", metadata={"Date": None})
    return png


# ----------------------------------------------------------------------------- helpers


def _grid(width: float, panel_height: float, nrows: int, ncols: int) -> tuple[Figure, Any]:
    """A figure of ``nrows × ncols`` panels with fixed margins in inches.

    Fixed margins, not matplotlib's constrained layout: the layout pass measures every tick
    label of every axis and took 40 % of a report's time (measured at 1,000 paths)."""
    Figure = _figure_class()
    height = panel_height * nrows
    fig = Figure(figsize=(width, height))
    left, right, top, bottom, hgap, wgap = 0.75, 0.2, 0.35, 0.4, 0.6, 0.7
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        top=1 - top / height,
        bottom=bottom / height,
        hspace=hgap / max(panel_height - hgap, 0.5),
        wspace=wgap * ncols / max(width - left - right - wgap * (ncols - 1), 1.0),
    )
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _date_x(daily: xr.Dataset) -> tuple[float, np.ndarray]:
    """matplotlib date numbers (days) of the run's first day and of every day."""
    from matplotlib.dates import date2num

    d = np.asarray(daily["date"].values).astype("datetime64[D]")
    x0 = float(date2num(d[0]))
    return x0, x0 + (d - d[0]).astype(float)


def _date_ticks(ax: Axes, daily: xr.Dataset) -> None:
    """Fixed ticks on month starts (every 1, 3, 6 or 12 months with the horizon's length):
    the automatic date locator re-ran for every draw and cost ~0.1 s an axis."""
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    d = np.asarray(daily["date"].values).astype("datetime64[D]")
    x0, xs = _date_x(daily)
    span = float(xs[-1] - xs[0])
    step = 12 if span > 3 * 365 else 6 if span > 730 else 3 if span > 240 else 1
    months = np.arange(d[0].astype("datetime64[M]"), d[-1].astype("datetime64[M]") + 1)
    months = months[(months.astype(int) % step) == 0]
    days = months.astype("datetime64[D]")
    days = days[(days >= d[0]) & (days <= d[-1])]
    ticks = x0 + (days - d[0]).astype(float)
    labels = [str(m)[:4] if step == 12 else str(m)[:7] for m in days]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FixedFormatter(labels))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(xs[0], xs[-1])


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise InputError("plots need matplotlib: pip install 'hashfleet[plot]'") from None
    return Figure


def _fan(ax: Axes, daily: xr.Dataset, name: str, legend: bool, restyle: bool = True) -> None:
    title, unit, scale = FAN_VARIABLES.get(name, (name, daily[name].attrs.get("units", ""), 1.0))
    da = daily[name]
    _, dates = _date_x(daily)
    qs = np.asarray(daily["quantile"].values, dtype=float)

    def q(p: float) -> np.ndarray | None:
        hit = np.flatnonzero(np.isclose(qs, p))
        return (
            None if not hit.size else _gaps(name, da.isel(quantile=int(hit[0])).to_numpy()) * scale
        )

    outer = (q(0.05), q(0.95))
    inner = (q(0.25), q(0.75))
    med = q(0.5)
    if outer[0] is not None and outer[1] is not None:
        ax.fill_between(dates, outer[0], outer[1], color=_BLUE, alpha=0.15, lw=0, label="P5–P95")
    if inner[0] is not None and inner[1] is not None:
        ax.fill_between(dates, inner[0], inner[1], color=_BLUE, alpha=0.35, lw=0, label="P25–P75")
    if med is not None:
        ax.plot(dates, med, color=_BLUE, lw=1.3, label="median")
    mean = f"{name}_mean"
    if mean in daily and name not in NONE_WHEN_ZERO:  # that mean averages idle paths' zeros
        ax.plot(
            dates, _gaps(name, daily[mean].to_numpy()) * scale, color=_ORANGE, lw=0.9, ls="--",
            label="mean",
        )  # fmt: skip
    if name == "cash_usd":
        ax.axhline(0, color="#c0392b", lw=0.8)
    ax.set_title(f"{title} ({unit})", fontsize=10)
    if restyle:
        _date_ticks(ax, daily)
        _style(ax)
    if legend:
        ax.legend(loc="best", fontsize=7, frameon=True, framealpha=0.8, ncols=2)


def _gaps(name: str, y: np.ndarray) -> np.ndarray:
    """``y`` with the zeros of a :data:`NONE_WHEN_ZERO` ratio as NaN (a gap in the line)."""
    if name not in NONE_WHEN_ZERO:
        return y
    return np.where(y > 0, y, np.nan)


def _style(ax: Axes) -> None:
    ax.grid(True, color="0.9", lw=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_yticks([])
