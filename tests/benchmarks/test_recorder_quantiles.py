"""The recorder's fast quantiles are NumPy's, bit for bit (issue 6, profile fix)."""

from __future__ import annotations

import numpy as np
import pytest

from hashfleet.engine.recorder import quantiles_last_axis
from hashfleet.runner import simulate
from hashfleet.scenario.schema import Scenario


@pytest.mark.parametrize("n", [1, 2, 3, 7, 250, 1001])
@pytest.mark.parametrize(
    "q", [(0.05, 0.25, 0.5, 0.75, 0.95), (0.0, 1.0, 0.5), (0.1, 0.9, 1 / 3, 0.999)]
)
def test_equals_numpy_quantile(n: int, q: tuple[float, ...]) -> None:
    rng = np.random.default_rng(n)
    x = rng.lognormal(size=(3, 4, n))
    x[1] = np.round(x[1])  # ties
    qa = np.asarray(q)
    assert np.array_equal(quantiles_last_axis(x, qa), np.quantile(x, qa, axis=-1))


def test_nan_slices_give_nan_like_numpy() -> None:
    x = np.random.default_rng(0).normal(size=(2, 5, 40))
    x[1, 2, 7] = np.nan
    q = np.array([0.05, 0.5, 0.95])
    assert np.array_equal(quantiles_last_axis(x, q), np.quantile(x, q, axis=-1), equal_nan=True)


def test_strided_input() -> None:
    """A non-contiguous view (the recorder's window of its buffer) works the same."""
    x = np.random.default_rng(1).normal(size=(4, 32, 600))[:, :17, :500]
    q = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    assert np.array_equal(quantiles_last_axis(x, q), np.quantile(x, q, axis=-1))


def test_engine_daily_quantiles_are_numpys_over_stored_paths() -> None:
    """Daily quantiles of a run equal ``np.quantile`` over its stored paths."""
    sc = Scenario.model_validate(
        {
            "name": "q",
            "run": {
                "start": "2026-01-01",
                "horizon_days": 40,
                "paths": 300,
                "seed": 3,
                "outputs": {"store_paths": True},
            },
            "network": {"hashrate": {"model": "growth", "noise_sigma": 0.05}},
            "market": {"btc_price": {"model": "gbm", "start_usd": 90_000}},
        }
    )
    res = simulate(sc)
    assert res.paths is not None
    q = res.daily["quantile"].to_numpy()
    for v in ("btc_price_usd", "difficulty", "blocks", "cash_usd"):
        expected = np.quantile(res.paths[v].to_numpy(), q, axis=0)
        assert np.array_equal(res.daily[v].to_numpy(), expected), v


def test_constant_slices_shortcut_matches_numpy() -> None:
    """Constant slices (zeros, a value, ±inf, all NaN) give NumPy's values, sign of zero too."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 3, 50))
    x[0] = 0.0
    x[1, 0] = 7.25
    x[1, 1] = np.inf
    x[1, 2] = -np.inf
    x[2, 1] = np.nan
    x[3, 2] = -0.0
    q = np.array([0.05, 0.25, 0.5, 0.75, 0.95, 1.0])
    with np.errstate(invalid="ignore"):  # inf - inf in the interpolation, as NumPy's
        expected = np.quantile(x, q, axis=-1)
        got = quantiles_last_axis(x, q)
    assert np.array_equal(got, expected, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(expected))


def _sorted_reference(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The previous implementation: every row sorted (what the golden hashes were made with)."""
    n = x.shape[-1]
    virtual = (n - 1) * q
    prev = np.floor(virtual).astype(np.intp)
    nxt = np.minimum(prev + 1, n - 1)
    s = np.sort(x, axis=-1)
    a, b = np.moveaxis(s[..., prev], -1, 0), np.moveaxis(s[..., nxt], -1, 0)
    t = (virtual - prev).reshape(-1, *([1] * (x.ndim - 1)))
    diff = b - a
    out = a + diff * t
    np.subtract(b, diff * (1 - t), out=out, where=t >= 0.5)
    return out


def test_mixed_signed_zeros_match_the_sorted_rows() -> None:
    """Rows mixing −0.0 and +0.0 at the ranks read give the sorted rows' signs (the partition
    alone may order the two zeros otherwise); rows without −0.0 are not re-sorted."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(5, 4, 401))
    x[0, :, :300] = 0.0
    x[0, :, 100:200] = -0.0
    x[1, :, 150:260] = -0.0
    x[2, :, 150:260] = 0.0
    x[3] = np.where(rng.random((4, 401)) < 0.5, -0.0, 0.0)
    q = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    got = quantiles_last_axis(x, q)
    ref = _sorted_reference(x, q)
    assert np.array_equal(got, ref)
    assert np.array_equal(np.signbit(got), np.signbit(ref))


@pytest.mark.parametrize("n", [2, 3, 250, 10_000])
def test_partition_equals_the_sorted_rows(n: int) -> None:
    """Value for value (ties, ±inf, integers) the partitioned rows give the sorted rows'."""
    rng = np.random.default_rng(n)
    x = rng.lognormal(size=(4, 6, n))
    x[1] = np.round(x[1] * 3)
    x[2, 0, : n // 2] = np.inf
    x[2, 1, : n // 3] = -np.inf
    for qs in ((0.05, 0.25, 0.5, 0.75, 0.95), (0.0, 1.0), (0.1, 1 / 3, 0.999)):
        q = np.asarray(qs)
        with np.errstate(invalid="ignore"):
            got, ref = quantiles_last_axis(x, q), _sorted_reference(x, q)
        assert np.array_equal(got, ref, equal_nan=True)
