"""The report in a real browser: headless Chromium renders it with no console message, no
page error, and every chart decoded with a non-zero size; a screenshot is saved.

Skipped — loudly, with the install command — when no Chromium is on PATH.  Set
``HASHFLEET_SCREENSHOTS=DIR`` to keep the screenshots (CI artifacts).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hashfleet.results import Results
from hashfleet.results.report import write_comparison_report, write_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL = "apt-get update && apt-get install -y chromium"


@pytest.fixture(scope="module")
def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        f"NO BROWSER: headless Chromium not found on PATH (tried {', '.join(BROWSERS)}); "
        f"the report's browser test did NOT run. Install it with: {INSTALL}"
    )


def _chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        browser,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _check_in_browser(browser: str, page: Path, tmp: Path, shot_name: str) -> Path:
    url = page.resolve().as_uri()
    dom = _chromium(browser, tmp / "profile-dom", "--virtual-time-budget=10000", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [ln for ln in dom.stderr.splitlines() if ":CONSOLE" in ln]
    assert not console, f"console messages: {console}"
    body = re.search(r"<body([^>]*)>", dom.stdout)
    assert body is not None
    assert 'data-errors="0"' in body.group(1), re.findall(r"<li>.*?</li>", dom.stdout)
    n_html = len(re.findall(r"<img class=\"chart\"", dom.stdout))
    assert n_html > 0 and f'data-charts-checked="{n_html}"' in body.group(1)
    sizes = re.findall(r'data-ok="([^"]*)"', dom.stdout)
    assert len(sizes) == n_html
    for s in sizes:
        w, h = (int(x) for x in s.split("x"))  # "0" (not decoded) fails here
        assert w > 200 and h > 100
    shot = tmp / shot_name
    res = _chromium(
        browser, tmp / "profile-shot", "--window-size=1400,6000", f"--screenshot={shot}", url
    )
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    assert shot.stat().st_size > 100_000  # a blank page is a few kB
    keep = os.environ.get("HASHFLEET_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot_name)
    return shot


def test_run_report_renders_in_chromium(
    browser: str, small_run: tuple[Results, Path], tmp_path: Path
) -> None:
    res, _ = small_run
    page = write_report(res, tmp_path / "run", svg=False)
    _check_in_browser(browser, page, tmp_path, "report-run.png")


def test_comparison_report_renders_in_chromium(browser: str, tmp_path: Path) -> None:
    from results_helpers import ROOT, SMALL_SET

    from hashfleet.studies.compare import compare

    cmp = compare(
        ROOT / "scenarios/strategies-baseline.yaml",
        paths=8,
        set_args=SMALL_SET[:3],
        store_paths=True,
    )
    page = write_comparison_report(cmp, tmp_path / "cmp", svg=False)
    _check_in_browser(browser, page, tmp_path, "report-comparison.png")


def test_a_broken_page_fails_the_check(browser: str, tmp_path: Path) -> None:
    """The check itself works: a page error and an undecodable chart are caught."""
    from hashfleet.results.report import _SCRIPT

    bad = tmp_path / "bad.html"
    bad.write_text(
        "<html><body><img class=\"chart\" data-name='x' src='data:image/png;base64,AAAA'/>"
        f"<ul id='report-errors'></ul><script>{_SCRIPT}</script></body></html>",
        encoding="utf-8",
    )
    with pytest.raises(AssertionError):
        _check_in_browser(browser, bad, tmp_path, "bad.png")
