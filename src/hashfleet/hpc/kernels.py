"""Pure vectorised kernels of AI/HPC conversion projects and their leases.

All kernels work on every path at once: arrays are ``(n_paths, ...)`` with the path axis
first; loops run over projects or phases only.  No kernel draws a random number: draws are
passed in as uniforms (see *Draws* below) and turned into variates by inverse CDFs, so a
change of distribution never shifts another draw (common random numbers).

Schedules
    Phase ``k`` of a project started on day ``s`` has planned works start ``s + o_k`` and
    build time ``b_k``; its random delay ``δ_k`` pushes back its own live date and every later
    phase: ``works_k = s + o_k + Σ_{j<k} δ_j`` and ``live_k = works_k + b_k + δ_k`` (days,
    delays rounded to whole days).  Capex of a phase is
    ``gross_mw · it_ratio · capex_usd_per_mw_it · (1 + overrun) · (1 − tenant_fit_out)``,
    paid in tranches on ``works_k + round(at · (live_k − works_k))``.
Billing
    Rent is invoiced monthly in advance on the lease's monthly anniversaries (calendar months
    from the commencement date; the day of month is clamped to the month's length).  The
    invoice of lease month ``m`` is ``round(R · (1 + e)^⌊m/12⌋ · ramp_m · kW_billed, 2)`` USD
    (``R`` the episode's base rent in USD/kW-month, ``e`` the annual escalator applied on each
    anniversary, ``ramp_m`` the ramp share, 1 after the ramp): every invoice is a whole
    number of cents, so sums of invoices are exact to the cent.
Default
    An active lease defaults on the first day its cumulative hazard
    ``Λ = Σ_days λ · (1 + k · drawdown_day) / 365.25`` reaches an exponential threshold
    ``E = −log(1 − u)``: the time to default then has hazard rate ``λ·(1 + k·drawdown)`` per
    year, and with ``k = 0`` the chance of a default within ``T`` years is ``1 − exp(−λT)``.
MW by use
    Each phase is in one use each day (mining, converting, leased, idle, reconverting); a
    site's mining MW is its capacity minus its phases in the other uses, so the five uses sum
    to the capacity by construction.
IRR
    Monthly-bucketed project cash flows; the monthly IRR solves ``Σ_t f_t (1+r)^−t = 0``
    (bracketed on a grid of monthly rates in ``[−0.2, 0.5]``, the root nearest 0 where there
    are several, then SciPy Newton over all paths at once; NaN where the NPV does not change
    sign), annualised as ``(1 + r)^12 − 1``.
Debt (financing hook)
    Draws are ``loan_to_cost`` of each capex tranche; interest accrues daily at ``r/365.25``
    on the balance and is capitalised until the lease commences; afterwards a share of each
    collected invoice pays the accrued interest, then principal.

Draws
-----
Per stream block of the ``"hpc"`` purpose, one array of uniforms of shape
``(B, n_projects, K)`` is drawn at the start of the run (``B`` paths of the block), with
columns, per project: ``max_phases`` phase delays, one overrun, ``renewal_options``
renewal draws, then :data:`EPISODES` default thresholds, :data:`EPISODES` re-lease delays
and :data:`EPISODES` reconversion delays (one per lease episode; a path that used up its
episodes defaults no more).  See :func:`uniform_layout`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

from hashfleet.constants import DAYS_PER_MONTH
from hashfleet.finance.valuation import irr_per_year
from hashfleet.numeric import rows_dot
from hashfleet.scenario.hpc import (
    DistributionSpec,
    FixedDist,
    LognormalDist,
    TriangularDist,
    UniformDist,
)

__all__ = [
    "DAYS_PER_YEAR",
    "EPISODES",
    "USES",
    "UniformLayout",
    "add_months",
    "capex_tranches",
    "debt_day",
    "hazard_step",
    "inverse_cdf",
    "invoice_usd",
    "irr_per_year",
    "months_of",
    "mw_by_use",
    "phase_schedule",
    "ramp_share",
    "uniform_layout",
]

#: Days per year of every ``*_per_year`` rate (Julian year).
DAYS_PER_YEAR: float = 365.25

#: Lease episodes per project and path with pre-drawn default and re-lease draws.
EPISODES: int = 8

#: Range of monthly rates searched for an IRR (−20 % to +50 % a month).

#: Uses of a site's MW, in the order of :func:`mw_by_use`'s last axis.
USES: tuple[str, ...] = ("mining", "converting", "leased", "idle", "reconverting")
MINING, CONVERTING, LEASED, IDLE, RECONVERTING = range(5)

FloatArray = NDArray[np.float64]


def inverse_cdf(dist: DistributionSpec, u: FloatArray) -> FloatArray:
    """Variates of ``dist`` from uniforms ``u`` in [0, 1) (any shape; same shape out).

    ``fixed``: the value; ``uniform``: ``low + u·(high − low)``; ``triangular``: the
    inverse of its piecewise-quadratic CDF; ``lognormal``: ``median · exp(sigma · Φ⁻¹(u))``.
    """
    u = np.asarray(u, dtype=np.float64)
    if isinstance(dist, FixedDist):
        return np.full(u.shape, dist.value)
    if isinstance(dist, UniformDist):
        return dist.low + u * (dist.high - dist.low)
    if isinstance(dist, TriangularDist):
        a, c, b = dist.low, dist.mode, dist.high
        fc = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1.0 - u) * (b - a) * (b - c))
        return np.where(u < fc, left, right)
    assert isinstance(dist, LognormalDist)
    # keep u off 0 so Φ⁻¹ stays finite (u is from Generator.random, in [0, 1))
    return dist.median * np.exp(dist.sigma * special.ndtri(np.maximum(u, 1e-300)))


@dataclass(frozen=True)
class UniformLayout:
    """Column slices of the per-project uniforms (see the module docstring)."""

    delays: slice
    overrun: int
    renewals: slice
    default: slice
    release: slice
    reconversion: slice
    width: int


def uniform_layout(max_phases: int, renewal_options: int) -> UniformLayout:
    """Columns of the ``(B, n_projects, K)`` uniforms drawn per stream block."""
    r0 = max_phases + 1
    d0 = r0 + renewal_options
    return UniformLayout(
        delays=slice(0, max_phases),
        overrun=max_phases,
        renewals=slice(r0, d0),
        default=slice(d0, d0 + EPISODES),
        release=slice(d0 + EPISODES, d0 + 2 * EPISODES),
        reconversion=slice(d0 + 2 * EPISODES, d0 + 3 * EPISODES),
        width=d0 + 3 * EPISODES,
    )


def phase_schedule(
    start_day: FloatArray,
    offset_days: FloatArray,
    build_days: FloatArray,
    delay_days: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Works-start and live days of a project's phases.

    Parameters
    ----------
    start_day : ndarray, shape (n_paths,)
        Day the project starts (``inf``: not started).
    offset_days, build_days : ndarray, shape (n_phases,)
        Planned works start after the project start, and planned build time (days).
    delay_days : ndarray, shape (n_paths, n_phases)
        Random delays (days, ≥ 0; rounded to whole days here).

    Returns
    -------
    works_day, live_day : ndarray, shape (n_paths, n_phases)
        ``works_k = s + o_k + Σ_{j<k} δ_j``, ``live_k = works_k + b_k + δ_k``.
    """
    d = np.rint(delay_days)
    earlier = np.cumsum(d, axis=1) - d
    works = start_day[:, None] + offset_days[None, :] + earlier
    return works, works + build_days[None, :] + d


