"""Run the benchmarks and write a JSON record and a Markdown table.

Usage::

    .venv/bin/python -m benchmarks.run                  # everything -> results/latest.{json,md}
    .venv/bin/python -m benchmarks.run small standard   # some workloads -> results/partial.*
    .venv/bin/python -m benchmarks.run --scaling        # the scaling series only
    .venv/bin/python -m benchmarks.run --peers          # the naive peers and the ratio only
    .venv/bin/python -m benchmarks.run --profile profile-standard  # -> results/profile-*.txt
    .venv/bin/python -m benchmarks.run --dask --wait-load 0.7  # in-process vs local workers

Every workload and every peer measurement runs in a fresh subprocess, so its peak RSS is its
own.  Figures (see ``benchmarks/README.md``): wall time, path-days/s, cohort-days/s, peak RSS,
retargets/blocks/halvings per path; per-unit cost across the scaling series; the naive peers'
path-days/s (a few paths, extrapolated linearly) and the engine's ratio to them; NumPy's fused
multiply-add throughput over arrays of the engine's size against the engine's cohort-day
updates per second.  The load average is recorded because the machine is shared.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "results"

#: Naive peer measurements: name -> (peer, workload whose scenario it runs, paths).
PEER_RUNS: dict[str, tuple[str, str, int]] = {
    "peer-block": ("per_block", "standard", 3),
    "peer-day": ("per_day", "standard", 30),
}

#: Scaling series: (axis, workload names from smallest to largest).
SERIES: dict[str, tuple[str, ...]] = {
    "paths": ("scale-p1e3-c10", "scale-p1e4-c10", "scale-p1e5-c10"),
    "cohorts": ("scale-p1e4-c10", "scale-p1e4-c40", "scale-p1e4-c160"),
}


#: Parallel rows ``<workload>+<suffix>``: suffix -> (backend, workers, cluster started
#: first, warmed up).  ``dask2`` and ``procs2`` start (and close) their worker processes in
#: the run: cold processes, which import hashfleet (~0.8 s) on the clock.  ``dask2-up``
#: starts the LocalCluster before the clock (``scheduler=`` its address).  ``-warm`` rows
#: first run a 250-path, 40-day warm-up on the same workers (Dask) or fork server
#: (processes), as every run after the first of a session does.
PARALLEL: dict[str, tuple[str, int, bool, bool]] = {
    # the in-process run with its window reductions on the main thread (no second thread)
    "serial-reduce": ("in-process", 1, False, False),
    "dask1": ("dask", 1, False, False),
    "dask2": ("dask", 2, False, False),
    "dask2-up": ("dask", 2, True, False),
    "dask2-warm": ("dask", 2, True, True),
    "procs2": ("processes", 2, False, False),
    "procs2-warm": ("processes", 2, False, True),
}
#: The rows of ``--dask``, in the order they run (the in-process reference first).
DASK_ROWS = (
    "standard",
    "standard+serial-reduce",
    "standard+dask1",
    "standard+dask2",
    "standard+dask2-up",
    "standard+dask2-warm",
    "standard+procs2",
    "standard+procs2-warm",
)

#: Suffix of a workload run with the BLAS library's default thread count.
BLAS_DEFAULT = "+blas-default"

#: Environment of the measurement subprocesses: one BLAS thread.  The engine's matrix
#: products are tall and skinny ((paths × cohorts) @ (cohorts × a few)); BLAS threads only add
#: synchronisation, which on a busy 2-core machine made the standard workload 2.5× slower.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_workload(name: str) -> dict[str, Any]:
    """Run one workload of the engine in this process and return its figures."""
    from benchmarks.configurations import WORKLOADS
    from hashfleet.runner import simulate

    w = WORKLOADS[name.removesuffix(BLAS_DEFAULT)]
    sc = w.scenario()
    load = os.getloadavg()[0]
    c0, t0 = time.process_time(), time.perf_counter()
    res = simulate(sc)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return _figures(name, "engine", w, res, wall, cpu, load) | {
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
    }


def _figures(
    name: str, kind: str, w: Any, res: Any, wall: float, cpu: float, load: float
) -> dict[str, Any]:
    """The figures every row reports: sizes, times, throughput, memory and sanity counts."""
    pp = res.per_path
    path_days = w.paths * w.days
    return {
        "workload": name,
        "kind": kind,
        "paths": w.paths,
        "days": w.days,
        "cohorts": w.cohorts,
        "features": list(w.features()),
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "path_days_per_s": round(path_days / wall),
        "path_days_per_cpu_s": round(path_days / cpu),
        "cohort_days_per_s": round(path_days * w.cohorts / wall),
        "peak_rss_mb": _rss_mb(),
        "retargets_per_path": float(pp["retargets"].mean()),
        "halvings_per_path": float(pp["halvings"].mean()),
        "blocks_per_path": float(pp["total_blocks"].mean()),
        "load_1m": round(load, 2),
    }


def run_parallel(name: str) -> dict[str, Any]:
    """Run ``<workload>+<suffix>`` (:data:`PARALLEL`) on local workers; figures and timings.

    CPU time is this process's (the driver, and the Dask scheduler and nannies it hosts)
    plus each lockstep worker's process during its task (``worker_cpu_s``, all threads),
    or, for block runs, plus this process's finished children's.
    """
    from benchmarks.configurations import WORKLOADS
    from hashfleet.runner import simulate

    workload, suffix = name.split("+", 1)
    backend, workers, prestart, warm = PARALLEL[suffix]
    w = WORKLOADS[workload]
    sc = w.scenario()
    cluster: Any = None
    kwargs: dict[str, Any] = {"backend": backend, "workers": workers}
    if backend == "in-process":
        import hashfleet.runner

        kwargs = {}
        hashfleet.runner.BACKGROUND_WINDOW_BYTES = 0  # reduce on the main thread
    if prestart:
        import dask
        import distributed

        from hashfleet.runner.backends import WORKER_ENV

        with dask.config.set({"distributed.nanny.pre-spawn-environ": dict(WORKER_ENV)}):
            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, dashboard_address=":0"
            )
        kwargs = {"backend": backend, "scheduler": cluster.scheduler_address}
    if warm:
        small = sc.run.model_copy(update={"paths": 250, "horizon_days": 40})
        simulate(sc.model_copy(update={"run": small}), **kwargs)
    load = os.getloadavg()[0]
    c0, t0 = time.process_time(), time.perf_counter()
    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = simulate(sc, **kwargs)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    load_end = os.getloadavg()[0]
    if cluster is not None:
        cluster.close()
    ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = (ch1.ru_utime + ch1.ru_stime) - (ch0.ru_utime + ch0.ru_stime)
    meta = res.metadata
    if "worker_cpu_s" in meta:
        children = sum(meta["worker_cpu_s"])
    keys = (
        "mode",
        "workers",
        "setup_time_s",
        "workers_start_time_s",
        "lockstep_time_s",
        "worker_wall_s",
        "worker_cpu_s",
        "worker_barrier_wait_s",
        "worker_reduce_s",
        "results_transfer_s",
        "shared_memory_mb",
        "lockstep_fallback",
        "lockstep_skipped",
    )
    kind = f"{backend} x{workers}" + (" warm" if warm else " (cluster up)" if prestart else "")
    return _figures(name, kind, w, res, wall, cpu + children, load) | {
        "driver_cpu_s": round(cpu, 3),
        "load_1m_end": round(load_end, 2),
        **{k: meta[k] for k in keys if k in meta},
    }


def speedups(rows: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Wall time of each in-process workload over its parallel rows' (``standard+dask2``: x)."""
    out: dict[str, float] = {}
    for name, r in rows.items():
        base, _, suffix = name.partition("+")
        if suffix in PARALLEL and "wall_s" in r and "wall_s" in rows.get(base, {}):
            out[name] = round(rows[base]["wall_s"] / r["wall_s"], 2)
    return out


