"""The endogenous supply model: kernels, engine component, halving and price-crash responses."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from hashfleet.errors import ScenarioError
from hashfleet.network.hashrate import ZeroHashrateProcess, hashrate_ehs_for_difficulty
from hashfleet.network.supply import (
    VINTAGE_GRID_J_PER_TH,
    SupplyParams,
    break_even_usd_per_mwh,
    catalogue_frontier_j_per_th,
    initial_supply_state,
    supply_running_hs,
    supply_update,
    target_running_share,
    vintage_grid,
)
from hashfleet.network.supply_kernels import _deposit
from hashfleet.runner import simulate
from hashfleet.scenario.schema import EndogenousHashrateSpec, Scenario
from hashfleet.studies.backtest import halving_response

PARAMS = SupplyParams(
    power_cost_median_usd_per_mwh=60.0, power_cost_sigma=0.5, frontier_j_per_th=20.0
)


def scenario(
    hashrate: dict[str, Any] | None = None,
    *,
    start: str = "2023-01-01",
    days: int = 60,
    price: dict[str, Any] | None = None,
    blocks: str = "deterministic",
    paths: int = 250,
    **run: Any,
) -> Scenario:
    """A fleet-less scenario with the endogenous network."""
    return Scenario.model_validate(
        {
            "name": "supply-test",
            "run": {"start": start, "horizon_days": days, "paths": paths, "seed": 11} | run,
            "network": {
                "start": {"from_history": True},
                "hashrate": {"model": "endogenous"} | (hashrate or {}),
                "fees": {"model": "constant", "btc_per_block": 0.1},
                "blocks": blocks,
            },
            "market": {
                "btc_price": price
                or {"model": "gbm", "start_usd": 30_000, "volatility_per_year": 0.0}
            },
        }
    )


# ------------------------------------------------------------------ kernels


def test_break_even_power_price_closed_form() -> None:
    """1 TH/s at 25 J/TH draws 0.6 MWh/day; at 60 USD/(PH/s)/day it earns 0.06 USD/day."""
    be = break_even_usd_per_mwh(np.array([60.0]), np.array([25.0]))
    assert be.shape == (1, 1)
    assert be[0, 0] == pytest.approx(0.06 / (25 * 86400 / 3.6e9), rel=1e-12)


def test_running_share_is_the_lognormal_cdf_and_monotone() -> None:
    """Share = Φ((log c* − log median)/σ), rising in hashprice, falling in J/TH (exact)."""
    hp = np.array([20.0, 50.0, 120.0])
    share = target_running_share(PARAMS, hp)
    be = break_even_usd_per_mwh(hp, PARAMS.grid_j_per_th)
    expected = norm.cdf((np.log(be) - np.log(60.0)) / 0.5)
    np.testing.assert_allclose(share, expected, rtol=1e-12, atol=1e-15)
    assert np.all(np.diff(share, axis=0) >= 0)  # more hashprice, more running
    assert np.all(np.diff(share, axis=1) <= 0)  # less efficient, less running


def test_deposit_conserves_capacity_between_neighbours() -> None:
    """Capacity lands on the two neighbouring buckets, log-linearly, and sums to the input."""
    grid = VINTAGE_GRID_J_PER_TH
    e = np.sqrt(grid[10] * grid[11])
    w = _deposit(grid, np.array([e]), np.array([3.0]))
    assert w.sum() == pytest.approx(3.0)
    assert w[10] == pytest.approx(1.5) and w[11] == pytest.approx(1.5)
    assert np.count_nonzero(w) == 2


def test_initial_state_runs_the_starting_hashrate() -> None:
    """Installed base × running share = the starting rest-of-network hashrate (1e-12)."""
    rest = np.array([4e20, 5e20])
    hp = np.array([60.0, 60.0])
    st = initial_supply_state(PARAMS, rest, hp)
    running = np.einsum("pv,pv->p", st.installed_hs, st.running_share)
    np.testing.assert_allclose(running, rest, rtol=1e-12)
    assert np.all(st.installed_total_hs > rest)  # some capacity is idle
    assert st.pipeline_hs.shape == (2, PARAMS.lead_time_days)


def test_update_orders_arrive_after_the_lead_time_at_the_frontier() -> None:
    """An order placed on day 0 is installed on day L at the frontier of that day."""
    p = SupplyParams(
        power_cost_median_usd_per_mwh=60.0,
        power_cost_sigma=0.5,
        frontier_j_per_th=20.0,
        lead_time_days=5,
        investment_margin_threshold=-1.0,
        retirement_rate_per_year=0.0,
    )
    st = initial_supply_state(p, np.array([5e20]), np.array([60.0]))
    st.pipeline_hs[:] = 0.0
    before = st.installed_hs.copy()
    supply_update(st, p, 0, np.array([60.0]))
    order = st.orders_hs.copy()
    assert order[0] > 0
    for day in range(1, 5):
        supply_update(st, p, day, np.array([60.0]))
    grid_before = st.installed_hs.copy()
    supply_update(st, p, 5, np.array([60.0]))
    added = st.installed_hs - grid_before
    assert added.sum() == pytest.approx(order[0], rel=1e-9)
    e_mean = np.exp((added[0] * np.log(p.grid_j_per_th)).sum() / added.sum())
    assert e_mean == pytest.approx(float(p.frontier(6)), rel=1e-9)
    assert np.all(st.installed_hs >= before - 1e-6)


def test_trimmed_vintage_grid_changes_nothing_but_rounding() -> None:
    """The buckets a run can fill (``vintage_grid``) give the same rest-of-network path as
    the full 56-bucket grid — running and installed hashrate within 1e-12 relative over 400
    days of orders, arrivals, retirement and a moving frontier, 20 %/year improvement — and
    a grid trimmed one bucket too far at the frontier end would not (it would clip deposits)."""
    horizon = 400
    trimmed = vintage_grid(20.0, 0.2, PARAMS.max_age_years, horizon)
    assert 10 < trimmed.size < VINTAGE_GRID_J_PER_TH.size
    rng = np.random.default_rng(3)
    hp = 60.0 * np.exp(rng.normal(0.0, 0.3, (horizon, 4)).cumsum(axis=0) * 0.1)

    def run(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = dataclasses.replace(PARAMS, grid_j_per_th=grid, investment_margin_threshold=-0.5)
        st = initial_supply_state(p, np.full(4, 5e20), hp[0])
        running, installed = [], []
        for d in range(horizon):
            running.append(supply_running_hs(st, p, hp[d]))
            supply_update(st, p, d, hp[d])
            installed.append(st.installed_total_hs)
        return np.array(running), np.array(installed)

    full_r, full_i = run(VINTAGE_GRID_J_PER_TH)
    trim_r, trim_i = run(trimmed)
    np.testing.assert_allclose(trim_r, full_r, rtol=1e-12)
    np.testing.assert_allclose(trim_i, full_i, rtol=1e-12)
    short_r, _ = run(trimmed[2:])  # drops the buckets the late frontier falls into
    assert not np.allclose(short_r, full_r, rtol=1e-12)


def test_long_idle_capacity_retires() -> None:
    """At a hashprice where old vintages are idle, their capacity shrinks; efficient ones stay."""
    p = SupplyParams(
        power_cost_median_usd_per_mwh=60.0,
        power_cost_sigma=0.3,
        frontier_j_per_th=20.0,
        retirement_rate_per_year=2.0,
        investment_rate_per_year=0.0,
    )
    st = initial_supply_state(p, np.array([5e20]), np.array([60.0]))
    start = st.installed_hs.copy()
    for day in range(365):
        supply_running_hs(st, p, np.array([60.0]))
        supply_update(st, p, day, np.array([60.0]))
    ratio = st.installed_hs[0] / np.maximum(start[0], 1e-300)
    old = p.grid_j_per_th > 80  # break-even ~ 31 USD/MWh: idle
    new = (p.grid_j_per_th < 20) & (start[0] > 0)
    assert ratio[old & (start[0] > 0)].max() < 0.3
    assert ratio[new].min() > 0.95


def test_frontier_from_the_catalogue() -> None:
    """The best shipped model released by a date (S9 98 J/TH in 2017, S19 XP Hyd ...)."""
    assert catalogue_frontier_j_per_th(dt.date(2017, 1, 1), 0.2) == pytest.approx(98.0)
    assert catalogue_frontier_j_per_th(dt.date(2024, 2, 1), 0.2) == pytest.approx(16.0)
    assert catalogue_frontier_j_per_th(dt.date(2015, 6, 1), 0.2) > 98.0


# ------------------------------------------------------------------ schema and engine


def test_endogenous_spec_validation_errors_name_the_field() -> None:
    """Bad values are ScenarioErrors naming the field."""
    from hashfleet.scenario.loader import load_scenario_text

    text = """
