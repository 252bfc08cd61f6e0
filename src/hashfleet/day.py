"""The day record: every value the steps of one day share, declared once with unit and shape.

A fresh :class:`DayRecord` is made at the start of each simulated day (``engine.today``).
Steps write their fields in stage order and later steps read them; a field read before the
step that writes it raises ``AttributeError``.  Arrays are per path, shape ``(n_paths,)``.

Hashrate inside the record is in **H/s** (the one internal unit of the network quantities);
EH/s and TH/s appear only at the edges (scenario inputs, exogenous paths, recorded
variables, the fleet's catalogue figures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from hashfleet.fleet.operations import Dispatch
    from hashfleet.network.blocks import DayBlocks

__all__ = ["DayRecord"]

FloatArray = NDArray[np.float64]


@dataclass(slots=True)
class DayRecord:
    """What flows between the components within one day.

    Attributes
    ----------
    exogenous : dict of str to ndarray (n_paths,)
        Every exogenous process output of the day (stage 10), including the power spot
        levels and hour prices keyed by :func:`hashfleet.market.power.spot_output`.
    btc_price_usd : ndarray (n_paths,), USD
        The BTC price (stage 10).
    fees_btc_per_block : ndarray (n_paths,), BTC/block
        Fees per block (stage 10).
    network_hashrate_ehs : ndarray (n_paths,), EH/s
        The exogenous network hashrate path (stage 10; an input edge, hence EH/s).
    fleet_installed_hs : ndarray (n_paths,), H/s
        Our installed hashrate at the start of the day, before failures (fleet, stage 12).
    rest_hashrate_hs : ndarray (n_paths,), H/s
        Hashrate of the rest of the network (``supply``, stage 15).
    expected_hashprice_usd_per_ph_day : ndarray (n_paths,), USD/(PH/s)/day
        Start-of-day FPPS rate before pool fee (``dispatch``, stage 20).
    fleet_hs : ndarray (n_paths,), H/s
        Our running hashrate, day average (``dispatch``, stage 20).
    network_hs : ndarray (n_paths,), H/s
        Network hashrate including ours (``dispatch`` 20; ``network`` 30 may refine it).
    dispatch : hashfleet.fleet.operations.Dispatch
        The fleet's day: running TH/s, energy, power cost, programme credits and charges,
        per-site MW (``dispatch``, stage 20).
    blocks : hashfleet.network.blocks.DayBlocks
        Blocks mined, subsidies, reward per hash, own blocks when solo (``network``, 30).
    """

    exogenous: dict[str, FloatArray] = field(default_factory=dict)
    btc_price_usd: FloatArray = field(init=False)
    fees_btc_per_block: FloatArray = field(init=False)
    network_hashrate_ehs: FloatArray = field(init=False)
    fleet_installed_hs: FloatArray = field(init=False)
    rest_hashrate_hs: FloatArray = field(init=False)
    expected_hashprice_usd_per_ph_day: FloatArray = field(init=False)
    fleet_hs: FloatArray = field(init=False)
    network_hs: FloatArray = field(init=False)
    dispatch: Dispatch = field(init=False)
    blocks: DayBlocks = field(init=False)

    def set_exogenous(self, values: dict[str, FloatArray]) -> None:
        """Stage 10: the day's exogenous values (the kernel calls this)."""
        self.exogenous = values
        self.btc_price_usd = values["btc_price_usd"]
        self.fees_btc_per_block = values["fees_btc_per_block"]
        self.network_hashrate_ehs = values["network_hashrate_ehs"]
