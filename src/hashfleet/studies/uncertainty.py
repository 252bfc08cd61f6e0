"""Parameter uncertainty of the calibration: a Laplace approximation.

Method
    The calibration's objective is the RMSE of the daily log hashrate error ``e_t(θ)`` of a
    closed-loop deterministic history run (:mod:`hashfleet.studies.calibration`).  Read as a
    Gaussian quasi-likelihood with the error variance profiled out, the log-likelihood is
    ``ℓ(θ) = −(n_eff/2)·log MSE(θ)``.  The errors are strongly autocorrelated (a closed-loop
    path drifts for months), so the number of independent observations ``n_eff`` is not the
    number of days: it is the effective sample size ``n / (1 + 2 Σ_k ρ_k)`` of the residual
    at the optimum, summing the sample autocorrelations ``ρ_k`` up to the first lag where a
    pair of consecutive ones turns non-positive (Geyer's initial positive sequence).  The
    Laplace approximation of the posterior (flat prior on the transformed parameters inside
    the bounds) is Gaussian with mean ``θ̂`` and covariance ``(H + P)⁻¹``, ``H`` the Hessian
    of ``−ℓ`` at ``θ̂`` by central finite differences (``1 + 2k + 2k(k−1)`` evaluations for
    ``k`` parameters) and ``P`` the precision of a weak Gaussian prior whose ±2 standard
    deviations span the calibration's bounds (the economic ranges of docs/network.md).  The
    objective is a simulation with discrete retargets, so it is slightly rough, and the
    Nelder–Mead end point need not be an exact minimum: directions of negative curvature are
    set to zero curvature (their eigenvalues of ``H`` to 0), where the prior alone then sets
    the spread.  The report gives ``H``'s eigenvalues, how many were non-positive (or below
    ``1e−8`` of the largest) and the condition number of ``H + P``.

Why this method
    It costs 73 deterministic runs for the six fitted parameters (well inside the ten-minute
    budget), it uses the same objective the point fit uses, and the effective sample size
    makes it honest about how little four years of one persistent history pin down.  The
    engine's Poisson likelihood of daily block counts was considered and rejected for the
    spread: block-count noise (about 8 % a day) is tiny next to the model's misfit (a 20 %
    RMSE in log hashrate that persists for months), so a Poisson posterior would be far too
    narrow — the misspecification, not the block luck, is what the parameters must carry.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.network.parameters import symmetric_eigen

__all__ = ["effective_sample_size", "laplace_covariance", "n_hessian_evaluations"]

FloatArray = NDArray[np.float64]


def effective_sample_size(residual: FloatArray) -> float:
    """Effective number of independent observations of a series (Geyer's initial positive
    sequence estimator), at least 1.

    Parameters
    ----------
    residual : ndarray, shape (n,)
    """
    x = np.asarray(residual, dtype=np.float64)
    x = x - x.mean()
    n = x.size
    var = float(np.mean(x * x))
    if n < 3 or var == 0.0:
        return float(max(n, 1))
    tau = 1.0
    for k in range(1, n - 2, 2):
        rho_a = float(np.mean(x[:-k] * x[k:])) / var
        rho_b = float(np.mean(x[: -(k + 1)] * x[k + 1 :])) / var
        if rho_a + rho_b <= 0.0:
            break
        tau += 2.0 * (rho_a + rho_b)
    return float(max(n / tau, 1.0))


def n_hessian_evaluations(k: int) -> int:
    """Objective evaluations :func:`laplace_covariance` makes for ``k`` parameters."""
    return 1 + 2 * k + 2 * k * (k - 1)


def laplace_covariance(
    log_mse: Callable[[FloatArray], float],
    x_hat: FloatArray,
    n_eff: float,
    *,
    step: float | FloatArray = 0.05,
    prior_sd: FloatArray | None = None,
) -> dict[str, Any]:
    """Laplace covariance of ``θ`` for ``ℓ(θ) = −(n_eff/2)·log_mse(θ)`` around ``x_hat``.

    Parameters
    ----------
    log_mse : callable
        ``θ ↦ log MSE(θ)`` on the transformed parameters, shape (k,) → float.
    x_hat : ndarray, shape (k,)
        The optimum.
    n_eff : float
        Effective sample size (see :func:`effective_sample_size`).
    step : float or ndarray, shape (k,)
        Finite-difference step in the transformed space.
    prior_sd : ndarray, shape (k,), optional
        Standard deviations of a Gaussian prior centred on ``x_hat`` (none: flat); its
        precision is added to the Hessian after negative curvature is set to zero.

    Returns
    -------
    dict
        ``covariance`` (k, k), ``hessian`` (k, k, of −ℓ), ``eigenvalues`` (ascending),
        ``condition_number``, ``floored`` (eigenvalues raised to the floor) and ``sd``
        (marginal standard deviations).
    """
    x0 = np.asarray(x_hat, dtype=np.float64)
    k = x0.size
    h = np.broadcast_to(np.asarray(step, dtype=np.float64), (k,)).copy()
    f0 = log_mse(x0)
    hess = np.zeros((k, k))

    def f(di: dict[int, float]) -> float:
        x = x0.copy()
        for i, s in di.items():
            x[i] += s * h[i]
        return log_mse(x)

    for i in range(k):
        hess[i, i] = (f({i: 1.0}) - 2.0 * f0 + f({i: -1.0})) / (h[i] * h[i])
    for i, j in itertools.combinations(range(k), 2):
        v = (
            f({i: 1.0, j: 1.0})
            - f({i: 1.0, j: -1.0})
            - f({i: -1.0, j: 1.0})
            + f({i: -1.0, j: -1.0})
        ) / (4.0 * h[i] * h[j])
        hess[i, j] = hess[j, i] = v
    hess *= 0.5 * n_eff  # Hessian of −ℓ
    w, v = symmetric_eigen(hess)
    floor = max(float(w.max()), 1e-12) * 1e-8
    floored = int(np.sum(w < floor))
    precision = np.sum(v[:, None, :] * np.maximum(w, 0.0)[None, None, :] * v[None, :, :], axis=2)
    if prior_sd is not None:
        precision = precision + np.diag(1.0 / np.asarray(prior_sd, dtype=np.float64) ** 2)
    wp, vp = symmetric_eigen(precision)
    wp = np.maximum(wp, max(float(wp.max()), 1e-12) * 1e-8)
    cov = np.sum(vp[:, None, :] * (1.0 / wp)[None, None, :] * vp[None, :, :], axis=2)
    cov = 0.5 * (cov + cov.T)
    return {
        "covariance": cov,
        "hessian": hess,
        "eigenvalues": w,
        "condition_number": float(wp.max() / wp.min()),
        "floored": floored,
        "sd": np.sqrt(np.diag(cov)),
    }
