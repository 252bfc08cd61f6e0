"""Extreme worlds run without NaN, inf or negative quantities and keep the ledger identity.

Every run here has the invariant guards on (``HASHFLEET_CHECK=1``, the autouse fixture of
tests/conftest.py): each simulated day checks that every recorded value is finite, that
quantities (blocks, BTC, EH/s, MWh, hours, units, J/TH) are non-negative, that no site draws
more than its capacity and that cash changes by exactly inflows − outflows.  The tests then
check the results (daily statistics and per-path figures) once more.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from builders import CHAIN_2026, base_doc, build
from hashfleet.consensus import block_subsidy
from hashfleet.errors import ScenarioError
from hashfleet.results import Results
from hashfleet.runner import simulate

HALVING = 210_000
EPOCH = 2016

#: figures that are NaN where undefined, by their documented definition (the IRR of cash
#: flows without a sign change, the payback or insolvency day of a path that never gets there)
MAY_BE_UNDEFINED = ("irr_per_year", "payback_day", "insolvency_day")


def _check(res: Results) -> None:
    for name, da in res.daily.data_vars.items():
        if any(u in str(name) for u in MAY_BE_UNDEFINED):
            continue
        assert np.isfinite(da.values).all(), f"daily {name}: not finite"
    for name, da in res.per_path.data_vars.items():
        if any(u in str(name) for u in MAY_BE_UNDEFINED) or da.dtype.kind not in "fiu":
            continue
        assert np.isfinite(da.values).all(), f"per_path {name}: not finite"
    for name in (
        "total_production_btc",
        "total_revenue_usd",
        "total_power_cost_usd",
        "total_energy_mwh",
        "final_network_hashrate_ehs",
    ):
        if name in res.per_path:
            assert (res.per_path[name].values >= 0).all(), f"per_path {name}: negative"


def _run(doc: dict[str, Any], **changes: Any) -> Results:
    res = simulate(build(doc, **changes))
    _check(res)
    return res


def _doc(**kw: Any) -> dict[str, Any]:
    return base_doc(horizon_days=kw.pop("horizon_days", 20), paths=kw.pop("paths", 250), **kw)


def _chain_at(height: int) -> dict[str, Any]:
    return dict(CHAIN_2026, height=height)


@pytest.mark.parametrize("price_usd", [1.0, 10_000_000.0], ids=["btc-1-usd", "btc-10m-usd"])
def test_btc_price_extremes(price_usd: float) -> None:
    res = _run(_doc(), market__btc_price={"model": "gbm", "start_usd": price_usd})
    revenue = res.per_path["total_revenue_usd"].values
    if price_usd == 1.0:  # nothing pays: the fleet curtails, production falls to ~0
        assert revenue.max() < 1e3
    else:
        assert revenue.min() > 1e8


def test_network_hashrate_falls_90_percent_in_a_day(tmp_path: Path) -> None:
    csv = tmp_path / "hashrate.csv"
    days = [f"2026-01-{d:02d}" for d in range(1, 32)]
    values = [1000.0] + [100.0] * 30
    csv.write_text(
        "date,hashrate_ehs\n" + "".join(f"{d},{v}\n" for d, v in zip(days, values, strict=True))
    )
    res = _run(
        _doc(horizon_days=30),
        network__hashrate={"model": "csv", "path": str(csv)},
        network__hashrate_includes_fleet=False,
    )
    # the rest of the network left: our share of the blocks rises roughly tenfold
    assert res.per_path["total_production_btc"].values.mean() > 0


def test_thirty_five_halvings_leave_fees_only() -> None:
    height = 35 * HALVING - 50  # the 35th halving inside day 0
    assert block_subsidy(height) == 0 and block_subsidy(height + 100) == 0
    start = height - height % EPOCH
    res = _run(
        _doc(),
        network__start=_chain_at(height) | {"epoch_start_time": "2026-01-01T00:00:00Z"},
        # 5 BTC a block: a hashprice of ~USD 60/PH/day, above the fleet's power cost
        network__fees={"model": "constant", "btc_per_block": 5.0},
    )
    assert start % EPOCH == 0
    pp = res.per_path
    assert float(pp["total_production_btc"].values.min()) > 0  # fees alone pay
    if "subsidy_btc" in res.daily:
        assert float(np.abs(res.daily["subsidy_btc_mean"]).max()) == 0.0


def test_zero_fees_and_last_subsidy_era() -> None:
    res = _run(_doc(), network__fees={"model": "constant", "btc_per_block": 0.0})
    assert res.per_path["total_production_btc"].values.min() > 0


def test_zero_fees_after_the_last_subsidy_is_a_world_without_revenue() -> None:
    height = 34 * HALVING
    res = _run(
        _doc(),
        network__start=_chain_at(height) | {"epoch_start_time": "2026-01-01T00:00:00Z"},
        network__fees={"model": "constant", "btc_per_block": 0.0},
    )
    assert res.per_path["total_production_btc"].values.max() == 0.0
    assert res.per_path["total_revenue_usd"].values.max() == 0.0


def test_difficulty_at_pow_limit() -> None:
    """Difficulty 1 (nBits 0x1d00ffff; the default network then starts at D·2^32/600, a few
    MH/s) against our 3 EH/s fleet: blocks come at an absurd rate until retargets (×4 each,
    exact) catch up — about 19 of them, log4(3 EH/s · 600 s / 2^32)."""
    res = _run(
        _doc(horizon_days=5),
        network__start=_chain_at(CHAIN_2026["height"]) | {"bits": 0x1D00FFFF},
    )
    assert res.per_path["retargets"].values.min() >= 15


def test_power_price_at_the_cap_for_a_month() -> None:
    site = {
        "name": "A",
        "capacity_mw": 50,
        "power": {"contract": "index", "adder_usd_per_mwh": 0.0},
        "spot": {"median_usd_per_mwh": 1e5, "sigma": 0.0, "cap_usd_per_mwh": 5000.0},
    }
    res = _run(_doc(horizon_days=30), fleet__sites=[site])
    # at USD 5,000/MWh nothing mines at a profit: the fleet curtails every hour
    assert res.per_path["total_power_cost_usd"].values.max() < 1e6


def test_a_zero_mw_site_is_refused_with_its_field() -> None:
    with pytest.raises((ScenarioError, ValidationError), match="capacity_mw"):
        build(_doc(), fleet__sites__0__capacity_mw=0)


def test_a_one_watt_site() -> None:
    """1 W of capacity: the fleet (a continuum of units) draws at most that."""
    res = _run(_doc(), fleet__sites__0__capacity_mw=1e-6)
    assert res.per_path["total_energy_mwh"].values.max() <= 1e-6 * 24 * 20 * (1 + 1e-9)
    assert res.per_path["total_production_btc"].values.max() < 1e-6


def test_one_machine() -> None:
    res = _run(
        _doc(),
        fleet__cohorts=[{"model": "TestMiner", "site": "A", "units": 1}],
    )
    assert 0 < res.per_path["total_production_btc"].values.mean() < 1e-2


@pytest.mark.parametrize(("paths", "days"), [(1, 20), (250, 1), (1, 1)])
def test_one_path_one_day(paths: int, days: int) -> None:
    res = _run(_doc(paths=paths, horizon_days=days))
    assert res.per_path.sizes["path"] == paths
    assert res.daily.sizes["day"] == days


@pytest.mark.slow
def test_one_hundred_thousand_paths() -> None:
    res = _run(_doc(paths=100_000, horizon_days=2))
    assert res.per_path.sizes["path"] == 100_000
    assert math.isfinite(float(res.per_path["final_cash_usd"].mean()))
