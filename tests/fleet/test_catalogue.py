"""Tests of the shipped ASIC catalogue and its loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashfleet.errors import DataError, InputError
from hashfleet.fleet.catalogue import Catalogue, MinerModel, load_catalogue
from hashfleet.scenario.schema import MinerModelSpec

HEADER = "name,manufacturer,release_date,hashrate_th_s,power_w,cooling,price_usd_per_th,source\n"


def test_builtin_loads_with_required_families() -> None:
    cat = load_catalogue()
    assert isinstance(cat, Catalogue) and len(cat) >= 35
    for name in [
        "Antminer S9",
        "Antminer S19 XP Hyd",
        "Antminer S21 XP Hyd",
        "Antminer S23 Hyd",
        "Whatsminer M30S++",
        "Whatsminer M66S",
        "Avalon A1566",
    ]:
        assert name in cat
    assert MinerModel is MinerModelSpec
    assert isinstance(cat.get("Antminer S19 Pro"), MinerModelSpec)


def test_rows_are_sane() -> None:
    frame = load_catalogue().to_frame()
    assert frame.index.is_unique
    assert frame["source"].notna().all() and (frame["source"].str.len() > 20).all()
    assert frame["efficiency_j_per_th"].between(5, 150).all()
    assert frame["release_date"].notna().all()
    assert set(frame["cooling"]) <= {"air", "hydro", "immersion"}
    assert frame.loc["Antminer S19 Pro", "efficiency_j_per_th"] == pytest.approx(3250 / 110)


def test_release_dates_ordered_within_families() -> None:
    cat = load_catalogue()

    def date(name: str) -> object:
        return cat.get(name).release_date

    assert date("Antminer S9") < date("Antminer S17") < date("Antminer S19") < date("Antminer S21")
    assert date("Antminer S21") < date("Antminer S23 Hyd")
    assert date("Whatsminer M20S") < date("Whatsminer M30S") < date("Whatsminer M50S")
    assert date("Whatsminer M50S") < date("Whatsminer M60S")
    assert date("Avalon A1066") < date("Avalon A1246") < date("Avalon A1366") < date("Avalon A1566")


def test_efficiency_and_names() -> None:
    cat = load_catalogue()
    assert cat.efficiency_j_per_th("Antminer S21") == pytest.approx(17.5)
    assert cat.names[0] == "Antminer S9"
    assert list(cat) == list(cat.names)


def test_did_you_mean() -> None:
    cat = load_catalogue()
    with pytest.raises(InputError, match=r"got 'Antminer S19Pro'; did you mean 'Antminer S19 Pro'"):
        cat.get("Antminer S19Pro")
    with pytest.raises(InputError, match=r"did you mean 'Antminer S21 XP'"):
        cat["s21 xp"]
    with pytest.raises(InputError, match=r"got 'Zzz'$"):
        cat.get("Zzz")


def test_with_models_adds_and_overrides() -> None:
    cat = load_catalogue()
    custom = MinerModelSpec(name="Antminer S21", hashrate_th_s=210, power_w=3400)
    new = MinerModelSpec(name="Prototype X", hashrate_th_s=1000, power_w=9000)
    out = cat.with_models([custom, new])
    assert out.get("Antminer S21").hashrate_th_s == 210 and "Prototype X" in out
    assert cat.get("Antminer S21").hashrate_th_s == 200  # the original is unchanged
    again = load_catalogue(extra=[new])
    assert again.efficiency_j_per_th("Prototype X") == pytest.approx(9.0)
    with pytest.raises(AttributeError):
        cat.models = {}  # type: ignore[misc]


def test_user_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("name,hashrate_th_s,power_w\nRig A,100,2000\n", encoding="utf-8")
    cat = load_catalogue(str(path))
    assert cat.names == ("Rig A",) and cat.get("Rig A").release_date is None


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("Bad,Acme,2024-01-01,abc,3000,air,,x", r":3: column 'hashrate_th_s': expected a finite"),
        ("Bad,Acme,2024-01-01,-5,3000,air,,x", r":3: column 'hashrate_th_s': .*greater than 0"),
        ("Bad,Acme,01/2024,100,3000,air,,x", r":3: column 'release_date': expected a date"),
        ("Good,Acme,2024-01-01,100,3000,air,,x", r":3: column 'name': the model name repeats"),
        (",Acme,2024-01-01,100,3000,air,,x", r":3: column 'name': expected a model name"),
    ],
)
def test_bad_rows_give_line_numbers(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "Good,Acme,2024-01-01,100,3000,air,,x\n" + row + "\n", "utf-8")
    with pytest.raises(DataError, match=str(path).replace("\\", "\\\\") + message):
        load_catalogue(str(path))


def test_bad_paths_and_headers(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="absolute path"):
        load_catalogue("rel.csv")
    with pytest.raises(DataError, match="unknown builtin"):
        load_catalogue("builtin:nope")
    path = tmp_path / "h.csv"
    path.write_text("name,hashrate\nA,1\n", "utf-8")
    with pytest.raises(DataError, match=r"h\.csv:1: missing column\(s\) hashrate_th_s, power_w"):
        load_catalogue(str(path))
