"""Naive peer (b): one SimPy environment per path, an event per day.

The ``day`` process draws the day's markets, dispatches the fleet and mines the whole day at
once: the number of blocks in the time left is Poisson with mean ``λ·r``
(``λ = H/(D·2^32)``).  A user cannot stop at "Poisson blocks per day" without getting
retargets and halvings wrong, so the day is split at the next *interesting* block (last block
of an epoch: retarget after it; first block: its timestamp starts the next timespan; the
halving and the block before it): if that block is ``k ≤ N`` blocks away, its time is the
``k``-th of ``N`` uniform arrival times, drawn directly as ``r·Beta(k, N − k + 1)`` with
``random.betavariate``; the rest of the day is drawn again at the new rate.  This is the
engine's algorithm, one path and one segment at a time; Poisson counts are scalar NumPy draws
(``random`` has no Poisson sampler).

Time unit of the environment: days.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from benchmarks.peers.model import (
    EPOCH,
    HALVING,
    SECONDS_PER_DAY,
    TWO_32,
    PathOutcome,
    PathState,
    PeerModel,
)

__all__ = ["simulate_path_per_day", "simulate_per_day"]


def simulate_per_day(model: PeerModel, n_paths: int, seed: int = 0) -> list[PathOutcome]:
    """Simulate ``n_paths`` paths one after the other (path ``i`` is seeded ``seed·10^6 + i``)."""
    return [simulate_path_per_day(model, seed * 1_000_000 + i) for i in range(n_paths)]


def simulate_path_per_day(model: PeerModel, seed: int) -> PathOutcome:
    """Simulate one path with an event per day."""
    env = simpy.Environment()
    st = PathState.start(model, seed)
    poisson = np.random.default_rng(seed).poisson
    for c, day in enumerate(model.cohort_install_day):
        if 0 < day < model.n_days:
            env.process(_deliver(env, st, c, day))
    env.process(_days(env, st, poisson))
    env.run()
    return st.outcome()


def _deliver(env: simpy.Environment, st: PathState, cohort: int, day: int) -> Generator[Any]:
    yield env.timeout(day)
    st.deliver(cohort)


def _days(env: simpy.Environment, st: PathState, poisson: Any) -> Generator[Any]:
    for day in range(st.m.n_days):
        yield env.timeout(day - env.now)  # deliveries dated today happen first
        st.start_day(day)
        _mine_day(st, day * SECONDS_PER_DAY, poisson)
        st.accrue((day + 1) * SECONDS_PER_DAY)
        st.end_day()


def _to_next_interesting(h: int) -> int:
    """Blocks from tip ``h`` to the next retarget-, epoch- or halving-relevant height."""
    return min(
        (EPOCH - 2 - h) % EPOCH + 1,
        (-h - 1) % EPOCH + 1,
        (HALVING - 2 - h) % HALVING + 1,
        (-h - 1) % HALVING + 1,
    )


def _mine_day(st: PathState, day_start: float, poisson: Any) -> None:
    t = day_start
    day_end = day_start + SECONDS_PER_DAY
    while True:
        left = day_end - t
        rate = st.network_hs / (st.difficulty * TWO_32)
        n = int(poisson(rate * left))
        k = _to_next_interesting(st.height)
        if n < k:
            # n ordinary blocks: same subsidy and difficulty until 00:00
            st.accrue(day_end)
            st.blocks += n
            st.subsidy_total_btc += n * st.subsidy_btc_next()
            st.height += n
            return
        t += left * st.rnd.betavariate(k, n - k + 1)
        st.blocks += k - 1
        st.subsidy_total_btc += (k - 1) * st.subsidy_btc_next()
        st.accrue(t)
        st.height += k - 1
        st.mined(t)  # the interesting block: retarget, epoch start or halving