def capex_tranches(
    works_day: FloatArray,
    live_day: FloatArray,
    capex_usd: FloatArray,
    tranches: list[tuple[float, float]],
) -> tuple[FloatArray, FloatArray]:
    """Days and amounts of the capex tranches of every phase.

    Parameters
    ----------
    works_day, live_day : ndarray, shape (n_paths, n_phases)
    capex_usd : ndarray, shape (n_paths, n_phases)
        Each phase's capex, overrun included (USD).
    tranches : list of (share, at)
        Share of a phase's capex paid at ``works + round(at · (live − works))``.

    Returns
    -------
    day, usd : ndarray, shape (n_paths, n_phases, n_tranches)
    """
    share = np.asarray([s for s, _ in tranches])
    at = np.asarray([a for _, a in tranches])
    span = live_day - works_day
    day = works_day[..., None] + np.rint(at[None, None, :] * span[..., None])
    return day, capex_usd[..., None] * share[None, None, :]


def add_months(start: dt.date, day: FloatArray, months: NDArray[np.int64]) -> FloatArray:
    """Day index of the date ``months`` calendar months after day ``day``.

    Parameters
    ----------
    start : datetime.date
        Day 0.
    day : ndarray, shape (n,)
        Whole day indices (finite).
    months : ndarray of int, shape (n,)

    Returns
    -------
    ndarray, shape (n,)
        Same day of month, clamped to the target month's last day (Jan 31 + 1 month is the
        28th or 29th of February).
    """
    base = np.datetime64(start, "D")
    d = base + np.asarray(day, dtype=np.int64).astype("timedelta64[D]")
    month = d.astype("datetime64[M]")
    dom = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    first = target.astype("datetime64[D]")
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - first).astype(np.int64)
    out = first + np.minimum(dom, length - 1).astype("timedelta64[D]")
    return (out - base).astype(np.int64).astype(np.float64)


