"""Random streams: the vectorised binomial draws."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hashfleet.engine.streams import BlockRNG


@pytest.mark.parametrize(
    "n, p",
    [(2500, 1.6e-4), (100, 0.05), (40, 0.6), (1000, 0.2), (7, 0.5), (60, 0.9), (3000, 0.3)],
    ids=["failures", "small", "flipped", "btpe", "half", "flipped-big", "btpe-big"],
)
def test_binomial_rows_follow_the_binomial_law(n: int, p: float) -> None:
    """100,000 draws per case: the counts' histogram passes a chi-square test against the
    binomial pmf (p > 1e-4; bins with ≥ 5 expected) and the mean is within 4 standard
    errors — for the inversion path (n·p < 30), the flipped one (p > ½) and NumPy's BTPE
    (n·min(p, 1−p) ≥ 30).  A count off by one in the inversion (e.g. starting the walk at
    P(1)) fails both."""
    N = 100_000
    rng = BlockRNG.for_chunk(2, 0, N // 250, "failures")
    x = rng.binomial_rows(np.full((N, 1), float(n)), np.array([[p]]))[:, 0]
    assert np.all(x == np.rint(x)) and x.min() >= 0 and x.max() <= n
    k = np.arange(n + 1)
    obs = np.bincount(x.astype(int), minlength=n + 1)
    exp = stats.binom.pmf(k, n, p) * N
    m = exp >= 5
    rest_obs, rest_exp = obs[~m].sum(), exp[~m].sum()
    chi = ((obs[m] - exp[m]) ** 2 / exp[m]).sum()
    dof = m.sum() - 1
    if rest_exp >= 5:
        chi += (rest_obs - rest_exp) ** 2 / rest_exp
        dof += 1
    assert stats.chi2.sf(chi, dof) > 1e-4
    se = np.sqrt(n * p * (1 - p) / N)
    assert abs(x.mean() - n * p) < 4 * se


def test_binomial_rows_edges_and_blocks() -> None:
    """n = 0, p = 0 and p = 1 are exact; each stream block's draws depend only on its own
    block (a chunk of blocks 2-3 draws what blocks 2-3 draw inside a chunk of 0-3)."""
    rng = BlockRNG.for_chunk(3, 0, 2, "failures")
    n = np.array([[0.0, 5.0, 5.0]] * 500)
    x = rng.binomial_rows(n, np.array([[0.3, 0.0, 1.0]]))
    assert np.array_equal(x, np.array([[0.0, 0.0, 5.0]] * 500))
    n = np.full((1000, 3), 2500.0)
    p = np.array([[1e-3, 0.02, 0.7]])
    whole = BlockRNG.for_chunk(4, 0, 4, "failures").binomial_rows(n, p)
    part = BlockRNG.for_chunk(4, 2, 2, "failures").binomial_rows(n[500:], p)
    assert np.array_equal(whole[500:], part)
