"""Network segments: the endogenous supply as a sum of populations of miners.

With ``network.hashrate.segments`` the rest of the network is split into segments (listed,
private, sovereign/state-backed, stranded/flared-gas, …).  Each segment ``k`` is one copy of
the supply model of :mod:`hashfleet.network.supply_kernels` — an installed base by vintage,
a lognormal power-cost distribution, margin-driven investment with a lead time, retirement of
long-idle capacity — with its own :class:`~hashfleet.network.supply_kernels.SupplyParams`
(the section's values, overridden by the segment's ``kind`` preset and its own fields) and its
own :class:`~hashfleet.network.supply_kernels.SupplyState`.  The kernels are called unchanged,
once per segment; this module adds, around them:

Price response ``r_k`` in [0, 1]
    The segment's running share is ``1 − r·(1 − s)``, ``s`` the kernel's running share (the
    share whose power cost hashprice covers, moved with the switch half-life).  ``r = 1`` is
    the kernel unchanged (elastic); ``r = 0`` runs everything whatever the hashprice
    (price-insensitive: it is then never idle and never retires).  The kernel's economic share
    is carried between days; the effective share is what the kernel's retirement sees.
Growth
    Scheduled additions (``ehs`` over ``over_days`` days from ``date``), a Poisson process of
    random additions (per path and day with probability ``rate/365.25``, size exponential
    with mean ``addition_mean_ehs``), and exogenous growth of installed capacity
    ``(1 + g)^(1/365.25) − 1`` a day.  Additions arrive at the frontier of their arrival day
    (log-linear split over the two grid buckets around it, as the kernel's arrivals).
Cap
    After each day's update a segment's installed capacity above ``cap_ehs`` is scaled down
    to it (every vintage in proportion).

Day 0: segment ``k`` runs ``start_share_k`` of the rest of the network's day-0 hashrate; its
installed base is the kernel's initial state rescaled so that its *effective* running hashrate
equals that.  Shocks (the section's scheduled and random shocks) hit every segment alike: one
pair of uniforms per path and day from the ``network_supply`` stream (as without segments);
random additions draw two more uniforms per path and day per segment that has them, after.

The rest of the network runs ``Σ_k running_k``.  With one segment whose every field is unset
(``start_share: 1``) every number equals the one-population model bit for bit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from hashfleet.constants import DAYS_PER_YEAR
from hashfleet.day import DayRecord
from hashfleet.network.component import NetworkChunk, expected_hashprice
from hashfleet.network.supply_kernels import (
    SupplyParams,
    SupplyState,
    initial_supply_state,
    supply_running_hs,
    supply_update,
)
from hashfleet.scenario.segments import SupplySegmentSpec

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine

__all__ = ["SegmentParams", "SegmentedSupply", "segment_params_from_spec"]

FloatArray = NDArray[np.float64]

#: SupplyParams fields a segment may override (the rest are the section's).
_OVERRIDABLE = (
    "power_cost_median_usd_per_mwh",
    "power_cost_sigma",
    "switch_half_life_days",
    "age_growth_per_year",
    "max_age_years",
    "investment_rate_per_year",
    "investment_margin_threshold",
    "investment_memory_days",
    "lead_time_days",
    "retirement_rate_per_year",
)


@dataclass(frozen=True)
class SegmentParams:
    """One segment's resolved parameters.

    Attributes
    ----------
    name : str
    supply : SupplyParams
        The kernel's parameters for this segment.
    start_share : float
        Share of the rest of the network's day-0 hashrate.
    price_response : float
        Scaling of the switch-off response (1 elastic … 0 price-insensitive).
    additions_hs_per_day : ndarray, shape (horizon_days,)
        Scheduled additions arriving at the end of each day (H/s).
    addition_rate_per_year, addition_mean_hs : float
        Random additions: Poisson rate and mean exponential size (H/s).
    growth_per_day : float
        Daily exogenous growth factor minus one.
    cap_hs : float or None
        Cap on installed capacity (H/s).
    """

    name: str
    supply: SupplyParams
    start_share: float
    price_response: float
    additions_hs_per_day: FloatArray
    addition_rate_per_year: float
    addition_mean_hs: float
    growth_per_day: float
    cap_hs: float | None


def segment_params_from_spec(
    seg: SupplySegmentSpec, base: SupplyParams, start: dt.date, horizon_days: int
) -> SegmentParams:
    """Resolve one segment: its fields, else its kind's preset, else ``base`` (the section's)."""
    over: dict[str, float | int] = {}
    for name in _OVERRIDABLE:
        v = seg.resolved(name)
        if v is not None:
            over[name] = int(v) if name == "lead_time_days" else v
    supply = dataclasses.replace(base, **over) if over else base  # type: ignore[arg-type]
    adds = np.zeros(horizon_days)
    for a in seg.additions:
        first = (a.date - start).days
        days = np.arange(first, first + a.over_days)
        days = days[(days >= 0) & (days < horizon_days)]
        adds[days] += a.ehs * 1e18 / a.over_days
    response = seg.resolved("price_response")
    return SegmentParams(
        name=seg.name,
        supply=supply,
        start_share=seg.start_share,
        price_response=1.0 if response is None else response,
        additions_hs_per_day=adds,
        addition_rate_per_year=seg.addition_rate_per_year,
        addition_mean_hs=seg.addition_mean_ehs * 1e18,
        growth_per_day=(1.0 + seg.growth_per_year) ** (1.0 / DAYS_PER_YEAR) - 1.0,
        cap_hs=None if seg.cap_ehs is None else seg.cap_ehs * 1e18,
    )


class _Segment:
    """One segment's run state in a chunk."""

    def __init__(self, p: SegmentParams) -> None:
        self.p = p
        self.state: SupplyState | None = None
        self.econ_share: FloatArray | None = None  # the kernel's share when r < 1
        self.running_hs: FloatArray | None = None

    @property
    def st(self) -> SupplyState:
        """The state (after day 0's ``start``)."""
        if self.state is None:
            raise RuntimeError(f"segment {self.p.name}: used before day 0")
        return self.state

    @property
    def running(self) -> FloatArray:
        """Today's running hashrate (H/s), shape (n_paths,)."""
        if self.running_hs is None:
            raise RuntimeError(f"segment {self.p.name}: used before day 0")
        return self.running_hs

    def start(self, rest_hs: FloatArray, hp: FloatArray) -> None:
        p = self.p
        seg_hs = rest_hs if p.start_share == 1.0 else p.start_share * rest_hs
        st = initial_supply_state(p.supply, seg_hs, hp)
        if p.price_response != 1.0:
            self.econ_share = st.running_share
            eff = self._effective(st.running_share)
            running = np.einsum("pv,pv->p", st.installed_hs, eff)
            scale = np.divide(seg_hs, running, out=np.zeros_like(seg_hs), where=running > 0)
            st.installed_hs *= scale[:, None]
            st.pipeline_hs *= scale[:, None]
            st.orders_hs = st.orders_hs * scale
            st.running_share = eff
            st.idle_ewma = 1.0 - eff
        self.state = st
        self.running_hs = seg_hs * (1.0 - st.offline)

    def _effective(self, share: FloatArray) -> FloatArray:
        out: FloatArray = 1.0 - self.p.price_response * (1.0 - share)
        return out

    def run(self, hp: FloatArray) -> FloatArray:
        st, p = self.st, self.p
        if p.price_response == 1.0:
            running_hs: FloatArray = supply_running_hs(st, p.supply, hp)
            self.running_hs = running_hs
            return running_hs
        if p.price_response == 0.0:  # runs in full: no switch-off to evaluate
            running_all: FloatArray = st.installed_total_hs * (1.0 - st.offline)
            self.running_hs = running_all
            return running_all
        assert self.econ_share is not None
        st.running_share = self.econ_share
        supply_running_hs(st, p.supply, hp)  # moves the economic share
        self.econ_share = st.running_share
        st.running_share = self._effective(self.econ_share)
        running: FloatArray = np.einsum("pv,pv->p", st.installed_hs, st.running_share)
        running *= 1.0 - st.offline
        self.running_hs = running
        return running

    def update(
        self, day: int, hp: FloatArray, shock_u: FloatArray | None, add_u: FloatArray | None
    ) -> None:
        st, p = self.st, self.p
        supply_update(st, p.supply, day, hp, shock_u)
        added = None
        if day < p.additions_hs_per_day.size and p.additions_hs_per_day[day] > 0:
            added = np.full(st.offline.shape, p.additions_hs_per_day[day])
        if p.growth_per_day > 0:
            g = st.installed_total_hs * p.growth_per_day
            added = g if added is None else added + g
        if add_u is not None:
            hit = add_u[:, 0] < p.addition_rate_per_year / DAYS_PER_YEAR
            size = -p.addition_mean_hs * np.log1p(-add_u[:, 1])
            r = np.where(hit, size, 0.0)
            added = r if added is None else added + r
        if added is not None:
            w = _frontier_weights(p.supply.grid_j_per_th, float(p.supply.frontier(day + 1)))
            nz = np.flatnonzero(w)
            st.installed_hs[:, nz] += added[:, None] * w[nz][None, :]
        if p.cap_hs is not None:
            total = st.installed_total_hs
            over = total > p.cap_hs
            if over.any():
                f = np.where(over, p.cap_hs / np.maximum(total, 1e-300), 1.0)
                st.installed_hs *= f[:, None]


