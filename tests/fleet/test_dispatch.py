"""Fleet dispatch: site capacity in every hour, the flat-price fast path, modes and metrics."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import CHAIN_2026
from hashfleet.fleet.catalogue import load_catalogue
from hashfleet.fleet.machines import choose_best_modes
from hashfleet.fleet.operations import FleetState, compile_fleet, dispatch
from hashfleet.market.power import HOURS, spot_output
from hashfleet.runner import simulate
from hashfleet.scenario.schema import FleetSpec, Scenario

START = dt.date(2026, 7, 1)  # a July Wednesday: coincident-peak windows apply
MODELS = [
    {"name": "A", "hashrate_th_s": 200, "power_w": 3500},
    {"name": "B", "hashrate_th_s": 120, "power_w": 3300},
    {"name": "C", "hashrate_th_s": 300, "power_w": 4500},
]

contracts = st.sampled_from(["fixed", "hosted", "tou", "index", "sell_back"])


@st.composite
def fleets(draw: Any) -> tuple[dict[str, Any], int]:
    """A random fleet section (1-3 sites, 1-6 cohorts, mixed contracts and programmes)."""
    n_sites = draw(st.integers(1, 3))
    sites = []
    for i in range(n_sites):
        kind = draw(contracts)
        power: dict[str, Any] = {
            "fixed": {"contract": "fixed", "price_usd_per_mwh": 40},
            "hosted": {"contract": "hosted", "price_usd_per_kwh": 0.06},
            "tou": {"contract": "tou", "peak_usd_per_mwh": 150, "offpeak_usd_per_mwh": 30},
            "index": {"contract": "index", "adder_usd_per_mwh": 4},
            "sell_back": {"contract": "fixed", "price_usd_per_mwh": 35, "sell_back": True},
        }[kind]
        s: dict[str, Any] = {
            "name": f"S{i}",
            "capacity_mw": draw(st.floats(0.5, 60)),
            "pue": draw(st.floats(1.0, 1.5)),
            "power": power,
            "spot": {"median_usd_per_mwh": 40, "intraday": "hourly"},
        }
        progs: dict[str, Any] = {}
        if draw(st.booleans()):
            progs["demand_response"] = {
                "enrolled_mw": 1,
                "call_price_usd_per_mwh": draw(st.floats(20, 500)),
                "energy_usd_per_mwh": 30,
            }
        if draw(st.booleans()):
            progs["coincident_peak"] = {"charge_usd_per_kw_year": 40}
        s["programmes"] = progs
        sites.append(s)
    cohorts = [
        {
            "model": draw(st.sampled_from(["A", "B", "C"])),
            "site": f"S{draw(st.integers(0, n_sites - 1))}",
            "units": draw(st.integers(1, 20_000)),
            "mode": draw(st.sampled_from(["stock", "underclock", "overclock", "best"])),
        }
        for _ in range(draw(st.integers(1, 6)))
    ]
    return {"models": MODELS, "sites": sites, "cohorts": cohorts}, n_sites


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(fleets(), st.integers(0, 2**32 - 1))
def test_site_power_never_exceeds_capacity_in_any_hour(spec_n: Any, seed: int) -> None:
    """Random fleets, capacities, contracts, programmes, failures, revenue and hourly prices
    (lognormal with spikes up to the cap): the highest hourly draw of every site on every
    path is at most its capacity, run shares are in [0, 1] and the energy at most 24 h ×
    capacity."""
    spec_d, n_sites = spec_n
    spec = FleetSpec.model_validate(spec_d)
    fleet = compile_fleet(spec, load_catalogue(spec.catalogue, extra=spec.models), START)
    rng = np.random.default_rng(seed)
    n_paths = 16
    state = FleetState.empty(fleet, n_paths)
    state.installed_units[:] = fleet.units * rng.uniform(0.0, 1.5, (n_paths, fleet.n_cohorts))
    state.down_units[:] = np.floor(
        state.installed_units * rng.uniform(0, 0.5, state.installed_units.shape)
    )
    state.refresh()
    revenue = rng.uniform(0.0, 0.3, n_paths)  # USD/TH/day: from deep curtailment to full run
    today: dict[str, Any] = {}
    for s in range(n_sites):
        level = np.exp(rng.normal(np.log(40), 1.0, n_paths))
        today[spot_output(s)] = level
        hours = level[:, None] * np.exp(rng.normal(0, 1.0, (n_paths, HOURS)))
        for h in range(HOURS):
            today[spot_output(s, h)] = np.minimum(hours[:, h], 5000.0)
    if fleet.mode_options:
        assert fleet.power is not None
        choose_best_modes(state, revenue, fleet.power.day_price(today, n_paths))
    d = dispatch(state, revenue, today, day=0)
    cap = fleet.site_capacity_mw
    assert np.all(d.site_power_mw <= cap[None, :] * (1 + 1e-12) + 1e-12)
    assert np.all(d.energy_mwh <= 24 * cap.sum() * (1 + 1e-12))
    assert np.all(np.isfinite(d.power_cost_usd)) and np.all(d.energy_mwh >= 0)
    assert np.all(state.available_mw.sum(axis=1) <= cap.sum() * (1 + 1e-12))


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    """A small random scenario over the random fleets (closed-form and hourly spot sites)."""
    fleet, _ = draw(fleets())
    for site in fleet["sites"]:
        site["spot"]["intraday"] = draw(st.sampled_from(["closed_form", "hourly"]))
        site["spot"]["sigma"] = draw(st.floats(0.0, 1.0))
        site["spot"]["jump_rate_per_year"] = draw(st.floats(0.0, 50.0))
    for c in fleet["cohorts"]:
        if draw(st.booleans()):
            c["failures"] = {"rate_per_year": 5.0, "repair_days": 3, "spares_units": 10}
    return {
        "name": "property",
        "run": {
            "start": "2026-06-29",
            "horizon_days": 8,
            "paths": 250,
            "seed": draw(st.integers(0, 999)),
        },
        "network": BASE["network"],
        "market": {
            "btc_price": {
                "model": "gbm",
                "start_usd": draw(st.floats(20_000, 300_000)),
                "volatility_per_year": 1.0,
            }
        },
        "fleet": fleet,
    }


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(scenarios())
def test_simulated_site_load_never_exceeds_capacity(d: dict[str, Any]) -> None:
    """End to end over random scenarios: on every path and day the highest hourly draw of
    every site is within its capacity (``max_site_load_share`` ≤ 1)."""
    d["run"]["outputs"] = {"store_paths": True}
    r = simulate(Scenario.model_validate(d))
    assert float(r.paths["max_site_load_share"].max()) <= 1.0 + 1e-9


def test_flat_price_fleet_takes_the_daily_fast_path() -> None:
    """Only fixed/hosted contracts: dispatch is the daily comparison and one matrix product —
    a cohort runs all day iff its revenue covers efficiency × PUE × 24 h × price."""
    spec = FleetSpec.model_validate(
        {
            "models": MODELS,
            "sites": [
                {"name": "F", "capacity_mw": 100, "pue": 1.1, "power": {"price_usd_per_mwh": 50}},
                {
                    "name": "H",
                    "capacity_mw": 100,
                    "power": {"contract": "hosted", "price_usd_per_kwh": 0.07},
                },
            ],
            "cohorts": [
                {"model": "A", "site": "F", "units": 1000},
                {"model": "B", "site": "F", "units": 1000},
                {"model": "A", "site": "H", "units": 1000},
            ],
        }
    )
    fleet = compile_fleet(spec, load_catalogue(spec.catalogue, extra=spec.models), START)
    assert fleet.power is not None and fleet.power.all_simple
    state = FleetState.empty(fleet, 3)
    state.installed_units[:] = fleet.units
    state.refresh()
    # USD/TH/day: A at F 17.5 J/TH × 1.1 × 24 h × 50/1e6 = 0.0231; A at H 17.5 × 1.05 × 24
    # × 70/1e6 = 0.03087; B at F 27.5 × 1.1 × 24 × 50/1e6 = 0.0363
    revenue = np.array([0.025, 0.031, 0.040])
    d = dispatch(state, revenue)
    a_f, a_h, b_f = 3.5 * 1.1, 3.5 * 1.05, 3.3 * 1.1  # MW of 1,000 units incl. PUE
    np.testing.assert_allclose(d.energy_mwh, [24 * a_f, 24 * (a_f + a_h), 24 * (a_f + a_h + b_f)])
    cost_f, cost_h = 24 * 50, 24 * 70
    np.testing.assert_allclose(
        d.power_cost_usd,
        [a_f * cost_f, a_f * cost_f + a_h * cost_h, (a_f + b_f) * cost_f + a_h * cost_h],
    )


@pytest.mark.parametrize("intraday", ["hourly", "closed_form"])
def test_hour_level_and_flat_sites_are_costed_once(intraday: str) -> None:
    """A resale site whose spot stays far below the strike behaves like its PPA, next to a
    flat site: every cohort runs all day, energy and power cost are the sums of the two
    sites by hand (a site counted both at its flat price and hour by hour would double it),
    resale earns nothing and each site's peak load is its own MW."""
    spec = FleetSpec.model_validate(
        {
            "models": MODELS,
            "sites": [
                {
                    "name": "R",
                    "capacity_mw": 100,
                    "pue": 1.1,
                    "power": {"contract": "fixed", "price_usd_per_mwh": 35, "sell_back": True},
                    "spot": {
                        "median_usd_per_mwh": 1.0,
                        "sigma": 0.0,
                        "intraday_sigma": 0.1,
                        "intraday": intraday,
                    },
                },
                {"name": "F", "capacity_mw": 100, "power": {"price_usd_per_mwh": 50}},
            ],
            "cohorts": [
                {"model": "A", "site": "R", "units": 1000},
                {"model": "C", "site": "F", "units": 1000},
            ],
        }
    )
    fleet = compile_fleet(spec, load_catalogue(spec.catalogue, extra=spec.models), START)
    state = FleetState.empty(fleet, 2)
    state.installed_units[:] = fleet.units
    state.refresh()
    today: dict[str, Any] = {spot_output(0): np.full(2, 1.0)}
    for h in range(HOURS):
        today[spot_output(0, h)] = np.full(2, 1.0)
    d = dispatch(state, np.array([0.5, 0.6]), today, day=0)
    r_mw, f_mw = 3.5 * 1.1, 4.5 * 1.05  # MW of 1,000 units incl. PUE
    np.testing.assert_allclose(d.energy_mwh, 24 * (r_mw + f_mw))
    np.testing.assert_allclose(d.power_cost_usd, 24 * (35 * r_mw + 50 * f_mw))
    np.testing.assert_allclose(d.credits_usd["sell_back_usd"], 0.0, atol=1e-6)
    np.testing.assert_allclose(d.site_power_mw, [[r_mw, f_mw]] * 2)