def wait_for_load(limit: float, max_wait_s: float = 1800.0) -> float:
    """Sleep until the 1-minute load average is below ``limit`` (or ``max_wait_s`` passed)."""
    t0 = time.monotonic()
    while os.getloadavg()[0] >= limit and time.monotonic() - t0 < max_wait_s:
        time.sleep(10)
    return os.getloadavg()[0]


def run_peer(name: str) -> dict[str, Any]:
    """Run a few paths of a naive peer on a workload's scenario; extrapolate linearly."""
    from benchmarks.configurations import WORKLOADS
    from benchmarks.peers import PeerModel, simulate_per_block, simulate_per_day

    peer, workload, n = PEER_RUNS[name]
    w = WORKLOADS[workload]
    model = PeerModel.from_scenario(w.scenario(features=False))
    fn = simulate_per_block if peer == "per_block" else simulate_per_day
    load = os.getloadavg()[0]
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(model, n, seed=1)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    path_days = n * w.days
    return {
        "workload": name,
        "kind": peer,
        "scenario_of": workload,
        "paths": n,
        "days": w.days,
        "cohorts": w.cohorts,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "path_days_per_s": round(path_days / wall, 1),
        "path_days_per_cpu_s": round(path_days / cpu, 1),
        "cohort_days_per_s": round(path_days * w.cohorts / wall),
        "peak_rss_mb": _rss_mb(),
        "retargets_per_path": float(np.mean([o.retargets for o in out])),
        "halvings_per_path": float(np.mean([o.halvings for o in out])),
        "blocks_per_path": float(np.mean([o.total_blocks for o in out])),
        "extrapolated_wall_s_for_engine_paths": round(wall / n * w.paths, 1),
        "load_1m": round(load, 2),
    }


