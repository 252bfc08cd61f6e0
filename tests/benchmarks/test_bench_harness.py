"""The benchmark harness computes and formats its figures (issue 6); no timing is asserted."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import configurations, run

WORKLOADS = configurations.WORKLOADS


def test_run_workload_reports_every_figure() -> None:
    row = run.run_workload("tiny")
    w = WORKLOADS["tiny"]
    assert row["paths"] == w.paths and row["days"] == w.days
    for key in ("wall_s", "path_days_per_s", "cohort_days_per_s", "peak_rss_mb", "load_1m"):
        assert row[key] > 0, key
    assert row["cohort_days_per_s"] == pytest.approx(
        w.paths * w.days * w.cohorts / row["wall_s"], rel=1e-2
    )
    assert row["blocks_per_path"] > 100 * w.days


def test_workloads_have_the_issue_sizes() -> None:
    s = WORKLOADS["standard"]
    assert (s.paths, s.days, s.cohorts) == (10_000, 3652, 40)
    assert (WORKLOADS["small"].paths, WORKLOADS["small"].cohorts) == (1_000, 10)
    assert WORKLOADS["long"].days == round(30 * 365.25)
    assert s.scenario(features=False).fleet.cohorts[0].units == 2500


def _row(name: str, paths: int, days: int, cohorts: int, wall: float) -> dict:
    return {
        "workload": name,
        "kind": "engine",
        "paths": paths,
        "days": days,
        "cohorts": cohorts,
        "wall_s": wall,
        "path_days_per_s": paths * days / wall,
        "cohort_days_per_s": round(paths * days * cohorts / wall),
        "peak_rss_mb": 1.0,
        "retargets_per_path": 1.0,
        "halvings_per_path": 0.0,
        "blocks_per_path": 144.0,
        "load_1m": 0.5,
    }


def test_linearity_and_ratios() -> None:
    rows = {
        "scale-p1e3-c10": _row("scale-p1e3-c10", 1_000, 100, 10, 1.0),
        "scale-p1e4-c10": _row("scale-p1e4-c10", 10_000, 100, 10, 9.0),
        "scale-p1e5-c10": _row("scale-p1e5-c10", 100_000, 100, 10, 110.0),
        "scale-p1e4-c40": _row("scale-p1e4-c40", 10_000, 100, 40, 18.0),
        "scale-p1e4-c160": _row("scale-p1e4-c160", 10_000, 100, 160, 45.0),
        "standard": _row("standard", 10, 10, 40, 1.0),
        "peer-block": _row("peer-block", 1, 10, 40, 50.0),
    }
    lin = run.linearity(rows)
    assert lin["paths"]["ratio_per_path_day"] == 1.1
    assert lin["cohorts"]["ratio_per_path_day"] == 5.0
    assert lin["cohorts"]["ratio_per_cohort_day"] == 0.312
    assert run.ratios(rows)["per_block"] == 500.0
    record = {
        "machine": {
            "date_utc": "d",
            "hashfleet": "0",
            "commit": "c",
            "python": "3",
            "numpy": "2",
            "scipy": "1",
            "simpy": "4",
            "cores": 2,
            "cpu": "x",
            "load_avg_start": [0.1],
        },
        "rows": list(rows.values()),
        "linearity": lin,
        "ratio_engine_over_peer": run.ratios(rows),
        "numpy_fma_updates_per_s": 1_000_000,
        "engine_share_of_fma": 0.02,
    }
    md = run.markdown(record)
    assert "500.0× path-days/s" in md and "2.00% of it" in md and "| scale-p1e5-c10 |" in md


def test_fma_throughput_is_positive() -> None:
    assert run.fma_throughput(100, 4, repeat=3) > 0


def test_stages_time_every_step() -> None:
    """``benchmarks.stages`` times each daily step of the engine (names of the engine's
    stages, sums within the wall time)."""
    from benchmarks import stages

    rec = stages.measure("tiny")
    steps = rec["steps_s"]
    assert isinstance(steps, dict)
    for name in ("market", "dispatch", "network", "production", "settle", "record"):
        assert steps[name] > 0, name
    assert sum(steps.values()) <= rec["wall_s"]  # type: ignore[operator]
    md = stages.markdown(rec)
    assert "| dispatch |" in md and "(outside the daily steps)" in md


def test_report_tables_peer_error_and_steps_before_after() -> None:
    """``--report`` pieces: the per-day peer's bias from the equivalence figures, and the
    cost of each step before/after (a real stages record, as both)."""
    eq = {
        "per_day": {
            "final_difficulty": {"engine_mean": 100.0, "peer_mean": 101.0, "z": -2.0},
            "total_blocks": {"engine_mean": 50.0, "peer_mean": 50.0, "z": 0.0},
        }
    }
    err = run.peer_errors(eq)["per_day"]
    assert err["final_difficulty_rel"] == pytest.approx(0.01)
    assert err["final_difficulty_rel_se"] == pytest.approx(0.005)  # |diff/z| / engine
    from benchmarks import stages

    rec = stages.measure("tiny")  # what run_stages reads back from a stages run
    assert "dispatch" in rec["steps_s"]  # type: ignore[operator]
    record = {
        "rows": [{"workload": "peer-day", "path_days_per_s": 1000.0, "path_days_per_cpu_s": 900.0}],
        "ratio_engine_over_peer": {"per_day_cpu": 12.5},
        "peer_error": {"per_day": err},
        "stages": {"tiny": {"before": rec, "after": rec}},
    }
    md = run.report_markdown(record)
    assert "| per_day | 1,000 | 900 | 12.5× | +1.00e-02 ± 5.0e-03 |" in md
    assert "| dispatch |" in md and "| total |" in md and " 1.00 |" in md
