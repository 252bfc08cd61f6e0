"""The spot power process: daily levels (and hourly prices) of every site with a spot model."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hashfleet.constants import DAYS_PER_YEAR
from hashfleet.market.power.contracts import _HOUR_INDEX, HOURS
from hashfleet.processes import FloatArray
from hashfleet.scenario.schema import (
    SpotPowerSpec,
)


def spot_deviation_output(site: int) -> str:
    """Name of the log deviation ``x_d`` output of a site (only when a contract asks for it:
    re-contracting at the forward price)."""
    return f"spot_log_dev:{site}"


def spot_output(site: int, hour: int | None = None) -> str:
    """Name of the spot process output of a site (daily level, or one hour's price)."""
    return f"spot_usd_per_mwh:{site}" if hour is None else f"spot_usd_per_mwh:{site}:h{hour}"


@dataclass
class SpotState:
    """Per stream block: the log deviation ``x`` (n_paths, n_sites); None before day 0."""

    n_paths: int
    x: NDArray[np.float64] | None = None


class SpotPowerProcess:
    """Daily spot levels (and, in hourly mode, hourly prices) of every site with a spot model.

    Outputs: :func:`spot_output` ``(site)`` per site, plus ``(site, h)`` for h in 0..23 for
    sites in ``intraday: hourly`` mode.  Draws per window, in order: standard normals, Poisson
    jump counts, jump normals, each ``(n_paths, n_days, n_sites)``; hourly draws come from
    ``rng.spawn(1)[0]`` so they do not shift the daily stream.
    """

    def __init__(
        self,
        sites: Sequence[tuple[int, SpotPowerSpec]],
        start: dt.date,
        deviation_sites: Sequence[int] = (),
    ) -> None:
        self.sites = tuple(i for i, _ in sites)
        self.specs = tuple(s for _, s in sites)
        self.site_index = {i: j for j, i in enumerate(self.sites)}
        self.start = start
        sp = self.specs
        self.phi = np.array([2.0 ** (-1.0 / s.half_life_days) for s in sp])
        self.sigma = np.array([s.sigma for s in sp])
        self.log_median = np.log([s.median_usd_per_mwh for s in sp])
        self.amp = np.array([s.seasonal_amplitude for s in sp])
        self.peak_doy = np.array([s.seasonal_peak_day_of_year for s in sp], dtype=float)
        self.jump_p = np.array([s.jump_rate_per_year / DAYS_PER_YEAR for s in sp])
        self.jump_mu = np.array([s.jump_mean_log for s in sp])
        self.jump_sd = np.array([s.jump_sigma_log for s in sp])
        self.cap = np.array([s.cap_usd_per_mwh for s in sp])
        shape = []
        for s in sp:
            raw = s.diurnal_amplitude * np.cos(
                2 * np.pi * (_HOUR_INDEX + 0.5 - s.diurnal_peak_hour) / HOURS
            )
            shape.append(raw - np.log(np.mean(np.exp(raw))))
        self.shape_log = np.array(shape)  # (n_sites, 24)
        self.hourly = [j for j, s in enumerate(sp) if s.intraday == "hourly"]
        self.trend = any(s.trend is not None for s in sp)
        self.deviation_sites = tuple(deviation_sites)
        outs = [spot_output(i) for i in self.sites]
        outs += [spot_deviation_output(i) for i in self.deviation_sites]
        for j in self.hourly:
            outs += [spot_output(self.sites[j], h) for h in range(HOURS)]
        self.outputs: tuple[str, ...] = tuple(outs)

    def log_centre(self, days: NDArray[np.int64]) -> NDArray[np.float64]:
        """``log m(d) + season(d)`` of days ``days`` (n_days,): shape (n_days, n_sites).

        ``log m(d)`` is the log median, moved by each site's ``trend`` (drift and long-run
        level, :class:`~hashfleet.scenario.power.SpotTrendSpec`) when it has one.
        """
        doy = np.array(
            [(self.start + dt.timedelta(days=int(d))).timetuple().tm_yday for d in days], float
        )
        season = self.amp * np.cos(2 * np.pi * (doy[:, None] - self.peak_doy) / DAYS_PER_YEAR)
        if not self.trend:
            return self.log_median + season
        return self.log_median_at(days) + season

    def log_median_at(self, days: NDArray[np.int64]) -> NDArray[np.float64]:
        """Log median of days ``days`` with the trends: shape (n_days, n_sites)."""
        t = np.asarray(days, dtype=np.float64)[:, None] / DAYS_PER_YEAR
        out = np.broadcast_to(self.log_median, (t.shape[0], len(self.sites))).copy()
        for j, s in enumerate(self.specs):
            tr = s.trend
            if tr is None:
                continue
            lr = np.log(tr.long_run_median_usd_per_mwh or s.median_usd_per_mwh)
            decay = 2.0 ** (-t[:, 0] / tr.level_half_life_years)
            out[:, j] = lr + (self.log_median[j] - lr) * decay + tr.drift_per_year * t[:, 0]
        return out

    def init_state(self, n_paths: int) -> SpotState:
        """No day drawn yet."""
        return SpotState(n_paths)

    def window(
        self,
        state: SpotState,
        rng: np.random.Generator,
        first_day: int,
        n_days: int,
        inputs: Mapping[str, FloatArray],
    ) -> dict[str, FloatArray]:
        """Draw the daily levels (and hours) of days ``first_day .. first_day + n_days − 1``."""
        n_sites = len(self.sites)
        hourly_rng = rng.spawn(1)[0] if self.hourly else None
        n_paths = state.n_paths
        z = rng.standard_normal((n_days, n_paths, n_sites))
        counts = rng.poisson(np.broadcast_to(self.jump_p, (n_days, n_paths, n_sites)))
        w = rng.standard_normal((n_days, n_paths, n_sites))
        jumps = counts * self.jump_mu + np.sqrt(counts) * self.jump_sd * w
        innov = self.sigma * np.sqrt(1.0 - self.phi**2)
        x = np.empty((n_days, n_paths, n_sites))
        prev = state.x
        for d in range(n_days):
            prev = self.sigma * z[d] if prev is None else self.phi * prev + innov * z[d] + jumps[d]
            x[d] = prev
        state.x = prev
        days = np.arange(first_day, first_day + n_days)
        centre = self.log_centre(days)  # (n_days, n_sites)
        level = np.minimum(np.exp(centre[:, None, :] + x), self.cap)
        out: dict[str, FloatArray] = {}
        for j, i in enumerate(self.sites):
            out[spot_output(i)] = np.ascontiguousarray(level[:, :, j].T)
        for i in self.deviation_sites:
            out[spot_deviation_output(i)] = np.ascontiguousarray(x[:, :, self.site_index[i]].T)
        if hourly_rng is not None:
            eps = hourly_rng.standard_normal((len(self.hourly), n_paths, n_days, HOURS))
            for q, j in enumerate(self.hourly):
                s = self.specs[j].intraday_sigma
                lvl = level[:, :, j].T[:, :, None]  # (n_paths, n_days, 1)
                mult = np.exp(self.shape_log[j] + s * eps[q] - 0.5 * s * s)
                prices = np.minimum(lvl * mult, self.cap[j])
                for h in range(HOURS):
                    out[spot_output(self.sites[j], h)] = np.ascontiguousarray(prices[:, :, h])
        return out
