"""The engine end to end: reproducibility, calendar events, site limits, curtailment."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from builders import base_doc, build
from hashfleet.runner import simulate
from hashfleet.scenario.schema import Scenario

BASE: dict[str, Any] = base_doc()


def scenario(**changes: Any) -> Scenario:
    """BASE with changes at ``a__b`` paths."""
    return build(BASE, **changes)


@pytest.fixture(scope="module")
def base_run():
    return simulate(scenario())


def test_chunking_does_not_change_results(base_run) -> None:
    """Same seed: identical paths and daily statistics for 1 chunk vs chunks of 250."""
    chunked = simulate(scenario(), chunk_paths=250)
    assert base_run.paths is not None and chunked.paths is not None
    for v in base_run.paths.data_vars:
        assert np.array_equal(base_run.paths[v].values, chunked.paths[v].values, equal_nan=True), v
    for v in base_run.daily.data_vars:
        assert np.array_equal(base_run.daily[v].values, chunked.daily[v].values, equal_nan=True), v
    assert base_run.retargets.equals(chunked.retargets)


def test_path_i_does_not_depend_on_the_number_of_paths(base_run) -> None:
    few = simulate(scenario(), paths=10)
    assert few.paths is not None and base_run.paths is not None
    for v in few.paths.data_vars:
        assert np.array_equal(few.paths[v].values, base_run.paths[v].values[:10]), v


def test_different_seeds_differ(base_run) -> None:
    other = simulate(scenario(), seed=8)
    assert other.paths is not None and base_run.paths is not None
    assert not np.array_equal(
        other.paths["btc_price_usd"].values, base_run.paths["btc_price_usd"].values
    )
    assert not np.array_equal(other.paths["blocks"].values, base_run.paths["blocks"].values)


def test_delivery_is_a_calendar_event_and_site_capacity_is_a_hard_limit(base_run) -> None:
    """The second cohort arrives on day 19 (2026-01-20).  Together the cohorts want
    15,000 × 3.5 kW × 1.05 = 55.1 MW on a 50 MW site: power never exceeds 50 MW."""
    p = base_run.paths
    assert p is not None
    fleet = p["fleet_hashrate_ehs"].values
    assert np.allclose(fleet[:, :19], 10_000 * 200e12 / 1e18)
    cap_th = 50.0 / (3500 * 1.05 / 1e6) * 200  # TH/s that fit in 50 MW
    assert np.allclose(fleet[:, 19:], cap_th / 1e6)
    assert (p["energy_mwh"].values <= 50.0 * 24 * (1 + 1e-12)).all()


def test_cohorts_stop_when_power_costs_more_than_they_earn() -> None:
    res = simulate(
        scenario(
            fleet__sites=[{"name": "A", "capacity_mw": 50, "power": {"price_usd_per_mwh": 900}}]
        )
    )
    assert res.paths is not None
    assert (res.paths["fleet_hashrate_ehs"].values == 0).all()
    assert (res.paths["production_btc"].values == 0).all()
    assert (res.paths["cash_usd"].values == 1e7).all()


def test_accounting_identities(base_run) -> None:
    p = base_run.paths
    assert p is not None
    revenue = p["revenue_usd"].values
    np.testing.assert_allclose(revenue, p["production_btc"].values * p["btc_price_usd"].values)
    cash = 1e7 + np.cumsum(revenue - p["power_cost_usd"].values, axis=1)
    np.testing.assert_allclose(p["cash_usd"].values, cash, rtol=1e-12)
    # FPPS: production = fleet share of the expected payout, after the 2 % pool fee
    hp = p["hashprice_usd_per_ph_day"].values
    prod_usd = p["fleet_hashrate_ehs"].values * 1e3 * hp * 0.98
    np.testing.assert_allclose(revenue, prod_usd, rtol=1e-12)
    height = p["height"].values
    assert np.array_equal(np.diff(height, axis=1), p["blocks"].values[:, 1:])


def test_results_are_saved_with_metadata(base_run, tmp_path) -> None:
    out = base_run.save(tmp_path / "out")
    names = sorted(f.name for f in out.iterdir())
    assert names == [
        "daily.nc",
        "events.nc",
        "hashfleet-complete.json",
        "paths.nc",
        "per_path.nc",
        "scenario.resolved.yaml",
        "summary.json",
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metadata"]["seed"] == 7
    assert summary["metadata"]["paths"] == 300
    libs = summary["metadata"]["libraries"]  # what the bits were computed with (model §9)
    assert libs["numpy"] == np.__version__ and libs["blas"][0]["kernel"]
    import xarray as xr

    with xr.open_dataset(out / "daily.nc") as ds:
        assert ds.attrs["seed"] == 7
        assert json.loads(ds.attrs["libraries"]) == libs
        assert ds.attrs["scenario_hash"] == base_run.metadata["scenario_hash"]
        assert ds["btc_price_usd"].dims == ("quantile", "day")
    with xr.open_dataset(out / "paths.nc") as ds:
        assert ds["blocks"].dims == ("path", "day")
        assert np.array_equal(ds["blocks"].values, base_run.paths["blocks"].values)


def test_solo_mining_is_a_binomial_thinning_of_network_blocks() -> None:
    """Solo: our expected production equals FPPS's (before fees) within 4 standard errors."""
    solo = simulate(scenario(fleet__pool={"payout": "solo", "fee_share": 0.0}, run__paths=1000))
    fpps = simulate(scenario(fleet__pool={"payout": "fpps", "fee_share": 0.0}, run__paths=1000))
    a = solo.per_path["total_production_btc"].values
    b = fpps.per_path["total_production_btc"].values
    assert abs(a.mean() - b.mean()) < 4 * a.std(ddof=1) / np.sqrt(a.size)
    assert a.std() > 3 * b.std()  # luck adds variance


