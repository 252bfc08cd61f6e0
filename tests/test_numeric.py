"""Row-wise products are reproducible per row, whatever the rows around them, and no per-path
product in the package goes through BLAS (whose kernels differ by CPU)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from hashfleet.numeric import (
    library_info,
    rows_dot,
    rows_sum,
    segment_prefix_sums,
    segment_sums,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "hashfleet"

#: Widths 1–64 (every one up to 16, then the engine's: sites, modes, cohorts) and wide ones.
WIDTHS: list[int | None] = [None, *range(1, 17), 24, 32, 40, 56, 64, 160]


def _chunked(fn, a, *args, size):  # type: ignore[no-untyped-def]
    return np.concatenate([fn(a[s : s + size], *args) for s in range(0, a.shape[0], size)])


def _data(n_rows: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((n_rows, k)) * rng.choice([1e-3, 1.0, 1e6], (n_rows, k))


@pytest.mark.parametrize("m", WIDTHS)
@pytest.mark.parametrize("n_rows", [500, 2750])
def test_rows_dot_is_the_same_in_any_chunk(n_rows: int, m: int | None) -> None:
    """Every row of ``rows_dot(a, b)`` is bit-identical over the whole array, over chunks of
    250 and 1,000 rows and over one row at a time — for a vector and every width 1–64 (plain
    ``@`` fails this on AVX-512 CPUs for 2 and 3 columns: issue 11) — with the library's
    default BLAS threads too, since no BLAS is involved."""
    a = _data(n_rows, 40, n_rows + (m or 0))
    rng = np.random.default_rng(m or 0)
    b = rng.random(40) if m is None else rng.random((40, m))
    whole = rows_dot(a, b)
    with threadpool_limits(1):
        assert np.array_equal(rows_dot(a, b), whole)
    for size in (250, 1000, 1):
        if size == 1 and n_rows > 500:
            continue
        assert np.array_equal(_chunked(rows_dot, a, b, size=size), whole), size
    np.testing.assert_allclose(whole, a @ b, rtol=1e-13)


def test_rows_dot_columns_equal_the_vector_product() -> None:
    """Each column of a matrix product is bit for bit the vector product with that column —
    one summation order for every width."""
    a = _data(777, 40, 1)
    b = np.random.default_rng(2).random((40, 7))
    out = rows_dot(a, b)
    for j in range(7):
        assert np.array_equal(out[:, j], rows_dot(a, np.ascontiguousarray(b[:, j])))


@given(
    k=st.integers(1, 40),
    rows=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
)
def test_rows_dot_row_alone_equals_row_in_block(k: int, rows: int, seed: int) -> None:
    """Property: a row's result does not depend on the rows beside it (any count, any
    offset), for vectors and matrices."""
    a = _data(rows, k, seed)
    rng = np.random.default_rng(seed + 1)
    for b in (rng.random(k), rng.random((k, 3))):
        whole = rows_dot(a, b)
        i = int(rng.integers(rows))
        assert np.array_equal(rows_dot(a[i : i + 1], b)[0], whole[i])


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


@st.composite
def _segments(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    sizes = draw(st.lists(st.integers(0, 9), min_size=1, max_size=6))
    if sum(sizes) == 0:
        sizes[0] = 1
    rows = draw(st.integers(1, 30))
    a = _data(rows, sum(sizes), draw(st.integers(0, 2**32 - 1)))
    return a, np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)


@given(_segments())
def test_segment_sums_against_a_scalar_oracle(case: tuple[np.ndarray, np.ndarray]) -> None:
    """``segment_sums`` equals the one-hot product to rounding (0 for an empty segment), and
    ``segment_prefix_sums`` equals a scalar loop adding the earlier members of each segment in
    index order — exactly; both per row whatever the rows beside it."""
    a, bounds = case
    n_seg = len(bounds) - 1
    site = np.repeat(np.arange(n_seg), np.diff(bounds))
    onehot = (site[:, None] == np.arange(n_seg)[None, :]).astype(float)
    sums = segment_sums(a, bounds)
    np.testing.assert_allclose(sums, a @ onehot, rtol=1e-13)
    assert np.all(sums[:, np.diff(bounds) == 0] == 0.0)
    prefix = segment_prefix_sums(a, bounds)
    for p in range(a.shape[0]):
        for j in range(a.shape[1]):
            acc = 0.0
            for i in range(bounds[site[j]], j):
                acc += a[p, i]
            assert prefix[p, j] == acc
        assert np.array_equal(segment_sums(a[p : p + 1], bounds)[0], sums[p])
        assert np.array_equal(segment_prefix_sums(a[p : p + 1], bounds)[0], prefix[p])


#: Calls that reach BLAS (or LAPACK) and so depend on the CPU's kernel and on the rows around
#: a row: allowed only in ``numeric.py``, which uses none of them for per-path data.
BLAS_CALLS = {"dot", "vdot", "inner", "matmul", "tensordot", "vecdot", "matvec", "vecmat"}


def _blas_uses(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.MatMult):
            found.append((node.lineno, "@"))
        elif isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in BLAS_CALLS:
                found.append((node.lineno, name))
            elif name == "einsum" and any(kw.arg == "optimize" for kw in node.keywords):
                found.append((node.lineno, "einsum(optimize=...) may call BLAS"))
        elif isinstance(node, ast.Attribute) and node.attr == "linalg":
            found.append((node.lineno, "linalg"))
        elif isinstance(node, ast.ImportFrom) and node.module and "linalg" in node.module:
            found.append((node.lineno, node.module))
    return found


def test_no_blas_outside_numeric() -> None:
    """No ``@``, ``dot``, ``matmul``, ``tensordot``, ``inner``, ``linalg`` or optimised
    ``einsum`` anywhere in the package but ``numeric.py``: every per-path product goes
    through :mod:`hashfleet.numeric` (issue 11).  The walker finds a planted use."""
    assert _blas_uses(ast.parse("y = a @ b\nz = np.dot(a, b)\nnp.linalg.solve(a, b)")) == [
        (1, "@"),
        (2, "dot"),
        (3, "linalg"),
    ]
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "numeric.py" and path.parent == SRC:
            continue
        for line, what in _blas_uses(ast.parse(path.read_text(), str(path))):
            offenders.append(f"{path.relative_to(SRC)}:{line}: {what}")
    assert offenders == [], "use hashfleet.numeric instead:\n" + "\n".join(offenders)


def test_library_info_names_the_blas_kernel_and_versions() -> None:
    info = library_info()
    assert info["numpy"] == np.__version__
    assert info["blas"] and all(lib["kernel"] for lib in info["blas"])
    assert isinstance(info["numpy_simd"], dict)
    assert info["numpy_simd"]["baseline"]
