"""The scenario schema: one pydantic model per section, the single source of truth.

Every field carries its type, unit (in its name and in ``json_schema_extra["unit"]``),
default, bounds and a description.  The scenario reference in ``docs/scenario-reference.md``
is generated from these models (``hashfleet scenario reference``), so docs and code
cannot drift.

Sections that later capabilities add (``hpc``, ``capital``, ``policies``, ``strategies``,
``sweep``) slot in as new optional top-level fields; existing files stay valid.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from hashfleet.scenario.asic import AsicDynamicsSpec
from hashfleet.scenario.capital import CapitalSpec
from hashfleet.scenario.cases import CaseSpec, check_case_weights
from hashfleet.scenario.fields import ScenarioPath, Spec, _f, finite_data
from hashfleet.scenario.forecast import RegimesSpec
from hashfleet.scenario.hpc import HpcSpec
from hashfleet.scenario.power import (
    ComplianceSpec,
    GridChargesSpec,
    PpaTermsSpec,
    SiteEmissionsSpec,
    SpotTrendSpec,
)
from hashfleet.scenario.segments import SegmentList

#: A scenario name: a single safe path component (it names results/<name>).
_SAFE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 ._+-]{0,98}[A-Za-z0-9_+-])?")

__all__ = [
    "AsicMarketSpec",
    "BlockProduction",
    "BootstrapPriceSpec",
    "BuyDipPolicySpec",
    "CohortSpec",
    "CompanySpec",
    "ConstantFeesSpec",
    "CsvHashrateSpec",
    "CsvPriceSpec",
    "CustomPolicySpec",
    "DifficultyGrowthHashrateSpec",
    "EndogenousHashrateSpec",
    "FeesSpec",
    "FinanceSpec",
    "FixedPowerSpec",
    "FleetSpec",
    "FrontierSpec",
    "GbmPriceSpec",
    "GrowthHashrateSpec",
    "HashrateSpec",
    "HoldPolicySpec",
    "InstantResponseHashrateSpec",
    "LognormalFeesSpec",
    "MarketSpec",
    "MertonPriceSpec",
    "MinerModelSpec",
    "NetworkSpec",
    "NetworkStartSpec",
    "OpexSpec",
    "OrderSpec",
    "OutputsSpec",
    "PoliciesSpec",
    "PoolSpec",
    "PriceSpec",
    "RefreshFrontierPolicySpec",
    "ReplaceUnprofitablePolicySpec",
    "RunSpec",
    "Scenario",
    "ScenarioPath",
    "SiteSpec",
    "StrategySpec",
    "SupplyShockSpec",
    "SweepSpec",
]


# --------------------------------------------------------------------------- run


class OutputsSpec(Spec):
    """What a run writes besides the summary."""

    quantiles: tuple[float, ...] = _f(
        (0.05, 0.25, 0.5, 0.75, 0.95),
        min_length=1,
        max_length=99,
        description="Quantiles across paths reported for every daily variable.",
    )
    store_paths: bool = _f(
        False, description="Keep every path's daily series (memory grows with paths × days)."
    )
    event_log: bool = _f(
        True, description="Record retargets and halvings of every path in the event log."
    )

    @field_validator("quantiles")
    @classmethod
    def _quantiles_in_unit_interval(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        for q in v:
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"expected quantiles in [0, 1], got {q}")
        return tuple(sorted(set(v)))


#: Earliest ``run.start``: the genesis block's day.
FIRST_START = dt.date(2009, 1, 3)
#: Latest ``run.start`` (with the longest horizon a run still ends before 2310).
LAST_START = dt.date(2199, 12, 31)


class RunSpec(Spec):
    """When the simulation starts, how long it runs, and how many Monte Carlo paths."""

    start: dt.date = _f(description="First simulated day (UTC). Simulation time t=0 is its 00:00.")
    horizon_days: int = _f(
        unit="day", ge=1, le=40_000, description="Number of simulated days (30 years ≈ 10,958)."
    )
    paths: int = _f(1000, ge=1, le=10_000_000, description="Number of Monte Carlo paths.")
    seed: int = _f(
        0, ge=0, le=2**63 - 1, description="Root seed; one seed determines the whole run."
    )
    outputs: OutputsSpec = _f(OutputsSpec(), description="What the run records.")

    @field_validator("start")
    @classmethod
    def _bitcoin_era(cls, v: dt.date) -> dt.date:
        # dates are mapped to block times and back: keep them where that is meaningful
        if not FIRST_START <= v <= LAST_START:
            raise ValueError(f"expected a date from {FIRST_START} to {LAST_START}, got {v}")
        return v


# ----------------------------------------------------------------------- network


class NetworkStartSpec(Spec):
    """The network's state at t=0: either taken from shipped history or given explicitly."""

    from_history: bool = _f(
        False,
        description="Take height, difficulty (bits) and the epoch's first-block time from the "
        "shipped history at the start date. Exclusive with the explicit fields.",
    )
    height: int | None = _f(
        None,
        ge=0,
        le=2**31 - 1,
        description="Height of the chain tip at t=0 (the last mined block).",
    )
    bits: int | None = _f(
        None,
        ge=0,
        le=0xFFFFFFFF,
        description="Compact target (nBits) of the current epoch, e.g. 0x17024a1b. "
        "Exclusive with difficulty.",
    )
    difficulty: float | None = _f(
        None,
        ge=1,
        le=1e24,
        description="Difficulty of the current epoch; encoded to the nearest compact bits. "
        "Exclusive with bits.",
    )
    epoch_start_time: dt.datetime | None = _f(
        None,
        description="UTC timestamp of the current epoch's first block (height a multiple of "
        "2016); the next retarget measures its timespan from it.",
    )

    @field_validator("bits", mode="before")
    @classmethod
    def _hex_bits(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return int(v, 16)
            except ValueError:
                raise ValueError(
                    f"expected a hex compact target like 0x17024a1b, got {v!r}"
                ) from None
        return v

    @field_validator("epoch_start_time")
    @classmethod
    def _utc(cls, v: dt.datetime | None) -> dt.datetime | None:
        # A timestamp without a zone is UTC; one with a zone is converted to UTC.
        if v is None:
            return None
        if v.tzinfo is None:
            return v.replace(tzinfo=dt.UTC)
        try:
            return v.astimezone(dt.UTC)
        except OverflowError:
            raise ValueError(f"expected a time between years 1 and 9999 in UTC, got {v}") from None

    @model_validator(mode="after")
    def _one_source(self) -> NetworkStartSpec:
        explicit = {
            "height": self.height,
            "bits/difficulty": self.bits if self.bits is not None else self.difficulty,
            "epoch_start_time": self.epoch_start_time,
        }
        given = [k for k, v in explicit.items() if v is not None]
        if self.bits is not None and self.difficulty is not None:
            raise ValueError("give either bits or difficulty, not both")
        if self.from_history and given:
            raise ValueError(
                f"from_history: true excludes explicit {', '.join(given)}; remove one or the other"
            )
        if not self.from_history and len(given) != len(explicit):
            missing = [k for k in explicit if k not in given]
            raise ValueError(
                "expected from_history: true, or all of height, bits (or difficulty) and "
                f"epoch_start_time; missing {', '.join(missing)}"
            )
        return self


class _HashrateBase(Spec):
    start_ehs: float | None = _f(
        None,
        unit="EH/s",
        gt=0,
        le=1e9,
        description="Mean (noise-free) network hashrate at t=0; the lognormal noise is "
        "mean-one, so E[H_d] follows the trend. Default: the rate that makes 10-minute "
        "blocks at the starting difficulty, D·2^32/600.",
    )
    noise_sigma: float = _f(
        0.0,
        ge=0,
        le=5,
        description="Stationary standard deviation of the lognormal noise on hashrate "
        "(log units; 0 = no noise).",
    )
    noise_half_life_days: float = _f(
        30.0,
        unit="day",
        ge=0.01,
        le=1e5,
        description="Half-life of the mean-reverting (Ornstein-Uhlenbeck) log noise.",
    )


class GrowthHashrateSpec(_HashrateBase):
    """Exogenous hashrate growing at a constant yearly rate, with lognormal noise."""

    model: Literal["growth"] = "growth"
    growth_per_year: float = _f(
        0.0,
        unit="1/year",
        gt=-1,
        le=100,
        description="Compound growth per year (0.3 = +30 %/year).",
    )


class DifficultyGrowthHashrateSpec(_HashrateBase):
    """Calculators' convention: hashrate (hence difficulty) grows a fixed share per epoch."""

    model: Literal["difficulty_growth"] = "difficulty_growth"
    growth_per_epoch: float = _f(
        unit="1/epoch",
        gt=-1,
        le=10,
        description="Growth per nominal 14-day epoch (0.02 = +2 % per retarget).",
    )


class CsvHashrateSpec(Spec):
    """Exogenous hashrate read from a CSV (one row per UTC day), e.g. real history."""

    model: Literal["csv"] = "csv"
    path: ScenarioPath = _f(
        description="CSV file; `builtin:btc_daily` is the shipped daily history."
    )
    date_column: str = _f("date", description="Column with YYYY-MM-DD dates.")
    column: str = _f("hashrate_ehs", description="Column with the hashrate in EH/s.")
    scale: float = _f(1.0, ge=1e-6, le=1e6, description="Multiplier applied to the column.")


class SupplyShockSpec(Spec):
    """A scheduled supply shock: a share of the rest of the network goes offline."""

    date: dt.date = _f(description="Day the shock hits (ignored outside the run).")
    share: float = _f(gt=0, lt=1, description="Share of the rest of the network taken offline.")


class EndogenousHashrateSpec(Spec):
    """The rest of the network responds to hashprice: an installed base by efficiency vintage,
    a lognormal distribution of miners' power costs (switch-off), investment driven by recent
    margins with a lead time, retirement of long-idle capacity and shocks.  Defaults of the
    fitted fields equal ``hashfleet/data/network_calibration.json`` (see docs/network.md)."""

    model: Literal["endogenous"] = "endogenous"
    start_ehs: float | None = _f(
        None,
        unit="EH/s",
        gt=0,
        le=1e9,
        description="Network hashrate on day 0 (our installed fleet is subtracted when "
        "network.hashrate_includes_fleet). Default: D·2^32/600 at the starting difficulty.",
    )
    power_cost_median_usd_per_mwh: float = _f(
        81.57,
        unit="USD/MWh",
        ge=0.01,
        le=1e5,
        description="Median all-in power cost of the world's miners (lognormal; fitted).",
    )
    power_cost_sigma: float = _f(
        1.001, gt=0, le=3, description="Log standard deviation of miners' power costs (fitted)."
    )
    frontier_j_per_th: float | None = _f(
        None,
        unit="J/TH",
        ge=0.01,
        le=1e6,
        description="Efficiency of the best machine on day 0. Default: the shipped "
        "catalogue's best model released by the start date.",
    )
    frontier_improvement_per_year: float = _f(
        0.2, ge=0, lt=1, unit="1/year", description="Yearly fall of the frontier's J/TH."
    )
    age_growth_per_year: float = _f(
        0.5,
        ge=0,
        le=5,
        unit="1/year",
        description="Initial fleet-age profile ∝ exp(−g·age): installed base grew at g a year.",
    )
    max_age_years: float = _f(
        8.0, gt=0, le=20, unit="year", description="Oldest machines in the initial installed base."
    )
    investment_rate_per_year: float = _f(
        3.211,
        ge=0,
        le=1000,
        unit="1/year",
        description="Orders per year as a share of installed capacity, per unit of smoothed "
        "frontier margin above the threshold (fitted).",
    )
    investment_margin_threshold: float = _f(
        0.0009595,
        ge=-1,
        lt=1,
        description="Frontier relative margin 1 − c_median/c_break-even below which nobody "
        "orders (fitted).",
    )
    investment_memory_days: float = _f(
        60.0,
        ge=0.01,
        le=1e5,
        unit="day",
        description="Half-life of the margin EWMA that drives orders.",
    )
    lead_time_days: int = _f(
        120, ge=1, le=1000, unit="day", description="Days from order to hashing."
    )
    retirement_rate_per_year: float = _f(
        2.728,
        ge=0,
        le=1000,
        unit="1/year",
        description="Retirement rate of capacity idle for long.",
    )
    retirement_memory_days: float = _f(
        90.0,
        ge=0.01,
        le=1e5,
        unit="day",
        description="Half-life of the idle-share EWMA that drives retirement.",
    )
    switch_half_life_days: float = _f(
        12.22,
        ge=0,
        le=1e5,
        unit="day",
        description="Half-life of switching machines on/off towards profitability (0 = at once).",
    )
    shock_rate_per_year: float = _f(
        0.0, ge=0, le=365, unit="1/year", description="Rate of random supply shocks (per path)."
    )
    shock_share: float = _f(
        0.15,
        gt=0,
        lt=1,
        description="Mean share offline in a random shock (size uniform in ±50 % of it).",
    )
    shock_recovery_half_life_days: float = _f(
        30.0,
        ge=0.01,
        le=1e5,
        unit="day",
        description="Half-life of the return of offline hashrate.",
    )
    shocks: list[SupplyShockSpec] = _f(
        [], max_length=10_000, description="Scheduled shocks (bans, storms)."
    )
    segments: SegmentList = _f(
        [],
        description="Network segments (listed, private, sovereign, stranded; see "
        "docs/network.md); empty: one population with the fields above.",
    )
    calibration: ScenarioPath | None = _f(
        None,
        description="Stored calibration: NAME (calibrations/NAME.json next to the scenario or "
        "in the working directory, else shipped), builtin:NAME (shipped) or a .json path "
        "from hashfleet calibrate; its fitted values replace the fitted fields not set here "
        "(see docs/network.md).",
    )
    parameter_draws: bool = _f(
        False,
        description="Each path draws its own fitted parameters from the calibration's "
        "parameter distribution (needs a calibration with an uncertainty section).",
    )
    regimes: RegimesSpec | None = _f(
        None, description="Random structural shocks: drops and growth regimes (opt-in)."
    )


class InstantResponseHashrateSpec(Spec):
    """Research mode: the rest of the network is a sigmoid of revenue per hash, evaluated every
    ``resolution_hours``: H = cap / (1 + exp(−slope·(R − centre))), R the FPPS rate at the
    current difficulty in USD per PH/s per day (hashprice)."""

    model: Literal["instant_response"] = "instant_response"
    cap_ehs: float | None = _f(
        None,
        unit="EH/s",
        gt=0,
        le=1e9,
        description="Hashrate when revenue is very high. Default: twice the day-0 hashrate "
        "(D·2^32/600), so that H = the day-0 hashrate at the default centre.",
    )
    centre_usd_per_ph_day: float | None = _f(
        None,
        unit="USD/(PH/s)/day",
        ge=1e-9,
        le=1e9,
        description="Revenue per hash at which H = cap/2. Default: day 0's hashprice.",
    )
    slope_per_usd_per_ph_day: float | None = _f(
        None,
        unit="1/(USD/(PH/s)/day)",
        ge=1e-9,
        le=1e9,
        description="Steepness of the sigmoid. Default: 1/centre (elasticity 0.5 at the "
        "centre; the 2016-block rule oscillates without damping above elasticity 1).",
    )
    resolution_hours: float = _f(
        24.0,
        unit="hour",
        ge=0.25,
        le=24,
        description="How often H is re-evaluated; must divide 24 (e.g. 24, 6, 1).",
    )

    @field_validator("resolution_hours")
    @classmethod
    def _divides_a_day(cls, v: float) -> float:
        n = 24.0 / v
        if abs(n - round(n)) > 1e-9:
            raise ValueError(f"expected hours that divide 24 (24, 12, 6, 1, 0.5 ...), got {v}")
        return v


HashrateSpec = Annotated[
    GrowthHashrateSpec
    | DifficultyGrowthHashrateSpec
    | CsvHashrateSpec
    | EndogenousHashrateSpec
    | InstantResponseHashrateSpec,
    Field(discriminator="model"),
]


class ConstantFeesSpec(Spec):
    """The same fees in every block."""

    model: Literal["constant"] = "constant"
    btc_per_block: float = _f(0.0, unit="BTC/block", ge=0, le=1000, description="Fees per block.")


class LognormalFeesSpec(Spec):
    """Mean-reverting lognormal fees per block, with demand spikes (inscription-like bursts)."""

    model: Literal["lognormal"] = "lognormal"
    median_btc_per_block: float = _f(
        unit="BTC/block",
        ge=1e-8,
        le=1000,
        description="Long-run median fees per block (outside spikes).",
    )
    sigma: float = _f(0.5, ge=0, le=5, description="Stationary standard deviation of log fees.")
    half_life_days: float = _f(
        14.0,
        unit="day",
        ge=0.01,
        le=1e5,
        description="Half-life of log fees' reversion to the median.",
    )
    spike_rate_per_year: float = _f(
        0.0, unit="1/year", ge=0, le=365, description="Rate of fee spikes (Poisson)."
    )
    spike_multiplier: float = _f(
        5.0, ge=1, le=1000, description="Fees during a spike are this multiple of the base level."
    )
    spike_duration_days: float = _f(
        7.0, unit="day", ge=0.01, le=3650, description="Mean spike duration (exponential)."
    )
    price_correlation: float = _f(
        0.0,
        ge=-1,
        le=1,
        description="Correlation of daily log-fee shocks with BTC price log-return shocks.",
    )


FeesSpec = Annotated[ConstantFeesSpec | LognormalFeesSpec, Field(discriminator="model")]

BlockProduction = Literal["poisson", "deterministic"]


class NetworkSpec(Spec):
    """The Bitcoin network: starting state, rest-of-network hashrate, fees, block production."""

    start: NetworkStartSpec = _f(
        NetworkStartSpec(from_history=True), description="State of the chain at t=0."
    )
    hashrate: HashrateSpec = _f(
        GrowthHashrateSpec(), description="Network hashrate model (exogenous in this version)."
    )
    hashrate_includes_fleet: bool = _f(
        True,
        description="The hashrate path is the whole network with our fleet running in full; "
        "the rest of the network is that minus our fleet's capacity, and curtailing our "
        "fleet lowers the network's hashrate. False: the path excludes our fleet.",
    )
    fees: FeesSpec = _f(ConstantFeesSpec(), description="Transaction fees per block.")
    blocks: BlockProduction = _f(
        "poisson",
        description="poisson: exact Poisson arrivals. deterministic: blocks at exactly the "
        "expected rate (fluid limit), for replays of history.",
    )
    start_hour_utc: float = _f(
        0.0,
        unit="h",
        ge=0,
        lt=24,
        description="Time of day (UTC, hours: 14.5 = 14:30) of t=0, when the chain tip in "
        "`start` was mined; every simulated day runs 24 h from it (docs/network.md).",
    )
    block_interval_stats: bool = _f(
        False,
        description="Record block-interval statistics per path: mean and standard deviation "
        "of the block time, the longest gap, gaps over 1/2/3 h (docs/network.md).",
    )


# ------------------------------------------------------------------------ market


class _PriceStart(Spec):
    start_usd: float | None = _f(
        None,
        unit="USD",
        ge=0.01,
        le=1e9,
        description="BTC price on day 0. Default: the shipped history's close of the day "
        "before the start date.",
    )


class GbmPriceSpec(_PriceStart):
    """Geometric Brownian motion on daily log returns."""

    model: Literal["gbm"] = "gbm"
    drift_per_year: float = _f(
        0.0,
        unit="1/year",
        ge=-10,
        le=10,
        description="Continuously compounded expected return: E[S_t] = S_0·exp(drift·t).",
    )
    volatility_per_year: float = _f(
        0.6, unit="1/sqrt(year)", ge=0, le=10, description="Annualised volatility of log returns."
    )


class MertonPriceSpec(GbmPriceSpec):
    """GBM plus Poisson jumps with normally distributed log sizes (Merton 1976)."""

    model: Literal["merton"] = "merton"  # type: ignore[assignment]
    jump_rate_per_year: float = _f(
        2.0, unit="1/year", ge=0, le=365, description="Expected number of jumps per year."
    )
    jump_mean_log: float = _f(-0.1, ge=-5, le=5, description="Mean of a jump's log size.")
    jump_sigma_log: float = _f(
        0.15, ge=0, le=5, description="Standard deviation of a jump's log size."
    )


class BootstrapPriceSpec(_PriceStart):
    """Block bootstrap of historical daily log returns (shipped history)."""

    model: Literal["bootstrap"] = "bootstrap"
    block_days: int = _f(30, unit="day", ge=1, le=3650, description="Mean block length.")
    history_from: dt.date | None = _f(
        None, description="First day of history sampled (default: first available)."
    )
    history_to: dt.date | None = _f(
        None, description="Last day of history sampled (default: last available)."
    )
    drift_per_year: float | None = _f(
        None,
        unit="1/year",
        ge=-10,
        le=10,
        description="If set, recentre sampled log returns to this continuously compounded "
        "drift; default keeps history's own drift.",
    )


class CsvPriceSpec(Spec):
    """A deterministic price path from a CSV (one row per UTC day)."""

    model: Literal["csv"] = "csv"
    path: ScenarioPath = _f(
        description="CSV file; `builtin:btc_daily` is the shipped daily history."
    )
    date_column: str = _f("date", description="Column with YYYY-MM-DD dates.")
    column: str = _f("price_usd", description="Column with the BTC price in USD.")


PriceSpec = Annotated[
    GbmPriceSpec | MertonPriceSpec | BootstrapPriceSpec | CsvPriceSpec,
    Field(discriminator="model"),
]


class MarketSpec(Spec):
    """Markets: the BTC price."""

    btc_price: PriceSpec = _f(GbmPriceSpec(), description="BTC price model.")


# ------------------------------------------------------------------------- fleet


class MinerModelSpec(Spec):
    """An ASIC model, added to (or overriding) the catalogue."""

    name: str = _f(min_length=1, description="Model name, as cohorts refer to it.")
    hashrate_th_s: float = _f(unit="TH/s", gt=0, le=1e6, description="Stock hashrate.")
    power_w: float = _f(unit="W", gt=0, le=1e6, description="Stock power draw at the wall.")
    release_date: dt.date | None = _f(None, description="First shipments.")
    price_usd_per_th: float | None = _f(
        None, unit="USD/TH", ge=0, le=1e6, description="List price when new."
    )
    source: str | None = _f(None, description="Where the figures come from.")


class FixedPowerSpec(Spec):
    """A fixed-price power contract (PPA)."""

    contract: Literal["fixed"] = "fixed"
    price_usd_per_mwh: float = _f(unit="USD/MWh", ge=0, le=1e5, description="All-in energy price.")
    sell_back: bool = _f(
        False,
        description="Resale right: in hours where spot exceeds the strike, earn "
        "(spot − strike) on the contracted MW not used (needs the site's `spot`).",
    )
    contract_mw: float | None = _f(
        None,
        unit="MW",
        ge=1e-6,
        le=1e5,
        description="Contracted MW for resale; default: site capacity.",
    )
    terms: PpaTermsSpec | None = _f(
        None, description="Escalator, end date and re-contracting (docs/power.md); None: flat."
    )

    @model_validator(mode="after")
    def _terms(self) -> FixedPowerSpec:
        if self.terms is not None and self.sell_back:
            raise ValueError("terms: expected no `terms` with sell_back (not supported), got both")
        return self


# ---------------------------------------------------- power contracts, machines (issue 4 A)


class IndexPowerSpec(Spec):
    """An index contract: the site pays the hourly spot price plus an adder."""

    contract: Literal["index"] = "index"
    adder_usd_per_mwh: float = _f(
        0.0,
        unit="USD/MWh",
        ge=-1e4,
        le=1e4,
        description="Added to the spot price (fees, transmission, margin).",
    )


class TimeOfUsePowerSpec(Spec):
    """A time-of-use tariff: one price in the peak hours, another in the rest of the day."""

    contract: Literal["tou"] = "tou"
    peak_usd_per_mwh: float = _f(
        unit="USD/MWh", ge=0, le=1e5, description="Price in the peak hours."
    )
    offpeak_usd_per_mwh: float = _f(
        unit="USD/MWh", ge=0, le=1e5, description="Price outside the peak hours."
    )
    peak_start_hour: int = _f(14, unit="h", ge=0, le=23, description="First peak hour (UTC).")
    peak_end_hour: int = _f(
        20, unit="h", ge=1, le=24, description="End of the peak hours (exclusive, UTC)."
    )

    @model_validator(mode="after")
    def _hours(self) -> TimeOfUsePowerSpec:
        if self.peak_end_hour <= self.peak_start_hour:
            raise ValueError(
                f"peak_end_hour: expected more than peak_start_hour={self.peak_start_hour}, "
                f"got {self.peak_end_hour}"
            )
        return self


class HostedPowerSpec(Spec):
    """Hosting: an all-in price per kWh (power, space, operations)."""

    contract: Literal["hosted"] = "hosted"
    price_usd_per_kwh: float = _f(unit="USD/kWh", ge=0, le=100, description="All-in hosting price.")


PowerContractSpec = Annotated[
    FixedPowerSpec | IndexPowerSpec | TimeOfUsePowerSpec | HostedPowerSpec,
    Field(discriminator="contract"),
]


class SpotPowerSpec(Spec):
    """A site's spot power price: mean-reverting log level, seasonality, jumps, a cap, and an
    intraday (hourly) distribution around the daily level."""

    median_usd_per_mwh: float = _f(
        unit="USD/MWh",
        ge=0.01,
        le=1e5,
        description="Long-run median of the daily level (before season).",
    )
    sigma: float = _f(
        0.3, ge=0, le=5, description="Stationary standard deviation of the daily log level."
    )
    half_life_days: float = _f(
        7.0, unit="day", ge=0.01, le=1e5, description="Half-life of the log level's reversion."
    )
    seasonal_amplitude: float = _f(
        0.0, ge=0, le=3, description="Amplitude of the yearly cosine in the log level."
    )
    seasonal_peak_day_of_year: int = _f(
        205, ge=1, le=366, description="Day of the year where the season peaks (205 ≈ late July)."
    )
    jump_rate_per_year: float = _f(
        0.0, unit="1/year", ge=0, le=365, description="Rate of price spikes (Poisson)."
    )
    jump_mean_log: float = _f(
        1.0, ge=-5, le=5, description="Mean log size of a spike (added to the log level)."
    )
    jump_sigma_log: float = _f(0.5, ge=0, le=5, description="Standard deviation of a spike.")
    cap_usd_per_mwh: float = _f(
        5000.0, unit="USD/MWh", ge=1, le=1e6, description="Price cap on every hour (ERCOT-like)."
    )
    intraday_sigma: float = _f(
        0.3,
        ge=0.01,
        le=3,
        description="Standard deviation of the lognormal hourly multipliers (at least 0.01: "
        "the closed-form table has ~3,000/sigma knots).",
    )
    diurnal_amplitude: float = _f(
        0.2, ge=0, le=3, description="Amplitude of the daily cosine shape in log price."
    )
    diurnal_peak_hour: float = _f(
        22.0, unit="h", ge=0, lt=24, description="Hour of the daily peak (UTC; 22 ≈ 17:00 CT)."
    )
    trend: SpotTrendSpec | None = _f(
        None, description="Drift and long-run level of the median (docs/power.md); None: none."
    )
    intraday: Literal["closed_form", "hourly"] = _f(
        "closed_form",
        description="closed_form: integrate hourly curtailment over the intraday distribution "
        "(fast; the 24-hour sums come from a cubic table within 1e-12 relative of the direct "
        "sum). hourly: draw 24 hourly prices per path and day (reference).",
    )


class DemandResponseSpec(Spec):
    """Demand response: the site sheds load when called and is paid for it."""

    enrolled_mw: float = _f(
        0.0, unit="MW", ge=0, le=1e5, description="MW enrolled (capacity payment)."
    )
    capacity_usd_per_mw_month: float = _f(
        0.0, unit="USD/(MW·month)", ge=0, le=1e7, description="Payment per enrolled MW and month."
    )
    call_price_usd_per_mwh: float | None = _f(
        None,
        unit="USD/MWh",
        gt=0,
        le=1e6,
        description="The site is called (sheds all load) in hours whose spot price exceeds "
        "this; needs a spot model. None: no calls.",
    )
    energy_usd_per_mwh: float = _f(
        0.0, unit="USD/MWh", ge=0, le=1e6, description="Credit per MWh shed in a called hour."
    )


class CoincidentPeakSpec(Spec):
    """Coincident-peak (4CP-like) transmission charge and its avoidance."""

    charge_usd_per_kw_year: float = _f(
        unit="USD/(kW·year)",
        ge=0,
        le=1e6,
        description="Charge on the load at the coincident peaks.",
    )
    months: list[int] = _f(
        [6, 7, 8, 9], max_length=12, description="Months holding one peak each (1-12)."
    )
    window_start_hour: int = _f(
        20, unit="h", ge=0, le=23, description="First hour of the likely-peak window (UTC)."
    )
    window_end_hour: int = _f(
        24, unit="h", ge=1, le=24, description="End of the window (exclusive, UTC)."
    )
    avoid: bool = _f(True, description="Curtail in the window on every weekday of those months.")
    capture_share: float = _f(
        0.9,
        ge=0,
        le=1,
        description="Probability that the actual peak falls in a curtailed window.",
    )

    @model_validator(mode="after")
    def _check(self) -> CoincidentPeakSpec:
        if self.window_end_hour <= self.window_start_hour:
            raise ValueError(
                f"window_end_hour: expected more than window_start_hour="
                f"{self.window_start_hour}, got {self.window_end_hour}"
            )
        if not self.months or any(not 1 <= m <= 12 for m in self.months):
            raise ValueError(f"months: expected months 1..12, got {self.months}")
        return self


class GridProgrammesSpec(Spec):
    """Grid programmes a site takes part in."""

    demand_response: DemandResponseSpec | None = _f(None, description="Demand response.")
    coincident_peak: CoincidentPeakSpec | None = _f(
        None, description="Coincident-peak charge and avoidance."
    )


class OperatingModeSpec(Spec):
    """An operating point of a machine, relative to stock."""

    name: str = _f(min_length=1, description="Mode name, as cohorts refer to it.")
    hashrate_scale: float = _f(gt=0, le=3, description="Hashrate relative to stock.")
    power_scale: float = _f(gt=0, le=3, description="Power relative to stock.")


class FailureSpec(Spec):
    """Machine failures: a per-unit hazard, repairs and spares."""

    model: Literal["constant", "weibull"] = _f(
        "constant", description="constant hazard, or Weibull in the cohort's age."
    )
    rate_per_year: float = _f(
        0.05, unit="1/year", ge=0, le=50, description="constant: failures per unit-year."
    )
    weibull_shape: float = _f(
        1.5, gt=0, le=20, description="weibull: shape k (>1 wear-out, <1 infant mortality)."
    )
    weibull_scale_years: float = _f(
        8.0, unit="year", ge=0.01, le=1000, description="weibull: scale η (characteristic life)."
    )
    repair_days: int = _f(
        14, unit="day", ge=1, le=365, description="Days a failed unit spends in repair."
    )
    repair_cost_usd_per_unit: float = _f(
        150.0, unit="USD/unit", ge=0, le=1e6, description="Cost of one repair (booked at failure)."
    )
    spares_units: int = _f(
        0,
        ge=0,
        le=10_000_000,
        description="Spare units that replace failed ones at once while they last.",
    )


class SiteSpec(Spec):
    """A mining site: grid connection, cooling overhead and power contract."""

    name: str = _f(min_length=1, description="Unique site name.")
    capacity_mw: float = _f(
        unit="MW",
        ge=1e-6,
        le=1e5,
        description="Grid capacity: a hard limit on power drawn (incl. PUE).",
    )
    pue: float = _f(
        1.05, ge=1, le=3, description="Power usage effectiveness: facility power / IT power."
    )
    power: PowerContractSpec = _f(description="Power contract.")
    region: str | None = _f(None, description="Region or market (e.g. ERCOT).")
    spot: SpotPowerSpec | None = _f(
        None, description="Spot power price at the site (index contracts, resale, DR calls)."
    )
    programmes: GridProgrammesSpec = _f(
        GridProgrammesSpec(), description="Grid programmes (demand response, coincident peak)."
    )
    grid_charges: GridChargesSpec | None = _f(
        None, description="Transmission per MWh and demand charge per kW-month (docs/power.md)."
    )
    emissions: SiteEmissionsSpec | None = _f(
        None, description="Grid emission factor and renewable share (docs/emissions.md)."
    )

    @model_validator(mode="before")
    @classmethod
    def _fixed_by_default(cls, data: Any) -> Any:
        """A ``power`` mapping without ``contract`` is a fixed PPA (the original shape)."""
        power = data.get("power") if isinstance(data, dict) else None
        if isinstance(power, dict) and "contract" not in power:
            data = {**data, "power": {"contract": "fixed", **power}}
        return data

    @model_validator(mode="after")
    def _needs_spot(self) -> SiteSpec:
        p, dr = self.power, self.programmes.demand_response
        needs = None
        if isinstance(p, IndexPowerSpec):
            needs = "power.contract: index"
        elif isinstance(p, FixedPowerSpec) and p.sell_back:
            needs = "power.sell_back"
        elif dr is not None and dr.call_price_usd_per_mwh is not None:
            needs = "programmes.demand_response.call_price_usd_per_mwh"
        elif isinstance(p, FixedPowerSpec) and p.terms is not None and p.terms.end_date:
            needs = "power.terms.end_date (re-contracting)"
        if needs and self.spot is None:
            raise ValueError(f"spot: {needs} needs a spot price model; add `spot:` to the site")
        return self


class CohortSpec(Spec):
    """Units of one model at one site, running from an install date."""

    model: str = _f(min_length=1, description="Catalogue model name.")
    site: str = _f(min_length=1, description="Site name.")
    units: int = _f(ge=1, le=10_000_000, description="Number of machines.")
    install_date: dt.date | None = _f(
        None, description="Date the units start hashing; default: running at the start."
    )
    mode: str = _f(
        "stock",
        description="Operating mode: stock, underclock, overclock, a name in `modes`, or best "
        "(each day and path, the mode with the highest margin per unit: at the flat price, "
        "or hour by hour over the day's hour prices where the price varies by hour).",
    )
    modes: list[OperatingModeSpec] = _f(
        [],
        description="Extra or overriding modes. Built in: underclock (0.8× hashrate, 0.68× "
        "power), stock, overclock (1.15×, 1.32×).",
    )
    failures: FailureSpec | None = _f(None, description="Failures, repairs and spares.")
    degradation_per_year: float = _f(
        0.0, unit="1/year", ge=0, lt=1, description="Hashrate lost per year of age (compound)."
    )
    doa_share: float = _f(
        0.0, ge=0, lt=1, description="Share of units dead on arrival at a delivery in the run."
    )
    age_at_install_years: float = _f(
        0.0,
        unit="year",
        ge=0,
        le=30,
        description="Age of the units when they start hashing here (used machines, or a "
        "fleet already running at the start): failures and degradation count from it.",
    )

    @model_validator(mode="after")
    def _known_mode(self) -> CohortSpec:
        names = {"best", "stock", "underclock", "overclock", *(m.name for m in self.modes)}
        if self.mode not in names:
            raise ValueError(f"mode: expected one of {sorted(names)}, got {self.mode!r}")
        return self


class PoolSpec(Spec):
    """How the fleet is paid."""

    payout: Literal["fpps", "solo"] = _f(
        "fpps",
        description="fpps: expected value of the hashrate's work, minus the pool fee. "
        "solo: the company's own blocks (Poisson luck).",
    )
    fee_share: float = _f(
        0.02, ge=0, lt=1, description="Pool fee as a share of the payout (0.02 = 2 %)."
    )


class FleetSpec(Spec):
    """The company's machines, sites and pool."""

    catalogue: ScenarioPath = _f(
        "builtin:asic_catalogue",
        description="ASIC catalogue CSV; `builtin:asic_catalogue` is the shipped one.",
    )
    models: list[MinerModelSpec] = _f(
        [], description="Extra models, added to the catalogue (same name overrides)."
    )
    pool: PoolSpec = _f(PoolSpec(), description="Pool and payout scheme.")
    sites: list[SiteSpec] = _f([], description="Sites.")
    cohorts: list[CohortSpec] = _f([], description="Cohorts of machines.")

    @model_validator(mode="after")
    def _unique_sites(self) -> FleetSpec:
        seen: set[str] = set()
        for s in self.sites:
            if s.name in seen:
                raise ValueError(f"site names must be unique; {s.name!r} appears twice")
            seen.add(s.name)
        return self


class CompanySpec(Spec):
    """The company's starting balance sheet and fixed costs."""

    name: str = _f("company", description="Company name, for reports.")
    starting_cash_usd: float = _f(0.0, unit="USD", ge=-1e13, le=1e13, description="Cash at t=0.")
    starting_btc: float = _f(0.0, unit="BTC", ge=0, le=21e6, description="BTC treasury at t=0.")
    opex_usd_per_month: float = _f(
        0.0, unit="USD/month", ge=0, le=1e10, description="Staff, SG&A and other fixed costs."
    )


# ------------------------------------------- buying, selling, policies, strategies
# (appended for issue 4 part B; every section is optional with defaults)


class FrontierSpec(Spec):
    """Future ASIC generations along an efficiency frontier, added to the catalogue.

    Generation ``g`` (1, 2, ...) is released ``g · interval_months`` after the run's start
    (plus an optional random delay per path) with efficiency
    ``base · (1 − improvement_per_year)^(years after start)``.  It is named
    ``frontier-g<g>`` in the catalogue.
    """

    generations: int = _f(
        0, ge=0, le=40, description="Number of future generations (0 = no frontier models)."
    )
    interval_months: float = _f(
        12.0, unit="month", ge=0.1, le=600, description="Months between generation releases."
    )
    improvement_per_year: float = _f(
        0.12,
        unit="1/year",
        ge=0,
        lt=1,
        description="Yearly decline of the frontier's J/TH (0.12 = 12 % less energy per TH).",
    )
    base_efficiency_j_per_th: float | None = _f(
        None,
        unit="J/TH",
        ge=0.01,
        le=1e6,
        description="Frontier efficiency at the start; default: the best catalogue model "
        "released by the start date.",
    )
    unit_hashrate_th_s: float = _f(
        400.0, unit="TH/s", ge=1e-3, le=1e6, description="Hashrate of one frontier machine."
    )
    release_delay_max_days: float = _f(
        0.0,
        unit="day",
        ge=0,
        le=36_500,
        description="Random release delay per path and generation, uniform on [0, this] "
        "(0 = release dates are fixed).",
    )


class AsicMarketSpec(Spec):
    """New and secondary ASIC prices (USD per TH/s of stock hashrate).

    New price of a model: its list price × (1 − new_price_decline_per_year)^(age in years),
    never below its secondary price.  Secondary price: the value of the model's margin at
    a reference power price over ``payback_days`` days, ``max(hashprice − power cost, 0) ·
    payback_days``, floored at ``floor_usd_per_th``, times lognormal noise.
    """

    default_price_usd_per_th: float = _f(
        15.0,
        unit="USD/TH",
        ge=0.001,
        le=1e6,
        description="List price of a new model whose catalogue price is missing.",
    )
    frontier_price_usd_per_th: float = _f(
        18.0,
        unit="USD/TH",
        ge=0.001,
        le=1e6,
        description="List price of a frontier model at release.",
    )
    new_price_decline_per_year: float = _f(
        0.25,
        unit="1/year",
        ge=0,
        lt=1,
        description="Yearly decline of a model's new price after its release.",
    )
    payback_days: float = _f(
        365.0,
        unit="day",
        ge=1,
        le=36_500,
        description="Secondary buyers pay this many days of the model's current margin.",
    )
    reference_power_usd_per_mwh: float = _f(
        50.0,
        unit="USD/MWh",
        ge=0,
        le=1e5,
        description="Power price at which secondary buyers value a model's margin.",
    )
    floor_usd_per_th: float = _f(
        0.5, unit="USD/TH", ge=0, le=1e6, description="Scrap value: the lowest secondary price."
    )
    noise_sigma: float = _f(
        0.0,
        ge=0,
        le=2,
        description="Daily lognormal noise on secondary prices (log units, mean one; 0 = none).",
    )
    frontier: FrontierSpec = _f(FrontierSpec(), description="Future generations.")
    dynamics: AsicDynamicsSpec | None = _f(
        None,
        description="Stochastic market: new prices follow hashprice with a lag, tier prices, "
        "lead times (docs/asic-market.md); None: the fixed decline.",
    )


class OrderSpec(Spec):
    """A purchase order of new machines: deposit now, balance and units on delivery."""

    model: str = _f(min_length=1, description="Catalogue model name (or frontier-g<k>).")
    site: str = _f(min_length=1, description="Site the units go to.")
    units: int = _f(ge=1, le=10_000_000, description="Machines ordered.")
    order_date: dt.date = _f(description="Date the order is placed and the deposit paid.")
    price_usd_per_th: float | None = _f(
        None,
        unit="USD/TH",
        ge=0,
        le=1e6,
        description="Contract price; default: the model's new price on the order date.",
    )
    deposit_share: float = _f(
        0.3, ge=0, le=1, description="Share of the price paid on the order date."
    )
    lead_time_days: int = _f(
        120, unit="day", ge=0, le=36_500, description="Days from order to the first delivery."
    )
    tranches: int = _f(
        1, ge=1, le=60, description="Deliveries of equal size; the balance is paid per tranche."
    )
    tranche_interval_days: int = _f(
        30, unit="day", ge=1, le=3650, description="Days between tranches."
    )
    commissioning_days: int = _f(
        7, unit="day", ge=0, le=3650, description="Days from delivery to hashing."
    )


class OpexSpec(Spec):
    """Variable operating costs on top of ``company.opex_usd_per_month``."""

    hosting_usd_per_mw_month: float = _f(
        0.0,
        unit="USD/(MW·month)",
        ge=0,
        le=1e9,
        description="Hosting or site fee per MW of installed machines (at the meter, PUE "
        "included).",
    )
    maintenance_usd_per_th_year: float = _f(
        0.0,
        unit="USD/(TH/s)/year",
        ge=0,
        le=1e6,
        description="Maintenance per TH/s installed per year.",
    )


class HoldPolicySpec(Spec):
    """Keep the fleet as it is."""

    kind: Literal["hold"] = "hold"


class _UpgradeBase(Spec):
    model: str = _f(
        "frontier",
        description="Model bought: a catalogue name, or `frontier` for the newest frontier "
        "generation released by then (per path).",
    )
    lead_time_days: int = _f(90, unit="day", ge=0, le=3650, description="Order to delivery.")
    deposit_share: float = _f(0.3, ge=0, le=1, description="Paid on order; the rest on delivery.")
    commissioning_days: int = _f(7, unit="day", ge=0, le=3650, description="Delivery to hashing.")
    min_gain: float = _f(
        0.15,
        ge=0,
        lt=1,
        description="Replace a unit only if the new model uses at least this share less "
        "energy per TH.",
    )


class ReplaceUnprofitablePolicySpec(_UpgradeBase):
    """Sell a cohort that has been unprofitable N days in a row; replace it (same MW)."""

    kind: Literal["replace_unprofitable"] = "replace_unprofitable"
    days: int = _f(
        30, unit="day", ge=1, le=40_000, description="Consecutive unprofitable days (N)."
    )
    review_every_days: int = _f(7, unit="day", ge=1, le=40_000, description="How often to check.")
    replace: bool = _f(True, description="Order replacement units with the freed power.")
    budget_usd: float = _f(
        1e12,
        unit="USD",
        ge=0,
        le=1e13,
        description="Most spent on replacements per review and path.",
    )


class RefreshFrontierPolicySpec(_UpgradeBase):
    """Every N months, replace the least efficient units by frontier units of the same MW."""

    kind: Literal["refresh_frontier"] = "refresh_frontier"
    every_months: float = _f(
        12.0, unit="month", ge=0.1, le=1200, description="Months between refreshes."
    )
    budget_usd: float = _f(
        unit="USD", ge=0, le=1e13, description="Most spent per refresh and path (net of sales)."
    )


class BuyDipPolicySpec(_UpgradeBase):
    """Buy used machines when their secondary price falls below X days of hashprice."""

    kind: Literal["buy_dip"] = "buy_dip"
    model: str = _f(min_length=1, description="Catalogue model bought on the secondary market.")
    lead_time_days: int = _f(0, unit="day", ge=0, le=3650, description="Purchase to delivery.")
    deposit_share: float = _f(0.0, ge=0, le=1, description="Paid on purchase (rest on delivery).")
    threshold_days: float = _f(
        unit="day",
        gt=0,
        le=36_500,
        description="Buy when secondary USD/TH < this many days of hashprice (USD/TH/day).",
    )
    review_every_days: int = _f(30, unit="day", ge=1, le=40_000, description="How often to check.")
    budget_usd: float = _f(
        unit="USD", ge=0, le=1e13, description="Most spent per purchase and path."
    )


UpgradePolicySpec = Annotated[
    HoldPolicySpec | ReplaceUnprofitablePolicySpec | RefreshFrontierPolicySpec | BuyDipPolicySpec,
    Field(discriminator="kind"),
]


class CustomPolicySpec(Spec):
    """A policy written in Python (see docs/strategies.md)."""

    target: str = _f(
        min_length=3,
        description="`package.module:ClassName`; the class takes the params as keyword "
        "arguments and implements the policy protocol.",
    )
    params: dict[str, Any] = _f({}, description="Keyword arguments of the class.")

    _finite = field_validator("params")(lambda cls, v: finite_data(v))


class PoliciesSpec(Spec):
    """What the company decides during the run."""

    upgrade: UpgradePolicySpec = _f(HoldPolicySpec(), description="Fleet upgrade policy.")
    custom: list[CustomPolicySpec] = _f([], description="User policies written in Python.")


class StrategySpec(Spec):
    """A variant of the scenario compared under common random numbers."""

    name: str = _f(min_length=1, description="Strategy name, for reports.")
    description: str = _f("", description="Free text.")
    set: dict[str, Any] = _f(
        {},
        description="Values replacing the base scenario's: dotted field paths to values; a "
        "mapping replaces the whole section (e.g. `policies.upgrade: {kind: hold}`).",
    )

    _finite = field_validator("set")(lambda cls, v: finite_data(v))

    @field_validator("set")
    @classmethod
    def _not_extends(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key in v:
            if key.split(".")[0].split("[")[0] in ("extends", "schema_version"):
                raise ValueError(f"cannot set {key!r} in a strategy (only scenario fields)")
        return v


class FinanceSpec(Spec):
    """Valuation settings."""

    discount_rate_per_year: float = _f(
        0.12,
        unit="1/year",
        gt=-1,
        le=10,
        description="Annual discount rate of NPV (flows discounted at (1+r)^(t/365.25)).",
    )
    include_fleet_value: bool = _f(
        True,
        description="NPV and IRR start with the fleet's secondary value as an outflow at t=0 "
        "and end with its secondary value at the horizon as an inflow.",
    )


# ------------------------------------------------------------------------- sweep


class SweepSpec(Spec):
    """Scenarios to run from one file: a cartesian ``grid`` or a ``zip`` of equal-length lists.

    Keys are dotted field paths (``market.btc_price.volatility_per_year``,
    ``fleet.cohorts[0].units``); each value is the **list of values** to try, one per
    scenario.  A field whose value is itself a list is swept with a list of lists
    (``run.outputs.quantiles: [[0.05, 0.95], [0.1, 0.9]]``), so a list never becomes a sweep
    by accident.  Every scenario keeps the file's seed (common random numbers).
    """

    grid: dict[str, list[Any]] | None = _f(
        None,
        description="Cartesian product: every combination of the listed values "
        "(dotted path -> list of values).",
    )
    zip: dict[str, list[Any]] | None = _f(
        None,
        description="Zipped lists of equal length: the i-th scenario takes the i-th value "
        "of every list (dotted path -> list of values).",
    )

    _finite = field_validator("grid", "zip")(lambda cls, v: finite_data(v))

    @model_validator(mode="after")
    def _one_kind(self) -> SweepSpec:
        if (self.grid is None) == (self.zip is None):
            raise ValueError("expected exactly one of grid (cartesian) or zip (paired lists)")
        kind = "grid" if self.grid is not None else "zip"
        table = self.grid if self.grid is not None else self.zip
        assert table is not None
        if not table:
            raise ValueError(f"{kind}: expected at least one dotted path")
        for key, values in table.items():
            if key.split(".")[0].split("[")[0] in ("sweep", "schema_version", "extends"):
                raise ValueError(f"{kind}[{key!r}]: cannot sweep {key}")
            if not values:
                raise ValueError(f"{kind}[{key!r}]: expected a non-empty list of values")
        if kind == "zip":
            lengths = {k: len(v) for k, v in table.items()}
            if len(set(lengths.values())) > 1:
                raise ValueError(f"zip: expected lists of equal length, got lengths {lengths}")
        return self


# ---------------------------------------------------------------------- scenario


class Scenario(Spec):
    """A hashfleet scenario: what to simulate."""

    schema_version: Literal[1] = _f(1, description="Version of the scenario language.")
    name: str = _f(
        min_length=1,
        description="Scenario name; also the default results folder results/<name>, so a "
        "safe slug: ASCII letters, digits, space, '.', '_', '+', '-', starting and ending "
        "with a letter or digit (or '_', '+', '-' at the end), at most 100 characters.",
    )
    description: str = _f("", description="Free text.")
    run: RunSpec = _f(description="Run settings.")
    network: NetworkSpec = _f(NetworkSpec(), description="The Bitcoin network.")
    market: MarketSpec = _f(MarketSpec(), description="Markets.")
    fleet: FleetSpec = _f(FleetSpec(), description="The company's fleet.")
    company: CompanySpec = _f(CompanySpec(), description="The company.")
    sweep: SweepSpec | None = _f(
        None,
        description="Scenarios to run with `hashfleet sweep` (grid or zip over dotted paths); "
        "ignored by `hashfleet run`.",
    )
    asic_market: AsicMarketSpec = _f(AsicMarketSpec(), description="New and used ASIC prices.")
    orders: list[OrderSpec] = _f([], description="Purchase orders of new machines.")
    opex: OpexSpec = _f(OpexSpec(), description="Variable operating costs.")
    policies: PoliciesSpec = _f(PoliciesSpec(), description="Policies run during the simulation.")
    strategies: list[StrategySpec] = _f(
        [], description="Variants compared by `hashfleet compare` under common random numbers."
    )
    finance: FinanceSpec = _f(FinanceSpec(), description="Valuation (NPV, IRR).")
    hpc: HpcSpec | None = _f(
        None,
        description="AI/HPC reallocation: conversion projects, leases, tenant risk, policy "
        "(docs/hpc.md).",
    )
    capital: CapitalSpec | None = _f(
        None,
        description="Capital plan: treasury policy, debt instruments, equity, covenants; "
        "insolvent paths stop (docs/capital.md).",
    )
    cases: dict[str, CaseSpec] | None = _f(
        None,
        description="Weighted cases for `hashfleet sensitivity --cases`: name -> {weight: "
        "probability, set: {dotted.path: value}}, weights summing to 1 (e.g. bear/base/bull); "
        "ignored by `hashfleet run`.",
    )

    @field_validator("cases")
    @classmethod
    def _case_weights(cls, v: dict[str, CaseSpec] | None) -> dict[str, CaseSpec] | None:
        return check_case_weights(v)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not _SAFE_NAME.fullmatch(v):
            shown = v if len(v) <= 40 else v[:40] + "..."
            raise ValueError(
                "expected a safe name for the results folder (ASCII letters, digits, space, "
                "'.', '_', '+', '-'; no '/', '\\' or leading '.'; at most 100 characters), "
                f"got {shown!r}"
            )
        return v

    compliance: ComplianceSpec | None = _f(
        None,
        description="Energy and emissions outputs (fleet per site, network bounds) and "
        "compliance costs (docs/emissions.md).",
    )

    @model_validator(mode="after")
    def _emission_factors(self) -> Scenario:
        if self.compliance is not None:
            for i, site in enumerate(self.fleet.sites):
                if site.emissions is None:
                    raise ValueError(
                        f"fleet.sites[{i}].emissions: expected an emission factor for every "
                        f"site with a `compliance:` section, got none for {site.name!r}"
                    )
        return self
