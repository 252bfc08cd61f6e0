"""Treasury policies, ATM issuance, covenants, equipment and project loans, revolvers, and
the spec's cross-field checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from finance_helpers import book, day, run
from pydantic import ValidationError

from hashfleet.errors import InputError
from hashfleet.finance.capital import DayInputs, run_day
from hashfleet.finance.treasury import TreasuryContext, treasury_orders
from hashfleet.scenario.capital import CapitalSpec, TreasurySpec
from hashfleet.scenario.trust import ENV_ALLOW_CODE


def ctx(**kw: float) -> TreasuryContext:
    base = {
        "price_usd": 20_000.0,
        "production_btc": 2.0,
        "btc": 10.0,
        "cash_usd": 50_000.0,
        "cost_usd_per_day": 10_000.0,
    }
    base |= kw
    return TreasuryContext(
        0,
        *(
            np.array([base[k]])
            for k in ("price_usd", "production_btc", "btc", "cash_usd", "cost_usd_per_day")
        ),
    )


@pytest.mark.parametrize(
    ("policy", "extra", "sell"),
    [
        ("sell_all", {}, 2.0),
        ("hodl", {}, 0.0),
        ("sell_share", {"sell_share": 0.25}, 0.5),
        # 30 days × 10,000 − 50,000 = 250,000 USD at 20,000 × (1 − 0.001)
        ("sell_to_cover", {"cover_days": 30}, 250_000 / (20_000 * 0.999)),
        ("liquidity_floor", {"floor_usd": 90_000.0}, 40_000 / (20_000 * 0.999)),
    ],
)
def test_treasury_policies(policy: str, extra: dict, sell: float) -> None:
    spec = TreasurySpec.model_validate({"policy": policy} | extra)
    s, b = treasury_orders(spec, ctx())
    assert s[0] == pytest.approx(min(sell, 10.0))
    assert b[0] == 0.0


def test_buy_above_ceiling_and_no_sale_beyond_treasury() -> None:
    spec = TreasurySpec(policy="hodl", buy_above_usd=30_000.0)
    s, b = treasury_orders(spec, ctx())
    assert (s[0], b[0]) == (0.0, 20_000.0)
    s, _ = treasury_orders(TreasurySpec(policy="liquidity_floor", floor_usd=1e9), ctx())
    assert s[0] == 10.0  # capped by the treasury


def test_atm_is_capped_per_month_and_dilutes() -> None:
    spec = CapitalSpec.model_validate(
        {
            "check_identities": True,
            "equity": {
                "shares_outstanding": 1e6,
                "atm": True,
                "atm_trigger_usd": 1e6,
                "atm_max_usd_per_month": 3e5,
                "atm_discount_share": 0.1,
                "atm_fee_share": 0.02,
                "btc_nav_multiple": 1.0,
                "ebitda_multiple": 0.0,
            },
        }
    )
    b = book(spec, cash=0.0, btc=100.0)
    run(b, np.full(40, 10_000.0))
    st = b.state
    # two 31-day months started (days 0 and 31): 2 × 300,000 gross, 2 % commission
    assert st.equity_raised_usd[0] == pytest.approx(2 * 3e5 * 0.98)
    assert st.shares[0] > 1e6


def test_covenant_breach_cure_and_default() -> None:
    spec = CapitalSpec.model_validate(
        {
            "check_identities": True,
            "covenants": {"min_liquidity_usd": 1e6, "test_every_days": 10, "window_days": 10},
        }
    )
    b = book(spec, cash=5e5)
    run(b, np.full(35, 1.0))  # days 10, 20, 30: breach, default, breach again
    ev = b.events()
    got = [(int(d), k) for d, k in zip(ev["day"], ev["kind"], strict=True)]
    assert got == [(10, "covenant_breach"), (20, "covenant_default"), (30, "covenant_breach")]
    b = book(spec, cash=5e5)
    for d in range(25):  # 1e6 of revenue on day 12 cures the breach before the next test
        inflow = {"other_revenue": np.array([1e6 if d == 12 else 0.0])}
        run_day(b, DayInputs(d, np.ones(1), np.zeros(1), inflow, np.zeros(1)))
    ev = b.events()
    assert [(int(d), k) for d, k in zip(ev["day"], ev["kind"], strict=True)] == [
        (10, "covenant_breach"),
        (20, "covenant_cured"),
    ]


def test_equipment_loan_call_cure_and_demanded_prepayment() -> None:
    loan = {
        "kind": "equipment_loan",
        "name": "el",
        "principal_usd": 1e6,
        "draw_date": "2026-01-01",
        "rate_per_year": 0.0,
        "term_months": 24,
        "amortisation": "bullet",
        "max_ltv": 0.5,
        "cure_days": 3,
    }
    spec = CapitalSpec.model_validate({"instruments": [loan], "check_identities": True})
    b = book(spec, n_paths=2, cash=0.0)
    value = np.array([[3e6, 3e6]] * 2 + [[1.5e6, 1.5e6]] * 2 + [[3e6, 1.5e6]] * 6)
    for d, v in enumerate(value):
        run_day(b, day(d, 2, fleet_value=v))
    ev = b.events()
    assert list(zip(ev["path"], ev["day"], ev["kind"], strict=True)) == [
        (0, 2, "margin_call"),
        (1, 2, "margin_call"),
        (0, 4, "margin_call_cured"),
        (1, 5, "prepayment_demanded"),
    ]
    # path 1 owed 1e6 − 0.5 × 1.5e6 = 250,000 and had the loan's 1e6 proceeds: it paid
    assert b.state.debt_usd[1, 0] == pytest.approx(7.5e5)


def test_project_loan_sweeps_lease_revenue() -> None:
    loan = {
        "kind": "project_loan",
        "name": "pl",
        "principal_usd": 1e6,
        "draw_date": "2026-01-01",
        "rate_per_year": 0.0,
        "term_months": 60,
        "amortisation": "bullet",
        "sweep_share": 0.5,
    }
    spec = CapitalSpec.model_validate({"instruments": [loan], "check_identities": True})
    b = book(spec)
    for d in range(10):
        lease = np.array([1e4])
        run_day(
            b,
            DayInputs(
                d,
                np.array([1.0]),
                np.zeros(1),
                {"hpc_revenue": lease},
                np.zeros(1),
                {"hpc_lease_usd": lease},
            ),
        )
    assert b.state.debt_usd[0, 0] == pytest.approx(1e6 - 10 * 5e3)


def test_revolver_draws_to_the_floor_and_repays_above() -> None:
    rcf = {
        "kind": "revolver",
        "name": "rcf",
        "limit_usd": 5e5,
        "open_date": "2026-01-01",
        "maturity_date": "2027-01-01",
        "rate_per_year": 0.1,
        "draw_below_usd": 1e5,
        "repay_above_usd": 4e5,
    }
    spec = CapitalSpec.model_validate({"instruments": [rcf], "check_identities": True})
    b = book(spec, cash=0.0)
    run(b, [1.0], power=0.0)
    assert b.state.debt_usd[0, 0] == 1e5 and b.state.cash_usd[0] == 1e5
    run_day(
        b, DayInputs(1, np.ones(1), np.zeros(1), {"other_revenue": np.array([5e5])}, np.zeros(1))
    )
    assert b.state.debt_usd[0, 0] == 0.0 and b.state.cash_usd[0] == pytest.approx(6e5 - 1e5)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (
            {
                "instruments": [
                    {
                        "kind": "btc_loan",
                        "name": "b",
                        "principal_usd": 1,
                        "draw_date": "2026-01-01",
                        "rate_per_year": 0.1,
                        "initial_ltv": 0.7,
                        "margin_call_ltv": 0.6,
                    }
                ]
            },
            "initial_ltv < margin_call_ltv < liquidation_ltv",
        ),
        (
            {
                "instruments": [
                    {
                        "kind": "revolver",
                        "name": "r",
                        "limit_usd": 1,
                        "open_date": "2026-01-01",
                        "maturity_date": "2025-01-01",
                        "rate_per_year": 0.1,
                    }
                ]
            },
            "maturity_date: expected after",
        ),
        ({"treasury": {"policy": "custom"}}, "custom: expected 'module:function'"),
        ({"equity": {"shares_outstanding": 1, "atm": True}}, "atm: expected atm_trigger_usd"),
        (
            {
                "instruments": [
                    {
                        "kind": "term_loan",
                        "name": "x",
                        "principal_usd": 1,
                        "draw_date": "2026-01-01",
                        "rate_per_year": 0.1,
                        "term_months": 1,
                    },
                    {
                        "kind": "term_loan",
                        "name": "x",
                        "principal_usd": 1,
                        "draw_date": "2026-01-01",
                        "rate_per_year": 0.1,
                        "term_months": 1,
                    },
                ]
            },
            "unique names",
        ),
        ({"instruments": [{"kind": "bond", "name": "x"}]}, "expected tags"),
    ],
)
def test_spec_cross_field_checks(bad: dict, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        CapitalSpec.model_validate(bad)


def test_custom_treasury_policy_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    # finance_helpers.py sits next to this file; allowed as --allow-code would
    monkeypatch.setenv(ENV_ALLOW_CODE, str(Path(__file__).parent / "finance_helpers.py"))
    spec = CapitalSpec.model_validate(
        {
            "check_identities": True,
            "treasury": {
                "policy": "custom",
                "custom": "finance_helpers:sell_half_the_treasury",
                "trading_fee_share": 0.0,
            },
        }
    )
    b = book(spec, btc=8.0)
    run(b, [100.0, 100.0])
    assert b.state.btc[0] == pytest.approx(2.0)
    assert b.state.cash_usd[0] == pytest.approx(600.0)
    with pytest.raises(InputError, match="not allowed to run"):
        book(
            spec.model_copy(
                update={"treasury": spec.treasury.model_copy(update={"custom": "no_such_module:f"})}
            )
        )
