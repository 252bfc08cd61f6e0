"""Run commands: ``run`` (simulate one scenario, print its summary) and ``report``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from hashfleet.cli.app import (
    _backend_options,
    _block_kwargs,
    _report_option,
    cli,
    file_argument,
    set_option,
)

__all__ = ["report_command", "run"]


@cli.command()
@file_argument
@click.option(
    "--paths", type=click.IntRange(min=1, max=10_000_000), help="Monte Carlo paths [run.paths]."
)
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), help="Root seed [run.seed].")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory [results/<scenario name>].",
)
@click.option(
    "--store-paths/--no-store-paths",
    default=None,
    help="Also write every path's daily series to paths.nc [run.outputs.store_paths].",
)
@click.option(
    "--chunk-paths",
    type=click.IntRange(min=1),
    help="Paths per chunk (a multiple of 250); results do not depend on it.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar [on when standard error is a terminal].",
)
@_report_option
@_backend_options
@set_option
def run(
    file: Path,
    paths: int | None,
    seed: int | None,
    out: Path | None,
    store_paths: bool | None,
    chunk_paths: int | None,
    progress: bool | None,
    write_report: bool,
    set_args: Sequence[str],
    **backend: Any,
) -> None:
    """Simulate scenario FILE and write its results to a directory.

    Writes summary.json, daily.nc (mean and quantiles across paths per day),
    per_path.nc, events.nc (every retarget and halving), scenario.resolved.yaml
    and, with --store-paths, paths.nc. Every file is written atomically.

    With --backend processes or dask and local workers (--workers N), the lockstep
    run is split across the workers through shared memory (no block files). With
    --block-paths, --resume, --keep-going or --scheduler, the paths run as
    independent blocks written one by one to OUT/blocks/ (store.zarr holds every
    path's daily values); --resume then skips the blocks a crashed or interrupted
    run finished. Results are identical on every backend.

    \b
    Examples:
      hashfleet run scenarios/baseline.yaml
      hashfleet run scenarios/baseline.yaml --paths 5000 --seed 7 --out results/b7
      hashfleet run my.yaml --set run.horizon_days=365 --store-paths
      hashfleet run my.yaml --backend dask --workers 2 --out results/my
      hashfleet run my.yaml --backend dask --scheduler tcp://10.0.0.5:8786 --out /shared/my
      hashfleet run my.yaml --backend processes --out results/my --resume
    """
    from hashfleet.runner import simulate
    from hashfleet.runner.plan import Mode, choose_plan
    from hashfleet.scenario import load_scenario

    sc = load_scenario(file, set_args=set_args)
    if progress is None:
        progress = sys.stderr.isatty()
    out_dir = out if out is not None else Path("results") / sc.name
    n = paths if paths is not None else sc.run.paths
    click.echo(
        f"Simulating {sc.name}: {n:,} paths x {sc.run.horizon_days:,} days "
        f"from {sc.run.start.isoformat()}",
        err=True,
    )
    kwargs: dict[str, Any] = {
        "paths": paths,
        "seed": seed,
        "store_paths": store_paths,
        "chunk_paths": chunk_paths,
    }
    plan = choose_plan(**backend, chunk_paths=chunk_paths)
    if plan.mode is not Mode.LOCKSTEP:
        # block files only where they are needed: to resume or keep going, for a chosen
        # block size, or for a cluster's workers (a shared directory); local workers
        # otherwise run the lockstep split across them, through shared memory
        run_dir = out_dir / "blocks" if plan.block_files else None
        kwargs |= _block_kwargs(backend, run_dir, progress)
        res = simulate(sc, **kwargs)
    elif progress:
        with click.progressbar(length=sc.run.horizon_days, label="days", file=sys.stderr) as bar:
            res = simulate(sc, progress=lambda done, total: bar.update(1), **kwargs)
    else:
        res = simulate(sc, **kwargs)
    res.save(out_dir)
    click.echo(_run_report(res))
    if write_report:
        from hashfleet.results.report import write_report as make_report
        from hashfleet.results.tables import write_tables

        write_tables(res, out_dir / "tables")
        click.echo(f"Report: {make_report(res, out_dir)}")
    click.echo(f"Results written to {out_dir}/")


@cli.command("report")
@click.argument("results_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--no-svg", is_flag=True, help="Write the charts as PNG only.")
def report_command(results_dir: Path, no_svg: bool) -> None:
    """Write RESULTS_DIR/report.html from what `run` or `compare` saved there.

    One self-contained HTML file (charts inlined; opens with no network): decision
    metrics with intervals, fan charts of the daily variables, distributions,
    event timelines, the run's metadata and resolved scenario; for a comparison,
    per-strategy decision metrics and paired differences. Every chart is also
    written to RESULTS_DIR/figures/ as PNG and SVG.

    \b
    Examples:
      hashfleet report results/baseline
      hashfleet report results/strategies-baseline-compare
    """
    from hashfleet.results.report import report

    click.echo(f"Report: {report(results_dir, svg=not no_svg)}")


def _run_report(res: Any) -> str:
    """A short plain-text report of a run's headline figures."""
    m = res.metadata
    pp = res.summary["per_path"]
    rows = [
        ("BTC produced", "total_production_btc", "{:,.1f}"),
        ("Revenue (USD m)", "total_revenue_usd", "m"),
        ("Power cost (USD m)", "total_power_cost_usd", "m"),
        ("Cash at the end (USD m)", "final_cash_usd", "m"),
        ("BTC price at the end (USD)", "final_btc_price_usd", "{:,.0f}"),
        ("Hashprice at the end (USD/PH/day)", "final_hashprice_usd_per_ph_day", "{:,.2f}"),
        ("Network hashrate at the end (EH/s)", "final_network_hashrate_ehs", "{:,.0f}"),
        ("Retargets per path", "retargets", "{:,.1f}"),
        ("Halvings per path", "halvings", "{:,.2f}"),
    ]
    qs = [k for k in next(iter(pp.values())) if k.startswith("q")]
    lo, mid, hi = qs[0], qs[len(qs) // 2], qs[-1]
    head = f"{'':36} {'mean':>14} {lo:>14} {mid:>14} {hi:>14}"
    lines = [
        f"{m['scenario_name']}: {m['paths']:,} paths, seed {m['seed']}, "
        f"{m['horizon_days']:,} days from {m['start']}, {m['wall_time_s']:.1f} s",
        head,
    ]
    for label, key, fmt in rows:
        if key not in pp:
            continue
        d = pp[key]

        def f(x: float, fmt: str = fmt) -> str:
            return f"{x / 1e6:,.1f}" if fmt == "m" else fmt.format(x)

        lines.append(f"{label:36} {f(d['mean']):>14} {f(d[lo]):>14} {f(d[mid]):>14} {f(d[hi]):>14}")
    return "\n".join(lines)
