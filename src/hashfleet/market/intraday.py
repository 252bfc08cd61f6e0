"""Tabulated day sums over lognormal hours: the fast form of the intraday integral.

With lognormal hours (``log p_h ~ N(log L + d_h, s²)``, ``L`` the day's level, ``d_h`` the
hour's log offset, ``−s²/2`` included), the hours a cohort with threshold ``b`` runs and the
cost of those hours summed over a set of hours ``S`` are functions of one variable,
``z = log b − log L``:

    ``Σ_{h∈S} P(p_h ≤ b)          = G0(z) = Σ_h Φ((z − d_h)/s)``
    ``Σ_{h∈S} E[p_h·1{p_h ≤ b}]   = L·G1(z),  G1(z) = Σ_h e^{d_h + s²/2}·Φ((z − d_h)/s − s)``

and ``G1'(z) = e^z·G0'(z)``.  Both are smooth, monotone and constant outside a range of a few
``s`` around the offsets, so :class:`IntradayTable` tabulates them once per (offsets, s) on a
uniform grid with their exact derivatives and evaluates the piecewise-cubic Hermite
interpolant: a row gather and two Horner steps per element instead of ``2 × |S|`` ``ndtr``
calls.  The grid step is ``s/512``; the interpolant's error is below ``1e-12 × |S|``
(measured over the whole range for ``s`` from 0.02 to 2 in ``tests/market/test_intraday.py``),
orders below any Monte Carlo error of the model, and the direct sum
(:meth:`IntradayTable.direct`) stays as the reference.

Shapes: thresholds and levels broadcast; results have the broadcast shape.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from hashfleet.numeric import rows_dot

__all__ = ["IntradayGrid", "IntradayTable", "intraday_table"]

_STEPS_PER_SIGMA = 512
_TAIL_SIGMAS = 10.0  # Φ(−10) ≈ 7.6e-24: beyond this the sums are constant to double precision


class IntradayGrid:
    """The uniform grid in ``z`` shared by every table of one site's hours.

    All hour sets of a site (all hours, the coincident-peak window, the hours outside it, the
    cheapest hour) are subsets of its 24 hours, so one range covers them all; a threshold's
    interval and position (:meth:`locate`) are then computed once and serve every table.

    Parameters
    ----------
    offsets : sequence of float
        Log offsets of all the site's distinct hours.
    sigma : float
        Standard deviation of the hourly log price (> 0).
    """

    def __init__(self, offsets: Sequence[float] | NDArray[np.float64], sigma: float) -> None:
        if sigma <= 0:
            raise ValueError(f"sigma: expected > 0, got {sigma}")
        d = np.asarray(offsets, dtype=np.float64)
        if d.size == 0:
            raise ValueError("offsets: expected at least one hour")
        self.sigma = float(sigma)
        #: First knot and knot spacing (``s/512``).
        self.lo = float(d.min()) - _TAIL_SIGMAS * sigma
        self.step = sigma / _STEPS_PER_SIGMA
        hi = float(d.max()) + (_TAIL_SIGMAS + sigma) * sigma
        #: Intervals (knots − 1).
        self.n = int(np.ceil((hi - self.lo) / self.step))

    def knots(self) -> NDArray[np.float64]:
        """The ``n + 1`` knots."""
        out: NDArray[np.float64] = self.lo + self.step * np.arange(self.n + 1, dtype=np.float64)
        return out

    def locate(
        self, z: NDArray[np.float64], out: NDArray[np.float64] | None = None
    ) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Interval ``i`` and position ``t ∈ [0, 1]`` of each ``z`` (clamped to the range);
        ``out`` (e.g. ``z`` itself) receives ``t``."""
        t = np.subtract(z, self.lo, dtype=np.float64, out=out)
        t *= 1.0 / self.step
        np.clip(t, 0.0, float(self.n), out=t)
        i = t.astype(np.intp)
        np.minimum(i, self.n - 1, out=i)
        t -= i
        return i, t


