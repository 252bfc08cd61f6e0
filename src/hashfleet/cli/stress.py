"""The ``stress`` command: stress tests of a scenario's capital plan."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from hashfleet.cli.app import _report_option, cli, set_option
from hashfleet.errors import InputError

__all__ = ["stress_command"]


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
    help="Output directory for stress.json and report.html [results/<scenario name>-stress].",
)
@_report_option
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
    write_report: bool,
    svg: bool,
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

    from hashfleet.results.base import json_safe, write_atomic
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
        text = json.dumps(json_safe(result), indent=2, default=str, allow_nan=False)
        tmp.write_text(text + "\n", encoding="utf-8")
    click.echo(f"Results written to {out_dir}/stress.json")
    if write_report:
        from hashfleet.results.study_report import write_stress_report

        click.echo(f"Report: {write_stress_report(result, out_dir, svg=svg)}")


#: Upper end of a reverse stress test's default bracket, per shock.
_REVERSE_HI = {
    "price_crash": 0.95,
    "power_spike": 5.0,
    "delivery_slip": 730.0,
    "tenant_default": 5.0,
}
