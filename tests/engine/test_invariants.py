"""Invariant guards: on in the test suite, silent when the model is right, loud and located
when a component breaks an invariant."""

from __future__ import annotations

import numpy as np
import pytest

from builders import small_scenario
from hashfleet.engine.core import ChunkEngine
from hashfleet.engine.invariants import ENV_VAR, InvariantError, checks_enabled
from hashfleet.model import compile_scenario
from hashfleet.runner import simulate


def test_the_suite_runs_with_the_guards_on() -> None:
    assert checks_enabled()


def test_guards_off_without_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR)
    assert not checks_enabled()
    monkeypatch.setenv(ENV_VAR, "0")
    assert not checks_enabled()


def _engine_with(component: object) -> ChunkEngine:
    model = compile_scenario(small_scenario(run__horizon_days=5))
    model = type(model)(**{**model.__dict__, "components": (*model.components, component)})
    return ChunkEngine(model, 1, 0, 1, lambda *a: None, record_events=False)


class _Leak:
    """Moves cash without booking it (breaks cash conservation on day 2)."""

    def attach(self, engine: ChunkEngine) -> None:
        def leak(day: int) -> None:
            if day == 2:
                engine.cash_usd[7] -= 1000.0

        engine.add_step(81, "leak", leak)


class _NaN:
    """Records a NaN on day 3, path 11."""

    def attach(self, engine: ChunkEngine) -> None:
        engine.declare("bad_mwh", "MWh", "a broken variable")

        def bad(day: int) -> None:
            v = np.zeros(engine.n_paths)
            if day == 3:
                v[11] = np.nan
            engine.values["bad_mwh"] = v

        engine.add_step(50, "bad", bad)


class _Negative:
    """A negative quantity on day 1."""

    def attach(self, engine: ChunkEngine) -> None:
        engine.declare("stock_units", "unit", "units in stock")

        def neg(day: int) -> None:
            engine.values["stock_units"] = np.full(engine.n_paths, -1.0 if day == 1 else 0.0)

        engine.add_step(50, "neg", neg)


@pytest.mark.parametrize(
    ("component", "where"),
    [
        (_Leak(), "path 7, day 2, cash_usd"),
        (_NaN(), "path 11, day 3, bad_mwh: expected a finite number"),
        (_Negative(), "path 0, day 1, stock_units: expected ≥ 0 unit"),
    ],
)
def test_a_broken_invariant_names_path_day_and_variable(component: object, where: str) -> None:
    engine = _engine_with(component)
    with pytest.raises(InvariantError, match=where):
        engine.run_until(5)


def test_guards_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = small_scenario(run__horizon_days=40)
    on = simulate(sc, paths=250, seed=3)
    monkeypatch.delenv(ENV_VAR)
    off = simulate(sc, paths=250, seed=3)
    for v in on.per_path.data_vars:
        np.testing.assert_array_equal(on.per_path[v], off.per_path[v])


def test_day_record_declares_every_field_with_a_unit() -> None:
    """Every value steps share is a declared field, documented with its unit and shape."""
    from hashfleet.day import DayRecord

    doc = DayRecord.__doc__ or ""
    for name in DayRecord.__dataclass_fields__:
        assert f"    {name} :" in doc, name


def test_day_record_sets_the_exogenous_fields_and_refuses_unset_ones() -> None:
    """The typed record (the by-name shim for components written against the old dict is
    gone: every component reads attributes)."""
    from hashfleet.day import DayRecord

    t = DayRecord()
    t.set_exogenous(
        {
            "btc_price_usd": np.ones(2),
            "fees_btc_per_block": np.zeros(2),
            "network_hashrate_ehs": np.ones(2),
            "spot_usd_per_mwh:0": np.full(2, 40.0),
        }
    )
    assert t.btc_price_usd is t.exogenous["btc_price_usd"]
    assert t.exogenous["spot_usd_per_mwh:0"][0] == 40.0
    with pytest.raises(AttributeError):
        _ = t.fleet_hs  # written by dispatch (stage 20), not yet
    assert not hasattr(t, "__getitem__")
