"""A results folder is complete from one run or untouched: staging, swap, marker, full disk."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
import xarray as xr
from click.testing import CliRunner

from hashfleet.cli import cli
from hashfleet.errors import InputError, OutputError
from hashfleet.results import Results
from hashfleet.results.folder import MARKER, require_complete, staged_folder

ROOT = Path(__file__).parents[2]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SHORT = ("--set", "run.horizon_days=3", "--no-progress")


@pytest.fixture
def run_results(small_run: tuple[Results, Path]) -> Results:
    return small_run[0]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_save_writes_a_marker_last_and_load_checks_it(run_results: Results, tmp_path) -> None:
    out = run_results.save(tmp_path / "out")
    doc = json.loads((out / MARKER).read_text())
    assert doc["kind"] == "run"
    assert set(doc["files"]) == {p.name for p in out.iterdir()} - {MARKER}
    Results.load(out)  # complete: loads
    (out / MARKER).unlink()
    with pytest.raises(InputError, match="interrupted"):
        Results.load(out)


def test_a_changed_file_is_refused_by_readers(run_results: Results, tmp_path) -> None:
    out = run_results.save(tmp_path / "out")
    with open(out / "daily.nc", "ab") as fh:
        fh.write(b"x")
    with pytest.raises(InputError, match=r"daily\.nc: expected"):
        require_complete(out)


def test_saving_again_replaces_the_whole_folder(run_results: Results, tmp_path) -> None:
    out = tmp_path / "out"
    run_results.save(out)
    (out / "report.html").write_text("old report")  # an earlier run's report
    run_results.save(out)
    assert not (out / "report.html").exists()  # nothing of the earlier run is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_folder_of_other_files_is_never_replaced(run_results: Results, tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"notes\.txt"):
        run_results.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"), RuntimeError("NetCDF: HDF error")],
    ids=["ENOSPC", "HDF"],
)
def test_a_full_disk_is_a_clear_error_and_keeps_earlier_results(
    run_results: Results, tmp_path, monkeypatch, error
) -> None:
    out = tmp_path / "out"
    run_results.save(out)
    before = _snapshot(out)
    calls = {"n": 0}
    real = xr.Dataset.to_netcdf

    def fill_disk(self, path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the second file: the first is already written
            with open(path, "wb") as fh:
                fh.write(b"partial")
            raise error
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(xr.Dataset, "to_netcdf", fill_disk)
    with pytest.raises(OutputError) as info:
        run_results.save(out)
    message = str(info.value)
    assert "HDF" not in message and "NetCDF" not in message
    assert "untouched" in message and str(out) in message
    if isinstance(error, OSError):
        assert "no space left" in message
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_cli_full_disk_exit_code_and_message(tmp_path, monkeypatch) -> None:
    out = tmp_path / "res"

    def no_space(self, path, *args, **kwargs):
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", no_space)
    r = CliRunner().invoke(
        cli,
        [
            *("run", str(BASELINE), "--paths", "5", "--out", str(out), "--no-report"),
            "--set",
            "run.horizon_days=3",
            "--no-progress",
        ],
    )
    assert r.exit_code == 1, r.output
    assert "OutputError:" in r.output and "HDF error" not in r.output
    assert "Traceback" not in r.output and not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_stale_staging_folder_of_a_dead_process_is_removed(tmp_path) -> None:
    out = tmp_path / "out"
    stale = tmp_path / ".out.staging-999999999-abc"
    stale.mkdir()
    (stale / "daily.nc").write_bytes(b"half")
    with staged_folder(out, "run") as stage:
        (stage / "summary.json").write_text("{}")
    assert not stale.exists()
    assert (out / MARKER).is_file()


def test_an_exception_inside_leaves_the_target_untouched(tmp_path) -> None:
    out = tmp_path / "out"
    with staged_folder(out, "run") as stage:
        (stage / "summary.json").write_text("1")
    before = _snapshot(out)
    with pytest.raises(KeyboardInterrupt), staged_folder(out, "run") as stage:
        (stage / "summary.json").write_text("2")
        raise KeyboardInterrupt
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_calibrate_out_is_complete_or_untouched(tmp_path, monkeypatch) -> None:
    """An interruption while `hashfleet calibrate --out` writes leaves the earlier file."""
    import hashfleet.studies.calibration as calibration

    out = tmp_path / "calibration.json"
    out.write_text('{"earlier": true}\n')
    result = {
        "in_sample": {"from": "2016-01-01", "to": "2019-12-31"},
        "fit": {
            "rmse_log_hashrate": 0.2,
            "rmse_log_hashrate_start_guess": 0.6,
            "evaluations": 2,
            "wall_time_s": 0.1,
        },
        "convergence": {"optimiser": "Nelder-Mead", "status": 1, "message": "limit"},
    }
    monkeypatch.setattr(calibration, "calibrate", lambda *a, **k: result)
    real_write = Path.write_text

    def interrupted(self, text, *args, **kwargs):
        real_write(self, text[:5], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", interrupted)
    r = CliRunner().invoke(cli, ["calibrate", "--out", str(out)])
    monkeypatch.setattr(Path, "write_text", real_write)
    assert r.exit_code != 0
    assert out.read_text() == '{"earlier": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibration.json"]
    r = CliRunner().invoke(cli, ["calibrate", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["fit"]["evaluations"] == 2
