"""Exact integer Bitcoin consensus rules: compact targets, retargets, subsidy.

Everything here works on Python integers and reproduces Bitcoin Core bit for bit; the
vectorised twins for NumPy arrays live in :mod:`hashfleet.network.retarget`.

**Compact targets ("nBits").**  A proof-of-work target is a 256-bit unsigned integer stored in
a block header as 32 bits: the top byte ``e`` is a size in bytes, the low 23 bits a mantissa
``m`` and bit 23 a sign.  The target is ``m · 256^(e−3)`` (for ``e ≤ 3`` the mantissa is
shifted *right* by ``8·(3−e)`` bits instead).  Encoding takes the three most significant bytes
of the target and *truncates* the rest; if the top mantissa bit would land on the sign bit,
the mantissa is shifted down one byte and the size grows by one, so a canonical encoding
never has bit 23 set (``arith_uint256::SetCompact`` / ``GetCompact``, ``arith_uint256.cpp``).
A compact value whose sign bit is set on a non-zero mantissa ("negative"), or whose value does
not fit in 256 bits ("overflow"), is invalid and raises :class:`~hashfleet.errors.ConsensusError`.

**Difficulty** is the difficulty-1 target ``0xffff · 2^208`` (the mainnet ``powLimit``) divided
by the current target.  :func:`bits_to_difficulty` reproduces the ``double`` arithmetic of
Core's ``GetDifficulty`` (``rpc/blockchain.cpp``) exactly, including its rounding.

**Retarget.**  At every height that is a multiple of 2016 the target is recomputed from the
*actual timespan* between the first and the last block of the finished epoch.  Those are 2015
block intervals (Satoshi's off-by-one): which blocks are passed is the caller's choice.  The
timespan is clamped to ``[T/4, 4T]`` with ``T = 1,209,600 s``, the new target is
``old_target · timespan // T`` (multiply first, then floor-divide, as current Core does on
``arith_uint256``), capped at ``powLimit``, and re-encoded with the truncating compact encoding
(``CalculateNextWorkRequired``, ``pow.cpp``).

**Subsidy.**  ``subsidy(h) = (50 · 10^8 sat) >> (h // 210,000)``, zero once the shift reaches
64 (``GetBlockSubsidy``, ``validation.cpp``).  The sum over all heights is
2,099,999,997,690,000 sat, below ``MAX_MONEY = 21,000,000 BTC``.

**Work.**  The expected number of hashes to find a block at target ``t`` is ``2^256 / (t + 1)``
(``GetBlockProof``, ``chain.cpp``); chainwork is its sum over the chain.
"""

from __future__ import annotations

import math
import operator
from fractions import Fraction
from functools import cache

from hashfleet.errors import ConsensusError

__all__ = [
    "COIN",
    "DIFFICULTY_1_TARGET",
    "DIFFICULTY_ADJUSTMENT_INTERVAL",
    "INITIAL_SUBSIDY_SAT",
    "MAX_HALVINGS",
    "MAX_MONEY_SAT",
    "POW_LIMIT",
    "POW_LIMIT_BITS",
    "SUBSIDY_HALVING_INTERVAL",
    "TARGET_SPACING_S",
    "TARGET_TIMESPAN_S",
    "TOTAL_SUBSIDY_SAT",
    "bits_to_difficulty",
    "bits_to_target",
    "block_proof",
    "block_subsidy",
    "cumulative_subsidy",
    "difficulty_to_target",
    "is_retarget_height",
    "next_bits",
    "target_to_bits",
]

