"""The ``hashfleet`` command: parse arguments, call the library, format the result.

Manners (every command gets them from :class:`HashfleetGroup`):

* a :class:`~hashfleet.errors.HashfleetError` prints ``TypeName: message`` to stderr and
  exits with its ``exit_code`` (2 for input errors, 1 for run failures); a
  :class:`~hashfleet.errors.ScenarioError` with several issues prints one issue per line,
  ``file:line:col: field.path: message``;
* any other exception prints ``InternalError: ...`` and exits 1;
* ``--debug`` shows the traceback instead.

Adding a command: write a function under the marked place below, decorate it with
``@cli.command()`` (or ``@scenario.command()``), use :func:`set_option` for ``--set``,
and let errors propagate -- the group formats them.  Put an ``Examples`` section in
the docstring with ``\\b`` before each example block so click keeps the layout.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml

from hashfleet.errors import HashfleetError, InputError, ScenarioError
from hashfleet.version import __version__

__all__ = ["cli", "format_error", "main", "set_option"]

F = TypeVar("F", bound=Callable[..., Any])

_DEBUG_KEY = "hashfleet.debug"


def format_error(error: BaseException) -> str:
    """How the CLI shows an error: ``TypeName: message``.

    Parameters
    ----------
    error : BaseException

    Returns
    -------
    str
        For a :class:`~hashfleet.errors.ScenarioError` with several issues, a header
        line then one ``file:line:col: field.path: message`` line per issue.
    """
    if isinstance(error, ScenarioError) and len(error.issues) > 1:
        lines = [f"ScenarioError: {len(error.issues)} issues"]
        lines.extend(str(i) for i in error.issues)
        return "\n".join(lines)
    if isinstance(error, HashfleetError):
        return f"{type(error).__name__}: {error}"
    return (
        f"InternalError: {type(error).__name__}: {error}\n"
        "This is a bug in hashfleet; run with --debug for the traceback."
    )


def _exit_code(error: BaseException) -> int:
    return error.exit_code if isinstance(error, HashfleetError) else 1


class HashfleetGroup(click.Group):
    """A click group that turns errors into ``TypeName: message`` and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if ctx.meta.get(_DEBUG_KEY):
                click.echo(traceback.format_exc(), err=True, nl=False)
            click.echo(format_error(error), err=True)
            ctx.exit(_exit_code(error))


def set_option(fn: F) -> F:
    """The ``--set PATH=VALUE`` option (repeatable), passed as ``set_args``."""
    return click.option(
        "--set",
        "set_args",
        multiple=True,
        metavar="PATH=VALUE",
        help="Replace one scenario value after extends, e.g. run.paths=100 or "
        "fleet.cohorts[0].units=5; VALUE is YAML. Repeatable.",
    )(fn)


file_argument = click.argument(
    "file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE"
)


