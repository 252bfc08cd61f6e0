"""Block-interval statistics: mean and standard deviation of the block time, the longest gap
and the gaps over 1, 2 and 3 hours, per path (``network.block_interval_stats: true``).

:func:`~hashfleet.network.blocks.produce_day` draws how many blocks each path mines in each
segment of a day (a Poisson count, or the position of the next interesting block as an order
statistic) but not the individual block times.  Given those draws the times are known in law:
in a segment of length ``r`` that ended the day with ``N`` arrivals, they are ``N`` sorted
uniforms on ``[s, s + r)``; in a segment that ended at its ``k``-th block (at ``s + r``), the
first ``k − 1`` are sorted uniforms on ``[s, s + r)`` (the order statistics below the ``k``-th
are uniform given it).  :class:`BlockIntervals` draws those uniforms from its **own** keyed
stream (purpose ``"block_times"``), so the kernel's draws — and every other output — are
unchanged, and the block times have exactly the joint law of the continuous-time process.  In
``deterministic`` mode the times are the fluid limit's (block ``j`` when the integrated rate
crosses ``j``).  The first interval is measured from t=0, where the model puts the chain tip.

Cost: one uniform per block (about 144 per path and day) and a sort per segment; opt-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from hashfleet.engine.streams import BlockRNG

__all__ = ["GAP_THRESHOLDS_S", "INTERVAL_VARIABLES", "BlockIntervals"]

FloatArray = NDArray[np.float64]

#: Gap thresholds counted (s): 1, 2 and 3 hours.
GAP_THRESHOLDS_S: tuple[float, ...] = (3600.0, 7200.0, 10800.0)

#: Daily variables: name -> (unit, description, totalled).  ``final_*`` of the running ones
#: are the run's per-path statistics; ``total_*`` of the counts are the run's counts.
INTERVAL_VARIABLES: dict[str, tuple[str, str, bool]] = {
    "block_time_mean_s": ("s", "Mean block interval since the start (running)", False),
    "block_time_std_s": ("s", "Standard deviation of the block interval (running)", False),
    "block_gap_max_s": ("s", "Longest block interval since the start (running)", False),
    "block_gaps_over_1h": ("1", "Block intervals longer than 1 hour", True),
    "block_gaps_over_2h": ("1", "Block intervals longer than 2 hours", True),
    "block_gaps_over_3h": ("1", "Block intervals longer than 3 hours", True),
}


@dataclass
class BlockIntervals:
    """Running interval statistics of every path of a chunk (arrays ``(n_paths,)``).

    Attributes
    ----------
    last_time : float64
        Unix time (s) of each path's latest block (the tip's time, t=0, before any).
    count, total_s, total_sq_s2, max_s : float64
        Intervals seen, their sum (s), sum of squares (s²) and the longest (s).
    over : float64, shape (n_paths, 3)
        Intervals over 1, 2 and 3 hours since the last :meth:`take_counts`.
    rng : BlockRNG or None
        Generators of purpose ``"block_times"`` (None: deterministic production).
    """

    last_time: FloatArray
    rng: BlockRNG | None
    count: FloatArray = field(init=False)
    total_s: FloatArray = field(init=False)
    total_sq_s2: FloatArray = field(init=False)
    max_s: FloatArray = field(init=False)
    over: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        n = self.last_time.shape[0]
        self.count = np.zeros(n)
        self.total_s = np.zeros(n)
        self.total_sq_s2 = np.zeros(n)
        self.max_s = np.zeros(n)
        self.over = np.zeros((n, len(GAP_THRESHOLDS_S)))

    def segment(
        self,
        idx: NDArray[np.intp],
        start_s: FloatArray,
        length_s: FloatArray,
        blocks: NDArray[np.int64],
        cross: NDArray[np.bool_],
        lam: FloatArray,
        phase0: FloatArray | None,
        day_start_unix: float,
    ) -> None:
        """Add the blocks of one segment of :func:`~hashfleet.network.blocks.produce_day`.

        Parameters
        ----------
        idx : ndarray of int, shape (m,)
            Paths (chunk-local, ascending) in the segment.
        start_s, length_s : ndarray, shape (m,)
            Segment start (s since the day's start) and length (s).
        blocks : ndarray of int, shape (m,)
            Blocks mined in the segment.
        cross : ndarray of bool, shape (m,)
            The segment ended at its last block (an interesting block).
        lam : ndarray, shape (m,)
            Block rate (1/s); used in deterministic mode.
        phase0 : ndarray, shape (m,), or None
            Deterministic mode: block progress at the segment's start.
        day_start_unix : float
        """
        total = int(blocks.sum())
        if total == 0:
            return
        row = np.repeat(np.arange(idx.size), blocks)
        first = np.cumsum(blocks) - blocks  # position of each row's first block
        j = np.arange(total) - first[row]  # 0-based index within the row
        if phase0 is not None:  # fluid limit: block j+1 at (j + 1 − phase0)/λ
            offset = (j + 1.0 - phase0[row]) / lam[row]
        else:
            free = blocks - cross  # the crossing block sits at the end of its segment
            u = self._uniforms(idx, free)
            # sort within each row (exact values: no float key mixing row and uniform, which
            # would round differently with the row's position in the chunk)
            u_sorted = u[np.lexsort((u, np.repeat(np.arange(idx.size), free)))]
            offset = np.empty(total)
            fixed = j == blocks[row] - 1
            fixed &= cross[row]
            offset[~fixed] = u_sorted * length_s[np.repeat(np.arange(idx.size), free)]
            offset[fixed] = length_s[cross & (blocks > 0)]
        times = day_start_unix + start_s[row] + offset
        prev = np.empty(total)
        prev[1:] = times[:-1]
        has = blocks > 0
        prev[first[has]] = self.last_time[idx[has]]
        gaps = times - prev
        self._add(idx, row, gaps, blocks)
        self.last_time[idx[has]] = times[first[has] + blocks[has] - 1]

    def _uniforms(self, idx: NDArray[np.intp], counts: NDArray[np.int64]) -> FloatArray:
        """``counts[i]`` uniforms for path ``idx[i]``, block by block from each path's stream."""
        assert self.rng is not None
        rng = self.rng
        out = np.empty(int(counts.sum()))
        bounds = np.searchsorted(idx, np.arange(len(rng.generators) + 1) * rng.block_paths)
        ends = np.cumsum(counts)
        starts = ends - counts
        for b, gen in enumerate(rng.generators):
            lo, hi = bounds[b], bounds[b + 1]
            if hi > lo:
                a, z = starts[lo], ends[hi - 1]
                out[a:z] = gen.random(z - a)
        return out

    def _add(
        self, idx: NDArray[np.intp], row: NDArray[np.intp], gaps: FloatArray, blocks: NDArray
    ) -> None:
        m = idx.size
        self.count[idx] += blocks
        self.total_s[idx] += np.bincount(row, weights=gaps, minlength=m)
        self.total_sq_s2[idx] += np.bincount(row, weights=gaps * gaps, minlength=m)
        has = np.flatnonzero(blocks > 0)
        first = (np.cumsum(blocks) - blocks)[has]
        rows = idx[has]
        self.max_s[rows] = np.maximum(self.max_s[rows], np.maximum.reduceat(gaps, first))
        for c, thr in enumerate(GAP_THRESHOLDS_S):
            over = (gaps > thr).astype(np.float64)
            self.over[idx, c] += np.bincount(row, weights=over, minlength=m)

    def record(self, values: dict[str, FloatArray]) -> None:
        """Set the day's :data:`INTERVAL_VARIABLES` in ``values`` and reset the day's counts."""
        n = np.maximum(self.count, 1.0)
        mean = np.where(self.count > 0, self.total_s / n, 0.0)
        var = np.where(self.count > 1, (self.total_sq_s2 - n * mean * mean) / (n - 1.0), 0.0)
        values["block_time_mean_s"] = mean
        values["block_time_std_s"] = np.sqrt(np.maximum(var, 0.0))
        values["block_gap_max_s"] = self.max_s.copy()
        for c, name in enumerate(("1h", "2h", "3h")):
            values[f"block_gaps_over_{name}"] = self.over[:, c].copy()
        self.over[:] = 0.0