#: Mainnet proof-of-work limit (``consensus.powLimit``), the easiest allowed target.
POW_LIMIT: int = 0x00000000FFFF0000000000000000000000000000000000000000000000000000
#: ``POW_LIMIT`` in compact form (the genesis block's nBits).
POW_LIMIT_BITS: int = 0x1D00FFFF
#: The target of difficulty 1 (equal to the mainnet ``POW_LIMIT``).
DIFFICULTY_1_TARGET: int = POW_LIMIT
#: Target duration of one retarget epoch, seconds (``nPowTargetTimespan``, two weeks).
TARGET_TIMESPAN_S: int = 14 * 24 * 60 * 60
#: Target block interval, seconds (``nPowTargetSpacing``).
TARGET_SPACING_S: int = 10 * 60
#: Blocks per retarget epoch (``DifficultyAdjustmentInterval()``).
DIFFICULTY_ADJUSTMENT_INTERVAL: int = TARGET_TIMESPAN_S // TARGET_SPACING_S
#: Blocks between subsidy halvings (``nSubsidyHalvingInterval``).
SUBSIDY_HALVING_INTERVAL: int = 210_000
#: Satoshis per bitcoin.
COIN: int = 100_000_000
#: Subsidy of the first era, satoshis.
INITIAL_SUBSIDY_SAT: int = 50 * COIN
#: Number of halvings after which the subsidy is zero by rule (a 64-bit shift is undefined).
MAX_HALVINGS: int = 64
#: ``MAX_MONEY`` (``amount.h``), satoshis: a sanity bound, not the real supply.
MAX_MONEY_SAT: int = 21_000_000 * COIN
#: Sum of the subsidy over every height, satoshis (``validation_tests.cpp``).
TOTAL_SUBSIDY_SAT: int = 2_099_999_997_690_000

_UINT256_MAX = (1 << 256) - 1
_UINT32_MAX = (1 << 32) - 1
_SIGN_BIT = 0x00800000
_MANTISSA_MASK = 0x007FFFFF


def bits_to_target(bits: int) -> int:
    """Decode a compact "nBits" value into its 256-bit target (``SetCompact``).

    Parameters
    ----------
    bits : int
        Compact target, an unsigned 32-bit integer.

    Returns
    -------
    int
        The target, ``0 ≤ target < 2^256``.  A zero mantissa gives 0.

    Raises
    ------
    ConsensusError
        If ``bits`` is not a 32-bit unsigned integer, or encodes a negative target (sign bit set
        on a non-zero mantissa) or a target that does not fit in 256 bits.
    """
    bits = _check_uint32("bits", bits)
    size = bits >> 24
    word = bits & _MANTISSA_MASK
    if size <= 3:
        word >>= 8 * (3 - size)
        target = word
    else:
        target = word << (8 * (size - 3))
    if word != 0 and bits & _SIGN_BIT:
        raise ConsensusError(
            f"bits: expected a non-negative compact target, got {bits:#010x} "
            "(sign bit 0x00800000 set on a non-zero mantissa)"
        )
    if word != 0 and (size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32)):
        raise ConsensusError(
            f"bits: expected a compact target below 2^256, got {bits:#010x} "
            f"(mantissa {word:#x} shifted by {size - 3} bytes overflows 256 bits)"
        )
    return target


def target_to_bits(target: int, *, negative: bool = False) -> int:
    """Encode a 256-bit target in compact form, truncating (``GetCompact``).

    Parameters
    ----------
    target : int
        The target, ``0 ≤ target < 2^256``.
    negative : bool, optional
        Set the sign bit (on a non-zero mantissa), as ``GetCompact(true)`` does.  Only useful to
        reproduce Core's test vectors; consensus never produces negative targets.

    Returns
    -------
    int
        The canonical compact value: its mantissa never has bit 23 set unless ``negative``.

    Raises
    ------
    ConsensusError
        If ``target`` is negative or does not fit in 256 bits.
    """
    target = _as_int("target", target)
    if not 0 <= target <= _UINT256_MAX:
        raise ConsensusError(f"target: expected 0 <= target < 2^256, got {target:#x}")
    size = (target.bit_length() + 7) // 8
    compact = target << (8 * (3 - size)) if size <= 3 else target >> (8 * (size - 3))
    if compact & _SIGN_BIT:
        compact >>= 8
        size += 1
    compact |= size << 24
    if negative and compact & _MANTISSA_MASK:
        compact |= _SIGN_BIT
    return compact


