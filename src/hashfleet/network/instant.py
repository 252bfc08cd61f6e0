"""Instant-response hashrate (research mode): hashrate is a given function of revenue per hash.

As in the academic literature on difficulty adjustment (e.g. Noda, Okumura & Hashimoto, "An
Economic Analysis of Difficulty Adjustment Algorithms in Proof-of-Work Blockchain Systems",
2020; Fullmer & Morgan, "Analysis of Difficulty Control in Bitcoin and Proof-of-Work
Blockchains", 2018), miners enter and exit at once, so the rest of the network's hashrate is

    H = cap / (1 + exp(−slope · (R − centre)))

with ``R`` the revenue per unit of hash at the *current* difficulty, in USD per PH/s per day
(the FPPS rate, hashprice): ``R = price · (subsidy(h+1) + fees) / (D · 2^32) · 86400 · 1e15``.
``H`` is re-evaluated every ``resolution_hours``: the day is cut into ``24/resolution_hours``
intervals, each mined exactly with :func:`hashfleet.network.blocks.produce_day` at the
hashrate set at its start, so a retarget inside an interval changes ``H`` only from the next
interval.  The day's results (blocks, subsidy, FPPS reward rate, own blocks) are summed into
the one :class:`~hashfleet.network.blocks.DayBlocks` the production step reads; the recorded
network hashrate is the time average over the day.

Under this elastic supply the 2016-block rule is unstable: when the price falls, hashrate
leaves at once, blocks slow down, and the difficulty only catches up after 2016 (slow) blocks;
the mean block time ends up well above 600 s when the price wanders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from hashfleet.day import DayRecord
from hashfleet.network.blocks import SECONDS_PER_DAY, DayBlocks, produce_day, subsidy_sat_array
from hashfleet.network.component import NetworkChunk, expected_hashprice
from hashfleet.network.hashprice import hashprice_usd_per_ph_day

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine

__all__ = ["InstantResponse", "combine_day_blocks", "sigmoid_hashrate_hs"]

FloatArray = NDArray[np.float64]


def sigmoid_hashrate_hs(
    revenue_usd_per_ph_day: FloatArray, cap_hs: float, centre: float, slope: float
) -> FloatArray:
    """``cap / (1 + exp(−slope·(R − centre)))`` in H/s, shape of ``revenue_usd_per_ph_day``."""
    z = np.clip(-slope * (np.asarray(revenue_usd_per_ph_day) - centre), -700.0, 700.0)
    out: FloatArray = cap_hs / (1.0 + np.exp(z))
    return out


def combine_day_blocks(parts: list[DayBlocks]) -> DayBlocks:
    """Sum the results of consecutive intervals of a day into one :class:`DayBlocks`."""
    first = parts[0]
    own_b = own_r = None
    if first.own_blocks is not None:
        own_b = np.sum([p.own_blocks for p in parts if p.own_blocks is not None], axis=0)
        own_r = np.sum([p.own_reward_btc for p in parts if p.own_reward_btc is not None], axis=0)
    return DayBlocks(
        blocks=np.sum([p.blocks for p in parts], axis=0),
        subsidy_sat=np.sum([p.subsidy_sat for p in parts], axis=0),
        reward_per_hash_btc=np.sum([p.reward_per_hash_btc for p in parts], axis=0),
        own_blocks=own_b,
        own_reward_btc=own_r,
        retargets=np.sum([p.retargets for p in parts], axis=0),
    )


@dataclass(frozen=True)
class InstantResponse:
    """Engine component of the instant-response mode.

    Replaces the ``supply`` step (H at the start of the day, used by dispatch) and the
    ``network`` step (mines the day in ``24/resolution_hours`` intervals).

    Attributes
    ----------
    cap_ehs, centre_usd_per_ph_day, slope_per_usd_per_ph_day : float or None
        Sigmoid parameters; None takes the defaults computed on day 0 (see the schema).
    resolution_hours : float
        Interval between re-evaluations of H (divides 24).
    day0_fee_btc_per_block : float
        The fee model's level (constant fees or the lognormal median) for day 0's default
        centre.
    """

    cap_ehs: float | None
    centre_usd_per_ph_day: float | None
    slope_per_usd_per_ph_day: float | None
    resolution_hours: float = 24.0
    day0_fee_btc_per_block: float = 0.0

    def attach(self, engine: ChunkEngine) -> None:
        """Replace the ``supply`` and ``network`` steps."""
        params: dict[str, float] = {}
        n_int = round(24.0 / self.resolution_hours)
        net = engine.service(NetworkChunk)
        dur = SECONDS_PER_DAY / n_int

        def resolve() -> None:
            if params:
                return
            hp0 = _day0_hashprice(engine.today, net, self.day0_fee_btc_per_block)
            d0 = float(net.state.difficulty[0])  # uniform on day 0
            h0 = d0 * 2.0**32 / 600.0
            centre = self.centre_usd_per_ph_day or hp0
            params["cap"] = self.cap_ehs * 1e18 if self.cap_ehs else 2.0 * h0
            params["centre"] = centre
            params["slope"] = self.slope_per_usd_per_ph_day or 1.0 / centre

        def rest_now() -> FloatArray:
            return sigmoid_hashrate_hs(
                expected_hashprice(engine.today, net.state),
                params["cap"],
                params["centre"],
                params["slope"],
            )

        def supply(day: int) -> None:
            resolve()
            t: DayRecord = engine.today
            t.rest_hashrate_hs = rest_now()

        def network(day: int) -> None:
            t: DayRecord = engine.today
            fleet_hs = t.fleet_hs
            parts: list[DayBlocks] = []
            h_sum = np.zeros(engine.n_paths)
            day_start = net.day_start_unix(day)
            for k in range(n_int):
                rest = t.rest_hashrate_hs if k == 0 else rest_now()
                hs = np.maximum(rest + fleet_hs, 1.0)
                own_share = None
                if net.solo:
                    own_share = fleet_hs / hs
                parts.append(
                    produce_day(
                        net.state,
                        hs,
                        t.fees_btc_per_block,
                        day_start + k * dur,
                        day + k * dur / SECONDS_PER_DAY,
                        duration_s=dur,
                        block_rng=net.block_rng,
                        own_share=own_share,
                        luck_rng=net.luck_rng,
                        events=net.events,
                    )
                )
                h_sum += hs
            t.network_hs = h_sum / n_int
            t.rest_hashrate_hs = t.network_hs - fleet_hs
            t.blocks = combine_day_blocks(parts)

        engine.replace_step("supply", supply)
        engine.replace_step("network", network)


def _day0_hashprice(today: DayRecord, net: NetworkChunk, fee_btc: float) -> float:
    """Day 0's hashprice, the same on every path whatever the chunk (USD/(PH/s)/day).

    Day 0's price (equal on every path), the chain's starting difficulty and next subsidy, and
    the fee model's level (constant fees or the lognormal median), so the default centre does
    not depend on which paths a chunk holds.
    """
    reward = subsidy_sat_array(np.array([net.start_height + 1]))[0] / 1e8 + fee_btc
    price = float(today.btc_price_usd[0])
    d0 = float(net.state.difficulty[0])
    return float(hashprice_usd_per_ph_day(np.array([price]), np.array([d0]), np.array([reward]))[0])
