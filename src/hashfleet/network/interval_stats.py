"""The block-interval statistics as an engine component (``network.block_interval_stats``);
the statistics themselves are :mod:`hashfleet.network.intervals`."""

from __future__ import annotations

import numpy as np

from hashfleet.engine.core import ChunkEngine
from hashfleet.network.component import NetworkChunk
from hashfleet.network.intervals import INTERVAL_VARIABLES, BlockIntervals

__all__ = ["BlockIntervalStats"]


class BlockIntervalStats:
    """The component: hangs a :class:`BlockIntervals` on the chunk's chain state (which
    :func:`~hashfleet.network.blocks.produce_day` feeds) and records it after the network
    step (stage 31).

    Parameters
    ----------
    start_unix : int
        Unix time of t=0 (the chain tip's time).
    deterministic : bool
        Fluid-limit block production (no draws).
    """

    def __init__(self, start_unix: int, deterministic: bool) -> None:
        self.start_unix = start_unix
        self.deterministic = deterministic

    def attach(self, engine: ChunkEngine) -> None:
        """Attach the tracker to the chain state, declare the variables, add the step."""
        net = engine.service(NetworkChunk)
        tracker = BlockIntervals(
            np.full(engine.n_paths, float(self.start_unix)),
            None if self.deterministic else engine.rng("block_times"),
        )
        net.state.intervals = tracker
        engine.declare_all(INTERVAL_VARIABLES)
        engine.add_step(31, "block_intervals", lambda day: tracker.record(engine.values))
