"""Bitcoin's retarget, difficulty and cumulative subsidy, vectorised and bit-exact.

These are the rules of :mod:`hashfleet.consensus` applied to whole NumPy arrays (one element
per Monte Carlo path, say) with no Python loop over elements, and with results identical bit
for bit to the scalar integer functions.

**Retarget in int64.**  Bitcoin Core computes ``new = old_target · timespan // T`` on 256-bit
integers.  A compact target is ``w · 256^(E−3)`` with a mantissa ``w < 2^23``, and the clamped
timespan is below ``4T = 4,838,400 < 2^23``, so ``X = w · timespan < 2^46`` is exact in int64.
The new target is ``N = floor(X · 2^k / T)`` with ``k = 8(E−3)``, and its compact mantissa is
the top three bytes, ``floor(N / 256^(s−3))`` for the byte length ``s`` of ``N``.  Nested floor
divisions by integers compose, so that mantissa is ``floor(X · 2^j / T)`` with
``j = k − 8(s−3)`` — a left shift before the division when ``j ≥ 0``, or ``floor(X/T) >> −j``
otherwise — and always fits in int64 because it is below ``2^24``.  ``s`` comes from a float
estimate of ``log2 N`` and is then corrected exactly (the mantissa must lie in
``[2^16, 2^24)``).  Results under three bytes are shifted left instead, as ``GetCompact`` does;
a mantissa with bit 23 set moves down one byte (the sign-bit rule).  The cap at ``powLimit`` is
exact on the encoded value: truncation never carries a target across ``powLimit = 0xffff·2^208``
because ``powLimit`` itself is representable, so the target exceeds ``powLimit`` exactly when
its truncated compact form is at least ``0x1d00ffff``.  Compact targets with a size byte below
3 are handled like Core (their mantissa is shifted right first).

**Difficulty** follows Core's ``GetDifficulty`` double arithmetic: ``65535 / mantissa``, then
×256 or ÷256 one step at a time towards size 29.  Scaling by powers of two is exact while the
result stays a normal double, so all but the last steps are one ``ldexp``; the few steps that
may reach subnormals are replayed one at a time, so rounding matches the scalar loop.

**Cumulative subsidy** uses a 65-entry table of complete-era sums plus the partial era.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hashfleet.consensus import (
    INITIAL_SUBSIDY_SAT,
    MAX_HALVINGS,
    POW_LIMIT_BITS,
    SUBSIDY_HALVING_INTERVAL,
    TARGET_TIMESPAN_S,
    cumulative_subsidy,
)
from hashfleet.errors import ConsensusError

__all__ = ["bits_to_difficulty_array", "cumulative_subsidy_array", "next_bits_array"]

_T = TARGET_TIMESPAN_S
_LOG2_T = float(np.log2(_T))
_POW_LIMIT_SIZE = POW_LIMIT_BITS >> 24  # 0x1d
_POW_LIMIT_MANTISSA = POW_LIMIT_BITS & 0x007FFFFF  # 0xffff
_SIGN_BIT = 0x00800000
_MANTISSA_MASK = 0x007FFFFF
_MAX_HEIGHT = 2**62


def next_bits_array(last_bits: ArrayLike, timespan_s: ArrayLike) -> NDArray[np.int64]:
    """Next compact targets for many retargets at once, bit-identical to ``next_bits``.

    Parameters
    ----------
    last_bits : array_like of int, shape (n,) or any shape
        Compact targets of the epochs that just ended.  Each must be a valid compact value
        (not negative, no overflow) with a target at most ``powLimit``.
    timespan_s : array_like of int, broadcastable with ``last_bits``
        Unclamped actual timespans ``last_block_time − first_block_time``, seconds (any int64,
        also ≤ 0 or huge); clamped to ``[T/4, 4T]`` here.

    Returns
    -------
    numpy.ndarray of int64, the broadcast shape
        New compact targets, equal elementwise to
        ``consensus.next_bits(b, 0, timespan)``.

    Raises
    ------
    ConsensusError
        If an input is not integer-valued or a ``last_bits`` value is invalid (the message names
        the first bad value).
    """
    bits = _as_int64("last_bits", last_bits)
    span = _as_int64("timespan_s", timespan_s)
    bits, span = np.broadcast_arrays(bits, span)
    w, size = _decode_checked(bits)
    timespan = np.clip(span, _T // 4, 4 * _T)
    x = w * timespan  # < 2^23 · 2^23 = 2^46: exact
    k = 8 * (size - 3)
    mantissa, nbytes = _compact_of_scaled_quotient(x, k)
    capped = (nbytes > _POW_LIMIT_SIZE) | (
        (nbytes == _POW_LIMIT_SIZE) & (mantissa >= _POW_LIMIT_MANTISSA)
    )
    out = np.where(capped, np.int64(POW_LIMIT_BITS), (nbytes << 24) | mantissa)
    return out.astype(np.int64, copy=False)


def bits_to_difficulty_array(bits: ArrayLike) -> NDArray[np.float64]:
    """Difficulties of many compact targets, bit-identical to ``bits_to_difficulty``.

    Parameters
    ----------
    bits : array_like of int, any shape
        Compact targets, unsigned 32-bit values.  As in Core, the low 24 bits (sign bit
        included) are the mantissa and a zero mantissa gives ``inf``.

    Returns
    -------
    numpy.ndarray of float64, same shape
        Difficulty (dimensionless; 1.0 at ``0x1d00ffff``).
    """
    b = _as_int64("bits", bits)
    _check_uint32_range("bits", b)
    shift = (b >> 24) & 0xFF
    mantissa = (b & 0x00FFFFFF).astype(np.float64)
    with np.errstate(divide="ignore"):
        diff = np.float64(0x0000FFFF) / mantissa
    # ×256 steps: diff ≤ 65535 and at most 29 steps, so the result stays finite: exact.
    up = np.clip(29 - shift, 0, None)
    diff = np.ldexp(diff, (8 * up).astype(np.int32))
    # ÷256 steps: diff ≥ 65535/(2^24 − 1) > 2^-9, so the first 120 steps stay above 2^-969,
    # a normal double: exact in one go.  Later steps may be subnormal: replay them one by one.
    down = np.clip(shift - 29, 0, None)
    bulk = np.minimum(down, 120)
    diff = np.ldexp(diff, (-8 * bulk).astype(np.int32))
    rest = down - bulk
    for step in range(int(rest.max(initial=0))):
        diff = np.where(rest > step, diff / 256.0, diff)
    return diff


def cumulative_subsidy_array(height: ArrayLike) -> NDArray[np.int64]:
    """Total subsidy of heights ``0..height`` inclusive, satoshis, elementwise.

    Parameters
    ----------
    height : array_like of int, any shape
        Last height included, ``−1 ≤ height < 2^62`` (−1 gives 0).

    Returns
    -------
    numpy.ndarray of int64, same shape
        Satoshis, equal to ``consensus.cumulative_subsidy``.  The subsidy of the blocks
        ``h0+1..h1`` is ``cumulative_subsidy_array(h1) − cumulative_subsidy_array(h0)``.
    """
    h = _as_int64("height", height)
    bad = (h < -1) | (h >= _MAX_HEIGHT)
    if bad.any():
        first = int(h[bad].flat[0])
        raise ConsensusError(f"height: expected -1 <= height < 2^62, got {first}")
    eras, rest = np.divmod(h + 1, SUBSIDY_HALVING_INTERVAL)
    capped = np.minimum(eras, MAX_HALVINGS)
    prefix = _era_prefix_table()
    per_block = np.where(
        eras < MAX_HALVINGS,
        np.right_shift(np.int64(INITIAL_SUBSIDY_SAT), np.minimum(eras, 63)),
        0,
    )
    return (prefix[capped] + rest * per_block).astype(np.int64, copy=False)


# --------------------------------------------------------------------------- private kernels


def _as_int64(name: str, values: ArrayLike) -> NDArray[np.int64]:
    arr = np.asarray(values)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ConsensusError(f"{name}: expected an integer array, got dtype {arr.dtype}")
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) >= 2**63:
        raise ConsensusError(f"{name}: expected values below 2^63, got {int(arr.max())}")
    return arr.astype(np.int64, copy=False)


def _check_uint32_range(name: str, bits: NDArray[np.int64]) -> None:
    bad = (bits < 0) | (bits > 0xFFFFFFFF)
    if bad.any():
        raise ConsensusError(
            f"{name}: expected unsigned 32-bit compact values, got {int(bits[bad].flat[0])}"
        )


def _decode_checked(bits: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Mantissa ``w`` and size ``E ≥ 3`` with target ``w · 256^(E−3)``; validates like Core."""
    _check_uint32_range("last_bits", bits)
    size = bits >> 24
    raw = bits & _MANTISSA_MASK
    small = size < 3
    word = np.where(small, raw >> (8 * np.clip(3 - size, 0, 3)), raw)
    nonzero = word != 0
    negative = nonzero & ((bits & _SIGN_BIT) != 0)
    _raise_first(negative, bits, "sign bit 0x00800000 set on a non-zero mantissa")
    overflow = nonzero & (
        (size > 34) | ((word > 0xFF) & (size > 33)) | ((word > 0xFFFF) & (size > 32))
    )
    _raise_first(overflow, bits, "target does not fit in 256 bits")
    # target > powLimit = 0xffff · 256^26  <=>  size ≥ 29 and word > 0xffff >> 8·(size − 29)
    shift = 8 * np.clip(size - _POW_LIMIT_SIZE, 0, 5)
    above = nonzero & (size >= _POW_LIMIT_SIZE) & (word > (_POW_LIMIT_MANTISSA >> shift))
    _raise_first(above, bits, f"target exceeds powLimit {POW_LIMIT_BITS:#010x}")
    return word, np.maximum(size, 3)


