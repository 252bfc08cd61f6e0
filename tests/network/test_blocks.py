"""Exactness of the daily block-production kernel against closed forms.

Statistical tests use fixed seeds; each states its tolerance.  They are sized so that a
wrong model (for instance "144 blocks a day", a retarget applied at the day boundary, or a
Poisson count redrawn without the order-statistic step) fails them by a wide margin.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hashfleet import consensus
from hashfleet.engine.streams import STREAM_BLOCK_PATHS, BlockRNG
from hashfleet.network.blocks import (
    SECONDS_PER_DAY,
    TWO_32,
    EventLog,
    NetworkState,
    produce_day,
)

BITS = 0x1701E605  # a 2026 compact target
D = consensus.bits_to_difficulty(BITS)
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def _rate_hs(blocks_per_day: float) -> float:
    """Network hashrate (H/s) that yields ``blocks_per_day`` expected blocks at ``D``."""
    return blocks_per_day * D * TWO_32 / SECONDS_PER_DAY


def _state(n: int, height: int, epoch_start: int = T0 - 5 * 86_400) -> NetworkState:
    return NetworkState.uniform(n, height, BITS, epoch_start)


def _rng(n_blocks: int, purpose: str = "blocks", seed: int = 1) -> BlockRNG:
    return BlockRNG.for_chunk(seed, 0, n_blocks, purpose)


def test_block_counts_are_poisson_at_constant_rate() -> None:
    """20,000 paths, one day at 144 expected blocks, no retarget in reach.

    Tolerances: mean within 4 standard errors (SE = sqrt(144/20000) ≈ 0.085); dispersion
    index var/mean within 0.05 of 1 (its SE is sqrt(2/n) ≈ 0.01); chi-square goodness of fit
    to Poisson(144) over pooled cells with p > 1e-3.  A fixed 144 blocks/day, or a binomial
    with a different variance, fails all three.
    """
    n_blocks = 80
    n = n_blocks * STREAM_BLOCK_PATHS
    st = _state(n, height=930_000)  # 930000 % 2016 = 624: next retarget 1,391 blocks away
    out = produce_day(st, np.full(n, _rate_hs(144.0)), np.zeros(n), T0, 0, block_rng=_rng(n_blocks))
    x = out.blocks
    assert abs(x.mean() - 144.0) < 4 * np.sqrt(144.0 / n)
    assert abs(x.var(ddof=1) / x.mean() - 1.0) < 0.05
    edges = np.arange(110, 180, 5)
    observed = np.histogram(x, bins=np.r_[-np.inf, edges, np.inf])[0]
    cdf = stats.poisson.cdf(np.r_[edges - 1, np.inf], 144.0)
    expected = np.diff(np.r_[0.0, cdf]) * n
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, len(observed) - 1) > 1e-3
    assert np.array_equal(st.height, 930_000 + x)
    assert (out.retargets == 0).all()


def test_retarget_time_is_gamma_distributed() -> None:
    """Starting 10 blocks before an epoch's last block, the retarget happens at the arrival
    time of the 10th block: Gamma(10, 1/λ).  KS test against that law (p > 1e-3) on 5,000
    paths and mean within 4 SE.  Placing the retarget at a day boundary or at k/λ fails.
    """
    n_blocks = 20
    n = n_blocks * STREAM_BLOCK_PATHS
    h0 = 2016 * 461 + 2015 - 10  # tip 10 blocks before the epoch's last block
    st = _state(n, height=h0)
    log = EventLog()
    lam = 144.0 / SECONDS_PER_DAY
    produce_day(
        st, np.full(n, _rate_hs(144.0)), np.zeros(n), T0, 0, block_rng=_rng(n_blocks), events=log
    )
    ev = log.columns("retargets")
    assert np.array_equal(np.sort(ev["path"]), np.arange(n))  # P(not reached) ≈ 1e-40
    t = ev["time_days"] * SECONDS_PER_DAY
    assert stats.kstest(t, stats.gamma(10, scale=1 / lam).cdf).pvalue > 1e-3
    assert abs(t.mean() - 10 / lam) < 4 * np.sqrt(10) / lam / np.sqrt(n)
    assert (ev["height"] == 2016 * 462).all()


def test_engine_retargets_equal_consensus_next_bits() -> None:
    """Every retarget the kernel makes equals Bitcoin Core's rule on the same timestamps."""
    n_blocks = 4
    n = n_blocks * STREAM_BLOCK_PATHS
    st = _state(n, height=2016 * 461 + 2000, epoch_start=T0 - 12 * 86_400)
    log = EventLog()
    rng = _rng(n_blocks)
    rates = np.exp(np.random.default_rng(3).normal(np.log(144.0), 0.6, n))
    for day in range(30):  # ~2 retargets per path, at very different timespans
        produce_day(
            st,
            _rate_hs(1.0) * rates,
            np.zeros(n),
            T0 + day * 86_400,
            day,
            block_rng=rng,
            events=log,
        )
    ev = log.columns("retargets")
    assert ev["path"].size > n
    for i in range(ev["path"].size):
        want = consensus.next_bits(
            int(ev["old_bits"][i]), int(ev["first_block_time"][i]), int(ev["last_block_time"][i])
        )
        assert int(ev["new_bits"][i]) == want
        assert ev["new_difficulty"][i] == consensus.bits_to_difficulty(want)


