"""The ai-pivot scenario and its downside variants (``scenarios/ai-pivot*.yaml``): they load,
their ``hpc`` sections fit the baseline's sites, and each runs; the stresses move the numbers
the way they should."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hpc_helpers import BASELINE, run_engine

from hashfleet.hpc.component import hpc_run_of
from hashfleet.scenario import load_scenario
from hashfleet.scenario.hpc import HpcSpec, check_against_sites

DATA = Path(__file__).resolve().parents[2] / "scenarios"
VARIANTS = sorted(p.stem for p in DATA.glob("ai-pivot*.yaml"))


def hpc_section(name: str) -> HpcSpec:
    """The ``hpc`` section of ``scenarios/<name>.yaml`` as the loader resolves it."""
    spec = load_scenario(DATA / f"{name}.yaml").hpc
    assert spec is not None
    return spec


def test_all_variants_present() -> None:
    assert VARIANTS == [
        "ai-pivot",
        "ai-pivot-default-y3",
        "ai-pivot-default-y3-no-backstop",
        "ai-pivot-delay-12m",
        "ai-pivot-overrun-30",
    ]


@pytest.mark.parametrize("name", VARIANTS)
def test_hpc_section_validates(name: str) -> None:
    spec = HpcSpec.model_validate(hpc_section(name))
    sites = load_scenario(BASELINE).fleet.sites
    check_against_sites(spec, [s.name for s in sites], [s.capacity_mw for s in sites])
    assert spec.projects[0].it_mw == pytest.approx(144.0)


def _run(name: str, days: int) -> tuple[dict[str, np.ndarray], Any]:
    keep = ("capex_hpc_usd", "hpc_rent_usd", "hpc_backstop_usd", "hpc_leased_mw")
    out, (e,) = run_engine(HpcSpec.model_validate(hpc_section(name)), horizon_days=days, keep=keep)
    return out, hpc_run_of(e)


def test_downside_variants_move_the_numbers() -> None:
    days = 1826  # the baseline's five years: every path's year-3 default is inside
    base, _ = _run("ai-pivot", days)
    over, _ = _run("ai-pivot-overrun-30", days)
    late, run_late = _run("ai-pivot-delay-12m", days)
    dflt, run_d = _run("ai-pivot-default-y3", days)
    nobs, _ = _run("ai-pivot-default-y3-no-backstop", days)
    capex = {k: v["capex_hpc_usd"].sum(axis=0) for k, v in (("b", base), ("o", over))}
    assert (capex["o"] > 1.18 * capex["b"]).all()  # 1.3 / (1 + U(0, 0.1)) ≥ 1.18
    assert np.allclose(capex["o"], 144 * 9.5e6 * 1.3)
    live = run_late.state.live[:, 0] - run_late.state.start_day[:, 0]
    assert (live == 300 + 365).all()
    assert (run_late.state.live[:, 1] - run_late.state.start_day[:, 0] == 120 + 365 + 360).all()
    assert late["hpc_rent_usd"].sum() < base["hpc_rent_usd"].sum()
    assert (dflt["hpc_backstop_usd"].sum(axis=0) > 0).all()
    assert nobs["hpc_backstop_usd"].sum() == 0
    assert (dflt["hpc_rent_usd"] == nobs["hpc_rent_usd"]).all()
    ev = run_d.events()
    assert (np.asarray(ev["kind"]) == "default").sum() == 250
