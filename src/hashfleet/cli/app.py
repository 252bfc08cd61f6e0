"""The ``hashfleet`` command group and what its commands share.

Manners (every command gets them from :class:`HashfleetGroup`):

* a :class:`~hashfleet.errors.HashfleetError` prints ``TypeName: message`` to stderr and
  exits with its ``exit_code`` (2 for input errors, 1 for run failures); a
  :class:`~hashfleet.errors.ScenarioError` with several issues prints one issue per line,
  ``file:line:col: field.path: message``;
* any other exception prints ``InternalError: ...`` and exits 1;
* ``--debug`` shows the traceback instead.

Shared here: :func:`set_option` (``--set``), ``file_argument``, and the options of the
commands that run simulations (``_backend_options``, ``_report_option``, ``_block_kwargs``).
The commands themselves live in the sibling modules (see :mod:`hashfleet.cli`).
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from hashfleet.errors import HashfleetError, ScenarioError
from hashfleet.version import __version__

__all__ = [
    "F",
    "HashfleetGroup",
    "cli",
    "file_argument",
    "format_error",
    "set_option",
    "trust_options",
]

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
        return f"ScenarioError: {len(error.issues)} issues\n{error}"
    if isinstance(error, HashfleetError):
        return f"{type(error).__name__}: {error}"
    return (
        f"InternalError: {type(error).__name__}: {error}\n"
        "This is a bug in hashfleet; run with --debug for the traceback."
    )


def _exit_code(error: BaseException) -> int:
    return error.exit_code if isinstance(error, HashfleetError) else 1


class HashfleetGroup(click.Group):
    """A click group that turns errors into ``TypeName: message`` and an exit code.

    Every command that reads a scenario file (a ``file`` or ``files`` argument) also takes
    ``--allow-path`` and ``--allow-code`` (:func:`trust_options`)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        names = {p.name for p in cmd.params} if cmd is not None else set()
        if cmd is not None and names & {"file", "files"} and "allow_path" not in names:
            trust_options(cmd)
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        from hashfleet.scenario.files import ENV_ALLOW_PATH
        from hashfleet.scenario.trust import ENV_ALLOW_CODE

        saved = {k: os.environ.get(k) for k in (ENV_ALLOW_PATH, ENV_ALLOW_CODE)}
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except MemoryError:
            if ctx.meta.get(_DEBUG_KEY):
                click.echo(traceback.format_exc(), err=True, nl=False)
            click.echo(format_error(_out_of_memory()), err=True)
            ctx.exit(_out_of_memory().exit_code)
        except Exception as error:
            if ctx.meta.get(_DEBUG_KEY):
                click.echo(traceback.format_exc(), err=True, nl=False)
            click.echo(format_error(error), err=True)
            ctx.exit(_exit_code(error))
        finally:
            for k, v in saved.items():  # --allow-path/--allow-code last for one command
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _allow(env: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, values: Any) -> None:
        if not values:
            return
        given = [os.path.abspath(os.path.expanduser(v)) for v in values]
        for v in given:
            if not os.path.exists(v):
                raise click.BadParameter(f"{v}: no such file or folder", ctx, param)
        old = [p for p in os.environ.get(env, "").split(os.pathsep) if p]
        os.environ[env] = os.pathsep.join([*old, *given])  # worker processes inherit it

    return callback


def trust_options(cmd: F | click.Command) -> Any:
    """Add ``--allow-path DIR`` and ``--allow-code PATH`` (repeatable) to a command.

    They widen what a scenario may reach for this command only (docs/security.md): files
    outside the scenario's folder, and Python code for ``policies.custom``, ``hpc.policy``
    and ``capital.treasury.custom``."""
    from hashfleet.scenario.files import ENV_ALLOW_PATH
    from hashfleet.scenario.trust import ENV_ALLOW_CODE

    options = [
        click.Option(
            ["--allow-path"],
            multiple=True,
            metavar="DIR",
            expose_value=False,
            callback=_allow(ENV_ALLOW_PATH),
            help="Let the scenario name files (extends, catalogue, CSV) in DIR, outside its "
            "own folder. Repeatable.",
        ),
        click.Option(
            ["--allow-code"],
            multiple=True,
            metavar="PATH",
            expose_value=False,
            callback=_allow(ENV_ALLOW_CODE),
            help="Let the scenario run Python code (custom policies) from the module file or "
            "folder PATH. Repeatable. Without it only installed entry points run.",
        ),
    ]
    if isinstance(cmd, click.Command):
        cmd.params.extend(options)
        return cmd
    for option in options:
        click.decorators._param_memo(cmd, option)
    return cmd


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
@click.option(
    "--max-memory-gb",
    type=click.FloatRange(min=0, min_open=True),
    help="Refuse every run whose estimated peak memory exceeds this many GiB "
    "(same as HASHFLEET_MAX_MEMORY_GB) [the memory available when a run starts].",
)
@click.option(
    "--non-commercial-data",
    is_flag=True,
    help="Allow the shipped BTC price history (Coin Metrics, CC BY-NC 4.0: no commercial "
    "use): default start prices, bootstrap, csv builtin:btc_daily prices, calibrate, "
    "backtest (same as HASHFLEET_NONCOMMERCIAL_DATA=1). Its licence is shown when used.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    debug: bool,
    check_invariants: bool,
    max_memory_gb: float | None,
    non_commercial_data: bool,
) -> None:
    """Monte Carlo simulation of Bitcoin mining fleets.

    \b
    Examples:
      hashfleet validate scenarios/base.yaml
      hashfleet scenario show scenarios/base.yaml --resolved
      hashfleet --debug validate my.yaml
      hashfleet --check-invariants run scenarios/baseline.yaml --paths 250
    """
    ctx.meta[_DEBUG_KEY] = debug
    _terminate_on_sigterm()
    _notices_to_stderr()
    if non_commercial_data:
        from hashfleet.history.licence import allow_non_commercial_data

        allow_non_commercial_data()  # worker processes inherit it
    if max_memory_gb is not None:
        import os

        from hashfleet.runner.memory import ENV_VAR as MEMORY_VAR

        os.environ[MEMORY_VAR] = repr(max_memory_gb)  # every run of the command, workers too
    if check_invariants:
        import os

        from hashfleet.engine.invariants import ENV_VAR

        os.environ[ENV_VAR] = "1"  # worker processes inherit it


def _out_of_memory() -> HashfleetError:
    from hashfleet.errors import ResourceError

    return ResourceError(
        "out of memory: the run needs more memory than this machine has free; lower "
        "--paths, turn off --store-paths, or run on a bigger machine (hashfleet refuses "
        "runs whose estimate exceeds --max-memory-gb up front)"
    )


class _ClickStderr(logging.Handler):
    """Writes hashfleet's notices (e.g. a data licence) to the command's standard error."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


def _notices_to_stderr() -> None:
    log = logging.getLogger("hashfleet")
    if not any(isinstance(h, _ClickStderr) for h in log.handlers):
        log.addHandler(_ClickStderr(logging.WARNING))


def _terminate_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C (``finally`` blocks run: no partial results folder)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, handler)


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
    """``--report/--no-report`` (``write_report``) and ``--svg`` (``svg``)."""
    fn = click.option(
        "--svg",
        is_flag=True,
        help="Also write every chart of the report as SVG (`hashfleet report` does by default).",
    )(fn)
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
