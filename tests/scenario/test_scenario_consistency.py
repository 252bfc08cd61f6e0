"""Cross-field checks: named, located, and saying how to fix the input."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pytest

from hashfleet.errors import DataError, ScenarioError
from hashfleet.scenario import check_consistency, load_scenario_text
from hashfleet.scenario.consistency import CHECKS
from hashfleet.scenario.schema import CohortSpec


def _issues(text: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text)
    return [(i.field, i.location.line, i.message) for i in info.value.issues]


def test_checks_are_named() -> None:
    assert {"cohort_site_known", "cohort_model_known", "epoch_start_before_start"} <= set(CHECKS)


def test_unknown_site_and_late_install_reported_together(minimal_text: str) -> None:
    text = minimal_text + (
        "    - {model: TestMiner, site: Tx2, units: 1}\n"
        "    - {model: TestMiner, site: TX1, units: 1, install_date: 2025-03-03}\n"
    )
    issues = _issues(text)
    assert issues == [
        (
            "fleet.cohorts[1].site",
            24,
            "unknown site 'Tx2'; known sites: 'TX1' (did you mean 'TX1'?)",
        ),
    ]  # a delivery after the horizon is valid: it just falls outside the run


def test_install_on_last_day_and_before_start_are_fine(minimal_text: str) -> None:
    text = minimal_text + (
        "    - {model: TestMiner, site: TX1, units: 1, install_date: 2025-03-02}\n"
        "    - {model: TestMiner, site: TX1, units: 1, install_date: 2020-01-01}\n"
    )
    assert len(load_scenario_text(text).fleet.cohorts) == 3


def test_epoch_start_after_run_start(minimal_text: str) -> None:
    text = minimal_text.replace("2025-01-25T00:00:00Z", "2025-02-01T00:00:01Z")
    ((field, line, message),) = _issues(text)
    assert (field, line) == ("network.start.epoch_start_time", 10)
    assert "after the start of the run" in message
    # exactly at t=0 is allowed
    load_scenario_text(minimal_text.replace("2025-01-25T00:00:00Z", "2025-02-01T00:00:00Z"))


@pytest.mark.parametrize(
    ("bits", "message"),
    [("0x17827726", "positive number"), ("0x00000000", "positive"), ("0x207fffff", "limit")],
)
def test_start_bits_valid(minimal_text: str, bits: str, message: str) -> None:
    ((field, line, msg),) = _issues(minimal_text.replace("0x17027726", bits))
    assert (field, line) == ("network.start.bits", 9)
    assert message in msg


def test_pow_limit_itself_is_valid(minimal_text: str) -> None:
    load_scenario_text(minimal_text.replace("0x17027726", "0x1d00ffff"))


def test_duplicate_model_names(minimal_text: str) -> None:
    text = minimal_text.replace(
        "  sites:", "    - {name: TestMiner, hashrate_th_s: 1, power_w: 1}\n  sites:"
    )
    ((field, _, message),) = _issues(text)
    assert field == "fleet.models[1].name"
    assert "already defined at fleet.models[0]" in message


def test_bootstrap_window(minimal_text: str) -> None:
    text = minimal_text + (
        "market:\n  btc_price: {model: bootstrap, history_from: 2024-01-01, "
        "history_to: 2020-01-01}\n"
    )
    ((field, _, message),) = _issues(text)
    assert field == "market.btc_price.history_from"
    assert "swap them" in message


def test_model_check_with_known_names(minimal_text: str) -> None:
    base = load_scenario_text(minimal_text)
    cohorts = [CohortSpec(model="S21", site="TX1", units=1)]
    s = base.model_copy(update={"fleet": base.fleet.model_copy(update={"cohorts": cohorts})})
    # without a catalogue (None) the check is skipped; with names it runs
    assert check_consistency(s, model_names=None) == []
    assert check_consistency(s, model_names={"S21"}) == []
    (issue,) = check_consistency(s, model_names={"S19"})
    assert issue.field == "fleet.cohorts[0].model"
    assert issue.message.startswith("unknown model 'S21'")
    assert "fleet.models" in issue.message


@dataclass
class _FakeCatalogue:
    names: tuple[str, ...]


def test_wired_to_the_catalogue_module(minimal_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("hashfleet.fleet.catalogue")

    def load_catalogue(path: str = "builtin:asic_catalogue", extra: object = ()) -> object:
        if path != "builtin:asic_catalogue":
            raise DataError(f"catalogue not found: {path}")
        return _FakeCatalogue(("S21", "TestMiner"))

    module.load_catalogue = load_catalogue  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hashfleet.fleet.catalogue", module)
    load_scenario_text(minimal_text.replace("- model: TestMiner", "- model: S21"))
    ((field, line, message),) = _issues(minimal_text.replace("- model: TestMiner", "- model: S12"))
    assert (field, line) == ("fleet.cohorts[0].model", 21)
    assert "unknown model 'S12' (did you mean 'S21'?)" in message
    issues = _issues(minimal_text + "  catalogue: builtin:nope\n")
    assert issues[0][0] == "fleet.catalogue"
    assert "catalogue not found" in issues[0][2]


def test_shipped_catalogue_names_accepted(minimal_text: str) -> None:
    catalogue = pytest.importorskip("hashfleet.fleet.catalogue")
    name = catalogue.load_catalogue().names[0]
    s = load_scenario_text(minimal_text.replace("- model: TestMiner", f"- model: {name}"))
    assert s.fleet.cohorts[0].model == name
    ((field, _, message),) = _issues(
        minimal_text.replace("- model: TestMiner", "- model: NoSuchMiner9000")
    )
    assert field == "fleet.cohorts[0].model"
    assert message.startswith("unknown model 'NoSuchMiner9000'")
