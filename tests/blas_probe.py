"""Reproducibility probe run in a fresh process (``tests/test_blas_kernels.py`` runs it once per
OpenBLAS kernel): per-row products at every width, and small runs of shipped scenarios at
several chunkings, each reduced to a SHA-256 of its bytes.

Usage: ``python tests/blas_probe.py [--full]`` prints one JSON object:
``{"kernel": ..., "digests": {case: sha256}, "invariant": {case: bool}}`` where
``invariant[case]`` says every chunking of that case gave the same bytes.  ``--full`` runs
the issue's check: ``baseline.yaml`` and ``ercot-index.yaml`` at 1,000 paths with stored
paths, chunks of 250 / 500 / 1,000 and 1 vs 2 local workers.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _sha(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _results_sha(res: object) -> str:
    """Every array of a run's results: stored paths, per-path, daily, events."""
    parts: list[np.ndarray] = []
    for name in ("paths", "per_path", "daily"):
        ds = getattr(res, name, None)
        if ds is None:
            continue
        for var in sorted(ds.data_vars):
            parts.append(ds[var].values)
    for name in ("retargets", "halvings"):  # event tables (pandas)
        table = getattr(res, name)
        parts.extend(np.asarray(table[c].to_numpy()) for c in table.columns)
    return _sha(*parts)


def products() -> tuple[dict[str, str], dict[str, bool]]:
    from hashfleet.numeric import rows_dot, segment_prefix_sums, segment_sums

    rng = np.random.default_rng(11)
    a = rng.random((2750, 40)) * rng.choice([1e-3, 1.0, 1e6], (2750, 40))
    digests, invariant = {}, {}
    for m in [None, *range(1, 65)]:
        b = rng.random(40) if m is None else rng.random((40, m))
        whole = rows_dot(a, b)
        parts = [
            np.concatenate([rows_dot(a[s : s + n], b) for s in range(0, 2750, n)])
            for n in (250, 1000)
        ]
        key = f"rows_dot[{m or 'vector'}]"
        digests[key] = _sha(whole)
        invariant[key] = all(np.array_equal(whole, p) for p in parts)
    bounds = np.array([0, 3, 3, 11, 25, 40], dtype=np.intp)
    s, p = segment_sums(a, bounds), segment_prefix_sums(a, bounds)
    digests["segments"] = _sha(s, p)
    invariant["segments"] = np.array_equal(
        np.concatenate([segment_sums(a[i : i + 250], bounds) for i in range(0, 2750, 250)]), s
    ) and np.array_equal(
        np.concatenate([segment_prefix_sums(a[i : i + 250], bounds) for i in range(0, 2750, 250)]),
        p,
    )
    return digests, invariant


def runs(full: bool) -> tuple[dict[str, str], dict[str, bool]]:
    import hashfleet

    paths, days = (1000, 365) if full else (500, 45)
    variants: list[dict[str, object]] = [{"chunk_paths": 250}, {"chunk_paths": 500}]
    variants.append({"backend": "in-process", "block_paths": 250})  # stream-block tasks
    if full:
        variants += [{"chunk_paths": 1000}, {"backend": "processes", "workers": 2}]
    digests, invariant = {}, {}
    for name in ("baseline", "ercot-index"):
        shas = []
        for v in variants:
            res = hashfleet.simulate(
                ROOT / "scenarios" / f"{name}.yaml",
                paths=paths,
                seed=5,
                store_paths=True,
                overrides={"run.horizon_days": days},
                **v,  # type: ignore[arg-type]
            )
            shas.append(_results_sha(res))
        digests[name] = shas[0]
        invariant[name] = len(set(shas)) == 1
    return digests, invariant


def main() -> None:
    from threadpoolctl import threadpool_info

    full = "--full" in sys.argv
    kernels = [i.get("architecture") for i in threadpool_info() if i.get("user_api") == "blas"]
    d1, i1 = products()
    d2, i2 = runs(full)
    print(
        json.dumps(
            {"kernel": kernels[0] if kernels else None, "digests": d1 | d2, "invariant": i1 | i2}
        )
    )


if __name__ == "__main__":
    main()
