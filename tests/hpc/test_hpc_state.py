"""The project and lease state machine: conservation, statistics, cash to the cent."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pytest
from hpc_helpers import START, project, spec, state
from hypothesis import given
from hypothesis import strategies as st

from hashfleet.hpc.kernels import USES, mw_by_use

# ----------------------------------------------------------------- MW conservation


@st.composite
def plans(draw: st.DrawFn) -> tuple:
    n_projects = draw(st.integers(1, 3))
    cap = {"S": 200.0, "T": 100.0}
    left = dict(cap)
    projects = []
    for j in range(n_projects):
        site = draw(st.sampled_from(["S", "T"]))
        n_ph = draw(st.integers(1, 3))
        phases = []
        for _ in range(n_ph):
            mw = draw(st.floats(0.5, max(0.5, left[site] / n_ph)))
            if mw > left[site]:
                break
            left[site] -= mw
            phases.append(
                {
                    "gross_mw": mw,
                    "build_days": draw(st.integers(1, 60)),
                    "start_offset_days": draw(st.integers(0, 40)),
                }
            )
        if not phases:
            continue
        dated = draw(st.booleans())
        projects.append(
            project(
                name=f"p{j}",
                site=site,
                start_date=None if not dated else f"2026-01-{draw(st.integers(1, 28)):02d}",
                phases=phases,
                stop_mining=draw(st.sampled_from(["all_at_once", "by_phase"])),
                delay_days={"kind": "uniform", "low": 0, "high": draw(st.integers(0, 60))},
            )
        )
    if not projects:
        projects = [project()]
    s = spec(
        projects,
        lease={"rent_usd_per_kw_month": 120.0, "term_months": draw(st.integers(1, 6))},
        default={"annual_rate": draw(st.floats(0, 10))},
        after_default=draw(st.sampled_from(["release", "reconvert"])),
        release={"delay_days": {"kind": "uniform", "low": 0, "high": 60}},
        reconversion={"delay_days": {"kind": "uniform", "low": 1, "high": 60}},
        policy={"kind": "margin_trigger"},
        backstop=draw(st.sampled_from([None, {"share": 0.5, "months": 3}])),
        financing={"enabled": draw(st.booleans())},
    )
    starts = [draw(st.integers(0, 100)) for _ in s.projects]
    return s, starts, draw(st.integers(0, 2**32 - 1))


@given(plans())
def test_mw_conserved_on_every_path_and_day(plan: tuple) -> None:
    """mining + converting + leased + idle + reconverting = capacity, each ≥ 0, always (and
    every flow ≥ 0, debt never negative)."""
    s, starts, seed = plan
    stt = state(s, 6, seed=seed, n_days=300)
    rng = np.random.default_rng(seed)
    cap = stt.model.site_capacity_mw
    for day in range(300):
        for j, d in enumerate(starts):
            if d == day:
                stt.start(j, rng.random(6) < 0.7, day)
        flows = stt.advance(day, np.ones(6))
        for name, usd in flows.usd.items():
            assert (usd >= 0).all(), name
        assert (stt.debt_usd >= -1e-6).all()
        mw = stt.mw_by_use(day)
        assert mw.shape[2] == len(USES)
        m = stt.model  # the cached MW by use equals a fresh computation
        fresh = mw_by_use(stt.use(day), m.phase_mw, m.phase_site, m.site_capacity_mw)
        np.testing.assert_array_equal(mw, fresh)
        np.testing.assert_allclose(mw.sum(axis=2), np.broadcast_to(cap, mw.shape[:2]), rtol=1e-12)
        assert (mw >= -1e-9).all()
        # each project's phases are in exactly one use
        proj_mw = stt.model.project_gross_mw.sum()
        assert mw[:, :, 1:].sum(axis=(1, 2)).max() <= proj_mw + 1e-9


# ----------------------------------------------------------------- statistics


def _run_defaults(annual_rate: float, years: float, n: int, multiplier: float) -> float:
    s = spec(
        [project(phases=[{"gross_mw": 10.0, "build_days": 1}])],
        lease={"rent_usd_per_kw_month": 100.0, "term_months": 600},
        default={"annual_rate": annual_rate},
        release={"delay_days": {"kind": "fixed", "value": 100_000}},
    )
    stt = state(s, n, seed=11, n_days=int(years * 365.25) + 10)
    stt.start(0, np.ones(n, dtype=bool), 0)
    mult = np.full(n, multiplier)
    defaulted = np.zeros(n, dtype=bool)
    commence = 1
    for day in range(commence, commence + round(years * 365.25)):
        stt.advance(day, mult)
        defaulted |= stt.commenced[:, 0] & ~stt.active[:, 0]
    return float(defaulted.mean())


@pytest.mark.parametrize(("rate", "mult"), [(0.5, 1.0), (0.3, 2.0)])
def test_default_frequency(rate: float, mult: float) -> None:
    """P(default within T) = 1 − exp(−λ·m·T).  20,000 leases, T = 2 years; tolerance 4
    standard errors (≈ 0.014): a hazard off by 5 % of its rate, or daily rates taken per
    365-day year instead of the cumulative threshold, fail it."""
    n, years = 20_000, 2.0
    p = 1.0 - np.exp(-rate * mult * years)
    got = _run_defaults(rate, years, n, mult)
    se = np.sqrt(p * (1 - p) / n)
    assert abs(got - p) < 4 * se, (got, p, se)
    # the tolerance is tight enough to catch a hazard 5 % off
    assert 4 * se < abs((1.0 - np.exp(-1.05 * rate * mult * years)) - p)


def test_completion_times_follow_delay_distribution() -> None:
    """One phase of 300 days with lognormal(median 60, σ 0.5) delays: completion − start =
    300 + round(delay).  20,000 paths; the mean within 4 standard errors of
    300 + 60·exp(σ²/2) and the 10/50/90 % quantiles within 1 day of the lognormal's."""
    n = 20_000
    s = spec([project(delay_days={"kind": "lognormal", "median": 60, "sigma": 0.5})])
    stt = state(s, n, seed=5)
    stt.start(0, np.ones(n, dtype=bool), 17)
    took = stt.live[:, 0] - 17
    mean = 300 + 60 * np.exp(0.5**2 / 2)
    sd = 60 * np.sqrt((np.exp(0.25) - 1) * np.exp(0.25))
    assert abs(took.mean() - mean) < 4 * sd / np.sqrt(n)
    from scipy import stats

    q = 300 + stats.lognorm(0.5, scale=60).ppf([0.1, 0.5, 0.9])
    assert np.abs(np.quantile(took, [0.1, 0.5, 0.9]) - q).max() <= 1.0


