"""The engine and the naive SimPy peers simulate the same model (issue 6, equivalence).

The peers (``benchmarks/peers``) are written independently, one path at a time, with their own
random numbers, so the check is on distributions: for terminal difficulty, total production,
ending cash and block count, the engine's and the peer's sample means differ by at most
3 standard errors of the difference and a two-sample KS test gives p > 0.001.  The scenario
puts a halving and a retarget inside the first days, with curtailment, site limits and a
delivery (see :func:`benchmarks.peers.equivalence.equivalence_scenario`).  Checked once to
fail when the peer's model is broken on purpose (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.peers import (
    PeerModel,
    simulate_per_block,
    simulate_per_day,
)
from benchmarks.peers.equivalence import (
    FIGURES,
    compare,
    equivalence_scenario,
)

from hashfleet.errors import InputError
from hashfleet.runner import simulate
from hashfleet.scenario.schema import Scenario


def _check(engine_pp, outcomes) -> None:
    for figure, attr in FIGURES.items():
        peer = np.array([getattr(o, attr) for o in outcomes], dtype=float)
        c = compare(engine_pp[figure].to_numpy(), peer, figure)
        assert c.ok(), c
    # every path of both has the scenario's one retarget and one halving
    assert np.all(engine_pp["retargets"].to_numpy() >= 1)
    assert np.all(engine_pp["halvings"].to_numpy() == 1)
    assert all(o.halvings == 1 and o.retargets >= 1 for o in outcomes)


@pytest.fixture(scope="module")
def small():
    sc = equivalence_scenario(horizon_days=14, paths=400)
    return sc, simulate(sc).per_path, PeerModel.from_scenario(sc)


def test_engine_matches_per_block_peer(small) -> None:
    """400 paths × 14 days: engine vs one-event-per-block SimPy peer (3 SE, KS p > 0.001)."""
    _, pp, model = small
    _check(pp, simulate_per_block(model, 400, seed=1))


def test_engine_matches_per_day_peer(small) -> None:
    """400 paths × 14 days: engine vs one-event-per-day SimPy peer (3 SE, KS p > 0.001)."""
    _, pp, model = small
    _check(pp, simulate_per_day(model, 400, seed=2))


@pytest.mark.slow
def test_engine_matches_per_block_peer_many_paths() -> None:
    """2,000 paths × 42 days (3 retargets): engine vs per-block peer (3 SE, KS p > 0.001)."""
    sc = equivalence_scenario(horizon_days=42, paths=2000)
    pp = simulate(sc).per_path
    outcomes = simulate_per_block(PeerModel.from_scenario(sc), 2000, seed=3)
    _check(pp, outcomes)
    assert np.mean([o.retargets for o in outcomes]) >= 3


@pytest.mark.slow
def test_engine_matches_per_day_peer_many_paths() -> None:
    """5,000 paths × 90 days: engine vs per-day peer (3 SE, KS p > 0.001)."""
    sc = equivalence_scenario(horizon_days=90, paths=5000)
    _check(simulate(sc).per_path, simulate_per_day(PeerModel.from_scenario(sc), 5000, seed=4))


def test_peer_refuses_what_it_does_not_model() -> None:
    """A scenario the peers cannot simulate is a clear InputError naming the field."""
    d = equivalence_scenario().model_dump(mode="json")
    d["fleet"]["pool"]["payout"] = "solo"
    with pytest.raises(InputError, match=r"fleet\.pool\.payout"):
        PeerModel.from_scenario(Scenario.model_validate(d))


def test_peer_path_is_reproducible() -> None:
    """The same seed gives the same peer path."""
    model = PeerModel.from_scenario(equivalence_scenario(horizon_days=3, paths=1))
    assert simulate_per_day(model, 2, seed=9) == simulate_per_day(model, 2, seed=9)
    assert simulate_per_block(model, 1, seed=9) == simulate_per_block(model, 1, seed=9)
