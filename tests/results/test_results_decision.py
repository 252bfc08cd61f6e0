"""Decision metrics: brute force from paths.nc, interval coverage, IRR without sentinels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from hashfleet.results import Results
from hashfleet.results.decision import (
    cash_reductions,
    cvar,
    irr_per_year,
    per_path_decision,
    quantile_interval,
    summarize,
    wilson_interval,
)


def test_decision_metrics_match_brute_force_from_paths_nc(
    small_run: tuple[Results, Path],
) -> None:
    """Every cash-path metric and probability, recomputed day by day in plain Python from
    the saved paths.nc, equals the vectorised one."""
    res, out = small_run
    d = per_path_decision(res)
    with xr.open_dataset(out / "paths.nc") as ds:
        cash = ds["cash_usd"].values
        fcf = ds["free_cash_flow_usd"].values
        npv = ds["npv_usd"].values
    n, n_days = cash.shape
    v = 1.12 ** (-1 / 365.25)  # strategies-baseline: 12 %/year, fleet value included
    for p in range(n):
        invested = fcf[p, 0] * v - npv[p, 0]  # NPV day 0 = −V0 + FCF_0·v
        assert invested > 1e7  # the fleet's secondary value (~73 m USD at 52k USD/BTC)
        lowest, first, cum, last_neg = math.inf, math.nan, -invested, -1
        for day in range(n_days):
            lowest = min(lowest, cash[p, day])
            if cash[p, day] < 0 and math.isnan(first):
                first = day
            cum += fcf[p, day]
            if cum < 0:
                last_neg = day
        payback = math.nan if last_neg == n_days - 1 else last_neg + 1
        assert d.loc[p, "min_cash_usd"] == lowest
        assert d.loc[p, "first_negative_cash_day"] == pytest.approx(first, nan_ok=True)
        assert d.loc[p, "payback_day"] == pytest.approx(payback, nan_ok=True, abs=0)
    s = summarize(d)
    crossed = sum(any(c < 0 for c in cash[p]) for p in range(n))
    assert 0 < crossed < n  # the fixture is stressed enough to test both sides
    assert s.loc["P(cash < 0 at any time)", "estimate"] == crossed / n
    npv_end = d["npv_usd"].to_numpy()
    assert s.loc["P(NPV < 0)", "estimate"] == sum(x < 0 for x in npv_end) / n
    worst = sorted(npv_end)[: max(1, int(0.05 * n))]
    assert s.loc["CVaR 95% of NPV", "estimate"] == pytest.approx(sum(worst) / len(worst))
    # margins from the per-path totals
    pp = res.per_path
    rev = pp["total_revenue_usd"].values
    gross = 100 * (rev - pp["total_power_cost_usd"].values) / rev
    np.testing.assert_allclose(d["gross_margin_pct"], gross, rtol=1e-12)


def test_irr_is_nan_where_none_exists_and_a_root_elsewhere(
    small_run: tuple[Results, Path],
) -> None:
    """The engine's IRR zeroes the monthly NPV where it exists; where it is NaN the NPV has
    one sign on a dense grid of rates; no sentinel value is left."""
    res, _ = small_run
    irr = res.per_path["final_irr_per_year"].values
    assert np.isnan(irr).any() and np.isfinite(irr).any()
    assert not np.any(np.isin(irr, [-0.99, 1000.0]))
    flows = np.array([[-100.0, 30, 30, 30, 30], [100.0, 1, 1, 1, 1], [0.0, 0, 0, 0, 0]])
    got = irr_per_year(flows)
    t = np.arange(5) / 12
    assert np.sum(flows[0] * (1 + got[0]) ** -t) == pytest.approx(0, abs=1e-9)
    assert np.isnan(got[1:]).all()
    # a scan of 20,001 rates finds no sign change where the kernel says none
    rates = np.expm1(np.linspace(np.log(0.01), np.log(1001), 20_001))
    npv = (flows[1][None, :] * (1 + rates[:, None]) ** -t).sum(axis=1)
    assert np.all(npv > 0)


def test_irr_of_an_annuity_is_exact_and_nearest_zero_of_two_roots() -> None:
    m = np.arange(1, 61)
    rates = np.array([-0.5, -0.2, 0.0, 0.15, 2.0, 40.0])
    flows = np.zeros((rates.size, 61))
    flows[:, 1:] = 1000.0
    flows[:, 0] = -np.array([(1000.0 * (1 + r) ** (-m / 12)).sum() for r in rates])
    assert irr_per_year(flows) == pytest.approx(rates, abs=1e-10)
    # (1 − x)(1 − 2x) with x = (1+r)^(−1/12)·… : flows −1, +3, −2 monthly have roots where
    # (1+r)^(-1/12) = 1 or 1/2, i.e. r = 0 and r = 2^12 − 1; the one nearest 0 is chosen
    two = irr_per_year(np.array([[1.0, -3.0, 2.0]]), hi=5000.0)
    assert two[0] == pytest.approx(0.0, abs=1e-10)


def test_cash_reductions_edge_cases() -> None:
    cash = np.array([[5.0, -1.0, 2.0, -3.0], [1.0, 1.0, 1.0, 1.0]])
    fcf = np.array([[-2.0, 1.0, 2.0, -0.5], [1.0, 0.0, 0.0, 0.0]])
    r = cash_reductions(cash, fcf)
    np.testing.assert_array_equal(r["min_cash_usd"], [-3.0, 1.0])
    np.testing.assert_array_equal(r["first_negative_cash_day"], [1.0, np.nan])
    # cumulative −2, −1, 1, 0.5: last negative day 1 -> payback day 2; never negative -> 0
    np.testing.assert_array_equal(r["payback_day"], [2.0, 0.0])
    r2 = cash_reductions(cash, -np.ones((2, 4)))
    assert np.isnan(r2["payback_day"]).all()
    # an initial investment of 1.0 on path 0: cumulative −3, −2, 0, −0.5 -> never paid back
    r3 = cash_reductions(cash, fcf, np.array([1.0, 0.5]))
    np.testing.assert_array_equal(r3["payback_day"], [np.nan, 0.0])


def test_intervals_cover_at_their_level() -> None:
    """Over 400 samples of 200 draws, the 95 % Wilson, order-statistic and bootstrap CVaR
    intervals cover the truth 91–99 % of the time (a broken interval would not)."""
    rng = np.random.default_rng(5)
    cover = np.zeros(3)
    true_q = -1.6448536269514722  # N(0, 1) 5 % quantile
    true_cvar = -2.0627128075074257  # E[X | X < q_0.05] for N(0, 1)
    k = 400
    for i in range(k):
        x = rng.standard_normal(200)
        _, lo, hi = wilson_interval(int((x < true_q).sum()), x.size)
        cover[0] += lo <= 0.05 <= hi
        _, lo, hi = quantile_interval(x, 0.05)
        cover[1] += lo <= true_q <= hi
        _, lo, hi = cvar(x, 0.05, seed=i, resamples=300)
        cover[2] += lo <= true_cvar <= hi
    assert np.all(cover[:2] / k > 0.91) and np.all(cover[:2] / k < 0.995)
    # the percentile bootstrap of a 10-point tail mean under-covers; it must not collapse
    assert cover[2] / k > 0.75
    p, lo, hi = wilson_interval(0, 50)
    assert p == 0 and lo == pytest.approx(0, abs=1e-15) and 0.05 < hi < 0.09
