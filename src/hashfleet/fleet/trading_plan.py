"""Compile-time planning of trading: the frontier models join the catalogue and every
(site, model) an order or policy may buy gets a cohort slot (see :mod:`hashfleet.fleet.orders`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hashfleet.errors import InputError
from hashfleet.fleet.catalogue import Catalogue
from hashfleet.market.asic import Frontier, build_frontier
from hashfleet.scenario.schema import CohortSpec, Scenario

__all__ = ["TradingPlan", "plan_trading"]


@dataclass(frozen=True)
class TradingPlan:
    """What compiling adds for buying and selling.

    Attributes
    ----------
    catalogue : Catalogue
        The scenario's catalogue plus the frontier models.
    frontier : Frontier
    slots : tuple of (site name, model name)
        One cohort slot each, numbered after the scenario's cohorts.
    extra_cohorts : tuple of CohortSpec
        The slots as cohorts for :func:`~hashfleet.fleet.operations.compile_fleet`.
    """

    scenario: Scenario
    catalogue: Catalogue
    frontier: Frontier
    slots: tuple[tuple[str, str], ...]
    extra_cohorts: tuple[CohortSpec, ...]


def plan_trading(scenario: Scenario, catalogue: Catalogue) -> TradingPlan:
    """Frontier models and cohort slots for the orders and policies of ``scenario``.

    Raises
    ------
    InputError
        If an order or policy names an unknown model or site.
    """
    start = scenario.run.start
    frontier = build_frontier(scenario.asic_market, catalogue, start)
    catalogue = catalogue.with_models(frontier.models)
    sites = [s.name for s in scenario.fleet.sites]
    wanted: list[tuple[str, str]] = []
    for i, o in enumerate(scenario.orders):
        if o.site not in sites:
            raise InputError(f"orders[{i}].site: expected one of {sites}, got {o.site!r}")
        _check_model(catalogue, o.model, f"orders[{i}].model")
        wanted.append((o.site, o.model))
    up = scenario.policies.upgrade
    if up.kind != "hold" or scenario.policies.custom:
        model = getattr(up, "model", "frontier")
        names = frontier.names if model == "frontier" else (model,)
        if model != "frontier":
            _check_model(catalogue, model, "policies.upgrade.model")
        wanted.extend((s, m) for s in sites for m in names)
        if scenario.policies.custom:
            wanted.extend((s, m) for s in sites for m in frontier.names)
    slots = tuple(dict.fromkeys(wanted))
    never = start + dt.timedelta(days=scenario.run.horizon_days + 1)
    extra = tuple(CohortSpec(model=m, site=s, units=1, install_date=never) for s, m in slots)
    return TradingPlan(scenario, catalogue, frontier, slots, extra)


def _check_model(catalogue: Catalogue, name: str, where: str) -> None:
    try:
        catalogue.get(name)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
