"""The stochastic ASIC market (asic_market.dynamics): the price war, tier prices, lead times."""

from __future__ import annotations

import numpy as np
import pytest

from builders import base_doc, build
from hashfleet.engine.streams import BlockRNG
from hashfleet.market.asic_dynamics import AsicDynamics, tier_of
from hashfleet.runner import simulate
from hashfleet.scenario.asic import AsicDynamicsSpec


def test_index_recursion_without_noise() -> None:
    spec = AsicDynamicsSpec(
        new_price_sigma=0.0,
        tier_sigma=0.0,
        hashprice_lag_days=10,
        new_price_half_life_days=5,
        new_price_elasticity=0.8,
    )
    dyn = AsicDynamics(spec, 250, BlockRNG.for_chunk(1, 0, 1, "asic_dynamics"))
    hp = np.r_[0.05, np.full(99, 0.025)]  # hashprice halves on day 1
    lag, base, log_i = 0.05, 0.05, 0.0
    phi = 2 ** (-1 / 5)
    for d, h in enumerate(hp):
        dyn.step(np.full(250, h))
        lag = h if d == 0 else lag + (h - lag) / 10
        log_i = phi * log_i + (1 - phi) * 0.8 * np.log(lag / base)
    np.testing.assert_allclose(dyn.index, np.exp(log_i), rtol=1e-12)
    assert dyn.index[0] == pytest.approx(0.5**0.8, rel=0.02)  # near equilibrium after 100 d
    np.testing.assert_allclose(dyn.tier_factor, 1.0)


def test_tier_of_follows_the_bands() -> None:
    got = tier_of(np.array([15.0, 19.0, 24.9, 25.0, 37.9, 38.0, 80.0]), [19.0, 25.0, 38.0])
    np.testing.assert_array_equal(got, [0, 1, 1, 2, 2, 3, 3])


def test_tier_factors_are_mean_one_and_correlated() -> None:
    spec = AsicDynamicsSpec(tier_sigma=0.3, tier_correlation=0.6, tier_half_life_days=3)
    dyn = AsicDynamics(spec, 5000, BlockRNG.for_chunk(2, 0, 20, "asic_dynamics"))
    for _ in range(30):
        dyn.step(np.full(5000, 0.05))
    f = dyn.tier_factor
    np.testing.assert_allclose(f.mean(axis=0), 1.0, atol=0.03)  # 5000 paths: s.e. ~0.004
    c = np.corrcoef(np.log(f).T)
    assert np.all(np.abs(c[np.triu_indices(4, 1)] - 0.6) < 0.05)


def _doc(drift: float, **dyn: object) -> dict:
    d = base_doc(horizon_days=200, paths=250, volatility_per_year=0.0)
    d["market"]["btc_price"]["drift_per_year"] = drift
    d["network"]["hashrate"] = {"model": "growth", "growth_per_year": 0.0, "noise_sigma": 0.0}
    d["asic_market"] = {"dynamics": {"new_price_sigma": 0.0, "tier_sigma": 0.0, **dyn}}
    return d


def test_price_war_when_hashprice_falls_and_boom_when_it_rises() -> None:
    crash = simulate(build(_doc(-1.5)), paths=250, seed=1)
    boom = simulate(build(_doc(1.5)), paths=250, seed=1)
    ic = crash.paths["asic_new_price_index"].to_numpy()
    ib = boom.paths["asic_new_price_index"].to_numpy()
    # BTC −1.5/yr (×0.44 over 200 days), hashprice lagged 90 days, elasticity 0.8
    assert (ic[:, -1] < 0.9).all() and (ib[:, -1] > 1.1).all()
    assert (ic[:, -1] < ic[:, 100]).all() and (ic[:, 100] < ic[:, 10]).all()
    tiers = crash.paths[["asic_tier0_usd_per_th", "asic_tier3_usd_per_th"]]
    assert (tiers["asic_tier0_usd_per_th"] >= tiers["asic_tier3_usd_per_th"]).all()
    lf = boom.paths["asic_lead_time_factor"].to_numpy()
    assert lf[:, -1].min() > 1.2 and lf[:, 0].max() == pytest.approx(1.0)


def test_lead_time_lengthens_in_a_boom() -> None:
    """An order placed after hashprice has doubled arrives later than its nominal lead time."""
    order = {
        "model": "TestMiner",
        "site": "A",
        "units": 2000,
        "order_date": "2026-05-01",
        "lead_time_days": 56,
        "commissioning_days": 0,
        "price_usd_per_th": 10,
    }
    flat_doc = base_doc(horizon_days=260, paths=250, volatility_per_year=0.0)
    flat_doc["network"]["hashrate"] = {
        "model": "growth",
        "growth_per_year": 0.0,
        "noise_sigma": 0.0,
    }
    flat_doc["orders"] = [order]
    boom_doc = _doc(2.0, lead_time_elasticity=1.0)
    boom_doc["run"]["horizon_days"] = 260
    boom_doc["orders"] = [order]
    flat = simulate(build(flat_doc), paths=250, seed=1)
    boom = simulate(build(boom_doc), paths=250, seed=1)

    def arrival(res) -> int:  # type: ignore[no-untyped-def]
        bal = res.paths["capex_balance_usd"].to_numpy()[0]
        return int(np.flatnonzero(bal > 0)[0])

    order_day = 120  # 2026-05-01
    assert arrival(flat) == order_day + 56
    factor = boom.paths["asic_lead_time_factor"].to_numpy()[0, order_day - 1]
    assert factor > 1.3
    weeks = round((factor - 1) * 56 / 7)
    assert arrival(boom) == order_day + 56 + 7 * weeks


def test_without_dynamics_nothing_changes() -> None:
    d = _doc(-1.5)
    del d["asic_market"]
    res = simulate(build(d), paths=250, seed=1)
    assert "asic_new_price_index" not in res.paths
