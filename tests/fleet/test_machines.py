"""Machines: failures follow their hazard, repairs and spares, degradation, dead on arrival."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from builders import CHAIN_2026
from hashfleet.fleet.component import fleet_state
from hashfleet.fleet.machines import cumulative_hazard, daily_failure_probability
from hashfleet.runner import simulate
from hashfleet.scenario.schema import FailureSpec, Scenario

N_UNITS = 10_000
BASE: dict[str, Any] = {
    "name": "machines-test",
    "run": {
        "start": "2026-01-01",
        "horizon_days": 60,
        "paths": 250,
        "seed": 17,
        "outputs": {"store_paths": True},
    },
    "network": {
        "start": CHAIN_2026,
    },
    "market": {"btc_price": {"model": "gbm", "start_usd": 90_000, "volatility_per_year": 0.3}},
    "fleet": {
        "models": [{"name": "M", "hashrate_th_s": 200, "power_w": 3500}],
        "sites": [{"name": "S", "capacity_mw": 500, "power": {"price_usd_per_mwh": 10}}],
        "cohorts": [{"model": "M", "site": "S", "units": N_UNITS}],
    },
}


def run(horizon: int = 60, paths: int = 250, chunk: int | None = None, **cohort: Any) -> Any:
    d = copy.deepcopy(BASE)
    d["run"].update(horizon_days=horizon, paths=paths)
    d["fleet"]["cohorts"][0].update(cohort)
    return simulate(Scenario.model_validate(d), chunk_paths=chunk)


def series(res: Any, v: str) -> np.ndarray:
    """``(n_paths, n_days)`` daily values of one variable."""
    return np.asarray(res.paths[v].values)


def expected_failures(spec: FailureSpec, n_days: int) -> np.ndarray:
    """E[failures] per day without returns: ``W_d·q_d`` with ``W_{d+1} = W_d·(1 − q_d)``."""
    q = daily_failure_probability(spec, np.arange(n_days, dtype=float))
    working = N_UNITS * np.concatenate([[1.0], np.cumprod(1 - q)[:-1]])
    return working * q


def test_hazard_helpers() -> None:
    """Λ is linear for a constant hazard and (a/η)^k for Weibull; daily probabilities
    telescope to 1 − exp(−Λ)."""
    c = FailureSpec(model="constant", rate_per_year=0.5)
    assert cumulative_hazard(c, np.array(365.25)) == pytest.approx(0.5)
    w = FailureSpec(model="weibull", weibull_shape=2, weibull_scale_years=1)
    assert cumulative_hazard(w, np.array(365.25 / 2)) == pytest.approx(0.25)
    q = daily_failure_probability(w, np.arange(100.0))
    assert 1 - np.prod(1 - q) == pytest.approx(1 - np.exp(-((100 / 365.25) ** 2)))


def test_constant_hazard_failure_counts() -> None:
    """Rate 0.73/unit-year, 10,000 units, no returns within 60 days: mean cumulative failures
    over 250 paths equal N·(1 − exp(−r·t)) = 1,130 within 4 standard errors (~8 units).
    Treating failed units as still at risk would give N·r·t = 1,199 and fail."""
    spec = {"model": "constant", "rate_per_year": 0.73, "repair_days": 365}
    r = run(failures=spec)
    total = series(r, "failed_units").sum(axis=1)
    expect = N_UNITS * (1 - np.exp(-0.73 * 60 / 365.25))
    se = total.std() / np.sqrt(total.size)
    assert abs(total.mean() - expect) < 4 * se
    # failed units stay down (no spares, repair longer than the run) and stop hashing
    np.testing.assert_array_equal(series(r, "units_down")[:, -1], total)
    np.testing.assert_allclose(series(r, "uptime")[:, -1], 1 - total / N_UNITS)


def test_weibull_failures_follow_the_rising_hazard() -> None:
    """Weibull k = 3, η = 0.5 year over 180 days: failures per 60-day window match the
    expected counts W_d·q_d within 4 standard errors, and the hazard's rise is visible —
    the last window has ~7× the failures of the first (a constant hazard would give < 1×)."""
    spec = {"model": "weibull", "weibull_shape": 3, "weibull_scale_years": 0.5, "repair_days": 365}
    r = run(horizon=180, failures=spec)
    f = series(r, "failed_units")
    exp = expected_failures(FailureSpec(**spec), 180)
    windows = [slice(0, 60), slice(60, 120), slice(120, 180)]
    for w in windows:
        got = f[:, w].sum(axis=1)
        se = got.std() / np.sqrt(got.size)
        assert abs(got.mean() - exp[w].sum()) < 4 * se + 0.5, w
    first, last = f[:, windows[0]].sum(), f[:, windows[2]].sum()
    assert last / first > 5


def test_repairs_and_spares_conserve_units() -> None:
    """High hazard, repairs of 5 days, 30 spares: units in repair R_d are the failures of
    the last 5 days; spares − down = 30 − R_d with spares·down = 0 (spares first, returns
    fill holes first); repair cost = 150 USD × failures."""
    spec = {
        "model": "constant",
        "rate_per_year": 20,
        "repair_days": 5,
        "repair_cost_usd_per_unit": 150,
        "spares_units": 30,
    }
    r = run(horizon=40, failures=spec)
    f = series(r, "failed_units")
    kernel = np.ones(5)
    in_repair = np.array([np.convolve(row, kernel)[: f.shape[1]] for row in f])
    down, spares = series(r, "units_down"), series(r, "spares_units")
    np.testing.assert_array_equal(spares - down, 30 - in_repair)
    np.testing.assert_array_equal(down * spares, 0)
    np.testing.assert_allclose(series(r, "repair_cost_usd"), 150 * f)
    assert down.max() > 0 and spares.min() < 30


def test_dead_on_arrival_share() -> None:
    """20,000 units delivered on day 10 with 5 % DOA: the dead units average 1,000 within 4
    standard errors and never hash; units at t=0 have no DOA draw."""
    d = copy.deepcopy(BASE)
    d["run"].update(horizon_days=15)
    d["fleet"]["cohorts"].append(
        {
            "model": "M",
            "site": "S",
            "units": 20_000,
            "install_date": "2026-01-11",
            "doa_share": 0.05,
        }
    )
    d["fleet"]["cohorts"][0]["doa_share"] = 0.5
    r = simulate(Scenario.model_validate(d))
    doa = series(r, "doa_units")
    assert doa[:, :10].sum() == 0 and doa[:, 11:].sum() == 0
    dead = doa[:, 10]
    assert abs(dead.mean() - 1000) < 4 * dead.std() / np.sqrt(dead.size)
    np.testing.assert_allclose(
        series(r, "fleet_hashrate_ehs")[:, 12], (N_UNITS + 20_000 - dead) * 200 / 1e6
    )


def test_degradation_lowers_hashrate_at_the_same_power() -> None:
    """20 %/year: day 29's hashrate is 0.8^(29/365.25) of new; energy is unchanged."""
    r = run(horizon=30, degradation_per_year=0.2)
    new = run(horizon=30)
    np.testing.assert_allclose(
        series(r, "fleet_hashrate_ehs")[:, 29], N_UNITS * 200 / 1e6 * 0.8 ** (29 / 365.25)
    )
    np.testing.assert_allclose(series(r, "energy_mwh"), series(new, "energy_mwh"))


