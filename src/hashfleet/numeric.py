"""Row-wise products whose result for a path does not depend on the paths around it.

The engine's arrays have paths on the first axis, and a run must give the same numbers
whatever the chunking, block size or worker count (docs/model.md §9).  BLAS matrix-vector
products (``A @ x`` with ``x`` one-dimensional, or a single-column ``B``) break that: OpenBLAS's
``dgemv`` sums the last rows of a matrix (its tail, when the row count is not a multiple of the
kernel's unroll) in a different order from the others, so the same path gets different last
bits at the end of a 250-path chunk than in the middle of a 500-path one.  Matrix products
with two or more columns (``dgemm``) keep each row's order with one BLAS thread — the engine
always runs with one (``hashfleet.runner.single_threaded_blas``); with several, OpenBLAS
splits the work differently — checked for the engine's shapes in ``tests/test_numeric.py``.
:func:`rows_dot` routes every product of a ``(n_paths, k)`` array by the right tool, and
:func:`rows_sum` sums rows with ``np.einsum``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["rows_dot", "rows_sum"]


def rows_dot(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``a @ b`` row by row, reproducible per row.

    Parameters
    ----------
    a : ndarray, shape (n_rows, k)
    b : ndarray, shape (k,) or (k, m)

    Returns
    -------
    ndarray, shape (n_rows,) or (n_rows, m)
        One-dimensional and single-column ``b`` go through ``np.einsum`` (a fixed summation
        order per row; ~0.1 ms for 10,000 × 40); wider ``b`` through BLAS ``dgemm``.
    """
    if b.ndim == 1:
        out: NDArray[np.float64] = np.einsum("pk,k->p", a, b)
        return out
    if b.shape[1] == 1:
        return np.einsum("pk,k->p", a, b[:, 0])[:, None]
    res: NDArray[np.float64] = a @ b
    return res


def rows_sum(a: NDArray[np.float64], b: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Sum of each row of ``a`` (or of ``a * b``), reproducible per row.

    ``np.einsum`` with one output axis: a fixed order per row, and for the engine's short
    rows (tens of cohorts) about 4× faster than ``a.sum(axis=1)``, whose pairwise reduction
    pays a setup per row.

    Parameters
    ----------
    a : ndarray, shape (n_rows, k)
    b : ndarray, broadcastable to ``a``, optional

    Returns
    -------
    ndarray, shape (n_rows,)
    """
    if b is None:
        out: NDArray[np.float64] = np.einsum("pk->p", a)
        return out
    b = np.asarray(b, dtype=np.float64)
    if b.ndim == 1:
        return rows_dot(a, b)
    out = np.einsum("pk,pk->p", a, np.broadcast_to(b, a.shape))
    return out
