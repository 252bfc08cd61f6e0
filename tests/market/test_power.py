"""Power contracts, the spot process and hour-level curtailment (closed form vs hourly)."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from builders import CHAIN_2026
from hashfleet.cli import cli
from hashfleet.errors import ScenarioError
from hashfleet.market.power import (
    HOURS,
    HourPrices,
    SitePower,
    SpotPowerProcess,
    site_day,
    spot_output,
)
from hashfleet.runner import simulate
from hashfleet.scenario import load_scenario_text
from hashfleet.scenario.schema import (
    CoincidentPeakSpec,
    DemandResponseSpec,
    FixedPowerSpec,
    HostedPowerSpec,
    IndexPowerSpec,
    Scenario,
    SiteSpec,
    SpotPowerSpec,
    TimeOfUsePowerSpec,
)

ROOT = Path(__file__).parents[2]


def site(contract: Any, dr: Any = None, cp: Any = None, contract_mw: float = 10.0) -> SitePower:
    """A compiled site with a spot model (used only where the contract needs hours)."""
    return SitePower(0, contract, SpotPowerSpec(median_usd_per_mwh=40), dr, cp, contract_mw)


def hours_of(*blocks: tuple[int, float], n_paths: int = 1) -> HourPrices:
    """Deterministic hours: ``(n_hours, price)`` blocks that add up to 24 hours."""
    row = np.concatenate([np.full(n, p) for n, p in blocks])
    assert row.shape == (HOURS,)
    return HourPrices(values=np.tile(row, (n_paths, 1)))


# ------------------------------------------------------------------ contracts by hand


def test_fixed_and_hosted_cost_by_hand() -> None:
    """Fixed PPA: 6 MW × 24 h × 38 USD/MWh; hosted 0.05 USD/kWh = 50 USD/MWh; a cohort whose
    revenue per MWh is below the price does not run."""
    b = np.array([[60.0, 30.0]])
    mw = np.array([[6.0, 4.0]])
    d = site_day(site(FixedPowerSpec(price_usd_per_mwh=38)), b, mw, None)
    np.testing.assert_allclose(d.run_share, [[1.0, 0.0]])
    assert (mw * d.cost_usd_per_mw).sum() == pytest.approx(6 * 24 * 38)
    d = site_day(site(HostedPowerSpec(price_usd_per_kwh=0.05)), b, mw, None)
    assert (mw * d.cost_usd_per_mw).sum() == pytest.approx(6 * 24 * 50)


def test_time_of_use_runs_off_peak_only_when_peak_is_too_dear() -> None:
    """Peak 14–20 h at 120, off-peak 30; a cohort earning 80/MWh runs 18 of 24 hours and
    pays 18 h × 30 per MW; one earning 150 runs all day: 18·30 + 6·120 per MW."""
    tou = TimeOfUsePowerSpec(peak_usd_per_mwh=120, offpeak_usd_per_mwh=30)
    d = site_day(site(tou), np.array([[80.0, 150.0]]), np.array([[1.0, 1.0]]), None)
    np.testing.assert_allclose(d.run_share, [[18 / 24, 1.0]])
    np.testing.assert_allclose(d.cost_usd_per_mw, [[18 * 30, 18 * 30 + 6 * 120]])


def test_index_contract_by_hand() -> None:
    """Spot 20 for 12 h and 200 for 12 h, adder 5: a cohort earning 100/MWh runs the cheap
    half and pays (20 + 5) per MWh; at 300/MWh it runs all day."""
    h = hours_of((12, 20.0), (12, 200.0))
    d = site_day(
        site(IndexPowerSpec(adder_usd_per_mwh=5)),
        np.array([[100.0, 300.0]]),
        np.array([[2.0, 1.0]]),
        h,
    )
    np.testing.assert_allclose(d.run_share, [[0.5, 1.0]])
    np.testing.assert_allclose(d.cost_usd_per_mw, [[12 * 25, 12 * 25 + 12 * 205]])
    np.testing.assert_allclose(d.peak_mw, [3.0])  # both run in the cheap hours


def test_sell_back_by_hand() -> None:
    """Strike 40, contract 10 MW; spot 30 for 20 h, 140 for 4 h.  A 6 MW cohort earning 100
    runs only the cheap hours and the whole 10 MW is resold in the dear ones:
    4 h × 100 × 10 = 4,000.  Earning 200 it runs all day; 4 MW are resold: 4 × 100 × 4."""
    fixed = FixedPowerSpec(price_usd_per_mwh=40, sell_back=True)
    h = hours_of((20, 30.0), (4, 140.0))
    mw = np.array([[6.0]])
    d = site_day(site(fixed), np.array([[100.0]]), mw, h)
    np.testing.assert_allclose(d.run_share, [[20 / 24]])
    np.testing.assert_allclose(d.credits_usd["sell_back_usd"], [4000.0])
    np.testing.assert_allclose(mw * d.cost_usd_per_mw, [[6 * 20 * 40]])
    d = site_day(site(fixed), np.array([[200.0]]), mw, h)
    np.testing.assert_allclose(d.credits_usd["sell_back_usd"], [1600.0])
    d = site_day(site(fixed), np.array([[35.0]]), mw, h)  # below the strike: never runs
    np.testing.assert_allclose(d.run_share, [[0.0]])
    np.testing.assert_allclose(d.credits_usd["sell_back_usd"], [4000.0])


def test_demand_response_by_hand() -> None:
    """Fixed 30; calls above 100 (spot 150 in 2 hours); an 8 MW cohort earning 60 sheds
    2 h × 8 MW = 16 MWh and earns 16 × 75; capacity 5 MW × 3,000/month × 12/365.25 a day."""
    dr = DemandResponseSpec(
        enrolled_mw=5,
        capacity_usd_per_mw_month=3000,
        call_price_usd_per_mwh=100,
        energy_usd_per_mwh=75,
    )
    h = hours_of((22, 50.0), (2, 150.0))
    d = site_day(
        site(FixedPowerSpec(price_usd_per_mwh=30), dr=dr), np.array([[60.0]]), np.array([[8.0]]), h
    )
    np.testing.assert_allclose(d.run_share, [[22 / 24]])
    np.testing.assert_allclose(d.shed_mwh, [16.0])
    np.testing.assert_allclose(d.credits_usd["dr_energy_usd"], [16 * 75])
    np.testing.assert_allclose(d.credits_usd["dr_capacity_usd"], [5 * 3000 * 12 / 365.25])
    # an index cohort already curtailed above its break-even sheds nothing more
    d = site_day(site(IndexPowerSpec(), dr=dr), np.array([[60.0]]), np.array([[8.0]]), h)
    np.testing.assert_allclose(d.shed_mwh, [0.0])


def test_coincident_peak_by_hand() -> None:
    """Charge 50 USD/kW-year, window 20–24 h, capture 0.9: on a July weekday a 10 MW site
    that would run all day curtails 4 h and pays 50/4 × 1000 × (0.1 × 10 MW) / 23 weekdays;
    without avoidance it pays on the full 10 MW and runs all day; outside the months nothing."""
    cp = CoincidentPeakSpec(charge_usd_per_kw_year=50)
    fixed = FixedPowerSpec(price_usd_per_mwh=30)
    b, mw = np.array([[60.0]]), np.array([[10.0]])
    d = site_day(site(fixed, cp=cp), b, mw, None, month=7, weekday=2, weekdays_in_month=23)
    np.testing.assert_allclose(d.run_share, [[20 / 24]])
    np.testing.assert_allclose(d.charges_usd["cp_charge_usd"], [50 / 4 * 1000 * 1.0 / 23])
    np.testing.assert_allclose(d.cost_usd_per_mw, [[20 * 30]])
    no = CoincidentPeakSpec(charge_usd_per_kw_year=50, avoid=False)
    d = site_day(site(fixed, cp=no), b, mw, None, month=7, weekday=2, weekdays_in_month=23)
    np.testing.assert_allclose(d.run_share, [[1.0]])
    np.testing.assert_allclose(d.charges_usd["cp_charge_usd"], [50 / 4 * 1000 * 10 / 23])
    for month, weekday in ((1, 2), (7, 6)):  # winter; a July Sunday
        d = site_day(site(fixed, cp=cp), b, mw, None, month=month, weekday=weekday)
        assert d.charges_usd == {}
        np.testing.assert_allclose(d.run_share, [[1.0]])


# ------------------------------------------------------------------ closed form vs hourly


def _lognormal_and_sample(
    n: int, sigma: float, cap: float, seed: int
) -> tuple[HourPrices, HourPrices]:
    """Both views of the same intraday law: closed form and ``n`` sampled days per path."""
    rng = np.random.default_rng(seed)
    level = np.array([30.0, 60.0, 250.0])
    shape = 0.3 * np.cos(2 * np.pi * (np.arange(HOURS) + 0.5 - 22) / HOURS)
    shape -= np.log(np.mean(np.exp(shape)))
    closed = HourPrices.lognormal(level, shape, sigma, cap)
    eps = rng.standard_normal((n, level.size, HOURS))
    sample = np.minimum(level[:, None] * np.exp(shape + sigma * eps - sigma**2 / 2), cap)
    return closed, HourPrices(values=sample.reshape(-1, HOURS), cap=cap)


@pytest.mark.parametrize(
    "contract, dr",
    [
        (IndexPowerSpec(adder_usd_per_mwh=4), None),
        (FixedPowerSpec(price_usd_per_mwh=45, sell_back=True), None),
        (
            FixedPowerSpec(price_usd_per_mwh=35),
            DemandResponseSpec(call_price_usd_per_mwh=120, energy_usd_per_mwh=80),
        ),
    ],
    ids=["index", "sell_back", "fixed_dr_calls"],
)
def test_closed_form_matches_brute_force_hours(contract: Any, dr: Any) -> None:
    """The closed-form intraday integral equals the mean over 6,000 simulated days of 24
    hourly prices (lognormal hours, σ = 0.6, a cap at 400 that binds), per level and
    break-even, for run share, cost, sell-back and shed energy.

    Tolerance: 5 standard errors of the brute-force mean (plus 1e-9 absolute): a wrong
    closed form (e.g. ignoring the cap or the −σ²/2 mean correction) misses by far more.
    """
    n = 6000
    closed, sample = _lognormal_and_sample(n, 0.6, 400.0, seed=1)
    b_levels = np.array([25.0, 55.0, 90.0, 500.0])  # the last is above the cap
    mw = np.array([3.0, 2.0, 1.5, 1.0])
    s = site(contract, dr=dr)
    n_lv = 3
    bc = np.tile(b_levels, (n_lv, 1))
    d_closed = site_day(s, bc, np.tile(mw, (n_lv, 1)), closed)
    d_hourly = site_day(s, np.tile(b_levels, (n * n_lv, 1)), np.tile(mw, (n * n_lv, 1)), sample)

    def check(closed_v: np.ndarray, hourly_v: np.ndarray) -> None:
        h = hourly_v.reshape(n, n_lv, *hourly_v.shape[1:])
        mean, se = h.mean(axis=0), h.std(axis=0) / np.sqrt(n)
        np.testing.assert_array_less(np.abs(closed_v - mean), 5 * se + 1e-9)

    check(d_closed.run_share, d_hourly.run_share)
    check(d_closed.cost_usd_per_mw, d_hourly.cost_usd_per_mw)
    for k in d_closed.credits_usd:
        check(d_closed.credits_usd[k], d_hourly.credits_usd[k])
    if d_closed.shed_mwh is not None:
        assert d_hourly.shed_mwh is not None
        check(d_closed.shed_mwh, d_hourly.shed_mwh)
    # the cap binds: the expected hourly price is below the uncapped mean for level 250
    assert closed.mean()[2].mean() < 250.0 * 0.99


def test_capped_mean_is_closed_form() -> None:
    """E[min(X, cap)] of the closed form equals a large-sample mean (5 SE)."""
    closed, sample = _lognormal_and_sample(20000, 0.8, 300.0, seed=2)
    h = sample.mean().reshape(20000, 3, HOURS)
    np.testing.assert_array_less(
        np.abs(closed.mean() - h.mean(axis=0)), 5 * h.std(axis=0) / np.sqrt(20000)
    )


# ------------------------------------------------------------------ day sums (tabulated) vs hours


def _hour_by_hour(h: HourPrices) -> HourPrices:
    """The same lognormal hours without the day-sum tables: :func:`site_day` then takes the
    hour-by-hour closed form (``HourPrices.below`` per hour)."""
    assert h.level is not None and h.offsets is not None
    mu = np.log(h.level)[:, None] + h.offsets[None, :]
    return HourPrices(mu=mu, sigma=h.sigma, cap=h.cap, expand=h.expand)


@pytest.mark.parametrize("sigma", [0.05, 0.45, 1.2])
@pytest.mark.parametrize(
    "contract, dr, cp, month, weekday",
    [
        (IndexPowerSpec(adder_usd_per_mwh=6), None, None, 1, 0),
        (
            IndexPowerSpec(adder_usd_per_mwh=6),
            DemandResponseSpec(enrolled_mw=5, call_price_usd_per_mwh=90, energy_usd_per_mwh=50),
            CoincidentPeakSpec(charge_usd_per_kw_year=55, months=[7]),
            7,
            2,
        ),
        (
            IndexPowerSpec(adder_usd_per_mwh=0),
            None,
            CoincidentPeakSpec(charge_usd_per_kw_year=55, months=[7], avoid=False),
            7,
            3,
        ),
        (FixedPowerSpec(price_usd_per_mwh=45, sell_back=True), None, None, 1, 0),
        (
            FixedPowerSpec(price_usd_per_mwh=45, sell_back=True),
            DemandResponseSpec(call_price_usd_per_mwh=300, energy_usd_per_mwh=20),
            CoincidentPeakSpec(charge_usd_per_kw_year=55, months=[7]),
            7,
            1,
        ),
    ],
    ids=["index", "index_dr_cp_avoid", "index_cp_pay", "sell_back", "sell_back_dr_cp"],
)
def test_day_sums_equal_hour_by_hour_closed_form(
    contract: Any, dr: Any, cp: Any, month: int, weekday: int, sigma: float
) -> None:
    """The tabulated day sums (the default) give every output of :func:`site_day` — run
    share, cost, peak load, credits, charges, shed energy — equal to the hour-by-hour closed
    form within 1e-11 relative (plus 1e-9 absolute on values of order 1e3–1e6): thresholds
    from far below the hourly prices to above the cap (400 USD/MWh), levels that put the cap
    in the body of the distribution, zero and negative thresholds."""
    rng = np.random.default_rng(7)
    n, k = 400, 6
    level = np.exp(rng.normal(np.log(50.0), 0.8, n))
    level[:3] = [400.0, 1.0, 399.0]
    shape = 0.3 * np.cos(2 * np.pi * (np.arange(HOURS) + 0.5 - 18) / HOURS)
    shape -= np.log(np.mean(np.exp(shape)))
    fast = HourPrices.lognormal(level, shape, sigma, 400.0)
    assert fast.tabulated
    b = np.exp(rng.normal(np.log(60.0), 1.2, (n, k)))
    b[:, 0] = rng.choice([-5.0, 0.0, 399.999, 400.0, 1e4], n)
    mw = rng.uniform(0.0, 20.0, (n, k))
    s = site(contract, dr=dr, cp=cp)
    kw = {"month": month, "weekday": weekday, "weekdays_in_month": 22}
    got = site_day(s, b, mw, fast, **kw)
    ref = site_day(s, b, mw, _hour_by_hour(fast), **kw)

    def same(a: np.ndarray, r: np.ndarray) -> None:
        np.testing.assert_allclose(a, r, rtol=1e-11, atol=1e-9)

    same(got.run_share, ref.run_share)
    same(got.cost_usd_per_mw, ref.cost_usd_per_mw)
    same(got.peak_mw, ref.peak_mw)
    assert got.credits_usd.keys() == ref.credits_usd.keys()
    assert got.charges_usd.keys() == ref.charges_usd.keys()
    for k_ in got.credits_usd:
        same(got.credits_usd[k_], ref.credits_usd[k_])
    for k_ in got.charges_usd:
        same(got.charges_usd[k_], ref.charges_usd[k_])
    assert (got.shed_mwh is None) == (ref.shed_mwh is None)
    if got.shed_mwh is not None:
        assert ref.shed_mwh is not None
        same(got.shed_mwh, ref.shed_mwh)


# ------------------------------------------------------------------ spot process


def test_spot_process_levels_caps_and_hours() -> None:
    """Stationary log level: mean log(median) and sd σ (tolerance 0.02 and 5 %, 250 paths ×
    2,000 days with a 7-day half-life); the cap holds; hourly prices average the level
    (uncapped, 3 SE) and their hourly draws do not change the daily levels."""
    spec = SpotPowerSpec(median_usd_per_mwh=40, sigma=0.4, cap_usd_per_mwh=5000)
    proc = SpotPowerProcess([(0, spec)], dt.date(2026, 1, 1))
    st = proc.init_state(250)
    rng = np.random.default_rng(3)
    logs = np.concatenate(
        [np.log(proc.window(st, rng, d, 32, {})[spot_output(0)]) for d in range(0, 2016, 32)],
        axis=1,
    )
    assert logs.mean() == pytest.approx(np.log(40), abs=0.02)
    assert logs.std() == pytest.approx(0.4, rel=0.05)

    hourly = spec.model_copy(update={"intraday": "hourly", "jump_rate_per_year": 50.0})
    daily = spec.model_copy(update={"jump_rate_per_year": 50.0})
    ph = SpotPowerProcess([(0, hourly)], dt.date(2026, 1, 1))
    pd_ = SpotPowerProcess([(0, daily)], dt.date(2026, 1, 1))
    sh, sd = ph.init_state(250), pd_.init_state(250)
    gh, gd = np.random.default_rng(4), np.random.default_rng(4)
    for first in (0, 32):
        oh = ph.window(sh, gh, first, 32, {})
        od = pd_.window(sd, gd, first, 32, {})
        np.testing.assert_array_equal(oh[spot_output(0)], od[spot_output(0)])
    hours = np.stack([oh[spot_output(0, h)] for h in range(HOURS)], axis=-1)
    assert hours.max() <= 5000.0
    ratio = hours.mean(axis=-1) / oh[spot_output(0)]
    assert abs(ratio.mean() - 1.0) < 3 * ratio.std() / np.sqrt(ratio.size)


# ------------------------------------------------------------------ engine and scenarios


BASE: dict[str, Any] = {
    "name": "power-test",
    "run": {"start": "2026-06-01", "horizon_days": 40, "paths": 250, "seed": 11},
    "network": {
        "start": CHAIN_2026,
        "hashrate": {"model": "growth", "growth_per_year": 0.3},
    },
    "market": {"btc_price": {"model": "gbm", "start_usd": 70_000, "volatility_per_year": 0.5}},
    "fleet": {
        "models": [
            {"name": "Eff", "hashrate_th_s": 200, "power_w": 3000},
            {"name": "Old", "hashrate_th_s": 100, "power_w": 3200},
        ],
        "sites": [
            {
                "name": "TX",
                "capacity_mw": 40,
                "power": {"contract": "index", "adder_usd_per_mwh": 5},
                "spot": {
                    "median_usd_per_mwh": 45,
                    "sigma": 0.5,
                    "jump_rate_per_year": 12,
                    "intraday_sigma": 0.6,
                    "cap_usd_per_mwh": 2000,
                },
                "programmes": {
                    "demand_response": {
                        "enrolled_mw": 10,
                        "capacity_usd_per_mw_month": 2000,
                        "call_price_usd_per_mwh": 60,
                        "energy_usd_per_mwh": 40,
                    },
                    "coincident_peak": {"charge_usd_per_kw_year": 50},
                },
            },
            {"name": "GA", "capacity_mw": 10, "power": {"price_usd_per_mwh": 45}},
        ],
        "cohorts": [
            {"model": "Eff", "site": "TX", "units": 8000},
            {"model": "Old", "site": "TX", "units": 6000},
            {"model": "Eff", "site": "GA", "units": 3000},
        ],
    },
}


def total(res: Any, v: str) -> np.ndarray:
    """Per-path total of a daily variable over the run."""
    return np.asarray(res.per_path[f"total_{v}"].values)


def power_scenario(intraday: str = "closed_form") -> Scenario:
    d = copy.deepcopy(BASE)
    d["fleet"]["sites"][0]["spot"]["intraday"] = intraday
    return Scenario.model_validate(d)


def test_engine_closed_form_matches_hourly_simulation() -> None:
    """Same seed, same daily spot levels: the run's totals of energy, power cost, DR energy
    credits, coincident-peak charges and production agree between closed-form and hourly
    intraday handling within 1 % (the hourly run's own Monte Carlo error over 250 paths ×
    40 days × 24 hours is ~0.2 %; a closed form without the cap or the −σ²/2 correction
    misses by several %)."""
    closed = simulate(power_scenario("closed_form"))
    hourly = simulate(power_scenario("hourly"))
    for v in ("energy_mwh", "power_cost_usd", "dr_energy_usd", "cp_charge_usd", "production_btc"):
        a, b = total(closed, v).mean(), total(hourly, v).mean()
        assert a == pytest.approx(b, rel=0.01), v
    assert total(closed, "dr_shed_mwh").mean() > 0
    assert total(closed, "dr_capacity_usd").mean() == pytest.approx(10 * 2000 * 12 / 365.25 * 40)


def test_chunking_does_not_change_power_results() -> None:
    """Spot levels and hourly draws depend on the stream block only."""
    sc = power_scenario("hourly").model_copy(
        update={"run": power_scenario().run.model_copy(update={"paths": 500, "horizon_days": 35})}
    )
    one, two = simulate(sc), simulate(sc, chunk_paths=250)
    for v in ("power_cost_usd", "energy_mwh", "dr_energy_usd"):
        np.testing.assert_array_equal(total(one, v), total(two, v))


def test_sites_need_a_spot_model() -> None:
    """An index contract without `spot` is a clear scenario error naming the field."""
    d = copy.deepcopy(BASE)
    del d["fleet"]["sites"][0]["spot"]
    with pytest.raises(ScenarioError, match="spot"):
        load_scenario_text(_yaml(d))
    with pytest.raises(ValueError, match="needs a spot price model"):
        SiteSpec.model_validate({**d["fleet"]["sites"][0]})


def _yaml(d: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(d, sort_keys=False)


def test_ercot_scenario_runs_from_the_cli(tmp_path: Path) -> None:
    """`scenarios/ercot-index.yaml` (extends the baseline) runs and books its programmes."""
    r = CliRunner().invoke(
        cli,
        [
            "run",
            str(ROOT / "scenarios" / "ercot-index.yaml"),
            "--paths",
            "10",
            "--set",
            "run.horizon_days=10",
            "--no-progress",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Power cost" in r.output


@pytest.mark.slow
def test_engine_closed_form_matches_hourly_simulation_large() -> None:
    """The engine comparison at 1,000 paths × 180 days (June–November, 4CP months included):
    energy, power cost and production within 0.3 %, DR credits and 4CP charges within 1 %."""
    sc = power_scenario("closed_form")
    run = sc.run.model_copy(update={"paths": 1000, "horizon_days": 180})
    closed = simulate(sc.model_copy(update={"run": run}))
    hourly_sc = power_scenario("hourly")
    hourly = simulate(hourly_sc.model_copy(update={"run": run}))
    for v, tol in (
        ("energy_mwh", 0.003),
        ("power_cost_usd", 0.003),
        ("production_btc", 0.003),
        ("dr_energy_usd", 0.01),
        ("cp_charge_usd", 0.01),
    ):
        assert total(closed, v).mean() == pytest.approx(total(hourly, v).mean(), rel=tol), v
