"""The progress bar: a redrawn line in a terminal, an updated HTML element in Jupyter."""

from __future__ import annotations

import io
import sys
import types

import pytest

from hashfleet.progress import in_notebook, progress_bar


def test_text_bar_redraws_one_line_and_ends_it() -> None:
    out = io.StringIO()
    with progress_bar(10, "days", stream=out, notebook=False) as bar:
        for d in range(1, 11):
            bar(d, 10)
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    assert "\r" in text and "100 % 10/10" in text.splitlines()[-1]
    assert not in_notebook()


def test_notebook_bar_updates_one_display(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[tuple[str, object]] = []

    class Handle:
        def update(self, obj: object) -> None:
            shown.append(("update", obj))

    def display(obj: object, display_id: bool = False) -> Handle:
        shown.append(("display", obj))
        return Handle()

    class HTML(str):
        pass

    fake = types.ModuleType("IPython.display")
    fake.display = display  # type: ignore[attr-defined]
    fake.HTML = HTML  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython.display", fake)
    with progress_bar(3, "runs", notebook=True) as bar:
        bar(1)
        bar(3)
    kinds = [k for k, _ in shown]
    assert kinds[0] == "display" and set(kinds[1:]) == {"update"}
    assert "<progress" in str(shown[-1][1]) and "3/3" in str(shown[-1][1])