@pytest.mark.parametrize("mode", ["deterministic", "poisson"])
def test_halving_inside_a_day_splits_the_subsidy_exactly(mode: str) -> None:
    """A day that crosses height 1,050,000 pays each block its own subsidy, exactly."""
    n_blocks = 2
    n = n_blocks * STREAM_BLOCK_PATHS
    h0 = 1_050_000 - 60
    st = _state(n, height=h0)
    log = EventLog()
    rng = None if mode == "deterministic" else _rng(n_blocks)
    out = produce_day(
        st, np.full(n, _rate_hs(144.0)), np.zeros(n), T0, 0, block_rng=rng, events=log
    )
    for p in range(n):
        want = sum(consensus.block_subsidy(h) for h in range(h0 + 1, int(st.height[p]) + 1))
        assert out.subsidy_sat[p] == want
    crossed = st.height >= 1_050_000
    assert crossed.mean() > 0.99
    if mode == "deterministic":
        assert (out.blocks == 144).all()
        assert out.subsidy_sat[0] == 59 * 312_500_000 + 85 * 156_250_000
    hv = log.columns("halvings")
    assert (hv["height"] == 1_050_000).all() and (hv["subsidy_sat"] == 156_250_000).all()
    assert np.array_equal(np.sort(hv["path"]), np.flatnonzero(crossed))


def test_fpps_reward_rate_integrates_across_a_retarget() -> None:
    """The FPPS rate is ∫ reward/(D·2^32) dt: constant D gives 86400·reward/(D·2^32); across a
    retarget it is the time-weighted mix of the two difficulties (deterministic mode)."""
    n = STREAM_BLOCK_PATHS
    fee = np.full(n, 0.02)
    st = _state(n, height=930_000)
    out = produce_day(st, np.full(n, _rate_hs(144.0)), fee, T0, 0, block_rng=None)
    want = SECONDS_PER_DAY * (3.125 + 0.02) / (D * TWO_32)
    np.testing.assert_allclose(out.reward_per_hash_btc, want, rtol=1e-14)

    h0 = 2016 * 461 + 2015 - 72  # retarget at exactly mid-day in fluid mode
    st = _state(n, height=h0, epoch_start=T0 + 43_200 - 7 * 86_400)  # 7-day epoch: D ×2
    out = produce_day(st, np.full(n, _rate_hs(144.0)), fee, T0, 0, block_rng=None)
    d2 = st.difficulty[0]
    assert d2 == pytest.approx(2 * D, rel=1e-4)
    want = 43_200 * (3.125 + 0.02) / TWO_32 * (1 / D + 1 / d2)
    np.testing.assert_allclose(out.reward_per_hash_btc, want, rtol=1e-12)
    assert np.isin(out.blocks, [107, 108]).all()  # 72 + 36·D/d2 blocks, d2 ≈ 2D
