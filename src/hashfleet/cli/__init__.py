"""The ``hashfleet`` command: parse arguments, call the library, format the result.

One click group, :data:`cli` (in :mod:`hashfleet.cli.app`, with the error manners and the
shared options); its commands register on it from one module per area:

* :mod:`hashfleet.cli.scenarios` -- ``validate``, ``scenario show``, ``scenario reference``,
  ``catalogue``;
* :mod:`hashfleet.cli.runs` -- ``run`` (and its summary table), ``report``;
* :mod:`hashfleet.cli.stress` -- ``stress``;
* :mod:`hashfleet.cli.studies` -- ``sweep``, ``compare``, ``calibrate``, ``backtest``,
  ``sensitivity``.

Adding a command: write a function in the module of its area (or a new module imported
below), decorate it with ``@cli.command()`` (or ``@scenario.command()``), use
:func:`set_option` for ``--set``, and let errors propagate -- the group formats them.  Put
an ``Examples`` section in the docstring with ``\\b`` before each example block so click
keeps the layout.
"""

from __future__ import annotations

from collections.abc import Sequence

# importing a command module registers its commands on ``cli``; the names are re-exported
from hashfleet.cli.app import HashfleetGroup as HashfleetGroup
from hashfleet.cli.app import cli, format_error, set_option
from hashfleet.cli.app import file_argument as file_argument
from hashfleet.cli.runs import report_command as report_command
from hashfleet.cli.runs import run as run
from hashfleet.cli.scenarios import catalogue as catalogue
from hashfleet.cli.scenarios import scenario as scenario
from hashfleet.cli.scenarios import scenario_reference as scenario_reference
from hashfleet.cli.scenarios import scenario_show as scenario_show
from hashfleet.cli.scenarios import validate as validate
from hashfleet.cli.stress import stress_command as stress_command
from hashfleet.cli.studies import backtest as backtest
from hashfleet.cli.studies import calibrate as calibrate
from hashfleet.cli.studies import compare_command as compare_command
from hashfleet.cli.studies import sweep as sweep

__all__ = ["cli", "format_error", "main", "set_option"]


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``hashfleet`` console script and ``python -m hashfleet``."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="hashfleet")