def run_equivalence(n_paths: int = 400, horizon_days: int = 14) -> dict[str, Any]:
    """Engine vs both peers on the equivalence scenario: z and KS p per figure."""
    from benchmarks.peers import PeerModel, simulate_per_block, simulate_per_day
    from benchmarks.peers.equivalence import FIGURES, compare, equivalence_scenario
    from hashfleet.runner import simulate

    sc = equivalence_scenario(horizon_days=horizon_days, paths=n_paths)
    pp = simulate(sc).per_path
    model = PeerModel.from_scenario(sc)
    out: dict[str, Any] = {"workload": "equivalence", "paths": n_paths, "days": horizon_days}
    for peer, fn in (("per_block", simulate_per_block), ("per_day", simulate_per_day)):
        outcomes = fn(model, n_paths, seed=1)
        out[peer] = {}
        for figure, attr in FIGURES.items():
            values = np.array([getattr(o, attr) for o in outcomes], dtype=float)
            c = compare(pp[figure].to_numpy(), values, figure)
            out[peer][figure] = {
                "engine_mean": c.engine_mean,
                "peer_mean": c.peer_mean,
                "z": round(c.z, 3),
                "ks_p": round(c.ks_p, 4),
                "ok": c.ok(),
            }
    return out


def fma_throughput(n_paths: int = 10_000, n_cohorts: int = 40, repeat: int = 200) -> float:
    """Element updates per second of ``a*b + c`` into a preallocated array (NumPy)."""
    rng = np.random.default_rng(0)
    a, b, c = (rng.random((n_paths, n_cohorts)) for _ in range(3))
    out = np.empty_like(a)
    best = 0.0
    for _ in range(3):  # best of three: the machine is shared
        t0 = time.perf_counter()
        for _ in range(repeat):
            np.multiply(a, b, out=out)
            np.add(out, c, out=out)
        best = max(best, a.size * repeat / (time.perf_counter() - t0))
    return best


