"""Power over time: PPA escalator, expiry and re-contracting at the forward price, spot
trend, transmission and demand charges (docs/power.md)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from builders import base_doc, build
from hashfleet.market.power import contract_of
from hashfleet.market.power.spot import SpotPowerProcess
from hashfleet.market.power.terms import ContractPriceProcess, contract_output
from hashfleet.runner import simulate
from hashfleet.scenario.power import PpaTermsSpec, SpotTrendSpec
from hashfleet.scenario.schema import FixedPowerSpec, SpotPowerSpec

START = dt.date(2026, 1, 1)


def _draw(proc: object, n_paths: int, first: int, n_days: int, inputs: dict) -> dict:
    st = proc.init_state(n_paths)  # type: ignore[attr-defined]
    return proc.window(st, np.random.default_rng(0), first, n_days, inputs)  # type: ignore[attr-defined]


def test_escalator_steps_on_each_anniversary() -> None:
    terms = PpaTermsSpec(escalator_per_year=0.03)
    proc = ContractPriceProcess([(0, 40.0, terms)], START, None)
    out = {}
    for first in (0, 360, 725):
        out[first] = _draw(proc, 2, first, 10, {})[contract_output(0)]
    assert np.all(out[0] == 40.0)
    # day 365 = 2027-01-01: first anniversary
    assert np.all(out[360][:, :5] == 40.0) and np.allclose(out[360][:, 5:], 40.0 * 1.03)
    assert np.allclose(out[725][:, 5:], 40.0 * 1.03**2)  # day 730 = 2028-01-01


def test_time_varying_contracts_are_not_flat() -> None:
    fixed = FixedPowerSpec(price_usd_per_mwh=40, terms=PpaTermsSpec(escalator_per_year=0.02))
    assert np.isnan(contract_of(fixed).flat_price_usd_per_mwh())
    assert contract_of(FixedPowerSpec(price_usd_per_mwh=40)).flat_price_usd_per_mwh() == 40.0


def _spot(**kw: object) -> SpotPowerSpec:
    return SpotPowerSpec(**({"median_usd_per_mwh": 40, "sigma": 0.3, "half_life_days": 20} | kw))


def test_forward_price_is_the_model_expectation_of_the_term_average() -> None:
    """F(x) against Monte Carlo of the spot model from state x over the new term."""
    spec = _spot(
        jump_rate_per_year=8.0,
        jump_mean_log=0.5,
        jump_sigma_log=0.3,
        cap_usd_per_mwh=1e6,  # the schema maximum; the forward price ignores the cap
        seasonal_amplitude=0.2,
    )
    spot = SpotPowerProcess([(0, spec)], START, deviation_sites=[0])
    terms = PpaTermsSpec(end_date=dt.date(2026, 3, 31), recontract_term_years=0.25)
    proc = ContractPriceProcess([(0, 40.0, terms)], START, spot)
    r = 90  # 2026-04-01
    x0 = np.array([-0.4, 0.0, 0.5])
    fwd = proc.forward_usd_per_mwh(0, r, x0)
    n = proc.term_days[0]
    # simulate the spot from x0 on day r (same recursion as SpotPowerProcess.window)
    rng = np.random.default_rng(3)
    m = 100_000
    x = np.repeat(x0[:, None], m, axis=1)
    centre = spot.log_centre(np.arange(r, r + n))[:, 0]
    total = np.exp(centre[0] + x)
    phi, sig = spot.phi[0], spot.sigma[0]
    innov = sig * np.sqrt(1 - phi**2)
    for k in range(1, n):
        cnt = rng.poisson(spot.jump_p[0], x.shape)
        jumps = cnt * spot.jump_mu[0] + np.sqrt(cnt) * spot.jump_sd[0] * rng.standard_normal(
            x.shape
        )
        x = phi * x + innov * rng.standard_normal(x.shape) + jumps
        total += np.exp(centre[k] + x)
    mc = (total / n).mean(axis=1)
    np.testing.assert_allclose(fwd, mc, rtol=0.01)  # MC error of 1e5 paths ≪ 1 %
    assert fwd[2] > fwd[1] > fwd[0]  # a high-price state re-contracts high


def test_recontract_at_forward_after_end_date_in_a_run() -> None:
    site = {
        "name": "A",
        "capacity_mw": 50,
        "power": {
            "contract": "fixed",
            "price_usd_per_mwh": 40,
            "terms": {
                "escalator_per_year": 0.05,
                "end_date": "2026-02-09",
                "recontract": "forward",
                "recontract_term_years": 0.1,
                "recontract_premium_usd_per_mwh": 3,
            },
        },
        "spot": {"median_usd_per_mwh": 60, "sigma": 0.4, "half_life_days": 10},
    }
    sc = build(base_doc(horizon_days=80, paths=250), fleet__sites=[site])
    res = simulate(sc, paths=250, seed=3)
    p = res.paths["contract_usd_per_mwh_site0"].to_numpy()  # (path, time)
    assert np.all(p[:, :40] == 40.0)
    new = p[:, 40]  # day 40 = 2026-02-10: re-contracted
    assert np.ptp(new) > 1.0  # depends on each path's spot state
    assert 50 < new.mean() < 80  # around the spot median 60 (+ lognormal mean, premium)
    term = round(0.1 * 365.25)
    assert np.all(p[:, 40 : 40 + term] == new[:, None])  # flat over the term
    assert np.any(p[:, 40 + term] != new)  # then re-contracted again


def test_recontract_at_spot() -> None:
    site = {
        "name": "A",
        "capacity_mw": 50,
        "power": {
            "contract": "fixed",
            "price_usd_per_mwh": 40,
            "terms": {
                "end_date": "2026-01-10",
                "recontract": "spot",
                "recontract_premium_usd_per_mwh": 2,
            },
        },
        "spot": {"median_usd_per_mwh": 60, "sigma": 0.4},
    }
    sc = build(base_doc(horizon_days=20, paths=250), fleet__sites=[site])
    res = simulate(sc, paths=250, seed=3)
    p = res.paths["contract_usd_per_mwh_site0"].to_numpy()
    s = res.paths["spot_usd_per_mwh_site0"].to_numpy()
    np.testing.assert_array_equal(p[:, 10:], s[:, 10:] + 2.0)


def test_end_date_needs_spot() -> None:
    site = {
        "name": "A",
        "capacity_mw": 50,
        "power": {
            "contract": "fixed",
            "price_usd_per_mwh": 40,
            "terms": {"end_date": "2026-01-10"},
        },
    }
    with pytest.raises(ValueError, match=r"re-contracting.*needs a spot price model"):
        build(base_doc(), fleet__sites=[site])


def test_spot_trend_moves_the_median() -> None:
    spec = _spot(
        sigma=0.0,
        trend=SpotTrendSpec(
            drift_per_year=0.05, long_run_median_usd_per_mwh=60, level_half_life_years=1.0
        ),
    )
    proc = SpotPowerProcess([(0, spec)], START)
    lm = proc.log_median_at(np.array([0, 365, 3652]))[:, 0]
    t = np.array([0, 365, 3652]) / 365.25
    want = np.log(60) + (np.log(40) - np.log(60)) * 2 ** (-t) + 0.05 * t
    np.testing.assert_allclose(lm, want)
    st = proc.init_state(1)
    lvl = proc.window(st, np.random.default_rng(0), 0, 32, {})["spot_usd_per_mwh:0"]
    assert np.isclose(lvl[0, 0], 40.0)


def test_escalated_ppa_costs_more_and_transmission_and_demand_charge_are_booked() -> None:
    base = base_doc(horizon_days=400, paths=250)
    flat = simulate(build(base), paths=250, seed=2)
    esc = build(base, fleet__sites__0__power__terms={"escalator_per_year": 0.10})
    esc_res = simulate(esc, paths=250, seed=2)
    c0 = flat.paths["power_cost_usd"].to_numpy()
    c1 = esc_res.paths["power_cost_usd"].to_numpy()
    np.testing.assert_array_equal(c0[:, :365], c1[:, :365])  # same draws, same first year
    e0 = flat.paths["energy_mwh"].to_numpy()[:, 365:]
    e1 = esc_res.paths["energy_mwh"].to_numpy()[:, 365:]
    # in year two every MWh costs 44 instead of 40
    np.testing.assert_allclose(c1[:, 365:][e1 > 0] / e1[e1 > 0], 44.0)
    np.testing.assert_allclose(c0[:, 365:][e0 > 0] / e0[e0 > 0], 40.0)
    charged = build(
        base,
        fleet__sites__0__grid_charges={
            "transmission_usd_per_mwh": 5.0,
            "demand_charge_usd_per_kw_month": 8.0,
        },
    )
    ch = simulate(charged, paths=250, seed=2)
    e = ch.paths["energy_mwh"].to_numpy()
    c = ch.paths["power_cost_usd"].to_numpy()
    np.testing.assert_allclose(c[e > 0] / e[e > 0], 45.0)
    dc = ch.paths["demand_charge_usd"].to_numpy()
    # every machine runs all day here: peak MW = energy / 24
    np.testing.assert_allclose(dc, 8.0 * 1000 * e / 24 * 12 / 365.25)
