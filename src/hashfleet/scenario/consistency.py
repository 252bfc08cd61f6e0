"""Cross-field checks of a scenario, run after schema validation.

The schema checks each field on its own; these named checks look across fields
(PyPSA's ``consistency`` module is the model).  Each returns
:class:`~hashfleet.errors.ScenarioIssue` objects whose message says how to fix the input,
located at the exact field.  :func:`check_consistency` runs them all and returns every
issue; the loader raises them together in one :class:`~hashfleet.errors.ScenarioError`.

Checks
------
``cohort_site_known``
    Every cohort's ``site`` names a site in ``fleet.sites``.
``cohort_model_known``
    Every cohort's ``model`` is in the catalogue or in ``fleet.models``.
``model_names_unique``
    ``fleet.models`` does not define a name twice.
``epoch_start_before_start``
    ``network.start.epoch_start_time`` is not after the start of the run (t=0), since it
    is the time of a block already mined.
``start_bits_valid``
    ``network.start.bits`` encodes a positive target no easier than the proof-of-work
    limit (``0x1d00ffff``), the mainnet rule every retarget obeys.
``bootstrap_window_ordered``
    A bootstrap price model's ``history_from`` is not after its ``history_to``.
``custom_code_allowed``
    Every Python target (``policies.custom``, ``hpc.policy.target``,
    ``capital.treasury.custom``) is an installed entry point or lies in a module allowed
    with ``--allow-code`` (:mod:`hashfleet.scenario.trust`); nothing is imported.
"""

from __future__ import annotations

import datetime as dt
import difflib
import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from hashfleet.errors import HashfleetError, IssueLocation, ScenarioIssue
from hashfleet.scenario.schema import BootstrapPriceSpec, Scenario
from hashfleet.scenario.trust import target_problem

__all__ = ["CHECKS", "CheckContext", "check_consistency", "known_model_names"]

FieldPath = tuple[str | int, ...]
Locate = Callable[[FieldPath], IssueLocation]

#: nBits of the proof-of-work limit (difficulty 1) on mainnet.
POW_LIMIT_BITS = 0x1D00FFFF


@dataclass(frozen=True)
class CheckContext:
    """What a check may use besides the scenario.

    Attributes
    ----------
    locate : callable
        Field path -> where it was written.
    model_names : frozenset of str or None
        Names the catalogue knows, ``fleet.models`` included; ``None`` when the
        catalogue is not available (the model check is then skipped).
    """

    locate: Locate
    model_names: frozenset[str] | None = None

    def issue(self, path: FieldPath, message: str) -> ScenarioIssue:
        """An issue at ``path``."""
        return ScenarioIssue(self.locate(path), _fmt(path), message)


Check = Callable[[Scenario, CheckContext], Iterable[ScenarioIssue]]

#: The named checks, in the order they run.
CHECKS: dict[str, Check] = {}


def _check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn

    return register


def check_consistency(
    scenario: Scenario,
    *,
    locate: Locate | None = None,
    model_names: Iterable[str] | None = None,
) -> list[ScenarioIssue]:
    """Run every cross-field check.

    Parameters
    ----------
    scenario : Scenario
        A scenario that passed schema validation.
    locate : callable, optional
        Maps a field path to its :class:`~hashfleet.errors.IssueLocation`; default:
        ``<scenario>`` with no line.
    model_names : iterable of str, optional
        Model names the catalogue knows; ``fleet.models`` are added.  ``None`` skips
        the ``cohort_model_known`` check.

    Returns
    -------
    list of ScenarioIssue
        Empty if the scenario is consistent.
    """
    names = None
    if model_names is not None:
        names = frozenset(model_names) | {m.name for m in scenario.fleet.models}
    ctx = CheckContext(locate or (lambda _p: IssueLocation("<scenario>")), names)
    issues: list[ScenarioIssue] = []
    for check in CHECKS.values():
        issues.extend(check(scenario, ctx))
    return issues


def known_model_names(
    scenario: Scenario, locate: Locate
) -> tuple[frozenset[str] | None, list[ScenarioIssue]]:
    """Names in the scenario's catalogue, via ``hashfleet.fleet.catalogue``.

    Parameters
    ----------
    scenario : Scenario
    locate : callable
        Field path -> location, for an issue with ``fleet.catalogue``.

    Returns
    -------
    names : frozenset of str or None
        ``None`` if the catalogue module is not available in this build.
    issues : list of ScenarioIssue
        One issue at ``fleet.catalogue`` if the catalogue cannot be loaded.
    """
    module_name = "hashfleet.fleet.catalogue"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            return None, []
        raise
    load = getattr(module, "load_catalogue", None)
    if load is None:
        return None, []
    try:
        catalogue = load(scenario.fleet.catalogue, extra=tuple(scenario.fleet.models))
    except HashfleetError as e:
        path: FieldPath = ("fleet", "catalogue")
        return frozenset(), [ScenarioIssue(locate(path), _fmt(path), str(e))]
    return frozenset(catalogue.names), []


# ------------------------------------------------------------------ checks


@_check("cohort_site_known")
def _cohort_site_known(s: Scenario, ctx: CheckContext) -> Iterable[ScenarioIssue]:
    sites = [site.name for site in s.fleet.sites]
    for i, cohort in enumerate(s.fleet.cohorts):
        if cohort.site not in sites:
            hint = (
                f"known sites: {_names(sites)}{_did_you_mean(cohort.site, sites)}"
                if sites
                else "fleet.sites is empty; add the site there"
            )
            yield ctx.issue(
                ("fleet", "cohorts", i, "site"), f"unknown site {cohort.site!r}; {hint}"
            )