BASE: dict[str, Any] = {
    "name": "dispatch-test",
    "run": {"start": "2026-01-01", "horizon_days": 20, "paths": 250, "seed": 5},
    "network": {
        "start": CHAIN_2026,
    },
    "market": {"btc_price": {"model": "gbm", "start_usd": 90_000, "volatility_per_year": 0.3}},
    "fleet": {
        "models": MODELS,
        "sites": [{"name": "S", "capacity_mw": 100, "power": {"price_usd_per_mwh": 20}}],
        "cohorts": [{"model": "A", "site": "S", "units": 5000, "mode": "overclock"}],
    },
}


def run(**site: Any) -> Any:
    d = copy.deepcopy(BASE)
    d["fleet"]["sites"][0].update(site)
    return simulate(Scenario.model_validate(d))


def test_operating_mode_sets_hashrate_power_and_j_per_th() -> None:
    """Overclock (1.15× hashrate, 1.32× power): running hashrate 5000 × 230 TH/s, fleet J/TH
    = 3500·1.32/(200·1.15), uptime 1 and no curtailed hours when power is cheap."""
    r = run()
    p = r.per_path
    assert np.allclose(p["final_fleet_hashrate_ehs"], 5000 * 200 * 1.15 / 1e6)
    assert np.allclose(p["final_fleet_j_per_th"], 3500 * 1.32 / (200 * 1.15))
    assert np.allclose(p["final_uptime"], 1.0)
    assert np.allclose(p["final_curtailed_hours"], 0.0)