name: x
run: {start: 2023-01-01, horizon_days: 5}
network:
  hashrate: {model: endogenous, power_cost_sigma: -1}
"""
    with pytest.raises(ScenarioError, match="power_cost_sigma"):
        load_scenario_text(text)


def test_endogenous_process_placeholder_draws_nothing() -> None:
    """The exogenous slot compiles to zeros (the component provides the hashrate)."""
    proc = ZeroHashrateProcess()
    out = proc.window(proc.init_state(3), np.random.default_rng(0), 0, 4, {})
    assert out["network_hashrate_ehs"].shape == (3, 4) and not out["network_hashrate_ehs"].any()


def test_day0_network_is_the_difficulty_rate_and_chunking_is_invariant() -> None:
    """Day 0 hashrate = D·2^32/600; with random shocks, chunked and whole runs are identical."""
    sc = scenario(
        {"shock_rate_per_year": 20.0},
        days=40,
        blocks="poisson",
        paths=500,
        outputs={"store_paths": True},
    )
    whole = simulate(sc)
    chunked = simulate(sc, chunk_paths=250)
    assert whole.paths is not None and chunked.paths is not None
    for v in ("network_hashrate_ehs", "difficulty", "rest_offline_share", "rest_installed_ehs"):
        assert np.array_equal(whole.paths[v].values, chunked.paths[v].values), v
    d0 = whole.paths["difficulty"].values[0, 0]
    h0 = whole.paths["network_hashrate_ehs"].values[:, 0]
    # day 0 runs at the epoch's difficulty before any retarget of the day
    assert h0 == pytest.approx(hashrate_ehs_for_difficulty(d0), rel=0.05)
    assert np.ptp(h0) == 0.0
    assert (whole.paths["rest_offline_share"].values > 0).any()


def test_scheduled_shock_takes_its_share_offline() -> None:
    """A 30 % shock on day 10 lowers the hashrate ~30 % (±3 %) that day; it comes back."""
    sc = scenario({"shocks": [{"date": "2023-01-11", "share": 0.3}]}, days=80)
    h = simulate(sc).daily["network_hashrate_ehs_mean"].values
    assert h[10] / h[9] == pytest.approx(0.7, abs=0.03)
    assert h[79] > 0.9 * h[9]


def _flat_price_run(start: str, price: float, days: int) -> np.ndarray:
    sc = scenario(
        start=start,
        days=days,
        price={"model": "gbm", "start_usd": price, "volatility_per_year": 0.0},
    )
    return simulate(sc).daily["network_hashrate_ehs_mean"].values


@pytest.mark.parametrize(
    ("halving", "start", "price", "real_dip"),
    [("2020-05-11", "2020-02-01", 8_600.0, -0.226), ("2024-04-20", "2024-01-20", 65_000.0, -0.12)],
)
def test_halving_with_flat_price_dips_and_recovers(
    halving: str, start: str, price: float, real_dip: float
) -> None:
    """Flat price at the halving's real level: the hashrate dips by 5–40 % (history: −22.6 %
    in 2020, −12.0 % in 2024, 7-day means vs the 14 days before) within 5–90 days, and
    recovers: 250 days after the halving it is ≥ 5 % above the trough."""
    days = 360
    h = _flat_price_run(start, price, days)
    i = (dt.date.fromisoformat(halving) - dt.date.fromisoformat(start)).days
    depth, when = halving_response(h, i)
    assert -0.40 < depth < -0.05, depth
    assert abs(depth - real_dip) < 0.15
    assert 5 <= when <= 90, when
    trough = pd.Series(h).rolling(7, center=True, min_periods=1).mean().to_numpy()[i + when]
    assert h[i + 250] > 1.05 * trough


def test_price_crash_gives_a_lagged_fall(tmp_path: Path) -> None:
    """Price −50 % on day 60: the hashrate falls ≥ 10 %, its minimum comes 10–90 days after
    the crash, and the first day after it carries less than a quarter of the fall."""
    days = 200
    price = np.r_[np.full(60, 30_000.0), np.full(days - 60, 15_000.0)]
    f = tmp_path / "crash.csv"
    pd.DataFrame(
        {"date": pd.date_range("2023-01-01", periods=days).strftime("%Y-%m-%d"), "price_usd": price}
    ).to_csv(f, index=False)
    h = (
        simulate(scenario(days=days, price={"model": "csv", "path": str(f)}))
        .daily["network_hashrate_ehs_mean"]
        .values
    )
    pre = h[59]
    low = int(np.argmin(h[60:])) + 60
    assert h[low] < 0.9 * pre
    assert pre - h[61] < 0.25 * (pre - h[low])
    assert 70 <= low <= 150


def test_spec_defaults_are_finite_and_documented() -> None:
    """Every fitted field has a unit or a description (the reference is generated from it)."""
    fields = EndogenousHashrateSpec.model_fields
    assert all(f.description for k, f in fields.items() if k != "model")
