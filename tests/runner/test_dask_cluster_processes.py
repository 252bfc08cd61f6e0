"""A real Dask cluster beyond this process: ``dask scheduler`` and two ``dask worker`` processes
started from the command line on localhost, driven by ``hashfleet run --scheduler tcp://…``.

What a user does on several machines, on one: the scheduler and the workers are separate
programs that know nothing of the test, the workers import hashfleet from the environment
they were started in, and the results written by the CLI equal the in-process run's, array
for array (issue 17, item 5).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from runner_helpers import BASE, assert_identical, make_scenario

from hashfleet.results import Results
from hashfleet.runner import simulate
from hashfleet.runner.backends import WORKER_ENV

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow  # ~25-40 s: three interpreters start and import dask

SRC = Path(__file__).resolve().parents[2] / "src"


def _dask() -> list[str]:
    exe = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if exe is None:
        pytest.skip("the dask command line is not installed")
    return [exe]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``tcp://127.0.0.1:PORT`` of a scheduler with two single-threaded workers."""
    logs = tmp_path_factory.mktemp("dask-logs")
    env = dict(os.environ) | dict(WORKER_ENV)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    procs: list[subprocess.Popen[bytes]] = []
    files = []

    def start(args: list[str], name: str) -> None:
        log = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - closed after the processes
        files.append(log)
        procs.append(
            subprocess.Popen([*_dask(), *args], env=env, stdout=log, stderr=subprocess.STDOUT)
        )

    try:
        start(["scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"], "sched")
        for i in range(2):
            start(
                [
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--no-dashboard",
                    "--name",
                    f"w{i}",
                ],
                f"worker{i}",
            )
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in files:
            f.close()


def test_cli_on_a_scheduler_and_two_worker_processes_matches_in_process(
    scheduler_address: str, tmp_path: Path
) -> None:
    """``hashfleet run --backend dask --scheduler tcp://…`` on the external cluster writes
    the in-process run's results (every daily, per-path and event array equal)."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(BASE, sort_keys=False))
    out = tmp_path / "out"
    env = dict(os.environ) | {"PYTHONPATH": str(SRC)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from hashfleet.cli import main; main()",
            "run",
            str(scenario),
            "--backend",
            "dask",
            "--scheduler",
            scheduler_address,
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    wall = time.perf_counter() - t0
    got = Results.load(out)
    assert got.metadata["backend"] == "dask" and got.metadata["workers"] == 2
    simulate(make_scenario()).save(tmp_path / "ref")  # the same files from an in-process run
    assert_identical(Results.load(tmp_path / "ref"), got)
    assert wall < 300


def test_python_api_on_the_external_cluster_matches_in_process(scheduler_address: str) -> None:
    """The same through ``simulate(..., scheduler=...)``, blocks of 250 paths: each block
    ran on one of the two worker processes, and the results are identical."""
    sc = make_scenario(paths=1000, horizon_days=40)
    res = simulate(sc, backend="dask", scheduler=scheduler_address, block_paths=250)
    with distributed.Client(scheduler_address) as client:
        pids = set(client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids
    ref = simulate(sc)
    assert_identical(ref, res)
    assert np.isfinite(res.daily["cash_usd"].values).all()