def bits_to_difficulty(bits: int) -> float:
    """Difficulty of a compact target, with Core's ``GetDifficulty`` double arithmetic.

    ``0x0000ffff / mantissa``, then multiplied by 256.0 while the size byte is below 29 and
    divided by 256.0 while it is above, one step at a time (the rounding of each step is kept,
    which matters only for subnormal results).  The mantissa is the low 24 bits, sign bit
    included, exactly as Core reads it; a zero mantissa gives ``inf``.

    Parameters
    ----------
    bits : int
        Compact target, an unsigned 32-bit integer.

    Returns
    -------
    float
        The difficulty (dimensionless; 1.0 at ``POW_LIMIT_BITS``).
    """
    bits = _check_uint32("bits", bits)
    shift = (bits >> 24) & 0xFF
    mantissa = bits & 0x00FFFFFF
    diff = math.inf if mantissa == 0 else float(0x0000FFFF) / float(mantissa)
    while shift < 29:
        diff *= 256.0
        shift += 1
    while shift > 29:
        diff /= 256.0
        shift -= 1
    return diff


def difficulty_to_target(difficulty: float) -> int:
    """Target of a given difficulty: ``floor(DIFFICULTY_1_TARGET / difficulty)``.

    The division is exact: it uses the rational value of the float, so
    ``difficulty_to_target(bits_to_difficulty(b))`` is the target of ``b`` whenever the
    difficulty float is exact, and within one unit in the last place otherwise.

    Parameters
    ----------
    difficulty : float
        Difficulty, positive and finite.  Below 1 the target exceeds ``POW_LIMIT`` (it is not
        capped here).

    Returns
    -------
    int
        The target.

    Raises
    ------
    ConsensusError
        If ``difficulty`` is not a positive finite number (also a ``ValueError``).
    """
    if isinstance(difficulty, bool) or not isinstance(difficulty, int | float):
        raise ConsensusError(f"difficulty: expected a positive number, got {difficulty!r}")
    if not (math.isfinite(difficulty) and difficulty > 0):
        raise ConsensusError(f"difficulty: expected a positive finite number, got {difficulty!r}")
    exact = Fraction(difficulty)
    return (DIFFICULTY_1_TARGET * exact.denominator) // exact.numerator


def next_bits(last_bits: int, first_block_time: int, last_block_time: int) -> int:
    """Compact target of the next epoch (``CalculateNextWorkRequired``, ``pow.cpp``).

    Parameters
    ----------
    last_bits : int
        Compact target of the epoch that just ended (of its last block).
    first_block_time : int
        Timestamp of the epoch's first block, Unix seconds.  Bitcoin passes the block 2015
        intervals before the last one (height ``2016·k``), not the previous epoch's last block.
    last_block_time : int
        Timestamp of the epoch's last block (height ``2016·k + 2015``), Unix seconds.

    Returns
    -------
    int
        The new compact target: ``old_target · clamp(last − first, T/4, 4T) // T``, capped at
        ``POW_LIMIT``, truncated to compact form.

    Raises
    ------
    ConsensusError
        If ``last_bits`` is invalid (see :func:`bits_to_target`) or its target exceeds
        ``POW_LIMIT``, which no valid mainnet block can have.
    """
    old_target = _checked_last_target(last_bits)
    first = _as_int("first_block_time", first_block_time)
    last = _as_int("last_block_time", last_block_time)
    timespan = _clamp_timespan(last - first)
    new_target = old_target * timespan // TARGET_TIMESPAN_S
    new_target = min(new_target, POW_LIMIT)
    return target_to_bits(new_target)


def block_subsidy(height: int, halving_interval: int = SUBSIDY_HALVING_INTERVAL) -> int:
    """Block subsidy at a height, satoshis (``GetBlockSubsidy``).

    Parameters
    ----------
    height : int
        Block height, ``≥ 0``.
    halving_interval : int, optional
        Blocks per halving; 210,000 on mainnet (150 on regtest).

    Returns
    -------
    int
        ``INITIAL_SUBSIDY_SAT >> (height // halving_interval)``, or 0 once that shift is 64 or
        more.
    """
    height = _check_height("height", height, minimum=0)
    halvings = height // halving_interval
    if halvings >= MAX_HALVINGS:
        return 0
    return INITIAL_SUBSIDY_SAT >> halvings


