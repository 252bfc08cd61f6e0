"""Probes of a received scenario (issue 19): files it names, code it names, what messages
quote.  Every test plants a file whose content must never appear in a message."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from hashfleet.cli import cli
from hashfleet.errors import HashfleetError, InputError, ScenarioError
from hashfleet.scenario import load_scenario
from hashfleet.scenario.files import ENV_ALLOW_PATH
from hashfleet.scenario.trust import ENV_ALLOW_CODE, allow_code, target_problem

#: valid_minimal.yaml takes its start price from the price history (CC BY-NC, opt-in), and
#: validate now compiles the scenario.
pytestmark = pytest.mark.usefixtures("non_commercial_data")

SECRET = "hunter2-secret-value"
VALID = Path(__file__).parent / "data" / "valid_minimal.yaml"


@pytest.fixture(autouse=True)
def _nothing_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """No folder or code allowed beyond the scenario's own folder (clears the suite's
    default allowance of the shipped folders)."""
    monkeypatch.delenv(ENV_ALLOW_PATH, raising=False)
    monkeypatch.delenv(ENV_ALLOW_CODE, raising=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A received scenario folder: the minimal scenario, a planted secret inside, another
    outside, a FIFO inside."""
    inside = tmp_path / "received"
    inside.mkdir()
    (inside / "scenario.yaml").write_text(VALID.read_text(encoding="utf-8"), encoding="utf-8")
    (inside / "secret.env").write_text(f"TOKEN={SECRET}\nPASSWORD={SECRET}\n", "utf-8")
    (tmp_path / "outside.env").write_text(f"date,price_usd\n{SECRET},{SECRET}\n", "utf-8")
    if hasattr(os, "mkfifo"):
        os.mkfifo(inside / "fifo")
    return inside


def _with(folder: Path, extra: str, name: str = "x.yaml") -> Path:
    f = folder / name
    f.write_text((folder / "scenario.yaml").read_text(encoding="utf-8") + extra, "utf-8")
    return f


def _error(f: Path, **kw: object) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(f, **kw)  # type: ignore[arg-type]
    text = str(info.value)
    assert SECRET not in text
    for issue in info.value.issues:
        assert issue.location.line is not None, issue
    return text


# --------------------------------------------------------------------------- file content


@pytest.mark.parametrize(
    "extra",
    [
        "market:\n  btc_price: {model: csv, path: secret.env}\n",
        "  hashrate: {model: csv, path: secret.env, column: TOKEN}\n",
    ],
)
def test_csv_errors_never_quote_the_file(folder: Path, extra: str) -> None:
    if extra.startswith("  hashrate"):
        f = folder / "h.yaml"
        text = VALID.read_text(encoding="utf-8")
        f.write_text(text.replace("network:\n", "network:\n" + extra, 1), "utf-8")
    else:
        f = _with(folder, extra)
    from hashfleet.model import compile_scenario

    sc = load_scenario(f)  # inside the folder: allowed; read when the run compiles
    with pytest.raises(HashfleetError) as info:
        compile_scenario(sc)
    assert SECRET not in str(info.value) and "secret.env" in str(info.value)


def _catalogue(folder: Path, name: str) -> Path:
    f = folder / "cat.yaml"
    text = VALID.read_text(encoding="utf-8")
    f.write_text(text.replace("fleet:\n", f"fleet:\n  catalogue: {name}\n", 1), "utf-8")
    return f


def test_catalogue_and_extends_errors_never_quote_the_file(folder: Path) -> None:
    assert "fleet.catalogue" in _error(_catalogue(folder, "secret.env"))
    ext = folder / "ext.yaml"
    ext.write_text("extends: secret.env\nname: e\n", "utf-8")
    assert "expected a mapping" in _error(ext)


# --------------------------------------------------------------------------- where


def test_files_outside_the_folder_need_an_explicit_allowance(folder: Path) -> None:
    f = _with(folder, "market:\n  btc_price: {model: csv, path: ../outside.env}\n")
    assert "outside the scenario's folder" in _error(f)
    ext = folder / "ext.yaml"
    ext.write_text("extends: ../outside.env\n", "utf-8")
    assert "outside the scenario's folder" in _error(ext)
    # allowed explicitly, it is read, and its content still never quoted
    sc = load_scenario(f, allow_paths=[folder.parent])
    assert sc.market.btc_price.path == str(folder.parent / "outside.env")  # type: ignore[union-attr]


def test_a_symlink_out_of_the_folder_is_outside(folder: Path) -> None:
    (folder / "link.csv").symlink_to(folder.parent / "outside.env")
    f = _with(folder, "market:\n  btc_price: {model: csv, path: link.csv}\n")
    assert "outside the scenario's folder" in _error(f)


def test_absolute_paths_and_strategy_and_sweep_values_are_checked(folder: Path) -> None:
    assert "outside" in _error(_catalogue(folder, "/etc/passwd"))
    s = _with(
        folder,
        "strategies:\n  - name: a\n  - name: b\n    set: {fleet.catalogue: /etc/passwd}\n",
        "s.yaml",
    )
    text = _error(s)
    assert "strategies[1].set.fleet.catalogue" in text and "outside" in text
    w = _with(folder, "sweep:\n  grid: {market.btc_price: [{model: csv, path: /etc/hosts}]}\n")
    assert "outside" in _error(w)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("name", ["fifo", "/dev/zero"])