def test_metrics_when_power_is_too_dear() -> None:
    """At 5,000 USD/MWh nothing runs: uptime 0, 24 curtailed hours, no energy."""
    r = run(power={"price_usd_per_mwh": 5000})
    p = r.per_path
    assert np.allclose(p["final_uptime"], 0.0)
    assert np.allclose(p["final_curtailed_hours"], 24.0)
    assert np.allclose(p["total_energy_mwh"], 0.0)


def test_best_mode_follows_the_power_price() -> None:
    """``mode: best`` picks, per path and day, the mode with the highest margin per unit:
    overclock when power is nearly free (5 USD/MWh), underclock when it is dear but still
    worth running (80 USD/MWh at a hashprice near 0.047 USD/TH/day: underclock beats stock
    above ~1,400 × revenue and runs below ~2,700 × revenue).  J/TH shows the choice; a
    path whose revenue fell below every mode's cost is idle (J/TH 0)."""
    best = {"fleet": {"cohorts": [{"model": "A", "site": "S", "units": 5000, "mode": "best"}]}}
    cheap = run_with(best, price=5)
    np.testing.assert_allclose(cheap.per_path["final_fleet_j_per_th"], 3500 * 1.32 / (200 * 1.15))
    dear = run_with(best, price=80)
    jpt, up = dear.per_path["final_fleet_j_per_th"].values, dear.per_path["final_uptime"].values
    under = 3500 * 0.68 / (200 * 0.8)
    assert np.all(np.isclose(jpt, under) | (jpt == 0)) and np.isclose(jpt, under).mean() > 0.9
    assert np.all(np.isclose(up, 0.8) | (up == 0))  # underclock hashes 0.8 of installed


