"""Every code block of the docs marked ``<!-- runnable -->`` runs, at a few paths.

A bash block is split into commands (``\\`` continues a line); each ``hashfleet …`` command
runs through the CLI in-process with ``--paths`` cut to a few paths and ``--samples`` to 2.
A python block runs with ``paths=`` cut the same way; the blocks of one page share a
namespace, in order.  Everything runs in a temporary directory where ``scenarios/`` is the
repository's, so the docs' relative paths work and their outputs land in the temporary
directory.  ``mkdocs build --strict`` itself runs in ``scripts/test.sh`` when mkdocs is
installed (the ``docs`` extra).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from hashfleet.cli import cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PATHS = "6"

_BLOCK = re.compile(r"<!-- runnable -->\s*\n```(bash|python)\n(.*?)\n```", re.S)


def _blocks(page: Path) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(page.read_text(encoding="utf-8"))]


PAGES = sorted(p for p in DOCS.rglob("*.md") if _blocks(p))
#: Pages whose samples start a Dask cluster (~30 s): with the slow tests.
SLOW = {"tutorials/dask.md"}


def _shrink(text: str) -> str:
    if "--paths" in text and "horizon_days" not in text:  # a short horizon as well
        text = re.sub(r"(--paths \d+)", r"\1 --set run.horizon_days=120", text, count=1)
    text = re.sub(r"--paths \d+", f"--paths {PATHS}", text)
    text = re.sub(r"--samples \d+", "--samples 2", text)
    return re.sub(r"\bpaths=\d+", f"paths={PATHS}", text)


def _commands(script: str) -> list[list[str]]:
    joined = re.sub(r"\\\n\s*", " ", script)
    out = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line:
            args = shlex.split(_shrink(line))
            assert args[0] == "hashfleet", (
                f"a runnable bash line must be a hashfleet command: {line}"
            )
            out.append(args[1:])
    return out


def test_the_docs_have_runnable_samples() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {
        "index.md",
        "tutorials/first-run.md",
        "tutorials/compare.md",
        "tutorials/stress.md",
        "tutorials/sensitivity.md",
        "tutorials/dask.md",
    } <= names


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(p, marks=[pytest.mark.slow] if p.relative_to(DOCS).as_posix() in SLOW else [])
        for p in PAGES
    ],
    ids=lambda p: p.relative_to(DOCS).as_posix(),
)
def test_runnable_samples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HASHFLEET_REPORT_PROCESS", "0")
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for lang, code in _blocks(page):
        if lang == "python":
            exec(compile(_shrink(code), f"{page.name}:python", "exec"), namespace)
            continue
        for args in _commands(code):
            r = CliRunner().invoke(cli, args)
            assert r.exit_code == 0, f"hashfleet {' '.join(args)}\n{r.output}"
