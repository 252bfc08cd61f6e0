"""The capital plan's specification: instruments, treasury, equity, covenants, refinancing.

These are frozen pydantic sections built on the scenario schema's :class:`Spec` base and
``_f`` field helper, so every field has a unit, bounds and a description and the scenario
reference can be generated from them.  At integration the :class:`CapitalSpec` becomes the
optional ``capital:`` section of a scenario.

Dates are calendar dates (UTC); the engine maps them to simulation days since the scenario's
start.  Rates are nominal per year.  Day-count conventions (stated once, in
:mod:`hashfleet.finance.debt`): term, equipment and project loans and convertible coupons are
**30/360** (a monthly period accrues ``rate/12``, a semi-annual coupon ``rate/2``); BTC-backed
loans and the revolver accrue **Actual/365 Fixed** daily and pay monthly.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from hashfleet.scenario.fields import Spec, _f

__all__ = [
    "BtcLoanSpec",
    "CapitalSpec",
    "ConvertibleSpec",
    "CovenantsSpec",
    "EquipmentLoanSpec",
    "EquitySpec",
    "InstrumentSpec",
    "ProjectLoanSpec",
    "RefinanceSpec",
    "RevolverSpec",
    "TermLoanSpec",
    "TreasurySpec",
]


class RefinanceSpec(Spec):
    """What happens to a balance at maturity: repaid in cash, or rolled on market terms.

    ``market``: a path rolls its balance into a bullet loan (monthly 30/360 interest) at
    ``base_rate_per_year + stress_spread_per_year · drawdown`` where the stress indicator
    ``drawdown`` is the BTC price's fall from its running maximum (0..1), the maximum starting
    from history's highest close of the 365 days before the run (so a day-0 crash counts); a
    path whose drawdown exceeds ``max_drawdown`` finds no lender and must repay in cash.
    """

    mode: Literal["none", "market"] = _f(
        "none", description="none: repay at maturity; market: roll on market terms if open."
    )
    base_rate_per_year: float = _f(
        0.10, unit="1/year", ge=0, le=1, description="Rate of a roll with no stress."
    )
    stress_spread_per_year: float = _f(
        0.10,
        unit="1/year",
        ge=0,
        le=1,
        description="Extra rate per unit of BTC drawdown from its running maximum.",
    )
    max_drawdown: float = _f(
        0.6,
        unit="1",
        ge=0,
        le=1,
        description="Above this BTC drawdown the market is closed: no roll, repay in cash.",
    )
    term_months: int = _f(24, unit="month", ge=1, le=240, description="Term of each roll.")
    fee_share: float = _f(
        0.02, unit="1", ge=0, le=0.2, description="Fee on the rolled balance, paid in cash."
    )


class _LoanBase(Spec):
    name: str = _f(min_length=1, description="Instrument name (unique), used in outputs.")
    principal_usd: float = _f(unit="USD", gt=0, le=1e13, description="Amount drawn.")
    draw_date: dt.date = _f(description="Date drawn (may be before the run's start).")
    rate_per_year: float = _f(unit="1/year", ge=0, le=1, description="Nominal interest rate.")
    fee_share: float = _f(
        0.0, unit="1", ge=0, le=0.2, description="Upfront fee on the principal, paid at draw."
    )
    refinance: RefinanceSpec = _f(RefinanceSpec(), description="What happens at maturity.")


class TermLoanSpec(_LoanBase):
    """An amortising (annuity or linear) or bullet term loan; monthly 30/360 payments."""

    kind: Literal["term_loan"] = "term_loan"
    term_months: int = _f(unit="month", ge=1, le=360, description="Months to maturity.")
    amortisation: Literal["annuity", "linear", "bullet"] = _f(
        "annuity",
        description="annuity: equal monthly payments; linear: equal principal; bullet: all "
        "principal at maturity.",
    )


class EquipmentLoanSpec(TermLoanSpec):
    """A term loan secured on the fleet, valued at the secondary ASIC price.

    Collateral value = ``collateral_share`` × Σ installed units × TH/s × secondary USD/TH.
    When ``LTV = outstanding / collateral`` exceeds ``max_ltv`` a margin call opens; if it is
    not cured (by prices or a prepayment) within ``cure_days``, the lender demands the
    prepayment that restores ``max_ltv``: that cash is due.
    """

    kind: Literal["equipment_loan"] = "equipment_loan"  # type: ignore[assignment]
    collateral_share: float = _f(
        1.0, unit="1", gt=0, le=1, description="Share of the fleet pledged."
    )
    max_ltv: float = _f(0.8, unit="1", gt=0, le=5, description="LTV above which a call opens.")
    cure_days: int = _f(30, unit="day", ge=0, le=365, description="Days to cure a call.")


class ProjectLoanSpec(TermLoanSpec):
    """Project debt of an AI/HPC conversion: a term loan that also sweeps a share of the
    named booked inflows (the lease revenue) into prepayment."""

    kind: Literal["project_loan"] = "project_loan"  # type: ignore[assignment]
    sweep_flows: tuple[str, ...] = _f(
        ("hpc_lease_usd",), description="Booked inflow names whose cash is swept."
    )
    sweep_share: float = _f(
        0.0, unit="1", ge=0, le=1, description="Share of those inflows prepaid each day."
    )


class ConvertibleSpec(Spec):
    """A convertible note: coupon, maturity, holder put dates, conversion.

    Conversion (all of the note) at ``conversion_price_usd_per_share`` when the share-price
    proxy (:mod:`hashfleet.finance.equity`) closes at or above ``call_trigger`` × the
    conversion price on or after ``call_from_date`` (the issuer's soft call), and at maturity
    when the proxy is at or above the conversion price.  On a put date, holders put
    ``put_share`` of the balance at par when the proxy is below the conversion price.
    """

    kind: Literal["convertible"] = "convertible"
    name: str = _f(min_length=1, description="Instrument name (unique), used in outputs.")
    principal_usd: float = _f(unit="USD", gt=0, le=1e13, description="Face value.")
    issue_date: dt.date = _f(description="Issue date (may be before the run's start).")
    maturity_date: dt.date = _f(description="Maturity date.")
    coupon_per_year: float = _f(0.0, unit="1/year", ge=0, le=1, description="Cash coupon.")
    fee_share: float = _f(
        0.0, unit="1", ge=0, le=0.2, description="Issuance fee on the face, paid at issue."
    )
    coupon_months: int = _f(6, unit="month", ge=1, le=12, description="Months between coupons.")
    conversion_price_usd_per_share: float = _f(
        unit="USD/share",
        ge=1e-6,
        le=1e9,
        description="Face value per share received on conversion.",
    )
    call_trigger: float = _f(
        1.3, unit="1", ge=1, le=100, description="Proxy / conversion price that forces conversion."
    )
    call_from_date: dt.date | None = _f(
        None, description="First date the soft call applies (default: never)."
    )
    put_dates: tuple[dt.date, ...] = _f((), max_length=1000, description="Holder put dates.")
    put_share: float = _f(1.0, unit="1", ge=0, le=1, description="Share put when out of money.")
    refinance: RefinanceSpec = _f(RefinanceSpec(), description="What happens at maturity.")

    @model_validator(mode="after")
    def _dates(self) -> ConvertibleSpec:
        if self.maturity_date <= self.issue_date:
            raise ValueError(
                f"{self.name}.maturity_date: expected after issue_date {self.issue_date}, "
                f"got {self.maturity_date}"
            )
        for d in self.put_dates:
            if not self.issue_date < d < self.maturity_date:
                raise ValueError(
                    f"{self.name}.put_dates: expected dates between issue and maturity, got {d}"
                )
        return self


class BtcLoanSpec(_LoanBase):
    """A bullet loan secured on BTC moved from the treasury to the lender at draw.

    ``LTV = (outstanding + accrued) / (collateral BTC × price)``.  At or above
    ``margin_call_ltv`` a call opens (event) and the treasury tops up collateral (BTC first,
    then cash prepays principal) back to ``initial_ltv``; a call still open after
    ``cure_days`` days, or an LTV at or above ``liquidation_ltv`` on any day, liquidates: the
    lender sells collateral at ``(1 − liquidation_haircut)`` × price to repay everything and
    returns the rest.  Interest: Actual/365 daily accrual, paid monthly.
    """

    kind: Literal["btc_loan"] = "btc_loan"
    term_months: int = _f(12, unit="month", ge=1, le=120, description="Months to maturity.")
    initial_ltv: float = _f(0.5, unit="1", gt=0, lt=1, description="LTV at draw.")
    margin_call_ltv: float = _f(0.7, unit="1", gt=0, lt=1, description="LTV opening a call.")
    liquidation_ltv: float = _f(0.85, unit="1", gt=0, le=1, description="LTV liquidating.")
    cure_days: int = _f(2, unit="day", ge=0, le=60, description="Days to cure a margin call.")
    liquidation_haircut: float = _f(
        0.05, unit="1", ge=0, lt=1, description="Discount to price of the forced sale."
    )

    @model_validator(mode="after")
    def _ltv_order(self) -> BtcLoanSpec:
        if not self.initial_ltv < self.margin_call_ltv < self.liquidation_ltv:
            raise ValueError(
                f"{self.name}: expected initial_ltv < margin_call_ltv < liquidation_ltv, got "
                f"{self.initial_ltv} / {self.margin_call_ltv} / {self.liquidation_ltv}"
            )
        return self


class RevolverSpec(Spec):
    """A revolving credit facility: drawn when cash falls below ``draw_below_usd`` (and to
    pay what is due), repaid from cash above ``repay_above_usd``; Actual/365 interest on the
    drawn and commitment fee on the undrawn, paid monthly; all due at maturity."""

    kind: Literal["revolver"] = "revolver"
    name: str = _f(min_length=1, description="Instrument name (unique), used in outputs.")
    limit_usd: float = _f(unit="USD", gt=0, le=1e13, description="Commitment.")
    open_date: dt.date = _f(description="Date the facility opens.")
    maturity_date: dt.date = _f(description="Date the facility ends (all drawn is due).")
    rate_per_year: float = _f(unit="1/year", ge=0, le=1, description="Rate on the drawn.")
    commitment_fee_per_year: float = _f(
        0.005, unit="1/year", ge=0, le=0.1, description="Fee on the undrawn."
    )
    draw_below_usd: float = _f(
        0.0, unit="USD", ge=0, le=1e13, description="Draw to keep cash this high."
    )
    repay_above_usd: float = _f(
        0.0, unit="USD", ge=0, le=1e13, description="Repay with cash above this (0: never early)."
    )
    refinance: RefinanceSpec = _f(RefinanceSpec(), description="What happens at maturity.")

    @model_validator(mode="after")
    def _dates(self) -> RevolverSpec:
        if self.maturity_date <= self.open_date:
            raise ValueError(
                f"{self.name}.maturity_date: expected after open_date, got {self.maturity_date}"
            )
        if self.repay_above_usd and self.repay_above_usd <= self.draw_below_usd:
            raise ValueError(
                f"{self.name}.repay_above_usd: expected above draw_below_usd "
                f"{self.draw_below_usd}, got {self.repay_above_usd}"
            )
        return self


InstrumentSpec = Annotated[
    TermLoanSpec
    | EquipmentLoanSpec
    | ProjectLoanSpec
    | ConvertibleSpec
    | BtcLoanSpec
    | RevolverSpec,
    Field(discriminator="kind"),
]


class TreasurySpec(Spec):
    """What the company does with the BTC it mines and holds (:mod:`hashfleet.finance.treasury`).

    Whatever the policy, BTC is also sold when cash cannot pay what is due (before a path is
    declared insolvent).
    """

    policy: Literal[
        "sell_all", "hodl", "sell_share", "sell_to_cover", "liquidity_floor", "custom"
    ] = _f("sell_all", description="The daily treasury policy.")
    sell_share: float = _f(
        1.0, unit="1", ge=0, le=1, description="sell_share: share of each day's production sold."
    )
    cover_days: int = _f(
        30, unit="day", ge=1, le=365, description="sell_to_cover: days of trailing costs covered."
    )
    floor_usd: float = _f(
        0.0,
        unit="USD",
        ge=0,
        le=1e13,
        description="liquidity_floor: sell BTC to keep cash this high.",
    )
    buy_above_usd: float | None = _f(
        None,
        unit="USD",
        gt=0,
        le=1e13,
        description="Buy BTC with cash above this ceiling (any policy).",
    )
    trading_fee_share: float = _f(
        0.001, unit="1", ge=0, le=0.05, description="Fee on every BTC sale or purchase."
    )
    custom: str | None = _f(
        None, description="custom: 'module:function' returning BTC to sell (< 0: buy) per path."
    )

    @model_validator(mode="after")
    def _params(self) -> TreasurySpec:
        if self.policy == "custom" and not self.custom:
            raise ValueError("custom: expected 'module:function' when policy is custom, got None")
        if self.policy == "liquidity_floor" and self.floor_usd <= 0:
            raise ValueError("floor_usd: expected > 0 for policy liquidity_floor, got 0")
        if (
            self.buy_above_usd is not None
            and self.policy == "liquidity_floor"
            and self.buy_above_usd <= self.floor_usd
        ):
            raise ValueError(
                f"buy_above_usd: expected above floor_usd {self.floor_usd}, got "
                f"{self.buy_above_usd}"
            )
        return self


class EquitySpec(Spec):
    """Shares and at-the-market (ATM) issuance (:mod:`hashfleet.finance.equity`)."""

    shares_outstanding: float = _f(unit="share", ge=1, le=1e15, description="Shares at the start.")
    atm: bool = _f(False, description="Sell shares at the market when liquidity is low.")
    atm_trigger_usd: float = _f(
        0.0, unit="USD", ge=0, le=1e13, description="Issue when cash falls below this."
    )
    atm_discount_share: float = _f(
        0.05, unit="1", ge=0, lt=1, description="Discount to the share-price proxy."
    )
    atm_max_usd_per_month: float = _f(
        0.0, unit="USD/month", ge=0, le=1e13, description="Gross proceeds cap per calendar month."
    )
    atm_fee_share: float = _f(0.02, unit="1", ge=0, lt=0.2, description="Agent's commission.")
    btc_nav_multiple: float = _f(
        1.0,
        unit="1",
        ge=0,
        le=1e4,
        description="Proxy: multiple of the BTC treasury's value (mNAV).",
    )
    ebitda_multiple: float = _f(
        6.0,
        unit="1",
        ge=0,
        le=1e4,
        description="Proxy: EV multiple of trailing annualised EBITDA.",
    )
    ebitda_window_days: int = _f(
        90, unit="day", ge=1, le=365, description="Trailing window of the proxy's EBITDA."
    )

    @model_validator(mode="after")
    def _atm(self) -> EquitySpec:
        if self.atm and (self.atm_trigger_usd <= 0 or self.atm_max_usd_per_month <= 0):
            raise ValueError(
                "atm: expected atm_trigger_usd > 0 and atm_max_usd_per_month > 0 when atm is "
                f"on, got {self.atm_trigger_usd} and {self.atm_max_usd_per_month}"
            )
        return self


class CovenantsSpec(Spec):
    """Financial covenants tested on dates (:mod:`hashfleet.finance.covenants`).

    Net leverage = (debt − cash) / trailing annualised EBITDA; debt-service cover = trailing
    EBITDA / trailing interest and scheduled principal over the same window.  A breach opens a
    cure period; still in breach at the next test date it becomes a default (event), which
    accelerates all debt when ``default_accelerates``.
    """

    min_liquidity_usd: float | None = _f(
        None, unit="USD", ge=0, le=1e13, description="Cash at least."
    )
    max_net_leverage: float | None = _f(
        None, unit="1", gt=0, le=1e4, description="Net debt/EBITDA."
    )
    min_dscr: float | None = _f(None, unit="1", gt=0, le=1e4, description="Debt-service cover.")
    test_every_days: int = _f(91, unit="day", ge=1, le=366, description="Days between tests.")
    window_days: int = _f(91, unit="day", ge=7, le=366, description="Trailing metric window.")
    default_accelerates: bool = _f(
        False, description="An uncured breach makes every balance due at once."
    )


class CapitalSpec(Spec):
    """The capital plan: treasury policy, debt stack, equity and covenants.

    Starting cash and BTC are the scenario's ``company`` section.
    """

    instruments: tuple[InstrumentSpec, ...] = _f((), max_length=1000, description="The debt stack.")
    treasury: TreasurySpec = _f(TreasurySpec(), description="Treasury policy.")
    equity: EquitySpec = _f(
        EquitySpec(shares_outstanding=1e8), description="Shares and at-the-market issuance."
    )
    covenants: CovenantsSpec = _f(CovenantsSpec(), description="Financial covenants.")
    tax_rate: float = _f(
        0.0, unit="1", ge=0, le=0.6, description="Cash tax on each day's positive pre-tax profit."
    )
    check_identities: bool = _f(
        False, description="Check the ledger identities every day (debug; tests turn it on)."
    )

    @model_validator(mode="after")
    def _unique_names(self) -> CapitalSpec:
        names = [i.name for i in self.instruments]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"instruments: expected unique names, got duplicates {dup}")
        return self
