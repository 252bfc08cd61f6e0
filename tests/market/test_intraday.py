"""The tabulated intraday day sums against their direct sum over hours."""

from __future__ import annotations

import numpy as np
import pytest

from hashfleet.market.intraday import IntradayTable, intraday_table


def _offsets(amplitude: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    h = np.arange(24.0)
    raw = amplitude * np.cos(2 * np.pi * (h + 0.5 - 18) / 24)
    raw -= np.log(np.mean(np.exp(raw)))
    d, w = np.unique(np.round(raw, 12), return_counts=True)
    return d - 0.5 * sigma**2, w.astype(float)


@pytest.mark.parametrize("sigma", [0.02, 0.1, 0.45, 1.0, 2.0])
@pytest.mark.parametrize("amplitude", [0.0, 0.3, 1.0])
def test_table_equals_direct_sum_everywhere(sigma: float, amplitude: float) -> None:
    """Over the whole tabulated range and beyond it on both sides (200,001 points), the
    piecewise-cubic table of G0 (hours run) and G1 (cost over the level) is within
    1e-12 × hours of the direct 24-hour sum — the accuracy the docs promise."""
    d, w = _offsets(amplitude, sigma)
    tab = IntradayTable(d, w, sigma)
    z = np.linspace(tab.lo - 1.0, tab.lo + tab.step * tab._coef.shape[1] + 1.0, 200_001)
    g0, g1 = tab(z)
    r0, r1 = tab.direct(z)
    assert np.abs(g0 - r0).max() <= 1e-12 * tab.hours
    assert np.abs(g1 - r1).max() <= 1e-12 * tab.full
    assert tab.hours == 24.0
    # the ends: never runs far below, always runs (and pays the full mean) far above
    lo, hi = tab(np.array([-700.0, 700.0]))
    assert lo[0] < 1e-20 and hi[0] < 1e-20
    assert lo[1] == pytest.approx(24.0, rel=1e-15) and hi[1] == pytest.approx(tab.full, rel=1e-15)


def test_table_is_monotone_and_cached() -> None:
    """G0 and G1 never decrease along z (the interpolant keeps the shape), and the same
    hours and σ give the same table object (built once per run)."""
    d, w = _offsets(0.3, 0.45)
    tab = intraday_table(tuple(d), tuple(w), 0.45)
    assert intraday_table(tuple(d), tuple(w), 0.45) is tab
    z = np.linspace(-8, 8, 100_001)
    g0, g1 = tab(z)
    assert (np.diff(g0) >= -1e-15).all() and (np.diff(g1) >= -1e-15).all()


def test_table_rejects_zero_sigma() -> None:
    with pytest.raises(ValueError, match="sigma"):
        IntradayTable([0.0], [24.0], 0.0)