def _raise_first(mask: NDArray[np.bool_], bits: NDArray[np.int64], why: str) -> None:
    if mask.any():
        value = int(bits[mask].flat[0])
        raise ConsensusError(f"last_bits: invalid compact target {value:#010x} ({why})")


def _compact_of_scaled_quotient(
    x: NDArray[np.int64], k: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Compact (mantissa, size) of ``N = floor(x · 2^k / T)``, ``0 ≤ x < 2^46``, ``k ≥ 0``."""
    xf = x.astype(np.float64)
    with np.errstate(divide="ignore"):
        log2_n = np.log2(xf) + k - _LOG2_T
    est = np.floor(np.where(x > 0, log2_n, 0.0) / 8.0) + 1.0
    nbytes = np.maximum(est, 3.0).astype(np.int64)
    bitlen = np.frexp(xf)[1].astype(np.int64)  # x < 2^bitlen (exact: x < 2^53)
    for _ in range(4):  # the float estimate is off by at most one byte
        q = _shifted_quotient(x, k - 8 * (nbytes - 3), bitlen)
        high = q >= 1 << 24
        low = (q < 1 << 16) & (nbytes > 3)
        if not (high.any() or low.any()):
            break
        nbytes = nbytes + high.astype(np.int64) - low.astype(np.int64)
    else:  # pragma: no cover - would be a bug in the estimate
        raise AssertionError("compact size did not converge")
    # N below three bytes: GetCompact shifts it left instead (N = q here, since nbytes == 3).
    short = q < 1 << 16
    short_bytes = np.where(q == 0, 0, np.where(q < 1 << 8, 1, 2))
    mantissa = np.where(short, q << (8 * (3 - short_bytes)), q)
    nbytes = np.where(short, short_bytes, nbytes)
    # The sign-bit rule: never leave bit 23 set.
    sign = (mantissa & _SIGN_BIT) != 0
    mantissa = np.where(sign, mantissa >> 8, mantissa)
    nbytes = nbytes + sign.astype(np.int64)
    return mantissa, nbytes


def _shifted_quotient(
    x: NDArray[np.int64], j: NDArray[np.int64], bitlen: NDArray[np.int64]
) -> NDArray[np.int64]:
    """``floor(x · 2^j / T)`` for any integer ``j``, never overflowing int64.

    Left shifts are capped so that ``x · 2^j < 2^62``; a capped result is still ≥ 2^24, which
    is all the caller needs to know to grow the byte count.
    """
    left = np.clip(j, 0, np.maximum(62 - bitlen, 0))
    right = np.clip(-j, 0, 62)
    up = (x << left) // _T
    down = (x // _T) >> right
    return np.where(j >= 0, up, down)


@cache
def _era_prefix_table() -> NDArray[np.int64]:
    """``table[n]`` = subsidy of the first ``n`` complete eras, satoshis, ``n = 0..64``."""
    table = np.array(
        [cumulative_subsidy(n * SUBSIDY_HALVING_INTERVAL - 1) for n in range(MAX_HALVINGS + 1)],
        dtype=np.int64,
    )
    table.flags.writeable = False
    return table
