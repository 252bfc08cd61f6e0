"""Memory a run will need, estimated before it starts, and the limit it must stay under.

:func:`estimate_memory` adds up what a run holds at its peak (bytes):

* **state** — every array the components keep per path (fleet, network, finance, markets):
  measured by building one probe chunk engine of one stream block (250 paths) under
  :mod:`tracemalloc` and scaled to the paths held at once, times :data:`DAY_TEMPORARIES`
  for the temporaries of a simulated day;
* **recorder windows** — ``8 · n_vars · WINDOW_DAYS · n_paths`` per window buffer (two when
  windows are reduced on a background thread), plus three quarters of one for the copies the
  reduction to quantiles makes;
* **stored paths** — ``8 · n_vars · n_paths · n_days`` × 1.2, with ``store_paths``;
* **totals and daily statistics** — ``8 · n_vars · n_paths`` and
  ``8 · n_vars · (n_quantiles + 1) · n_days``;
* **events** — about one retarget a fortnight per path, 3 columns of 8 bytes, twice (the
  chunks' logs and the merged table).

:func:`check_memory` refuses a run whose estimate exceeds the limit, before anything is
allocated, with a :class:`~hashfleet.errors.ResourceError` that gives the estimate by part
and how to raise the limit.  The limit is ``max_memory_gb`` if given, else the environment
variable :data:`ENV_VAR` (``HASHFLEET_MAX_MEMORY_GB``), else the memory available on this
machine when the run starts (``MemAvailable`` of ``/proc/meminfo``; no limit where that
cannot be read).  A :class:`MemoryError` during the run becomes the same error.

Measured against the peak resident memory of in-process runs (``ru_maxrss`` minus the
resident memory before the run): ``baseline`` 10,000 paths × 365 days, estimate 0.24 GiB,
measured 0.25 GiB; 2,000 paths × 730 days with stored paths, 0.46 vs 0.40 GiB;
``ai-pivot`` 5,000 × 365, 0.30 vs 0.26 GiB.
"""

from __future__ import annotations

import gc
import math
import os
import tracemalloc
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hashfleet.engine.streams import STREAM_BLOCK_PATHS
from hashfleet.errors import InputError, ResourceError
from hashfleet.processes import WINDOW_DAYS

if TYPE_CHECKING:
    from hashfleet.model import CompiledScenario

__all__ = [
    "DAY_TEMPORARIES",
    "ENV_VAR",
    "MemoryEstimate",
    "check_memory",
    "estimate_memory",
    "memory_limit_bytes",
]

#: Environment variable with the memory limit in GB (GiB, 2**30 bytes); ``inf`` disables it.
ENV_VAR = "HASHFLEET_MAX_MEMORY_GB"

#: Factor on the measured per-path state for the temporaries of a simulated day.
DAY_TEMPORARIES = 3.0

_GIB = 2**30
_DAYS_PER_RETARGET = 14.0