class SegmentedSupply:
    """Engine component: the rest of the network as a sum of segments.

    Replaces the ``supply`` step (stage 15) and adds ``supply_update`` at stage 45, like
    :class:`~hashfleet.network.supply.EndogenousSupply` (same ``rest_installed_ehs`` and
    ``rest_offline_share``), and records per segment ``segment_hashrate_ehs__<name>``
    (running, EH/s), ``segment_installed_ehs__<name>`` (EH/s) and ``segment_share__<name>``
    (share of the network hashrate, our fleet included).

    Parameters
    ----------
    segments : sequence of SegmentParams
    start_ehs : float or None
        Network hashrate on day 0 (EH/s); None: ``D·2^32/600`` at the starting difficulty.
    includes_fleet : bool
        ``start_ehs`` includes our installed fleet (subtracted to get the rest).
    """

    def __init__(
        self, segments: tuple[SegmentParams, ...], start_ehs: float | None, includes_fleet: bool
    ) -> None:
        if not segments:
            raise ValueError("segments: expected at least one segment, got none")
        self.segments = segments
        self.start_ehs = start_ehs
        self.includes_fleet = includes_fleet

    def attach(self, engine: ChunkEngine) -> None:
        """Replace the supply step and add the end-of-day update."""
        segs = [_Segment(p) for p in self.segments]
        rng = engine.rng("network_supply")
        shocks = self.segments[0].supply.shock_rate_per_year > 0
        engine.declare(
            "rest_installed_ehs", "EH/s", "Installed capacity of the rest of the network"
        )
        engine.declare(
            "rest_offline_share", "1", "Share of the rest of the network offline (shocks)"
        )
        for p in self.segments:
            engine.declare(
                f"segment_hashrate_ehs__{p.name}", "EH/s", f"Running hashrate of {p.name}"
            )
            engine.declare(
                f"segment_installed_ehs__{p.name}", "EH/s", f"Installed capacity of {p.name}"
            )
            engine.declare(
                f"segment_share__{p.name}", "1", f"Share of the network hashrate: {p.name}"
            )
        network = engine.service(NetworkChunk).state
        started: list[bool] = []

        def supply(day: int) -> None:
            t: DayRecord = engine.today
            hp = expected_hashprice(t, network)
            if not started:
                if self.start_ehs is not None:
                    start_hs = np.full(engine.n_paths, self.start_ehs * 1e18)
                else:
                    start_hs = network.difficulty * 2.0**32 / 600.0
                if self.includes_fleet:
                    start_hs = np.maximum(start_hs - t.fleet_installed_hs, 0.0)
                for s in segs:
                    s.start(start_hs, hp)
                started.append(True)
                t.rest_hashrate_hs = _total([s.running for s in segs])
                return
            t.rest_hashrate_hs = _total([s.run(hp) for s in segs])

        def draws() -> FloatArray:
            return np.concatenate([g.random((rng.block_paths, 2)) for g in rng.generators])

        def update(day: int) -> None:
            hp = engine.values["hashprice_usd_per_ph_day"]
            u = draws() if shocks else None
            for s in segs:
                add_u = draws() if s.p.addition_rate_per_year > 0 else None
                s.update(day, hp, u, add_u)
            v = engine.values
            states = [s.st for s in segs]
            v["rest_installed_ehs"] = _total([st.installed_total_hs for st in states]) / 1e18
            v["rest_offline_share"] = states[0].offline.copy()  # shocks hit all alike
            net_ehs = v["network_hashrate_ehs"]
            for s, st in zip(segs, states, strict=True):
                ehs = s.running / 1e18
                v[f"segment_hashrate_ehs__{s.p.name}"] = ehs
                v[f"segment_installed_ehs__{s.p.name}"] = st.installed_total_hs / 1e18
                v[f"segment_share__{s.p.name}"] = np.divide(
                    ehs, net_ehs, out=np.zeros_like(ehs), where=net_ehs > 0
                )

        engine.replace_step("supply", supply)
        engine.add_step(45, "supply_update", update)


def _total(parts: list[FloatArray]) -> FloatArray:
    """Sum of per-path arrays, in segment order (one part: itself)."""
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


def _frontier_weights(grid: FloatArray, efficiency: float) -> FloatArray:
    """Capacity at ``efficiency`` (J/TH) split log-linearly over the two buckets around it."""
    lg = np.log(grid)
    x = float(np.clip(np.log(efficiency), lg[0], lg[-1]))
    i = int(np.clip(np.searchsorted(lg, x) - 1, 0, grid.size - 2))
    f = (x - lg[i]) / (lg[i + 1] - lg[i])
    w = np.zeros(grid.size)
    w[i] += 1.0 - f
    w[i + 1] += f
    return w
