"""Binomial intervals, tail risk, paired differences and the reverse stress test on a toy
model with a known threshold."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from hashfleet.errors import InputError
from hashfleet.finance.stats import (
    clopper_pearson,
    first_event_summary,
    paired_difference,
    var_cvar,
    wilson,
)
from hashfleet.studies.stress import reverse_stress


@pytest.mark.parametrize("p", [0.01, 0.05, 0.2, 0.5])
def test_binomial_interval_coverage(p: float) -> None:
    """Coverage over 4,000 replications of n = 200: Wilson within [0.92, 0.985] of the
    nominal 0.95 (a Wald interval covers only ~0.86 at p = 0.01 and would fail), exact
    Clopper–Pearson at least 0.94 (it is conservative).  MC error of a coverage ≈ 0.0035."""
    rng = np.random.default_rng(14)
    n = 200
    ks = rng.binomial(n, p, 4000)
    w = np.array([wilson(int(k), n) for k in ks])
    cp = np.array([clopper_pearson(int(k), n) for k in ks])
    cov_w = np.mean((w[:, 0] <= p) & (p <= w[:, 1]))
    cov_cp = np.mean((cp[:, 0] <= p) & (p <= cp[:, 1]))
    assert 0.92 <= cov_w <= 0.985
    assert cov_cp >= 0.94


def test_interval_edges() -> None:
    assert clopper_pearson(0, 100)[0] == 0.0
    assert clopper_pearson(0, 100)[1] == pytest.approx(1 - 0.025 ** (1 / 100))
    assert wilson(100, 100)[1] == 1.0


def test_var_cvar_of_a_known_distribution() -> None:
    x = np.arange(1, 101, dtype=float)  # 1..100
    var, cvar = var_cvar(x, 0.05)
    assert var == pytest.approx(np.quantile(x, 0.05))
    assert cvar == pytest.approx(np.mean(x[x <= var]))


def test_paired_difference_se() -> None:
    rng = np.random.default_rng(1)
    common = rng.normal(0, 10, 5000)
    a, b = common, common + 1 + rng.normal(0, 1, 5000)
    d = paired_difference(a, b)
    assert d.se == pytest.approx(1 / np.sqrt(5000), rel=0.05)
    assert d.lo < 1 < d.hi


def test_first_event_summary() -> None:
    s = first_event_summary(np.array([-1, 5, 20, 100]), [10, 50, 200])
    assert [s["by_horizon"][h].k for h in (10, 50, 200)] == [1, 2, 3]
    assert s["n_with_event"] == 3


# ---------------------------------------------------------------- reverse stress, toy


MU, SIGMA = 0.5, 0.1


def toy(n: int):
    """P(insolvency | x) = Φ((x − 0.5)/0.1); path i is insolvent when u_i < P(x), with u
    drawn from the seed: common random numbers make the count monotone in x per seed."""

    def p(level: float, seed: int) -> tuple[int, int]:
        u = np.random.default_rng(seed).random(n)
        return int((u < sps.norm.cdf((level - MU) / SIGMA)).sum()), n

    return p


def test_reverse_stress_recovers_a_known_threshold_and_its_uncertainty() -> None:
    threshold = 0.2
    true = MU + SIGMA * sps.norm.ppf(threshold)
    hits, n_rep = 0, 100
    for seed in range(n_rep):
        r = reverse_stress(toy(2000), 0.0, 1.0, threshold, seed=seed)
        hits += r.lo <= true <= r.hi
    # nominal 95 %: with 100 replications a coverage below 0.88 would mean the stated SE is
    # too small (binomial sd ≈ 0.022)
    assert 0.88 <= hits / n_rep <= 1.0


def test_reverse_stress_rerun_with_fresh_seeds_lands_within_its_uncertainty() -> None:
    threshold = 0.2
    model = toy(2000)
    r = reverse_stress(model, 0.0, 1.0, threshold, seed=123)
    k = n = 0
    for seed in range(1000, 1010):  # fresh seeds
        kk, nn = model(r.level, seed)
        k, n = k + kk, n + nn
    p_fresh = k / n
    # P at the estimated level differs from the threshold by slope·(x̂ − x*) ± MC noise
    tol = 3 * np.hypot(np.sqrt(threshold * (1 - threshold) / n), r.slope * r.se)
    assert abs(p_fresh - threshold) <= tol


def test_reverse_stress_needs_a_bracket() -> None:
    with pytest.raises(InputError, match="expected P"):
        reverse_stress(toy(100), 0.8, 1.0, 0.2, seed=0)
