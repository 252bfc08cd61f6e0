"""The chain at t=0: tip height, the current epoch's bits and first-block time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hashfleet import consensus
from hashfleet.scenario.schema import NetworkStartSpec

__all__ = ["ChainStart", "resolve_chain_start", "unix_seconds"]


@dataclass(frozen=True)
class ChainStart:
    """The chain at t=0: tip height, the current epoch's bits and first-block time."""

    height: int
    bits: int
    epoch_start_time: int  # Unix seconds
    source: str


def unix_seconds(t: dt.datetime) -> int:
    """Unix seconds of ``t`` (naive times are UTC)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp())


def resolve_chain_start(spec: NetworkStartSpec, start: dt.date) -> ChainStart:
    """The chain state at 00:00 UTC of ``start``, from the spec or the shipped history."""
    if spec.from_history:
        from hashfleet import history

        st = history.network_state_at(start)
        return ChainStart(st.height, st.bits, unix_seconds(st.epoch_start_time), st.source)
    assert spec.height is not None and spec.epoch_start_time is not None
    if spec.bits is not None:
        consensus.bits_to_target(spec.bits)  # validates the compact encoding
        bits = spec.bits
    else:
        assert spec.difficulty is not None
        bits = consensus.target_to_bits(consensus.difficulty_to_target(spec.difficulty))
    return ChainStart(spec.height, bits, unix_seconds(spec.epoch_start_time), "scenario")