def test_age_at_install_shifts_the_weibull_clock() -> None:
    """Units 2 years old at the start (Weibull k = 3, η = 3 years): day 0's expected
    failures are N·q(730 days), far above a new fleet's; mean over 250 paths within 4 SE.
    Degradation counts from the same age: 0.9^2 of new hashrate on day 0."""
    spec = {"model": "weibull", "weibull_shape": 3, "weibull_scale_years": 3, "repair_days": 365}
    r = run(horizon=20, failures=spec, age_at_install_years=2, degradation_per_year=0.1)
    f = series(r, "failed_units")[:, :20].sum(axis=1)
    ages = 2 * 365.25 + np.arange(20.0)
    q = daily_failure_probability(FailureSpec(**spec), ages)
    expect = N_UNITS * (1 - np.prod(1 - q))
    assert abs(f.mean() - expect) < 4 * f.std() / np.sqrt(f.size)
    new = expected_failures(FailureSpec(**spec), 20).sum()
    assert expect > 10 * new
    first = series(r, "fleet_hashrate_ehs")[:, 0]
    np.testing.assert_allclose(first, (N_UNITS - series(r, "units_down")[:, 0]) * 200 * 0.81 / 1e6)


def test_failures_do_not_depend_on_chunking() -> None:
    """Failures and DOA draw per stream block: one chunk or two give identical paths."""
    spec = {"model": "weibull", "weibull_shape": 0.7, "spares_units": 5, "repair_days": 3}
    one = run(horizon=25, paths=500, failures=spec)
    two = run(horizon=25, paths=500, chunk=250, failures=spec)
    for v in ("failed_units", "units_down", "spares_units", "production_btc"):
        np.testing.assert_array_equal(series(one, v), series(two, v))


def test_cohorts_with_different_repair_times_get_their_units_back_on_time() -> None:
    """Three failing cohorts with repairs of 3, 7 and 3 days and no spares (plus one without
    failures between them): on every path, each cohort's down units at the end are exactly
    its failures of its last ``repair_days`` days (units come back on time, per cohort)."""
    from hashfleet.engine.core import ChunkEngine
    from hashfleet.fleet.machines import _Machines
    from hashfleet.model import compile_scenario

    d = copy.deepcopy(BASE)
    d["run"].update(horizon_days=25, paths=250)
    fast = {"model": "constant", "rate_per_year": 30}
    d["fleet"]["cohorts"] = [
        {"model": "M", "site": "S", "units": 3000, "failures": fast | {"repair_days": 3}},
        {"model": "M", "site": "S", "units": 3000},
        {"model": "M", "site": "S", "units": 3000, "failures": fast | {"repair_days": 7}},
        {"model": "M", "site": "S", "units": 3000, "failures": fast | {"repair_days": 3}},
    ]
    engine = ChunkEngine(
        compile_scenario(Scenario.model_validate(d)),
        5,
        0,
        1,
        lambda *a: None,
        record_events=False,
    )
    machines = next(fn.__self__ for _, _, name, fn in engine._steps if name == "machines")
    assert isinstance(machines, _Machines)
    draws: list[np.ndarray] = []
    binomial = machines._binomial

    def recording(n: np.ndarray, p: np.ndarray) -> np.ndarray:
        out = binomial(n, p)
        if out.shape[1] == machines.idx.size:
            draws.append(out.copy())
        return out

    machines._binomial = recording  # type: ignore[method-assign]
    engine.run_until(25)
    new = np.stack(draws)  # (days, paths, failing cohorts)
    assert new.shape[0] == 25 and new.sum() > 0
    down = fleet_state(engine).down_units[:, machines.idx]
    for j, r in enumerate(machines.repair_days):
        np.testing.assert_array_equal(down[:, j], new[-int(r) :, :, j].sum(axis=0))
