"""Built-in upgrade policies on small deterministic cases, and the custom-policy protocol."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import numpy as np
import pytest

from builders import CHAIN_2026
from hashfleet.engine.core import ChunkEngine
from hashfleet.errors import InputError
from hashfleet.fleet.component import fleet_state
from hashfleet.fleet.orders import desk_of
from hashfleet.model import compile_scenario
from hashfleet.scenario.schema import Scenario
from hashfleet.scenario.trust import ENV_ALLOW_CODE

OLD = {"name": "Old", "hashrate_th_s": 100, "power_w": 3250}  # 32.5 J/TH
GOOD = {"name": "Good", "hashrate_th_s": 200, "power_w": 3000, "price_usd_per_th": 10.0}

BASE: dict[str, Any] = {
    "name": "policy-test",
    "run": {"start": "2026-01-01", "horizon_days": 80, "paths": 2, "seed": 1},
    "network": {
        "start": CHAIN_2026,
        "hashrate": {"model": "growth", "growth_per_year": 0.0},
        "fees": {"model": "constant", "btc_per_block": 0.02},
        "blocks": "deterministic",
    },
    "market": {"btc_price": {"model": "gbm", "start_usd": 88_000, "volatility_per_year": 0.0}},
    "fleet": {
        "models": [OLD, GOOD],
        "sites": [
            {
                "name": "A",
                "capacity_mw": 10,
                "pue": 1.0,
                "power": {"contract": "fixed", "price_usd_per_mwh": 30},
            }
        ],
        "cohorts": [{"model": "Old", "site": "A", "units": 2000}],  # 6.5 MW
    },
    "company": {"starting_cash_usd": 1e8},
    "asic_market": {
        "frontier": {
            "generations": 2,
            "interval_months": 1,
            "base_efficiency_j_per_th": 20.0,
            "improvement_per_year": 0.5,
            "unit_hashrate_th_s": 400,
        }
    },
}


def engine_for(policy: dict[str, Any], days: int, **changes: Any) -> ChunkEngine:
    d = copy.deepcopy(BASE)
    d["policies"] = {"upgrade": policy}
    for k, v in changes.items():
        node = d
        keys = k.split("__")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = v
    model = compile_scenario(Scenario.model_validate(d))
    e = ChunkEngine(model, 1, 0, 1, lambda *a: None, record_events=False)
    flows: dict[str, np.ndarray] = {}

    def sink(day: int, offset: int, values: dict[str, np.ndarray]) -> None:
        for k, v in values.items():
            flows.setdefault(k, []).append(v[0])  # type: ignore[attr-defined]

    e.sink = sink
    e.run_until(days)
    e.raw = flows  # type: ignore[attr-defined]
    return e


def flows(e: ChunkEngine) -> dict[str, np.ndarray]:
    """Path 0's daily values so far, per variable."""
    return {k: np.array(v) for k, v in e.raw.items()}  # type: ignore[attr-defined]


def units(e: ChunkEngine, label: str) -> float:
    cols = [i for i, lab in enumerate(fleet_state(e).fleet.labels) if lab.startswith(label + " @")]
    return float(fleet_state(e).installed_units[0, cols].sum())


def test_hold_changes_nothing() -> None:
    e = engine_for({"kind": "hold"}, 40)
    assert units(e, "Old") == 2000
    assert flows(e)["capex_usd"].sum() == 0


def test_refresh_to_frontier_replaces_worst_units_within_budget() -> None:
    """Review on day 30 (1 month): newest frontier is g1 (released day 30, 20·0.5^(30/365.25)
    J/TH).  Budget 200k USD net of the old units' sale value buys k old-unit replacements;
    new units = floor(k · 3250 W / new W); deposit on day 30, the rest on day 40, swap on
    day 45 (lead 10 + commissioning 5); old units mine until then."""
    e = engine_for(
        {
            "kind": "refresh_frontier",
            "every_months": 1,
            "budget_usd": 200_000,
            "lead_time_days": 10,
            "commissioning_days": 5,
            "deposit_share": 0.3,
        },
        44,
    )
    fl = flows(e)
    assert np.flatnonzero(fl["capex_deposits_usd"]).tolist() == [30]
    assert np.flatnonzero(fl["capex_balance_usd"]).tolist() == [40]
    assert units(e, "Old") == 2000  # not yet swapped
    desk = desk_of(e)
    assert desk.retiring.sum() > 0
    e.run_until(46)
    old_left = units(e, "Old")
    new = units(e, "frontier-g1")
    k = 2000 - old_left
    w_new = 400 * 20 * 0.5 ** (round(365.25 / 12) / 365.25)
    assert k > 0 and new == np.floor(k * 3250 / w_new)
    assert units(e, "Good") == 0 and units(e, "frontier-g2") == 0
    spent = fl["capex_deposits_usd"].sum() + fl["capex_balance_usd"].sum()
    sales = flows(e)["asset_sales_usd"].sum()
    assert sales > 0
    # net cost at the review day's prices is within the budget
    assert spent - sales <= 200_000 * 1.05
    # power at the site never grows: the replacement draws no more than what it replaced
    mw = fleet_state(e).installed_units[0] @ fleet_state(e).fleet.unit_mw
    assert mw <= 2000 * 3250 / 1e6 + 1e-9