def ramp_share(
    month: NDArray[np.int64], ramp_shares: FloatArray, ramped: NDArray[np.bool_]
) -> FloatArray:
    """Share of the IT MW billed in lease month ``month``.

    Parameters
    ----------
    month : ndarray of int, shape (n,)
    ramp_shares : ndarray, shape (n_ramp,)
        Share billed in months ``0 .. n_ramp − 1`` (1 afterwards).
    ramped : ndarray of bool, shape (n,)
        Rows whose lease has the ramp (re-leases do not).

    Returns
    -------
    ndarray, shape (n,)
    """
    m = np.asarray(month, dtype=np.int64)
    out = np.ones(m.shape)
    if ramp_shares.size:
        inside = ramped & (m < ramp_shares.size)
        out[inside] = ramp_shares[m[inside]]
    return out


def invoice_usd(
    rent_usd_per_kw_month: FloatArray,
    month: NDArray[np.int64],
    escalator_per_year: float,
    share: FloatArray,
    it_kw: FloatArray,
) -> FloatArray:
    """Rent invoice of lease month ``month``, rounded to the cent.

    Parameters
    ----------
    rent_usd_per_kw_month : ndarray, shape (n,)
        Base rent of the lease episode (USD/kW/month).
    month : ndarray of int, shape (n,)
        Lease month (0 = the commencement month).
    escalator_per_year : float
        Growth applied on each anniversary (compounding).
    share : ndarray, shape (n,)
        Share of the IT kW billed (ramp, capped by the share of the halls live).
    it_kw : ndarray, shape (n,)
        Critical IT kW of the lease.

    Returns
    -------
    ndarray, shape (n,)
        ``round(R · (1 + e)^⌊m/12⌋ · share · kW, 2)`` USD.
    """
    m = np.asarray(month, dtype=np.int64)
    esc = (1.0 + escalator_per_year) ** (m // 12)
    return np.round(rent_usd_per_kw_month * esc * share * it_kw, 2)


def hazard_step(
    cumulative: FloatArray,
    threshold: FloatArray,
    annual_rate: float,
    multiplier: FloatArray,
    active: NDArray[np.bool_],
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Advance the cumulative default hazard of active leases by one day.

    Parameters
    ----------
    cumulative, threshold : ndarray, shape (n_paths, n_projects)
        Hazard so far in the episode, and its exponential threshold ``−log(1 − u)``.
    annual_rate : float
        Base hazard per year.
    multiplier : ndarray, shape (n_paths,)
        Today's driver multiplier ``1 + k · drawdown``.
    active : ndarray of bool, shape (n_paths, n_projects)
        Leases with a paying tenant.

    Returns
    -------
    cumulative : ndarray, shape (n_paths, n_projects)
    defaults : ndarray of bool, shape (n_paths, n_projects)
        Leases that default today.
    """
    cum = cumulative + np.where(active, annual_rate * multiplier[:, None] / DAYS_PER_YEAR, 0.0)
    return cum, active & (cum >= threshold)


def mw_by_use(
    use: NDArray[np.int8],
    phase_mw: FloatArray,
    phase_site: NDArray[np.intp],
    site_capacity_mw: FloatArray,
) -> FloatArray:
    """MW of each site by use.

    Parameters
    ----------
    use : ndarray of int8, shape (n_paths, n_phases_all)
        Use of every phase of every project (codes in :data:`USES` order).
    phase_mw : ndarray, shape (n_phases_all,)
        Gross MW of each phase.
    phase_site : ndarray of int, shape (n_phases_all,)
        Site of each phase.
    site_capacity_mw : ndarray, shape (n_sites,)

    Returns
    -------
    ndarray, shape (n_paths, n_sites, 5)
        MW in each use; ``mining`` is the capacity minus the other four, so the last axis
        sums to the capacity.
    """
    n_paths, n_sites = use.shape[0], site_capacity_mw.shape[0]
    onehot = (phase_site[:, None] == np.arange(n_sites)[None, :]).astype(np.float64)
    out = np.empty((n_paths, n_sites, len(USES)))
    for u in range(1, len(USES)):
        out[:, :, u] = rows_dot((use == u) * phase_mw[None, :], onehot)
    out[:, :, MINING] = site_capacity_mw[None, :] - out[:, :, 1:].sum(axis=2)
    return out


def debt_day(
    balance_usd: FloatArray,
    accrued_usd: FloatArray,
    draw_usd: FloatArray,
    rate_per_year: float,
    commenced: NDArray[np.bool_],
    cash_for_debt_usd: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """One day of project debt, for every path and project.

    Interest of the day is ``balance · r / 365.25`` (on the balance after today's draw).
    Before commencement it is capitalised (added to the balance); after, it accrues and
    ``cash_for_debt_usd`` (a share of today's collected rent) pays the accrued interest,
    then principal (never more than the balance).

    Parameters
    ----------
    balance_usd, accrued_usd, draw_usd, cash_for_debt_usd : ndarray, shape (n_paths, n_proj)
    rate_per_year : float
    commenced : ndarray of bool, shape (n_paths, n_proj)

    Returns
    -------
    balance_usd, accrued_usd, interest_paid_usd, principal_paid_usd : ndarray
        Same shapes.
    """
    bal = balance_usd + draw_usd
    interest = bal * (rate_per_year / DAYS_PER_YEAR)
    bal = np.where(commenced, bal, bal + interest)
    acc = np.where(commenced, accrued_usd + interest, accrued_usd)
    pay_i = np.minimum(cash_for_debt_usd, acc)
    acc = acc - pay_i
    pay_p = np.minimum(cash_for_debt_usd - pay_i, bal)
    return bal - pay_p, acc, pay_i, pay_p


def months_of(day: FloatArray | int) -> NDArray[np.int64]:
    """Month bucket (``⌊day / (365.25/12)⌋``) of day indices, for the IRR flows."""
    return np.floor(np.asarray(day, dtype=np.float64) / DAYS_PER_MONTH).astype(np.int64)