@click.group(cls=HashfleetGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", prog_name="hashfleet", message="%(prog)s %(version)s"
)
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.option(
    "--check-invariants",
    is_flag=True,
    help="Check site capacity, cash conservation, finite and non-negative values every "
    "simulated day (slower; same as HASHFLEET_CHECK=1).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, check_invariants: bool) -> None:
    """Monte Carlo simulation of Bitcoin mining fleets.

    \b
    Examples:
      hashfleet validate scenarios/base.yaml
      hashfleet scenario show scenarios/base.yaml --resolved
      hashfleet --debug validate my.yaml
      hashfleet --check-invariants run scenarios/baseline.yaml --paths 250
    """
    ctx.meta[_DEBUG_KEY] = debug
    if check_invariants:
        import os

        from hashfleet.engine.invariants import ENV_VAR

        os.environ[ENV_VAR] = "1"  # worker processes inherit it


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@set_option
def validate(files: Sequence[Path], set_args: Sequence[str]) -> None:
    """Check scenario FILEs: schema, cross-field checks, extends and --set.

    Prints OK FILE for each valid file and every problem of every invalid one;
    exits 0 if all are valid, 2 otherwise.

    \b
    Examples:
      hashfleet validate scenarios/base.yaml
      hashfleet validate scenarios/*.yaml
      hashfleet validate my.yaml --set run.paths=100
    """
    from hashfleet.scenario import load_scenario

    code = 0
    for file in files:
        try:
            load_scenario(file, set_args=set_args)
        except HashfleetError as error:
            click.echo(format_error(error), err=True)
            code = max(code, error.exit_code)
        else:
            click.echo(f"OK {file}")
    if code:
        raise click.exceptions.Exit(code)


@cli.group()
def scenario() -> None:
    """Inspect scenarios and the scenario language.

    \b
    Examples:
      hashfleet scenario show my.yaml --resolved
      hashfleet scenario reference --out docs/scenario-reference.md
    """


@scenario.command("show")
@file_argument
@click.option(
    "--resolved",
    is_flag=True,
    help="Validate and print every field, defaults filled in, paths absolute.",
)
@set_option
def scenario_show(file: Path, resolved: bool, set_args: Sequence[str]) -> None:
    """Print FILE as YAML after extends and --set.

    Without --resolved: the merged scenario as written (not validated). With
    --resolved: the validated scenario with every default filled in, which loads
    back to the same scenario.

    \b
    Examples:
      hashfleet scenario show my.yaml
      hashfleet scenario show my.yaml --resolved --set run.paths=10
    """
    from hashfleet.scenario import dump_resolved, load_scenario, load_scenario_data

    if resolved:
        text = dump_resolved(load_scenario(file, set_args=set_args))
    else:
        data = load_scenario_data(file, set_args=set_args)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    click.echo(text, nl=False)


@scenario.command("reference")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def scenario_reference(out: Path | None) -> None:
    """Print the scenario reference (Markdown), generated from the schema.

    \b
    Examples:
      hashfleet scenario reference | less
      hashfleet scenario reference --out docs/scenario-reference.md
    """
    from hashfleet.scenario import reference_markdown

    text = reference_markdown()
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")


# ---------------------------------------------------------------------------------
# More commands go here: one small function each (see the module docstring).
# ---------------------------------------------------------------------------------


def _backend_options(fn: F) -> F:
    """``--backend``, ``--workers``, ``--scheduler``, ``--block-paths``, ``--resume`` and
    ``--keep-going``, passed as keyword arguments of those names."""
    options = [
        click.option(
            "--backend",
            type=click.Choice(["in-process", "processes", "dask"]),
            default="in-process",
            show_default=True,
            help="Where the paths run: this process, local worker processes, or Dask.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            help="Worker processes (processes: [CPU count]; dask: LocalCluster size [2]).",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            help="Running Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --backend dask); "
            "the output directory must be on a file system the workers share.",
        ),
        click.option(
            "--block-paths",
            type=click.IntRange(min=1),
            help="Paths per block task, a multiple of 250 [1000]; results do not depend on it.",
        ),
        click.option(
            "--resume",
            is_flag=True,
            help="Keep the blocks an interrupted run into the same output finished.",
        ),
        click.option(
            "--keep-going",
            is_flag=True,
            help="If a block fails, finish the others, then report every failure.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _report_option(fn: F) -> F:
    return click.option(
        "--report/--no-report",
        "write_report",
        default=True,
        show_default=True,
        help="Write report.html (charts, decision metrics) and CSV/Parquet tables.",
    )(fn)


def _block_kwargs(backend: dict[str, Any], run_dir: Path | None, progress: bool) -> dict[str, Any]:
    """Keyword arguments of :func:`hashfleet.simulate` for a block run."""

    def report(outcome: Any) -> None:
        state = f"done in {outcome.wall_time_s:.1f} s" if outcome.ok else "FAILED"
        click.echo(f"{outcome.task.label}: {state}", err=True)

    return dict(backend) | {"run_dir": run_dir, "on_block": report if progress else None}


@cli.command()
@file_argument
@click.option("--paths", type=click.IntRange(min=1), help="Monte Carlo paths [run.paths].")
@click.option("--seed", type=click.IntRange(min=0), help="Root seed [run.seed].")
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


@cli.command("stress")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--paths", type=click.IntRange(1, 1_000_000), help="Monte Carlo paths [run.paths].")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Root seed [run.seed].")
@click.option(
    "--shock",
    "shocks",
    multiple=True,
    metavar="NAME[=LEVEL]",
    help="A named shock (price_crash, halving, power_spike, delivery_slip, tenant_default), "
    "optionally at a level; repeat for several [every shock at its default level].",
)
@click.option(
    "--horizon",
    "horizons",
    multiple=True,
    type=click.IntRange(1),
    metavar="DAYS",
    help="Horizon of the probabilities, in days; repeat [90, 365 and the run's horizon].",
)
@click.option(
    "--reverse",
    metavar="SHOCK",
    help="Reverse stress test: the smallest level of SHOCK at which P(insolvency) reaches "
    "--threshold, by bisection over paired runs.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="P(insolvency) the reverse stress test looks for.",
)
@click.option(
    "--between",
    nargs=2,
    type=float,
    metavar="LO HI",
    help="Bracket of the reverse stress test's levels [0 and the shock's largest sensible level].",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory for stress.json [results/<scenario name>-stress].",
)
@set_option
def stress_command(
    file: Path,
    paths: int | None,
    seed: int | None,
    shocks: Sequence[str],
    horizons: Sequence[int],
    reverse: str | None,
    threshold: float,
    between: tuple[float, float] | None,
    out: Path | None,
    set_args: Sequence[str],
) -> None:
    """Stress the capital plan of scenario FILE (its ``capital:`` section).

    Runs the plan under the scenario's own Monte Carlo and under each named shock on the
    same seed (common random numbers), and reports P(insolvency), P(covenant breach) and
    P(margin call) by horizon with 95 % intervals, the first-insolvency day, minimum cash,
    equity raised, VaR/CVaR of ending equity and the all-in cost per BTC.  With
    --reverse, also the smallest shock at which P(insolvency) reaches --threshold, with
    its standard error.

    \b
    Examples:
      hashfleet stress scenarios/baseline-capital.yaml --paths 500
      hashfleet stress scenarios/stress-2022.yaml --shock price_crash=0.3 --horizon 365
      hashfleet stress scenarios/baseline-capital.yaml --reverse price_crash --threshold 0.2
    """
    import json

    from hashfleet.results.base import write_atomic
    from hashfleet.scenario import load_scenario, load_scenario_data
    from hashfleet.studies.stress import (
        SHOCKS,
        engine_p_insolvency,
        format_stress,
        reverse_stress,
        stress,
    )

    sc = load_scenario(file, set_args=set_args)
    if sc.capital is None:
        raise InputError(f"{file}: capital: expected a capital plan section, got none")
    data = load_scenario_data(file, set_args=set_args)
    todo: dict[str, float | None] = {}
    for s in shocks:
        name, _, level = s.partition("=")
        if name not in SHOCKS:
            raise InputError(f"--shock: expected one of {sorted(SHOCKS)}, got {name!r}")
        try:
            todo[name] = float(level) if level else None
        except ValueError:
            raise InputError(
                f"--shock {name}: expected a number after '=', got {level!r}"
            ) from None
    n = paths if paths is not None else sc.run.paths
    click.echo(f"Stressing {sc.name}: {n:,} paths x {sc.run.horizon_days:,} days", err=True)
    result = stress(
        data,
        sc.capital,
        shocks=todo or None,
        paths=paths,
        seed=seed,
        horizons_days=list(horizons) or None,
        base_dir=file.parent,
    )
    click.echo(format_stress(result))
    if reverse is not None:
        if reverse not in _REVERSE_HI:
            raise InputError(
                f"--reverse: expected a shock whose harm grows with its level, one of "
                f"{sorted(_REVERSE_HI)}, got {reverse!r}"
            )
        lo, hi = between if between is not None else (0.0, _REVERSE_HI.get(reverse, 1.0))
        p = engine_p_insolvency(data, sc.capital, reverse, paths=n, base_dir=file.parent)
        rev = reverse_stress(p, lo, hi, threshold, seed=seed if seed is not None else sc.run.seed)
        result["reverse"] = {
            "shock": reverse,
            "unit": SHOCKS[reverse][2],
            "threshold": threshold,
            "level": rev.level,
            "se": rev.se,
            "ci95": [rev.lo, rev.hi],
            "p_at_level": rev.p_at_level,
            "evaluations": rev.evaluations,
        }
        click.echo(
            f"Reverse stress: P(insolvency) reaches {threshold:g} at {reverse} = "
            f"{rev.level:.4g} ({SHOCKS[reverse][2]}), SE {rev.se:.2g}, 95 % CI "
            f"[{rev.lo:.4g}, {rev.hi:.4g}] ({len(rev.evaluations)} paired runs)"
        )
    out_dir = out if out is not None else Path("results") / f"{sc.name}-stress"
    out_dir.mkdir(parents=True, exist_ok=True)
    with write_atomic(out_dir / "stress.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    click.echo(f"Results written to {out_dir}/stress.json")


#: Upper end of a reverse stress test's default bracket, per shock.
_REVERSE_HI = {
    "price_crash": 0.95,
    "power_spike": 5.0,
    "delivery_slip": 730.0,
    "tenant_default": 5.0,
}


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


@cli.command()
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@click.option(
    "--catalogue",
    "path",
    default="builtin:asic_catalogue",
    show_default=True,
    help="Catalogue CSV to list.",
)
def catalogue(as_csv: bool, path: str) -> None:
    """List the ASIC catalogue: model, release date, TH/s, W and J/TH.

    \b
    Examples:
      hashfleet catalogue
      hashfleet catalogue --csv > models.csv
    """
    from hashfleet.fleet.catalogue import load_catalogue

    df = load_catalogue(path).to_frame().reset_index()
    if as_csv:
        click.echo(df.to_csv(index=False), nl=False)
        return
    cols = [
        c
        for c in (
            "name",
            "manufacturer",
            "release_date",
            "hashrate_th_s",
            "power_w",
            "efficiency_j_per_th",
            "cooling",
        )
        if c in df.columns
    ]
    click.echo(df[cols].to_string(index=False, float_format=lambda x: f"{x:,.1f}"))


@cli.command("compare")
@file_argument
@click.option("--paths", type=click.IntRange(min=2), help="Monte Carlo paths [run.paths].")
@click.option("--seed", type=click.IntRange(min=0), help="Root seed [run.seed].")
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
@click.option("--paths", type=click.IntRange(min=1), default=250, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
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


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``hashfleet`` console script and ``python -m hashfleet``."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="hashfleet")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
