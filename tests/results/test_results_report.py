"""The HTML report, figures, tables, Results.load and the notebook views."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner
from results_helpers import ROOT, SMALL_SET

from hashfleet.cli import cli
from hashfleet.results import Results
from hashfleet.results.comparison import Comparison
from hashfleet.results.plots import fan_variables
from hashfleet.results.report import report, write_comparison_report, write_report
from hashfleet.results.tables import save_comparison, write_tables


def _assert_self_contained(text: str) -> None:
    """No external resource of any kind: every src is a data: URI, no link/import/url()."""
    assert not re.search(r"https?://|//cdn|<link\b|@import|url\(", text)
    for src in re.findall(r"\bsrc=['\"]([^'\"]*)", text):
        assert src.startswith("data:image/png;base64,")
    assert "<script src" not in text


def test_report_is_self_contained_with_every_chart_as_png_and_svg(
    small_run: tuple[Results, Path], tmp_path: Path
) -> None:
    res, _ = small_run
    page = write_report(res, tmp_path)
    text = page.read_text(encoding="utf-8")
    _assert_self_contained(text)
    names = re.findall(r"data-name='([^']+)'", text)
    expected = {f"fan_{v}" for v in fan_variables(res.daily)} | {"distributions", "events"}
    assert set(names) == expected and len(names) == len(expected)
    assert {"fan_cash_usd", "fan_hashprice_usd_per_ph_day", "fan_btc_price_usd"} <= expected
    for name in names:
        png = (tmp_path / "figures" / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
        svg = (tmp_path / "figures" / f"{name}.svg").read_text(encoding="utf-8")
        assert "<svg" in svg and len(svg) > 5000
    # the decision table, the metadata and the resolved scenario are in the page
    for needle in (
        "P(cash &lt; 0 at any time)",
        "P(NPV &lt; 0)",
        "CVaR 95% of NPV",
        "Resolved scenario",
        "scenario_hash",
        str(res.metadata["seed"]),
    ):
        assert needle in text


def test_save_load_round_trip_and_strict_summary_json(
    small_run: tuple[Results, Path],
) -> None:
    res, out = small_run
    doc = json.loads(
        (out / "summary.json").read_text(),
        parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"),
    )
    stats = {r["statistic"]: r for r in doc["decision"]}
    assert stats["P(cash < 0 at any time)"]["method"] == "Wilson"
    back = Results.load(out)
    xr.testing.assert_identical(back.daily.drop_attrs(deep=False), res.daily.drop_attrs(deep=False))
    xr.testing.assert_equal(back.per_path, res.per_path)
    assert back.paths is not None and res.paths is not None
    np.testing.assert_array_equal(back.paths["cash_usd"].values, res.paths["cash_usd"].values)
    pd.testing.assert_frame_equal(back.retargets, res.retargets, check_dtype=False)
    assert back.metadata["seed"] == res.metadata["seed"]
    pd.testing.assert_frame_equal(back.summary(), res.summary())
    assert back.summary["per_path"] == doc["per_path"]


def test_tables_csv_and_parquet(small_run: tuple[Results, Path], tmp_path: Path) -> None:
    res, _ = small_run
    files = write_tables(res, tmp_path)
    assert {f.name for f in files} == {
        f"{t}.{x}"
        for t in ("per_path", "daily", "retargets", "halvings")
        for x in ("csv", "parquet")
    }
    daily = pd.read_parquet(tmp_path / "daily.parquet")
    n_vars = sum("quantile" in res.daily[v].dims for v in res.daily.data_vars)
    assert len(daily) == n_vars * res.daily.sizes["day"]
    cash = daily[daily["variable"] == "cash_usd"]
    np.testing.assert_array_equal(cash["q0.5"], res.daily["cash_usd"].sel(quantile=0.5).values)
    per_path = pd.read_csv(tmp_path / "per_path.csv")
    np.testing.assert_allclose(per_path["final_cash_usd"], res.per_path["final_cash_usd"].values)


def test_notebook_views_are_short(small_run: tuple[Results, Path]) -> None:
    res, _ = small_run
    assert len(repr(res)) < 200 and "40 paths" in repr(res)
    page = res._repr_html_()
    assert len(page) < 3000 and "P(cash &lt; 0 at any time)" in page
    fig = res.plot.fan(["cash_usd", "btc_price_usd"])
    assert len(fig.axes) == 2 and fig.axes[0].get_title().startswith("Cash")
    with pytest.raises(ValueError, match="nope"):
        res.plot.fan("nope")


def test_cli_report_and_no_report(tmp_path: Path) -> None:
    scen = str(ROOT / "scenarios/baseline.yaml")
    args = ["run", scen, "--paths", "3", "--set", "run.horizon_days=40"]
    quiet = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "a"), "--no-report"])
    assert quiet.exit_code == 0, quiet.output
    assert not (tmp_path / "a" / "report.html").exists()
    made = CliRunner().invoke(cli, ["report", str(tmp_path / "a")])
    assert made.exit_code == 0, made.output
    _assert_self_contained((tmp_path / "a" / "report.html").read_text(encoding="utf-8"))
    full = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "b")])
    assert full.exit_code == 0, full.output
    assert (tmp_path / "b" / "report.html").is_file()
    assert (tmp_path / "b" / "tables" / "per_path.parquet").is_file()
    bad = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert bad.exit_code != 0 and "RESULTS_DIR" in bad.output


def test_comparison_report_round_trip(tmp_path: Path) -> None:
    from hashfleet.studies.compare import compare

    cmp = compare(
        ROOT / "scenarios/strategies-baseline.yaml",
        paths=6,
        strategies=["hold", "refresh-frontier"],
        set_args=SMALL_SET[:3],
        store_paths=True,
    )
    assert "min_cash_usd" in cmp.per_path["hold"] and len(repr(cmp)) < 300
    assert len(cmp._repr_html_()) < 4000
    save_comparison(cmp, tmp_path)
    back = Comparison.load(tmp_path)
    assert back.strategies == cmp.strategies
    pd.testing.assert_frame_equal(
        back.per_path["refresh-frontier"], cmp.per_path["refresh-frontier"], check_dtype=False
    )
    pd.testing.assert_frame_equal(back.paired, cmp.paired, check_dtype=False)
    assert list(back.daily) == cmp.strategies
    xr.testing.assert_allclose(back.daily["hold"], cmp.daily["hold"])
    page = report(tmp_path)
    text = page.read_text(encoding="utf-8")
    _assert_self_contained(text)
    assert "paired_differences" in text and "P(cash &lt; 0 at any time)" in text
    assert "data-name='strategy_fans'" in text  # per-strategy fan charts
    assert (tmp_path / "figures" / "paired_differences.svg").is_file()
    assert write_comparison_report(back, tmp_path / "again").is_file()
    assert len(cmp.plot().axes) >= len(cmp.metrics)
