"""Row-wise products are reproducible per row, whatever the rows around them."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from hashfleet.numeric import rows_dot, rows_sum


@pytest.mark.parametrize("m", [None, 1, 2, 3, 6, 40, 56, 160])
@pytest.mark.parametrize("n_rows", [500, 2750, 10_000])
def test_rows_dot_is_the_same_in_any_chunk(n_rows: int, m: int | None) -> None:
    """Every row of ``rows_dot(a, b)`` is bit-identical when computed over the whole array
    and over chunks of 250 and 1,000 rows, with one BLAS thread (as the engine always runs:
    ``runner.single_threaded_blas``) — for a vector, a single column (plain ``@`` fails here:
    BLAS ``dgemv`` sums tail rows in another order) and matrices of the engine's widths.  If a
    BLAS update broke this for ``dgemm``, this test says so before a run stops being
    reproducible."""
    rng = np.random.default_rng(n_rows + (m or 0))
    k = 40
    a = rng.random((n_rows, k)) * rng.choice([1e-3, 1.0, 1e6], (n_rows, k))
    b = rng.random(k) if m is None else rng.random((k, m))
    with threadpool_limits(1):
        whole = rows_dot(a, b)
        for size in (250, 1000):
            parts = np.concatenate([rows_dot(a[s : s + size], b) for s in range(0, n_rows, size)])
            assert np.array_equal(whole, parts), size
    np.testing.assert_allclose(whole, a @ b, rtol=1e-13)


@pytest.mark.parametrize("k", [1, 3, 10, 16, 25, 40, 56, 160])
def test_rows_sum_is_the_same_in_any_chunk(k: int) -> None:
    """``rows_sum(a)`` and ``rows_sum(a, b)`` give every row the same bits over the whole
    array, over chunks of 250 rows and over misaligned views — and equal ``a.sum(axis=1)``
    to rounding."""
    rng = np.random.default_rng(k)
    a = rng.random((2750, k)) * rng.choice([1e-3, 1.0, 1e6], (2750, k))
    b = rng.random((2750, k))
    whole, whole_b = rows_sum(a), rows_sum(a, b)
    for s in range(0, 2750, 250):
        assert np.array_equal(rows_sum(a[s : s + 250]), whole[s : s + 250])
        assert np.array_equal(rows_sum(a[s : s + 250], b[s : s + 250]), whole_b[s : s + 250])
    buf = np.empty(a.size + 3)
    view = buf[3:].reshape(a.shape)  # not 16-byte aligned
    view[:] = a
    assert np.array_equal(rows_sum(view), whole)
    np.testing.assert_allclose(whole, a.sum(axis=1), rtol=1e-13)
    np.testing.assert_allclose(whole_b, (a * b).sum(axis=1), rtol=1e-13)
