"""One self-contained HTML report of a run or a comparison.

:func:`write_report` and :func:`write_comparison_report` draw the charts of
:mod:`hashfleet.results.plots`, write each as ``figures/<name>.png`` and ``.svg`` beside the
report, and inline the PNGs as ``data:`` URIs in ``report.html``, whose styles and single
script are inline too: the file opens with no network and can be mailed on its own.  The
script only records page errors and checks that every chart decoded (``data-ok`` on each
``<img>``, errors listed in ``#report-errors``), which the browser test reads.

:func:`report` makes the report of a saved directory: a run (``summary.json`` and
``daily.nc``, see :meth:`Results.save`) or a comparison (``comparison.json``, see
:func:`hashfleet.results.tables.save_comparison`).
"""

from __future__ import annotations

import base64
import html
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hashfleet.errors import InputError
from hashfleet.results.base import format_value

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from hashfleet.results.base import ComparisonLike as Comparison
    from hashfleet.results.base import ResultsLike as Results

__all__ = ["format_value", "report", "write_comparison_report", "write_report"]

REPORT_NAME = "report.html"


_NOTE_INTERVALS = (
    "Intervals: probabilities — Wilson score; means — normal (x̄ ± z·s/√n); medians and VaR "
    "(the 5 % quantile, shown as the level) — order-statistic (distribution-free); CVaR (mean "
    "of the worst 5 % of paths) — bootstrap percentile, 1,000 resamples. Break-even BTC price: "
    "the constant price at which the run's EBITDA is zero, production held fixed. Payback: the "
    "day cumulative free cash flow turns ≥ 0 for good; cash-path metrics need stored paths "
    "(<code>--store-paths</code>)."
)


_FAN_KEY = (
    "<p class='key'><span class='sw' style='background:#1f5fa8'></span>median "
    "<span class='sw' style='background:rgba(31,95,168,.45)'></span>P25–P75 "
    "<span class='sw' style='background:rgba(31,95,168,.17)'></span>P5–P95 "
    "<span class='sw' style='background:#d9730d;height:2px'></span>mean (dashed)</p>"
)


def report(results_dir: str | Path, *, svg: bool = True) -> Path:
    """Write ``report.html`` into a saved run's or comparison's directory.

    Parameters
    ----------
    results_dir : str or pathlib.Path
        What :meth:`Results.save` or :func:`~hashfleet.results.tables.save_comparison`
        wrote.
    svg : bool
        Also write every chart as SVG.

    Returns
    -------
    pathlib.Path
        The report file.

    Raises
    ------
    InputError
        The directory holds neither.
    """
    d = Path(results_dir)
    if (d / "comparison.json").is_file():
        from hashfleet.results.comparison import Comparison

        return write_comparison_report(Comparison.load(d), d, svg=svg)
    if (d / "summary.json").is_file() and (d / "daily.nc").is_file():
        from hashfleet.results import Results as LoadedResults

        return write_report(LoadedResults.load(d), d, svg=svg)
    raise InputError(
        f"RESULTS_DIR: expected a directory written by `hashfleet run` or `hashfleet compare` "
        f"(summary.json and daily.nc, or comparison.json), got {str(d)!r}"
    )


def write_report(results: Results, out_dir: str | Path, *, svg: bool = True) -> Path:
    """The report of one run: decision table, fan charts, distributions, event timelines,
    metadata and the resolved scenario.

    Parameters
    ----------
    results : Results
    out_dir : str or pathlib.Path
        Receives ``report.html`` and ``figures/``.
    svg : bool
        Also write every chart as SVG.

    Returns
    -------
    pathlib.Path
        ``out_dir/report.html``.
    """
    from hashfleet.results.decision import decision_frame, scenario_dict, summarize
    from hashfleet.results.plots import (
        FAN_VARIABLES,
        distribution_figure,
        events_figure,
        fan_panels,
        fan_variables,
    )

    t0 = time.perf_counter()
    out = Path(out_dir)
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    meta = results.metadata
    decision = decision_frame(results)
    table = summarize(decision)
    charts = [
        _chart(fig, figs / f"fan_{v}", FAN_VARIABLES[v][0], svg)
        for v, fig in fan_panels(results.daily, fan_variables(results.daily))
    ]
    distributions = _chart(
        distribution_figure(decision), figs / "distributions", "Distributions across paths", svg
    )
    events = _chart(events_figure(results), figs / "events", "Event timelines", svg)
    scenario = scenario_dict(results)
    title = f"hashfleet report: {meta.get('scenario_name', scenario.get('name', 'run'))}"
    body = [
        _header(title, scenario.get("description", ""), _run_facts(meta)),
        _headline(table, decision, results),
        "<h2>Decision metrics</h2>",
        _decision_table(table),
        f"<p class='note'>{_NOTE_INTERVALS}</p>",
        distributions,
        "<h2>Daily paths across paths</h2>",
        _FAN_KEY,
        "<div class='grid'>" + "".join(charts) + "</div>",
        "<h2>Events</h2>",
        events,
        _metadata(meta, results.resolved_scenario_yaml),
    ]
    meta_s = time.perf_counter() - t0
    return _write(out / REPORT_NAME, title, body, meta_s)