def test_interrupted_save_leaves_no_half_written_file(base_run, tmp_path, monkeypatch) -> None:
    """A crash (or Ctrl-C) while a file is being written leaves neither a partial target nor
    a temporary file; files already complete stay intact."""
    import xarray as xr

    out = tmp_path / "out"
    base_run.save(out)
    before = (out / "daily.nc").read_bytes()

    def explode(self, path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", explode)
    with pytest.raises(KeyboardInterrupt):
        base_run.save(out)
    assert (out / "daily.nc").read_bytes() == before
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left


def test_background_reduction_gives_the_same_numbers(base_run, monkeypatch) -> None:
    """The in-process run reduces each window on a second thread when a second window buffer
    is affordable; forcing the reductions into the simulating thread (limit 0 bytes) gives
    every daily statistic, stored path, per-path figure and event identical."""
    import hashfleet.runner as runner

    monkeypatch.setattr(runner, "BACKGROUND_WINDOW_BYTES", 0)
    serial = simulate(scenario())
    for a, b in ((base_run.daily, serial.daily), (base_run.paths, serial.paths)):
        for v in a.data_vars:
            assert np.array_equal(a[v].values, b[v].values, equal_nan=True), v
    for v in base_run.per_path.data_vars:
        assert np.array_equal(
            base_run.per_path[v].values, serial.per_path[v].values, equal_nan=True
        ), v
    assert base_run.retargets.equals(serial.retargets)


def test_background_reduction_error_reaches_the_caller(monkeypatch) -> None:
    """An error in a background reduction is raised by ``simulate``, and the thread stops."""
    import threading

    from hashfleet.engine import recorder as rec

    def broken(self: Any, day: int, variables: slice = slice(None)) -> None:
        raise RuntimeError(f"reduction of day {day} failed")

    monkeypatch.setattr(rec.Recorder, "reduce_window", broken)
    with pytest.raises(RuntimeError, match="reduction of day 31 failed"):
        simulate(scenario())
    assert not any(t.name.startswith("hashfleet-reduce") for t in threading.enumerate())
