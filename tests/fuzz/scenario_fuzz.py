"""Fuzzing the scenario loader and ``validate``: mutated scenario files, classified.

Seeds are the shipped scenarios (``scenarios/*.yaml``) and the minimal test scenario.  A
mutation is drawn through a :class:`Chooser`, backed either by ``random.Random`` (the fast
command-line loop) or by Hypothesis' ``data.draw`` (the test suite: failures shrink):
deleted, renamed and duplicated keys, swapped types, extreme numbers, YAML tags, anchors
and aliases, merge keys, unicode, NUL and control bytes, invalid UTF-8, truncation,
strategies and sweeps over real and made-up fields, and file paths to planted files
(a ``secret.env``, a FIFO, ``/dev/zero``, ``../`` outside the folder).

Every input goes through :func:`hashfleet.studies.validate.validate_file` (the loader, then
every strategy and sweep point, compiled).  The outcome is

* ``loaded`` -- valid;
* ``rejected`` -- a :class:`~hashfleet.errors.ScenarioError` (exit 2) whose every issue line
  has ``file:line:col``, at most 500 characters, no planted secret;
* ``crash`` -- anything else (another exception, a message without a position, too long,
  or quoting another file).

Run it::

    PYTHONPATH=src python tests/fuzz/scenario_fuzz.py --n 100000 --seed 1
    PYTHONPATH=src python tests/fuzz/scenario_fuzz.py --n 2000 --run-sample 300

``--run-sample K`` also runs K accepted inputs through ``hashfleet.simulate`` (1 path, at
most 5 days; every strategy and up to 3 sweep points) and counts those ``run`` rejects.
Crashes are minimised (line by line) and written to ``tests/scenario/corpus/`` with
``--save``; ``tests/scenario/test_scenario_corpus.py`` replays that folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import yaml

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hunter2-do-not-print"
_CLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the mutator only
_CDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOCATED = re.compile(r"^[^\n]*?:\d+:\d+: ")


class Chooser(Protocol):
    """Where a mutation's choices come from."""

    def integer(self, lo: int, hi: int) -> int: ...


class RandomChooser:
    """Choices from ``random.Random``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawChooser:
    """Choices from Hypothesis (``st.data()``), so failures shrink."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def integer(self, lo: int, hi: int) -> int:
        return int(self.data.draw(self.st.integers(lo, hi)))


def pick(c: Chooser, seq: Sequence[Any]) -> Any:
    return seq[c.integer(0, len(seq) - 1)]


# --------------------------------------------------------------------------- workspace


def seed_files() -> list[Path]:
    """The shipped scenarios and the minimal test scenario."""
    files = sorted((ROOT / "scenarios").glob("*.yaml"))
    return [*files, ROOT / "tests" / "scenario" / "data" / "valid_minimal.yaml"]


def make_workspace(folder: Path) -> Path:
    """A copy of the seeds' folders with planted files: a secret, a FIFO, a subfolder;
    and a file outside it (``../outside.csv``).  Returns the scenario folder."""
    work = folder / "work"
    shutil.copytree(ROOT / "scenarios", work)
    shutil.copy(ROOT / "tests" / "scenario" / "data" / "valid_minimal.yaml", work)
    (work / "secret.env").write_text(f"SECRET={SECRET}\nTOKEN={SECRET}\n", encoding="utf-8")
    (work / "sub").mkdir()
    (folder / "outside.csv").write_text(f"date,price_usd\n{SECRET},1\n", encoding="utf-8")
    if hasattr(os, "mkfifo"):
        os.mkfifo(work / "fifo")
    return work


# --------------------------------------------------------------------------- mutations

_NUMBERS: list[Any] = [
    0, -1, 1, 2, 7, 2**31, 2**31 - 1, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63), 10**30,
    10**400, 1e-320, 5e-324, 1e-6, 0.5, 1e20, 1e300, 1.8e308, -1e308, float("inf"),
    float("nan"), 10000001, 365, 40001,
]  # fmt: skip
_TEXT: list[Any] = [
    "", "abc", "0x10", "yes", "~", "null", "2025-13-45", "2025-01-01", "1e400", "-.inf",
    "\u202eevil", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "a" * 20_000, "a\x00b", "\ud800", "../x", "name with spaces",
    "frontier", "stock", "best",
]  # fmt: skip
_PATHS = [
    "secret.env", "fifo", "/dev/zero", "/etc/passwd", "../outside.csv", "sub", "sub/../secret.env",
    "builtin:btc_daily", "builtin:nope", "nope.csv", "~/x.csv", "baseline.yaml",
]  # fmt: skip
_TAGS = [
    "!!timestamp", "!!bool", "!!int", "!!float", "!!null", "!!str", "!!binary", "!!set",
    "!!omap", "!!python/object:os.system", "!!python/name:os.system", "!custom", "!!map", "!!seq",
]  # fmt: skip
_FIELDS = [
    "run.paths", "run.seed", "run.horizon_days", "run.start", "market.btc_price.model",
    "market.btc_price.path", "fleet.catalogue", "fleet.cohorts[0].units",
    "fleet.sites[0].capacity_mw",
    "fleet.sites[0].spot.intraday_sigma", "network.hashrate.start_ehs",
    "network.hashrate.growth_per_year", "network.start.height",
    "asic_market.frontier.interval_months",
    "asic_market.payback_days", "company.starting_cash_usd", "policies.upgrade.kind",
    "policies.custom", "no.such.field", "fleet.cohorts[9].units", "sweep", "name", "extends",
    "hpc.projects[0].phases[0].gross_mw", "capital.treasury.custom",
]  # fmt: skip


