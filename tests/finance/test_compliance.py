"""Energy, emissions and compliance (docs/emissions.md): the identities per site and day, the
network bounds against the fleet's J/TH, and the costs booked through the ledger."""

from __future__ import annotations

import numpy as np
import pytest

from builders import base_doc, build
from hashfleet.finance.compliance import network_j_per_th_bounds
from hashfleet.runner import simulate

SPOT = {"median_usd_per_mwh": 35, "sigma": 0.4, "half_life_days": 5, "intraday_sigma": 0.4}


def _doc(**compliance: object) -> dict:
    d = base_doc(horizon_days=40, paths=250)
    d["fleet"]["sites"] = [
        {
            "name": "A",
            "capacity_mw": 50,
            "power": {"contract": "fixed", "price_usd_per_mwh": 40},
            "emissions": {"grid_tco2e_per_mwh": 0.37, "renewable_share": 0.25},
        },
        {
            "name": "B",
            "capacity_mw": 30,
            "power": {"contract": "index", "adder_usd_per_mwh": 5},
            "spot": SPOT,
            "emissions": {"grid_tco2e_per_mwh": 0.6},
        },
    ]
    d["fleet"]["cohorts"] += [{"model": "TestMiner", "site": "B", "units": 6_000}]
    d["compliance"] = {"reference_price_usd_per_mwh": 40.0, **compliance}
    return d


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    sc = build(
        _doc(
            carbon_price_usd_per_tco2e=80,
            compliance_usd_per_mwh=1.5,
            fixed_usd_per_year=365_250,
        )
    )
    return simulate(sc, paths=250, seed=5)


def test_site_energy_times_factor_is_emissions(run) -> None:  # type: ignore[no-untyped-def]
    p = run.paths
    e = [p[f"energy_mwh_site{i}"].to_numpy() for i in (0, 1)]
    t = [p[f"emissions_tco2e_site{i}"].to_numpy() for i in (0, 1)]
    np.testing.assert_allclose(t[0], e[0] * 0.75 * 0.37, rtol=1e-12)
    np.testing.assert_allclose(t[1], e[1] * 0.6, rtol=1e-12)
    np.testing.assert_allclose(e[0] + e[1], p["energy_mwh"].to_numpy(), rtol=1e-12)
    assert (e[1] > 0).any() and (e[1] < 30 * 24).all()  # the index site curtails some hours
    np.testing.assert_allclose(p["emissions_tco2e"].to_numpy(), t[0] + t[1], rtol=1e-12)
    ren = p["renewable_energy_mwh"].to_numpy()
    np.testing.assert_allclose(ren, 0.25 * e[0], rtol=1e-12)


def test_compliance_costs_are_booked_as_opex(run) -> None:  # type: ignore[no-untyped-def]
    p = run.paths
    np.testing.assert_allclose(
        p["carbon_cost_usd"].to_numpy(), 80 * p["emissions_tco2e"].to_numpy(), rtol=1e-12
    )
    np.testing.assert_allclose(
        p["compliance_energy_usd"].to_numpy(), 1.5 * p["energy_mwh"].to_numpy(), rtol=1e-12
    )
    np.testing.assert_allclose(p["compliance_fixed_usd"].to_numpy(), 1000.0)
    tot = run.per_path
    assert float(tot["total_carbon_cost_usd"].mean()) > 0


def test_network_bounds_bracket_the_fleet(run) -> None:  # type: ignore[no-untyped-def]
    p = run.paths
    low = p["network_j_per_th_low"].to_numpy()
    high = p["network_j_per_th_high"].to_numpy()
    guess = p["network_j_per_th_guess"].to_numpy()
    fleet = p["fleet_j_per_th"].to_numpy()  # 17.5 J/TH test machine, all profitable
    assert (low <= fleet).all() and (fleet <= high).all()
    assert (low <= guess).all() and (guess <= high).all()
    e_low = p["network_energy_mwh_low"].to_numpy()
    e_high = p["network_energy_mwh_high"].to_numpy()
    h = p["network_hashrate_ehs"].to_numpy() * 1e6  # TH/s
    np.testing.assert_allclose(e_low, h * low * 1.01 * 24 / 1e6, rtol=1e-12)
    assert (e_low < e_high).all()


def test_bounds_kernel_picks_the_least_efficient_profitable() -> None:
    e = np.array([15.0, 20.0, 30.0, 60.0])
    # revenue 0.048 USD/TH/day at 50 USD/MWh: threshold 40 J/TH
    low, guess, high = network_j_per_th_bounds(e, np.array([0.048, 0.001, 1.0]), 50.0)
    np.testing.assert_allclose(low, 15.0)
    np.testing.assert_allclose(high, [30.0, 15.0, 60.0])
    np.testing.assert_allclose(guess, [65.0 / 3, 15.0, 31.25])


def test_compliance_needs_a_factor_per_site() -> None:
    d = _doc()
    del d["fleet"]["sites"][1]["emissions"]
    with pytest.raises(ValueError, match=r"sites\[1\]\.emissions"):
        build(d)


def test_issue16_features_are_chunking_and_backend_invariant() -> None:
    """The shipped power-emissions scenario (contract terms, forward re-contracting, grid
    charges, emissions, ASIC dynamics) with block-interval statistics: the same numbers
    whatever the chunking and the backend."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scenarios" / "power-emissions-2026.yaml"
    over = {"run.horizon_days": 60, "network.block_interval_stats": True}
    a = simulate(path, paths=500, seed=4, overrides=over, chunk_paths=500)
    b = simulate(path, paths=500, seed=4, overrides=over, chunk_paths=250)
    c = simulate(path, paths=500, seed=4, overrides=over, backend="processes", workers=2)
    for other in (b, c):
        for v in a.per_path.data_vars:
            want = a.per_path[v].to_numpy()
            np.testing.assert_array_equal(want, other.per_path[v].to_numpy(), v)