def cumulative_subsidy(height: int) -> int:
    """Total subsidy of the blocks at heights ``0..height`` inclusive, satoshis.

    Closed form: ``n = (height + 1) // 210,000`` full eras contribute a precomputed prefix sum
    (one term per halving, at most 64), and the ``(height + 1) mod 210,000`` blocks of era ``n``
    each earn ``block_subsidy`` of that era.  The subsidy of blocks ``h0+1..h1`` is
    ``cumulative_subsidy(h1) − cumulative_subsidy(h0)``.  (The genesis output is unspendable,
    but it is counted here as Core's ``subsidy_limit_test`` counts it.)

    Parameters
    ----------
    height : int
        Last height included, ``≥ −1`` (−1 gives 0).

    Returns
    -------
    int
        Satoshis; at most ``TOTAL_SUBSIDY_SAT``.
    """
    height = _check_height("height", height, minimum=-1)
    eras, rest = divmod(height + 1, SUBSIDY_HALVING_INTERVAL)
    prefix = _era_prefix_sums_sat()
    if eras >= MAX_HALVINGS:
        return prefix[MAX_HALVINGS]
    return prefix[eras] + rest * (INITIAL_SUBSIDY_SAT >> eras)


def block_proof(bits: int) -> int:
    """Expected hashes to find a block at this compact target (``GetBlockProof``).

    ``2^256 / (target + 1)``, computed as Core does without representing ``2^256``:
    ``(~target // (target + 1)) + 1`` on 256-bit integers.

    Parameters
    ----------
    bits : int
        Compact target.

    Returns
    -------
    int
        The work (hashes).  As in Core, 0 for a negative, overflowing or zero target.
    """
    bits = _check_uint32("bits", bits)
    try:
        target = bits_to_target(bits)
    except ConsensusError:
        return 0
    if target == 0:
        return 0
    return ((_UINT256_MAX - target) // (target + 1)) + 1


def is_retarget_height(height: int) -> bool:
    """Whether the block at ``height`` is the first of a new epoch with a recomputed target.

    Parameters
    ----------
    height : int
        Block height, ``≥ 0``.

    Returns
    -------
    bool
        True for positive multiples of 2016 (the genesis block starts the chain, not a retarget).
    """
    height = _check_height("height", height, minimum=0)
    return height > 0 and height % DIFFICULTY_ADJUSTMENT_INTERVAL == 0


# --------------------------------------------------------------------------- private helpers


def _as_int(name: str, value: int) -> int:
    """``value`` as a Python int (NumPy integers accepted), or a ConsensusError."""
    if isinstance(value, bool):
        raise ConsensusError(f"{name}: expected an int, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ConsensusError(f"{name}: expected an int, got {value!r}") from None


def _check_uint32(name: str, value: int) -> int:
    value = _as_int(name, value)
    if not 0 <= value <= _UINT32_MAX:
        raise ConsensusError(f"{name}: expected 0 <= {name} < 2^32, got {value:#x}")
    return value


def _check_height(name: str, value: int, *, minimum: int) -> int:
    value = _as_int(name, value)
    if value < minimum:
        raise ConsensusError(f"{name}: expected >= {minimum}, got {value}")
    return value


def _checked_last_target(last_bits: int) -> int:
    target = bits_to_target(last_bits)
    if target > POW_LIMIT:
        raise ConsensusError(
            f"last_bits: expected a target at most powLimit ({POW_LIMIT_BITS:#010x}), "
            f"got {last_bits:#010x}"
        )
    return target


def _clamp_timespan(timespan_s: int) -> int:
    return max(TARGET_TIMESPAN_S // 4, min(TARGET_TIMESPAN_S * 4, timespan_s))


@cache
def _era_prefix_sums_sat() -> tuple[int, ...]:
    """``prefix[n]`` = subsidy of the first ``n`` complete eras, satoshis (``n = 0..64``)."""
    sums = [0]
    for era in range(MAX_HALVINGS):
        sums.append(sums[-1] + SUBSIDY_HALVING_INTERVAL * (INITIAL_SUBSIDY_SAT >> era))
    return tuple(sums)
