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

__all__ = ["backtest", "calibrate", "compare_command", "sensitivity", "sweep"]


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
@_report_option
@_backend_options
@set_option
def sweep(
    file: Path,
    out: Path,
    keep_blocks: bool,
    progress: bool | None,
    write_report: bool,
    svg: bool,
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
    if write_report:
        from hashfleet.results.study_report import write_sweep_report

        click.echo(f"Report: {write_sweep_report(t, res.parameters, out, svg=svg)}")
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
    svg: bool,
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
        from hashfleet.results.folder import staged_folder
        from hashfleet.results.report import write_comparison_report
        from hashfleet.results.tables import write_comparison_files

        out_dir = (
            out if out is not None else Path("results") / f"{cmp.metadata['scenario']}-compare"
        )
        with staged_folder(out_dir, "comparison") as stage:
            write_comparison_files(cmp, stage)
            write_comparison_report(cmp, stage, svg=svg)
        click.echo(f"Report: {out_dir / 'report.html'}")
    if csv_out is not None:
        cmp.to_csv(csv_out)
        click.echo(f"wrote {csv_out}")
    if json_out is not None:
        _write_text(json_out, cmp.to_json())
        click.echo(f"wrote {json_out}")


def _write_text(path: Path, text: str) -> None:
    """Write a file atomically (complete or untouched, also on Ctrl-C or a full disk)."""
    from hashfleet.results.base import write_atomic
    from hashfleet.results.folder import writing

    with writing(path), write_atomic(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


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
    help="Write the calibration JSON here (default: print it, unless --name).",
)
@click.option(
    "--name",
    help="Store the calibration as calibrations/NAME.json (a scenario uses it with "
    "network.hashrate.calibration: NAME).",
)
@click.option(
    "--max-evaluations",
    type=click.IntRange(min=2),
    default=300,
    show_default=True,
    help="Bound on objective evaluations of the fit (each one deterministic simulation).",
)
@click.option(
    "--uncertainty/--no-uncertainty",
    default=True,
    show_default=True,
    help="Also compute the parameter distribution (Laplace, 73 more evaluations) and fit "
    "the regimes.",
)
@click.option("--progress/--no-progress", default=True, help="Report each evaluation on stderr.")
def calibrate(
    from_date: Any,
    to_date: Any,
    out: Path | None,
    name: str | None,
    max_evaluations: int,
    uncertainty: bool,
    progress: bool,
) -> None:
    """Fit the endogenous hashrate model's defaults to the shipped history.

    Prints progress per evaluation on stderr (phase, evaluation / planned, RMSE, best, time
    left), then the optimiser's status and the Hessian's condition.

    \b
    Examples:
      hashfleet calibrate --name history-2016-2019
      hashfleet calibrate --from 2016-01-01 --to 2025-12-31 --name history-2016-2025
      hashfleet calibrate --out calibration.json --no-uncertainty
    """
    import json

    from hashfleet.studies.calibration import calibrate as fit

    tty = sys.stderr.isatty()
    lead = "\r" if tty else ""  # one line, rewritten, on a terminal; one line each otherwise

    def report(p: dict[str, Any]) -> None:
        click.echo(
            f"{lead}[{p['phase']}] evaluation {p['evaluation']}/{p['planned']}  rmse "
            f"{p['rmse']:.4f}  best {p['best']:.4f}  elapsed {p['elapsed_s']:.0f} s  "
            f"left <= {p['eta_s']:.0f} s ",
            err=True,
            nl=not tty,
        )

    result = fit(
        from_date.date(),
        to_date.date(),
        max_evaluations=max_evaluations,
        uncertainty=uncertainty,
        progress=report if progress else None,
    )
    if progress and tty:
        click.echo("", err=True)
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if name is not None:
        out = Path("calibrations") / f"{name}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
    if out is None:
        click.echo(text, nl=False)
        return
    _write_text(out, text)
    f, c = result["fit"], result["convergence"]
    click.echo(
        f"in-sample {result['in_sample']['from']}..{result['in_sample']['to']}: RMSE log "
        f"hashrate {f['rmse_log_hashrate']} (start guess {f['rmse_log_hashrate_start_guess']}), "
        f"{f['evaluations']} evaluations in {f['wall_time_s']} s"
    )
    click.echo(f"optimiser: {c['optimiser']} status {c['status']} ({c['message']})")
    if "hessian_condition_number" in c:
        u = result["uncertainty"]
        click.echo(
            f"Hessian: condition number {c['hessian_condition_number']:.3g}, "
            f"{c['hessian_eigenvalues_floored']} eigenvalue(s) floored; n_eff {u['n_eff']} of "
            f"{u['n_days']} days; sd (transformed) {u['sd']}"
        )
        click.echo(f"regimes: {result['regimes']}")
    click.echo(f"wrote {out}")


@cli.command()
@_date_option("--from", None, "First day of the back-test (with --rolling: first origin).")
@_date_option("--to", None, "Last day of the back-test (with --rolling: last origin).")
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
    "--rolling",
    is_flag=True,
    help="Rolling-origin back-test: origins every 6 months (default 2016-01-01..2024-01-01), "
    "horizons 3/6/12/24 months, coverage, CRPS and log score against the baselines.",
)
@click.option(
    "--calibration",
    default="history-2016-2019",
    show_default=True,
    help="The calibration (name or .json) the forecast model draws its parameters and "
    "regimes from (--rolling, --forecast).",
)
@click.option(
    "--forecast",
    is_flag=True,
    help="Single window: each path draws its parameters from --calibration, with its "
    "regimes (instead of the point model with --shock-rate shocks).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for summary.json, CSV/Markdown tables, PNG plots and report.html.",
)
@_report_option
def backtest(
    from_date: Any,
    to_date: Any,
    paths: int,
    seed: int,
    shock_rate: float,
    rolling: bool,
    calibration: str,
    forecast: bool,
    out: Path,
    write_report: bool,
    svg: bool,
) -> None:
    """Back-test the endogenous network on history: real price, real start, MC bands.

    \b
    Examples:
      hashfleet backtest --from 2020-01-01 --to 2025-12-31 --out backtest/
      hashfleet backtest --from 2020-01-01 --to 2025-12-31 --forecast --out backtest-fc/
      hashfleet backtest --rolling --out backtest-rolling/
    """
    from hashfleet.studies.backtest import backtest as run_backtest
    from hashfleet.studies.backtest import write_backtest

    if rolling:
        from hashfleet.studies.rolling import (
            default_origins,
            format_table,
            rolling_backtest,
            write_rolling,
        )

        kw = {}
        if from_date is not None:
            kw["first"] = from_date.date()
        if to_date is not None:
            kw["last"] = to_date.date()
        rres = rolling_backtest(
            default_origins(**kw),
            paths=paths,
            seed=seed,
            calibration=calibration,
            progress=lambda line: click.echo(line, err=True),
        )
        files = write_rolling(rres, out)
        click.echo(format_table(rres.table), nl=False)
        click.echo(f"wrote {', '.join(str(f) for f in files)}")
        return
    if from_date is None or to_date is None:
        raise click.UsageError("--from and --to are required")
    res = run_backtest(
        from_date.date(),
        to_date.date(),
        paths=paths,
        seed=seed,
        shock_rate_per_year=shock_rate,
        calibration=calibration if forecast else None,
    )
    write_backtest(res, out)
    click.echo((out / "table.md").read_text(), nl=False)
    if write_report:
        from hashfleet.results.study_report import write_backtest_report

        click.echo(f"Report: {write_backtest_report(res, out, svg=svg)}")


