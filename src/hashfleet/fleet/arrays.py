"""The fleet as static arrays: cohorts in merit order, their sites, and the site limits.

:func:`compile_fleet` turns the scenario's ``fleet`` section into :class:`FleetArrays`
(cohorts sorted by site, then efficiency — the merit order); :func:`available_mw` gives the
power each cohort may draw under its site's grid capacity when it and every better cohort of
its site run (a prefix sum within the site, :func:`~hashfleet.numeric.segment_prefix_sums`).
The daily operation built on these is in :mod:`hashfleet.fleet.operations`.

Arrays: static cohort properties are ``(n_cohorts,)``; per-path arrays ``(n_paths,
n_cohorts)``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hashfleet.errors import InputError
from hashfleet.fleet.catalogue import Catalogue
from hashfleet.market.power import FleetPower, build_fleet_power, flat_price_usd_per_mwh
from hashfleet.numeric import segment_prefix_sums, segment_sums
from hashfleet.scenario.schema import CohortSpec, FleetSpec

__all__ = [
    "BUILTIN_MODES",
    "HOURS_PER_DAY",
    "FleetArrays",
    "available_mw",
    "compile_fleet",
    "site_limited_mw",
]

#: Built-in operating modes: name -> (hashrate scale, power scale) relative to stock.
#: Typical firmware points (assumption): underclocking gains ~15 % efficiency, overclocking
#: loses ~15 %.
BUILTIN_MODES: dict[str, tuple[float, float]] = {
    "underclock": (0.8, 0.68),
    "stock": (1.0, 1.0),
    "overclock": (1.15, 1.32),
}

HOURS_PER_DAY = 24.0


@dataclass(frozen=True)
class FleetArrays:
    """Static description of the fleet, cohort axis last.

    Attributes
    ----------
    labels : tuple of str
        ``"model @ site"`` per cohort, in merit order.
    scenario_index : ndarray of int, shape (n_cohorts,)
        Position of each cohort in the scenario's ``fleet.cohorts``.
    unit_hashrate_th_s, unit_power_w : ndarray, shape (n_cohorts,)
        Stock hashrate (TH/s) and wall power (W) of one machine.
    units : ndarray, shape (n_cohorts,)
        Machines in the cohort once installed.
    install_day : ndarray of int, shape (n_cohorts,)
        Day the cohort starts hashing (0 = at the start).
    site : ndarray of int, shape (n_cohorts,)
        Index of the cohort's site.
    site_names : tuple of str
    site_capacity_mw, site_pue, site_price_usd_per_mwh : ndarray, shape (n_sites,)
        ``site_price_usd_per_mwh`` is NaN for sites without a flat price.
    cohorts : tuple of CohortSpec
        The cohorts' specs, in merit order (failures, degradation, dead-on-arrival).
    power : FleetPower or None
        The sites' contracts, spot models and programmes.
    mode_options : tuple of (cohort, hashrate scales, power scales)
        For ``mode: best`` cohorts (merit-order position): the scales of every mode they may
        run in, relative to the compiled (stock) unit, each of shape ``(n_modes,)``.
    """

    labels: tuple[str, ...]
    scenario_index: NDArray[np.intp]
    unit_hashrate_th_s: NDArray[np.float64]
    unit_power_w: NDArray[np.float64]
    units: NDArray[np.float64]
    install_day: NDArray[np.int64]
    site: NDArray[np.intp]
    site_names: tuple[str, ...]
    site_capacity_mw: NDArray[np.float64]
    site_pue: NDArray[np.float64]
    site_price_usd_per_mwh: NDArray[np.float64]
    cohorts: tuple[CohortSpec, ...] = ()
    power: FleetPower | None = None
    mode_options: tuple[tuple[int, NDArray[np.float64], NDArray[np.float64]], ...] = ()

    @property
    def n_cohorts(self) -> int:
        """Number of cohorts."""
        return len(self.labels)

    @functools.cached_property
    def site_bounds(self) -> NDArray[np.intp]:
        """Cohorts ``site_bounds[s]:site_bounds[s+1]`` are at site ``s`` (cohorts are sorted by
        site): shape (n_sites + 1,).  Per-site sums are :func:`~hashfleet.numeric.segment_sums`
        over these ranges, not products with a one-hot matrix (docs/model.md §9)."""
        return np.searchsorted(self.site, np.arange(len(self.site_names) + 1)).astype(np.intp)

    @property
    def efficiency_j_per_th(self) -> NDArray[np.float64]:
        """Stock efficiency of each cohort in J/TH (= W per TH/s)."""
        return self.unit_power_w / self.unit_hashrate_th_s

    @property
    def unit_mw(self) -> NDArray[np.float64]:
        """Power of one machine at the meter, PUE included (MW), per cohort."""
        return self.unit_power_w * self.site_pue[self.site] / 1e6

    @property
    def power_cost_usd_per_th_day(self) -> NDArray[np.float64]:
        """Power cost of one TH/s running a whole day, per cohort (USD/TH/day), incl. PUE."""
        site_factor = self.site_pue * self.site_price_usd_per_mwh
        return self.efficiency_j_per_th * HOURS_PER_DAY / 1e6 * site_factor[self.site]


def compile_fleet(
    spec: FleetSpec,
    catalogue: Catalogue,
    start: dt.date,
    extra_cohorts: Sequence[CohortSpec] = (),
) -> FleetArrays:
    """Turn the fleet section into arrays.

    Parameters
    ----------
    spec : FleetSpec
        The scenario's fleet (cohorts must name sites and catalogue models: checked by the
        scenario loader).
    catalogue : Catalogue
        ASIC models, including the scenario's own ``fleet.models`` (and any models a
        capability adds, e.g. future generations).
    start : datetime.date
        Day 0, to turn install dates into day indices.
    extra_cohorts : sequence of CohortSpec
        Cohort *slots* beyond the scenario's (e.g. purchases a policy may make during the
        run).  They are numbered after the scenario's cohorts in
        :attr:`FleetArrays.scenario_index` and start with no units unless their
        ``install_date`` says otherwise.
    """
    site_index = {s.name: i for i, s in enumerate(spec.sites)}
    labels, th, w, units, day, site = [], [], [], [], [], []
    options: dict[int, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
    all_cohorts = [*spec.cohorts, *extra_cohorts]
    for i, c in enumerate(all_cohorts):
        if c.site not in site_index:
            raise InputError(f"fleet.cohorts[{i}].site: unknown site {c.site!r}")
        model = catalogue.get(c.model)
        modes = dict(BUILTIN_MODES) | {m.name: (m.hashrate_scale, m.power_scale) for m in c.modes}
        if c.mode not in modes and c.mode != "best":
            raise InputError(
                f"fleet.cohorts[{i}].mode: expected best or one of {sorted(modes)}, got {c.mode!r}"
            )
        th_scale, w_scale = modes["stock" if c.mode == "best" else c.mode]
        if c.mode == "best":
            scales = np.asarray(list(modes.values()), dtype=float)
            options[i] = (scales[:, 0] / th_scale, scales[:, 1] / w_scale)
        labels.append(f"{c.model} @ {c.site}")
        th.append(model.hashrate_th_s * th_scale)
        w.append(model.power_w * w_scale)
        units.append(float(c.units))
        day.append(max(0, (c.install_date - start).days) if c.install_date else 0)
        site.append(site_index[c.site])
    th_a, w_a = np.asarray(th, dtype=float), np.asarray(w, dtype=float)
    site_a = np.asarray(site, dtype=np.intp)
    order = np.lexsort((w_a / th_a, site_a)) if labels else np.arange(0, dtype=np.intp)
    return FleetArrays(
        labels=tuple(labels[i] for i in order),
        scenario_index=order.astype(np.intp),
        unit_hashrate_th_s=th_a[order],
        unit_power_w=w_a[order],
        units=np.asarray(units, dtype=float)[order],
        install_day=np.asarray(day, dtype=np.int64)[order],
        site=site_a[order],
        site_names=tuple(s.name for s in spec.sites),
        site_capacity_mw=np.asarray([s.capacity_mw for s in spec.sites], dtype=float),
        site_pue=np.asarray([s.pue for s in spec.sites], dtype=float),
        site_price_usd_per_mwh=np.asarray(
            [flat_price_usd_per_mwh(s.power) for s in spec.sites], dtype=float
        ),
        cohorts=tuple(all_cohorts[i] for i in order),
        power=build_fleet_power(spec.sites, start),
        mode_options=tuple(
            (pos, *options[int(i)]) for pos, i in enumerate(order) if int(i) in options
        ),
    )


def available_mw(
    fleet: FleetArrays,
    installed_units: NDArray[np.float64],
    unit_mw: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Power each cohort may draw when it and every better cohort of its site run.

    Parameters
    ----------
    fleet : FleetArrays
    installed_units : ndarray, shape (n_paths, n_cohorts)
        Machines installed, cohorts in merit order.
    unit_mw : ndarray, shape (n_paths, n_cohorts), optional
        MW of one unit per path (operating modes chosen per path); default
        ``fleet.unit_mw``.

    Returns
    -------
    ndarray, shape (n_paths, n_cohorts)
        ``clip(capacity − power of better cohorts of the site, 0, own power)`` in MW.
    """
    return site_limited_mw(fleet, installed_units * (fleet.unit_mw if unit_mw is None else unit_mw))


