"""Exact block production over one day for all paths of a chunk at once.

Blocks arrive as a Poisson process with rate ``λ = H / (D · 2^32)`` per second (``H`` the
network hashrate in H/s, ``D`` the difficulty).  Within a day ``H`` is constant and ``D``
changes only at a retarget, so the day is a sequence of *segments* ending at **interesting
blocks**: the last block of an epoch (height ≡ 2015 mod 2016: the difficulty switches after
it), the first block of an epoch (≡ 0 mod 2016: its timestamp starts the next timespan), the
last block before a halving (≡ 209,999 mod 210,000: work after it earns the halved subsidy)
and the halving block itself (≡ 0 mod 210,000: logged).

For every path we draw ``N ~ Poisson(λ·r)`` arrivals in the remaining time ``r``.  If the
next interesting block is ``k ≤ N`` blocks away, its arrival time given ``N`` is the ``k``-th
uniform order statistic, ``s + r·Beta(k, N−k+1)``; arrivals after it are discarded and the
rest of the day is drawn afresh at the new rate (strong Markov property).  Both steps are
exact, so block counts, retarget times and halving times have exactly the distribution of the
continuous-time process.  ``deterministic`` mode replaces the draws with the fluid limit: a
block arrives each time the integrated rate crosses an integer (used to replay history).

The retarget itself is Bitcoin Core's, bit for bit, on integer block timestamps (the floor
of the true arrival time in Unix seconds), via :func:`hashfleet.network.retarget.next_bits_array`.
The median-time-past and two-hour rules are out of scope: timestamps are true times.

All loops are over *segments* (a handful per day), never over paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hashfleet.consensus import (
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    INITIAL_SUBSIDY_SAT,
    SUBSIDY_HALVING_INTERVAL,
)
from hashfleet.constants import SECONDS_PER_DAY
from hashfleet.engine.streams import BlockRNG
from hashfleet.network.intervals import BlockIntervals
from hashfleet.network.retarget import bits_to_difficulty_array, next_bits_array

__all__ = ["DayBlocks", "EventLog", "NetworkState", "produce_day", "subsidy_sat_array"]

TWO_32 = float(2**32)
_EPOCH = DIFFICULTY_ADJUSTMENT_INTERVAL
_HALVING = SUBSIDY_HALVING_INTERVAL


def subsidy_sat_array(height: NDArray[np.int64]) -> NDArray[np.int64]:
    """Block subsidy in satoshis of blocks at ``height`` (shape preserved), as Core's rule."""
    era = height // _HALVING
    return np.where(era >= 64, 0, INITIAL_SUBSIDY_SAT >> np.minimum(era, 63)).astype(np.int64)


@dataclass
class NetworkState:
    """The chain state of every path in a chunk (all arrays ``(n_paths,)``).

    Attributes
    ----------
    height : int64
        Height of the chain tip.
    bits : int64
        Compact target of the block being mined (the current epoch's nBits).
    difficulty : float64
        ``bits`` as Core's ``GetDifficulty`` double.
    epoch_start_time : int64
        Unix timestamp (s) of the current epoch's first block.
    phase : float64
        Deterministic mode only: fractional block progress carried across days.
    intervals : BlockIntervals or None
        Block-interval statistics fed with every segment's blocks, when asked for
        (:mod:`hashfleet.network.intervals`; they draw from their own stream).
    """

    height: NDArray[np.int64]
    bits: NDArray[np.int64]
    difficulty: NDArray[np.float64]
    epoch_start_time: NDArray[np.int64]
    phase: NDArray[np.float64]
    intervals: BlockIntervals | None = None

    @classmethod
    def uniform(cls, n_paths: int, height: int, bits: int, epoch_start_time: int) -> NetworkState:
        """``n_paths`` identical paths starting from one chain state."""
        b = np.full(n_paths, bits, dtype=np.int64)
        return cls(
            height=np.full(n_paths, height, dtype=np.int64),
            bits=b,
            difficulty=bits_to_difficulty_array(b),
            epoch_start_time=np.full(n_paths, epoch_start_time, dtype=np.int64),
            phase=np.zeros(n_paths),
        )