def test_refresh_respects_min_gain() -> None:
    """No frontier model is min_gain better than a 15 J/TH fleet: nothing happens."""
    e = engine_for(
        {"kind": "refresh_frontier", "every_months": 1, "budget_usd": 1e9, "min_gain": 0.5}, 60
    )
    assert flows(e)["capex_usd"].sum() == 0


def test_replace_unprofitable_sells_after_n_days() -> None:
    """At 300 USD/MWh the 32.5 J/TH units lose money every day: the streak reaches 5 on day 4
    (days 0..4); with review every day they are sold on day 4 and replacements (Good, same
    MW, 3250/3000 → floor(2000·3250/3000) = 2166 units) are ordered that day."""
    e = engine_for(
        {
            "kind": "replace_unprofitable",
            "days": 5,
            "review_every_days": 1,
            "model": "Good",
            "lead_time_days": 10,
            "commissioning_days": 2,
            "min_gain": 0.1,
        },
        20,
        fleet__sites=[
            {
                "name": "A",
                "capacity_mw": 10,
                "pue": 1.0,
                "power": {"contract": "fixed", "price_usd_per_mwh": 300},
            }
        ],
    )
    fl = flows(e)
    assert np.flatnonzero(fl["asset_sales_usd"]).tolist() == [4]
    assert np.flatnonzero(fl["capex_deposits_usd"]).tolist() == [4]
    assert units(e, "Old") == 0
    assert units(e, "Good") == 2166  # delivered day 14, hashing day 16


def test_replace_unprofitable_keeps_profitable_units() -> None:
    e = engine_for({"kind": "replace_unprofitable", "days": 5, "review_every_days": 1}, 30)
    assert units(e, "Old") == 2000
    assert flows(e)["asset_sales_usd"].sum() == 0


def test_buy_dip_buys_only_below_the_threshold() -> None:
    """Threshold 10,000 days: always a dip, buys used Good units filling the spare 3.5 MW
    (floor(3.5 / 0.003) = 1166) on day 30, paid that day at the secondary price.
    Threshold 1 day: never a dip."""
    e = engine_for(
        {
            "kind": "buy_dip",
            "model": "Good",
            "threshold_days": 10_000,
            "budget_usd": 1e9,
            "min_gain": 0.9,
            "commissioning_days": 2,
        },
        40,
    )
    fl = flows(e)
    assert np.flatnonzero(fl["capex_balance_usd"]).tolist() == [30]
    assert units(e, "Good") == 1166
    assert units(e, "Old") == 2000
    e2 = engine_for(
        {"kind": "buy_dip", "model": "Good", "threshold_days": 1, "budget_usd": 1e9}, 40
    )
    assert flows(e2)["capex_usd"].sum() == 0


def test_buy_dip_replaces_worse_units_with_what_is_left() -> None:
    """min_gain 0.15: Good (15 J/TH) replaces Old (32.5 J/TH) with the rest of the budget."""
    e = engine_for(
        {
            "kind": "buy_dip",
            "model": "Good",
            "threshold_days": 10_000,
            "budget_usd": 1e9,
            "commissioning_days": 0,
        },
        32,
    )
    assert units(e, "Old") == 0
    assert units(e, "Good") == 1166 + np.floor(2000 * 3250 / 3000)


class EveryTenDaysSell:
    """A user policy: sell `share` of every column every ten days (all paths at once)."""

    def __init__(self, share: float) -> None:
        self.share = share

    def schedule(self, n_days: int) -> Iterable[int]:
        return range(10, n_days, 10)

    def review(self, engine: ChunkEngine, day: int) -> None:
        desk = desk_of(engine)
        for col in np.flatnonzero(fleet_state(engine).installed_units.sum(axis=0)):
            desk.sell(int(col), fleet_state(engine).installed_units[:, col] * self.share)


def test_custom_policy_from_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    """`policies.custom` imports module:Class with params; reviews on days 10 and 20."""
    monkeypatch.setenv(ENV_ALLOW_CODE, __file__)  # this module may run (--allow-code)
    d = copy.deepcopy(BASE)
    d["policies"] = {
        "custom": [{"target": f"{__name__}:EveryTenDaysSell", "params": {"share": 0.5}}]
    }
    model = compile_scenario(Scenario.model_validate(d))
    e = ChunkEngine(model, 1, 0, 1, lambda *a: None, record_events=False)
    e.run_until(25)
    assert units(e, "Old") == 500