@pytest.mark.parametrize("how", ["extends", "catalogue"])
def test_devices_and_fifos_are_refused_at_once(folder: Path, name: str, how: str) -> None:
    if how == "extends":
        f = folder / "dev.yaml"
        f.write_text(f"extends: {name}\n" + VALID.read_text(encoding="utf-8"), "utf-8")
    else:
        f = _catalogue(folder, name)
    t0 = time.perf_counter()
    text = _error(f, allow_paths=[folder, Path(name).parent])  # allowed, still refused
    assert time.perf_counter() - t0 < 1.0
    assert "expected a regular file" in text, text


def test_the_cli_flag_allows_a_folder(folder: Path) -> None:
    f = _with(folder, "extends: ../outside_base.yaml\n")
    (folder.parent / "outside_base.yaml").write_text("description: from outside\n", "utf-8")
    r = CliRunner().invoke(cli, ["validate", str(f)])
    assert r.exit_code == 2 and "outside the scenario's folder" in r.stderr
    r = CliRunner().invoke(cli, ["validate", str(f), "--allow-path", str(folder.parent)])
    assert r.exit_code == 0, r.stderr
    assert ENV_ALLOW_PATH not in os.environ  # the allowance lasted for that command only


# --------------------------------------------------------------------------- code


@pytest.fixture
def evil(folder: Path) -> Path:
    """A module next to the scenario that leaves a marker when imported."""
    marker = folder / "IMPORTED"
    (folder / "evil_policy.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "class Policy:\n"
        "    def __init__(self, **kw): pass\n"
        "    def schedule(self, n_days): return []\n"
        "    def review(self, engine, day): pass\n",
        "utf-8",
    )
    return marker


def test_no_code_runs_without_the_flag(folder: Path, evil: Path, monkeypatch) -> None:
    f = _with(folder, "policies:\n  custom: [{target: 'evil_policy:Policy'}]\n")
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))  # as `python -m hashfleet` run from there
    text = _error(f)
    assert "not allowed to run" in text and "--allow-code" in text
    for target in ("subprocess:run", "os:system"):
        assert target_problem(target) is not None
    from hashfleet.policies import load_custom
    from hashfleet.scenario.schema import CustomPolicySpec

    with pytest.raises(InputError, match="not allowed to run"):
        load_custom(CustomPolicySpec(target="evil_policy:Policy"), "policies.custom[0]")
    r = CliRunner().invoke(cli, ["validate", str(f)])
    assert r.exit_code == 2
    assert not evil.exists()


def test_code_runs_with_the_flag(folder: Path, evil: Path) -> None:
    f = _with(folder, "policies:\n  custom: [{target: 'evil_policy:Policy'}]\n")
    r = CliRunner().invoke(
        cli, ["validate", str(f), "--allow-code", str(folder / "evil_policy.py")]
    )
    assert r.exit_code == 0, r.stderr
    assert evil.exists()  # allowed: validate compiles the policy as run would
    evil.unlink()
    sys.modules.pop("evil_policy", None)
    with allow_code(folder / "evil_policy.py"):
        from hashfleet.model import compile_scenario

        compile_scenario(load_scenario(f))
    assert evil.exists()
    sys.modules.pop("evil_policy", None)


# --------------------------------------------------------------------------- the loader


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("description: !!timestamp hello", "description", "expected a valid date"),
        ("description: !!bool maybe", "description", "expected true or false"),
        ("description: !!int 0xZZ", "description", "expected an integer"),
        ('description: "a\\0b"', "description", "control character U+0000"),
        ('description: "\\ud800"', "description", "surrogate U+D800"),
        ("description: " + "x" * 20_000, "description", "at most 10,000 characters"),
    ],
)
def test_odd_scalars_are_located_issues(folder: Path, line: str, field: str, words: str) -> None:
    f = _with(folder, line + "\n")
    text = _error(f)
    assert f"{field}: " in text and words in text
    assert len(text) < 600


def test_messages_are_bounded(folder: Path) -> None:
    many = "".join(f"unknown_{i}_{'k' * 150}: {'v' * 5000}\n" for i in range(80))
    text = _error(_with(folder, many))
    assert len(text) < 50 * 500 + 100 and "more issues" in text
    assert all(len(line) <= 500 for line in text.splitlines())


def test_cross_field_checks_run_beside_schema_errors(folder: Path) -> None:
    text = (folder / "scenario.yaml").read_text(encoding="utf-8")
    f = folder / "two.yaml"
    f.write_text(text.replace("site: TX1", "site: TX9").replace("paths: 10", "paths: 0"), "utf-8")
    msg = _error(f)
    assert "run.paths" in msg and "unknown site 'TX9'" in msg


@pytest.mark.parametrize(
    "command", [["run"], ["compare"], ["sweep"], ["stress"], ["validate"], ["scenario", "show"]]
)
def test_every_command_reading_a_scenario_takes_the_flags(command: list[str]) -> None:
    r = CliRunner().invoke(cli, [*command, "--help"])
    assert r.exit_code == 0
    assert "--allow-path" in r.stdout and "--allow-code" in r.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--paths", "10000001"], "--paths"),
        (["--seed", str(2**64 - 1)], "--seed"),
    ],
)
def test_out_of_range_run_options_exit_2(args: list[str], words: str) -> None:
    r = CliRunner().invoke(cli, ["run", str(VALID), *args])
    assert r.exit_code == 2 and words in r.stderr and "InternalError" not in r.stderr


def test_a_strategy_or_sweep_cannot_extend(folder: Path) -> None:
    s = _with(folder, "strategies:\n  - name: a\n  - {name: b, set: {extends: secret.env}}\n")
    assert "cannot set 'extends'" in _error(s)
    w = _with(folder, "sweep:\n  grid: {extends: [secret.env]}\n", "w.yaml")
    assert "cannot sweep extends" in _error(w)
