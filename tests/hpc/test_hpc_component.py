"""HpcComponent end to end on the baseline scenario, run with ChunkEngines as the runner does."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from hpc_helpers import project, run_engine, spec

from hashfleet.engine.core import ChunkEngine
from hashfleet.fleet.operations import FleetState
from hashfleet.hpc.component import HpcRun, hpc_run_of, paired_difference
from hashfleet.scenario.trust import ENV_ALLOW_CODE

DALTON = "Dalton GA"  # baseline site 1: 250 MW, 245 MW of machines
USES = ("mining", "converting", "leased", "idle", "reconverting")
KEEP = (
    "btc_price_usd",
    "cash_usd",
    "fleet_hashrate_ehs",
    "hpc_rent_usd",
    "capex_hpc_usd",
    "hpc_noi_usd",
    "hpc_noi_share",
    "mining_margin_usd",
    *(f"hpc_{u}_mw" for u in USES),
    *(f"hpc_{u}_mw_site1" for u in USES),
)


def _dalton(**kw: object) -> dict:
    base = project(
        name="dalton",
        site=DALTON,
        start_date="2026-02-01",
        it_ratio=0.7,
        phases=[
            {"gross_mw": 60.0, "build_days": 120},
            {"gross_mw": 40.0, "build_days": 120, "start_offset_days": 60},
        ],
        delay_days={"kind": "lognormal", "median": 20, "sigma": 0.5},
        overrun_share={"kind": "uniform", "low": 0.0, "high": 0.3},
    )
    return base | kw


def _site_mw(e: ChunkEngine, site: int) -> np.ndarray:
    f = e.service(FleetState)
    return (f.installed_units * f.fleet.unit_mw)[:, f.fleet.site == site].sum(axis=1)


def test_mining_stops_on_converted_mw_and_mw_is_conserved() -> None:
    s = spec([_dalton()], lease={"rent_usd_per_mw_year": 1.8e6, "term_months": 120})
    checked = []

    def check(e: ChunkEngine, day: int) -> None:
        mining = hpc_run_of(e).state.mw_by_use(day)[:, 1, 0]
        assert (_site_mw(e, 1) <= mining + 1e-6).all()
        checked.append(day)

    out, _ = run_engine(s, horizon_days=400, keep=KEEP, on_day=check)
    assert len(checked) == 400
    total = sum(out[f"hpc_{u}_mw"] for u in USES)
    np.testing.assert_allclose(total, 1000.0)
    np.testing.assert_allclose(sum(out[f"hpc_{u}_mw_site1"] for u in USES), 250.0)
    assert (out["hpc_mining_mw_site1"][:31] == 250).all()  # works start 2026-02-01 = day 31
    assert (out["hpc_converting_mw_site1"][31] == 100).all()  # all at once
    assert out["fleet_hashrate_ehs"][40].mean() < out["fleet_hashrate_ehs"][20].mean()
    assert out["hpc_leased_mw_site1"][399].min() == 100.0
    assert out["hpc_rent_usd"].sum(axis=0).min() > 0
    noi, mining = out["hpc_noi_usd"][-365:].sum(axis=0), out["mining_margin_usd"][-365:].sum(axis=0)
    np.testing.assert_allclose(out["hpc_noi_share"][-1], noi / (noi + mining))
    assert out["capex_hpc_usd"].sum(axis=0) == pytest.approx(
        out["capex_hpc_usd"].sum(axis=0).mean(), rel=0.2
    )  # budget 70 MW-IT × 9 M$ × (1 + U(0, 0.3))
    assert out["capex_hpc_usd"].sum(axis=0).min() >= 70 * 9e6
    assert out["capex_hpc_usd"].sum(axis=0).max() <= 70 * 9e6 * 1.3 + 1


def test_same_results_whatever_the_chunking() -> None:
    s = spec(
        [_dalton()],
        lease={"rent_usd_per_mw_year": 1.8e6, "term_months": 12},
        default={"annual_rate": 0.5, "driver": "btc_drawdown", "driver_sensitivity": 3.0},
        release={"delay_days": {"kind": "uniform", "low": 10, "high": 90}},
    )
    one, e1 = run_engine(s, paths_blocks=2, chunks=1, horizon_days=500, keep=KEEP)
    two, e2 = run_engine(s, paths_blocks=2, chunks=2, horizon_days=500, keep=KEEP)
    for k in KEEP:
        np.testing.assert_array_equal(one[k], two[k], err_msg=k)
    ev1 = hpc_run_of(e1[0]).events()
    ev2 = [hpc_run_of(e).events() for e in e2]
    assert len(ev1["path"]) == sum(len(e["path"]) for e in ev2) > 0
    key = lambda ev: sorted(zip(ev["path"], ev["time_days"], ev["kind"], strict=True))  # noqa: E731
    assert key(ev1) == sorted(key(ev2[0]) + key(ev2[1]))
    irr = np.vstack([hpc_run_of(e).project_irr_per_year() for e in e2])
    np.testing.assert_array_equal(hpc_run_of(e1[0]).project_irr_per_year(), irr)
    paid = np.vstack([hpc_run_of(e).state.capex_paid_usd for e in e2])
    np.testing.assert_allclose(paid.sum(axis=1), one["capex_hpc_usd"].sum(axis=0))


def test_option_value_is_a_paired_difference_under_common_random_numbers() -> None:
    s = spec([_dalton()], lease={"rent_usd_per_mw_year": 1.8e6, "term_months": 120})
    with_hpc, _ = run_engine(s, horizon_days=300, keep=KEEP)
    mining_only, _ = run_engine(None, horizon_days=300, keep=("btc_price_usd", "cash_usd"))
    np.testing.assert_array_equal(with_hpc["btc_price_usd"], mining_only["btc_price_usd"])
    value = paired_difference(with_hpc["cash_usd"][-1], mining_only["cash_usd"][-1])
    assert value.shape == (250,) and (value < 0).all()  # capex spent, halls not yet paying


def test_sold_machines_are_booked_and_stored_ones_return_after_reconversion() -> None:
    sold, _ = run_engine(
        spec(
            [_dalton(displaced="sell", delay_days={"kind": "fixed", "value": 0})],
            lease={"rent_usd_per_mw_year": 1.8e6, "term_months": 120},
        ),
        horizon_days=60,
        keep=("asset_sales_usd",),
    )
    assert (sold["asset_sales_usd"][31] > 0).all() and sold["asset_sales_usd"][:31].sum() == 0

    s = spec(
        [
            _dalton(
                delay_days={"kind": "fixed", "value": 0},
                phases=[{"gross_mw": 100, "build_days": 30}],
            )
        ],
        lease={"rent_usd_per_mw_year": 1.8e6, "term_months": 120},
        default={"forced_month": 2},
        after_default="reconvert",
        reconversion={"capex_usd_per_mw": 100_000, "delay_days": {"kind": "fixed", "value": 40}},
    )
    site_mw: dict[int, np.ndarray] = {}
    out, engines = run_engine(
        s,
        horizon_days=260,
        keep=("capex_hpc_reconversion_usd", "hpc_reconverting_mw", "hpc_mining_mw_site1"),
        on_day=lambda e, d: site_mw.setdefault(d, _site_mw(e, 1)),
    )
    assert (out["capex_hpc_reconversion_usd"].sum(axis=0) == 100 * 100_000).all()
    assert (out["hpc_reconverting_mw"].max(axis=0) == 100).all()
    assert (out["hpc_mining_mw_site1"][-1] == 250).all()
    np.testing.assert_allclose(site_mw[259], site_mw[0])  # stored machines are back
    assert (site_mw[100] < site_mw[0] - 90).all()
    assert (hpc_run_of(engines[0]).stored_units == 0).all()


def _trigger(**policy: object) -> dict:
    return {"kind": "margin_trigger", "trailing_months": 1, "review_every_days": 30} | policy


def test_margin_trigger_budget_cap_and_minimum_hashrate() -> None:
    undated = [_dalton(start_date=None), _dalton(name="dalton2", start_date=None)]
    lease = {"rent_usd_per_mw_year": 1.8e6, "term_months": 120}
    _, (e,) = run_engine(spec(undated, lease=lease, policy=_trigger()), horizon_days=100)
    st = hpc_run_of(e).state
    first = round(365.25 / 12)
    assert (st.start_day == first + 1).all()  # margin < NOI at the first review: start next day

    budget = 70 * 9e6 * 1.5  # one project fits, not two
    _, (e,) = run_engine(
        spec(undated, lease=lease, policy=_trigger(capex_budget_usd=budget)), horizon_days=100
    )
    st = hpc_run_of(e).state
    assert np.isfinite(st.start_day[:, 0]).all() and not np.isfinite(st.start_day[:, 1]).any()

    _, (e,) = run_engine(
        spec(undated, lease=lease, policy=_trigger(min_mining_hashrate_ehs=49.0)), horizon_days=100
    )
    assert not np.isfinite(hpc_run_of(e).state.start_day).any()

    # NOI of 59,500 USD/MW-year: only paths whose mining margin collapsed convert
    cheap = {"rent_usd_per_mw_year": 100_000.0, "term_months": 120}
    out, (e,) = run_engine(
        spec(undated, lease=cheap, policy=_trigger()), horizon_days=100, keep=("btc_price_usd",)
    )
    started = np.isfinite(hpc_run_of(e).state.start_day[:, 0])
    assert started.mean() < 0.2
    price = out["btc_price_usd"]
    assert started.sum() > 0 and price[:90, started].mean() < 0.9 * price[:90, ~started].mean()


class StartOn:
    """A user policy: start every project on all paths at one review day."""

    def __init__(self, day: int) -> None:
        self.day = day

    def schedule(self, n_days: int) -> Iterable[int]:
        return [self.day]

    def decide(self, run: HpcRun, day: int) -> np.ndarray:
        return np.ones((run.state.n_paths, run.model.n_projects), dtype=bool)


def test_custom_policy_and_debt_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_ALLOW_CODE, __file__)  # this module may run (as --allow-code)
    s = spec(
        [_dalton(start_date=None, delay_days={"kind": "fixed", "value": 0})],
        lease={"rent_usd_per_mw_year": 1.8e6, "term_months": 120},
        policy={"kind": "custom", "target": "test_hpc_component:StartOn", "params": {"day": 10}},
        financing={"enabled": True, "loan_to_cost": 0.8, "rate_per_year": 0.1, "sweep_share": 0.5},
    )
    keep = (
        "capex_hpc_usd",
        "hpc_debt_draw_usd",
        "hpc_debt_interest_usd",
        "hpc_debt_principal_usd",
        "hpc_rent_usd",
    )
    out, (e,) = run_engine(s, horizon_days=400, keep=keep)
    st = hpc_run_of(e).state
    assert (st.start_day == 11).all()
    np.testing.assert_allclose(
        out["hpc_debt_draw_usd"].sum(axis=0), 0.8 * out["capex_hpc_usd"].sum(axis=0)
    )
    paid = out["hpc_debt_interest_usd"] + out["hpc_debt_principal_usd"]
    np.testing.assert_allclose(paid, 0.5 * out["hpc_rent_usd"], rtol=1e-12, atol=1e-6)
    # balance = draws + capitalised interest − principal
    assert (
        st.debt_usd[:, 0]
        > out["hpc_debt_draw_usd"].sum(axis=0) - out["hpc_debt_principal_usd"].sum(axis=0)
    ).all()


def test_displaced_machines_move_to_free_capacity_elsewhere() -> None:
    """Dalton's S19j Pro cohort is made S19 XP, a model Rockdale also runs: the least
    efficient machines leave the converted MW, fill Rockdale's ~11 MW of free capacity, and
    the rest are stored."""
    s = spec(
        [_dalton(displaced="move", delay_days={"kind": "fixed", "value": 0})],
        lease={"rent_usd_per_mw_year": 1.8e6, "term_months": 120},
    )
    seen: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def grab(e: ChunkEngine, day: int) -> None:
        if day in (30, 31):
            f = e.service(FleetState)
            seen[day] = (f.installed_units.copy(), _site_mw(e, 0))

    _, (e,) = run_engine(
        s, horizon_days=40, on_day=grab, overrides={"fleet.cohorts[3].model": "Antminer S19 XP"}
    )
    fleet = e.service(FleetState).fleet
    cols = [i for i, lb in enumerate(fleet.labels) if lb.startswith("Antminer S19 XP @")]
    rock = next(c for c in cols if fleet.site[c] == 0)
    dalton = next(c for c in cols if fleet.site[c] == 1)
    before, after = seen[30][0], seen[31][0]
    moved = after[:, rock] - before[:, rock]
    free_mw = 450.0 - seen[30][1]
    assert (moved > 0).all()
    np.testing.assert_array_equal(moved, np.floor(free_mw / fleet.unit_mw[rock]))
    assert (seen[31][1] <= 450.0 + 1e-9).all()
    stored = hpc_run_of(e).stored_units[:, dalton]
    np.testing.assert_allclose(before[:, dalton] - after[:, dalton], moved + stored)


def test_drawdown_driver_brings_defaults_forward_path_by_path() -> None:
    """Same seed, same default thresholds (common random numbers): a hazard raised by the BTC
    drawdown can only bring each path's first default forward, and does on some paths."""

    def first_defaults(k: float) -> np.ndarray:
        s = spec(
            [_dalton(delay_days={"kind": "fixed", "value": 0})],
            lease={"rent_usd_per_mw_year": 1.8e6, "term_months": 120},
            default={"annual_rate": 0.4, "driver": "btc_drawdown", "driver_sensitivity": k},
            release={"delay_days": {"kind": "fixed", "value": 5000}},
        )
        _, (e,) = run_engine(s, horizon_days=900)
        ev = hpc_run_of(e).events()
        day = np.full(250, np.inf)
        hit = np.asarray(ev["kind"]) == "default"
        day[ev["path"][hit]] = ev["time_days"][hit]
        return day

    flat, driven = first_defaults(0.0), first_defaults(4.0)
    assert (driven <= flat).all()
    assert (driven < flat).sum() > 10


