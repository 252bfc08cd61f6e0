"""Scenario commands: ``validate``, ``scenario show``, ``scenario reference`` and
``catalogue``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click
import yaml

from hashfleet.cli.app import cli, file_argument, format_error, set_option, trust_options
from hashfleet.errors import HashfleetError

__all__ = ["catalogue", "scenario", "scenario_reference", "scenario_show", "validate"]


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@set_option
@trust_options
def validate(files: Sequence[Path], set_args: Sequence[str]) -> None:
    """Check scenario FILEs: schema, cross-field checks, extends and --set, the files and
    code they name, and every scenario that run, compare and sweep would build from them
    (each strategy, each sweep point), compiled as run compiles it.

    Prints OK FILE for each valid file and every problem of every invalid one;
    exits 0 if all are valid, 2 otherwise.

    \b
    Examples:
      hashfleet validate scenarios/base.yaml
      hashfleet validate scenarios/*.yaml
      hashfleet validate my.yaml --set run.paths=100
      hashfleet validate received/x.yaml --allow-path ~/data --allow-code my_policies.py
    """
    from hashfleet.studies.validate import validate_file

    code = 0
    for file in files:
        try:
            v = validate_file(file, set_args=set_args)
        except HashfleetError as error:
            click.echo(format_error(error), err=True)
            code = max(code, error.exit_code)
        else:
            extra = [f"{v.strategies} strategies"] * bool(v.strategies)
            extra += [f"{v.sweep_points} sweep points"] * bool(v.sweep_points)
            click.echo(f"OK {file}" + (f" ({', '.join(extra)})" if extra else ""))
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
@trust_options
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
