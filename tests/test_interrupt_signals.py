"""SIGINT / SIGTERM to a real ``hashfleet run``: the results folder is untouched or complete."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hashfleet.results.folder import require_complete

ROOT = Path(__file__).parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _start(out: Path, seed: int, paths: int, days: int, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    args = ["run", str(BASELINE), "--paths", str(paths), "--seed", str(seed), "--out", str(out)]
    args += ["--set", f"run.horizon_days={days}", "--no-progress", *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "hashfleet", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=out.parent,
    )


def _wait_for_start(proc: subprocess.Popen[str]) -> None:
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "Simulating ..." once the scenario is loaded
    assert line.startswith("Simulating"), line


def _earlier_run(out: Path) -> dict[str, bytes]:
    proc = _start(out, 1, 20, 5, "--no-report")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return _snapshot(out)


def _check(out: Path, before: dict[str, bytes], seed: int) -> str:
    """'untouched' or 'complete', else fail; no staging folder may remain."""
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]
    if _snapshot(out) == before:
        return "untouched"
    require_complete(out, "run")
    assert json.loads((out / "summary.json").read_text())["metadata"]["seed"] == seed
    return "complete"


@pytest.mark.parametrize(
    "sig",
    [pytest.param(signal.SIGINT, marks=pytest.mark.slow), signal.SIGTERM],
    ids=["SIGINT", "SIGTERM"],
)
def test_a_signal_mid_run_leaves_the_folder_untouched(tmp_path: Path, sig: int) -> None:
    out = tmp_path / "out"
    before = _earlier_run(out)
    proc = _start(out, 2, 250, 3000)  # long enough to be stopped while simulating
    _wait_for_start(proc)
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "Traceback" not in err
    assert _check(out, before, 2) == "untouched"


@pytest.mark.slow
def test_signals_at_any_moment_leave_the_folder_untouched_or_complete(tmp_path: Path) -> None:
    """Signals sent at increasing delays, so some land while the files are being saved."""
    out = tmp_path / "out"
    before = _earlier_run(out)
    seen = set()
    for i, delay in enumerate([0.2, 0.6, 1.0, 1.4, 1.8, 2.2, 2.6, 3.0, 4.0, 6.0]):
        proc = _start(out, 100 + i, 500, 60, "--store-paths")
        _wait_for_start(proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM if i % 2 else signal.SIGINT)
        proc.communicate(timeout=300)
        state = _check(out, before, 100 + i)
        seen.add(state)
        if state == "complete":
            before = _snapshot(out)
    assert "untouched" in seen
