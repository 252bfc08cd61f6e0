"""Hypothesis strategies shared by the tests (importable: tests/ is on ``sys.path``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

#: Canonical compact targets (``bits``): size 4..32, mantissa with its top bit clear.
canonical_bits = st.builds(
    lambda size, mantissa: (size << 24) | mantissa,
    st.integers(4, 32),
    st.integers(0x008000, 0x7FFFFF),
)

#: Realistic mainnet-era bits: exponents 0x17..0x1D, canonical mantissa.
mainnet_bits = st.integers(0x17000000, 0x1D00FFFF).filter(
    lambda b: not b & 0x00800000 and (b & 0x7FFFFF) >= 0x8000
)

#: Retarget timespans in seconds, far beyond both clamps.
timespans_s = st.integers(-(2**40), 2**40)

#: Non-negative USD amounts a day may book.
usd = st.floats(0.0, 1e9, allow_nan=False, allow_infinity=False)


@st.composite
def flows_usd(draw: Any, n_paths: int = 3) -> tuple[dict[str, Any], dict[str, Any]]:
    """A day's ledger: ``(inflows, outflows)`` name -> ``(n_paths,)`` USD (capex, sales, ...)."""
    names_in = draw(st.sets(st.sampled_from(["revenue_usd", "asset_sales_usd", "dr_energy_usd"])))
    names_out = draw(
        st.sets(
            st.sampled_from(["power_cost_usd", "opex_usd", "capex_deposits_usd", "hosting_usd"])
        )
    )

    def arr() -> Any:
        return np.array(draw(st.lists(usd, min_size=n_paths, max_size=n_paths)))

    return {k: arr() for k in sorted(names_in)}, {k: arr() for k in sorted(names_out)}
