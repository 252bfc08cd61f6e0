"""Hour prices: a day's 24 hourly prices of a site, as a closed-form lognormal or drawn."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from hashfleet.market.intraday import IntradayTable, intraday_table


@functools.lru_cache(maxsize=64)
def _distinct_hours(
    shape_log: tuple[float, ...], sigma: float
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Log offsets (``− σ²/2`` included) of the distinct hour shapes, and each hour's one
    (a site's shape is fixed: computed once per run)."""
    distinct, expand = np.unique(np.round(np.asarray(shape_log), 12), return_inverse=True)
    offsets = distinct - 0.5 * sigma**2
    offsets.flags.writeable = False
    expand = expand.astype(np.intp)
    expand.flags.writeable = False
    return offsets, expand


@dataclass
class Threshold:
    """Running thresholds prepared for :meth:`HourPrices.day_sums`.

    Attributes
    ----------
    i, t : ndarray, shape (n_paths, k)
        Interval and position in it of ``z = ln b − ln L`` (``b`` clipped to the cap) on the
        grid of the hours' tables (:meth:`~hashfleet.market.intraday.IntradayGrid.locate`).
    capped : ndarray of bool, shape (n_paths, k), or None
        Where ``b`` is at or above the cap (None: nowhere).
    """

    i: NDArray[np.intp]
    t: NDArray[np.float64]
    capped: NDArray[np.bool_] | None


