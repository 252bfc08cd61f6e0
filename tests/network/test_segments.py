"""Network segments: one segment is today's model bit for bit; a price-insensitive segment
holds through a crash; additions, growth and caps; the schema's checks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hashfleet.errors import ScenarioError
from hashfleet.runner import simulate
from hashfleet.scenario import load_scenario_text
from hashfleet.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[2]


def scenario(
    hashrate: dict[str, Any] | None = None,
    *,
    days: int = 60,
    price: dict[str, Any] | None = None,
    paths: int = 250,
) -> Scenario:
    """A fleet-less 2023 scenario with the endogenous network (deterministic blocks)."""
    return Scenario.model_validate(
        {
            "name": "segments-test",
            "run": {"start": "2023-01-01", "horizon_days": days, "paths": paths, "seed": 11},
            "network": {
                "start": {"from_history": True},
                "hashrate": {"model": "endogenous"} | (hashrate or {}),
                "fees": {"model": "constant", "btc_per_block": 0.1},
                "blocks": "deterministic",
            },
            "market": {
                "btc_price": price
                or {"model": "gbm", "start_usd": 30_000, "volatility_per_year": 0.0}
            },
        }
    )


def _same(a: Any, b: Any) -> list[str]:
    """Names of the arrays of ``a`` that differ in ``b`` (daily, per path, paths)."""
    out = []
    for kind in ("daily", "per_path", "paths"):
        da, db = getattr(a, kind), getattr(b, kind)
        if da is None:
            continue
        for v in da.data_vars:
            if not np.array_equal(da[v].to_numpy(), db[v].to_numpy(), equal_nan=True):
                out.append(f"{kind}/{v}")
    return out


def test_one_default_segment_is_bit_identical_on_standard_all() -> None:
    """Every feature on (random supply shocks included): one segment equals no segments."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.configurations import WORKLOADS

    sc = WORKLOADS["standard-all"].scenario()
    sc = sc.model_copy(update={"run": sc.run.model_copy(update={"horizon_days": 150})})
    doc = sc.model_dump(mode="python")
    doc["network"]["hashrate"]["segments"] = [{"name": "world", "start_share": 1.0}]
    seg = Scenario.model_validate(doc)
    a = simulate(sc, paths=250, seed=11, store_paths=True)
    b = simulate(seg, paths=250, seed=11, store_paths=True)
    assert _same(a, b) == []
    assert "segment_hashrate_ehs__world" in b.daily
    np.testing.assert_array_equal(
        b.paths["segment_installed_ehs__world"].to_numpy(),
        b.paths["rest_installed_ehs"].to_numpy(),
    )


def _crash_run(tmp_path: Path, segments: list[dict[str, Any]], days: int = 240) -> Any:
    price = np.r_[np.full(60, 30_000.0), np.full(days - 60, 12_000.0)]  # −60 % on day 60
    f = tmp_path / "crash.csv"
    pd.DataFrame(
        {"date": pd.date_range("2023-01-01", periods=days).strftime("%Y-%m-%d"), "price_usd": price}
    ).to_csv(f, index=False)
    sc = scenario(
        {"segments": segments}, days=days, price={"model": "csv", "path": str(f)}, paths=250
    )
    return simulate(sc)


SEGMENTS_2023 = [
    {"name": "listed", "kind": "listed", "start_share": 0.4},
    {"name": "private", "kind": "private", "start_share": 0.4, "power_cost_median_usd_per_mwh": 70},
    {"name": "state", "kind": "sovereign", "start_share": 0.2},
]


def test_price_insensitive_segment_holds_through_a_60pc_crash(tmp_path: Path) -> None:
    d = _crash_run(tmp_path, SEGMENTS_2023).daily
    state = d["segment_hashrate_ehs__state_mean"].to_numpy()
    listed = d["segment_hashrate_ehs__listed_mean"].to_numpy()
    private = d["segment_hashrate_ehs__private_mean"].to_numpy()
    net = d["network_hashrate_ehs_mean"].to_numpy()
    # the sovereign neither switches off nor retires: its hashrate stays at its day-59 level
    assert np.all(state[60:] >= state[59] * (1 - 1e-9))
    # the elastic segments fall by more than 20 % within five months
    assert listed[60:].min() < 0.8 * listed[59]
    assert private[60:].min() < 0.8 * private[59]
    # so the sovereign's share of the network rises (until difficulty falls and the elastic
    # segments come back)
    share = d["segment_share__state_mean"].to_numpy()
    assert share[60:].max() > share[59] * 1.2
    # and the segments add up to the network (no fleet in this scenario)
    total = state + listed + private
    np.testing.assert_allclose(total[1:], net[1:], rtol=1e-9)