def test_fixed_plan_on_day_zero_within_the_capex_budget() -> None:
    """Two projects dated on the run's first day; the budget takes only the first."""
    dated = [
        _dalton(start_date="2026-01-01", phases=[{"gross_mw": 50, "build_days": 30}]),
        _dalton(
            name="second", start_date="2026-01-01", phases=[{"gross_mw": 50, "build_days": 30}]
        ),
    ]
    s = spec(
        dated,
        lease={"rent_usd_per_mw_year": 1.8e6, "term_months": 120},
        policy={"capex_budget_usd": 35 * 9e6},  # 50 MW × 0.7 IT × 9 M$/MW IT: one project
    )
    out, (e,) = run_engine(s, horizon_days=20, keep=("hpc_converting_mw_site1",))
    st = hpc_run_of(e).state
    assert (st.start_day[:, 0] == 0).all() and not np.isfinite(st.start_day[:, 1]).any()
    assert (out["hpc_converting_mw_site1"] == 50).all()


def test_site_margin_of_a_path_ignores_the_other_paths() -> None:
    """At a site whose price varies (ERCOT index) the trigger's margin uses each path's own
    average power price: changing the other paths' energy and power bill leaves path 0's
    margin bit for bit the same (a chunk-wide average once tied the paths together)."""
    from pathlib import Path

    from hashfleet.hpc.component import EngineAdapter
    from hashfleet.model import compile_scenario
    from hashfleet.scenario import load_scenario

    root = Path(__file__).resolve().parents[2] / "scenarios"
    sc = load_scenario(root / "ercot-index.yaml", overrides={"run.horizon_days": 10})
    e = ChunkEngine(compile_scenario(sc), 3, 0, 2, lambda *a: None)
    e.run_until(5)
    a = EngineAdapter(e, sc.fleet.pool.fee_share)
    assert np.isnan(a.site_price_usd_per_mwh_flat()).any()  # an index site is in the fleet
    before = a.site_margin_usd_per_mw_day()
    e.values["energy_mwh"][1:] *= 3.0
    e._outflows["power_cost_usd"][1:] *= 0.1
    after = a.site_margin_usd_per_mw_day()
    assert np.array_equal(before[0], after[0], equal_nan=True)
    assert not np.array_equal(before[1:], after[1:], equal_nan=True)