def machine() -> dict[str, Any]:
    """Machine, versions, date and load."""
    import scipy
    import simpy

    import hashfleet

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "simpy": simpy.__version__,
        "hashfleet": hashfleet.__version__,
        "commit": commit,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def _subprocess(name: str) -> dict[str, Any]:
    env = dict(os.environ)
    if name.endswith(BLAS_DEFAULT):
        for k in ONE_THREAD:
            env.pop(k, None)
    else:
        env.update(ONE_THREAD)
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--one", name],
        cwd=HERE.parent,
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        return {"workload": name, "error": proc.stderr.strip().splitlines()[-1:]}
    row: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return row


def linearity(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per-unit cost from the smallest to the largest point of each scaling series.

    Paths: seconds per path-day.  Cohorts: seconds per path-day and per cohort-day.  The
    ratio is largest point / smallest point (≤ 1.2 is the target), from wall time and from CPU
    time (the steadier figure on a shared machine).
    """
    out: dict[str, Any] = {}
    for axis, names in SERIES.items():
        pts = [rows[n] for n in names if n in rows and "wall_s" in rows[n]]
        if len(pts) < 2:
            continue
        units = [p["paths"] * p["days"] for p in pts]
        s_pd = [p["wall_s"] / u for p, u in zip(pts, units, strict=True)]
        c_pd = [p.get("cpu_s", p["wall_s"]) / u for p, u in zip(pts, units, strict=True)]
        entry: dict[str, Any] = {
            "points": [p["workload"] for p in pts],
            "us_per_path_day": [round(x * 1e6, 4) for x in s_pd],
            "cpu_us_per_path_day": [round(x * 1e6, 4) for x in c_pd],
            "ratio_per_path_day": round(s_pd[-1] / s_pd[0], 3),
            "ratio_per_path_day_cpu": round(c_pd[-1] / c_pd[0], 3),
        }
        if axis == "cohorts":
            n_c = [p["cohorts"] for p in pts]
            s_cd = [x / c for x, c in zip(s_pd, n_c, strict=True)]
            c_cd = [x / c for x, c in zip(c_pd, n_c, strict=True)]
            entry["ns_per_cohort_day"] = [round(x * 1e9, 2) for x in s_cd]
            entry["ratio_per_cohort_day"] = round(s_cd[-1] / s_cd[0], 3)
            entry["ratio_per_cohort_day_cpu"] = round(c_cd[-1] / c_cd[0], 3)
        out[axis] = entry
    return out


def ratios(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Engine path-days/s over each peer's, on the peer's workload."""
    out: dict[str, Any] = {}
    for name, (peer, workload, _) in PEER_RUNS.items():
        if name in rows and workload in rows and "path_days_per_s" in rows[name]:
            e, p = rows[workload], rows[name]
            out[peer] = round(e["path_days_per_s"] / p["path_days_per_s"], 1)
            if "path_days_per_cpu_s" in e and "path_days_per_cpu_s" in p:
                out[f"{peer}_cpu"] = round(e["path_days_per_cpu_s"] / p["path_days_per_cpu_s"], 1)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("workloads", nargs="*", help="engine workloads (default: everything)")
    p.add_argument("--scaling", action="store_true", help="run the scaling series")
    p.add_argument("--peers", action="store_true", help="run the naive peers (and standard)")
    p.add_argument("--profile", metavar="WORKLOAD", help="cProfile one workload")
    p.add_argument(
        "--dask",
        action="store_true",
        help="standard in-process vs 1 and 2 local Dask workers and 2 processes",
    )
    p.add_argument(
        "--wait-load",
        type=float,
        metavar="L",
        help="before each row, wait until the 1-minute load average is below L",
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="one run for the issue-17 note: standard, standard-all, both peers with the "
        "per-day peer's error, the equivalence table, the FMA reference and the cost of each "
        "step of standard and standard-all (-> results/report.{json,md})",
    )
    p.add_argument(
        "--before",
        metavar="REV",
        help="with --report: also each step's cost at git revision REV (a temporary worktree)",
    )
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        if args.one == "equivalence":
            row = run_equivalence()
        elif args.one in PEER_RUNS:
            row = run_peer(args.one)
        elif "+" in args.one and args.one.split("+", 1)[1] in PARALLEL:
            row = run_parallel(args.one)
        else:
            row = run_workload(args.one)
        print(json.dumps(row))
        return 0
    if args.profile:
        if os.environ.get("OPENBLAS_NUM_THREADS") != "1":  # profile as the benchmarks run
            env = dict(os.environ) | ONE_THREAD
            argv_ = [sys.executable, "-m", "benchmarks.run", "--profile", args.profile]
            return subprocess.run(argv_, cwd=HERE.parent, env=env).returncode
        return profile(args.profile)
    from benchmarks.configurations import WORKLOADS

    if args.report:
        return report(args.before, args.wait_load)
    everything = not (args.workloads or args.scaling or args.peers or args.dask)
    names: list[str] = list(args.workloads)
    if args.dask:
        names += [n for n in DASK_ROWS if n not in names]
    if everything:
        names = ["small", "standard", "long", "standard-features", "standard-all"]
        names.append("standard" + BLAS_DEFAULT)
    if args.peers and "standard" not in names:
        names.append("standard")
    if everything or args.scaling:
        names += [n for n in WORKLOADS if n.startswith("scale-") and n not in names]
    if everything or args.peers:
        names += [*PEER_RUNS, "equivalence"]
    record: dict[str, Any] = {"machine": machine()}
    rows: dict[str, dict[str, Any]] = {}
    for name in names:
        if args.wait_load is not None:
            wait_for_load(args.wait_load)
        rows[name] = _subprocess(name)
        print(json.dumps(rows[name]), flush=True)
    fma = fma_throughput()
    record["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    record["numpy_fma_updates_per_s"] = round(fma)
    std = rows.get("standard", {})
    if "cohort_days_per_s" in std:
        record["engine_share_of_fma"] = round(std["cohort_days_per_s"] / fma, 4)
    if "equivalence" in rows:
        record["equivalence"] = rows.pop("equivalence")
    record["rows"] = list(rows.values())
    record["linearity"] = linearity(rows)
    record["ratio_engine_over_peer"] = ratios(rows)
    if speedups(rows):
        record["speedup_over_in_process"] = speedups(rows)
    OUT.mkdir(exist_ok=True)
    stem = OUT / ("latest" if everything else "dask" if args.dask else "partial")
    stem.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(record))
    print(markdown(record))
    return 0


#: Workloads whose cost per step the report gives.
STAGE_WORKLOADS = ("standard", "standard-all")


def run_stages(tree: Path, name: str) -> dict[str, Any]:
    """``benchmarks.stages name`` in a fresh process from ``tree`` (this checkout or another
    revision's worktree, whose own ``stages`` writes ``results/stages-<name>.json``)."""
    env = dict(os.environ) | ONE_THREAD | {"PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}"}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.stages", name],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        return {"workload": name, "error": proc.stderr.strip().splitlines()[-1:]}
    rec: dict[str, Any] = json.loads(
        (tree / "benchmarks" / "results" / f"stages-{name}.json").read_text()
    )
    return rec


def peer_errors(eq: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each peer's bias against the engine, from the equivalence figures: relative difference
    of means ``(peer − engine)/engine`` and its standard error (from ``z``)."""
    out: dict[str, dict[str, float]] = {}
    for peer in ("per_block", "per_day"):
        for fig, c in eq.get(peer, {}).items():
            e, pm, z = c["engine_mean"], c["peer_mean"], c["z"]
            se = abs((e - pm) / z) if z else float("nan")
            out.setdefault(peer, {})[f"{fig}_rel"] = (pm - e) / e if e else float("nan")
            out[peer][f"{fig}_rel_se"] = se / abs(e) if e else float("nan")
    return out


def report(before: str | None, wait_load: float | None) -> int:
    """The issue-17 report in one run (see ``--report``)."""
    import tempfile

    record: dict[str, Any] = {"machine": machine()}
    rows: dict[str, dict[str, Any]] = {}
    for name in ("standard", "standard-all", *PEER_RUNS, "equivalence"):
        if wait_load is not None:
            wait_for_load(wait_load)
        rows[name] = _subprocess(name)
        print(json.dumps(rows[name]), flush=True)
    stages: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="hf-report-") as tmp:
        trees = [("after", HERE.parent)]
        if before:
            old = Path(tmp) / "before"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(old), before],
                cwd=HERE.parent,
                check=True,
                capture_output=True,
            )
            trees.insert(0, ("before", old))
        try:
            for name in STAGE_WORKLOADS:
                for label, tree in trees:  # before and after side by side, per workload
                    if wait_load is not None:
                        wait_for_load(wait_load)
                    stages.setdefault(name, {})[label] = run_stages(tree, name)
        finally:
            if before:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(Path(tmp) / "before")],
                    cwd=HERE.parent,
                    check=False,
                )
    fma = fma_throughput()
    record["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    record["numpy_fma_updates_per_s"] = round(fma)
    if "cohort_days_per_s" in rows.get("standard", {}):
        record["engine_share_of_fma"] = round(rows["standard"]["cohort_days_per_s"] / fma, 4)
    record["equivalence"] = rows.pop("equivalence")
    record["peer_error"] = peer_errors(record["equivalence"])
    record["rows"] = list(rows.values())
    record["ratio_engine_over_peer"] = ratios(rows)
    std, allf = rows.get("standard", {}), rows.get("standard-all", {})
    if "path_days_per_cpu_s" in std and "path_days_per_cpu_s" in allf:
        record["standard_over_standard_all_cpu"] = round(
            std["path_days_per_cpu_s"] / allf["path_days_per_cpu_s"], 2
        )
    record["stages"] = stages
    record["before"] = before
    OUT.mkdir(exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(record, indent=2) + "\n")
    md = markdown(record) + report_markdown(record)
    (OUT / "report.md").write_text(md)
    print(md)
    return 0


def report_markdown(record: dict[str, Any]) -> str:
    """The report's own tables: peers with their error, and the cost of each step."""
    lines = ["", "Peers (speed on `standard`, error on the equivalence scenario):", ""]
    lines += [
        "| peer | path-days/s | path-days/CPU-s | engine ÷ peer (CPU) | final difficulty "
        "(peer − engine)/engine ± SE | total blocks (peer − engine)/engine ± SE |",
        "|---|---:|---:|---:|---|---|",
    ]
    rows = {r["workload"]: r for r in record["rows"]}
    rat = record.get("ratio_engine_over_peer", {})
    for name, (peer, _, _) in PEER_RUNS.items():
        r, e = rows.get(name, {}), record.get("peer_error", {}).get(peer, {})
        if "path_days_per_s" not in r:
            continue
        lines.append(
            f"| {peer} | {r['path_days_per_s']:,.0f} | {r['path_days_per_cpu_s']:,.0f} | "
            f"{rat.get(peer + '_cpu', float('nan'))}× | "
            f"{e.get('final_difficulty_rel', float('nan')):+.2e} ± "
            f"{e.get('final_difficulty_rel_se', float('nan')):.1e} | "
            f"{e.get('total_blocks_rel', float('nan')):+.2e} ± "
            f"{e.get('total_blocks_rel_se', float('nan')):.1e} |"
        )
    if "standard_over_standard_all_cpu" in record:
        lines += [
            "",
            "`standard` over `standard-all`, path-days per CPU-second: "
            f"{record['standard_over_standard_all_cpu']}×.",
        ]
    for name, by in record.get("stages", {}).items():
        labels = [k for k in ("before", "after") if "steps_s" in by.get(k, {})]
        if not labels:
            continue
        days = by[labels[-1]]["days"]
        head = " | ".join(f"{k} ms/day" for k in labels)
        lines += [
            "",
            f"Cost of each step, `{name}` ("
            + ", ".join(
                f"{k}: {by[k]['wall_s']:.1f} s wall, {by[k]['cpu_s']:.1f} s CPU, "
                f"load {by[k]['load_1m']:.2f}"
                for k in labels
            )
            + "):",
            "",
            f"| step | {head} |" + (" after/before |" if len(labels) == 2 else ""),
            "|---|" + "---:|" * (len(labels) + (len(labels) == 2)),
        ]
        steps = list(by[labels[-1]]["steps_s"])
        steps += [s for s in by[labels[0]]["steps_s"] if s not in steps]
        for step in [*steps, "(outside the daily steps)", "total"]:
            vals = []
            for k in labels:
                rec = by[k]
                if step == "total":
                    v = rec["wall_s"]
                elif step.startswith("("):
                    v = rec["wall_s"] - sum(rec["steps_s"].values())
                else:
                    v = rec["steps_s"].get(step, 0.0)
                vals.append(1e3 * v / days)
            cells = " | ".join(f"{v:.2f}" for v in vals)
            ratio = f" {vals[1] / vals[0]:.2f} |" if len(vals) == 2 and vals[0] > 0 else ""
            if len(vals) == 2 and not ratio:
                ratio = " – |"
            lines.append(f"| {step} | {cells} |{ratio}")
    return "\n".join(lines) + "\n"


def profile(name: str, top: int = 25) -> int:
    """cProfile one workload in this process; write the top functions by own time."""
    from benchmarks.configurations import WORKLOADS
    from hashfleet.runner import simulate

    sc = WORKLOADS[name].scenario()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    simulate(sc)
    prof.disable()
    wall = time.perf_counter() - t0
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(top)
    buf.write("\n")
    stats.sort_stats("cumulative").print_stats(top)
    OUT.mkdir(exist_ok=True)
    path = OUT / f"profile-{name}.txt"
    path.write_text(f"# cProfile of {name}: {wall:.1f} s under the profiler\n" + buf.getvalue())
    print(path)
    return 0


def markdown(record: dict[str, Any]) -> str:
    """The record as Markdown tables."""
    m = record["machine"]
    lines = [
        f"Benchmarks — {m['date_utc']}, hashfleet {m['hashfleet']} ({m['commit']}), "
        f"Python {m['python']}, NumPy {m['numpy']}, SciPy {m['scipy']}, SimPy {m['simpy']}; "
        f"{m['cores']} cores ({m['cpu']}); load average at start {m['load_avg_start']}, "
        f"at end {m.get('load_avg_end')}",
        "",
        "| run | kind | paths | days | cohorts | wall s | CPU s | path-days/s "
        "| path-days/CPU-s | cohort-days/s | peak RSS MB | retargets/path | halvings/path "
        "| blocks/path | load 1m |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in record["rows"]:
        if "error" in r:
            lines.append(f"| {r['workload']} | error: {r['error']} |" + " |" * 13)
            continue
        lines.append(
            f"| {r['workload']} | {r['kind']} | {r['paths']:,} | {r['days']:,} | "
            f"{r['cohorts']} | {r['wall_s']:.1f} | {r.get('cpu_s', float('nan')):.1f} | "
            f"{r['path_days_per_s']:,.0f} | {r.get('path_days_per_cpu_s', float('nan')):,.0f} | "
            f"{r['cohort_days_per_s']:,} | {r['peak_rss_mb']:,.0f} | "
            f"{r['retargets_per_path']:.1f} | {r['halvings_per_path']:.2f} | "
            f"{r['blocks_per_path']:,.0f} | {r['load_1m']} |"
        )
    lines.append("")
    for r in record["rows"]:
        if r.get("features"):
            lines.append(f"{r['workload']} switches on: " + "; ".join(r["features"]) + ".")
    lines.append("Every other engine row runs the base model (the model the peers simulate).")
    lines.append(
        f"Every run uses one BLAS thread except `{BLAS_DEFAULT}` rows (the library default)."
    )
    lines.append("")
    for axis, e in record.get("linearity", {}).items():
        line = (
            f"Scaling in {axis} ({' → '.join(e['points'])}): µs per path-day "
            f"{e['us_per_path_day']} wall, {e['cpu_us_per_path_day']} CPU; largest/smallest "
            f"{e['ratio_per_path_day']} wall, {e['ratio_per_path_day_cpu']} CPU"
        )
        if "ratio_per_cohort_day" in e:
            line += (
                f"; ns per cohort-day {e['ns_per_cohort_day']} wall, largest/smallest "
                f"{e['ratio_per_cohort_day']} wall, {e['ratio_per_cohort_day_cpu']} CPU"
            )
        lines.append(line + ".")
    if record.get("linearity"):
        lines.append("")
    rat = record.get("ratio_engine_over_peer", {})
    for peer in ("per_block", "per_day"):
        if peer in rat:
            line = f"Engine (standard) over the {peer} SimPy peer: {rat[peer]:,}× path-days/s"
            if f"{peer}_cpu" in rat:
                line += f" ({rat[peer + '_cpu']:,}× per CPU-second)"
            lines.append(line + ".")
    par = [r for r in record["rows"] if "+" in r["workload"] and "mode" in r]
    if par:
        lines += [
            "",
            "Local workers (each row a fresh process; wall and CPU include starting and "
            "closing the workers, except `dask2-up` and `-warm`, whose LocalCluster was up "
            "before the clock; `-warm` rows ran a small warm-up on the same workers or fork "
            "server first):",
            "",
            "| run | mode | wall s | speed-up | CPU s | workers start s | lockstep s "
            "| barrier wait s | reduce s | load 1m start/end |",
            "|---|---|---:|---:|---:|---:|---:|---|---|---|",
        ]
        sp = record.get("speedup_over_in_process", {})
        for r in par:
            lines.append(
                f"| {r['workload']} | {r.get('mode', '')} | {r['wall_s']:.1f} | "
                f"{sp.get(r['workload'], float('nan')):.2f}× | {r['cpu_s']:.1f} | "
                f"{r.get('workers_start_time_s', '')} | {r.get('lockstep_time_s', '')} | "
                f"{r.get('worker_barrier_wait_s', '')} | {r.get('worker_reduce_s', '')} | "
                f"{r['load_1m']}/{r.get('load_1m_end', '')} |"
            )
    eq = record.get("equivalence")
    if eq and "per_block" in eq:
        lines += [
            "",
            f"Equivalence, engine vs peer ({eq['paths']} paths × {eq['days']} days, "
            "z = difference of means in standard errors, KS two-sample p):",
            "",
            "| peer | figure | engine mean | peer mean | z | KS p | ok |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for peer in ("per_block", "per_day"):
            for fig, c in eq[peer].items():
                lines.append(
                    f"| {peer} | {fig} | {c['engine_mean']:.6g} | {c['peer_mean']:.6g} | "
                    f"{c['z']:+.2f} | {c['ks_p']:.3f} | {'yes' if c['ok'] else 'NO'} |"
                )
    lines += [
        "",
        f"NumPy fused multiply-add over 10,000 × 40 float64: "
        f"{record['numpy_fma_updates_per_s']:,} element updates/s"
        + (
            f"; the engine's standard cohort-day updates/s are "
            f"{record['engine_share_of_fma']:.2%} of it."
            if "engine_share_of_fma" in record
            else "."
        ),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