def site_limited_mw(fleet: FleetArrays, want: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`available_mw` from the MW each cohort would draw, ``want`` (n_paths, n_cohorts)
    (returned as is, not copied, on paths where no site is full)."""
    # Paths whose every site holds all its cohorts (with a margin far above rounding) get
    # ``want`` as is — what the prefix formula gives them, bit for bit — and only the others
    # pay for the (cohorts × cohorts) product.
    tight = segment_sums(want, fleet.site_bounds) > fleet.site_capacity_mw * (1.0 - 1e-9)
    if not tight.any():
        return want
    rows = np.flatnonzero(tight.any(axis=1))
    if rows.size == want.shape[0]:
        return _site_prefix_limit(fleet, want)
    out = want.copy()
    out[rows] = _site_prefix_limit(fleet, want[rows])
    return out


def _site_prefix_limit(fleet: FleetArrays, want: NDArray[np.float64]) -> NDArray[np.float64]:
    """``clip(capacity − power of better cohorts of the site, 0, want)``, (n, n_cohorts)."""
    out = segment_prefix_sums(want, fleet.site_bounds)  # better cohorts of the same site
    np.subtract(fleet.site_capacity_mw[fleet.site], out, out=out)
    np.maximum(out, 0.0, out=out)
    np.minimum(out, want, out=out)
    return out
