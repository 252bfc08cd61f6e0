"""The model the naive peers share, in scalar Python: one path's state and its daily rules.

:class:`PeerModel` resolves a :class:`~hashfleet.scenario.schema.Scenario` into plain Python
numbers with :func:`hashfleet.model.compile_scenario` (the same chain start, catalogue,
fleet in merit order and process parameters the engine uses, so both read the same file); the
dynamics are then written again here, one path at a time, with ``random`` draws:

* BTC price: GBM or Merton (day 0 is the start price; daily log returns after it);
* fees: constant, or lognormal OU with a two-state spike regime and price correlation;
* network hashrate: growth curve with mean-one OU lognormal noise;
* fleet: cohorts in merit order per site, site power limits, a cohort runs on a day when its
  expected FPPS revenue per TH covers its power cost per TH; deliveries are SimPy events;
* money: FPPS accrual (``∫ fleet_hs·(subsidy + fees)/(D·2^32) dt`` × (1 − pool fee)) sold at
  the day's price, power cost and fixed opex, settled daily.

Blocks, retargets (Bitcoin Core's rule on integer timestamps via
:func:`hashfleet.consensus.next_bits`) and halvings are the peers' own business
(:mod:`~benchmarks.peers.per_block`, :mod:`~benchmarks.peers.per_day`).

Out of the peers' scope (they raise :class:`~hashfleet.errors.InputError`): bootstrap and CSV
prices, CSV hashrate, solo mining, deterministic blocks, power contracts other than fixed.
Capability sections (orders, policies, failures, HPC, finance, endogenous supply) are
*ignored*: give the peers base-model scenarios (``Workload.scenario(features=False)``); the
equivalence tests would catch a capability that changes the base model when switched off.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from hashfleet import consensus
from hashfleet.errors import InputError
from hashfleet.market.price import DiffusionPriceProcess
from hashfleet.model import CompiledScenario, compile_scenario
from hashfleet.network.fees import ConstantFeeProcess, LognormalFeeProcess
from hashfleet.network.hashrate import GrowthHashrateProcess
from hashfleet.scenario.schema import Scenario

__all__ = ["PathOutcome", "PathState", "PeerModel", "subsidy_btc"]

SECONDS_PER_DAY = 86_400.0
TWO_32 = float(2**32)
EPOCH = 2016
HALVING = 210_000


def subsidy_btc(height: int) -> float:
    """Subsidy (BTC) of the block at ``height``."""
    return consensus.block_subsidy(height) / 1e8


@dataclass(frozen=True)
class PeerModel:
    """A scenario resolved to scalars for the peers.

    Attributes
    ----------
    n_days : int
    start_unix : int
        Unix time (s) of day 0, 00:00 UTC.
    height, bits, epoch_start_time : int
        Chain tip at t=0 (as the engine resolves it).
    price : DiffusionPriceProcess
    fees : ConstantFeeProcess | LognormalFeeProcess
    hashrate : GrowthHashrateProcess
    includes_fleet : bool
        The hashrate path includes our installed fleet.
    pool_fee : float
    opex_usd_per_day : float
    starting_cash_usd : float
    cohort_* : tuple
        Per cohort in merit order: units, install day, site, TH/s and MW (PUE included) per
        unit, power cost per TH per day (USD), USD/MWh.
    site_capacity_mw : tuple of float
    """

    n_days: int
    start_unix: int
    height: int
    bits: int
    epoch_start_time: int
    price: DiffusionPriceProcess
    fees: ConstantFeeProcess | LognormalFeeProcess
    hashrate: GrowthHashrateProcess
    includes_fleet: bool
    pool_fee: float
    opex_usd_per_day: float
    starting_cash_usd: float
    cohort_units: tuple[float, ...]
    cohort_install_day: tuple[int, ...]
    cohort_site: tuple[int, ...]
    cohort_unit_th_s: tuple[float, ...]
    cohort_unit_mw: tuple[float, ...]
    cohort_cost_usd_per_th_day: tuple[float, ...]
    cohort_price_usd_per_mwh: tuple[float, ...]
    site_capacity_mw: tuple[float, ...]

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> PeerModel:
        """Resolve ``scenario``; raise :class:`InputError` for what the peers do not model."""
        model: CompiledScenario = compile_scenario(scenario)
        sc = scenario
        for i, site in enumerate(sc.fleet.sites):
            if site.power.contract != "fixed":
                raise InputError(
                    f"fleet.sites[{i}].power.contract: peers model 'fixed', "
                    f"got {site.power.contract!r}"
                )
        if sc.fleet.pool.payout != "fpps":
            raise InputError(f"fleet.pool.payout: peers model 'fpps', got {sc.fleet.pool.payout!r}")
        if sc.network.blocks != "poisson":
            raise InputError(f"network.blocks: peers model 'poisson', got {sc.network.blocks!r}")
        procs = dict(model.processes)
        price, fees, hashrate = procs["btc_price"], procs["fees"], procs["network_hashrate"]
        if not isinstance(price, DiffusionPriceProcess):
            raise InputError("market.btc_price.model: peers model 'gbm' or 'merton'")
        if not isinstance(fees, ConstantFeeProcess | LognormalFeeProcess):
            raise InputError("network.fees.model: peers model 'constant' or 'lognormal'")
        if not isinstance(hashrate, GrowthHashrateProcess):
            raise InputError("network.hashrate.model: peers model 'growth' or 'difficulty_growth'")
        f = model.fleet
        return cls(
            n_days=model.n_days,
            start_unix=model.start_unix,
            height=model.chain.height,
            bits=model.chain.bits,
            epoch_start_time=model.chain.epoch_start_time,
            price=price,
            fees=fees,
            hashrate=hashrate,
            includes_fleet=sc.network.hashrate_includes_fleet,
            pool_fee=sc.fleet.pool.fee_share,
            opex_usd_per_day=sc.company.opex_usd_per_month * 12.0 / 365.25,
            starting_cash_usd=sc.company.starting_cash_usd,
            cohort_units=tuple(float(u) for u in f.units),
            cohort_install_day=tuple(int(d) for d in f.install_day),
            cohort_site=tuple(int(s) for s in f.site),
            cohort_unit_th_s=tuple(float(x) for x in f.unit_hashrate_th_s),
            cohort_unit_mw=tuple(float(x) for x in f.unit_mw),
            cohort_cost_usd_per_th_day=tuple(float(x) for x in f.power_cost_usd_per_th_day),
            cohort_price_usd_per_mwh=tuple(float(f.site_price_usd_per_mwh[s]) for s in f.site),
            site_capacity_mw=tuple(float(x) for x in f.site_capacity_mw),
        )

    @property
    def n_cohorts(self) -> int:
        """Number of cohorts."""
        return len(self.cohort_units)


@dataclass
class PathOutcome:
    """What one peer path ends with (the engine's per-path results of the same names)."""

    final_difficulty: float
    total_production_btc: float
    final_cash_usd: float
    total_blocks: int
    total_subsidy_btc: float
    retargets: int
    halvings: int


@dataclass
class PathState:
    """One path's chain, markets, fleet and money, advanced by the peers.

    Time ``t`` is in seconds since day 0, 00:00 UTC.
    """

    m: PeerModel
    rnd: random.Random
    height: int = 0
    bits: int = 0
    difficulty: float = 0.0
    epoch_start_time: int = 0
    # markets (today's values)
    price_usd: float = 0.0
    log_price: float = 0.0
    fees_btc: float = 0.0
    fee_x: float = 0.0
    fee_spike: bool = False
    hash_x: float = 0.0
    rest_hs: float = 0.0
    # fleet
    installed: list[float] = field(default_factory=list)
    available_mw: list[float] = field(default_factory=list)
    installed_th_s: float = 0.0
    fleet_hs: float = 0.0
    power_cost_usd: float = 0.0
    # money and counters
    cash_usd: float = 0.0
    production_btc: float = 0.0
    day_production_btc: float = 0.0
    accrued_to: float = 0.0
    blocks: int = 0
    subsidy_total_btc: float = 0.0
    retargets: int = 0
    halvings: int = 0

    @classmethod
    def start(cls, m: PeerModel, seed: int) -> PathState:
        """The path at t=0 (a tip that ends an epoch retargets at once, as in the engine)."""
        st = cls(m, random.Random(seed))
        st.height, st.bits, st.epoch_start_time = m.height, m.bits, m.epoch_start_time
        if st.height % EPOCH == EPOCH - 1:
            st.bits = consensus.next_bits(st.bits, st.epoch_start_time, m.start_unix)
        st.difficulty = consensus.bits_to_difficulty(st.bits)
        st.cash_usd = m.starting_cash_usd
        st.log_price = math.log(m.price.start_usd)
        units, days = m.cohort_units, m.cohort_install_day
        st.installed = [u if d <= 0 else 0.0 for u, d in zip(units, days, strict=True)]
        st.refresh_fleet()
        return st

    # ------------------------------------------------------------------ fleet

    def refresh_fleet(self) -> None:
        """Power each cohort may draw under its site's limit (merit order), installed TH/s."""
        m = self.m
        used = [0.0] * len(m.site_capacity_mw)
        self.available_mw = []
        self.installed_th_s = 0.0
        for c in range(m.n_cohorts):
            want = self.installed[c] * m.cohort_unit_mw[c]
            s = m.cohort_site[c]
            self.available_mw.append(min(max(m.site_capacity_mw[s] - used[s], 0.0), want))
            used[s] += want
            self.installed_th_s += self.installed[c] * m.cohort_unit_th_s[c]

    def deliver(self, cohort: int) -> None:
        """Install a cohort's units."""
        self.installed[cohort] = self.m.cohort_units[cohort]
        self.refresh_fleet()

    # ------------------------------------------------------------------ a day

    def start_day(self, day: int) -> None:
        """Draw the day's price, fees and network hashrate, then dispatch the fleet."""
        self._draw_markets(day)
        m = self.m
        reward_next = subsidy_btc(self.height + 1) + self.fees_btc
        hashprice_ph = (
            1e15 * SECONDS_PER_DAY * reward_next * self.price_usd / (self.difficulty * TWO_32)
        )
        revenue_per_th = hashprice_ph / 1000.0 * (1.0 - m.pool_fee)
        running_th = 0.0
        cost = 0.0
        for c in range(m.n_cohorts):
            if revenue_per_th >= m.cohort_cost_usd_per_th_day[c]:
                mw = self.available_mw[c]
                running_th += mw * (m.cohort_unit_th_s[c] / m.cohort_unit_mw[c])
                cost += mw * m.cohort_price_usd_per_mwh[c] * 24.0
        self.fleet_hs = running_th * 1e12
        self.power_cost_usd = cost
        self.day_production_btc = 0.0

    def subsidy_btc_next(self) -> float:
        """Subsidy (BTC) of the block being mined."""
        return subsidy_btc(self.height + 1)

    @property
    def network_hs(self) -> float:
        """Network hashrate today (H/s), our running fleet included."""
        return self.rest_hs + self.fleet_hs

    def accrue(self, t: float) -> None:
        """FPPS payout for the work done since the last accrual, up to ``t`` (s)."""
        dt = t - self.accrued_to
        if dt > 0.0:
            reward = subsidy_btc(self.height + 1) + self.fees_btc
            self.day_production_btc += (
                self.fleet_hs * dt * reward / (self.difficulty * TWO_32) * (1.0 - self.m.pool_fee)
            )
            self.accrued_to = t

    def end_day(self) -> None:
        """Sell the day's production at the day's price, pay power and opex."""
        self.production_btc += self.day_production_btc
        self.cash_usd += (
            self.day_production_btc * self.price_usd - self.power_cost_usd - self.m.opex_usd_per_day
        )

    def mined(self, t: float) -> None:
        """A block was found at ``t`` (s): height, subsidy, epoch start, retarget, halving."""
        self.accrue(t)
        self.height += 1
        h = self.height
        self.blocks += 1
        self.subsidy_total_btc += subsidy_btc(h)
        pos = h % EPOCH
        if pos == 0:
            self.epoch_start_time = math.floor(self.m.start_unix + t)
        elif pos == EPOCH - 1:
            stamp = math.floor(self.m.start_unix + t)
            self.bits = consensus.next_bits(self.bits, self.epoch_start_time, stamp)
            self.difficulty = consensus.bits_to_difficulty(self.bits)
            self.retargets += 1
        if h % HALVING == 0:
            self.halvings += 1

    def outcome(self) -> PathOutcome:
        """The path's end-of-run figures."""
        return PathOutcome(
            final_difficulty=self.difficulty,
            total_production_btc=self.production_btc,
            final_cash_usd=self.cash_usd,
            total_blocks=self.blocks,
            total_subsidy_btc=self.subsidy_total_btc,
            retargets=self.retargets,
            halvings=self.halvings,
        )

    # ------------------------------------------------------------------ markets

    def _draw_markets(self, day: int) -> None:
        m, rnd = self.m, self.rnd
        p = m.price
        z_price = 0.0
        if day > 0:
            z_price = rnd.gauss(0.0, 1.0)
            r = p.drift_per_day + p.vol_per_day * z_price
            if p.jumps:
                n = _poisson_small(rnd, p.jump_rate_per_day)
                if n:
                    r += n * p.jump_mean_log + math.sqrt(n) * p.jump_sigma_log * rnd.gauss(0, 1)
            self.log_price += r
        self.price_usd = p.start_usd if day == 0 else math.exp(self.log_price)

        f = m.fees
        if isinstance(f, ConstantFeeProcess):
            self.fees_btc = f.btc_per_block
        else:
            z = rnd.gauss(0.0, 1.0)
            if day == 0:
                self.fee_x = f.sigma * z
                self.fee_spike = rnd.random() < f.spike_share
            else:
                e = f.rho * z_price + math.sqrt(1.0 - f.rho * f.rho) * z
                self.fee_x = f.phi * self.fee_x + f.sigma * math.sqrt(1.0 - f.phi * f.phi) * e
                u = rnd.random()
                self.fee_spike = u >= f.p_end if self.fee_spike else u < f.p_start
            self.fees_btc = math.exp(
                f.log_median + self.fee_x + (f.log_multiplier if self.fee_spike else 0.0)
            )

        h = m.hashrate
        noise = 0.0
        if h.sigma > 0.0:
            z = rnd.gauss(0.0, 1.0)
            if day == 0:
                self.hash_x = h.sigma * z
            else:
                self.hash_x = h.phi * self.hash_x + h.sigma * math.sqrt(1.0 - h.phi * h.phi) * z
            noise = self.hash_x - 0.5 * h.sigma * h.sigma
        hs = math.exp(h.log_start_ehs + h.log_growth_per_day * day + noise) * 1e18
        if m.includes_fleet:
            hs = max(hs - self.installed_th_s * 1e12, 0.0)
        self.rest_hs = hs


def _poisson_small(rnd: random.Random, lam: float) -> int:
    """Poisson(``lam``) by Knuth's product of uniforms (fine for a small mean)."""
    limit = math.exp(-lam)
    k, prod = 0, rnd.random()
    while prod > limit:
        k += 1
        prod *= rnd.random()
    return k