def test_later_phases_carry_earlier_delays() -> None:
    """Phase 2 (offset 30, build 100) goes live at 30 + 100 + δ1 + δ2: with uniform(0, 90)
    delays its mean completion is 130 + 90, within 4 standard errors over 20,000 paths."""
    n = 20_000
    phases = [
        {"gross_mw": 10, "build_days": 200},
        {"gross_mw": 10, "build_days": 100, "start_offset_days": 30},
    ]
    s = spec([project(phases=phases, delay_days={"kind": "uniform", "low": 0, "high": 90})])
    stt = state(s, n, seed=8)
    stt.start(0, np.ones(n, dtype=bool), 0)
    took = stt.live[:, 1]
    sd = np.sqrt(2 * 90**2 / 12)
    assert abs(took.mean() - 220.0) < 4 * sd / np.sqrt(n) + 0.01


# ----------------------------------------------------------------- cash to the cent

CENT = Decimal("0.01")


def _q(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    y, m = d.year + y, m + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def test_lease_cash_to_the_cent() -> None:
    """Escalator, ramp, forced default at month 30, a 60 % backstop for 12 months, and a
    re-lease 90 days later at a 20 % haircut: every invoice booked on its calendar date and
    equal to the contract schedule computed independently in decimal arithmetic."""
    rent, esc, ramp = (
        Decimal("123.457"),
        Decimal("1.03"),
        [Decimal("0.25"), Decimal("0.5"), Decimal("0.75")],
    )
    kw = Decimal(10_000)  # 12.5 gross MW × 0.8
    s = spec(
        [project(phases=[{"gross_mw": 12.5, "build_days": 30}])],
        lease={
            "rent_usd_per_kw_month": 123.457,
            "escalator_per_year": 0.03,
            "ramp_shares": [0.25, 0.5, 0.75],
            "term_months": 60,
            "noi_margin": 0.85,
        },
        default={"forced_month": 30},
        backstop={"share": 0.6, "months": 12},
        release={"delay_days": {"kind": "fixed", "value": 90}, "haircut_share": 0.2},
    )
    n_days = 6 * 366
    stt = state(s, 3, n_days=n_days)
    stt.start(0, np.ones(3, dtype=bool), 0)
    rent_by_day, bs_by_day = {}, {}
    for day in range(n_days):
        f = stt.advance(day, np.ones(3))
        for name, book in (("rent_usd", rent_by_day), ("backstop_usd", bs_by_day)):
            v = f.usd[name][:, 0]
            assert (v == v[0]).all()
            if v[0]:
                book[day] = float(v[0])

    commence = START + dt.timedelta(days=30)  # 2026-01-31: month ends clamp
    day_of = lambda d: (d - START).days  # noqa: E731
    want_rent: dict[int, Decimal] = {}
    for m in range(30):
        share = ramp[m] if m < 3 else Decimal(1)
        want_rent[day_of(_add_months(commence, m))] = _q(rent * esc ** (m // 12) * share * kw)
    default_date = _add_months(commence, 30)
    release_date = default_date + dt.timedelta(days=90)
    want_bs = {}
    for m in range(30, 42):
        d = _add_months(commence, m)
        if d < release_date:
            want_bs[day_of(d)] = _q(Decimal("0.6") * _q(rent * esc ** (m // 12) * kw))
    rent2 = rent * esc**2 * Decimal("0.8")
    m = 0
    while day_of(_add_months(release_date, m)) < n_days:
        want_rent[day_of(_add_months(release_date, m))] = _q(rent2 * esc ** (m // 12) * kw)
        m += 1

    assert sorted(rent_by_day) == sorted(want_rent)
    assert sorted(bs_by_day) == sorted(want_bs)
    for got, want in ((rent_by_day, want_rent), (bs_by_day, want_bs)):
        for day, usd in got.items():
            assert Decimal(str(round(usd, 2))) == want[day], (day, usd, want[day])
        assert abs(Decimal(repr(sum(got.values()))) - sum(want.values())) < Decimal("0.005")
    ev = stt.event_columns()
    kinds = list(ev["kind"][ev["path"] == 0])
    assert kinds == ["works_start", "phase_live", "commence", "default", "release"]


def test_prepayment_opex_and_renewals() -> None:
    """A 20 % prepayment of the base-term schedule at works start, netted from each base-term
    invoice; landlord opex = 15 % of each invoice (NOI margin 0.85); a renewal exercised on
    every path extends the billing past the base term, one never exercised does not (the
    halls then wait for a new tenant)."""
    lease = {
        "rent_usd_per_kw_month": 100.0,
        "term_months": 12,
        "ramp_shares": [0.5],
        "noi_margin": 0.85,
        "prepayment_share": 0.2,
        "renewal_options": 1,
        "renewal_months": 6,
    }
    one_phase = [project(phases=[{"gross_mw": 12.5, "build_days": 10}])]  # 10,000 kW IT
    for p_renew, months in ((1.0, 18), (0.0, 12)):
        s = spec(
            one_phase,
            lease=lease | {"renewal_probability": p_renew},
            release={"delay_days": {"kind": "fixed", "value": 10_000}},  # no re-lease here
        )
        stt = state(s, 4)
        stt.start(0, np.ones(4, dtype=bool), 0)
        got = {k: np.zeros(4) for k in ("rent_usd", "prepayment_usd", "landlord_opex_usd")}
        n_inv = np.zeros(4)
        for day in range(800):
            f = stt.advance(day, np.ones(4))
            for k in got:
                got[k] += f.usd[k][:, 0]
            n_inv += f.usd["rent_usd"][:, 0] > 0
        schedule = [500_000.0] + [1_000_000.0] * 11  # ramp 0.5 in month 0
        assert got["prepayment_usd"].tolist() == [0.2 * sum(schedule)] * 4
        assert (n_inv == months).all()
        rent = 0.8 * sum(schedule) + 1_000_000.0 * (months - 12)
        np.testing.assert_allclose(got["rent_usd"], rent, atol=1e-6)
        opex = 0.15 * (sum(schedule) + 1_000_000.0 * (months - 12))
        np.testing.assert_allclose(got["landlord_opex_usd"], opex, atol=1e-6)
