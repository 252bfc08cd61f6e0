"""Reports of the studies that run many simulations: ``sweep``, ``stress`` and ``backtest``.

Each is one self-contained ``report.html`` like a run's (:mod:`hashfleet.results.report`:
inline styles and PNGs, figures also under ``figures/``), written next to the study's own
files:

* **sweep** — the table of scenarios (status, swept parameters, headline means with their
  P5–P95) and, per headline metric, the mean with its P5–P95 range per scenario;
* **stress** — P(insolvency), P(covenant breach) and P(margin call) per shock and horizon with
  their Wilson intervals, and ending equity (mean, VaR and CVaR) per shock;
* **backtest** — the simulated bands against history (the back-test's own plots) and its
  tables.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["write_backtest_report", "write_stress_report", "write_sweep_report"]

#: Headline per-path means of a sweep's table (those present), with unit and scale.
SWEEP_METRICS: dict[str, tuple[str, str, float]] = {
    "final_npv_usd": ("NPV", "USD m", 1e-6),
    "final_cash_usd": ("Cash at the end", "USD m", 1e-6),
    "total_production_btc": ("BTC produced", "BTC", 1.0),
    "total_revenue_usd": ("Revenue", "USD m", 1e-6),
    "total_power_cost_usd": ("Power cost", "USD m", 1e-6),
    "total_ebitda_usd": ("EBITDA", "USD m", 1e-6),
}


def write_sweep_report(
    table: pd.DataFrame, parameters: Sequence[str], out_dir: str | Path, *, svg: bool = False
) -> Path:
    """The report of a sweep.

    Parameters
    ----------
    table : pandas.DataFrame
        ``SweepResult.table`` (one row per scenario id).
    parameters : sequence of str
        The swept dotted paths (columns of ``table``).
    out_dir : str or pathlib.Path
    svg : bool

    Returns
    -------
    pathlib.Path
        ``out_dir/report.html``.
    """
    from hashfleet.results.report import _chart, _header, _write

    out = Path(out_dir)
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    metrics = [m for m in SWEEP_METRICS if f"{m}_mean" in table.columns]
    ok = table[table["status"] == "ok"] if "status" in table else table
    body = [
        _header(
            "hashfleet sweep",
            f"{len(table)} scenarios over {', '.join(parameters) or 'no parameters'}",
            {
                "scenarios": len(table),
                "ok": len(ok),
                "failed": int((table["status"] == "failed").sum()) if "status" in table else 0,
            },
        )
    ]
    if metrics and len(ok):
        body.append(
            _chart(
                _sweep_figure(ok, metrics),
                figs / "sweep_metrics",
                "Mean (dot) and P5–P95 across paths (bar) per scenario",
                svg,
            )
        )
    cols = ["scenario_id", *(c for c in ("status",) if c in table), *parameters]
    for m in metrics:
        cols += [c for c in (f"{m}_mean", f"{m}_q0.05", f"{m}_q0.95") if c in table]
    body += ["<h2>Scenarios</h2>", _frame_html(table[cols])]
    return _write(out / "report.html", "hashfleet sweep", body, 0.0)


def write_stress_report(
    result: Mapping[str, Any], out_dir: str | Path, *, svg: bool = False
) -> Path:
    """The report of a stress test (``hashfleet stress``'s ``stress.json``).

    Parameters
    ----------
    result : mapping
        :func:`hashfleet.studies.stress.stress` (plus ``reverse`` when run).
    out_dir : str or pathlib.Path
    svg : bool

    Returns
    -------
    pathlib.Path
    """
    from hashfleet.results.report import _chart, _header, _write

    out = Path(out_dir)
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    ran = {k: v for k, v in result.items() if isinstance(v, Mapping) and "p_insolvency" in v}
    skipped = {k: v["not_applicable"] for k, v in result.items() if "not_applicable" in v}
    first = next(iter(ran.values()), {})
    body = [
        _header(
            "hashfleet stress test",
            "The capital plan under the scenario's own Monte Carlo (base) and each named shock, "
            "on common random numbers.",
            {"paths": f"{first.get('paths', 0):,}", "shocks": ", ".join(k for k in ran)},
        )
    ]
    if ran:
        body.append(
            _chart(
                _stress_figure(ran),
                figs / "stress_probabilities",
                "Probabilities by shock and horizon (95 % Wilson intervals)",
                svg,
            )
        )
        rows = []
        for name, s in ran.items():
            row: dict[str, Any] = {"shock": name, "level": s.get("level", "")}
            for key in ("p_insolvency", "p_breach", "p_margin_call"):
                for h, p in s[key].items():
                    row[f"{key} by day {h}"] = (
                        f"{100 * p['p']:.1f} % [{100 * p['lo']:.1f}, {100 * p['hi']:.1f}]"
                    )
            var = next((v for k, v in s.items() if k.startswith("ending_equity_var_")), math.nan)
            cvar = next((v for k, v in s.items() if k.startswith("ending_equity_cvar_")), math.nan)
            row |= {
                "ending equity mean (USD m)": s["ending_equity_mean_usd"] / 1e6,
                "VaR 5 % (USD m)": var / 1e6,
                "CVaR 5 % (USD m)": cvar / 1e6,
                "all-in cost per BTC (median, USD)": s["all_in_cost_usd_per_btc_median"],
            }
            rows.append(row)
        body += ["<h2>Per shock</h2>", _frame_html(pd.DataFrame(rows))]
    if skipped:
        items = "".join(
            f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>" for k, v in skipped.items()
        )
        body.append(f"<h2>Not applicable</h2><ul>{items}</ul>")
    rev = result.get("reverse")
    if isinstance(rev, Mapping):
        body.append(
            "<h2>Reverse stress test</h2><p>P(insolvency) reaches "
            f"{rev['threshold']:g} at {html.escape(str(rev['shock']))} = {rev['level']:.4g} "
            f"({html.escape(str(rev['unit']))}), 95 % interval [{rev['ci95'][0]:.4g}, "
            f"{rev['ci95'][1]:.4g}], from {len(rev['evaluations'])} paired runs.</p>"
        )
    return _write(out / "report.html", "hashfleet stress test", body, 0.0)


def write_backtest_report(result: Any, out_dir: str | Path, *, svg: bool = False) -> Path:
    """The report of a back-test: its bands against history and its tables.

    Parameters
    ----------
    result : hashfleet.studies.backtest.BacktestResult
    out_dir : str or pathlib.Path
        Where :func:`~hashfleet.studies.backtest.write_backtest` wrote ``table.md``.
    svg : bool

    Returns
    -------
    pathlib.Path
    """
    from hashfleet.results.report import _chart, _header, _write

    out = Path(out_dir)
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    title = f"hashfleet back-test {result.start} .. {result.end}"
    body = [
        _header(
            title,
            "The endogenous network model on history: real price, real start, Monte Carlo "
            "bands (P5, median, P95) against the real hashrate and difficulty.",
            {k: v for k, v in result.summary.items() if isinstance(v, str | int | float)},
        )
    ]
    body.append(
        _chart(_backtest_figure(result), figs / "backtest_bands", "Simulated bands vs history", svg)
    )
    md = out / "table.md"
    if md.is_file():
        body += ["<h2>Tables</h2>", f"<pre>{html.escape(md.read_text(encoding='utf-8'))}</pre>"]
    return _write(out / "report.html", title, body, 0.0)


# ----------------------------------------------------------------------------- figures


def _sweep_figure(table: pd.DataFrame, metrics: Sequence[str]) -> Figure:
    from hashfleet.results.plots import _BLUE, _grid, _style

    ncols = 2 if len(metrics) > 1 else 1
    nrows = -(-len(metrics) // ncols)
    height = max(2.4, 0.28 * len(table) + 1.0)
    fig, axes = _grid(11.0, height, nrows, ncols)
    ids = table["scenario_id"].astype(str).to_numpy()
    y = np.arange(len(ids))
    for ax, m in zip(axes.flat, metrics, strict=False):
        title, unit, scale = SWEEP_METRICS[m]
        mean = table[f"{m}_mean"].to_numpy(dtype=float) * scale
        lo_c, hi_c = f"{m}_q0.05", f"{m}_q0.95"
        if lo_c in table and hi_c in table:
            lo = table[lo_c].to_numpy(dtype=float) * scale
            hi = table[hi_c].to_numpy(dtype=float) * scale
            ax.hlines(y, lo, hi, color=_BLUE, alpha=0.35, lw=5)
        ax.plot(mean, y, "o", color=_BLUE, ms=4)
        ax.set_yticks(y, ids, fontsize=7)
        ax.invert_yaxis()
        ax.set_title(f"{title} ({unit})", fontsize=10)
        _style(ax)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    return fig


def _stress_figure(ran: Mapping[str, Mapping[str, Any]]) -> Figure:
    from hashfleet.results.plots import _COLORS, _grid, _style

    keys = [("p_insolvency", "P(insolvency)"), ("p_breach", "P(covenant breach)"),
            ("p_margin_call", "P(margin call)")]  # fmt: skip
    fig, axes = _grid(11.0, 2.8, 1, len(keys))
    names = list(ran)
    horizons = list(next(iter(ran.values()))["p_insolvency"])
    width = 0.8 / max(len(horizons), 1)
    x = np.arange(len(names))
    for ax, (key, label) in zip(axes[0], keys, strict=True):
        for j, h in enumerate(horizons):
            p = np.array([100 * ran[n][key][h]["p"] for n in names])
            lo = np.array([100 * ran[n][key][h]["lo"] for n in names])
            hi = np.array([100 * ran[n][key][h]["hi"] for n in names])
            xs = x - 0.4 + width * (j + 0.5)
            ax.bar(xs, p, width=width * 0.9, color=_COLORS[j % len(_COLORS)], label=f"by day {h}")
            ax.errorbar(xs, p, yerr=[p - lo, hi - p], fmt="none", ecolor="0.2", lw=0.8)
        ax.set_xticks(x, names, rotation=30, ha="right", fontsize=7)
        ax.set_title(label, fontsize=10)
        ax.set_ylabel("% of paths")
        _style(ax)
    axes[0, 0].legend(fontsize=7, frameon=False)
    return fig


def _backtest_figure(result: Any) -> Figure:
    from hashfleet.results.plots import _BLUE, _grid, _style

    d = result.daily
    fig, axes = _grid(11.0, 3.0, 1, 2)
    for ax, (short, label) in zip(
        axes[0],
        (("hashrate_ehs", "Network hashrate (EH/s)"), ("difficulty", "Difficulty")),
        strict=True,
    ):
        x = pd.to_datetime(d.index).to_numpy()
        ax.fill_between(x, d[f"sim_{short}_q05"], d[f"sim_{short}_q95"], color=_BLUE,
                        alpha=0.2, lw=0, label="simulated P5–P95")  # fmt: skip
        ax.plot(x, d[f"sim_{short}_q50"], color=_BLUE, lw=1.2, label="simulated median")
        ax.plot(x, d[f"real_{short}"], color="k", lw=0.9, label="history")
        ax.set_yscale("log")
        ax.set_title(label, fontsize=10)
        _style(ax)
    axes[0, 0].legend(fontsize=7, frameon=False)
    return fig


def _frame_html(df: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            if not math.isfinite(float(v)):
                return "–"
            return f"{float(v):,.4g}" if abs(float(v)) < 1e4 else f"{float(v):,.0f}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>"
        for r in df.itertuples(index=False)
    )
    return f"<table class='decision'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
