"""The vectorised retarget equals the scalar consensus rules bit for bit, and replays history.

The replay uses ``hashfleet/data/btc_difficulty_epochs.csv`` (the first block of each of the
437 epochs, so 436 real retargets).
"""

from __future__ import annotations

import csv
import importlib.resources
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashfleet import consensus as c
from hashfleet.errors import ConsensusError
from hashfleet.network.retarget import (
    bits_to_difficulty_array,
    cumulative_subsidy_array,
    next_bits_array,
)

T = c.TARGET_TIMESPAN_S

# --------------------------------------------------------------------------- strategies


def _valid_last_bits(bits: int) -> bool:
    try:
        return c.bits_to_target(bits) <= c.POW_LIMIT
    except ConsensusError:
        return False


_near_pow_limit = st.integers(0x1C000000, 0x1D00FFFF)
_small_exponent = st.integers(0x00000000, 0x03FFFFFF)
_any_size = st.builds(lambda e, m: (e << 24) | m, st.integers(0, 0x1D), st.integers(0, 0x7FFFFF))
_sparse_mantissa = st.builds(lambda e, m: (e << 24) | m, st.integers(0, 0x1E), st.integers(0, 0xFF))
last_bits = st.one_of(_near_pow_limit, _small_exponent, _any_size, _sparse_mantissa).filter(
    _valid_last_bits
)
timespans = st.one_of(
    st.integers(-(2**62), 2**62),
    st.integers(T // 4 - 10, 4 * T + 10),
    st.integers(-10, 10),
    st.sampled_from([T // 4, 4 * T, T, T - 1, T + 1, 0, -(2**63), 2**63 - 1]),
)


@given(st.lists(st.tuples(last_bits, timespans), min_size=1, max_size=50))
def test_next_bits_array_equals_scalar(pairs: list[tuple[int, int]]):
    bits = np.array([b for b, _ in pairs], dtype=np.int64)
    spans = np.array([s for _, s in pairs], dtype=np.int64)
    expected = [c.next_bits(b, 0, s) for b, s in pairs]
    got = next_bits_array(bits, spans)
    assert got.dtype == np.int64
    assert got.tolist() == expected


def test_next_bits_array_core_vectors_and_broadcasting():
    # Bitcoin Core src/test/pow_tests.cpp (see tests/test_consensus.py).
    bits = np.array([0x1D00FFFF, 0x1D00FFFF, 0x1C05A3F4, 0x1C387F6F])
    spans = np.array([1262152739 - 1261130161, 1233061996 - 1231006505, 289434, 6048000])
    assert next_bits_array(bits, spans).tolist() == [0x1D00D86A, 0x1D00FFFF, 0x1C0168FD, 0x1D00E1FD]
    grid = next_bits_array(np.array([[0x1B0404CB], [0x1D00FFFF]]), np.array([T // 2, T, 2 * T]))
    assert grid.shape == (2, 3)
    assert grid[0, 1] == 0x1B0404CB


def test_next_bits_array_rejects_invalid_bits_naming_the_value():
    with pytest.raises(ConsensusError, match=r"0x1d80ffff.*sign bit"):
        next_bits_array(np.array([0x1D00FFFF, 0x1D80FFFF]), T)
    with pytest.raises(ConsensusError, match=r"0x1e00ffff.*powLimit"):
        next_bits_array(np.array([0x1E00FFFF]), T)
    with pytest.raises(ConsensusError, match="0xff123456"):
        next_bits_array(np.array([0xFF123456]), T)
    with pytest.raises(ConsensusError, match="dtype float64"):
        next_bits_array(np.array([0x1D00FFFF]), np.array([1.0]))


@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=50))
def test_bits_to_difficulty_array_is_bit_identical(bits: list[int]):
    got = bits_to_difficulty_array(np.array(bits, dtype=np.int64))
    expected = np.array([c.bits_to_difficulty(b) for b in bits])
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))


def test_bits_to_difficulty_array_subnormal_and_edge_cases():
    # Sizes far above 29 take Core's ÷256 loop into subnormals, where each step rounds.
    bits = [0x1D00FFFF, 0x12345678, 0x00000000, 0xFF000001, 0xA0FFFFFF, 0xA1000003, 0x8A7FFFFF]
    got = bits_to_difficulty_array(bits)
    expected = np.array([c.bits_to_difficulty(b) for b in bits])
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))
    assert got[0] == 1.0
    assert math.isinf(got[2])