def random_value(c: Chooser, depth: int = 0) -> Any:
    k = c.integer(0, 9)
    if k <= 3:
        return pick(c, _NUMBERS)
    if k <= 5:
        return pick(c, _TEXT)
    if k == 6:
        return pick(c, _PATHS)
    if k == 7:
        return pick(c, [None, True, False, dt.date(2025, 1, 1), dt.date(1, 1, 1)])
    if depth > 1:
        return []
    if k == 8:
        return [random_value(c, depth + 1) for _ in range(c.integer(0, 3))]
    return {pick(c, ["a", "model", "kind", "name", "path"]): random_value(c, depth + 1)}


def _nodes(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _nodes(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _nodes(v, (*path, i))
    return out


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        data = data[k]
    return data


def mutate_data(c: Chooser, data: dict[str, Any]) -> dict[str, Any]:
    """One structural mutation of parsed YAML (in place; returned)."""
    nodes = [p for p in _nodes(data) if p]
    op = c.integer(0, 8)
    if not nodes:
        op = 6
    path = pick(c, nodes) if nodes else ()
    parent = _get(data, path[:-1]) if path else data
    key = path[-1] if path else None
    if op == 0 and isinstance(parent, dict):  # delete a key
        del parent[key]
    elif op == 1 and isinstance(parent, dict):  # rename a key
        value = parent.pop(key)
        name = str(key)
        new = pick(c, [name[:-1], name + "s", name.upper(), name.replace("_", "-"), "x" + name])
        parent[new or "x"] = value
    elif op in (2, 3):  # swap type / extreme value
        parent[key] = random_value(c) if op == 2 else pick(c, _NUMBERS)
    elif op == 4:  # a file path
        parent[key] = pick(c, _PATHS)
    elif op == 5 and isinstance(parent, list) and parent:  # duplicate or drop a list item
        if c.integer(0, 1):
            parent.append(parent[0])
        else:
            parent.pop()
    elif op == 6:  # a new key, sweep or strategies
        which = c.integer(0, 3)
        if which == 0:
            data["sweep"] = {
                pick(c, ["grid", "zip", "cartesian"]): {
                    pick(c, _FIELDS): [random_value(c) for _ in range(c.integer(0, 3))]
                    for _ in range(c.integer(1, 2))
                }
            }
        elif which == 1:
            data["strategies"] = [
                {"name": pick(c, ["a", "b", "a"]), "set": {pick(c, _FIELDS): random_value(c)}}
                for _ in range(c.integer(1, 3))
            ]
        elif which == 2:
            data.setdefault("policies", {})
            if isinstance(data["policies"], dict):
                target = pick(c, ["evil:Policy", "subprocess:run", "os:system", "hashfleet:x"])
                data["policies"]["custom"] = [{"target": target, "params": {"args": ["true"]}}]
        else:
            data[pick(c, ["extends", "fleet", "run", "zzz", "name"])] = random_value(c)
    else:  # extreme number anywhere
        parent[key] = pick(c, _NUMBERS)
    return data


def mutate_text(c: Chooser, text: str) -> str:
    """One textual mutation of YAML."""
    lines = text.splitlines()
    op = c.integer(0, 9)
    i = c.integer(0, max(len(lines) - 1, 0)) if lines else 0
    if op == 0:
        return text[: c.integer(0, len(text))]  # truncation
    if op == 1 and lines:
        del lines[i]
    elif op == 2 and lines:
        lines.insert(i, lines[i])  # duplicated key
    elif op == 3 and len(lines) > 1:
        j = c.integer(0, len(lines) - 1)
        lines[i], lines[j] = lines[j], lines[i]
    elif op == 4 and lines and ": " in lines[i]:
        a, _, b = lines[i].partition(": ")
        lines[i] = f"{a}: {pick(c, _TAGS)} {b}"
    elif op == 5 and lines and ": " in lines[i]:  # anchor and alias
        a, _, b = lines[i].partition(": ")
        lines[i] = f"{a}: &x {b}"
        j = c.integer(0, len(lines) - 1)
        if ": " in lines[j] and j != i:
            a2, _, _ = lines[j].partition(": ")
            lines[j] = f"{a2}: *x"
        else:
            lines.insert(j, pick(c, ["<<: *x", "zz: *x", "zz: *nope"]))
    elif op == 6 and lines:
        pos = c.integer(0, len(lines[i]))
        junk = pick(c, ["\x00", "\x07", "\ufeff", "\t", '"\\ud800"', "\u2028", "\x85", "{", "'"])
        lines[i] = lines[i][:pos] + junk + lines[i][pos:]
    elif op == 7 and lines:
        lines[i] = " " * c.integer(1, 5) + lines[i]
    elif op == 8:
        lines.append(
            f"{pick(c, ['a', 'run', 'name'])}: {pick(c, ['[', '{a: 1', '|', '>-', '&', '*', '?'])}"
        )
    else:
        return text + "\n" + "\n".join(lines[: c.integer(0, len(lines))])
    return "\n".join(lines) + "\n"


def mutated_scenario(c: Chooser, seeds: Sequence[Path]) -> bytes:
    """A mutated scenario file's bytes: 1-3 data and/or text mutations of a seed."""
    seed = pick(c, seeds)
    text = seed.read_text(encoding="utf-8")
    n = c.integer(1, 3)
    if c.integer(0, 2):  # structural first, then maybe textual
        data = yaml.load(text, Loader=_CLoader) or {}
        for _ in range(n):
            data = mutate_data(c, data)
        try:
            text = yaml.dump(
                data, Dumper=_CDumper, sort_keys=False, allow_unicode=c.integer(0, 1) == 1
            )
        except (yaml.YAMLError, ValueError, OverflowError):
            text = str(data)
    for _ in range(c.integer(0, n)):
        text = mutate_text(c, text)
    raw = text.encode("utf-8", errors="surrogatepass")
    if c.integer(0, 30) == 0:
        raw = raw[: c.integer(0, len(raw))] + bytes([c.integer(0x80, 0xFF)]) + raw[10:]
    return raw


# --------------------------------------------------------------------------- classify


def classify(path: Path, *, keep: Callable[[Any], None] | None = None) -> tuple[str, str]:
    """``(outcome, detail)`` of validating the scenario file at ``path``."""
    from hashfleet.errors import HashfleetError, ScenarioError
    from hashfleet.studies.validate import validate_file

    try:
        v = validate_file(path)
    except ScenarioError as e:
        text = str(e)
        lines = text.splitlines()
        if SECRET in text:
            return "crash", f"secret in message: {text[:300]}"
        for line in lines:
            if line.startswith("... and ") and line.endswith("more issues"):
                continue
            if not _LOCATED.match(line):
                return "crash", f"issue without line:col: {line[:300]}"
            if len(line) > 500:
                return "crash", f"issue line of {len(line)} characters"
        if e.exit_code != 2:
            return "crash", f"exit code {e.exit_code}"
        return "rejected", lines[0][:200] if lines else ""
    except HashfleetError as e:
        return "crash", f"unlocated {type(e).__name__}: {str(e)[:300]}"
    except Exception as e:
        tb = traceback.format_exc(limit=-3)
        return "crash", f"{type(e).__name__}: {str(e)[:200]}\n{tb}"
    if keep is not None:
        keep(v)
    return "loaded", ""


def run_accepted(path: Path) -> str | None:
    """Run an accepted file as run/compare/sweep would (1 path, <= 5 days); the problem, or
    None."""
    from hashfleet.runner import simulate
    from hashfleet.scenario import load_scenario
    from hashfleet.studies.compare import strategy_scenario
    from hashfleet.studies.sweep import expand_sweep

    try:
        sc = load_scenario(path)
        short = {"run": sc.run.model_copy(update={"horizon_days": min(sc.run.horizon_days, 5)})}
        variants = [sc] + [strategy_scenario(sc, s.name) for s in sc.strategies]
        if sc.sweep is not None:
            variants += [p.scenario for p in expand_sweep(path)[:3]]
        for v in variants:
            short = {"run": v.run.model_copy(update={"horizon_days": min(v.run.horizon_days, 5)})}
            simulate(v.model_copy(update=short), paths=1)
    except Exception as e:
        return f"{type(e).__name__}: {str(e)[:300]}"
    return None


def minimise(raw: bytes, folder: Path, detail: str) -> bytes:
    """Drop lines while the input still crashes the same way (first word of ``detail``)."""
    sig = detail.split(":")[0]
    lines = raw.split(b"\n")
    target = folder / "min.yaml"
    i = 0
    while i < len(lines) and len(lines) > 1:
        trial = lines[:i] + lines[i + 1 :]
        target.write_bytes(b"\n".join(trial))
        out, det = classify(target)
        if out == "crash" and det.split(":")[0] == sig:
            lines = trial
        else:
            i += 1
    return b"\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="inputs to try")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run-sample", type=int, default=0, help="accepted inputs to also run")
    ap.add_argument("--save", action="store_true", help="save minimised crashes to the corpus")
    ap.add_argument("--report-every", type=int, default=5000)
    args = ap.parse_args(argv)
    os.environ.pop("HASHFLEET_ALLOW_PATH", None)
    os.environ.pop("HASHFLEET_ALLOW_CODE", None)
    counts = {"loaded": 0, "rejected": 0, "crash": 0}
    crashes: dict[str, int] = {}
    run_problems: dict[str, int] = {}
    t0 = time.perf_counter()
    done = 0

    def stop(signum: int, frame: Any) -> None:  # a stopped run still reports its counts
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        done = _loop(args, counts, crashes, run_problems, t0)
    except KeyboardInterrupt:
        done = sum(counts.values())
        print("STOPPED", flush=True)
    run_tried, run_rejected = run_problems.pop("__tried__", 0), run_problems.pop("__rejected__", 0)
    _report(args, done, counts, crashes, run_tried, run_rejected, run_problems, t0)
    return 1 if counts["crash"] or run_rejected else 0


def _loop(
    args: argparse.Namespace,
    counts: dict[str, int],
    crashes: dict[str, int],
    run_problems: dict[str, int],
    t0: float,
) -> int:
    run_problems["__tried__"] = run_problems["__rejected__"] = 0
    with tempfile.TemporaryDirectory(prefix="hashfleet-fuzz-") as tmp:
        work = make_workspace(Path(tmp))
        seeds = [work / p.name for p in seed_files()]
        target = work / "fuzz.yaml"
        for i in range(args.n):
            raw = mutated_scenario(RandomChooser(args.seed * 1_000_003 + i), seeds)
            target.write_bytes(raw)
            outcome, detail = classify(target)
            counts[outcome] += 1
            if outcome == "crash":
                sig = detail.splitlines()[0][:120]
                crashes[sig] = crashes.get(sig, 0) + 1
                if crashes[sig] == 1:
                    print(f"CRASH #{i}: {detail}", flush=True)
                    if args.save:
                        small = minimise(raw, work, detail)
                        corpus = ROOT / "tests" / "scenario" / "corpus"
                        corpus.mkdir(parents=True, exist_ok=True)
                        (corpus / f"crash-{args.seed}-{i}.yaml").write_bytes(small)
            elif outcome == "loaded" and run_problems["__tried__"] < args.run_sample:
                run_problems["__tried__"] += 1
                problem = run_accepted(target)
                if problem is not None:
                    run_problems["__rejected__"] += 1
                    key = problem[:100]
                    run_problems[key] = run_problems.get(key, 0) + 1
                    if run_problems[key] == 1:
                        print(f"RUN REJECTS #{i}: {problem}", flush=True)
                        (Path(tmp).parent / f"hashfleet-runfail-{args.seed}-{i}.yaml").write_bytes(
                            raw
                        )
            if (i + 1) % args.report_every == 0:
                print(f"{i + 1} inputs {counts} {time.perf_counter() - t0:.0f} s", flush=True)
    return args.n


def _report(
    args: argparse.Namespace,
    done: int,
    counts: dict[str, int],
    crashes: dict[str, int],
    run_tried: int,
    run_rejected: int,
    run_problems: dict[str, int],
    t0: float,
) -> None:
    print(
        f"TOTAL {done} inputs: loaded {counts['loaded']}, rejected cleanly "
        f"{counts['rejected']}, crashes {counts['crash']} ({len(crashes)} kinds); "
        f"{time.perf_counter() - t0:.0f} s"
    )
    if args.run_sample:
        print(f"RUN: {run_tried} accepted inputs run, {run_rejected} rejected by run")
        for k, v in sorted(run_problems.items(), key=lambda kv: -kv[1]):
            print(f"  {v} x {k}")
    for k, v in sorted(crashes.items(), key=lambda kv: -kv[1]):
        print(f"  {v} x {k}")


if __name__ == "__main__":
    sys.exit(main())
