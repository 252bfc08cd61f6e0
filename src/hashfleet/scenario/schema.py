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
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "BlockProduction",
    "BootstrapPriceSpec",
    "CohortSpec",
    "CompanySpec",
    "ConstantFeesSpec",
    "CsvHashrateSpec",
    "CsvPriceSpec",
    "DifficultyGrowthHashrateSpec",
    "FeesSpec",
    "FixedPowerSpec",
    "FleetSpec",
    "GbmPriceSpec",
    "GrowthHashrateSpec",
    "HashrateSpec",
    "LognormalFeesSpec",
    "MarketSpec",
    "MertonPriceSpec",
    "MinerModelSpec",
    "NetworkSpec",
    "NetworkStartSpec",
    "OutputsSpec",
    "PoolSpec",
    "PriceSpec",
    "RunSpec",
    "Scenario",
    "ScenarioPath",
    "SiteSpec",
]


def _f(default: Any = ..., *, unit: str | None = None, description: str, **kw: Any) -> Any:
    """A ``Field`` with a unit recorded for the generated reference."""
    if unit:
        kw["json_schema_extra"] = {"unit": unit}
    # No ``json_schema_extra=None`` otherwise: it would wipe the marker that an
    # ``Annotated`` type such as :data:`ScenarioPath` carries.
    return Field(default, description=description, **kw)


#: A file path in a scenario.  Relative paths are resolved against the directory of the
#: YAML file that set them (so ``extends`` chains work); ``builtin:NAME`` names shipped data.
ScenarioPath = Annotated[str, Field(min_length=1, json_schema_extra={"scenario_path": True})]


class Spec(BaseModel):
    """Base of all scenario sections: frozen, and unknown keys are errors."""

    # allow_inf_nan=False: a scenario number is always finite (and a resolved
    # scenario must round-trip through YAML/JSON, which has no inf or nan).
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )


# --------------------------------------------------------------------------- run


