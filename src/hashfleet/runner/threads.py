"""Thread limits while the engine runs."""

from __future__ import annotations

from typing import Any

__all__ = ["single_threaded_blas"]


def single_threaded_blas() -> Any:
    """A context limiting BLAS to one thread while the engine runs.

    The engine's matrix products are thin (paths × cohorts by cohorts × a few); BLAS threads
    only add synchronisation, measured 5× slower on a busy 2-core machine.  Parallelism
    comes from running blocks of paths in separate processes instead (backends).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