def write_comparison_report(cmp: Comparison, out_dir: str | Path, *, svg: bool = True) -> Path:
    """The report of a comparison: per-strategy decision metrics, the paired table and the
    paired-difference distributions per metric.

    Parameters
    ----------
    cmp : Comparison
    out_dir : str or pathlib.Path
    svg : bool

    Returns
    -------
    pathlib.Path
        ``out_dir/report.html``.
    """
    from hashfleet.results.comparison_plots import comparison_figure, strategy_fan_figure
    from hashfleet.results.decision import summarize

    t0 = time.perf_counter()
    out = Path(out_dir)
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    m = cmp.metadata
    ref = cmp.strategies[0]
    per_strategy = {
        s: summarize(cmp.per_path[s])
        for s in cmp.strategies
        if {"npv_usd", "final_cash_usd", "irr_per_year", "gross_margin_pct"} <= set(cmp.per_path[s])
    }
    chart = _chart(comparison_figure(cmp), figs / "paired_differences", "Paired differences", svg)
    daily = {s: cmp.daily[s] for s in cmp.strategies if s in getattr(cmp, "daily", {})}
    fans = ""
    if len(daily) == len(cmp.strategies):
        fans = _chart(
            strategy_fan_figure(daily),
            figs / "strategy_fans",
            "Per strategy: median (line), P25–P75 (band), P5 and P95 (dotted)",
            svg,
        )
    draws = "independent draws" if m.get("independent") else "common random numbers"
    facts = {
        "strategies": ", ".join(cmp.strategies),
        "reference": ref,
        "paths": f"{m.get('paths', 0):,}",
        "seed": m.get("seed"),
        "draws": draws,
        "intervals": f"{m.get('confidence', 0.95):.0%}",
        "hashfleet": m.get("hashfleet_version", ""),
        "wall time": f"{m['wall_time_s']:.1f} s" if "wall_time_s" in m else "",
    }
    title = f"hashfleet comparison: {m.get('scenario', '')}"
    body = [_header(title, m.get("description", ""), facts)]
    if per_strategy:
        body += ["<h2>Decision metrics per strategy</h2>", _strategy_table(per_strategy)]
        body.append(f"<p class='note'>{_NOTE_INTERVALS}</p>")
    if fans:
        body += ["<h2>Daily paths per strategy</h2>", fans]
    body += [
        f"<h2>Paired per path vs {html.escape(ref)}</h2>",
        _paired_table(cmp),
        chart,
    ]
    return _write(out / REPORT_NAME, title, body, time.perf_counter() - t0)


def _chart(fig: Figure, stem: Path, alt: str, svg: bool) -> str:
    from hashfleet.results.plots import save_figure

    png = save_figure(fig, stem, svg=svg)
    data = base64.b64encode(png).decode("ascii")
    name = html.escape(stem.name)
    return (
        f"<figure><img class='chart' data-name='{name}' alt='{html.escape(alt)}' "
        f"src='data:image/png;base64,{data}'/>"
        f"<figcaption>{html.escape(alt)} · figures/{name}.png"
        f"{f', {name}.svg' if svg else ''}</figcaption></figure>"
    )


def _run_facts(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "paths": f"{meta.get('paths', 0):,}",
        "days": f"{meta.get('horizon_days', 0):,} from {meta.get('start', '')}",
        "seed": meta.get("seed"),
        "hashfleet": meta.get("hashfleet_version", ""),
        "backend": meta.get("backend", ""),
        "run time": f"{meta['wall_time_s']:.1f} s" if "wall_time_s" in meta else "",
        "created": meta.get("created_utc", ""),
        "scenario hash": str(meta.get("scenario_hash", ""))[:12],
    }


