"""Bad scenario files: one clear, located message per mistake, all mistakes at once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hashfleet.errors import InputError, ScenarioError
from hashfleet.scenario import load_scenario, load_scenario_text


def _issues(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert isinstance(info.value, InputError)
    assert isinstance(info.value, ValueError)
    return [str(i) for i in info.value.issues]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "bad_misspelt_key",
            ":8:7: fleet.sites[0].capcity_mw: unknown field 'capcity_mw'; "
            "did you mean 'capacity_mw'?",
        ),
        ("bad_wrong_type", ":4:17: run.horizon_days: expected an integer, got 'ten'"),
        (
            "bad_negative_capacity",
            ":8:20: fleet.sites[0].capacity_mw: expected a number greater than or equal to 1e-06, "
            "got -5",
        ),
        ("bad_syntax", ":5:9: YAML syntax error: mapping values are not allowed here"),
        (
            "bad_unknown_variant",
            ":7:12: market.btc_price.model: expected one of 'gbm', 'merton', 'bootstrap', "
            "'csv', got 'gmb'",
        ),
        (
            "bad_duplicate_keys",
            ":6:3: run.paths: duplicate key 'paths' (first at line 5, again at line 6)",
        ),
        ("bad_python_tag", ":1:7: name: unsupported YAML tag '!!python/object/apply:os.system'"),
        ("bad_not_utf8", ":1:10: file is not UTF-8: byte 0xe9 at offset 9"),
        ("bad_empty", ":1:1: file is empty"),
        ("bad_top_level_list", ":1:1: expected a mapping of scenario sections"),
    ],
)
def test_one_clear_message(data_dir: Path, name: str, expected: str) -> None:
    path = data_dir / f"{name}.yaml"
    issues = _issues(path)
    assert len(issues) == 1, issues
    assert issues[0].startswith(str(path) + expected), issues[0]


def test_all_errors_of_a_file_at_once(data_dir: Path) -> None:
    issues = _issues(data_dir / "bad_several.yaml")
    fields = [i.split(": ")[1] for i in issues]
    assert fields == [
        "run.horizon_days",
        "run.paths",
        "fleet.sites[0].capacity_mw",
        "fleet.cohorts[0].units",
    ]
    assert issues[3].endswith("missing required field 'units' (Number of machines)")
    assert ":12:7:" in issues[3]  # at the mapping that lacks it


def test_billion_laughs_rejected_fast(data_dir: Path) -> None:
    """Expanded, the bomb is ~10^9 nodes; it is rejected after at most 100,000, so memory
    stays small (peak < 64 MB traced) and time short (~0.3 s here; 5 s bound for a busy CI)."""
    import tracemalloc

    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        issues = _issues(data_dir / "bad_billion_laughs.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 5.0
    assert peak < 64 * 2**20
    assert "alias bomb" in issues[0]


def test_recursive_alias_rejected() -> None:
    with pytest.raises(ScenarioError, match="recursive YAML alias"):
        load_scenario_text("name: &a [*a]\n")


def test_unknown_field_without_close_match_lists_fields(minimal_text: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(minimal_text.replace("  paths: 10", "  zzz: 10"))
    (issue,) = info.value.issues
    assert issue.field == "run.zzz"
    assert issue.message.startswith("unknown field 'zzz'; valid fields here: start, horizon_days")


def test_union_variant_error_drops_tag_segment(minimal_text: str) -> None:
    text = minimal_text + "market:\n  btc_price:\n    model: merton\n    jump_rate_per_year: -1\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text)
    (issue,) = info.value.issues
    assert issue.field == "market.btc_price.jump_rate_per_year"
    assert issue.location.line == 27
    assert issue.message == "expected a number greater than or equal to 0, got -1"


def test_missing_union_tag(minimal_text: str) -> None:
    text = minimal_text + "network2: 1\n"
    with pytest.raises(ScenarioError, match="unknown field 'network2'; did you mean 'network'"):
        load_scenario_text(text)
    text = minimal_text + "market:\n  btc_price: {volatility_per_year: 0.4}\n"
    with pytest.raises(ScenarioError, match="expected a 'model' field, one of 'gbm'"):
        load_scenario_text(text)


def test_model_validator_message_at_the_mapping(minimal_text: str) -> None:
    text = minimal_text.replace("    height: 880000\n", "")
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text)
    (issue,) = info.value.issues
    assert issue.field == "network.start"
    assert issue.location.line == 7
    assert "missing height" in issue.message


def test_invalid_date_scalar(minimal_text: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(minimal_text.replace("2025-02-01", "2025-13-01"))
    (issue,) = info.value.issues
    assert issue.field == "run.start"
    assert issue.message.startswith("expected a valid date, got '2025-13-01'")


def test_non_finite_number_rejected(minimal_text: str) -> None:
    with pytest.raises(ScenarioError, match=r"capacity_mw: expected a finite number, got inf"):
        load_scenario_text(minimal_text.replace("capacity_mw: 10", "capacity_mw: .inf"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: a\x01b\n", "YAML cannot contain the character #x0001"),
        ("a: " + "[" * 3000 + "]" * 3000 + "\n", "nest"),
        ("a: 1\n---\nb: 2\n", "expected a single document"),
        ("run: !custom {start: 2025-01-01}\n", "unsupported YAML tag '!custom'"),
        ("? [a, b]\n: 1\n", "expected a text key, got a list"),
    ],
)
def test_malformed_yaml_is_a_scenario_error(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        load_scenario_text(text)


def test_every_duplicate_reported(minimal_text: str) -> None:
    text = minimal_text + "name: again\nrun: {}\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text)
    assert [i.field for i in info.value.issues] == ["name", "run"]
