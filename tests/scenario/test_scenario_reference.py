"""The committed scenario reference equals the one generated from the schema."""

from __future__ import annotations

from pathlib import Path

from hashfleet.scenario import reference_markdown
from hashfleet.scenario.reference import path_field_patterns

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenario-reference.md"


def test_reference_is_up_to_date() -> None:
    committed = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert committed == reference_markdown(), (
        "docs/scenario-reference.md is out of date with the schema; regenerate it with: "
        "hashfleet scenario reference --out docs/scenario-reference.md"
    )


def test_reference_content() -> None:
    text = reference_markdown()
    assert "| `fleet.sites[].capacity_mw` | number | MW | required | ≥ 1e-06, ≤ 100000.0 |" in text
    assert "### `market.btc_price` with `model: merton`" in text
    assert "| `run.paths` | integer |  | `1000` | ≥ 1, ≤ 10000000 |" in text
    assert "lists are replaced" in text


def test_path_fields_found() -> None:
    assert set(path_field_patterns()) == {
        ("fleet", "catalogue"),
        ("network", "hashrate", "path"),
        ("network", "hashrate", "calibration"),
        ("market", "btc_price", "path"),
    }