@given(st.lists(st.integers(-1, 2**62 - 1) | st.integers(-1, 14_000_000), max_size=50))
def test_cumulative_subsidy_array_equals_scalar(heights: list[int]):
    got = cumulative_subsidy_array(np.array(heights, dtype=np.int64))
    assert got.tolist() == [c.cumulative_subsidy(h) for h in heights]


def test_cumulative_subsidy_array_differences_cross_halvings():
    h0 = np.array([-1, 209_990, 839_999, 1_049_999])
    h1 = np.array([0, 210_010, 840_000, 1_050_001])
    paid = cumulative_subsidy_array(h1) - cumulative_subsidy_array(h0)
    assert paid.tolist() == [
        50 * c.COIN,
        9 * 50 * c.COIN + 11 * 25 * c.COIN,  # heights 209,991..210,010
        c.block_subsidy(840_000),
        2 * c.block_subsidy(1_050_000),
    ]
    with pytest.raises(ConsensusError, match="-2"):
        cumulative_subsidy_array([0, -2])


# --------------------------------------------------------------------------- historical replay


@dataclass(frozen=True)
class Epochs:
    height: list[int]
    time: list[int]
    bits: list[int]
    chainwork: list[int]


@cache
def _epochs() -> Epochs:
    path = importlib.resources.files("hashfleet.data") / "btc_difficulty_epochs.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return Epochs(
        height=[int(r["height"]) for r in rows],
        time=[int(r["unix_time"]) for r in rows],
        bits=[int(r["bits_hex"], 16) for r in rows],
        chainwork=[int(r["chainwork_hex"], 16) for r in rows],
    )


Rule = Callable[[int, int], int]  # (last_bits, timespan_s) -> new bits


def _core_rule(bits: int, timespan: int) -> int:
    return c.next_bits(bits, 0, timespan)