@dataclass(frozen=True)
class MemoryEstimate:
    """A run's estimated peak memory, by part (bytes)."""

    parts: dict[str, float]
    n_paths: int
    n_days: int
    n_vars: int

    @property
    def total_bytes(self) -> float:
        """The sum of the parts (bytes)."""
        return float(sum(self.parts.values()))

    def describe(self) -> str:
        """``12.30 GiB (stored paths 9.10 GiB, recorder windows 2.00 GiB, ...)``: the
        parts of at least 5 % of the total."""
        parts = sorted(self.parts.items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{k} {_gib(v)}" for k, v in parts if v >= 0.05 * self.total_bytes)
        return f"{_gib(self.total_bytes)} ({shown})"


def estimate_memory(
    model: CompiledScenario,
    *,
    n_paths: int,
    resident_paths: int | None = None,
    store_paths: bool,
    event_log: bool,
    background_limit_bytes: float = math.inf,
    n_quantiles: int = 5,
) -> MemoryEstimate:
    """Estimate the peak memory of a run (see the module docstring).

    Parameters
    ----------
    model : CompiledScenario
        The compiled scenario (:func:`hashfleet.model.compile_scenario`).
    n_paths : int
        Paths of the run.
    resident_paths : int, optional
        Paths simulated at once in memory (default all; block runs: block size × workers).
    store_paths : bool
        Every path's daily values are kept.
    event_log : bool
        Retargets and halvings are logged per path.
    background_limit_bytes : float
        A second window buffer is kept when one takes at most this many bytes
        (:data:`hashfleet.runner.BACKGROUND_WINDOW_BYTES`).
    n_quantiles : int
        Quantiles recorded per day.

    Returns
    -------
    MemoryEstimate
    """
    n_days = int(model.n_days)
    sim = math.ceil(n_paths / STREAM_BLOCK_PATHS) * STREAM_BLOCK_PATHS
    resident = sim if resident_paths is None else min(sim, max(1, resident_paths))
    n_vars, state_per_path = _probe(model)
    windows = 8.0 * n_vars * WINDOW_DAYS * resident
    parts = {
        "per-path state": DAY_TEMPORARIES * state_per_path * resident,
        "recorder windows": windows * (2 if windows <= background_limit_bytes else 1),
        "window reduction": 0.75 * windows,
        "stored paths": 1.2 * 8.0 * n_vars * n_paths * n_days if store_paths else 0.0,
        "totals": 2 * 8.0 * n_vars * sim,
        "daily statistics": 8.0 * n_vars * (n_quantiles + 1) * n_days,
        "events": 2 * 3 * 8.0 * n_paths * (n_days / _DAYS_PER_RETARGET + 1) if event_log else 0.0,
    }
    return MemoryEstimate(parts, n_paths, n_days, n_vars)


def memory_limit_bytes(max_memory_gb: float | None = None) -> float | None:
    """The limit: ``max_memory_gb``, else :data:`ENV_VAR`, else available memory (bytes;
    None: no limit known)."""
    if max_memory_gb is None:
        raw = os.environ.get(ENV_VAR, "").strip()
        if raw:
            try:
                max_memory_gb = float(raw)
            except ValueError:
                raise InputError(f"{ENV_VAR}: expected a number of GB, got {raw!r}") from None
    if max_memory_gb is not None:
        if math.isnan(max_memory_gb) or max_memory_gb <= 0:
            raise InputError(f"max_memory_gb: expected a number > 0, got {max_memory_gb!r}")
        return None if math.isinf(max_memory_gb) else max_memory_gb * _GIB
    return _available_bytes()


def check_memory(estimate: MemoryEstimate, max_memory_gb: float | None = None) -> None:
    """Raise :class:`ResourceError` if ``estimate`` exceeds the limit.

    Raises
    ------
    ResourceError
        With the estimate by part, the limit and where it came from, and the option to
        raise it.
    """
    limit = memory_limit_bytes(max_memory_gb)
    if limit is None or estimate.total_bytes <= limit:
        return
    source = (
        "--max-memory-gb"
        if max_memory_gb is not None
        else ENV_VAR
        if os.environ.get(ENV_VAR, "").strip()
        else "the memory available on this machine"
    )
    raise ResourceError(
        f"the run needs an estimated {estimate.describe()} for {estimate.n_paths:,} paths x "
        f"{estimate.n_days:,} days x {estimate.n_vars} daily variables, more than the "
        f"limit of {_gib(limit)} ({source}); lower --paths or the horizon, turn off "
        "--store-paths, or raise the limit with --max-memory-gb N (or "
        f"{ENV_VAR}=N; inf turns the check off)"
    )


def out_of_memory(estimate: MemoryEstimate | None) -> ResourceError:
    """The error a :class:`MemoryError` during a run becomes."""
    what = f" (estimated {estimate.describe()})" if estimate is not None else ""
    return ResourceError(
        f"out of memory while running{what}; lower --paths or the horizon, turn off "
        "--store-paths, or run on a machine with more memory"
    )


def _probe(model: CompiledScenario) -> tuple[int, float]:
    """(daily variables, bytes of state per path) from engines of one and two stream blocks.

    A first engine loads what is cached per run (shipped history, tables); the difference
    between a two-block and a one-block engine is then the state of 250 paths.
    """
    from hashfleet.engine.core import ChunkEngine

    def build(n_blocks: int) -> tuple[int, float]:
        gc.collect()  # the previous probe engine (a cycle) is freed before measuring
        before = tracemalloc.get_traced_memory()[0]
        engine = ChunkEngine(model, 0, 0, n_blocks, _discard, record_events=False)
        grown = tracemalloc.get_traced_memory()[0] - before
        return len(engine.variables), float(grown)

    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        build(1)
        n_vars, one = build(1)
        _, two = build(2)
    finally:
        if not tracing:
            tracemalloc.stop()
    return n_vars, max(two - one, one / 2, 0.0) / STREAM_BLOCK_PATHS


def _discard(day: int, offset: int, values: object) -> None:
    return None


def _available_bytes() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _gib(n: float) -> str:
    if n < _GIB:
        return f"{n / 2**20:,.1f} MiB"
    return f"{n / _GIB:,.2f} GiB" if n < 100 * _GIB else f"{n / _GIB:,.0f} GiB"