def test_custom_policy_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    d = copy.deepcopy(BASE)
    d["policies"] = {"custom": [{"target": f"{__name__}:EveryTenDaysSell"}]}
    with pytest.raises(InputError, match=r"policies\.custom\[0\]\.target: .* not allowed to run"):
        compile_scenario(Scenario.model_validate(d))  # no --allow-code: nothing is imported
    monkeypatch.setenv(ENV_ALLOW_CODE, __file__)
    d["policies"] = {"custom": [{"target": "nowhere.module:Nope"}]}
    with pytest.raises(InputError, match=r"policies\.custom\[0\]\.target"):
        compile_scenario(Scenario.model_validate(d))
    d["policies"] = {"custom": [{"target": f"{__name__}:EveryTenDaysSell", "params": {"bad": 1}}]}
    with pytest.raises(InputError, match=r"policies\.custom\[0\]\.params"):
        compile_scenario(Scenario.model_validate(d))


def test_policies_and_prices_do_not_depend_on_chunking() -> None:
    """Random release delays, secondary-price noise and per-path policy purchases: one
    chunk of 500 paths and two chunks of 250 give identical paths."""
    from hashfleet.runner import simulate

    d = copy.deepcopy(BASE)
    d["run"].update(paths=500, horizon_days=70, outputs={"store_paths": True})
    d["market"]["btc_price"]["volatility_per_year"] = 0.8
    d["network"]["blocks"] = "poisson"
    d["asic_market"].update(noise_sigma=0.1)
    d["asic_market"]["frontier"]["release_delay_max_days"] = 20
    d["policies"] = {
        "upgrade": {"kind": "refresh_frontier", "every_months": 1, "budget_usd": 300_000}
    }
    sc = Scenario.model_validate(d)
    one = simulate(sc)
    two = simulate(sc, chunk_paths=250)
    assert one.paths is not None and two.paths is not None
    assert one.paths["capex_usd"].values.sum() > 0
    for v in one.paths.data_vars:
        assert np.array_equal(one.paths[v].values, two.paths[v].values, equal_nan=True), v


def test_reviews_never_commit_more_than_cash_on_hand() -> None:
    """Budget 1e9 but cash −1e9: nothing is bought.  Cash ~0.4 m: the refresh commits at most
    the closing cash of the day before the review (net of the old units' sale value)."""
    policy = {
        "kind": "refresh_frontier",
        "every_months": 1,
        "budget_usd": 1e9,
        "lead_time_days": 5,
        "deposit_share": 1.0,
    }
    broke = engine_for(policy, 40, company={"starting_cash_usd": -1e9})
    assert flows(broke)["capex_usd"].sum() == 0
    e = engine_for(policy, 40, company={"starting_cash_usd": 0.0})
    fl = flows(e)
    cash_before = fl["cash_usd"][29]
    assert 0 < cash_before < 1e6
    bought = fl["capex_deposits_usd"][30]
    assert bought > 0
    desk = desk_of(e)
    col_old = fleet_state(e).position(0)
    sold_units = 2000 - units(e, "Old")
    sale_value = sold_units * 100 * desk.secondary_usd_per_th[0, col_old]
    assert bought - sale_value <= cash_before * 1.05  # sale priced on day 35 vs day 30


def test_replace_unprofitable_judges_index_sites_at_the_day_price() -> None:
    """An index site (spot 300 USD/MWh, no volatility, + 5 adder) has no flat price; the
    policy judges it at the day's average price: the 32.5 J/TH units lose money every day
    and are sold on day 4 (streak 5), as at a 305 USD/MWh PPA.  At a 20 USD/MWh spot
    they are kept."""
    policy = {"kind": "replace_unprofitable", "days": 5, "review_every_days": 1}

    def site(median: float) -> list[dict[str, Any]]:
        return [
            {
                "name": "A",
                "capacity_mw": 10,
                "pue": 1.0,
                "power": {"contract": "index", "adder_usd_per_mwh": 5},
                "spot": {"median_usd_per_mwh": median, "sigma": 0.0, "intraday_sigma": 0.2},
            }
        ]

    dear = engine_for(policy, 20, fleet__sites=site(300.0))
    assert np.flatnonzero(flows(dear)["asset_sales_usd"]).tolist() == [4]
    assert units(dear, "Old") == 0
    cheap = engine_for(policy, 20, fleet__sites=site(20.0))
    assert units(cheap, "Old") == 2000
    assert flows(cheap)["asset_sales_usd"].sum() == 0
