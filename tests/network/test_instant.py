"""Instant-response mode: the sigmoid, sub-day resolution, and the 2016-block rule's instability."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hashfleet.errors import ScenarioError
from hashfleet.network.blocks import DayBlocks
from hashfleet.network.instant import combine_day_blocks, sigmoid_hashrate_hs
from hashfleet.runner import simulate
from hashfleet.scenario.schema import Scenario

#: Day-0 hashprice (USD/(PH/s)/day) of the scenarios below: price 30,000, 2023-01-01 chain,
#: 6.25 BTC subsidy + 0.1 BTC fees.  Used to set elasticities explicitly.
START = "2023-01-01"


def scenario(
    hashrate: dict[str, Any], *, vol: float, days: int = 365, model: str = "instant_response"
) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "instant-test",
            "run": {"start": START, "horizon_days": days, "paths": 250, "seed": 5},
            "network": {
                "start": {"from_history": True},
                "hashrate": {"model": model} | hashrate,
                "fees": {"model": "constant", "btc_per_block": 0.1},
            },
            "market": {
                "btc_price": {"model": "gbm", "start_usd": 30_000, "volatility_per_year": vol}
            },
        }
    )


def mean_block_time_s(sc: Scenario) -> float:
    """Total time / total blocks over all paths (s)."""
    res = simulate(sc)
    blocks = res.per_path["total_blocks"].values
    return float(sc.run.horizon_days * 86_400 / blocks.mean())


def test_sigmoid_closed_form() -> None:
    """H(centre) = cap/2; H → cap far above; the slope at the centre is cap·slope/4."""
    cap, c, k = 8e20, 100.0, 0.05
    r = np.array([c, c + 1e-3, 1e4, -1e4])
    h = sigmoid_hashrate_hs(r, cap, c, k)
    assert h[0] == pytest.approx(cap / 2)
    assert (h[1] - h[0]) / 1e-3 == pytest.approx(cap * k / 4, rel=1e-3)
    assert h[2] == pytest.approx(cap) and h[3] < 1e-100


def test_combine_sums_intervals() -> None:
    """Blocks, subsidy, reward rate, own blocks and retargets add up across intervals."""

    def part(b: int) -> DayBlocks:
        one = np.ones(2)
        return DayBlocks(
            np.full(2, b), np.full(2, b * 10), one * 0.5, one * b, one * 2, np.zeros(2, np.int64)
        )

    c = combine_day_blocks([part(1), part(2), part(3)])
    assert c.blocks.tolist() == [6, 6] and c.subsidy_sat.tolist() == [60, 60]
    assert c.reward_per_hash_btc.tolist() == [1.5, 1.5]
    assert c.own_blocks is not None and c.own_blocks.tolist() == [6.0, 6.0]


def test_resolution_must_divide_a_day() -> None:
    """resolution_hours: 5 is rejected with the field named."""
    with pytest.raises(ScenarioError, match="divide 24"):
        from hashfleet.scenario.loader import load_scenario_text

        load_scenario_text(
            "name: x\nrun: {start: 2023-01-01, horizon_days: 3}\n"
            "network: {hashrate: {model: instant_response, resolution_hours: 5}}\n"
        )


def test_inelastic_enough_supply_at_flat_price_keeps_ten_minute_blocks() -> None:
    """Elasticity 0.5 at the centre (default slope), flat price: mean block time within 2 % of
    600 s at 24 h and 6 h resolution (the rule converges when elasticity < 1)."""
    for res in (24.0, 6.0):
        t = mean_block_time_s(scenario({"resolution_hours": res}, vol=0.0, days=300))
        assert t == pytest.approx(600.0, rel=0.02), (res, t)


def test_elastic_supply_and_wandering_price_slow_blocks_down() -> None:
    """Elasticity 1.5 at the centre, price volatility 80 %/year, 6-hour resolution, 365 days:
    mean block time > 750 s (measured ≈ 955 s); the same price path with inelastic
    (exogenous constant) hashrate stays within 2 % of 600 s."""
    centre = 108.3644  # the scenario's day-0 hashprice, USD/(PH/s)/day
    elastic = scenario(
        {
            "resolution_hours": 6,
            "centre_usd_per_ph_day": centre,
            "slope_per_usd_per_ph_day": 3.0 / centre,
        },
        vol=0.8,
    )
    assert mean_block_time_s(elastic) > 750.0
    exo = scenario({}, vol=0.8, model="growth")
    assert mean_block_time_s(exo) == pytest.approx(600.0, rel=0.02)


@pytest.mark.slow
def test_hourly_resolution_is_also_unstable() -> None:
    """Same as above at 1-hour resolution, two years: mean block time > 750 s."""
    centre = 108.3644
    sc = scenario(
        {
            "resolution_hours": 1,
            "centre_usd_per_ph_day": centre,
            "slope_per_usd_per_ph_day": 3.0 / centre,
        },
        vol=0.8,
        days=730,
    )
    assert mean_block_time_s(sc) > 750.0


def test_instant_mode_does_not_depend_on_chunking() -> None:
    """6-hour resolution, Poisson blocks, 500 paths: one chunk and chunks of 250 are identical."""
    sc = scenario({"resolution_hours": 6}, vol=0.8, days=40)
    sc = sc.model_copy(
        update={
            "run": sc.run.model_copy(
                update={
                    "paths": 500,
                    "outputs": sc.run.outputs.model_copy(update={"store_paths": True}),
                }
            )
        }
    )
    whole, chunked = simulate(sc), simulate(sc, chunk_paths=250)
    assert whole.paths is not None and chunked.paths is not None
    for v in ("network_hashrate_ehs", "difficulty", "blocks"):
        assert np.array_equal(whole.paths[v].values, chunked.paths[v].values), v