def _no_clamp_rule(bits: int, timespan: int) -> int:
    return c.target_to_bits(min(c.bits_to_target(bits) * timespan // T, c.POW_LIMIT))


def _fixed_off_by_one_rule(bits: int, timespan: int) -> int:
    # As if the timespan covered 2016 intervals: scale the measured 2015 intervals by 2016/2015.
    return c.next_bits(bits, 0, timespan * 2016 // 2015)


def _replay(rule: Rule = _core_rule, compensate: bool = True) -> tuple[list[int], list[float]]:
    """Predicted bits and relative difficulty errors (predicted/actual − 1) per retarget."""
    ep = _epochs()
    predicted, errors = [], []
    for k in range(len(ep.bits) - 1):
        first, next_first = ep.time[k], ep.time[k + 1]
        # Stand-in for the last block's time: the next epoch's first block, one interval late.
        last = next_first - ((next_first - first) // 2016 if compensate else 0)
        bits = rule(ep.bits[k], last - first)
        predicted.append(bits)
        errors.append(c.bits_to_difficulty(bits) / c.bits_to_difficulty(ep.bits[k + 1]) - 1)
    return predicted, errors


#: Largest tolerated |relative difficulty error| of the replay (derivation in the docstring).
MAX_REL_ERROR = 10 / 2015
#: Tolerated |mean relative error| with compensation (about 3.5 standard errors).
MAX_MEAN_REL_ERROR = 1e-4


def test_replay_data_shape():
    ep = _epochs()
    assert len(ep.height) == 437
    assert ep.height == [2016 * k for k in range(437)]


def test_replay_every_retarget_within_tolerance():
    """Replay all 436 mainnet retargets with the Core rule.

    Each epoch's last-block time is unknown; the next epoch's first block stands in for it.
    The gap between them is one block interval, roughly Exp(μ) with μ the epoch's mean
    interval ((t_{k+1} − t_k)/2016), so we subtract μ.  The timespan then errs by
    ``μ − gap`` in ``2015 μ``, a relative difficulty error of ``(gap/μ − 1)/2015``: mean 0,
    standard deviation ≈ 1/2015 ≈ 5e-4 (one interval in 1,209,600 s).  The largest of 436
    exponential gaps is about ln(436) + 0.58 ≈ 6.7 μ, and 10 μ is exceeded somewhere with
    probability 436·e^-10 ≈ 2 %; miners' clocks add a little noise (timestamps need only beat
    the median of the last 11).  Hence the bounds: every |error| < 10/2015 ≈ 5.0e-3 (not the
    ~2e-3 one interval would suggest: the maximum over 436 gaps is several intervals), and
    |mean error| < 1e-4 ≈ 3.5 standard errors (5.8e-4/√436 = 2.8e-5).

    Measured: 16/436 exact matches (the 15 epochs capped at powLimit in 2009 and the 2010
    retarget clamped at T/4 — capped and clamped results do not depend on the timing error);
    31/436 within 2^-15; largest |error| 3.80e-3 (4.30e-3 without compensation); mean
    −2.9e-5 (−5.1e-4 without).  Exact matches elsewhere are not to be expected: one second of
    timing error moves the target by 8e-7, finer than the compact mantissa resolves.
    """
    predicted, errors = _replay()
    ep = _epochs()
    exact = [k for k, bits in enumerate(predicted) if bits == ep.bits[k + 1]]
    assert max(abs(e) for e in errors) < MAX_REL_ERROR
    assert abs(statistics.mean(errors)) < MAX_MEAN_REL_ERROR
    # Median of (gap/μ − 1)/2015 for exponential gaps: (1 − ln 2)/2015 = 1.5e-4.
    assert statistics.median(errors) == pytest.approx((1 - math.log(2)) / 2015, abs=1e-4)
    assert exact == [*range(15), 33]
    assert ep.bits[1:16] == [c.POW_LIMIT_BITS] * 15
    assert sum(abs(e) < 2**-15 for e in errors) >= 25


def test_replay_vectorised_equals_scalar():
    ep = _epochs()
    t = np.array(ep.time)
    spans = t[1:] - (t[1:] - t[:-1]) // 2016 - t[:-1]
    got = next_bits_array(np.array(ep.bits[:-1]), spans)
    assert got.tolist() == _replay()[0]


def test_replay_with_known_last_block_times_is_exact():
    # pow_tests.cpp gives the true last-block times of two real epochs: 30240..32255 and
    # 66528..68543 (the latter clamped at T/4).  With them the replay is exact.
    ep = _epochs()
    assert ep.time[15] == 1261130161 and ep.time[33] == 1279008237
    assert c.next_bits(ep.bits[15], ep.time[15], 1262152739) == ep.bits[16] == 0x1D00D86A
    assert c.next_bits(ep.bits[33], ep.time[33], 1279297671) == ep.bits[34] == 0x1C0168FD


def test_replay_fails_for_wrong_rules():
    """The replay tolerances are tight enough to reject plausible wrong rules.

    Without the clamp, the 2010 retarget (epoch 33, 289,434 s < T/4) comes out 4.5 % off.
    Without compensating the late stand-in, or with the off-by-one "fixed" (2016 intervals),
    the mean error is about −1/2015 ≈ −5e-4, 18 standard errors away from zero.
    """
    _, no_clamp = _replay(_no_clamp_rule)
    assert max(abs(e) for e in no_clamp) > MAX_REL_ERROR
    _, late = _replay(compensate=False)
    assert abs(statistics.mean(late)) > 4 * MAX_MEAN_REL_ERROR
    _, fixed = _replay(_fixed_off_by_one_rule)
    assert abs(statistics.mean(fixed)) > 4 * MAX_MEAN_REL_ERROR


def test_chainwork_increments_match_block_proofs():
    ep = _epochs()
    assert ep.chainwork[0] == c.block_proof(ep.bits[0])
    for k in range(len(ep.bits) - 1):
        increment = ep.chainwork[k + 1] - ep.chainwork[k]
        assert increment == 2015 * c.block_proof(ep.bits[k]) + c.block_proof(ep.bits[k + 1]), k
