"""ASIC prices: new price by age, secondary price from hashprice and efficiency, frontier."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from builders import CHAIN_2026
from hashfleet.engine.core import ChunkEngine
from hashfleet.fleet.catalogue import load_catalogue
from hashfleet.fleet.orders import desk_of
from hashfleet.market.asic import (
    build_frontier,
    new_price_usd_per_th,
    secondary_price_usd_per_th,
)
from hashfleet.model import compile_scenario
from hashfleet.scenario.schema import AsicMarketSpec, Scenario


def test_secondary_price_closed_form() -> None:
    """price = max(floor, (hp − e·p·24/1e6)·payback); efficient machines keep more value."""
    eff = np.array([15.0, 30.0, 60.0])
    hp = np.array([0.05, 0.03])
    got = secondary_price_usd_per_th(
        eff, hp, reference_power_usd_per_mwh=50, payback_days=365, floor_usd_per_th=0.5
    )
    cost = eff * 50 * 24 / 1e6  # 0.018, 0.036, 0.072 USD/TH/day
    want = np.maximum(np.maximum(hp[:, None] - cost[None, :], 0) * 365, 0.5)
    assert got == pytest.approx(want, rel=1e-14)
    assert got[0, 0] == pytest.approx((0.05 - 0.018) * 365)
    assert got[1, 2] == 0.5  # unprofitable at the reference price: scrap
    assert np.all(np.diff(got, axis=1) <= 0)


def test_new_price_declines_with_age() -> None:
    """list · (1 − δ)^(age/365.25); no decline before release."""
    got = new_price_usd_per_th(np.array([20.0, 20.0]), np.array([0.0, 100.0]), 365, 0.25)
    assert got[0] == pytest.approx(20 * 0.75 ** (365 / 365.25), rel=1e-14)
    assert got[1] == pytest.approx(20 * 0.75 ** (265 / 365.25), rel=1e-14)
    assert new_price_usd_per_th(np.array([20.0]), np.array([400.0]), 365, 0.25)[0] == 20.0


def test_frontier_generations() -> None:
    """Generation g at g·interval with efficiency e0·(1−i)^(t/365.25), e0 the best model
    released by the start."""
    cat = load_catalogue()
    start = dt.date(2026, 1, 1)
    spec = AsicMarketSpec.model_validate(
        {"frontier": {"generations": 3, "interval_months": 6, "improvement_per_year": 0.1}}
    )
    fr = build_frontier(spec, cat, start)
    released = [m for m in cat.models.values() if m.release_date and m.release_date <= start]
    e0 = min(m.power_w / m.hashrate_th_s for m in released)
    assert fr.efficiency_j_per_th[0] == pytest.approx(e0)
    days = np.round(np.arange(1, 4) * 6 * 365.25 / 12)
    assert fr.release_day[1:] == pytest.approx(days)
    assert fr.efficiency_j_per_th[1:] == pytest.approx(e0 * 0.9 ** (days / 365.25))
    assert [m.name for m in fr.models] == ["frontier-g1", "frontier-g2", "frontier-g3"]
    rel = np.tile(fr.release_day, (3, 1))
    assert fr.newest(rel, 0).tolist() == [0, 0, 0]
    assert fr.newest(rel, int(days[1])).tolist() == [2, 2, 2]


def _scenario(**asic: object) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "asic",
            "run": {"start": "2026-01-01", "horizon_days": 5, "paths": 500, "seed": 3},
            "network": {
                "start": CHAIN_2026,
            },
            "market": {"btc_price": {"model": "gbm", "start_usd": 88_000}},
            "fleet": {
                "sites": [
                    {
                        "name": "A",
                        "capacity_mw": 10,
                        "power": {"contract": "fixed", "price_usd_per_mwh": 40},
                    }
                ],
                "cohorts": [{"model": "Antminer S21", "site": "A", "units": 100}],
            },
            "asic_market": asic,
            "policies": {"upgrade": {"kind": "refresh_frontier", "budget_usd": 0}},
        }
    )


def test_random_release_delays_are_bounded_and_reproducible() -> None:
    """Per-path delays are uniform on [0, bound] and a function of the seed."""
    sc = _scenario(frontier={"generations": 2, "release_delay_max_days": 60})
    model = compile_scenario(sc)

    def delays(seed: int) -> np.ndarray:
        e = ChunkEngine(model, seed, 0, 2, lambda *a: None, record_events=False)
        return desk_of(e).frontier_release_day - desk_of(e).frontier.release_day

    d = delays(3)
    assert d.shape == (500, 3)
    assert np.all(d[:, 0] == 0) and np.all((d[:, 1:] >= 0) & (d[:, 1:] <= 60))
    assert d[:, 1:].mean() == pytest.approx(30, abs=3)  # mean 30, s.e. ~0.8
    assert np.array_equal(d, delays(3))
    assert not np.array_equal(d, delays(4))


def test_secondary_noise_is_mean_one() -> None:
    """With noise σ the secondary price is price·exp(σZ − σ²/2): mean over 500 paths × 5 days
    within 4 s.e. of the noiseless price (σ = 0.2: s.e. ≈ 0.4 %)."""
    sc = _scenario(noise_sigma=0.2)
    model = compile_scenario(sc)
    e = ChunkEngine(model, 3, 0, 2, lambda *a: None, record_events=False)
    desk = desk_of(e)
    ratios = []
    for day in range(1, 6):
        e.run_until(day)
        clean = desk.pricing.secondary(desk.hashprice_usd_per_th_day)
        ratios.append(desk.secondary_usd_per_th[:, 0] / clean[:, 0])
    r = np.concatenate(ratios)
    assert r.mean() == pytest.approx(1.0, abs=4 * 0.2 / np.sqrt(r.size))
    assert np.log(r).std() == pytest.approx(0.2, rel=0.05)


def test_frontier_of_a_catalogue_of_future_models() -> None:
    """No model released by the start: generation 0 is the earliest released one (no error,
    so such catalogues stay valid when no policy buys)."""
    from hashfleet.fleet.catalogue import Catalogue
    from hashfleet.scenario.schema import MinerModelSpec

    cat = Catalogue(
        {
            n: MinerModelSpec(name=n, hashrate_th_s=100, power_w=w, release_date=dt.date(y, 1, 1))
            for n, w, y in (("Late", 1000, 2031), ("Early", 2000, 2030))
        }
    )
    fr = build_frontier(AsicMarketSpec(), cat, dt.date(2026, 1, 1))
    assert fr.names == ("Early",)
    assert fr.efficiency_j_per_th[0] == 20.0
