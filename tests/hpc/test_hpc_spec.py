"""The hpc: section: bounds and cross-field checks with messages that say what to fix."""

from __future__ import annotations

import pytest
from hpc_helpers import project, spec
from pydantic import ValidationError

from hashfleet.scenario.hpc import HpcSpec, check_against_sites


def test_rent_in_either_unit() -> None:
    a = spec(lease={"rent_usd_per_mw_year": 1_800_000.0, "term_months": 120})
    b = spec(lease={"rent_usd_per_kw_month": 150.0, "term_months": 120})
    assert a.lease.base_rent_usd_per_kw_month == b.lease.base_rent_usd_per_kw_month == 150.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"projects": [project(it_ratio=0.0)]}, "it_ratio"),
        ({"projects": [project(it_ratio=1.2)]}, "it_ratio"),
        ({"projects": [project(total_gross_mw=60.0)]}, "summing to total_gross_mw = 60"),
        ({"projects": [project(capex_tranches=[(0.5, 0.0), (0.4, 1.0)])]}, "summing to 1"),
        ({"projects": [project(capex_tranches=[(1.0, 1.5)])]}, "share of build time"),
        ({"projects": [project(), project()]}, "duplicates ['p0']"),
        ({"projects": [project(start_date=None)]}, "needs a start_date"),
        ({"projects": [project(delay_days={"kind": "uniform", "low": 5, "high": 1})]}, "≥ low"),
        (
            {
                "lease": {
                    "rent_usd_per_kw_month": 1.0,
                    "rent_usd_per_mw_year": 1.0,
                    "term_months": 1,
                }
            },
            "exactly one of",
        ),
        (
            {"lease": {"rent_usd_per_kw_month": 1.0, "term_months": 2, "ramp_shares": [0.1] * 3}},
            "at most",
        ),
        ({"policy": {"kind": "custom"}}, "target"),
        ({"surprise": 1}, "Extra inputs"),
    ],
)
def test_rejects_bad_input(change: dict, message: str) -> None:
    data = {
        "projects": [project()],
        "lease": {"rent_usd_per_mw_year": 1_800_000.0, "term_months": 120},
    } | change
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        HpcSpec.model_validate(data)


def test_phases_sum_to_project_mw() -> None:
    p = project(phases=[{"gross_mw": 30, "build_days": 10}, {"gross_mw": 20, "build_days": 10}])
    s = spec([p | {"total_gross_mw": 50.0}])
    assert s.projects[0].gross_mw == 50.0
    assert s.projects[0].it_mw == pytest.approx(40.0)


def test_sites_checked() -> None:
    s = spec([project(phases=[{"gross_mw": 150.0, "build_days": 10}])])
    check_against_sites(s, ["S"], [200.0])
    with pytest.raises(ValueError, match="unknown site 'S'"):
        check_against_sites(s, ["X"], [200.0])
    with pytest.raises(ValueError, match="take 150 MW, more than its capacity_mw = 100"):
        check_against_sites(s, ["S"], [100.0])
