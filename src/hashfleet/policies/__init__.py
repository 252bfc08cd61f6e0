"""Policies: decisions the company takes during a run, on their own calendar.

The protocol (what a user policy implements)::

    class MyPolicy:
        def __init__(self, **params): ...          # params from YAML
        def schedule(self, n_days: int) -> Iterable[int]: ...   # review days
        def review(self, engine, day: int) -> None: ...         # act on all paths

A policy object is created **per chunk engine** (so it may keep per-path state as arrays of
shape ``(engine.n_paths, ...)``).  Each review day is a SimPy event that marks the policy
due; due policies run at stage 60 of that day's tick, after production, with the day's
prices in ``engine.today`` and the trading desk (:func:`hashfleet.fleet.orders.desk_of`)
for orders and sales.  A review acts on **all paths at once** with masks — never a Python
loop over paths.  Random draws come from ``engine.rng("policies")`` only.

Built-ins (``policies.upgrade.kind`` in a scenario): ``hold``, ``replace_unprofitable``,
``refresh_frontier``, ``buy_dip`` (:mod:`hashfleet.policies.upgrade`).  User policies are
listed under ``policies.custom`` as ``target: package.module:ClassName`` with ``params``;
they run only from an installed entry point (group ``hashfleet.policies``) or a module given
with ``--allow-code`` (:mod:`hashfleet.scenario.trust`, docs/security.md).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy

from hashfleet.errors import InputError
from hashfleet.fleet.orders import desk_of
from hashfleet.policies.protocol import Policy
from hashfleet.policies.upgrade import build_upgrade
from hashfleet.scenario.schema import CustomPolicySpec, Scenario
from hashfleet.scenario.trust import load_target

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine

__all__ = ["Policy", "PolicyComponent", "build_policies", "load_custom"]


class PolicyComponent:
    """Runs one policy in every chunk engine (a fresh policy object per engine)."""

    def __init__(self, name: str, factory: Callable[[], Policy]) -> None:
        self.name = name
        self.factory = factory

    def attach(self, engine: ChunkEngine) -> None:
        """Create the policy and a SimPy process that marks it due on its review days."""
        policy = self.factory()
        desk = desk_of(engine)
        n_days = engine.model.n_days
        days = sorted({int(d) for d in policy.schedule(n_days) if 0 <= int(d) < n_days})

        def reviews() -> Generator[simpy.Event, Any, None]:
            for d in days:
                yield engine.env.timeout(d - engine.env.now)
                desk.due.append(policy)

        engine.add_process(reviews())


def load_custom(spec: CustomPolicySpec, where: str) -> Callable[[], Policy]:
    """Import ``package.module:ClassName`` and return a factory calling it with the params.

    Only an installed entry point or a module allowed with ``--allow-code`` is imported
    (:func:`hashfleet.scenario.trust.load_target`).

    Raises
    ------
    InputError
        If the target is not allowed, cannot be imported, is not a class with ``schedule``
        and ``review``, or rejects the params.
    """
    cls = load_target(spec.target, f"{where}.target")
    if not (callable(getattr(cls, "schedule", None)) and callable(getattr(cls, "review", None))):
        raise InputError(
            f"{where}.target: expected a class with schedule() and review(), got {spec.target!r}"
        )
    params = dict(spec.params)
    try:
        cls(**params)
    except TypeError as exc:
        raise InputError(f"{where}.params: {spec.target} rejects {params}: {exc}") from None
    return lambda: cls(**params)


def build_policies(scenario: Scenario) -> list[PolicyComponent]:
    """The policy components of a scenario (upgrade policy first, then custom ones)."""
    out: list[PolicyComponent] = []
    up = scenario.policies.upgrade
    if up.kind != "hold":
        out.append(PolicyComponent(up.kind, lambda: build_upgrade(up)))
    for i, c in enumerate(scenario.policies.custom):
        out.append(PolicyComponent(c.target, load_custom(c, f"policies.custom[{i}]")))
    return out