class OutputsSpec(Spec):
    """What a run writes besides the summary."""

    quantiles: tuple[float, ...] = _f(
        (0.05, 0.25, 0.5, 0.75, 0.95),
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


# ----------------------------------------------------------------------- network


class NetworkStartSpec(Spec):
    """The network's state at t=0: either taken from shipped history or given explicitly."""

    from_history: bool = _f(
        False,
        description="Take height, difficulty (bits) and the epoch's first-block time from the "
        "shipped history at the start date. Exclusive with the explicit fields.",
    )
    height: int | None = _f(
        None, ge=0, description="Height of the chain tip at t=0 (the last mined block)."
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
        gt=0,
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
        return v.astimezone(dt.UTC)

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
        gt=0,
        description="Half-life of the mean-reverting (Ornstein-Uhlenbeck) log noise.",
    )


class GrowthHashrateSpec(_HashrateBase):
    """Exogenous hashrate growing at a constant yearly rate, with lognormal noise."""

    model: Literal["growth"] = "growth"
    growth_per_year: float = _f(
        0.0,
        unit="1/year",
        gt=-1,
        description="Compound growth per year (0.3 = +30 %/year).",
    )


class DifficultyGrowthHashrateSpec(_HashrateBase):
    """Calculators' convention: hashrate (hence difficulty) grows a fixed share per epoch."""

    model: Literal["difficulty_growth"] = "difficulty_growth"
    growth_per_epoch: float = _f(
        unit="1/epoch",
        gt=-1,
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
    scale: float = _f(1.0, gt=0, description="Multiplier applied to the column.")


HashrateSpec = Annotated[
    GrowthHashrateSpec | DifficultyGrowthHashrateSpec | CsvHashrateSpec,
    Field(discriminator="model"),
]


class ConstantFeesSpec(Spec):
    """The same fees in every block."""

    model: Literal["constant"] = "constant"
    btc_per_block: float = _f(0.0, unit="BTC/block", ge=0, description="Fees per block.")


class LognormalFeesSpec(Spec):
    """Mean-reverting lognormal fees per block, with demand spikes (inscription-like bursts)."""

    model: Literal["lognormal"] = "lognormal"
    median_btc_per_block: float = _f(
        unit="BTC/block", gt=0, description="Long-run median fees per block (outside spikes)."
    )
    sigma: float = _f(0.5, ge=0, le=5, description="Stationary standard deviation of log fees.")
    half_life_days: float = _f(
        14.0, unit="day", gt=0, description="Half-life of log fees' reversion to the median."
    )
    spike_rate_per_year: float = _f(
        0.0, unit="1/year", ge=0, description="Rate of fee spikes (Poisson)."
    )
    spike_multiplier: float = _f(
        5.0, ge=1, description="Fees during a spike are this multiple of the base level."
    )
    spike_duration_days: float = _f(
        7.0, unit="day", gt=0, description="Mean spike duration (exponential)."
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


# ------------------------------------------------------------------------ market


class _PriceStart(Spec):
    start_usd: float | None = _f(
        None,
        unit="USD",
        gt=0,
        description="BTC price on day 0. Default: the shipped history's close of the day "
        "before the start date.",
    )


class GbmPriceSpec(_PriceStart):
    """Geometric Brownian motion on daily log returns."""

    model: Literal["gbm"] = "gbm"
    drift_per_year: float = _f(
        0.0,
        unit="1/year",
        description="Continuously compounded expected return: E[S_t] = S_0·exp(drift·t).",
    )
    volatility_per_year: float = _f(
        0.6, unit="1/sqrt(year)", ge=0, le=10, description="Annualised volatility of log returns."
    )


class MertonPriceSpec(GbmPriceSpec):
    """GBM plus Poisson jumps with normally distributed log sizes (Merton 1976)."""

    model: Literal["merton"] = "merton"  # type: ignore[assignment]
    jump_rate_per_year: float = _f(
        2.0, unit="1/year", ge=0, description="Expected number of jumps per year."
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
    hashrate_th_s: float = _f(unit="TH/s", gt=0, description="Stock hashrate.")
    power_w: float = _f(unit="W", gt=0, description="Stock power draw at the wall.")
    release_date: dt.date | None = _f(None, description="First shipments.")
    price_usd_per_th: float | None = _f(
        None, unit="USD/TH", ge=0, description="List price when new."
    )
    source: str | None = _f(None, description="Where the figures come from.")


class FixedPowerSpec(Spec):
    """A fixed-price power contract (PPA)."""

    contract: Literal["fixed"] = "fixed"
    price_usd_per_mwh: float = _f(unit="USD/MWh", ge=0, description="All-in energy price.")


class SiteSpec(Spec):
    """A mining site: grid connection, cooling overhead and power contract."""

    name: str = _f(min_length=1, description="Unique site name.")
    capacity_mw: float = _f(
        unit="MW", gt=0, description="Grid capacity: a hard limit on power drawn (incl. PUE)."
    )
    pue: float = _f(
        1.05, ge=1, le=3, description="Power usage effectiveness: facility power / IT power."
    )
    power: FixedPowerSpec = _f(description="Power contract.")
    region: str | None = _f(None, description="Region or market (e.g. ERCOT).")


class CohortSpec(Spec):
    """Units of one model at one site, running from an install date."""

    model: str = _f(min_length=1, description="Catalogue model name.")
    site: str = _f(min_length=1, description="Site name.")
    units: int = _f(ge=1, description="Number of machines.")
    install_date: dt.date | None = _f(
        None, description="Date the units start hashing; default: running at the start."
    )


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
    starting_cash_usd: float = _f(0.0, unit="USD", description="Cash at t=0.")
    starting_btc: float = _f(0.0, unit="BTC", ge=0, description="BTC treasury at t=0.")
    opex_usd_per_month: float = _f(
        0.0, unit="USD/month", ge=0, description="Staff, SG&A and other fixed costs."
    )


# ---------------------------------------------------------------------- scenario


class Scenario(Spec):
    """A hashfleet scenario: what to simulate."""

    schema_version: Literal[1] = _f(1, description="Version of the scenario language.")
    name: str = _f(min_length=1, description="Scenario name.")
    description: str = _f("", description="Free text.")
    run: RunSpec = _f(description="Run settings.")
    network: NetworkSpec = _f(NetworkSpec(), description="The Bitcoin network.")
    market: MarketSpec = _f(MarketSpec(), description="Markets.")
    fleet: FleetSpec = _f(FleetSpec(), description="The company's fleet.")
    company: CompanySpec = _f(CompanySpec(), description="The company.")