@cli.command("sensitivity")
@file_argument
@click.option(
    "--vary",
    "vary",
    multiple=True,
    metavar="FIELD=LOW:HIGH",
    help="A numeric scenario field (dotted path, as --set) and its range; repeatable.",
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help="Per-path metric (repeatable) [npv_usd]: any of the per-path or decision metrics.",
)
@click.option(
    "--method",
    type=click.Choice(["tornado", "sobol", "both"]),
    default="both",
    show_default=True,
    help="One-at-a-time tornado, global Sobol indices, or both.",
)
@click.option(
    "--samples",
    type=click.IntRange(min=2),
    default=32,
    show_default=True,
    help="Sobol base sample N (a power of 2); N x (factors + 2) runs.",
)
@click.option(
    "--cases",
    "with_cases",
    is_flag=True,
    help="Also run the scenario's weighted cases: section and combine them into one mixture.",
)
@click.option(
    "--paths",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Monte Carlo paths of every run.",
)
@click.option("--seed", type=click.IntRange(min=0), help="Root seed of every run [run.seed].")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory [results/<scenario name>-sensitivity].",
)
@click.option("--progress/--no-progress", default=None, help="Show a progress bar per study.")
@_report_option
@set_option
def sensitivity(
    file: Path,
    vary: Sequence[str],
    metrics: Sequence[str],
    method: str,
    samples: int,
    with_cases: bool,
    paths: int,
    seed: int | None,
    out: Path | None,
    progress: bool | None,
    write_report: bool,
    svg: bool,
    set_args: Sequence[str],
) -> None:
    """Sensitivity of scenario FILE's metrics to its inputs, on common random numbers.

    Every run uses the same seed, so differences come from the inputs, not from luck.
    Tornado: each --vary field at its LOW and HIGH, the others at the scenario's value
    (2 runs per field and the base). Sobol: the fields uniform on [LOW, HIGH], first-order
    and total indices with bootstrap intervals (N x (fields + 2) runs). --cases: the
    scenario's cases: section (bear/base/bull with probabilities) combined into one
    mixture distribution. Writes OUT/sensitivity.json, CSV tables and report.html.

    \b
    Examples:
      hashfleet sensitivity scenarios/baseline.yaml --paths 50 \\
        --vary market.btc_price.start_usd=60000:140000 \\
        --vary market.btc_price.volatility_per_year=0.3:0.9
      hashfleet sensitivity my.yaml --vary finance.discount_rate_per_year=0.05:0.15 --method tornado
      hashfleet sensitivity my.yaml --cases --metric npv_usd --metric final_cash_usd
    """
    import json
    import time

    import yaml

    from hashfleet.progress import progress_bar
    from hashfleet.results.base import write_atomic
    from hashfleet.scenario import dump_resolved, load_scenario
    from hashfleet.studies.sensitivity import (
        Factor,
        SensitivityResult,
        base_values,
        cases_mixture,
        engine_evaluator,
        parse_vary,
        sobol_indices,
        tornado,
    )

    t0 = time.perf_counter()
    sc = load_scenario(file, set_args=set_args)
    if not vary and not with_cases:
        raise click.UsageError("give at least one --vary FIELD=LOW:HIGH, or --cases")
    if with_cases and not sc.cases:
        raise click.UsageError(f"--cases: {file} has no cases: section")
    parsed = [parse_vary(v) for v in vary]
    base = base_values(yaml.safe_load(dump_resolved(sc)), [p[0] for p in parsed])
    factors = [
        Factor(f, lo, hi, float(base[f]), integer=isinstance(base[f], int)) for f, lo, hi in parsed
    ]
    chosen = list(metrics) or ["npv_usd"]
    sd = seed if seed is not None else sc.run.seed
    if progress is None:
        progress = sys.stderr.isatty()
    calls = {"n": 0}
    evaluate_engine = engine_evaluator(
        file, paths=paths, seed=sd, metrics=chosen, set_args=set_args
    )

    def evaluate(overrides: Any) -> Any:
        calls["n"] += 1
        return evaluate_engine(overrides)

    result = SensitivityResult(sc.name, chosen, factors)
    if factors and method in ("tornado", "both"):
        click.echo(f"Tornado: {2 * len(factors) + 1} runs of {paths:,} paths", err=True)
        result.tornado = tornado(factors, evaluate, chosen)
    if factors and method in ("sobol", "both"):
        total = samples * (len(factors) + 2)
        click.echo(f"Sobol: {total} runs of {paths:,} paths", err=True)
        if progress:
            with progress_bar(total, "sobol runs") as bar:
                result.sobol = sobol_indices(
                    factors, evaluate, chosen, n_base=samples, seed=sd, on_point=bar
                )
        else:
            result.sobol = sobol_indices(factors, evaluate, chosen, n_base=samples, seed=sd)
    if with_cases and sc.cases:
        cases = {name: (c.weight, dict(c.set)) for name, c in sc.cases.items()}
        result.cases, result.case_values = cases_mixture(cases, evaluate, chosen)
        result.case_weights = {k: w for k, (w, _) in cases.items()}
    result.metadata = {
        "scenario": sc.name,
        "paths": paths,
        "seed": sd,
        "runs": calls["n"],
        "wall_time_s": round(time.perf_counter() - t0, 3),
    }
    out_dir = out if out is not None else Path("results") / f"{sc.name}-sensitivity"
    out_dir.mkdir(parents=True, exist_ok=True)
    with write_atomic(out_dir / "sensitivity.json") as tmp:
        tmp.write_text(json.dumps(result.to_json(), indent=2, allow_nan=False, default=str) + "\n")
    for kind, frames in (("tornado", result.tornado), ("sobol", result.sobol)):
        for metric, df in frames.items():
            df.to_csv(out_dir / f"{kind}_{metric}.csv", index=False)
            click.echo(f"\n{kind} of {metric}:\n{df.to_string(index=False, float_format=_g)}")
    if result.cases is not None:
        result.cases.to_csv(out_dir / "cases.csv", index=False)
        click.echo(f"\ncases:\n{result.cases.to_string(index=False, float_format=_g)}")
    if write_report:
        from hashfleet.results.sensitivity_report import write_sensitivity_report

        click.echo(f"Report: {write_sensitivity_report(result, out_dir, svg=svg)}")
    click.echo(f"Results written to {out_dir}/")


def _g(x: float) -> str:
    return f"{x:,.4g}"
