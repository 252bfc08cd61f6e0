"""Sweeps: many scenarios from one file, run together on one backend, summarised in one table.

A scenario's ``sweep:`` section (:class:`~hashfleet.scenario.schema.SweepSpec`) lists, per
dotted field path, the values to try — either a cartesian ``grid`` or a ``zip`` of
equal-length lists.  :func:`expand_sweep` turns it into scenarios, each loaded from the file
with its values as overrides (so they are validated and located like ``--set``), named by a
**scenario id** ``<name>-<index>``, with the sweep section removed.  Every scenario keeps the
file's seed: the scenarios see the same random numbers (common random numbers), so their
differences are the parameters', not noise.

:func:`run_sweep` writes into ``out_dir``::

    sweep.parquet, sweep.csv            one row per scenario: id, status, parameters,
                                        run settings and per-path summary metrics
    scenarios/<id>/scenario.resolved.yaml
    scenarios/<id>/summary.json         written once the scenario is complete
    scenarios/<id>/blocks/              the block store while it runs (kept with keep_blocks)

The blocks of all scenarios go to the backend together, so a sweep of many small scenarios
still keeps every worker busy.  With ``resume``, complete scenarios are read back from their
``summary.json`` and unfinished ones continue from their finished blocks.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from hashfleet.engine.streams import STREAM_BLOCK_PATHS
from hashfleet.errors import HashfleetError, InputError
from hashfleet.results import write_atomic
from hashfleet.results.base import json_safe
from hashfleet.results.store import require
from hashfleet.runner.blocks import BlockOutcome
from hashfleet.scenario.schema import Scenario

if TYPE_CHECKING:
    from hashfleet.runner.backends import Backend
    from hashfleet.runner.jobs import Job

__all__ = ["SweepPoint", "SweepResult", "expand_sweep", "run_sweep"]

_LIST_HINT = (
    "each entry of the list is one scenario's value; to sweep a field whose value is itself "
    "a list, write a list of lists, e.g. [[0.05, 0.95], [0.1, 0.9]]"
)


@dataclass(frozen=True)
class SweepPoint:
    """One scenario of a sweep.

    Attributes
    ----------
    scenario_id : str
        ``<name>-<index>``, zero-padded; also the scenario's ``name``.
    params : dict
        Dotted path -> the value this scenario takes.
    scenario : Scenario
        Validated, ``sweep`` removed.
    """

    scenario_id: str
    params: dict[str, Any]
    scenario: Scenario


@dataclass
class SweepResult:
    """What :func:`run_sweep` returns.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per scenario (also written as ``sweep.parquet`` and ``sweep.csv``).
    failures : list of BlockOutcome
        Failed blocks (with ``keep_going``); their scenarios have status ``failed``.
    out_dir : pathlib.Path
    parameters : list of str
        The swept dotted paths (columns of ``table``).
    blocks_run : int
        Block tasks run (finished blocks of a resumed sweep are not counted).
    """

    table: pd.DataFrame
    failures: list[BlockOutcome] = field(default_factory=list)
    out_dir: Path = Path(".")
    parameters: list[str] = field(default_factory=list)
    blocks_run: int = 0


def expand_sweep(
    file: str | Path,
    *,
    set_args: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
    allow_paths: Sequence[str | os.PathLike[str]] = (),
) -> list[SweepPoint]:
    """The scenarios of the ``sweep:`` section of ``file``.

    Parameters
    ----------
    file : str or pathlib.Path
        A scenario file with a ``sweep:`` section.
    set_args, overrides
        As for :func:`hashfleet.scenario.load_scenario`; applied to every scenario (after
        the sweep's own values).
    allow_paths
        As for :func:`hashfleet.scenario.load_scenario`.

    Raises
    ------
    InputError
        No ``sweep:`` section; a list given for a scalar field or a scalar for a list field
        (write a list of lists); a scenario that does not validate (named by its id and
        parameters).
    """
    from hashfleet.scenario import load_scenario
    from hashfleet.scenario.compose import parse_field_path, value_at

    base = load_scenario(file, set_args=set_args, overrides=overrides, allow_paths=allow_paths)
    spec = base.sweep
    if spec is None:
        raise InputError(f"{file}: sweep: expected a sweep section with grid: or zip:, got none")
    kind = "grid" if spec.grid is not None else "zip"
    table = spec.grid if spec.grid is not None else spec.zip
    assert table is not None
    keys = list(table)
    data = base.model_dump(mode="json")
    for key in keys:
        try:
            current = value_at(data, parse_field_path(key))
        except ValueError as e:
            raise InputError(f"sweep.{kind}[{key!r}]: {e}") from None
        for value in table[key]:
            if isinstance(current, list) and not isinstance(value, list):
                raise InputError(
                    f"sweep.{kind}[{key!r}]: {key} is a list, got the single value "
                    f"{value!r}; {_LIST_HINT}"
                )
            if not isinstance(current, list | dict | None) and isinstance(value, list):
                raise InputError(
                    f"sweep.{kind}[{key!r}]: {key} is a single value, got the list {value!r} "
                    f"as one scenario's value; {_LIST_HINT}"
                )
    combos = (
        list(itertools.product(*(table[k] for k in keys)))
        if kind == "grid"
        else list(zip(*(table[k] for k in keys), strict=True))
    )
    width = max(3, len(str(len(combos) - 1)))
    points = []
    for i, combo in enumerate(combos):
        sid = f"{base.name}-{i:0{width}d}"
        params = dict(zip(keys, combo, strict=True))
        merged = dict(overrides or {}) | params
        try:
            sc = load_scenario(file, overrides=merged, set_args=set_args, allow_paths=allow_paths)
        except HashfleetError as e:
            raise InputError(f"sweep scenario {sid} ({_show(params)}): {e}") from None
        points.append(SweepPoint(sid, params, sc.model_copy(update={"name": sid, "sweep": None})))
    return points


def run_sweep(
    file: str | Path,
    out_dir: str | Path,
    *,
    backend: str = "in-process",
    workers: int | None = None,
    scheduler: str | None = None,
    block_paths: int | None = None,
    resume: bool = False,
    keep_going: bool = False,
    keep_blocks: bool = False,
    set_args: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
    on_block: Callable[[BlockOutcome], None] | None = None,
) -> SweepResult:
    """Run every scenario of a sweep and write the combined table.

    Parameters
    ----------
    file : str or pathlib.Path
        Scenario file with a ``sweep:`` section.
    out_dir : str or pathlib.Path
        Output directory (see the module docstring).
    backend, workers, scheduler, block_paths, keep_going, on_block
        As for :func:`hashfleet.simulate`.
    resume : bool
        Reuse complete scenarios and finished blocks from an earlier run into ``out_dir``.
    keep_blocks : bool
        Keep each scenario's block store (every path's daily values, Zarr) after it is
        summarised.
    set_args, overrides
        Applied to every scenario.

    Returns
    -------
    SweepResult

    Raises
    ------
    BlocksFailedError
        A block failed and ``keep_going`` is off.
    """
    from hashfleet.runner.backends import make_backend
    from hashfleet.runner.jobs import plan_job, run_jobs
    from hashfleet.scenario import dump_resolved, scenario_hash

    out = Path(out_dir)
    points = expand_sweep(file, set_args=set_args, overrides=overrides)
    be = make_backend(backend, workers=workers, scheduler=scheduler)
    _check_memory(points, block_paths, be.workers)
    (out / "scenarios").mkdir(parents=True, exist_ok=True)
    done: dict[str, dict[str, Any]] = {}
    jobs: list[Job] = []
    for p in points:
        folder = out / "scenarios" / p.scenario_id
        folder.mkdir(parents=True, exist_ok=True)
        with write_atomic(folder / "scenario.resolved.yaml") as tmp:
            tmp.write_text(dump_resolved(p.scenario), encoding="utf-8")
        summary_file = folder / "summary.json"
        if resume and summary_file.exists():
            summary = json.loads(summary_file.read_text(encoding="utf-8"))
            if summary["metadata"].get("scenario_hash") == scenario_hash(p.scenario):
                done[p.scenario_id] = summary
                continue
        summary_file.unlink(missing_ok=True)
        jobs.append(
            plan_job(
                p.scenario_id,
                p.scenario,
                folder / "blocks",
                block_paths=block_paths,
                resume=resume,
            )
        )
    with be:
        failures = run_jobs(jobs, be, keep_going=keep_going, on_block=on_block)
        failed = {o.task.scenario_id: o for o in failures}
        for job in jobs:
            if job.scenario_id not in failed:
                done[job.scenario_id] = _summarise(job, be, keep_blocks)
    rows = [_row(p, done.get(p.scenario_id), failed.get(p.scenario_id)) for p in points]
    table = pd.DataFrame(rows)
    _write_table(table, out)
    n_run = sum(len(j.todo) for j in jobs)
    return SweepResult(table, failures, out, list(points[0].params), n_run)


def _check_memory(points: Sequence[SweepPoint], block_paths: int | None, workers: int) -> None:
    """Refuse the sweep up front if a scenario's blocks would not fit in memory
    (:mod:`hashfleet.runner.memory`; a block per worker at a time)."""
    from hashfleet.model import compile_scenario
    from hashfleet.runner.memory import check_memory, estimate_memory

    for p in points:
        run = p.scenario.run
        est = estimate_memory(
            compile_scenario(p.scenario),
            n_paths=run.paths,
            resident_paths=(block_paths or 1000) * max(1, workers),
            store_paths=run.outputs.store_paths,
            event_log=run.outputs.event_log,
            n_quantiles=len(run.outputs.quantiles),
        )
        try:
            check_memory(est)
        except HashfleetError as e:
            raise type(e)(f"sweep scenario {p.scenario_id}: {e}") from None


def _summarise(job: Job, be: Backend, keep_blocks: bool) -> dict[str, Any]:
    """Assemble a finished scenario, write its summary.json, return the summary."""
    from hashfleet.runner.jobs import assemble
    from hashfleet.runner.metadata import run_metadata

    meta = run_metadata(
        job.scenario,
        backend=be.name,
        mode=None,
        horizon_days=job.n_days,
        workers=be.workers,
        block_paths=job.block_paths,
        blocks=len(job.blocks),
        stream_block_paths=STREAM_BLOCK_PATHS,
        chain_start_source=job.chain_source,
    )
    res = assemble(job, meta, be)
    # standard JSON: NaN statistics (no IRR on some paths) as null with the reason
    text = json.dumps(json_safe(dict(res.summary)), indent=2, default=_json, allow_nan=False)
    with write_atomic(job.run_dir.parent / "summary.json") as tmp:
        tmp.write_text(text + "\n")
    if not keep_blocks:
        shutil.rmtree(job.run_dir, ignore_errors=True)
    summary: dict[str, Any] = json.loads(text)
    return summary


def _row(point: SweepPoint, summary: dict[str, Any] | None, failure: Any) -> dict[str, Any]:
    sc = point.scenario
    row: dict[str, Any] = {"scenario_id": point.scenario_id}
    if failure is not None:
        row |= {"status": "failed", "error": f"{failure.task.label}: {failure.error}"}
    elif summary is None:
        row |= {"status": "not run", "error": ""}
    else:
        row |= {"status": "ok", "error": ""}
    for k, v in point.params.items():
        row[k] = v if isinstance(v, str | int | float | bool) else json.dumps(v)
    row |= {"paths": sc.run.paths, "seed": sc.run.seed, "horizon_days": sc.run.horizon_days}
    if summary is not None:
        row["scenario_hash"] = summary["metadata"]["scenario_hash"]
        for var, stats in summary["per_path"].items():
            for stat, value in stats.items():
                if stat != "null_reason":  # a null statistic is NaN in the table
                    row[f"{var}_{stat}"] = float("nan") if value is None else value
    return row


def _write_table(table: pd.DataFrame, out: Path) -> None:
    require("pyarrow")
    with write_atomic(out / "sweep.parquet") as tmp:
        table.to_parquet(tmp, index=False)
    with write_atomic(out / "sweep.csv") as tmp:
        table.to_csv(tmp, index=False)


def _show(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def _json(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    return str(o)
