"""Random streams: one root seed, independent streams per (stream block, purpose).

Paths are grouped into fixed **stream blocks** of :data:`STREAM_BLOCK_PATHS` paths.  Every
random number a path uses comes from a generator keyed by ``(root seed, stream block,
purpose)`` through :class:`numpy.random.SeedSequence` spawn keys.  A chunk of paths is always
a whole number of stream blocks, and a stream block is always simulated in full (paths past
``n_paths`` are computed and dropped), so path *i* sees the same numbers whatever the number
of paths, the chunk size, the worker count or the backend.

Purposes are separate streams so that, under common random numbers, changing one part of a
scenario (the fleet, a policy) does not shift the draws of another (price, fees).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "PURPOSES",
    "STREAM_BLOCK_PATHS",
    "BlockRNG",
    "binomial_inversion",
    "block_generators",
]

#: Paths per stream block.  Part of the random-stream layout: changing it changes results.
STREAM_BLOCK_PATHS: int = 250

#: Stable purpose ids: append new purposes at the end, never renumber.
PURPOSES: dict[str, int] = {
    "btc_price": 0,
    "fees": 1,
    "network_hashrate": 2,
    "blocks": 3,
    "luck": 4,
    # reserved for capabilities (use these names; append new ones at the end)
    "failures": 5,
    "power": 6,
    "asic_prices": 7,
    "network_supply": 8,
    "orders": 9,
    "policies": 10,
    "frontier": 11,
    "hpc": 12,
    "finance": 13,
    "power_contracts": 14,
    "block_times": 15,
    "asic_dynamics": 16,
}


def block_generators(root_seed: int, block: int, purpose: str) -> np.random.Generator:
    """The generator of one stream block for one purpose.

    Parameters
    ----------
    root_seed : int
        The scenario's root seed.
    block : int
        Stream block index (paths ``block*STREAM_BLOCK_PATHS`` onwards).
    purpose : str
        A key of :data:`PURPOSES`.
    """
    ss = np.random.SeedSequence(entropy=root_seed, spawn_key=(block, PURPOSES[purpose]))
    return np.random.Generator(np.random.PCG64(ss))


@dataclass
class BlockRNG:
    """Per-stream-block generators of one purpose for a chunk of paths.

    Draws for a chunk are made block by block, so each block's draws depend only on that
    block's own inputs.  ``mask``-ed draws take the masked paths of each block in path order.

    Attributes
    ----------
    generators : list of numpy.random.Generator
        One per stream block of the chunk, in order.
    block_paths : int
        Paths per stream block.
    """

    generators: Sequence[np.random.Generator]
    block_paths: int = STREAM_BLOCK_PATHS

    @classmethod
    def for_chunk(cls, root_seed: int, first_block: int, n_blocks: int, purpose: str) -> BlockRNG:
        """Generators for stream blocks ``first_block .. first_block + n_blocks - 1``."""
        gens = [
            block_generators(root_seed, b, purpose)
            for b in range(first_block, first_block + n_blocks)
        ]
        return cls(gens)

    def _map(
        self,
        draw: Callable[[np.random.Generator, tuple[NDArray, ...]], NDArray],
        idx: NDArray[np.intp],
        args: tuple[NDArray, ...],
        dtype: type,
    ) -> NDArray:
        """Apply ``draw`` per block to the paths ``idx`` (sorted chunk-local indices)."""
        out: NDArray[Any] = np.empty(idx.shape[0], dtype=dtype)
        bounds = np.searchsorted(idx, np.arange(len(self.generators) + 1) * self.block_paths)
        for b, gen in enumerate(self.generators):
            lo, hi = bounds[b], bounds[b + 1]
            if hi > lo:
                out[lo:hi] = draw(gen, tuple(a[lo:hi] for a in args))
        return out

    def poisson(self, lam: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.int64]:
        """Poisson counts with means ``lam`` for the paths ``idx`` (same shape as ``idx``)."""
        return self._map(lambda g, a: g.poisson(a[0]), idx, (lam,), np.int64)

    def beta(
        self, a: NDArray[np.float64], b: NDArray[np.float64], idx: NDArray[np.intp]
    ) -> NDArray[np.float64]:
        """Beta(a, b) variates for the paths ``idx``."""
        return self._map(lambda g, x: g.beta(x[0], x[1]), idx, (a, b), np.float64)

    def binomial(
        self, n: NDArray[np.int64], p: NDArray[np.float64], idx: NDArray[np.intp]
    ) -> NDArray[np.int64]:
        """Binomial(n, p) counts for the paths ``idx``."""
        return self._map(lambda g, x: g.binomial(x[0], x[1]), idx, (n, p), np.int64)

    def binomial_rows(self, n: NDArray[np.float64], p: NDArray[np.float64]) -> NDArray[np.float64]:
        """Binomial(n, p) counts for every path of the chunk, ``(n_paths, k)`` arrays.

        Vectorised inversion of the CDF (the algorithm NumPy uses one draw at a time when
        ``n·p < 30``): one uniform per count, drawn block by block, then the counts of all
        blocks at once.  Counts with ``n·min(p, 1−p) ≥ 30`` are drawn by NumPy (BTPE) from
        their block's generator after its uniforms.

        Parameters
        ----------
        n : ndarray, shape (n_paths, k)
            Trials (whole numbers ≥ 0, as floats).
        p : ndarray, broadcastable to (n_paths, k)
            Success probabilities in [0, 1].

        Returns
        -------
        ndarray, shape (n_paths, k)
            Counts, as floats.
        """
        ni = np.rint(n)
        p = np.asarray(p, dtype=np.float64)
        B = self.block_paths
        u = np.empty(ni.shape)
        for b, gen in enumerate(self.generators):
            u[b * B : (b + 1) * B] = gen.random(u[b * B : (b + 1) * B].shape)
        flip = p > 0.5
        ps = np.where(flip, 1.0 - p, p)  # same shape as p: per column when p is (1, k)
        big = ni * ps >= 30.0
        any_big = bool(big.any())
        x = binomial_inversion(u, ni, ps, skip=big if any_big else None)
        if any_big:
            nb, pbig = ni.astype(np.int64), np.broadcast_to(ps, ni.shape)
            for b, gen in enumerate(self.generators):
                sl = slice(b * B, (b + 1) * B)
                m = big[sl]
                if m.any():
                    x[sl][m] = gen.binomial(nb[sl][m], pbig[sl][m])
        if flip.any():
            np.subtract(ni, x, out=x, where=np.broadcast_to(flip, x.shape))
        return x


def binomial_inversion(
    u: NDArray[np.float64],
    n: NDArray[np.float64],
    p: NDArray[np.float64],
    skip: NDArray[np.bool_] | None = None,
) -> NDArray[np.float64]:
    """Binomial(n, p) counts from uniforms ``u`` by inversion of the CDF, vectorised.

    ``X`` is the smallest ``k`` with ``u ≤ P(X ≤ k)``, walked with the pmf recursion
    ``P(k) = P(k−1)·(n−k+1)·p / (k·q)`` from ``P(0) = q^n`` — the recursion of NumPy's
    one-at-a-time inversion, done for all counts at once (each step only on the counts still
    walking).  Meant for ``p ≤ 0.5`` and small ``n·p`` (steps ≈ the largest count).

    Parameters
    ----------
    u : ndarray
        Uniforms in [0, 1), one per count.
    n : ndarray, same shape as ``u``
        Trials (whole, ≥ 0).
    p : ndarray, broadcastable to ``u``'s shape
        Probabilities in [0, 0.5].
    skip : ndarray of bool, optional
        Counts not to compute (left at 0).

    Returns
    -------
    ndarray
        Counts, as floats.
    """
    p = np.asarray(p, dtype=np.float64)
    x = np.zeros(u.shape)
    per_column = p.size == 1 or (p.ndim == u.ndim and p.shape[:-1] == (1,) * (u.ndim - 1))
    log_q = np.log1p(-p)
    # X = 0 when u ≤ P(X = 0) = q^n; q^n ≥ q^(max n of the column), so below that bound no
    # power needs computing: only the other counts get their own q^n
    if per_column and u.ndim == 2:
        cand = u > np.exp(n.max(axis=0) * log_q)
    else:
        cand = np.ones(u.shape, dtype=bool)
    if skip is not None:
        cand &= ~skip
    idx = np.flatnonzero(cand)
    if per_column:
        col = idx % u.shape[-1]
        lqc = np.broadcast_to(log_q.ravel(), (u.shape[-1],))[col]
        pc = np.broadcast_to(p.ravel(), (u.shape[-1],))[col]
    else:
        lqc = np.broadcast_to(log_q, u.shape).ravel()[idx]
        pc = np.broadcast_to(p, u.shape).ravel()[idx]
    uc, nc = u.ravel()[idx], n.ravel()[idx]
    pxc = np.exp(nc * lqc)  # P(X = 0)
    # the counts still walking, compacted (each step keeps the ones that go on; one
    # nonzero per step, then integer takes)
    pos = np.flatnonzero(uc > pxc)
    uc, pxc, nc, pc = uc[pos], pxc[pos], nc[pos], pc[pos]
    qc = 1.0 - pc
    counts = np.zeros(idx.size)
    k = 0.0
    while pos.size:
        k += 1.0
        counts[pos] = k
        uc -= pxc
        pxc *= ((nc - k + 1.0) * pc) / (k * qc)
        keep = np.flatnonzero((uc > pxc) & (k < nc))
        if keep.size < pos.size:
            pos = pos.take(keep)
            uc, pxc, nc = uc.take(keep), pxc.take(keep), nc.take(keep)
            pc, qc = pc.take(keep), qc.take(keep)
    x.ravel()[idx] = counts
    return x
