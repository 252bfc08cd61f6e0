"""The same bytes under every BLAS kernel the CPU can run (issue 11).

OpenBLAS picks a kernel for the CPU at load time (``OPENBLAS_CORETYPE`` overrides it), and
kernels sum in different orders, so a run that used BLAS for per-path products gave other
bits — and, on AVX-512 CPUs, chunk-dependent bits.  ``tests/blas_probe.py`` runs the
invariance cases (per-row products at widths 1–64, segment sums, small runs of two shipped
scenarios at two chunkings and as stream-block tasks) in a fresh process; here it runs once
per kernel this CPU supports, and every kernel must give every case the same bytes — the same
as the kernel the CPU picks by itself.  NumPy's own SIMD dispatch is another matter: without
AVX-512, ``np.exp``/``np.log`` round some last bits differently, so runs may differ in the
last bits (measured in docs/model.md §9) while the products stay identical.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

PROBE = Path(__file__).with_name("blas_probe.py")

#: ``OPENBLAS_CORETYPE`` values of x86-64 OpenBLAS builds, oldest first.  A CPU that lacks a
#: kernel's instructions gets a fallback (reported by threadpoolctl), so each requested type
#: is checked against the kernel it actually ran.
CORETYPES = [
    "Prescott",
    "Core2",
    "Nehalem",
    "Sandybridge",
    "Haswell",
    "Zen",
    "SkylakeX",
    "Cooperlake",
    "SapphireRapids",
]

X86 = platform.machine().lower() in {"x86_64", "amd64"}


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NPY_DISABLE_CPU_FEATURES"}
    }
    return env | extra


def _kernel(env: dict[str, str]) -> str:
    code = (
        "import numpy, threadpoolctl; print([i.get('architecture') for i in "
        "threadpoolctl.threadpool_info() if i.get('user_api') == 'blas'][0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _probe(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(PROBE), *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.stdout)
    return result


@pytest.fixture(scope="module")
def probes() -> dict[str, dict[str, Any]]:
    """Probe results keyed by the requested core type (``"default"``: none set;
    ``"numpy-no-avx512"``: NumPy's AVX-512 dispatch switched off); each distinct kernel runs
    once, two processes at a time."""
    requested = {"default": _env()}
    if X86:
        requested |= {c: _env(OPENBLAS_CORETYPE=c) for c in CORETYPES}
    with ThreadPoolExecutor(2) as pool:
        kernels = dict(zip(requested, pool.map(_kernel, requested.values()), strict=True))
        first: dict[str, str] = {}
        for name, kernel in kernels.items():
            first.setdefault(kernel, name)
        jobs = {name: requested[name] for name in first.values()}
        if X86:
            jobs["numpy-no-avx512"] = _env(NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL")
        done = dict(zip(jobs, pool.map(_probe, jobs.values()), strict=True))
    out = {
        name: done[first[kernel]] | {"requested_kernel": kernel} for name, kernel in kernels.items()
    }
    if "numpy-no-avx512" in done:
        out["numpy-no-avx512"] = done["numpy-no-avx512"]
    return out


@pytest.mark.parametrize("coretype", CORETYPES)
def test_every_kernel_gives_the_same_bytes(
    probes: dict[str, dict[str, Any]], coretype: str
) -> None:
    if coretype not in probes:
        pytest.skip(f"OPENBLAS_CORETYPE is an x86-64 setting; this is {platform.machine()}")
    result, default = probes[coretype], probes["default"]
    assert result["kernel"] == result["requested_kernel"]
    broken = [case for case, same in result["invariant"].items() if not same]
    assert broken == [], f"{coretype} ({result['kernel']}): chunk-dependent bytes in {broken}"
    differ = [c for c, d in result["digests"].items() if d != default["digests"][c]]
    assert differ == [], (
        f"{coretype} ({result['kernel']}) gives other bytes than {default['kernel']} in {differ}"
    )


def test_the_default_kernel_is_invariant(probes: dict[str, dict[str, Any]]) -> None:
    result = probes["default"]
    assert result["kernel"], "threadpoolctl found no BLAS"
    assert all(result["invariant"].values()), result["invariant"]


def test_products_do_not_depend_on_numpy_simd_dispatch(
    probes: dict[str, dict[str, Any]],
) -> None:
    """Without NumPy's AVX-512 loops (as on an older CPU) every case is still chunk-invariant
    and every product gives the same bytes; the runs themselves may differ in last bits."""
    if "numpy-no-avx512" not in probes:
        pytest.skip("x86-64 only")
    result, default = probes["numpy-no-avx512"], probes["default"]
    assert all(result["invariant"].values()), result["invariant"]
    products = [c for c in default["digests"] if c.startswith(("rows_dot", "segments"))]
    assert len(products) == 66
    assert [c for c in products if result["digests"][c] != default["digests"][c]] == []


@pytest.mark.slow
@pytest.mark.parametrize("coretype", ["Haswell", "SkylakeX"])
def test_full_runs_identical_under_each_kernel(coretype: str) -> None:
    """The issue's check: baseline and ercot-index, 1,000 paths × 1 year with stored paths,
    chunks of 250/500/1,000, stream-block tasks and 2 local workers: identical bytes, and the
    same bytes under both kernels."""
    results = [_probe(_env(OPENBLAS_CORETYPE=c), "--full") for c in ("Haswell", coretype)]
    for r in results:
        assert all(r["invariant"].values()), r
    assert results[0]["digests"] == results[1]["digests"]
