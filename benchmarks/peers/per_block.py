"""Naive peer (a): one SimPy environment per path, an event per block.

How a user would write the model with SimPy alone: a ``day`` process draws the day's markets
and dispatches the fleet at 00:00, a ``miner`` process waits an exponential inter-arrival time
with rate ``λ = H/(D·2^32)`` per second for each block, and each delivery is a process.  The
rate changes at a day boundary (new hashrate) and at a retarget (new difficulty); because the
exponential law is memoryless, the miner simply draws again whenever the rate has changed —
at a day boundary it waits until 00:00 and redraws, and after each block it draws afresh at
the difficulty then in force.  Blocks carry integer timestamps (floor of the true time);
retargets are Bitcoin Core's rule (:func:`hashfleet.consensus.next_bits`); halvings apply at
their block; FPPS revenue accrues continuously between events.

Time unit of the environment: seconds since day 0, 00:00 UTC.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import simpy

from benchmarks.peers.model import SECONDS_PER_DAY, TWO_32, PathOutcome, PathState, PeerModel

__all__ = ["simulate_path_per_block", "simulate_per_block"]


def simulate_per_block(model: PeerModel, n_paths: int, seed: int = 0) -> list[PathOutcome]:
    """Simulate ``n_paths`` paths one after the other (path ``i`` is seeded ``seed·10^6 + i``)."""
    return [simulate_path_per_block(model, seed * 1_000_000 + i) for i in range(n_paths)]


def simulate_path_per_block(model: PeerModel, seed: int) -> PathOutcome:
    """Simulate one path with an event per block."""
    env = simpy.Environment()
    st = PathState.start(model, seed)
    for c, day in enumerate(model.cohort_install_day):
        if 0 < day < model.n_days:
            env.process(_deliver(env, st, c, day))
    days = env.process(_days(env, st))
    env.process(_miner(env, st))
    env.run(until=days)
    return st.outcome()


def _deliver(env: simpy.Environment, st: PathState, cohort: int, day: int) -> Generator[Any]:
    yield env.timeout(day * SECONDS_PER_DAY)
    st.deliver(cohort)


def _days(env: simpy.Environment, st: PathState) -> Generator[Any]:
    for day in range(st.m.n_days):
        st.start_day(day)
        yield env.timeout(SECONDS_PER_DAY)
        st.accrue(env.now)
        st.end_day()


def _miner(env: simpy.Environment, st: PathState) -> Generator[Any]:
    expovariate = st.rnd.expovariate
    while True:
        rate = st.network_hs / (st.difficulty * TWO_32)
        wait = expovariate(rate) if rate > 0 else math.inf
        day_end = (math.floor(env.now / SECONDS_PER_DAY) + 1) * SECONDS_PER_DAY
        if env.now + wait >= day_end:
            # the rate changes at 00:00: wait for it and draw again (memoryless)
            yield env.timeout(day_end - env.now)
            continue
        yield env.timeout(wait)
        st.mined(env.now)