def _header(title: str, description: str, facts: dict[str, Any]) -> str:
    items = "".join(
        f"<span><b>{html.escape(k)}</b> {html.escape(str(v))}</span>"
        for k, v in facts.items()
        if v not in ("", None)
    )
    return (
        f"<h1>{html.escape(title)}</h1><p class='desc'>{html.escape(str(description))}</p>"
        f"<div class='facts'>{items}</div>"
    )


def _headline(table: pd.DataFrame, decision: pd.DataFrame, results: Results) -> str:
    cards = []

    def card(stat: str, label: str) -> None:
        if stat in table.index:
            r = table.loc[stat]
            cards.append(
                f"<div class='card'><div class='v'>{format_value(r['estimate'], r['unit'])}</div>"
                f"<div class='l'>{html.escape(label)}</div><div class='ci'>"
                f"[{format_value(r['ci_low'], r['unit'])}, {format_value(r['ci_high'], r['unit'])}]"
                "</div></div>"
            )

    card("P(cash < 0 at any time)", "P(cash < 0 at any time)")
    card("P(cash < 0 at the end)", "P(cash < 0 at the end)")
    card("P(NPV < 0)", "P(NPV < 0)")
    card("payback day (median, paths that pay back)", "median payback (paths that pay back)")
    card("mean ebitda_margin_pct", "mean EBITDA margin")
    card("mean break_even_btc_price_usd", "mean break-even BTC price")
    price = results.daily.get("btc_price_usd_mean")
    if price is not None:
        cards.append(
            f"<div class='card'><div class='v'>{format_value(float(price[0]), 'USD')}</div>"
            "<div class='l'>BTC price on day 0</div><div class='ci'>for scale</div></div>"
        )
    return "<div class='cards'>" + "".join(cards) + "</div>"


