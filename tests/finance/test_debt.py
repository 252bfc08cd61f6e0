"""Debt schedules to the cent, day-count conventions, conversions, puts, refinancing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from finance_helpers import START, book, day, run

from hashfleet.finance.capital import run_day
from hashfleet.finance.debt import add_months, amortisation_schedule
from hashfleet.scenario.capital import CapitalSpec, TermLoanSpec

LOAN = {
    "kind": "term_loan",
    "name": "tl",
    "principal_usd": 1_000_000,
    "draw_date": "2026-01-01",
    "rate_per_year": 0.12,
    "term_months": 12,
}

# Hand-computed (pencil and Decimal): payment = 1e6·0.01/(1 − 1.01^−12) = 88,848.79;
# interest_k = round(balance·0.01, 2) under 30/360; principal = payment − interest.
HAND = [
    (10000.00, 78848.79, 921151.21),
    (9211.51, 79637.28, 841513.93),
    (8415.14, 80433.65, 761080.28),
    (7610.80, 81237.99, 679842.29),
    (6798.42, 82050.37, 597791.92),
    (5977.92, 82870.87, 514921.05),
    (5149.21, 83699.58, 431221.47),
    (4312.21, 84536.58, 346684.89),
    (3466.85, 85381.94, 261302.95),
    (2613.03, 86235.76, 175067.19),
    (1750.67, 87098.12, 87969.07),
    (879.69, 87969.07, 0.00),
]


def test_add_months_clips_to_month_end() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 11, 15), 3) == dt.date(2027, 2, 15)


def test_annuity_schedule_matches_hand_computation_to_the_cent() -> None:
    rows = amortisation_schedule(TermLoanSpec.model_validate(LOAN))
    got = [(r.interest_usd, r.principal_usd, r.balance_usd) for r in rows]
    assert got == HAND
    assert rows[0].date == dt.date(2026, 2, 1) and rows[-1].date == dt.date(2027, 1, 1)


def test_simulated_path_pays_the_hand_schedule_to_the_cent() -> None:
    spec = CapitalSpec.model_validate({"instruments": [LOAN], "check_identities": True})
    b = book(spec, cash=2_000_000.0)
    paid = []
    for d in range(366):
        run_day(b, day(d, 1))
        lg = b.state.ledger.cash
        if "interest" in lg and lg["interest"][0] != 0:
            paid.append(
                (
                    round(-lg["interest"][0], 2),
                    round(-lg["principal"][0], 2),
                    round(b.state.debt_usd[0, 0], 2),
                )
            )
    assert paid == HAND
    # cash: 2e6 + 1e6 drawn − 12 × 88,848.79 − last-payment difference, to the cent
    total = sum(i + p for i, p, _ in HAND)
    assert b.state.cash_usd[0] == pytest.approx(3_000_000 - total, abs=0.005)


def test_linear_and_bullet() -> None:
    lin = amortisation_schedule(TermLoanSpec.model_validate(LOAN | {"amortisation": "linear"}))
    assert [r.principal_usd for r in lin[:11]] == [83333.33] * 11
    assert lin[-1].principal_usd == pytest.approx(1_000_000 - 11 * 83333.33, abs=1e-6)
    bul = amortisation_schedule(TermLoanSpec.model_validate(LOAN | {"amortisation": "bullet"}))
    assert all(r.interest_usd == 10000.00 for r in bul)
    assert bul[-1].principal_usd == 1_000_000


CONV = {
    "kind": "convertible",
    "name": "cv",
    "principal_usd": 172_500_000,
    "issue_date": "2025-07-01",
    "maturity_date": "2027-07-01",
    "coupon_per_year": 0.0075,
    "conversion_price_usd_per_share": 1000.0,
}


def test_convert_coupon_to_the_cent() -> None:
    # 30/360 semi-annual: 172,500,000 × 0.75 % / 2 = 646,875.00 on 2026-01-01 and 2026-07-01
    spec = CapitalSpec.model_validate({"instruments": [CONV], "check_identities": True})
    b = book(spec, cash=10_000_000.0)
    coupons = {}
    for d in range(365):
        run_day(b, day(d, 1))
        i = b.state.ledger.cash.get("interest")
        if i is not None and i[0] != 0:
            coupons[(START + dt.timedelta(days=d)).isoformat()] = -i[0]
    assert coupons == {"2026-01-01": 646_875.00, "2026-07-01": 646_875.00}


def test_btc_loan_interest_is_actual_365() -> None:
    loan = {
        "kind": "btc_loan",
        "name": "b",
        "principal_usd": 10_000_000,
        "draw_date": "2026-01-01",
        "rate_per_year": 0.08,
        "term_months": 3,
    }
    spec = CapitalSpec.model_validate({"instruments": [loan], "check_identities": True})
    b = book(spec, cash=1e6, btc=1000.0)
    for d in range(32):
        run_day(b, day(d, 1))
        if d == 31:  # 2026-02-01: 31 days accrued on 1e7 at 8 % Act/365
            assert -b.state.ledger.cash["interest"][0] == pytest.approx(
                10_000_000 * 0.08 * 31 / 365, abs=1e-6
            )


def test_put_when_out_of_the_money_and_conversion_when_in() -> None:
    put = CONV | {"put_dates": ["2026-03-01"], "conversion_price_usd_per_share": 1e9}
    spec = CapitalSpec.model_validate(
        {"instruments": [put], "check_identities": True, "equity": {"shares_outstanding": 1e6}}
    )
    b = book(spec, cash=5e8)
    run(b, np.full(70, 50_000.0))
    assert b.state.debt_usd[0, 0] == 0.0
    assert set(b.events()["kind"]) == {"put"}
    call = CONV | {"conversion_price_usd_per_share": 1.0, "call_from_date": "2026-01-10"}
    spec = CapitalSpec.model_validate(
        {"instruments": [call], "check_identities": True, "equity": {"shares_outstanding": 1e6}}
    )
    b = book(spec, cash=5e8)
    run(b, np.full(20, 50_000.0))
    assert b.state.debt_usd[0, 0] == 0.0
    assert b.state.shares[0] == pytest.approx(1e6 + 172_500_000)
    ev = b.events()
    assert list(ev["kind"]) == ["conversion"] and list(ev["day"]) == [9]


def test_refinancing_at_maturity_depends_on_the_stress_indicator() -> None:
    loan = LOAN | {
        "amortisation": "bullet",
        "term_months": 2,
        "refinance": {
            "mode": "market",
            "max_drawdown": 0.3,
            "base_rate_per_year": 0.1,
            "stress_spread_per_year": 0.2,
            "term_months": 6,
            "fee_share": 0.01,
        },
    }
    spec = CapitalSpec.model_validate({"instruments": [loan], "check_identities": True})
    b = book(spec, n_paths=2, cash=5e6)
    # path 0: price flat (market open), path 1: down 50 % by maturity (closed)
    prices = np.stack([np.full(70, 100.0), np.linspace(100.0, 50.0, 70)], axis=1)
    for d in range(70):
        run_day(b, day(d, 2, price=prices[d]))
    assert b.state.debt_usd[:, 0].tolist() == [1_000_000.0, 0.0]
    assert b.rate[0, 0] == pytest.approx(0.10)
    ev = b.events()
    assert set(zip(ev["path"], ev["kind"], strict=True)) == {
        (0, "refinanced"),
        (1, "repaid_at_maturity"),
    }


def test_put_is_refinanced_when_the_market_is_open() -> None:
    ref = {
        "mode": "market",
        "max_drawdown": 0.3,
        "base_rate_per_year": 0.05,
        "stress_spread_per_year": 0.0,
        "term_months": 12,
        "fee_share": 0.0,
    }
    put = CONV | {
        "put_dates": ["2026-03-01"],
        "conversion_price_usd_per_share": 1e9,
        "refinance": ref,
    }
    spec = CapitalSpec.model_validate(
        {"instruments": [put], "check_identities": True, "equity": {"shares_outstanding": 1e6}}
    )
    b = book(spec, n_paths=2, cash=5e8)
    prices = np.stack([np.full(70, 100.0), np.linspace(100.0, 40.0, 70)], axis=1)
    for d in range(70):
        run_day(b, day(d, 2, price=prices[d]))
    assert b.state.debt_usd[:, 0].tolist() == [172_500_000.0, 0.0]
    assert b.rate[0, 0] == pytest.approx(0.05)
    ev = b.events()
    assert set(zip(ev["path"], ev["kind"], strict=True)) == {(0, "refinanced"), (1, "put")}


def test_convert_issued_during_the_run_brings_cash_net_of_fees() -> None:
    new = CONV | {"issue_date": "2026-02-01", "maturity_date": "2028-02-01", "fee_share": 0.02}
    spec = CapitalSpec.model_validate({"instruments": [new], "check_identities": True})
    b = book(spec, cash=0.0)
    run(b, np.full(40, 50_000.0))
    assert b.state.debt_usd[0, 0] == 172_500_000
    assert b.state.cash_usd[0] == pytest.approx(172_500_000 * 0.98)
