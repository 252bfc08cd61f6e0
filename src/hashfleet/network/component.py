"""The network as an engine component: chain state, block production, retargets, halvings.

:class:`NetworkComponent` gives every chunk engine a :class:`NetworkChunk` service (the
chain state of every path, the block and luck streams, the event log) and four steps:

* ``supply`` (stage 15): the rest of the network's hashrate from the exogenous path
  (replaced by the endogenous-supply and instant-response components);
* ``hashprice`` (16): the start-of-day FPPS rate every later step reads;
* ``network`` (30): exact block production, retargets and halvings
  (:func:`~hashfleet.network.blocks.produce_day`);
* ``network_record`` (30, after ``network``): the network's daily variables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hashfleet.constants import RETARGET_INTERVAL_BLOCKS
from hashfleet.day import DayRecord
from hashfleet.engine.core import ChunkEngine
from hashfleet.engine.streams import BlockRNG
from hashfleet.network.blocks import (
    SECONDS_PER_DAY,
    EventLog,
    NetworkState,
    produce_day,
    subsidy_sat_array,
)
from hashfleet.network.chain import ChainStart
from hashfleet.network.hashprice import hashprice_usd_per_ph_day
from hashfleet.network.retarget import bits_to_difficulty_array, next_bits_array

__all__ = ["NETWORK_VARIABLES", "NetworkChunk", "NetworkComponent", "expected_hashprice"]

#: The network's daily variables: name -> (unit, description, totalled).
NETWORK_VARIABLES: dict[str, tuple[str, str, bool]] = {
    "height": ("block", "Chain tip height at the end of the day", False),
    "blocks": ("block", "Blocks mined in the day", True),
    "difficulty": ("1", "Difficulty at the end of the day", False),
    "network_hashrate_ehs": ("EH/s", "Network hashrate, our running fleet included", False),
    "btc_price_usd": ("USD", "BTC price", False),
    "subsidy_btc": ("BTC", "Block subsidies issued in the day (exact across halvings)", True),
    "fees_btc": ("BTC", "Fees paid to miners in the day", True),
    "hashprice_usd_per_ph_day": (
        "USD/(PH/s)/day",
        "Expected payout of 1 PH/s over the day before pool fee: the integral of "
        "(subsidy + fees)/(D·2^32) at the difficulty in force, times price",
        False,
    ),
}


@dataclass
class NetworkChunk:
    """One chunk's network: what block-producing components share.

    Attributes
    ----------
    state : NetworkState
        Chain state of every path.
    block_rng, luck_rng : BlockRNG or None
        Block arrivals (None: deterministic blocks) and solo luck (None: FPPS).
    events : EventLog or None
        Retargets and halvings, if recorded.
    start_unix : int
        Unix time of day 0, 00:00 UTC.
    start_height : int
        Chain tip at t=0 (the same on every path).
    solo : bool
        Whether our fleet mines solo.
    """

    state: NetworkState
    block_rng: BlockRNG | None
    luck_rng: BlockRNG | None
    events: EventLog | None
    start_unix: int
    start_height: int
    solo: bool

    def day_start_unix(self, day: float) -> float:
        """Unix time of the start of ``day``."""
        return float(self.start_unix + day * SECONDS_PER_DAY)


def expected_hashprice(today: DayRecord, state: NetworkState) -> NDArray[np.float64]:
    """The start-of-day FPPS rate (USD/(PH/s)/day) at the chain state ``state``."""
    reward = subsidy_sat_array(state.height + 1) / 1e8 + today.fees_btc_per_block
    out: NDArray[np.float64] = hashprice_usd_per_ph_day(
        today.btc_price_usd, state.difficulty, reward
    )
    return out


@dataclass(frozen=True)
class NetworkComponent:
    """Chain state, supply, block production and the network's variables.

    Parameters
    ----------
    start_unix : int
        Unix time of day 0.
    chain : ChainStart
    deterministic : bool
        Blocks at exactly the expected rate (no Poisson draws).
    solo : bool
        Our fleet mines solo (its own blocks drawn with luck).
    includes_fleet : bool
        The exogenous network path includes our installed fleet.
    """

    start_unix: int
    chain: ChainStart
    deterministic: bool
    solo: bool
    includes_fleet: bool

    def attach(self, engine: ChunkEngine) -> None:
        """Provide the :class:`NetworkChunk` and add the network's steps and variables."""
        c = self.chain
        state = NetworkState.uniform(engine.n_paths, c.height, c.bits, c.epoch_start_time)
        events = EventLog(path_offset=engine.path_offset) if engine.record_events else None
        net = engine.provide(
            NetworkChunk(
                state=state,
                block_rng=None if self.deterministic else engine.rng("blocks"),
                luck_rng=engine.rng("luck") if self.solo and not self.deterministic else None,
                events=events,
                start_unix=self.start_unix,
                start_height=c.height,
                solo=self.solo,
            )
        )
        engine.events = events
        self._retarget_at_start(state)
        engine.declare_all(NETWORK_VARIABLES)
        _NetworkSteps(self, engine, net)

    def _retarget_at_start(self, st: NetworkState) -> None:
        """A tip that ends an epoch retargets at t=0 (timespan measured to the start)."""
        ends = st.height % RETARGET_INTERVAL_BLOCKS == RETARGET_INTERVAL_BLOCKS - 1
        if ends.any():
            span = self.start_unix - st.epoch_start_time[ends]
            st.bits[ends] = next_bits_array(st.bits[ends], span)
            st.difficulty[ends] = bits_to_difficulty_array(st.bits[ends])


