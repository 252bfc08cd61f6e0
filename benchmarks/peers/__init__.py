"""Naive peers: the engine's model written the way a user would with SimPy alone.

One ``simpy.Environment`` per path, scalar Python arithmetic and scalar draws:

* :mod:`benchmarks.peers.per_block` — an event per block (exponential inter-arrival times);
* :mod:`benchmarks.peers.per_day` — an event per day (Poisson daily counts, with the day split
  at retarget and halving blocks).

Both read the same :class:`~hashfleet.scenario.schema.Scenario` as the engine (through
:mod:`benchmarks.peers.model`) and serve to check that the engine's distributions are the
model's (equivalence) and to measure how much faster the engine is (the ratio).
"""

from benchmarks.peers.model import PathOutcome, PeerModel
from benchmarks.peers.per_block import simulate_per_block
from benchmarks.peers.per_day import simulate_per_day

__all__ = ["PathOutcome", "PeerModel", "simulate_per_block", "simulate_per_day"]
