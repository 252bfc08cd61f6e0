"""The report drawn in the helper process equals the one drawn in-process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hashfleet.results import Results
from hashfleet.results.render import ReportProcess
from hashfleet.results.report import write_report


def _charts(page: Path) -> list[str]:
    return re.findall(r"data-name='([^']+)'", page.read_text(encoding="utf-8"))


def test_helper_process_draws_the_same_report_with_the_cash_path_metrics(
    small_run: tuple[Results, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    res, _ = small_run
    monkeypatch.setenv("HASHFLEET_REPORT_PROCESS", "1")
    with ReportProcess() as drawer:
        assert drawer._proc is not None
        drawer.submit(res, tmp_path / "child")
        page = drawer.wait()
    assert drawer.child_error == ""
    assert page == tmp_path / "child" / "report.html"
    assert not (tmp_path / "child" / ".report-payload.pkl").exists()
    here = write_report(res, tmp_path / "here", svg=False)
    assert _charts(page) == _charts(here)
    text = page.read_text(encoding="utf-8")
    # min cash and P(cash < 0 at any time) need every path: computed before the hand-over
    assert "P(cash &lt; 0 at any time)" in text or "P(cash < 0 at any time)" in text
    assert (tmp_path / "child" / "figures" / "distributions.png").stat().st_size > 5000


def test_a_failing_helper_falls_back_to_drawing_here(
    small_run: tuple[Results, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    res, _ = small_run
    monkeypatch.setenv("HASHFLEET_REPORT_PROCESS", "1")
    with ReportProcess() as drawer:
        assert drawer._proc is not None
        drawer._proc.kill()  # dies while warming up
        drawer._proc.wait()
        drawer.submit(res, tmp_path)
        page = drawer.wait()
    assert page.is_file() and len(_charts(page)) > 5


def test_disabled_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HASHFLEET_REPORT_PROCESS", "1")
    assert ReportProcess(enabled=False)._proc is None
    monkeypatch.setenv("HASHFLEET_REPORT_PROCESS", "0")
    assert ReportProcess()._proc is None