@_check("hpc_sites_known")
def _hpc_sites_known(s: Scenario, ctx: CheckContext) -> Iterable[ScenarioIssue]:
    if s.hpc is None:
        return
    cap = {site.name: site.capacity_mw for site in s.fleet.sites}
    used: dict[str, float] = {}
    for i, p in enumerate(s.hpc.projects):
        if p.site not in cap:
            yield ctx.issue(
                ("hpc", "projects", i, "site"),
                f"unknown site {p.site!r}; known sites: {_names(list(cap))}"
                f"{_did_you_mean(p.site, list(cap))}",
            )
            continue
        used[p.site] = used.get(p.site, 0.0) + p.gross_mw
        if used[p.site] > cap[p.site] + 1e-9:
            yield ctx.issue(
                ("hpc", "projects", i, "gross_mw"),
                f"the projects at {p.site!r} take {used[p.site]:g} MW, more than its "
                f"capacity_mw = {cap[p.site]:g}; shrink their phases",
            )


@_check("cohort_model_known")
def _cohort_model_known(s: Scenario, ctx: CheckContext) -> Iterable[ScenarioIssue]:
    if ctx.model_names is None:
        return
    names = sorted(ctx.model_names)
    for i, cohort in enumerate(s.fleet.cohorts):
        if cohort.model not in ctx.model_names:
            yield ctx.issue(
                ("fleet", "cohorts", i, "model"),
                f"unknown model {cohort.model!r}{_did_you_mean(cohort.model, names)}; "
                "use a name from the catalogue (fleet.catalogue) or define the model "
                "under fleet.models",
            )


@_check("model_names_unique")
def _model_names_unique(s: Scenario, ctx: CheckContext) -> Iterable[ScenarioIssue]:
    first: dict[str, int] = {}
    for i, model in enumerate(s.fleet.models):
        if model.name in first:
            yield ctx.issue(
                ("fleet", "models", i, "name"),
                f"model {model.name!r} is already defined at fleet.models[{first[model.name]}]; "
                "keep one definition",
            )
        else:
            first[model.name] = i


@_check("epoch_start_before_start")
def _epoch_start_before_start(s: Scenario, ctx: CheckContext) -> Iterable[ScenarioIssue]:
    t = s.network.start.epoch_start_time
    t0 = dt.datetime.combine(s.run.start, dt.time(), tzinfo=dt.UTC)
    if t is not None and t > t0:
        yield ctx.issue(
            ("network", "start", "epoch_start_time"),
            f"the epoch's first block at {t.isoformat()} is after the start of the run "
            f"{t0.isoformat()}; it must already be mined at t=0: use an earlier time or a "
            "later run.start",
        )


@_check("start_bits_valid")
def _start_bits_valid(s: Scenario, ctx: CheckContext) -> Iterable[ScenarioIssue]:
    bits = s.network.start.bits
    if bits is None:
        return
    path: FieldPath = ("network", "start", "bits")
    target = _target(bits)
    if target is None:
        yield ctx.issue(
            path,
            f"expected a compact target encoding a positive number, got 0x{bits:08x} "
            "(sign bit set or mantissa zero)",
        )
    elif target > _target(POW_LIMIT_BITS):  # type: ignore[operator]
        yield ctx.issue(
            path,
            f"expected a target no easier than the proof-of-work limit 0x{POW_LIMIT_BITS:08x} "
            f"(difficulty 1), got 0x{bits:08x}",
        )


@_check("bootstrap_window_ordered")
def _bootstrap_window_ordered(s: Scenario, ctx: CheckContext) -> Iterable[ScenarioIssue]:
    p = s.market.btc_price
    if not isinstance(p, BootstrapPriceSpec) or not (p.history_from and p.history_to):
        return
    if p.history_from > p.history_to:
        yield ctx.issue(
            ("market", "btc_price", "history_from"),
            f"history_from {p.history_from} is after history_to {p.history_to}; swap them",
        )


@_check("custom_code_allowed")
def _custom_code_allowed(s: Scenario, ctx: CheckContext) -> Iterable[ScenarioIssue]:
    targets: list[tuple[FieldPath, str]] = [
        (("policies", "custom", i, "target"), c.target) for i, c in enumerate(s.policies.custom)
    ]
    if s.hpc is not None and s.hpc.policy.target is not None:
        targets.append((("hpc", "policy", "target"), s.hpc.policy.target))
    if s.capital is not None and s.capital.treasury.custom:
        targets.append((("capital", "treasury", "custom"), s.capital.treasury.custom))
    for path, target in targets:
        problem = target_problem(target)
        if problem is not None:
            yield ctx.issue(path, problem)


# ------------------------------------------------------------------ helpers


def _target(bits: int) -> int | None:
    """The target a compact nBits encodes, or None if negative or zero."""
    size, mantissa = bits >> 24, bits & 0x007FFFFF
    if bits & 0x00800000 or mantissa == 0:
        return None
    return mantissa >> 8 * (3 - size) if size <= 3 else mantissa << 8 * (size - 3)


def _names(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _did_you_mean(name: str, names: Sequence[str]) -> str:
    by_lower = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


def _fmt(path: FieldPath) -> str:
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else seg)
    return out
