"""Render a run's report in a helper process that warms up while the simulation runs.

Where the time of a report went (``hashfleet run scenarios/baseline.yaml --paths 1000``,
2-core machine, before this module): importing matplotlib and its Agg backend ~0.4–0.8 s,
drawing 18 panels and encoding PNG and SVG ~2 s, CSV/Parquet tables ~0.4 s, against a
simulation of 2.5–5 s on one core (BLAS held to one thread): +45 % wall time.  Drawing is
cheaper now where it happens (one reused figure for the fan charts, one polygon per
histogram, SVG only on request, the per-path decision frame computed once): the tables and
report cost ~1.75 s of CPU instead of ~3.1 s (``benchmarks/report_cost.py``); but in-process
that is still ~20 % of the command, the matplotlib import alone ~7 %.

So :class:`ReportProcess` starts ``python -m hashfleet.results.render`` *before* the
simulation: the child imports matplotlib and the report modules on a core the simulation
leaves idle, and waits.  When the run is done, :meth:`ReportProcess.submit` pickles the
results without their full paths (the per-path decision metrics, which need them, are
computed here first and travel in the results' cache, see
:func:`~hashfleet.results.decision.decision_frame`) to a file in the output directory and
names it on the child's standard input; the child draws the report while this process saves
the netCDF files and writes the tables.  On a saturated machine (no idle core) the helper
would only compete with the simulation, so the report is drawn in-process there
(:func:`_use_child`); if the child cannot start or fails, too — same output, only slower.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import subprocess
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashfleet.results import Results

__all__ = ["ReportProcess", "main"]

#: ``0``: draw every report in-process; ``1``: always in the helper process; unset: in the
#: helper when a core is idle (see :func:`_use_child`).
ENV_VAR = "HASHFLEET_REPORT_PROCESS"

_PAYLOAD = ".report-payload.pkl"


class ReportProcess:
    """A helper process that draws one run's report (a context manager: the child is
    stopped on exit if still running).

    Parameters
    ----------
    enabled : bool
        Whether a report is wanted at all (``--report``); the child is started only if
        also a core is idle or ``HASHFLEET_REPORT_PROCESS=1`` (``0``: never) — without
        it :meth:`wait` draws in-process.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.child_error = ""
        self._proc: subprocess.Popen[bytes] | None = None
        if enabled and _use_child():
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "hashfleet.results.render"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            except OSError as error:
                self.child_error = str(error)

    def __enter__(self) -> ReportProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the child if it is still running."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a broken pipe to a dead child
                    pipe.close()
        proc.wait()

    def submit(self, results: Results, out_dir: str | Path, *, svg: bool = False) -> None:
        """Hand the results to the child (returns at once; :meth:`wait` for the report).

        Parameters
        ----------
        results : Results
        out_dir : str or pathlib.Path
            Receives ``report.html`` and ``figures/`` (created if missing).
        svg : bool
            Also write every chart as SVG.
        """
        from hashfleet.results.decision import decision_frame

        self._job = (results, Path(out_dir), svg)
        if self._proc is None or self._proc.stdin is None:
            return
        decision_frame(results)  # computed here, where the full paths are
        light = dataclasses.replace(results, paths=None)
        light.__dict__["_decision_frame"] = results.__dict__["_decision_frame"]
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        payload = out / _PAYLOAD
        with payload.open("wb") as fh:
            pickle.dump((light, out, svg), fh, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._proc.stdin.write(str(payload).encode() + b"\n")
            self._proc.stdin.flush()  # communicate() closes it
        except OSError as error:  # the child died while warming up
            self.child_error = str(error)
            self.close()

    def wait(self, timeout_s: float = 600.0) -> Path:
        """The report file, once written (by the child, or here if the child failed).

        Returns
        -------
        pathlib.Path
            ``out_dir/report.html``.
        """
        from hashfleet.results.report import write_report

        results, out, svg = self._job
        if self._proc is not None:
            try:
                stdout, stderr = self._proc.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                stdout, stderr = b"", b"timed out"
            ok = self._proc.returncode == 0 and stdout.startswith(b"ok ")
            self.close()
            (out / _PAYLOAD).unlink(missing_ok=True)
            if ok:
                return Path(stdout[3:].decode().strip())
            self.child_error = stderr.decode(errors="replace")[-2000:]
        return write_report(results, out, svg=svg)


def _use_child() -> bool:
    """The helper pays off only on a core the simulation leaves idle: its imports cost more
    CPU (~3 s) than drawing in-process after the run (~2 s), so on a saturated machine
    (1-minute load average above the CPU count less 1.5) the report is drawn in-process."""
    setting = os.environ.get(ENV_VAR, "")
    if setting in ("0", "1"):
        return setting == "1"
    n = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        load = 0.0
    return n >= 2 and load <= n - 1.5


def main() -> int:
    """The child: warm the imports, read one payload path, draw its report."""
    try:
        _warm_up()
        line = sys.stdin.readline().strip()
        if not line:
            return 2
        with open(line, "rb") as fh:
            results, out, svg = pickle.load(fh)  # our own file, written by the parent
        from hashfleet.results.report import write_report

        page = write_report(results, out, svg=svg)
    except Exception:
        traceback.print_exc()
        return 1
    sys.stdout.write(f"ok {page}\n")
    return 0


def _warm_up() -> None:
    """Import and exercise what a report needs before the results arrive: matplotlib with
    its fonts (a first draw loads the font cache), SciPy's distributions (the intervals),
    YAML (the resolved scenario)."""
    import io

    import scipy.stats  # noqa: F401
    import yaml  # noqa: F401

    from hashfleet.results import decision, plots, report  # noqa: F401

    fig, axes = plots._grid(2.0, 2.0, 1, 1)
    axes[0, 0].set_title("warm-up 0123456789")
    axes[0, 0].plot([0.0, 1.0], [0.0, 1.0])
    fig.savefig(io.BytesIO(), format="png", dpi=50)


if __name__ == "__main__":
    sys.exit(main())