class _NetworkSteps:
    """One chunk's network steps."""

    def __init__(self, comp: NetworkComponent, engine: ChunkEngine, net: NetworkChunk) -> None:
        self.engine = engine
        self.net = net
        self.includes_fleet = comp.includes_fleet
        engine.add_step(15, "supply", self.supply)
        engine.add_step(16, "hashprice", self.hashprice)
        engine.add_step(30, "network", self.produce)
        engine.add_step(30, "network_record", self.record)

    def supply(self, day: int) -> None:
        """Rest-of-network hashrate from the exogenous path (H/s, per path)."""
        t: DayRecord = self.engine.today
        path_hs = t.network_hashrate_ehs * 1e18
        if self.includes_fleet:
            path_hs = np.maximum(path_hs - t.fleet_installed_hs, 0.0)
        t.rest_hashrate_hs = path_hs

    def hashprice(self, day: int) -> None:
        t: DayRecord = self.engine.today
        t.expected_hashprice_usd_per_ph_day = expected_hashprice(t, self.net.state)

    def produce(self, day: int) -> None:
        t: DayRecord = self.engine.today
        net = self.net
        own_share = None
        if net.solo:
            own_share = np.divide(
                t.fleet_hs,
                t.network_hs,
                out=np.zeros(self.engine.n_paths),
                where=t.network_hs > 0,
            )
        t.blocks = produce_day(
            net.state,
            t.network_hs,
            t.fees_btc_per_block,
            net.day_start_unix(day),
            day,
            block_rng=net.block_rng,
            own_share=own_share,
            luck_rng=net.luck_rng,
            events=net.events,
        )

    def record(self, day: int) -> None:
        t: DayRecord = self.engine.today
        st = self.net.state
        blocks = t.blocks
        price = t.btc_price_usd
        v = self.engine.values
        v["height"] = st.height.astype(np.float64)
        v["blocks"] = blocks.blocks.astype(np.float64)
        v["difficulty"] = st.difficulty.copy()
        v["network_hashrate_ehs"] = t.network_hs / 1e18
        v["btc_price_usd"] = price
        v["subsidy_btc"] = blocks.subsidy_sat / 1e8
        v["fees_btc"] = blocks.blocks * t.fees_btc_per_block
        v["hashprice_usd_per_ph_day"] = blocks.reward_per_hash_btc * 1e15 * price
