"""Regression corpus: inputs that once crashed the loader or ``validate`` (issue 19's probes
and minimised fuzz failures, ``tests/scenario/corpus/*.yaml``) are now located issues."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from hashfleet.scenario.files import ENV_ALLOW_PATH

CORPUS = Path(__file__).parent / "corpus"
FUZZ = Path(__file__).resolve().parents[1] / "fuzz" / "scenario_fuzz.py"


def _fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scenario_fuzz_corpus", FUZZ)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case", sorted(CORPUS.glob("*.yaml")), ids=lambda p: p.stem)
def test_corpus_input_is_rejected_cleanly(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_ALLOW_PATH, raising=False)
    target = tmp_path / case.name
    shutil.copy(case, target)
    outcome, detail = _fuzz().classify(target)
    assert outcome == "rejected", detail


def test_the_corpus_is_not_empty() -> None:
    assert len(list(CORPUS.glob("*.yaml"))) >= 10
