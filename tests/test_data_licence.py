"""Every default runs on licence-clean data; the CC BY-NC price history is opt-in and its
licence is shown when it is used (hashfleet.history.licence)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from builders import base_doc, build
from hashfleet import history
from hashfleet.cli import cli
from hashfleet.errors import DataError
from hashfleet.history import licence
from hashfleet.runner import simulate

ROOT = Path(__file__).parents[1]
DAY = dt.date(2024, 4, 20)


@pytest.fixture(autouse=True)
def _default_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(licence.ENV_VAR, raising=False)
    licence._notice.cache_clear()


def test_price_history_is_refused_by_default_with_licence_and_flag() -> None:
    with pytest.raises(DataError) as info:
        history.price_on(DAY)
    message = str(info.value)
    assert "CC BY-NC 4.0" in message and "--non-commercial-data" in message
    assert licence.ENV_VAR in message
    with pytest.raises(DataError, match="price_usd"):
        history.read_daily_series(history.BUILTIN_DAILY, "date", "price_usd", DAY, 3)


def test_on_chain_facts_are_read_freely() -> None:
    diff = history.read_daily_series(history.BUILTIN_DAILY, "date", "difficulty", DAY, 3)
    assert (diff > 0).all()
    daily = history.load_daily()
    assert daily["price_usd"].isna().all() and daily["miner_revenue_usd"].isna().all()
    assert daily["difficulty"].notna().sum() > 5000 and daily["blocks"].notna().sum() > 5000
    assert history.network_state_at(dt.date(2026, 1, 1)).height == 930_349


def test_a_price_model_without_start_price_says_what_to_give() -> None:
    doc = base_doc(horizon_days=5)
    doc["market"]["btc_price"].pop("start_usd")
    with pytest.raises(DataError, match=r"market\.btc_price\.start_usd"):
        simulate(build(doc))
    with pytest.raises(DataError, match="bootstrap"):
        simulate(build(doc, market__btc_price={"model": "bootstrap", "start_usd": 1e5}))


def test_opting_in_enables_the_data_and_logs_its_licence_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    licence.allow_non_commercial_data()
    try:
        with caplog.at_level("WARNING", logger="hashfleet.data"):
            assert history.price_on(DAY) == pytest.approx(64_994.44140625)
            history.price_on(DAY)
        notices = [r for r in caplog.records if "CC BY-NC 4.0" in r.getMessage()]
        assert len(notices) == 1 and "Coin Metrics" in notices[0].getMessage()
        assert np.isfinite(history.load_daily()["price_usd"]).sum() > 5000
    finally:
        licence.allow_non_commercial_data(False)
    assert not licence.non_commercial_allowed()


def test_cli_flag_and_licence_notice(tmp_path: Path) -> None:
    args = ["run", str(ROOT / "scenarios" / "stress-2022.yaml"), "--paths", "5", "--no-report"]
    args += ["--set", "run.horizon_days=3", "--no-progress", "--out", str(tmp_path / "r")]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2 and "DataError" in refused.output
    assert "CC BY-NC 4.0" in refused.output and "Traceback" not in refused.output
    try:
        ok = CliRunner().invoke(cli, ["--non-commercial-data", *args])
    finally:
        licence.allow_non_commercial_data(False)
    assert ok.exit_code == 0, ok.output
    assert "hashfleet: using the BTC price history" in ok.output