@dataclass
class HourPrices:
    """The 24 hourly prices of a day, per path: lognormal (closed form) or given.

    Attributes
    ----------
    mu : ndarray, shape (n_paths, n_distinct), optional
        Mean of the log price of each distinct hour shape (before the cap).
    expand : ndarray of int, shape (24,), optional
        Column of ``mu`` of each hour (hours with the same diurnal shape value share one:
        a symmetric cosine has 12 distinct values, halving the work).
    sigma : float
        Standard deviation of the hourly log price (> 0 when ``mu`` is used).
    cap : float
        Price cap (USD/MWh).
    values : ndarray, shape (n_paths, 24), optional
        Known hourly prices (brute force or deterministic tariffs), already capped.
    """

    mu: NDArray[np.float64] | None = None
    sigma: float = 0.0
    cap: float = np.inf
    values: NDArray[np.float64] | None = None
    expand: NDArray[np.intp] | None = None
    #: Daily levels ``L`` (n_paths,) and log offsets of the distinct hours (``mu − log L``).
    level: NDArray[np.float64] | None = None
    offsets: NDArray[np.float64] | None = None
    #: The site contract's own price of the day (n_paths,) USD/MWh when it changes over time
    #: (escalator, re-contracting: :mod:`hashfleet.market.power.terms`); None otherwise.
    #: An ``HourPrices`` holding only this has no spot hours.
    contract_usd_per_mwh: NDArray[np.float64] | None = None

    @classmethod
    def lognormal(
        cls, level: NDArray[np.float64], shape_log: NDArray[np.float64], sigma: float, cap: float
    ) -> HourPrices:
        """Hours around daily levels ``level`` (n_paths,) with log shape ``shape_log`` (24,)."""
        if sigma == 0.0:
            mu = np.log(level)[:, None] + shape_log[None, :]
            return cls(values=np.minimum(np.exp(mu), cap), cap=cap)
        offsets, expand = _distinct_hours(tuple(shape_log.tolist()), sigma)
        return cls(  # mu is derived on demand (the day sums do not need it)
            sigma=sigma,
            cap=cap,
            expand=expand,
            level=np.asarray(level, dtype=np.float64),
            offsets=offsets,
        )

    @property
    def tabulated(self) -> bool:
        """Lognormal hours with known offsets: day sums come from :class:`IntradayTable`."""
        return self.offsets is not None and self.level is not None

    def table(self, mask: NDArray[np.bool_] | None = None) -> IntradayTable:
        """The day-sum table of the hours in ``mask`` (24,) (default: all hours), on the grid
        shared by every hour set of these hours."""
        assert self.offsets is not None and self.expand is not None
        cols = self.expand if mask is None else self.expand[mask]
        idx, counts = np.unique(cols, return_counts=True)
        return intraday_table(
            tuple(self.offsets[idx].tolist()),
            tuple(counts.astype(float).tolist()),
            self.sigma,
            tuple(self.offsets.tolist()),
        )

    def threshold(self, b: NDArray[np.float64]) -> Threshold:
        """Thresholds ``b`` (n_paths, k) located once on the tables' grid (``z = ln b − ln L``)."""
        assert self.level is not None
        z = np.clip(b, 1e-300, self.cap)  # b ≤ 0 never runs (z → −690: G = 0)
        np.log(z, out=z)
        z -= np.log(self.level)[:, None]
        capped = b >= self.cap
        i, t = self.table().grid.locate(z, out=z)
        return Threshold(i, t, capped if capped.any() else None)

    def day_sums(
        self, b: NDArray[np.float64] | Threshold, table: IntradayTable, *, cost: bool = True
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """Hours run and their expected cost, summed over the table's hours.

        Parameters
        ----------
        b : ndarray, shape (n_paths, k), or Threshold
            Thresholds (USD/MWh): an hour runs if its price is at most ``b``
            (:meth:`threshold` prepares them once for several tables).
        table : IntradayTable
            From :meth:`table`.
        cost : bool
            Also return the cost (else None).

        Returns
        -------
        hours, cost : ndarray, shape (n_paths, k)
            ``Σ_h P(p_h ≤ b)`` (hours) and ``Σ_h E[p_h·1{p_h ≤ b}]`` (USD/MWh·h); at or above
            the cap the cohort always runs and pays ``Σ_h E[min(p_h, cap)]``.
        """
        assert self.level is not None
        thr = b if isinstance(b, Threshold) else self.threshold(b)
        hours, g1 = table.at(thr.i, thr.t, cost=cost)
        if g1 is not None:
            g1 *= self.level[:, None]
        if thr.capped is not None:
            if g1 is not None:
                g1 += np.where(thr.capped, self.cap * (table.hours - hours), 0.0)
            hours[thr.capped] = table.hours
        return hours, g1

    def below(self, b: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``P(p ≤ b)`` and ``E[p·1{p ≤ b}]`` per hour for thresholds ``b`` (n_paths, k).

        Returns two arrays of shape ``(n_paths, k, 24)``.
        """
        if self.values is not None:
            v = self.values[:, None, :]
            run = (v <= b[:, :, None]).astype(np.float64)
            return run, run * v
        if self.mu is None:
            assert self.level is not None and self.offsets is not None
            self.mu = np.log(self.level)[:, None] + self.offsets[None, :]
        s, mu = self.sigma, self.mu[:, None, :]
        bb = b[:, :, None]
        # b ≤ 0 never runs (log of a tiny price: Φ = 0); b ≥ cap always runs (below)
        zb = (np.log(np.clip(bb, 1e-300, self.cap)) - mu) * (1.0 / s)
        prob = ndtr(zb)
        pmean = ndtr(zb - s)
        pmean *= np.exp(mu + 0.5 * s * s)
        capped = bb >= self.cap
        if capped.any():  # at or above the cap: always runs, pays E[min(X, cap)]
            pmean = np.where(capped, pmean + self.cap * (1.0 - prob), pmean)
            prob = np.where(capped, 1.0, prob)
        if self.expand is not None:
            return prob[:, :, self.expand], pmean[:, :, self.expand]
        return prob, pmean

    def mean(self) -> NDArray[np.float64]:
        """``E[p]`` per hour, shape (n_paths, 24)."""
        if self.values is not None:
            return self.values
        n_paths = self.level.shape[0] if self.level is not None else self.mu.shape[0]  # type: ignore[union-attr]
        big = np.full((n_paths, 1), self.cap)
        return self.below(big)[1][:, 0, :]
