"""A progress bar that shows in Jupyter as in a terminal, for the ``progress=`` callbacks.

::

    from hashfleet.progress import progress_bar

    with progress_bar(sc.run.horizon_days, "days") as bar:
        res = hashfleet.simulate(sc, paths=1000, progress=bar)

In a terminal (or any stream) it redraws one line on standard error; in a Jupyter kernel it
updates one HTML element in the cell's output (``IPython.display`` with a ``display_id``),
so the bar moves in the notebook instead of printing a line per update.

Not ``tqdm.auto``: tqdm is not a dependency of hashfleet, and its notebook bar needs
``ipywidgets`` too (without it tqdm falls back to text with a warning); the two cases here
take ~80 lines and need only what a Jupyter kernel already has.  Redraws are throttled to
one per 0.1 s (and the last one), so a bar costs nothing measurable per simulated day.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import IO, Any

__all__ = ["ProgressBar", "in_notebook", "progress_bar"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class ProgressBar:
    """``bar(done, total)`` redraws; a context manager that finishes the line on exit.

    Parameters
    ----------
    total : int
        Units of work (days, runs).
    label : str
    stream : file, optional
        Where the text bar goes (default standard error).
    notebook : bool, optional
        Force the HTML (True) or text (False) bar; default: :func:`in_notebook`.
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        stream: IO[str] | None = None,
        notebook: bool | None = None,
    ) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._notebook = in_notebook() if notebook is None else notebook
        self._t0 = time.perf_counter()
        self._last = -1.0
        self._handle: Any = None

    def __call__(self, done: int, total: int | None = None) -> None:
        """Record ``done`` of ``total`` units (the ``progress=`` callback signature)."""
        if total:
            self.total = max(int(total), 1)
        self.done = min(int(done), self.total)
        now = time.perf_counter()
        if self.done < self.total and now - self._last < 0.1:
            return
        self._last = now
        self._draw(now)

    def text(self, now: float | None = None) -> str:
        """The bar as one line: ``label [#####.....]  50 % 5/10 1.2 s``."""
        elapsed = (now if now is not None else time.perf_counter()) - self._t0
        share = self.done / self.total
        filled = round(30 * share)
        return (
            f"{self.label} [{'#' * filled}{'.' * (30 - filled)}] {100 * share:3.0f} % "
            f"{self.done:,}/{self.total:,} {elapsed:.1f} s"
        )

    def _draw(self, now: float) -> None:
        line = self.text(now)
        if self._notebook:
            from IPython.display import HTML, display

            share = 100.0 * self.done / self.total
            html = (
                f"<div style='font:12px monospace'>{self.label} <progress value='{share:.1f}' "
                f"max='100' style='width:40%'></progress> {line.split('] ', 1)[-1]}</div>"
            )
            if self._handle is None:
                self._handle = display(HTML(html), display_id=True)
            else:
                self._handle.update(HTML(html))
        else:
            self._stream.write("\r" + line)
            self._stream.flush()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._draw(time.perf_counter())
        if not self._notebook:
            self._stream.write("\n")
            self._stream.flush()


def progress_bar(
    total: int, label: str = "", *, stream: IO[str] | None = None, notebook: bool | None = None
) -> ProgressBar:
    """A :class:`ProgressBar` (see the module docstring)."""
    return ProgressBar(total, label, stream=stream, notebook=notebook)
