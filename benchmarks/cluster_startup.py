"""Cold start-up of a Dask cluster started from the command line, and a run on it.

    .venv/bin/python -m benchmarks.cluster_startup [WORKLOAD] [--workers 2]

Starts ``dask scheduler`` and ``dask worker`` processes on localhost (as a user would on
several machines), and reports: seconds until every worker is connected (cold start-up), the
first run of the workload with ``scheduler=`` (workers import hashfleet on the clock), a
second run (warm), and the in-process run of the same workload for reference — wall and CPU
seconds (CPU: this process plus every worker process, from their ``/proc`` counters).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _cpu_of(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
    return total


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    import distributed
    from threadpoolctl import threadpool_limits

    from benchmarks.configurations import WORKLOADS
    from hashfleet.runner import simulate
    from hashfleet.runner.backends import WORKER_ENV

    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("workload", nargs="?", default="standard")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    sc = WORKLOADS[args.workload].scenario()
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or "dask"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ) | dict(WORKER_ENV)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent / "src"), str(HERE.parent)])
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    rec: dict[str, Any] = {"workload": args.workload, "workers": args.workers}
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            **quiet,  # type: ignore[call-overload]
        )
    ]
    procs += [
        subprocess.Popen(
            [dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
            **quiet,  # type: ignore[call-overload]
        )
        for _ in range(args.workers)
    ]
    try:
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(args.workers, timeout=120)
            rec["cluster_start_s"] = round(time.perf_counter() - t0, 2)
            wpids = list(client.run(os.getpid).values())
        for label in ("cold", "warm"):
            c0 = time.process_time() + _cpu_of(wpids)
            t = time.perf_counter()
            simulate(sc, backend="dask", scheduler=address)
            rec[f"{label}_wall_s"] = round(time.perf_counter() - t, 2)
            rec[f"{label}_cpu_s"] = round(time.process_time() + _cpu_of(wpids) - c0, 2)
        with threadpool_limits(1):
            c0, t = time.process_time(), time.perf_counter()
            simulate(sc)
            rec["in_process_wall_s"] = round(time.perf_counter() - t, 2)
            rec["in_process_cpu_s"] = round(time.process_time() - c0, 2)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    rec["warm_speedup_wall"] = round(rec["in_process_wall_s"] / rec["warm_wall_s"], 2)
    rec["load_1m_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(rec))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
