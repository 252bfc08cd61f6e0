"""How a run executes: one function chooses the execution mode from the options.

* ``lockstep`` — in this process, all chunks advance day by day together (no files);
* ``local-lockstep`` — the same lockstep split across worker processes of this machine
  through shared memory (``processes`` or ``dask`` without block options);
* ``blocks`` — independent block tasks written to a run directory (resume, keep going, a
  chosen block size, a cluster's workers).

Results are identical in every mode; ``metadata["mode"]`` says which ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hashfleet.errors import InputError

__all__ = ["ExecutionPlan", "Mode", "choose_plan"]


class Mode(StrEnum):
    """The execution modes of a run."""

    LOCKSTEP = "lockstep"
    LOCAL_LOCKSTEP = "local-lockstep"
    BLOCKS = "blocks"


@dataclass(frozen=True)
class ExecutionPlan:
    """The chosen mode and whether block files are wanted.

    Attributes
    ----------
    mode : Mode
    block_files : bool
        The options need block files in a run directory (resume, keep going, a chosen
        block size, or a scheduler whose workers share a file system).
    """

    mode: Mode
    block_files: bool


def choose_plan(
    *,
    backend: str = "in-process",
    workers: int | None = None,
    scheduler: str | None = None,
    block_paths: int | None = None,
    run_dir: object = None,
    resume: bool = False,
    keep_going: bool = False,
    chunk_paths: int | None = None,
) -> ExecutionPlan:
    """The execution plan of :func:`hashfleet.simulate`'s options (the CLI asks it too).

    Raises
    ------
    InputError
        ``chunk_paths`` outside an in-process lockstep run; ``workers`` or ``scheduler``
        with the in-process backend.
    """
    files = resume or keep_going or block_paths is not None or scheduler is not None
    off_process = backend != "in-process" or run_dir is not None or block_paths is not None
    if off_process or resume or keep_going:
        if chunk_paths is not None:
            raise InputError("chunk_paths: applies to in-process lockstep runs; use block_paths")
        local = (
            backend in ("processes", "dask")
            and run_dir is None
            and block_paths is None
            and not resume
            and not keep_going
        )
        return ExecutionPlan(Mode.LOCAL_LOCKSTEP if local else Mode.BLOCKS, files)
    if workers is not None or scheduler is not None:
        given = ", ".join(n for n, v in (("workers", workers), ("scheduler", scheduler)) if v)
        raise InputError(f"{given}: apply to the processes and dask backends only")
    return ExecutionPlan(Mode.LOCKSTEP, files)