class IntradayTable:
    """``G0`` and ``G1`` of a set of hours, tabulated for piecewise-cubic evaluation.

    Parameters
    ----------
    offsets : sequence of float
        Log offsets ``d_h`` of the hours (``log p_h`` has mean ``log L + d_h``), one per
        distinct hour shape.
    weights : sequence of float
        Hours sharing each offset (sum: the number of hours in the set).
    sigma : float
        Standard deviation ``s`` of the hourly log price (> 0).
    grid : IntradayGrid, optional
        The grid (default: the range of these offsets); must cover them.
    """

    def __init__(
        self,
        offsets: Sequence[float],
        weights: Sequence[float],
        sigma: float,
        grid: IntradayGrid | None = None,
    ) -> None:
        if sigma <= 0:
            raise ValueError(f"sigma: expected > 0, got {sigma}")
        self.offsets = np.asarray(offsets, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.sigma = float(sigma)
        #: Hours in the set (``G0`` at +∞).
        self.hours = float(self.weights.sum())
        #: ``Σ w·e^{d + s²/2}``: ``G1`` at +∞ (the uncapped mean of the hours over ``L``).
        self.full = float((self.weights * np.exp(self.offsets + 0.5 * sigma**2)).sum())
        self.grid = grid if grid is not None else IntradayGrid(self.offsets, sigma)
        z = self.grid.knots()
        g0, g1, d0 = self.direct(z, with_derivative=True)
        d1 = np.exp(z) * d0
        h = self.grid.step
        cols = []
        for y, m in ((g0, d0), (g1, d1)):
            y0, y1, m0, m1 = y[:-1], y[1:], m[:-1] * h, m[1:] * h
            cols += [y0, m0, 3.0 * (y1 - y0) - 2.0 * m0 - m1, 2.0 * (y0 - y1) + m0 + m1]
        #: Per interval, cubic coefficients of G0 then G1 in ``t ∈ [0, 1]``: (8, n).
        self._coef = np.ascontiguousarray(np.stack(cols))

    @property
    def lo(self) -> float:
        """First knot of the grid."""
        return self.grid.lo

    @property
    def step(self) -> float:
        """Knot spacing."""
        return self.grid.step

    def direct(
        self, z: NDArray[np.float64], *, with_derivative: bool = False
    ) -> tuple[NDArray[np.float64], ...]:
        """``G0(z)`` and ``G1(z)`` by the direct sum over the hours (the reference).

        Returns ``(G0, G1)``, or ``(G0, G1, G0')`` with ``with_derivative``.
        """
        s = self.sigma
        z = np.asarray(z, dtype=np.float64)
        u = (z[..., None] - self.offsets) / s

        def hours_dot(x: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
            # over the hours axis, in a fixed order (no BLAS: docs/model.md §9)
            return rows_dot(x.reshape(-1, x.shape[-1]), w).reshape(x.shape[:-1])

        g0 = hours_dot(ndtr(u), self.weights)
        g1 = hours_dot(ndtr(u - s), self.weights * np.exp(self.offsets + 0.5 * s * s))
        if not with_derivative:
            return g0, g1
        d0 = hours_dot(np.exp(-0.5 * u * u) / np.sqrt(2.0 * np.pi) / s, self.weights)
        return g0, g1, d0

    def __call__(
        self, z: NDArray[np.float64], *, cost: bool = True
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """``G0(z)`` and ``G1(z)`` from the table, shape of ``z``.

        Parameters
        ----------
        z : ndarray
            ``log b − log L`` (−inf allowed: never runs).
        cost : bool
            Also evaluate ``G1`` (else None).
        """
        return self.at(*self.grid.locate(z), cost=cost)

    def at(
        self, i: NDArray[np.intp], t: NDArray[np.float64], *, cost: bool = True
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """``G0`` and ``G1`` at grid positions from :meth:`IntradayGrid.locate`."""
        out = []
        tmp = np.empty(i.shape)
        for k in (0, 4) if cost else (0,):  # Horner, in place: ((c3·t + c2)·t + c1)·t + c0
            g = np.take(self._coef[k + 3], i, mode="clip")
            for j in (2, 1, 0):
                g *= t
                g += np.take(self._coef[k + j], i, out=tmp, mode="clip")
            np.clip(g, 0.0, self.hours if k == 0 else self.full, out=g)
            out.append(g)
        return out[0], (out[1] if cost else None)


@functools.lru_cache(maxsize=64)
def intraday_table(
    offsets: tuple[float, ...],
    weights: tuple[float, ...],
    sigma: float,
    grid_offsets: tuple[float, ...] | None = None,
) -> IntradayTable:
    """The (cached) :class:`IntradayTable` of a set of hours, on the grid of
    ``grid_offsets`` (all the site's hours; default: these hours)."""
    grid = IntradayGrid(grid_offsets, sigma) if grid_offsets is not None else None
    return IntradayTable(offsets, weights, sigma, grid)
