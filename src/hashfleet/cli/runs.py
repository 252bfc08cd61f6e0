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
@click.option(
    "--max-memory-gb",
    type=click.FloatRange(min=0, min_open=True),
    help="Refuse the run if its estimated peak memory exceeds this many GiB "
    "[HASHFLEET_MAX_MEMORY_GB, else the memory available now; inf: no check].",
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
    svg: bool,
    set_args: Sequence[str],
    max_memory_gb: float | None = None,
    **backend: Any,
) -> None:
    """Simulate scenario FILE and write its results to a directory.

    Writes summary.json, daily.nc (mean and quantiles across paths per day),
    per_path.nc, events.nc (every retarget and halving), scenario.resolved.yaml
    and, with --store-paths, paths.nc. OUT is written beside as a new folder and
    swapped in whole: it holds one run's complete results or stays as it was
    (Ctrl-C, SIGTERM, a full disk). An OUT holding other files is refused. A run whose
    estimated memory exceeds --max-memory-gb is refused before it starts.

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
    from hashfleet.results.render import ReportProcess
    from hashfleet.scenario import load_scenario

    sc = load_scenario(file, set_args=set_args)
    with ReportProcess(enabled=write_report) as drawer:  # warms up while the paths run
        _run(
            sc,
            out,
            paths,
            seed,
            store_paths,
            chunk_paths,
            progress,
            drawer,
            svg,
            backend,
            max_memory_gb,
        )


def _run(
    sc: Any,
    out: Path | None,
    paths: int | None,
    seed: int | None,
    store_paths: bool | None,
    chunk_paths: int | None,
    progress: bool | None,
    drawer: Any,
    svg: bool,
    backend: dict[str, Any],
    max_memory_gb: float | None = None,
) -> None:
    from hashfleet.runner import simulate
    from hashfleet.runner.plan import Mode, choose_plan

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
        "max_memory_gb": max_memory_gb,
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
    click.echo(_run_report(res))
    from hashfleet.results.folder import staged_folder

    # one folder, complete from this run or untouched: written beside, then swapped in; the
    # report is drawn into it too (by the helper process while we save, when it runs)
    drawing = drawer is not None and drawer.enabled
    with staged_folder(out_dir, "run", keep=("blocks",)) as stage:
        if drawing:
            drawer.submit(res, stage, svg=svg)
        res.write_files(stage)
        if drawing:
            from hashfleet.results.tables import write_tables

            write_tables(res, stage / "tables")
            drawer.wait()
    if drawing:
        click.echo(f"Report: {out_dir / 'report.html'}")
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
