"""The ``hpc:`` scenario section: conversion projects, leases, tenant credit, policies, debt.

Frozen pydantic models with the scenario's conventions (unknown keys are errors, numbers
finite); every field carries its unit, bounds and a description, so the scenario reference can
be generated from them.  :class:`Spec` and :func:`_f` mirror those of
:mod:`hashfleet.scenario.schema` (a test keeps them identical) so that this module imports
nothing from the package: ``schema.py`` can then import :class:`HpcSpec` for its ``hpc:``
field without an import cycle.  Cross-field checks say
how to fix the input.  Checks that need the rest of the scenario (site names, site capacity)
are in :func:`check_against_sites`.

Distributions (delays in days, cost overruns as a share of budget) are named by the
scenario::

    delay_days: {kind: lognormal, median: 60, sigma: 0.8}
    delay_days: {kind: uniform, low: 0, high: 180}
    delay_days: {kind: triangular, low: 0, mode: 30, high: 365}
    overrun_share: {kind: fixed, value: 0.3}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field, model_validator

from hashfleet.scenario.fields import Spec, _f

__all__ = [
    "BackstopSpec",
    "DefaultSpec",
    "DistributionSpec",
    "FinancingSpec",
    "FixedDist",
    "HpcPolicySpec",
    "HpcSpec",
    "LeaseSpec",
    "LognormalDist",
    "PhaseSpec",
    "ProjectSpec",
    "ReconversionSpec",
    "ReleaseSpec",
    "TriangularDist",
    "UniformDist",
    "check_against_sites",
]


# --------------------------------------------------------------------- distributions


class FixedDist(Spec):
    """Always the same value."""

    kind: Literal["fixed"] = "fixed"
    value: float = _f(
        0.0, ge=0, le=1e6, description="The value (in the unit of the field using it)."
    )


class UniformDist(Spec):
    """Uniform on ``[low, high]``."""

    kind: Literal["uniform"] = "uniform"
    low: float = _f(ge=0, le=1e6, description="Lower bound.")
    high: float = _f(ge=0, le=1e6, description="Upper bound (≥ low).")

    @model_validator(mode="after")
    def _ordered(self) -> UniformDist:
        if self.high < self.low:
            raise ValueError(f"high: expected ≥ low = {self.low}, got {self.high}")
        return self


class TriangularDist(Spec):
    """Triangular with ``low ≤ mode ≤ high``."""

    kind: Literal["triangular"] = "triangular"
    low: float = _f(ge=0, le=1e6, description="Lower bound.")
    mode: float = _f(ge=0, le=1e6, description="Most likely value.")
    high: float = _f(ge=0, le=1e6, description="Upper bound.")

    @model_validator(mode="after")
    def _ordered(self) -> TriangularDist:
        if not self.low <= self.mode <= self.high or self.high == self.low:
            raise ValueError(
                f"expected low ≤ mode ≤ high and low < high, got low={self.low}, "
                f"mode={self.mode}, high={self.high}"
            )
        return self


class LognormalDist(Spec):
    """Lognormal: ``median · exp(sigma · Z)``, ``Z`` standard normal."""

    kind: Literal["lognormal"] = "lognormal"
    median: float = _f(ge=1e-9, le=1e6, description="Median (the mean is median · exp(sigma²/2)).")
    sigma: float = _f(gt=0, le=5, description="Standard deviation of the log.")


DistributionSpec = Annotated[
    FixedDist | UniformDist | TriangularDist | LognormalDist, Field(discriminator="kind")
]


# ------------------------------------------------------------------------- projects


class PhaseSpec(Spec):
    """One hall (phase) of a conversion project."""

    gross_mw: float = _f(
        unit="MW", ge=1e-6, le=1e5, description="Site MW the phase takes from mining."
    )
    start_offset_days: int = _f(
        0,
        unit="day",
        ge=0,
        le=36_500,
        description="Planned works start after the project's start (before delays of earlier "
        "phases, which push it back).",
    )
    build_days: int = _f(unit="day", ge=1, le=36_500, description="Planned works start to live.")
    delay_days: DistributionSpec | None = _f(
        None,
        unit="day",
        description="This phase's random delay, replacing the project's `delay_days`.",
    )


class ProjectSpec(Spec):
    """A conversion of part of a site from mining to AI/HPC hosting."""

    name: str = _f(min_length=1, description="Unique project name.")
    site: str = _f(min_length=1, description="Site converted (a `fleet.sites` name).")
    start_date: dt.date | None = _f(
        None,
        description="Works start of the fixed plan. None: the project starts when the policy "
        "(`hpc.policy`) says so, path by path.",
    )
    total_gross_mw: float | None = _f(
        None,
        unit="MW",
        ge=1e-6,
        le=1e5,
        description="Site MW of the whole project; if given, the phases must sum to it.",
    )
    it_ratio: float = _f(
        gt=0,
        le=1,
        description="Critical IT MW per gross MW (≈ 1/PUE of the data hall, e.g. 0.70–0.80).",
    )
    phases: list[PhaseSpec] = _f(
        min_length=1, max_length=1000, description="Halls built, in order."
    )
    stop_mining: Literal["all_at_once", "by_phase"] = _f(
        "all_at_once",
        description="`all_at_once`: mining stops on every phase's MW at the first works "
        "start; `by_phase`: each phase's MW stops mining at its own works start.",
    )
    capex_usd_per_mw_it: float = _f(
        unit="USD/MW", ge=0, le=1e9, description="Build cost per MW of critical IT (budget)."
    )
    capex_tranches: list[tuple[float, float]] = _f(
        [(0.2, 0.0), (0.5, 0.5), (0.3, 1.0)],
        description="(share of a phase's capex, when as a share of its actual build time "
        "from works start) pairs; shares sum to 1.",
    )
    delay_days: DistributionSpec = _f(
        FixedDist(),
        unit="day",
        description="Random delay of each phase (drawn per phase and path); a phase's delay "
        "pushes back its live date and every later phase.",
    )
    overrun_share: DistributionSpec = _f(
        FixedDist(),
        description="Cost overrun as a share of budget (drawn per project and path; capex "
        "× (1 + overrun)).",
    )
    displaced: Literal["move", "store", "sell"] = _f(
        "store",
        description="Machines displaced from the converted MW: moved to the same model's "
        "column at another site with free capacity (the rest stored), stored (back at "
        "reconversion), or sold at the secondary price.",
    )

    @property
    def gross_mw(self) -> float:
        """Site MW of the whole project (sum of its phases)."""
        return float(sum(p.gross_mw for p in self.phases))

    @property
    def it_mw(self) -> float:
        """Critical IT MW of the whole project."""
        return self.gross_mw * self.it_ratio

    @model_validator(mode="after")
    def _tranches(self) -> ProjectSpec:
        if self.total_gross_mw is not None and abs(self.gross_mw - self.total_gross_mw) > 1e-6:
            raise ValueError(
                f"phases: expected gross_mw summing to total_gross_mw = {self.total_gross_mw:g}, "
                f"got {self.gross_mw:g}"
            )
        shares = [s for s, _ in self.capex_tranches]
        if not self.capex_tranches or any(s < 0 for s in shares):
            raise ValueError(f"capex_tranches: expected shares ≥ 0, got {self.capex_tranches}")
        if abs(sum(shares) - 1.0) > 1e-9:
            raise ValueError(
                f"capex_tranches: expected shares summing to 1, got {sum(shares):.6g}; scale them"
            )
        if any(not 0.0 <= at <= 1.0 for _, at in self.capex_tranches):
            raise ValueError(
                "capex_tranches: expected each `at` in [0, 1] (share of build time), got "
                f"{[at for _, at in self.capex_tranches]}"
            )
        return self


# --------------------------------------------------------------------------- leases


class BackstopSpec(Spec):
    """A third party's guarantee of the tenant's rent after a default."""

    share: float = _f(
        1.0, ge=0, le=1, description="Share of each scheduled invoice paid after a default."
    )
    months: int = _f(
        unit="month",
        ge=0,
        le=600,
        description="Invoices covered: those dated within this many months of the default "
        "(and inside the base term).",
    )


class DefaultSpec(Spec):
    """Tenant default: a hazard, optionally raised when a named market driver falls."""

    annual_rate: float = _f(
        0.0,
        unit="1/year",
        ge=0,
        le=10,
        description="Default hazard per year of an active lease (constant part).",
    )
    driver: Literal["none", "btc_drawdown", "hashprice_drawdown"] = _f(
        "none",
        description="Market driver raising the hazard: the drawdown of the BTC price or of "
        "hashprice from its running maximum since day 0 (a share in [0, 1)).",
    )
    driver_sensitivity: float = _f(
        0.0,
        ge=0,
        le=100,
        description="k in hazard = annual_rate × (1 + k × drawdown).",
    )
    forced_month: int | None = _f(
        None,
        unit="month",
        ge=0,
        le=600,
        description="Deterministic default at the invoice of this lease month (0 = the "
        "first), on every path, instead of the hazard (stress scenarios, tests).",
    )


class ReleaseSpec(Spec):
    """Re-leasing after a default or a term end without renewal."""

    delay_days: DistributionSpec = _f(
        FixedDist(value=180.0), unit="day", description="Idle time until a new tenant pays."
    )
    haircut_share: float = _f(
        0.2,
        ge=0,
        lt=1,
        description="New rent = the escalated rent at the default × (1 − haircut).",
    )


class ReconversionSpec(Spec):
    """Turning the halls back into a mining site."""

    capex_usd_per_mw: float = _f(
        150_000.0,
        unit="USD/MW",
        ge=0,
        le=1e9,
        description="Cost per gross MW (paid at works start).",
    )
    delay_days: DistributionSpec = _f(
        FixedDist(value=90.0), unit="day", description="Works duration, random."
    )


class LeaseSpec(Spec):
    """The tenant's lease of a project's critical IT MW.

    Rent is invoiced monthly in advance on the lease's monthly anniversary (calendar months
    from the commencement date, the day of month clamped to the month's end), each invoice
    rounded to the cent.
    """

    rent_usd_per_kw_month: float | None = _f(
        None,
        unit="USD/kW/month",
        gt=0,
        le=1e4,
        description="Base rent per kW of critical IT per month (or give rent_usd_per_mw_year).",
    )
    rent_usd_per_mw_year: float | None = _f(
        None,
        unit="USD/MW/year",
        gt=0,
        le=1.2e8,
        description="Base rent per MW of critical IT per year (= kW-month rent × 12,000).",
    )
    escalator_per_year: float = _f(
        0.0,
        unit="1/year",
        ge=-0.5,
        le=0.5,
        description="Rent growth applied on each lease anniversary, compounding.",
    )
    term_months: int = _f(unit="month", ge=1, le=600, description="Base term.")
    ramp_shares: list[float] = _f(
        [],
        description="Share of the IT MW billed in lease months 0, 1, ... (1 after the list).",
    )
    renewal_options: int = _f(0, ge=0, le=10, description="Renewal options after the base term.")
    renewal_months: int = _f(60, unit="month", ge=1, le=600, description="Term of each renewal.")
    renewal_probability: float = _f(
        1.0, ge=0, le=1, description="Chance each option is exercised (drawn per path)."
    )
    noi_margin: float = _f(
        0.85,
        gt=0,
        le=1,
        description="Net operating income / rent: landlord-paid opex = (1 − margin) × rent "
        "(≈ 1 for triple-net leases, 0.80–0.90 for modified gross).",
    )
    idle_opex_usd_per_mw_it_month: float = _f(
        0.0,
        unit="USD/MW/month",
        ge=0,
        le=1e7,
        description="Landlord's cost of live halls without a paying tenant.",
    )
    prepayment_share: float = _f(
        0.0,
        ge=0,
        lt=1,
        description="Share of the base-term rent prepaid at the project's works start; each "
        "base-term invoice is then collected net of the same share.",
    )
    tenant_fit_out_share: float = _f(
        0.0, ge=0, le=1, description="Share of the build capex the tenant pays."
    )

    @property
    def base_rent_usd_per_kw_month(self) -> float:
        """Base rent in USD per kW of critical IT per month."""
        if self.rent_usd_per_kw_month is not None:
            return self.rent_usd_per_kw_month
        assert self.rent_usd_per_mw_year is not None
        return self.rent_usd_per_mw_year / 12_000.0

    @model_validator(mode="after")
    def _one_rent(self) -> LeaseSpec:
        if (self.rent_usd_per_kw_month is None) == (self.rent_usd_per_mw_year is None):
            raise ValueError(
                "expected exactly one of rent_usd_per_kw_month or rent_usd_per_mw_year, got "
                f"{self.rent_usd_per_kw_month} and {self.rent_usd_per_mw_year}"
            )
        if any(not 0.0 <= s <= 1.0 for s in self.ramp_shares):
            raise ValueError(f"ramp_shares: expected shares in [0, 1], got {self.ramp_shares}")
        if len(self.ramp_shares) > self.term_months:
            raise ValueError(
                f"ramp_shares: expected at most term_months = {self.term_months} months, got "
                f"{len(self.ramp_shares)}"
            )
        return self


# ---------------------------------------------------------------------- policy, debt


class HpcPolicySpec(Spec):
    """When projects without a `start_date` start, and the limits every start obeys."""

    kind: Literal["fixed_plan", "margin_trigger", "custom"] = _f(
        "fixed_plan",
        description="`fixed_plan`: projects start on their `start_date` only; "
        "`margin_trigger`: undated projects start when the trailing mining margin per MW "
        "falls below the lease NOI per MW; `custom`: a Python class (`target`).",
    )
    trailing_months: int = _f(
        6, unit="month", ge=1, le=36, description="Trailing window of the mining margin."
    )
    threshold_share: float = _f(
        0.0,
        ge=-1,
        le=1,
        description="Start when margin per MW-year < lease NOI per MW-year × (1 − threshold).",
    )
    review_every_days: int = _f(
        30, unit="day", ge=1, le=40_000, description="Policy review interval."
    )
    capex_budget_usd: float | None = _f(
        None,
        unit="USD",
        ge=0,
        le=1e13,
        description="Most conversion capex (budget, before overruns) committed per path; a "
        "project that would exceed it does not start.",
    )
    min_mining_hashrate_ehs: float = _f(
        0.0,
        unit="EH/s",
        ge=0,
        le=1e9,
        description="A project does not start if the running hashrate scaled by the mining "
        "MW left would fall below this.",
    )
    target: str | None = _f(
        None, description="`package.module:ClassName` of a custom policy (kind: custom)."
    )
    params: dict[str, float | int | str | bool] = _f(
        {}, description="Keyword arguments of the custom policy class."
    )

    @model_validator(mode="after")
    def _custom_target(self) -> HpcPolicySpec:
        if (self.kind == "custom") != (self.target is not None):
            raise ValueError(
                f"target: expected a target exactly when kind is custom, got kind={self.kind} "
                f"and target={self.target!r}"
            )
        return self


class FinancingSpec(Spec):
    """Project debt: drawn against capex, interest capitalised, repaid from lease cash."""

    enabled: bool = _f(False, description="Book the project debt flows in the ledger.")
    loan_to_cost: float = _f(0.8, ge=0, le=1, description="Share of each capex tranche drawn.")
    rate_per_year: float = _f(
        0.09, unit="1/year", ge=0, le=1, description="Interest rate (simple daily accrual)."
    )
    sweep_share: float = _f(
        0.7,
        gt=0,
        le=1,
        description="Share of each collected rent invoice paid to the lender (interest "
        "first, then principal) once the lease has commenced.",
    )


class HpcSpec(Spec):
    """AI/HPC reallocation: projects, their leases, tenant credit, policy and financing."""

    projects: list[ProjectSpec] = _f(
        min_length=1, max_length=1000, description="Conversion projects."
    )
    lease: LeaseSpec = _f(description="Lease terms (the same deal for every project).")
    default: DefaultSpec = _f(DefaultSpec(), description="Tenant default.")
    backstop: BackstopSpec | None = _f(None, description="Credit backstop of the rent.")
    after_default: Literal["release", "reconvert"] = _f(
        "release",
        description="After a default (or a term end without renewal): re-lease after a "
        "delay at a haircut, or reconvert the halls to mining.",
    )
    release: ReleaseSpec = _f(ReleaseSpec(), description="Re-leasing terms.")
    reconversion: ReconversionSpec = _f(ReconversionSpec(), description="Reconversion terms.")
    policy: HpcPolicySpec = _f(HpcPolicySpec(), description="Conversion policy.")
    financing: FinancingSpec = _f(FinancingSpec(), description="Project debt hook.")

    @model_validator(mode="after")
    def _names_and_dates(self) -> HpcSpec:
        names = [p.name for p in self.projects]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"projects: expected unique names, got duplicates {dup}")
        if self.policy.kind == "fixed_plan":
            undated = [p.name for p in self.projects if p.start_date is None]
            if undated:
                raise ValueError(
                    f"projects {undated}: a fixed_plan needs a start_date on every project "
                    "(or choose policy.kind: margin_trigger)"
                )
        return self


def check_against_sites(
    spec: HpcSpec, site_names: Sequence[str], site_capacity_mw: Sequence[float]
) -> None:
    """Check the projects against the scenario's sites.

    Raises
    ------
    ValueError
        If a project names an unknown site, or the projects of a site take more MW than
        the site has.
    """
    cap = dict(zip(site_names, site_capacity_mw, strict=True))
    used: dict[str, float] = {}
    for i, p in enumerate(spec.projects):
        if p.site not in cap:
            raise ValueError(f"hpc.projects[{i}].site: unknown site {p.site!r}; sites: {list(cap)}")
        used[p.site] = used.get(p.site, 0.0) + p.gross_mw
    for site, mw in used.items():
        if mw > cap[site] + 1e-9:
            raise ValueError(
                f"hpc.projects: the projects at {site!r} take {mw:g} MW, more than its "
                f"capacity_mw = {cap[site]:g}; shrink their phases"
            )
