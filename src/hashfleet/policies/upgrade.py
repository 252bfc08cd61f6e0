"""Built-in upgrade policies: hold, replace when unprofitable, refresh to the frontier, buy
the dip.

All act on every path at once.  A **replacement** sells units of a column and buys units of
a better model at the *same site drawing the same power* (so site limits still hold):
``new_units = floor(old_units · unit_mw_old / unit_mw_new)``.  Candidate columns are taken
worst efficiency first; a unit is replaced only if the new model uses at least ``min_gain``
less energy per TH.  The budget per path and review is spent on the net cost (purchase minus
the sale value at today's secondary price); partial columns are allowed (whole units).
Old units are sold when their replacement is commissioned (they mine until then).

A review never commits more than the cash on hand on the path (no financing yet).

``model: frontier`` buys, on each path, the newest frontier generation released by the
review day (:class:`hashfleet.market.asic.Frontier`); it is ordered new (deposit, lead time).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from hashfleet.fleet.operations import HOURS_PER_DAY
from hashfleet.fleet.orders import TradingDesk, desk_of
from hashfleet.market.asic import DAYS_PER_MONTH
from hashfleet.scenario.schema import (
    BuyDipPolicySpec,
    RefreshFrontierPolicySpec,
    ReplaceUnprofitablePolicySpec,
)

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine
    from hashfleet.policies.protocol import Policy

__all__ = [
    "BuyDip",
    "RefreshFrontier",
    "ReplaceUnprofitable",
    "build_upgrade",
    "replace_worst",
]


def build_upgrade(
    spec: ReplaceUnprofitablePolicySpec | RefreshFrontierPolicySpec | BuyDipPolicySpec,
) -> Policy:
    """The built-in policy object of an upgrade spec."""
    if isinstance(spec, ReplaceUnprofitablePolicySpec):
        return ReplaceUnprofitable(spec)
    if isinstance(spec, RefreshFrontierPolicySpec):
        return RefreshFrontier(spec)
    return BuyDip(spec)


def _budget(engine: ChunkEngine, budget_usd: float) -> NDArray[np.float64]:
    """What a review may spend on each path: the policy's budget, but never more than the
    cash on hand (yesterday's closing cash; balances of earlier orders not yet paid are not
    reserved).  Shape ``(n_paths,)``."""
    return np.minimum(budget_usd, np.maximum(engine.cash_usd, 0.0))


def _model_per_path(desk: TradingDesk, model: str, day: int) -> tuple[list[str], NDArray[np.intp]]:
    """Model names and, per path, the index of the one bought on ``day``."""
    n = desk.engine.n_paths
    if model == "frontier":
        return list(desk.frontier.names), desk.frontier.newest(desk.frontier_release_day, day)
    return [model], np.zeros(n, dtype=np.intp)


def replace_worst(
    engine: ChunkEngine,
    day: int,
    budget_usd: NDArray[np.float64],
    *,
    model: str,
    min_gain: float,
    secondary: bool,
    lead_time_days: int = 0,
    deposit_share: float = 0.0,
    commissioning_days: int = 0,
    paths: NDArray[np.bool_] | None = None,
) -> NDArray[np.float64]:
    """Replace the least efficient units by ``model`` within a budget (module docstring).

    Parameters
    ----------
    engine : ChunkEngine
    day : int
    budget_usd : ndarray, shape (n_paths,)
        Most spent (net of sales) on each path.
    model : str
        Catalogue name or ``"frontier"``.
    min_gain : float
        Required relative J/TH improvement.
    secondary : bool
        Buy used (today's secondary price, paid now) instead of ordering new.
    lead_time_days, deposit_share, commissioning_days
        Order terms (new purchases).
    paths : ndarray of bool, shape (n_paths,), optional
        Paths allowed to act (default all).

    Returns
    -------
    ndarray, shape (n_paths,)
        Net USD committed on each path.
    """
    desk = desk_of(engine)
    fleet = desk.fs.fleet
    n = engine.n_paths
    eff = fleet.efficiency_j_per_th
    left = np.where(paths if paths is not None else True, budget_usd, 0.0).astype(float)
    spent = np.zeros(n)
    names, pick = _model_per_path(desk, model, day)
    worst_first = np.argsort(-eff, kind="stable")
    for g, name in enumerate(names):
        on = pick == g
        if not on.any():
            continue
        for c in worst_first:
            site = desk.site_names[fleet.site[c]]
            new = desk.slot(site, name)
            if eff[new] > eff[c] * (1.0 - min_gain):
                continue
            have = np.maximum(desk.fs.installed_units[:, c] - desk.retiring[:, c], 0.0)
            active = on & (have > 0) & (left > 0)
            if not active.any():
                continue
            ratio = fleet.unit_mw[c] / fleet.unit_mw[new]  # new units per old unit
            price = (
                desk.secondary_usd_per_th[:, new]
                if secondary
                else desk.new_price_usd_per_th(day)[:, new]
            )
            buy_per_old = ratio * fleet.unit_hashrate_th_s[new] * price
            sale_per_old = fleet.unit_hashrate_th_s[c] * desk.secondary_usd_per_th[:, c]
            net = np.maximum(buy_per_old - sale_per_old, 1e-9)
            old = np.where(active, np.floor(np.minimum(have, left / net)), 0.0)
            new_units = np.floor(old * ratio)
            old = np.where(new_units > 0, old, 0.0)
            if not (new_units > 0).any():
                continue
            cost = old * net
            left -= cost
            spent += cost
            if secondary:
                desk.buy_secondary(
                    new, new_units, commissioning_days=commissioning_days, retire=[(int(c), old)]
                )
            else:
                desk.order(
                    day,
                    new,
                    new_units,
                    price,
                    deposit_share=deposit_share,
                    lead_time_days=lead_time_days,
                    commissioning_days=commissioning_days,
                    retire=[(int(c), old)],
                )
    return spent


class RefreshFrontier:
    """Every ``every_months``, replace the worst units by the frontier within the budget."""

    def __init__(self, spec: RefreshFrontierPolicySpec) -> None:
        self.spec = spec

    def schedule(self, n_days: int) -> Iterable[int]:
        """Review days: ``k · every_months`` for k ≥ 1."""
        step = self.spec.every_months * DAYS_PER_MONTH
        return [round(k * step) for k in range(1, int(n_days / step) + 1)]

    def review(self, engine: ChunkEngine, day: int) -> None:
        """Order frontier units replacing the least efficient ones (new, with lead time)."""
        s = self.spec
        replace_worst(
            engine,
            day,
            _budget(engine, s.budget_usd),
            model=s.model,
            min_gain=s.min_gain,
            secondary=False,
            lead_time_days=s.lead_time_days,
            deposit_share=s.deposit_share,
            commissioning_days=s.commissioning_days,
        )


class BuyDip:
    """Buy used ``model`` units when their secondary USD/TH < ``threshold_days`` × hashprice.

    The purchase first fills spare site power (units that fit under capacity at the
    meter, deliveries in transit not counted), then replaces worse units with what is left
    of the budget.
    """

    def __init__(self, spec: BuyDipPolicySpec) -> None:
        self.spec = spec

    def schedule(self, n_days: int) -> Iterable[int]:
        """Review days: every ``review_every_days`` from day ``review_every_days``."""
        k = self.spec.review_every_days
        return range(k, n_days, k)

    def review(self, engine: ChunkEngine, day: int) -> None:
        """Buy where the dip condition holds (per path)."""
        s = self.spec
        desk = desk_of(engine)
        fleet = desk.fs.fleet
        cheap_days = desk.secondary_usd_per_th / np.maximum(
            desk.hashprice_usd_per_th_day[:, None], 1e-12
        )
        budget = _budget(engine, s.budget_usd)
        installed_mw = desk.fs.installed_units * fleet.unit_mw  # (n, k)
        for si, site in enumerate(desk.site_names):
            col = desk.slot(site, s.model)
            dip = cheap_days[:, col] < s.threshold_days
            spare = fleet.site_capacity_mw[si] - installed_mw[:, fleet.site == si].sum(axis=1)
            unit_cost = fleet.unit_hashrate_th_s[col] * desk.secondary_usd_per_th[:, col]
            units = np.floor(
                np.minimum(np.maximum(spare, 0) / fleet.unit_mw[col], budget / unit_cost)
            )
            units = np.where(dip, units, 0.0)
            if (units > 0).any():
                desk.buy_secondary(col, units, commissioning_days=s.commissioning_days)
                budget -= units * unit_cost
        dip_any = (
            cheap_days[:, [desk.slot(site, s.model) for site in desk.site_names]] < s.threshold_days
        ).any(axis=1)
        replace_worst(
            engine,
            day,
            budget,
            model=s.model,
            min_gain=s.min_gain,
            secondary=True,
            commissioning_days=s.commissioning_days,
            paths=np.asarray(dip_any, dtype=bool),
        )


class ReplaceUnprofitable:
    """Sell a column once it has been unprofitable ``days`` days in a row; replace it.

    Unprofitable: the day's expected payout per TH after pool fee is below the column's
    power cost per TH running the whole day at its site's average marginal price of the day
    (PUE, modes and degradation included): the flat price of a PPA or hosting contract, spot
    level + adder for an index contract, the mean of the hours of a time-of-use tariff,
    ``max(strike, spot)`` with resale (:meth:`~hashfleet.market.power.FleetPower.day_price`).
    The counter is updated every day; sales happen every ``review_every_days``.  With
    ``replace``, the freed power is refilled with ``model`` units (ordered new, within
    ``budget_usd`` per review).
    """

    def __init__(self, spec: ReplaceUnprofitablePolicySpec) -> None:
        self.spec = spec
        self.streak: NDArray[np.float64] | None = None

    def schedule(self, n_days: int) -> Iterable[int]:
        """Every day (the streak is counted daily)."""
        return range(n_days)

    def review(self, engine: ChunkEngine, day: int) -> None:
        """Count unprofitable days; on review days sell and replace."""
        s = self.spec
        desk = desk_of(engine)
        f = desk.fs
        fleet = f.fleet
        if self.streak is None:
            self.streak = np.zeros_like(f.installed_units)
        payout = desk.hashprice_usd_per_th_day * (1.0 - desk.pool_fee)
        losing = payout[:, None] < _power_cost_per_th_day(engine)
        self.streak = np.where(losing & (f.installed_units > 0), self.streak + 1, 0.0)
        if day % s.review_every_days:
            return
        budget = _budget(engine, s.budget_usd)
        names, pick = _model_per_path(desk, s.model, day)
        for c in np.flatnonzero((self.streak >= s.days).any(axis=0)):
            sell = np.where(self.streak[:, c] >= s.days, f.installed_units[:, c], 0.0)
            sold = desk.sell(int(c), sell)
            self.streak[:, c] = 0.0
            if not s.replace:
                continue
            freed_mw = sold * fleet.unit_mw[c]
            site = desk.site_names[fleet.site[c]]
            new_price = desk.new_price_usd_per_th(day)
            for g, name in enumerate(names):
                new = desk.slot(site, name)
                if fleet.efficiency_j_per_th[new] > fleet.efficiency_j_per_th[c] * (1 - s.min_gain):
                    continue
                unit_cost = fleet.unit_hashrate_th_s[new] * new_price[:, new]
                units = np.floor(np.minimum(freed_mw / fleet.unit_mw[new], budget / unit_cost))
                units = np.where((pick == g) & (sold > 0), units, 0.0)
                if (units > 0).any():
                    budget -= units * unit_cost
                    desk.order(
                        day,
                        new,
                        units,
                        new_price[:, new],
                        deposit_share=s.deposit_share,
                        lead_time_days=s.lead_time_days,
                        commissioning_days=s.commissioning_days,
                    )


def _power_cost_per_th_day(engine: ChunkEngine) -> NDArray[np.float64]:
    """Each column's power cost of 1 TH/s for the whole day at its site's average marginal
    price of the day (USD/TH/day): shape (n_paths, n_cohorts), or (n_cohorts,) when every
    site has a flat price."""
    f = desk_of(engine).fs
    fleet = f.fleet
    power = fleet.power
    if power is None or np.isfinite(fleet.site_price_usd_per_mwh).all():
        return f.breakeven  # flat prices: the fleet's own break-even (modes, degradation)
    price = power.day_price(engine.today.exogenous, engine.n_paths)  # (n_paths, n_sites)
    return price[:, fleet.site] * (HOURS_PER_DAY / f.th_per_mw)