@dataclass
class EventLog:
    """Retargets and halvings of every path, kept as columnar arrays.

    ``retargets`` columns: path, time_days (since the scenario start), height of the first
    block at the new difficulty, old and new difficulty, old and new bits, and the integer
    timestamps of the epoch's first and last blocks that the retarget measured.
    ``halvings`` columns: path, time_days, height, new subsidy (sat).
    """

    path_offset: int = 0
    retargets: list[dict[str, NDArray]] = field(default_factory=list)
    halvings: list[dict[str, NDArray]] = field(default_factory=list)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds this log keeps."""
        return ("retargets", "halvings")

    def columns(self, kind: str, *, release: bool = False) -> dict[str, NDArray]:
        """One event kind (``"retargets"`` or ``"halvings"``) as concatenated columns.

        With ``release`` the log's own parts are dropped as they are concatenated, so a large
        log is not held twice in memory.
        """
        parts: list[dict[str, NDArray]] = getattr(self, kind)
        if not parts:
            return {}
        names = list(parts[0])
        out = {}
        for k in names:
            out[k] = np.concatenate([p[k] for p in parts])
            if release:
                for p in parts:
                    del p[k]
        if release:
            parts.clear()
        return out


@dataclass
class DayBlocks:
    """What one day produced, per path (all ``(n_paths,)``).

    Attributes
    ----------
    blocks : int64
        Blocks mined in the day.
    subsidy_sat : int64
        Sum of the subsidies of those blocks (satoshis, exact across a halving).
    reward_per_hash_btc : float64
        Expected BTC earned by 1 H/s over the day: ∫ (subsidy + fees) / (D·2^32) dt, with the
        subsidy of the block being worked on and the difficulty in force at each instant —
        the FPPS payout rate before pool fee.
    own_blocks : float64 or None
        Solo mining only: blocks found by our fleet (a binomial thinning of ``blocks``; its
        expectation in deterministic mode).
    own_reward_btc : float64 or None
        Solo mining only: subsidy + fees of our blocks.
    retargets : int64
        Retargets during the day.
    """

    blocks: NDArray[np.int64]
    subsidy_sat: NDArray[np.int64]
    reward_per_hash_btc: NDArray[np.float64]
    own_blocks: NDArray[np.float64] | None
    own_reward_btc: NDArray[np.float64] | None
    retargets: NDArray[np.int64]


def _blocks_to_next_interesting(h: NDArray[np.int64]) -> NDArray[np.int64]:
    """Blocks from tip ``h`` to the next interesting height (≥ 1)."""
    to_last = (_EPOCH - 1 - h - 1) % _EPOCH + 1  # next height ≡ 2015 (mod 2016)
    to_first = (-h - 1) % _EPOCH + 1  # next height ≡ 0 (mod 2016)
    to_pre_halving = (_HALVING - 1 - h - 1) % _HALVING + 1
    to_halving = (-h - 1) % _HALVING + 1
    return np.minimum(np.minimum(to_last, to_first), np.minimum(to_pre_halving, to_halving))


def produce_day(
    state: NetworkState,
    hashrate_hs: NDArray[np.float64],
    fees_btc_per_block: NDArray[np.float64],
    day_start_unix: float,
    day_index: float,
    *,
    duration_s: float = SECONDS_PER_DAY,
    block_rng: BlockRNG | None,
    own_share: NDArray[np.float64] | None = None,
    luck_rng: BlockRNG | None = None,
    events: EventLog | None = None,
) -> DayBlocks:
    """Mine one day (or ``duration_s``) on every path, updating ``state`` in place.

    Parameters
    ----------
    state : NetworkState
        Chain state of the chunk's paths, advanced to the end of the day.
    hashrate_hs : ndarray, shape (n_paths,)
        Network hashrate during the day in H/s (including our fleet), > 0.
    fees_btc_per_block : ndarray, shape (n_paths,)
        Fees per block in BTC during the day.
    day_start_unix : float
        Unix time (s) of the interval's start (normally the day's 00:00 UTC).
    day_index : float
        Days since the scenario start at the interval's start (for the event log).
    duration_s : float
        Length of the interval (s); a day by default.  Shorter intervals let a caller
        change the hashrate inside a day (piecewise constant), exactly.
    block_rng : BlockRNG or None
        Generators for block arrivals; ``None`` selects deterministic (fluid) production.
    own_share : ndarray, shape (n_paths,), optional
        Solo mining: our fleet's share of the network hashrate; each block is ours with this
        probability.
    luck_rng : BlockRNG, optional
        Generators for solo luck (required with ``own_share`` in Poisson mode).
    events : EventLog, optional
        Where to record retargets and halvings.

    Returns
    -------
    DayBlocks
    """
    n = state.height.shape[0]
    blocks = np.zeros(n, dtype=np.int64)
    subsidy = np.zeros(n, dtype=np.int64)
    reward_rate = np.zeros(n)
    retargets = np.zeros(n, dtype=np.int64)
    own_blocks = np.zeros(n) if own_share is not None else None
    own_reward = np.zeros(n) if own_share is not None else None
    elapsed = np.zeros(n)
    active = np.arange(n)

    while active.size:
        h = state.height[active]
        d = state.difficulty[active]
        lam = hashrate_hs[active] / (d * TWO_32)
        remaining = duration_s - elapsed[active]
        k = _blocks_to_next_interesting(h)
        phase0 = state.phase[active] if state.intervals is not None and block_rng is None else None
        if block_rng is None:
            progress = state.phase[active] + lam * remaining
            arrivals = np.floor(progress).astype(np.int64)
        else:
            arrivals = block_rng.poisson(lam * remaining, active)
        cross = arrivals >= k
        # Blocks in this segment all carry the subsidy of block h+1 (segments end before a
        # halving), and the work in it is paid at the current difficulty.
        sub_sat = subsidy_sat_array(h + 1)
        reward = sub_sat / 1e8 + fees_btc_per_block[active]
        seg_blocks = np.where(cross, k, arrivals)
        if block_rng is None:
            seg_time = remaining.copy()
            ci = np.flatnonzero(cross)
            seg_time[ci] = (k[ci] - state.phase[active[ci]]) / lam[ci]
            state.phase[active] = np.where(cross, 0.0, progress - arrivals)
        else:
            u = np.ones(active.size)
            ci = np.flatnonzero(cross)
            if ci.size:
                u[ci] = block_rng.beta(
                    k[ci].astype(np.float64),
                    (arrivals[ci] - k[ci] + 1).astype(np.float64),
                    active[ci],
                )
            seg_time = remaining * u
        if state.intervals is not None:  # block times from their own stream
            state.intervals.segment(
                active, elapsed[active], seg_time, seg_blocks, cross, lam, phase0, day_start_unix
            )
        blocks[active] += seg_blocks
        subsidy[active] += seg_blocks * sub_sat
        reward_rate[active] += seg_time * reward / (d * TWO_32)
        if own_share is not None and own_blocks is not None and own_reward is not None:
            if luck_rng is None:
                mine = seg_blocks * own_share[active]  # fluid limit: expected own blocks
            else:
                mine = luck_rng.binomial(seg_blocks, own_share[active], active).astype(np.float64)
            own_blocks[active] += mine
            own_reward[active] += mine * reward
        state.height[active] = h + seg_blocks
        elapsed[active] += seg_time

        idx = active[cross]
        if idx.size:
            _on_interesting_blocks(
                state, idx, elapsed[idx], day_start_unix, day_index, retargets, events
            )
        active = idx

    return DayBlocks(blocks, subsidy, reward_rate, own_blocks, own_reward, retargets)


def _on_interesting_blocks(
    state: NetworkState,
    idx: NDArray[np.intp],
    t_in_day: NDArray[np.float64],
    day_start_unix: float,
    day_index: float,
    retargets: NDArray[np.int64],
    events: EventLog | None,
) -> None:
    """Apply what the block just mined at ``state.height[idx]`` triggers."""
    h = state.height[idx]
    stamp = np.floor(day_start_unix + t_in_day).astype(np.int64)
    pos = h % _EPOCH
    first = pos == 0
    if first.any():
        state.epoch_start_time[idx[first]] = stamp[first]
    last = pos == _EPOCH - 1
    if last.any():
        j = idx[last]
        old_bits = state.bits[j]
        old_d = state.difficulty[j]
        first_time = state.epoch_start_time[j]
        new_bits = next_bits_array(old_bits, stamp[last] - first_time)
        state.bits[j] = new_bits
        state.difficulty[j] = bits_to_difficulty_array(new_bits)
        retargets[j] += 1
        if events is not None:
            events.retargets.append(
                {
                    "path": (j + events.path_offset).astype(np.int32),
                    "time_days": day_index + t_in_day[last] / SECONDS_PER_DAY,
                    "height": (h[last] + 1).astype(np.int32),
                    "old_difficulty": old_d,
                    "new_difficulty": state.difficulty[j].copy(),
                    "old_bits": old_bits.astype(np.uint32),
                    "new_bits": new_bits.astype(np.uint32),
                    "first_block_time": first_time,
                    "last_block_time": stamp[last],
                }
            )
    halving = h % _HALVING == 0
    if events is not None and halving.any():
        events.halvings.append(
            {
                "path": (idx[halving] + events.path_offset).astype(np.int32),
                "time_days": day_index + t_in_day[halving] / SECONDS_PER_DAY,
                "height": h[halving],
                "subsidy_sat": subsidy_sat_array(h[halving]),
            }
        )
