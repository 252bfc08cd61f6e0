"""Study commands (many simulations each): ``sweep``, ``compare``, ``calibrate`` and
``backtest``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from hashfleet.cli.app import (
    F,
    _backend_options,
    _block_kwargs,
    _report_option,
    cli,
    file_argument,
    set_option,
)

__all__ = ["backtest", "calibrate", "compare_command", "sweep"]


@cli.command()
@file_argument
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output directory: sweep.parquet, sweep.csv and scenarios/<id>/.",
)
@click.option(
    "--keep-blocks",
    is_flag=True,
    help="Keep each scenario's block store (every path's daily values) after it is summarised.",
)
@click.option("--progress/--no-progress", default=None, help="Report each finished block.")
@_backend_options
@set_option
def sweep(
    file: Path,
    out: Path,
    keep_blocks: bool,
    progress: bool | None,
    set_args: Sequence[str],
    **backend: Any,
) -> None:
    """Run every scenario of the sweep: section of FILE and tabulate them.

    The sweep: section lists values per dotted field path, as a cartesian grid: or
    as zip: lists of equal length; a field that is itself a list is swept with a list
    of lists. Writes OUT/sweep.parquet and OUT/sweep.csv (one row per scenario id:
    status, parameters and per-path summary metrics) and each scenario's resolved
    file and summary.json under OUT/scenarios/<id>/. Exits 1 if a block failed
    (with --keep-going after finishing the rest).

    \b
    Examples:
      hashfleet sweep scenarios/sweep-baseline.yaml --out results/sweep
      hashfleet sweep scenarios/sweep-baseline.yaml --out results/sweep --backend dask --workers 2
      hashfleet sweep my.yaml --out results/s --backend processes --resume --keep-going
    """
    from hashfleet.runner.jobs import BlocksFailedError
    from hashfleet.studies.sweep import run_sweep

    if progress is None:
        progress = sys.stderr.isatty()
    on_block = _block_kwargs(backend, out, progress)["on_block"]
    res = run_sweep(
        file,
        out,
        set_args=set_args,
        keep_blocks=keep_blocks,
        on_block=on_block,
        **backend,
    )
    t = res.table
    cols = ["scenario_id", "status", *res.parameters]
    for c in ("total_production_btc_mean", "final_cash_usd_mean"):
        if c in t.columns:
            cols.append(c)
    click.echo(t[cols].to_string(index=False, float_format=lambda x: f"{x:,.4g}"))
    click.echo(f"{len(t)} scenarios; table written to {out}/sweep.parquet and {out}/sweep.csv")
    if res.failures:
        raise BlocksFailedError(res.failures, total=res.blocks_run)


@cli.command("compare")
@file_argument
@click.option(
    "--paths", type=click.IntRange(min=2, max=10_000_000), help="Monte Carlo paths [run.paths]."
)
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), help="Root seed [run.seed].")
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help="Metric to compare (repeatable) [npv_usd, free_cash_flow_usd, production_btc, "
    "all_in_cost_usd_per_btc, capex_usd].",
)
@click.option(
    "--strategy",
    "strategies",
    multiple=True,
    help="Strategy to run (repeatable; the first is the reference) [all].",
)
@click.option("--confidence", type=float, default=0.95, show_default=True, help="Interval level.")
@click.option(
    "--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), help="Write CSV."
)
@click.option(
    "--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON."
)
@click.option(
    "--independent",
    is_flag=True,
    help="Give each strategy its own seed (unpaired; to see what common numbers gain).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory: comparison.json, per_path.parquet/.csv, report.html "
    "[results/<scenario name>-compare].",
)
@click.option(
    "--store-paths/--no-store-paths",
    default=None,
    help="Keep every path's daily values while running, for the cash-path metrics "
    "(P(cash < 0 at any time), payback) [run.outputs.store_paths].",
)
@_report_option
@set_option
def compare_command(
    file: Path,
    paths: int | None,
    seed: int | None,
    metrics: Sequence[str],
    strategies: Sequence[str],
    confidence: float,
    csv_out: Path | None,
    json_out: Path | None,
    independent: bool,
    out: Path | None,
    store_paths: bool | None,
    write_report: bool,
    set_args: Sequence[str],
) -> None:
    """Run the strategies of scenario FILE on common random numbers and compare them.

    Every strategy runs on the same seed, so the price, fee, hashrate and luck draws of
    each path coincide; differences are paired per path against the first strategy,
    with confidence intervals and the probability of beating it.

    \b
    Examples:
      hashfleet compare scenarios/strategies-baseline.yaml --paths 250 --set run.horizon_days=730
      hashfleet compare my.yaml --metric npv_usd --metric irr_per_year --csv cmp.csv
    """
    from hashfleet.studies.compare import compare

    cmp = compare(
        file,
        paths=paths,
        seed=seed,
        metrics=metrics or None,
        strategies=strategies or None,
        set_args=set_args,
        confidence=confidence,
        independent=independent,
        store_paths=store_paths,
    )
    click.echo(cmp.to_text())
    if write_report:
        from hashfleet.results.report import write_comparison_report
        from hashfleet.results.tables import save_comparison

        out_dir = (
            out if out is not None else Path("results") / f"{cmp.metadata['scenario']}-compare"
        )
        save_comparison(cmp, out_dir)
        click.echo(f"Report: {write_comparison_report(cmp, out_dir)}")
    if csv_out is not None:
        cmp.to_csv(csv_out)
        click.echo(f"wrote {csv_out}")
    if json_out is not None:
        json_out.write_text(cmp.to_json(), encoding="utf-8")
        click.echo(f"wrote {json_out}")


def _date_option(name: str, default: str | None, help_text: str) -> Callable[[F], F]:
    return click.option(
        name,
        "from_date" if name == "--from" else "to_date",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=default,
        show_default=default is not None,
        help=help_text,
    )


@cli.command()
@_date_option("--from", "2016-01-01", "First day of the in-sample period.")
@_date_option("--to", "2019-12-31", "Last day of the in-sample period.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the calibration JSON here (default: print it).",
)
@click.option(
    "--max-evaluations",
    type=click.IntRange(min=2),
    default=300,
    show_default=True,
    help="Bound on objective evaluations (each one deterministic simulation).",
)
def calibrate(from_date: Any, to_date: Any, out: Path | None, max_evaluations: int) -> None:
    """Fit the endogenous hashrate model's defaults to the shipped history.

    \b
    Examples:
      hashfleet calibrate --out calibration.json
      hashfleet calibrate --from 2017-01-01 --to 2019-12-31
    """
    import json

    from hashfleet.studies.calibration import calibrate as fit

    result = fit(from_date.date(), to_date.date(), max_evaluations=max_evaluations)
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text)
    f = result["fit"]
    click.echo(
        f"in-sample {result['in_sample']['from']}..{result['in_sample']['to']}: RMSE log "
        f"hashrate {f['rmse_log_hashrate']} (start guess {f['rmse_log_hashrate_start_guess']}), "
        f"{f['evaluations']} evaluations; wrote {out}"
    )


@cli.command()
@_date_option("--from", None, "First day of the back-test.")
@_date_option("--to", None, "Last day of the back-test.")
@click.option("--paths", type=click.IntRange(min=1, max=10_000_000), default=250, show_default=True)
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=0, show_default=True)
@click.option(
    "--shock-rate",
    type=click.FloatRange(min=0),
    default=0.5,
    show_default=True,
    help="Random supply shocks per year (per path).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for summary.json, CSV/Markdown tables and PNG plots.",
)
def backtest(
    from_date: Any, to_date: Any, paths: int, seed: int, shock_rate: float, out: Path
) -> None:
    """Back-test the endogenous network on history: real price, real start, MC bands.

    \b
    Examples:
      hashfleet backtest --from 2020-01-01 --to 2025-12-31 --out backtest/
    """
    from hashfleet.studies.backtest import backtest as run_backtest
    from hashfleet.studies.backtest import write_backtest

    if from_date is None or to_date is None:
        raise click.UsageError("--from and --to are required")
    res = run_backtest(
        from_date.date(), to_date.date(), paths=paths, seed=seed, shock_rate_per_year=shock_rate
    )
    write_backtest(res, out)
    click.echo((out / "table.md").read_text(), nl=False)