def test_best_mode_at_an_index_site_is_chosen_hour_by_hour() -> None:
    """Index power at a spot level of 100 USD/MWh with wide hours (σ = 1) and a payout of
    0.05 USD/TH/day: on the day's average price underclock looks best (margins per unit
    2.29 / 1.60 / 0.41 USD for under/stock/over), but a unit runs only in the hours it
    covers, and there overclock earns most.  The choice matches a brute-force reference —
    each mode's mean margin over 20,000 simulated days of 24 lognormal hours, the mode
    running in the hours it covers (the reference's margins are 3.90 / 4.37 / 4.53 ± 0.02)."""
    spec = FleetSpec.model_validate(
        {
            "models": MODELS,
            "sites": [
                {
                    "name": "X",
                    "capacity_mw": 100,
                    "pue": 1.0,
                    "power": {"contract": "index", "adder_usd_per_mwh": 0},
                    "spot": {
                        "median_usd_per_mwh": 100,
                        "intraday_sigma": 1.0,
                        "diurnal_amplitude": 0.0,
                    },
                }
            ],
            "cohorts": [{"model": "A", "site": "X", "units": 1000, "mode": "best"}],
        }
    )
    fleet = compile_fleet(spec, load_catalogue(spec.catalogue, extra=spec.models), START)
    state = FleetState.empty(fleet, 3)
    state.installed_units[:] = fleet.units
    state.refresh()
    assert fleet.power is not None
    revenue = np.full(3, 0.05)
    today = {spot_output(0): np.full(3, 100.0)}
    choose_best_modes(state, revenue, fleet.power.day_price(today, 3), today, day=0)
    assert state.mode_th is not None
    np.testing.assert_allclose(state.mode_th[:, 0], 1.15)  # overclock on every path
    # day-average rule (no hours given): underclock
    choose_best_modes(state, revenue, fleet.power.day_price(today, 3))
    np.testing.assert_allclose(state.mode_th[:, 0], 0.8)
    # brute force: mean margin per unit over sampled hours, running where the hour pays
    rng = np.random.default_rng(3)
    hours = 100.0 * np.exp(rng.normal(0.0, 1.0, (20_000, HOURS)) - 0.5)
    th = 200 * np.array([0.8, 1.0, 1.15])
    mw = 3500e-6 * np.array([0.68, 1.0, 1.32])
    b = 0.05 * th / mw / HOURS  # revenue per MWh at the meter
    margin = [(np.maximum(b[m] - hours, 0.0).sum(axis=1) * mw[m]).mean() for m in range(3)]
    assert int(np.argmax(margin)) == 2
    np.testing.assert_allclose(margin, [3.903, 4.372, 4.533], atol=0.05)


def run_with(changes: dict[str, Any], price: float) -> Any:
    d = copy.deepcopy(BASE)
    d["fleet"].update(changes["fleet"])
    d["fleet"]["sites"][0]["power"] = {"price_usd_per_mwh": price}
    return simulate(Scenario.model_validate(d))


def test_unknown_mode_is_a_clear_error() -> None:
    """A mode that is neither built in nor listed names the field and the choices."""
    d = copy.deepcopy(BASE)
    d["fleet"]["cohorts"][0]["mode"] = "turbo"
    with pytest.raises(ValueError, match="mode: expected one of"):
        Scenario.model_validate(d)
    d["fleet"]["cohorts"][0]["modes"] = [
        {"name": "turbo", "hashrate_scale": 1.3, "power_scale": 1.6}
    ]
    Scenario.model_validate(d)
