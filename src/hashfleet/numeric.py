"""Per-row products and sums whose result for a path depends on nothing but that path.

The engine's arrays have paths on the first axis, and a run must give the same numbers
whatever the chunking, block size, worker count or backend (docs/model.md §9) — and whatever
BLAS kernel the CPU gets.  BLAS breaks both: OpenBLAS's ``dgemv`` sums the last rows of a
matrix (the tail left over by its unroll) in another order than the others, and its
``dgemm`` kernels do the same for narrow products on some CPUs (the SkylakeX kernel for two
or three columns), so the same path got other last bits at the end of a 250-path chunk than
in the middle of a 500-path one; and every kernel (Haswell, Zen, SkylakeX, ...) has its own
order.  So no per-path product in ``src/`` goes through BLAS
(``tests/test_numeric.py::test_no_blas_outside_numeric`` walks the source to keep it so):

- :func:`rows_dot` and :func:`rows_sum` use ``np.einsum`` with ``optimize=False`` (the
  default), NumPy's own C loops: each output element is one contiguous sum over the short
  axis, in an order fixed by NumPy's source for a given length — the same for every row, every
  row count and every OpenBLAS kernel (``tests/test_blas_kernels.py`` re-runs the invariance
  cases under every ``OPENBLAS_CORETYPE`` the CPU supports and compares bytes).
- :func:`segment_sums` and :func:`segment_prefix_sums` replace products with 0/1 matrices
  (cohorts summed per site, or over the better cohorts of their site): cohorts are sorted by
  site, so these are sums over contiguous column ranges — cheaper than any product, and exact
  in their order (index order for the prefix sums).

Cost, measured against the BLAS products they replace (10,000 × 40, one thread): a vector
0.23 ms (``dgemv`` 0.03 ms), six columns 0.75 ms (``dgemm`` 0.28 ms) — so products with
structure use the segment functions, and :func:`rows_dot` is kept for weights without it.
:func:`library_info` records, with every run, what the numbers were computed with.
"""

from __future__ import annotations

import platform
import sys
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "library_info",
    "rows_dot",
    "rows_sum",
    "segment_prefix_sums",
    "segment_sums",
]


def rows_dot(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``a @ b`` row by row, each row summed in a fixed order (no BLAS).

    Parameters
    ----------
    a : ndarray, shape (n_rows, k)
    b : ndarray, shape (k,) or (k, m)

    Returns
    -------
    ndarray, shape (n_rows,) or (n_rows, m)
        ``out[p, j] = Σ_i a[p, i]·b[i, j]``, the sum over ``i`` in NumPy's einsum order for
        length ``k`` (the same for every row and row count).
    """
    if b.ndim == 1:
        out: NDArray[np.float64] = np.einsum("pk,k->p", a, b)
        return out
    # ``b`` transposed and contiguous: every (row, column) is the same contiguous dot product
    # as the vector case (checked equal in the tests), and ~3× faster than "pk,km->pm".
    res: NDArray[np.float64] = np.einsum("pk,mk->pm", a, np.ascontiguousarray(b.T))
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


def segment_sums(
    a: NDArray[np.float64], bounds: NDArray[np.intp], out: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Row sums over contiguous column ranges: ``out[p, s] = Σ a[p, bounds[s]:bounds[s+1]]``.

    The product with a one-hot membership matrix when members are contiguous (cohorts are
    sorted by site), each range summed as :func:`rows_sum` sums a row; an empty range is 0.

    Parameters
    ----------
    a : ndarray, shape (n_rows, k)
    bounds : ndarray of int, shape (n_segments + 1,)
        Non-decreasing, ``bounds[0] = 0``, ``bounds[-1] = k``.
    out : ndarray, shape (n_rows, n_segments), optional

    Returns
    -------
    ndarray, shape (n_rows, n_segments)
    """
    n_seg = len(bounds) - 1
    if out is None:
        out = np.empty((a.shape[0], n_seg))
    for s in range(n_seg):
        lo, hi = int(bounds[s]), int(bounds[s + 1])
        if hi > lo:
            np.einsum("pk->p", a[:, lo:hi], out=out[:, s])
        else:
            out[:, s] = 0.0
    return out


def segment_prefix_sums(a: NDArray[np.float64], bounds: NDArray[np.intp]) -> NDArray[np.float64]:
    """Exclusive prefix sums inside contiguous column ranges.

    ``out[p, j] = Σ a[p, i]`` over the columns ``i < j`` of ``j``'s range, added in index
    order (``np.cumsum``: sequential, so exact in its order and the same for every row) —
    e.g. the MW of the cohorts ahead of each cohort in its site's merit order.

    Parameters
    ----------
    a : ndarray, shape (n_rows, k)
    bounds : ndarray of int, shape (n_segments + 1,)
        As in :func:`segment_sums`.

    Returns
    -------
    ndarray, shape (n_rows, k)
    """
    out = np.empty_like(a, dtype=np.float64)
    for s in range(len(bounds) - 1):
        lo, hi = int(bounds[s]), int(bounds[s + 1])
        if hi > lo:
            out[:, lo] = 0.0
            if hi - lo > 1:
                np.cumsum(a[:, lo : hi - 1], axis=1, out=out[:, lo + 1 : hi])
    return out


def library_info() -> dict[str, Any]:
    """What this process computes with: versions, the BLAS kernel, NumPy's SIMD targets.

    Recorded in every run's metadata (docs/model.md §9: the same bits are promised on one
    machine with one library set; across CPUs or library versions, the last bits may differ).

    Returns
    -------
    dict
        ``python``, ``machine``, package versions, ``numpy_simd`` (NumPy's compiled baseline
        and the dispatch targets this CPU enables) and ``blas`` (each loaded BLAS library:
        its API, version and the kernel it runs, from threadpoolctl).
    """
    import scipy
    import simpy
    from threadpoolctl import threadpool_info

    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "simpy": getattr(simpy, "__version__", "unknown"),
    }
    try:
        import importlib

        try:
            mu = importlib.import_module("numpy._core._multiarray_umath")
        except ImportError:  # pragma: no cover - NumPy 1.26
            mu = importlib.import_module("numpy.core._multiarray_umath")

        features = mu.__cpu_features__
        info["numpy_simd"] = {
            "baseline": list(mu.__cpu_baseline__),
            "dispatch": [f for f in mu.__cpu_dispatch__ if features.get(f)],
        }
    except (ImportError, AttributeError):  # pragma: no cover - NumPy < 2 or a new layout
        info["numpy_simd"] = "unknown"
    info["blas"] = [
        {
            "library": lib.get("internal_api"),
            "version": lib.get("version"),
            "kernel": lib.get("architecture"),
            "threads": lib.get("num_threads"),
        }
        for lib in threadpool_info()
        if lib.get("user_api") == "blas"
    ]
    return info
