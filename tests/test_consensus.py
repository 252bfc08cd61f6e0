"""Tests of :mod:`hashfleet.consensus` against Bitcoin Core's own test vectors, plus properties.

The vectors are copied (as facts) from Bitcoin Core's unit tests, cited at each block:
``src/test/pow_tests.cpp``, ``src/test/arith_uint256_tests.cpp``,
``src/test/blockchain_tests.cpp`` and ``src/test/validation_tests.cpp``
(https://github.com/bitcoin/bitcoin).
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashfleet import consensus as c
from hashfleet.errors import ConsensusError
from strategies import canonical_bits, mainnet_bits, timespans_s

# --------------------------------------------------------------------------- pow_tests.cpp
# Bitcoin Core src/test/pow_tests.cpp: (nLastRetargetTime, pindexLast.nTime, pindexLast.nBits,
# expected CalculateNextWorkRequired).
POW_VECTORS = [
    pytest.param(1261130161, 1262152739, 0x1D00FFFF, 0x1D00D86A, id="get_next_work"),
    pytest.param(1231006505, 1233061996, 0x1D00FFFF, 0x1D00FFFF, id="get_next_work_pow_limit"),
    pytest.param(
        1279008237, 1279297671, 0x1C05A3F4, 0x1C0168FD, id="get_next_work_lower_limit_actual"
    ),
    pytest.param(
        1263163443, 1269211443, 0x1C387F6F, 0x1D00E1FD, id="get_next_work_upper_limit_actual"
    ),
]


@pytest.mark.parametrize(("first", "last", "bits", "expected"), POW_VECTORS)
def test_calculate_next_work_required_vectors(first: int, last: int, bits: int, expected: int):
    assert c.next_bits(bits, first, last) == expected


def _permitted_transition(old_bits: int, new_bits: int) -> bool:
    """PermittedDifficultyTransition (pow.cpp) at a retarget height, for mainnet."""
    old = c.bits_to_target(old_bits)
    largest = c.target_to_bits(
        min(old * (4 * c.TARGET_TIMESPAN_S) // c.TARGET_TIMESPAN_S, c.POW_LIMIT)
    )
    smallest = c.target_to_bits(old * (c.TARGET_TIMESPAN_S // 4) // c.TARGET_TIMESPAN_S)
    new = c.bits_to_target(new_bits)
    return c.bits_to_target(smallest) <= new <= c.bits_to_target(largest)


def test_clamped_vectors_sit_exactly_at_the_factor_four_limits():
    # pow_tests.cpp (current Core): expected_nbits -1 (lower limit) and +1 (upper limit) are
    # no longer PermittedDifficultyTransitions: the clamp lands exactly on the limit.
    assert _permitted_transition(0x1C05A3F4, 0x1C0168FD)
    assert not _permitted_transition(0x1C05A3F4, 0x1C0168FD - 1)
    assert _permitted_transition(0x1C387F6F, 0x1D00E1FD)
    assert not _permitted_transition(0x1C387F6F, 0x1D00E1FD + 1)


def test_check_proof_of_work_rejections_from_pow_tests():
    # CheckProofOfWork_test_negative_target / _overflow_target / _too_easy_target / _zero_target
    with pytest.raises(ConsensusError, match="0x1d80ffff"):
        c.bits_to_target(c.target_to_bits(c.POW_LIMIT, negative=True))
    with pytest.raises(ConsensusError, match="0xff7fffff"):
        c.bits_to_target(~0x00800000 & 0xFFFFFFFF)
    assert c.bits_to_target(c.target_to_bits(c.POW_LIMIT * 2)) > c.POW_LIMIT
    assert c.target_to_bits(0) == 0
    assert c.block_proof(0) == 0


def test_next_bits_rejects_targets_above_pow_limit():
    with pytest.raises(ConsensusError, match="powLimit"):
        c.next_bits(0x1D010000, 0, c.TARGET_TIMESPAN_S)


# --------------------------------------------------------------------------- arith_uint256_tests
# Bitcoin Core src/test/arith_uint256_tests.cpp, bignum_SetCompact:
# (compact, target, GetCompact(negative) of the decoded value, fNegative); fOverflow is
# false for all of these (the overflow vector has its own test).
COMPACT_VECTORS = [
    (0x00000000, 0x0, 0x00000000, False),
    (0x00123456, 0x0, 0x00000000, False),
    (0x01003456, 0x0, 0x00000000, False),
    (0x02000056, 0x0, 0x00000000, False),
    (0x03000000, 0x0, 0x00000000, False),
    (0x04000000, 0x0, 0x00000000, False),
    (0x00923456, 0x0, 0x00000000, False),
    (0x01803456, 0x0, 0x00000000, False),
    (0x02800056, 0x0, 0x00000000, False),
    (0x03800000, 0x0, 0x00000000, False),
    (0x04800000, 0x0, 0x00000000, False),
    (0x01123456, 0x12, 0x01120000, False),
    (0x01FEDCBA, 0x7E, 0x01FE0000, True),
    (0x02123456, 0x1234, 0x02123400, False),
    (0x03123456, 0x123456, 0x03123456, False),
    (0x04123456, 0x12345600, 0x04123456, False),
    (0x04923456, 0x12345600, 0x04923456, True),
    (0x05009234, 0x92340000, 0x05009234, False),
    (
        0x20123456,
        0x1234560000000000000000000000000000000000000000000000000000000000,
        0x20123456,
        False,
    ),
]


@pytest.mark.parametrize(("bits", "target", "compact", "negative"), COMPACT_VECTORS)
def test_set_compact_get_compact_vectors(bits: int, target: int, compact: int, negative: bool):
    if negative:
        with pytest.raises(ConsensusError, match=f"{bits:#010x}.*sign bit"):
            c.bits_to_target(bits)
    else:
        assert c.bits_to_target(bits) == target
    assert c.target_to_bits(target, negative=negative) == compact


def test_get_compact_never_sets_the_sign_bit():
    assert c.target_to_bits(0x80) == 0x02008000  # arith_uint256_tests.cpp


def test_set_compact_overflow_vector():
    with pytest.raises(ConsensusError, match=r"0xff123456.*256 bits"):
        c.bits_to_target(0xFF123456)  # arith_uint256_tests.cpp: fOverflow


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "0x1d00ffff", True])
def test_bits_must_be_uint32(bad: object):
    with pytest.raises(ConsensusError):
        c.bits_to_target(bad)  # type: ignore[arg-type]


def test_target_to_bits_range():
    with pytest.raises(ConsensusError, match="2\\^256"):
        c.target_to_bits(2**256)
    with pytest.raises(ConsensusError):
        c.target_to_bits(-1)


# --------------------------------------------------------------------------- blockchain_tests.cpp
# Bitcoin Core src/test/blockchain_tests.cpp: TestDifficulty(nbits, expected) within 0.00001.
DIFFICULTY_VECTORS = [
    (0x1F111111, 0.000001),
    (0x1EF88F6F, 0.000016),
    (0x1DF88F6F, 0.004023),
    (0x1CF88F6F, 1.029916),
    (0x12345678, 5913134931067755359633408.0),
]


@pytest.mark.parametrize(("bits", "expected"), DIFFICULTY_VECTORS)
def test_get_difficulty_vectors(bits: int, expected: float):
    assert abs(c.bits_to_difficulty(bits) - expected) < 0.00001


def test_difficulty_one_and_exact_powers():
    assert c.bits_to_difficulty(c.POW_LIMIT_BITS) == 1.0
    assert c.bits_to_difficulty(0x12345678) == 5913134931067755359633408.0  # exact in Core too
    assert c.bits_to_difficulty(0x1D000000) == math.inf  # 65535/0.0, as Core


def test_difficulty_to_target():
    assert c.difficulty_to_target(1.0) == c.POW_LIMIT
    assert c.target_to_bits(c.difficulty_to_target(c.bits_to_difficulty(0x17034219))) in {
        0x17034219,
        0x17034218,
    }
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ConsensusError, match="difficulty"):
            c.difficulty_to_target(bad)
    with pytest.raises(ValueError):
        c.difficulty_to_target(0.0)


# --------------------------------------------------------------------------- validation_tests.cpp
@pytest.mark.parametrize("interval", [c.SUBSIDY_HALVING_INTERVAL, 150, 1000])
def test_block_subsidy_halvings(interval: int):
    # validation_tests.cpp, block_subsidy_test (mainnet, regtest's 150, and 1000).
    previous = c.INITIAL_SUBSIDY_SAT * 2
    for halvings in range(64):
        subsidy = c.block_subsidy(halvings * interval, interval)
        assert subsidy <= c.INITIAL_SUBSIDY_SAT
        assert subsidy == previous // 2
        previous = subsidy
    assert c.block_subsidy(64 * interval, interval) == 0


def test_subsidy_limit():
    # validation_tests.cpp, subsidy_limit_test: every 1000th height, times 1000.
    total = 0
    for height in range(0, 14_000_000, 1000):
        subsidy = c.block_subsidy(height)
        assert subsidy <= 50 * c.COIN
        total += subsidy * 1000
        assert 0 <= total <= c.MAX_MONEY_SAT
    assert total == 2_099_999_997_690_000 == c.TOTAL_SUBSIDY_SAT


def test_cumulative_subsidy_closed_form():
    assert c.cumulative_subsidy(-1) == 0
    assert c.cumulative_subsidy(0) == c.INITIAL_SUBSIDY_SAT
    assert c.cumulative_subsidy(209_999) == 210_000 * c.INITIAL_SUBSIDY_SAT
    assert c.cumulative_subsidy(210_000) == 210_000 * c.INITIAL_SUBSIDY_SAT + 25 * c.COIN
    assert c.cumulative_subsidy(64 * 210_000) == c.TOTAL_SUBSIDY_SAT
    assert c.cumulative_subsidy(10**12) == c.TOTAL_SUBSIDY_SAT < c.MAX_MONEY_SAT
    with pytest.raises(ConsensusError, match="-2"):
        c.cumulative_subsidy(-2)


@given(st.integers(-1, 3 * 210_000))
def test_cumulative_subsidy_matches_a_sum(height: int):
    # Small heights only: the sum below is the slow definition.
    era_sum = sum(c.block_subsidy(h) for h in range(max(0, height - 2000), height + 1))
    base = c.cumulative_subsidy(max(-1, height - 2001))
    assert c.cumulative_subsidy(height) == base + era_sum


# --------------------------------------------------------------------------- proof, heights
def test_block_proof():
    assert c.block_proof(c.POW_LIMIT_BITS) == 0x100010001  # genesis chainwork
    # GetBlockProofEquivalentTime_test's regtest bits: target 0x7fffff·2^232 -> 2 hashes.
    assert c.block_proof(0x207FFFFF) == 2
    assert c.block_proof(0x01FEDCBA) == 0  # negative: 0, as Core
    assert c.block_proof(0xFF123456) == 0  # overflow: 0, as Core


@given(st.integers(0x03000001, 0x1D00FFFF).filter(lambda b: not b & 0x00800000))
def test_block_proof_is_floor_of_2_256_over_target_plus_one(bits: int):
    target = c.bits_to_target(bits)
    if target:
        assert c.block_proof(bits) == 2**256 // (target + 1)


def test_is_retarget_height():
    assert not c.is_retarget_height(0)
    assert c.is_retarget_height(2016)
    assert not c.is_retarget_height(2015)
    assert c.is_retarget_height(2016 * 436)


# --------------------------------------------------------------------------- properties


@given(canonical_bits)
def test_bits_target_bits_round_trip(bits: int):
    assert c.target_to_bits(c.bits_to_target(bits)) == bits


@given(st.integers(1, 2**256 - 1))
def test_target_bits_target_truncates(target: int):
    back = c.bits_to_target(c.target_to_bits(target))
    assert back <= target
    assert Fraction(target - back, target) < Fraction(1, 2**15)


@given(mainnet_bits, timespans_s)
def test_retarget_factor_within_a_quarter_and_four(bits: int, timespan: int):
    old = c.bits_to_target(bits)
    new = c.bits_to_target(c.next_bits(bits, 0, timespan))
    # Truncation may lower the new target by up to 2^-15 relative; the cap may lower it further.
    assert new <= min(4 * old, c.POW_LIMIT)
    assert Fraction(new, old) >= Fraction(1, 4) * (1 - Fraction(1, 2**15)) or new == c.POW_LIMIT
    if old * 4 <= c.POW_LIMIT:
        exact = Fraction(old * max(302_400, min(4_838_400, timespan)), c.TARGET_TIMESPAN_S)
        assert exact * (1 - Fraction(1, 2**15)) - 1 <= new <= exact
