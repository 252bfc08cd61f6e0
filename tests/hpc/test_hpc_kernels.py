"""Kernels against closed forms."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from hashfleet.hpc.kernels import (
    add_months,
    capex_tranches,
    debt_day,
    inverse_cdf,
    invoice_usd,
    irr_per_year,
    mw_by_use,
    phase_schedule,
    ramp_share,
)
from hashfleet.scenario.hpc import FixedDist, LognormalDist, TriangularDist, UniformDist


@pytest.mark.parametrize(
    ("dist", "ref"),
    [
        (UniformDist(low=10, high=70), stats.uniform(10, 60)),
        (TriangularDist(low=0, mode=30, high=365), stats.triang(30 / 365, 0, 365)),
        (LognormalDist(median=60, sigma=0.8), stats.lognorm(0.8, scale=60)),
    ],
)
def test_inverse_cdf_matches_distribution(dist, ref) -> None:
    """Kolmogorov–Smirnov on 20,000 draws: p > 0.001 (a wrong transform gives p ≈ 0)."""
    u = np.random.default_rng(3).random(20_000)
    assert stats.kstest(inverse_cdf(dist, u), ref.cdf).pvalue > 1e-3


def test_fixed_distribution_is_constant() -> None:
    assert (inverse_cdf(FixedDist(value=12.0), np.random.default_rng(0).random(5)) == 12).all()


def test_calendar_months_clamp_to_month_end() -> None:
    start = dt.date(2026, 1, 1)
    jan31 = np.asarray([30.0, 30.0, 30.0, 30.0])
    got = add_months(start, jan31, np.asarray([0, 1, 2, 25]))
    want = [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31), dt.date(2028, 2, 29)]
    assert [start + dt.timedelta(days=int(d)) for d in got] == want


def test_invoice_escalator_ramp_and_cents() -> None:
    month = np.asarray([0, 1, 11, 12, 25])
    share = ramp_share(month, np.asarray([0.25, 0.5]), np.ones(5, dtype=bool))
    assert share.tolist() == [0.25, 0.5, 1.0, 1.0, 1.0]
    inv = invoice_usd(np.full(5, 123.457), month, 0.03, share, np.full(5, 10_000.0))
    assert inv.tolist() == [308642.5, 617285.0, 1234570.0, 1271607.1, 1309755.31]


def test_phase_schedule_delays_push_later_phases() -> None:
    works, live = phase_schedule(
        np.asarray([10.0]),
        np.asarray([0.0, 30.0]),
        np.asarray([100.0, 50.0]),
        np.asarray([[7.4, 3.0]]),
    )
    assert works.tolist() == [[10.0, 47.0]] and live.tolist() == [[117.0, 100.0]]
    day, usd = capex_tranches(works, live, np.asarray([[1000.0, 500.0]]), [(0.2, 0.0), (0.8, 1.0)])
    assert day.tolist() == [[[10.0, 117.0], [47.0, 100.0]]]
    assert usd.tolist() == [[[200.0, 800.0], [100.0, 400.0]]]


def test_mw_by_use_sums_to_capacity() -> None:
    use = np.asarray([[0, 1, 2, 3], [4, 4, 0, 2]], dtype=np.int8)
    out = mw_by_use(
        use,
        np.asarray([10.0, 20.0, 30.0, 5.0]),
        np.asarray([0, 0, 1, 1]),
        np.asarray([100.0, 50.0]),
    )
    assert out[0].tolist() == [[80.0, 20.0, 0.0, 0.0, 0.0], [15.0, 0.0, 30.0, 5.0, 0.0]]
    assert out[1].tolist() == [[70.0, 0.0, 0.0, 0.0, 30.0], [45.0, 0.0, 5.0, 0.0, 0.0]]


def test_debt_capitalises_then_sweeps() -> None:
    z = np.zeros((1, 1))
    bal, acc, i, p = debt_day(z, z, np.full((1, 1), 1000.0), 0.36525, z.astype(bool), z)
    assert bal[0, 0] == pytest.approx(1001.0) and acc[0, 0] == 0 and i[0, 0] == 0
    bal, acc, i, p = debt_day(bal, acc, z, 0.3652500, np.ones((1, 1), bool), np.full((1, 1), 100.0))
    assert i[0, 0] == pytest.approx(1.001) and p[0, 0] == pytest.approx(98.999)
    assert bal[0, 0] == pytest.approx(1001.0 - 98.999)


def test_irr_closed_form_and_nan() -> None:
    flows = np.asarray([[-100.0, 110.0, 0.0], [-100.0, 0.0, 121.0], [-100.0, -5.0, 0.0]])
    got = irr_per_year(flows)
    assert got[:2] == pytest.approx([1.1**12 - 1, 1.1**12 - 1], rel=1e-9)
    assert np.isnan(got[2])


def test_irr_with_several_sign_changes_takes_the_root_nearest_zero() -> None:
    """Capex, ten years of rent, then a large cost at the end (two IRRs): the NPV at the
    reported rate is 0 and it is the root nearest 0 (a bracket on the ends misses it)."""
    flows = np.concatenate([[-1000.0], np.full(120, 15.0), [-400.0]])[None, :]
    r_year = irr_per_year(flows)[0]
    r = (1 + r_year) ** (1 / 12) - 1
    t = np.arange(flows.shape[1])
    assert abs((flows[0] * (1 + r) ** -t).sum()) < 1e-6
    assert 0 < r < 0.02