def _decision_table(table: pd.DataFrame) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(stat))}</td>"
        f"<td class='num'>{format_value(r['estimate'], r['unit'])}</td>"
        f"<td class='num'>{format_value(r['ci_low'], r['unit'])} – "
        f"{format_value(r['ci_high'], r['unit'])}</td>"
        f"<td>{html.escape(str(r['method']))}</td><td class='num'>{int(r['n']):,}</td></tr>"
        for stat, r in table.iterrows()
    )
    return (
        "<table class='decision'><thead><tr><th>statistic</th><th>estimate</th>"
        "<th>95 % interval</th><th>interval</th><th>paths</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _strategy_table(per_strategy: dict[str, pd.DataFrame]) -> str:
    names = list(per_strategy)
    # the order of summarize(): the fullest table first, then any row only others have
    tables = sorted(per_strategy.values(), key=len, reverse=True)
    stats = list(dict.fromkeys(s for t in tables for s in t.index))
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = []
    for stat in stats:
        cells = []
        for n in names:
            t = per_strategy[n]
            if stat not in t.index:
                cells.append("<td>–</td>")
                continue
            r = t.loc[stat].to_dict()
            cells.append(
                f"<td class='num'>{format_value(r['estimate'], r['unit'])}<br><small>"
                f"[{format_value(r['ci_low'], r['unit'])}, {format_value(r['ci_high'], r['unit'])}]"
                "</small></td>"
            )
        body.append(f"<tr><td>{html.escape(stat)}</td>{''.join(cells)}</tr>")
    return (
        f"<table class='decision'><thead><tr><th>statistic</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _paired_table(cmp: Comparison) -> str:
    from hashfleet.finance.valuation import METRICS

    rows = []
    for r in cmp.paired.reset_index().to_dict("records"):
        metric = str(r["metric"])
        unit = METRICS[metric][0] if metric in METRICS else ""
        rows.append(
            f"<tr><td>{html.escape(str(r['strategy']))}</td><td>{html.escape(metric)}</td>"
            f"<td class='num'>{format_value(r['mean_diff'], unit)}</td>"
            f"<td class='num'>{format_value(r['ci_low'], unit)} – "
            f"{format_value(r['ci_high'], unit)}</td>"
            f"<td class='num'>{_p_cell(r)}</td><td>{_paths_cell(metric, r)}</td></tr>"
        )
    return (
        "<table class='decision'><thead><tr><th>strategy</th><th>metric</th>"
        "<th>mean difference</th><th>interval</th><th>P(beats reference)</th>"
        "<th>paths</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _p_cell(r: Mapping[Any, Any]) -> str:
    vals = [r.get(k) for k in ("p_beats", "p_low", "p_high")]
    if any(v is None or not np.isfinite(float(v)) for v in vals):
        return "–"
    return f"{vals[0]:.2f} [{vals[1]:.2f}, {vals[2]:.2f}]"


def _paths_cell(metric: str, r: Mapping[Any, Any]) -> str:
    """All paths, or how many lack the metric (no IRR) on either side."""
    n, gone = r.get("n"), r.get("n_missing")
    if n is None or gone is None or not np.isfinite(float(gone)) or not gone:
        return "all"
    what = "IRR" if metric.startswith("irr") else "value"
    share = 100.0 * float(gone) / (float(n) + float(gone))
    return f"{int(n):,} (no {what} on {share:.0f} % of paths)"


def _metadata(meta: dict[str, Any], resolved_yaml: str) -> str:
    m = json.dumps(meta, indent=2, default=_json_default)
    return (
        "<h2>Reproduce</h2><details><summary>Run metadata</summary>"
        f"<pre>{html.escape(m)}</pre></details>"
        "<details><summary>Resolved scenario (scenario.resolved.yaml)</summary>"
        f"<pre>{html.escape(resolved_yaml)}</pre></details>"
    )


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


def _write(target: Path, title: str, body: list[str], build_s: float) -> Path:
    from hashfleet.results.base import write_atomic

    doc = _TEMPLATE.format(
        title=html.escape(title),
        style=_STYLE,
        body="\n".join(body),
        script=_SCRIPT,
        build=f"{build_s:.1f}",
    )
    with write_atomic(target) as tmp:
        tmp.write_text(doc, encoding="utf-8")
    return target


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head><body>
<main>
{body}
<p class="note">Made by hashfleet in {build} s. Self-contained: no network needed.</p>
</main>
<ul id="report-errors" hidden></ul>
<script>{script}</script>
</body></html>
"""

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d232b;
margin:0;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;
border-bottom:1px solid #e3e6ea;padding-bottom:4px}
.desc{color:#555;margin:0 0 10px}.note{color:#666;font-size:12px}
.facts{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:13px;color:#333}
.facts b{color:#777;font-weight:500;margin-right:4px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0}
.card{flex:1 1 120px;border:1px solid #e3e6ea;border-radius:6px;padding:10px 12px}
.card .v{font-size:20px;font-weight:600;color:#1f5fa8}.card .l{font-size:12px;color:#444}
.card .ci{font-size:11px;color:#888}
table.decision{border-collapse:collapse;width:100%;font-size:13px}
table.decision th,table.decision td{border-bottom:1px solid #eceef1;padding:4px 8px;
text-align:left;vertical-align:top}
table.decision th{background:#f2f4f7}td.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:8px 14px}
figure{margin:6px 0}figure img{width:100%;height:auto;display:block}
figcaption{font-size:11px;color:#888}
.key{font-size:12px;color:#444}.sw{display:inline-block;width:22px;height:10px;
margin:0 4px 0 12px;vertical-align:middle}
pre{background:#f6f7f9;padding:10px;overflow:auto;font-size:12px;max-height:480px}
@media (max-width:800px){.grid{grid-template-columns:1fr}}
"""

_SCRIPT = """
(function(){var errs=document.getElementById('report-errors');
document.body.setAttribute('data-errors','0');
function note(m){var li=document.createElement('li');li.textContent=String(m);
errs.appendChild(li);document.body.setAttribute('data-errors',errs.children.length);}
window.addEventListener('error',function(e){note(e.message||'resource error');},true);
window.addEventListener('load',function(){var imgs=document.querySelectorAll('img.chart');
imgs.forEach(function(img){var ok=img.complete&&img.naturalWidth>0&&img.naturalHeight>0;
img.setAttribute('data-ok',ok?img.naturalWidth+'x'+img.naturalHeight:'0');
if(!ok){note('chart did not load: '+img.dataset.name);}});
document.body.setAttribute('data-charts-checked',imgs.length);});})();
"""
