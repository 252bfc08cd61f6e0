"""finance/ on its own: ledger categories, opex conversion, settlement on a bare kernel,
NPV and IRR against closed forms."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given

from hashfleet.engine.core import ChunkEngine
from hashfleet.engine.streams import STREAM_BLOCK_PATHS
from hashfleet.finance.cash import FixedOpex, Settlement, opex_usd_per_day
from hashfleet.finance.ledger import DAYS_PER_YEAR, classify, is_capex
from hashfleet.finance.valuation import irr_per_year, npv_usd
from strategies import flows_usd

N = STREAM_BLOCK_PATHS


def test_capex_is_named_by_prefix() -> None:
    assert is_capex("capex_deposits_usd") and is_capex("capex_balance_usd")
    assert not is_capex("power_cost_usd") and not is_capex("asset_sales_usd")


def test_classify_sorts_flows_into_capex_opex_and_sales() -> None:
    one = np.ones(2)
    ins = {"revenue_usd": 10 * one, "asset_sales_usd": 3 * one}
    outs = {"power_cost_usd": 4 * one, "capex_deposits_usd": 5 * one, "opex_usd": 1 * one}
    f = classify(ins, outs, 2)
    np.testing.assert_array_equal(f.capex, 5 * one)
    np.testing.assert_array_equal(f.opex, 5 * one)
    np.testing.assert_array_equal(f.ebitda, 10 - 5 + 0 * one)
    np.testing.assert_array_equal(f.free_cash_flow, 13 - 5 - 5 + 0 * one)


@given(flows_usd())
def test_free_cash_flow_is_all_inflows_minus_all_outflows(flows: Any) -> None:
    ins, outs = flows
    f = classify(ins, outs, 3)
    want = sum(ins.values(), np.zeros(3)) - sum(outs.values(), np.zeros(3))
    np.testing.assert_allclose(f.free_cash_flow, want, rtol=1e-12, atol=1e-6)


def test_monthly_opex_is_spread_over_a_julian_year() -> None:
    assert opex_usd_per_day(30_000.0) == 30_000.0 * 12.0 / 365.25
    assert DAYS_PER_YEAR == 365.25


class _Model:
    """The least a kernel needs: a horizon, no exogenous processes, some components."""

    processes: tuple[Any, ...] = ()

    def __init__(self, n_days: int, components: tuple[Any, ...]) -> None:
        self.n_days = n_days
        self.components = components

    def new_day(self) -> Any:
        class Day:
            def set_exogenous(self, values: Any) -> None:
                pass

        return Day()


class _Sales:
    """Books USD 100 of revenue a day."""

    def attach(self, engine: ChunkEngine) -> None:
        engine.add_step(40, "sales", lambda day: engine.book("revenue_usd", np.full(N, 100.0)))


def test_settlement_moves_cash_by_the_booked_flows() -> None:
    days: list[dict[str, Any]] = []
    model = _Model(5, (_Sales(), FixedOpex(30.0), Settlement(1_000.0, 2.0)))
    engine = ChunkEngine(model, 1, 0, 1, lambda d, o, v: days.append(dict(v)))
    engine.run_until(5)
    assert [float(d["cash_usd"][0]) for d in days] == [1070.0, 1140.0, 1210.0, 1280.0, 1350.0]
    assert float(days[0]["revenue_usd"][0]) == 100.0 and float(days[0]["opex_usd"][0]) == 30.0
    np.testing.assert_array_equal(engine.btc, np.full(N, 2.0))
    assert set(engine.totalled) == {"opex_usd", "revenue_usd"}


def test_npv_discounts_at_the_annual_rate() -> None:
    flows = np.array([[-100.0, 60.0, 60.0]])
    got = npv_usd(flows, np.array([0.0, 1.0, 2.0]), 0.1)
    assert got[0] == pytest.approx(-100 + 60 / 1.1 + 60 / 1.21)


def test_irr_of_a_one_year_loan_is_its_rate() -> None:
    monthly = np.zeros((2, 13))
    monthly[:, 0] = -100.0
    monthly[0, 12] = 110.0
    monthly[1, 12] = 125.0
    np.testing.assert_allclose(irr_per_year(monthly), [0.10, 0.25], rtol=1e-9)


def test_irr_is_nan_when_flows_never_change_sign() -> None:
    """No sign change, no IRR: NaN, never a sentinel (issue 15)."""
    monthly = np.array([[10.0, 10.0], [-1.0, -1.0], [0.0, 0.0]])
    assert np.isnan(irr_per_year(monthly)).all()