def test_insensitive_share_damps_the_network_response(tmp_path: Path) -> None:
    """The network's fall after the crash shrinks as the price-insensitive share grows."""

    def fall(insensitive: float) -> float:
        segs = [{"name": "elastic", "start_share": 1.0 - insensitive}]
        if insensitive:
            segs.append({"name": "state", "kind": "sovereign", "start_share": insensitive})
        net = _crash_run(tmp_path, segs).daily["network_hashrate_ehs_mean"].to_numpy()
        return 1.0 - net[60:].min() / net[59]

    f0, f20, f40 = fall(0.0), fall(0.2), fall(0.4)
    assert f0 > f20 > f40 > 0


def test_scheduled_addition_growth_and_cap() -> None:
    segs = [
        {"name": "rest", "start_share": 0.9},
        {
            "name": "state",
            "kind": "sovereign",
            "start_share": 0.05,
            "additions": [{"date": "2023-01-11", "ehs": 50, "over_days": 10}],
        },
        {
            "name": "gas",
            "kind": "stranded",
            "start_share": 0.05,
            "growth_per_year": 0.2,
            "cap_ehs": 13.0,
        },
    ]
    d = simulate(scenario({"segments": segs}, days=120)).daily
    inst = d["segment_installed_ehs__state_mean"].to_numpy()
    # 5 EH/s a day on days 10..19 (recorded at the end of each day)
    np.testing.assert_allclose(np.diff(inst[9:21]), [5.0] * 10 + [0.0], atol=1e-6)
    gas = d["segment_installed_ehs__gas_mean"].to_numpy()
    daily = 1.2 ** (1 / 365.25) - 1
    assert gas[1] / gas[0] - 1 == pytest.approx(daily, rel=1e-4)  # less a trace of retirement
    assert gas.max() <= 13.0 * (1 + 1e-12)
    assert gas[-1] == pytest.approx(13.0)


def test_random_additions_draw_from_the_supply_stream_and_are_chunk_invariant() -> None:
    segs = [
        {"name": "rest", "start_share": 0.9},
        {
            "name": "state",
            "kind": "sovereign",
            "start_share": 0.1,
            "addition_rate_per_year": 20,
            "addition_mean_ehs": 5,
        },
    ]
    sc = scenario({"segments": segs, "shock_rate_per_year": 2}, days=90, paths=500)
    a = simulate(sc, store_paths=True)
    b = simulate(sc, store_paths=True, chunk_paths=250)
    assert _same(a, b) == []
    inst = a.paths["segment_installed_ehs__state"].to_numpy()
    jumps = np.diff(inst, axis=1) > 0.01
    # about 20/365.25 × 89 ≈ 4.9 additions per path
    assert 4.0 < jumps.sum(axis=1).mean() < 6.0


@pytest.mark.parametrize(
    ("segments", "needle"),
    [
        ([{"name": "a", "start_share": 0.5}], "sum to 1"),
        ([{"name": "a", "start_share": 0.5}, {"name": "a", "start_share": 0.5}], "unique"),
        ([{"name": "A b", "start_share": 1.0}], "name"),
        ([{"name": "a", "start_share": 1.0, "price_response": 1.5}], "price_response"),
    ],
)
def test_bad_segments_give_located_errors(segments: list[dict[str, Any]], needle: str) -> None:
    import yaml

    doc = scenario().model_dump(mode="json")
    doc["network"]["hashrate"]["segments"] = segments
    with pytest.raises(ScenarioError, match=needle):
        load_scenario_text(yaml.safe_dump(doc), name="bad.yaml")


def test_partial_price_response_scales_the_switch_off(tmp_path: Path) -> None:
    """Two halves with the same costs, one at price_response 0.5: the share of its installed
    capacity that switches off after the crash is about half the elastic half's (exactly half
    per vintage; the vintage mix differs a little as idle capacity retires)."""
    segs = [
        {"name": "full", "start_share": 0.5},
        {"name": "half", "start_share": 0.5, "price_response": 0.5},
    ]
    d = _crash_run(tmp_path, segs, days=120).daily

    def running_share(name: str) -> np.ndarray:
        run = d[f"segment_hashrate_ehs__{name}_mean"].to_numpy()
        out: np.ndarray = run / d[f"segment_installed_ehs__{name}_mean"].to_numpy()
        return out

    full, half = running_share("full"), running_share("half")
    for day in (65, 75, 90):
        drop_full, drop_half = full[59] - full[day], half[59] - half[day]
        assert drop_full > 0.05
        assert 0.4 < drop_half / drop_full < 0.6
