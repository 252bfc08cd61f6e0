"""A chunked on-disk store of every path's daily values (Zarr), written block by block.

A distributed run cannot reduce each day's values across all paths in memory, as the
in-process :class:`~hashfleet.engine.recorder.Recorder` does: each task simulates its own
block of paths to the horizon.  Each task therefore writes its daily values window by window
(whole :data:`~hashfleet.processes.WINDOW_DAYS` windows at a time) into one Zarr array per
variable, shape ``(n_sim_paths, n_days)`` (``path`` first), chunked ``(block_paths,
chunk_days)`` so that every chunk belongs to exactly one task and no two tasks ever write the
same file.  ``chunk_days`` is a whole number of windows, up to 256 days, chosen so a chunk
holds about 2 MiB: small chunks make Zarr slow (a 32-day chunk writes at less than half the
speed of a 256-day one), and Blosc-LZ4 with byte shuffling compresses them about 3× at
hundreds of MB/s.

The daily mean and quantiles across paths are then computed from the store one day-chunk at
a time with the same NumPy calls, over the same memory layout, as the recorder — so they are
identical, bit for bit, to an in-process run — and never load all paths × days at once.

The store is a plain Zarr v3 group with ``dimension_names``, readable lazily with
``xarray.open_zarr(path)`` (dask arrays).  Zarr is an optional dependency
(``pip install 'hashfleet[dask]'``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.engine.recorder import quantiles_last_axis
from hashfleet.errors import InputError
from hashfleet.processes import WINDOW_DAYS

__all__ = ["PathStore", "chunk_days", "daily_statistics_task", "reduce_span", "require"]

_HINT = "install the optional dependencies with: pip install 'hashfleet[dask]'"


def require(module: str) -> Any:
    """Import an optional dependency or raise :class:`InputError` with the install hint.

    Parameters
    ----------
    module : str
        ``"zarr"``, ``"dask"``, ``"distributed"`` or ``"pyarrow"``.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"{module} is not installed; {_HINT}") from None


class PathStore:
    """Every path's daily values of one run, one Zarr array per variable.

    Parameters
    ----------
    path : pathlib.Path
        The ``.zarr`` directory.
    group : zarr.Group
        The opened group (use :meth:`create` or :meth:`open`).
    """

    def __init__(self, path: Path, group: Any) -> None:
        self.path = path
        self._group = group
        self.variables: tuple[str, ...] = tuple(group.attrs["variables"])
        self.n_sim_paths = int(group.attrs["n_sim_paths"])
        self.n_days = int(group.attrs["n_days"])
        self._arrays: dict[str, Any] = {}
        #: Days per chunk (a whole number of windows).
        self.chunk_days = int(group.attrs.get("chunk_days", WINDOW_DAYS))

    @classmethod
    def create(
        cls,
        path: Path,
        variables: Sequence[str],
        n_sim_paths: int,
        n_days: int,
        chunk_paths: int,
        attrs: Mapping[str, Any] | None = None,
    ) -> PathStore:
        """Create (or replace) the store.

        Parameters
        ----------
        path : pathlib.Path
            The ``.zarr`` directory to create.
        variables : sequence of str
            Daily variable names, one ``(n_sim_paths, n_days)`` float64 array each.
        n_sim_paths : int
            Paths simulated (whole stream blocks).
        n_days : int
        chunk_paths : int
            Paths per chunk: the paths of one task, so tasks never share a chunk.
        attrs : mapping, optional
            Extra JSON-serialisable attributes (seed, scenario hash, ...).
        """
        zarr = require("zarr")
        from zarr.codecs import BloscCodec

        group = zarr.open_group(str(path), mode="w")
        for v in variables:
            group.create_array(
                v,
                shape=(n_sim_paths, n_days),
                chunks=(chunk_paths, chunk_days(chunk_paths, n_days)),
                dtype="f8",
                dimension_names=("path", "day"),
                fill_value=np.nan,
                compressors=BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),
            )
        group.attrs.update(
            dict(attrs or {})
            | {
                "variables": list(variables),
                "n_sim_paths": n_sim_paths,
                "n_days": n_days,
                "chunk_days": chunk_days(chunk_paths, n_days),
            }
        )
        return cls(path, group)

    @classmethod
    def open(cls, path: Path, *, writable: bool = False) -> PathStore:
        """Open an existing store."""
        zarr = require("zarr")
        return cls(path, zarr.open_group(str(path), mode="r+" if writable else "r"))

    @property
    def attrs(self) -> dict[str, Any]:
        """The store's attributes."""
        return dict(self._group.attrs)

    def _array(self, name: str) -> Any:
        if name not in self._arrays:
            self._arrays[name] = self._group[name]
        return self._arrays[name]

    def write(
        self, name: str, first_path: int, first_day: int, values: NDArray[np.float64]
    ) -> None:
        """Write ``values`` ``(n_block_paths, k_days)`` at ``[first_path, first_day]``."""
        n, k = values.shape
        self._array(name)[first_path : first_path + n, first_day : first_day + k] = values

    def read(self, name: str, n_paths: int, first_day: int, last_day: int) -> NDArray[np.float64]:
        """Paths ``0 .. n_paths-1`` of days ``first_day .. last_day-1``, ``(n_paths, k)``."""
        return np.asarray(self._array(name)[:n_paths, first_day:last_day], dtype=np.float64)

    def daily_statistics(
        self,
        n_paths: int,
        quantiles: Sequence[float],
        first_day: int = 0,
        last_day: int | None = None,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Daily mean and quantiles across paths ``0 .. n_paths-1``, one day-chunk at a time.

        The values of a day-chunk are laid out ``(day, path)``, contiguous along paths, and
        reduced with ``mean(axis=-1)`` and
        :func:`~hashfleet.engine.recorder.quantiles_last_axis` exactly as the in-process
        recorder does, so the results are identical to an in-process run.

        Parameters
        ----------
        n_paths : int
            Paths kept.
        quantiles : sequence of float
        first_day, last_day : int
            Days ``first_day .. last_day-1`` (default: all); ``first_day`` a multiple of
            ``chunk_days``.

        Returns
        -------
        mean : ndarray, shape ``(n_vars, k_days)``
        quantile : ndarray, shape ``(n_vars, n_quantiles, k_days)``
        """
        q = np.asarray(quantiles, dtype=float)
        last_day = self.n_days if last_day is None else last_day
        nv, k = len(self.variables), last_day - first_day
        mean = np.zeros((nv, k))
        quant = np.zeros((nv, len(q), k))
        # read as many whole day-chunks at once as fit in ~64 MB (fewer, larger reads)
        span = reduce_span(n_paths, self.chunk_days)
        for first in range(first_day, last_day, span):
            last = min(first + span, last_day)
            for i, v in enumerate(self.variables):
                block = np.ascontiguousarray(self.read(v, n_paths, first, last).T)  # (k, n)
                for a in range(0, last - first, WINDOW_DAYS):
                    b = min(a + WINDOW_DAYS, last - first)
                    at = first - first_day + a
                    mean[i, at : at + b - a] = block[a:b].mean(axis=1)
                    quant[i, :, at : at + b - a] = quantiles_last_axis(block[a:b], q)
        return mean, quant

    def paths_array(self, n_paths: int) -> NDArray[np.float64]:
        """Every kept path's daily values, ``(n_vars, n_paths, n_days)`` (loads them all)."""
        out = np.empty((len(self.variables), n_paths, self.n_days))
        for i, v in enumerate(self.variables):
            out[i] = self.read(v, n_paths, 0, self.n_days)
        return out


def chunk_days(chunk_paths: int, n_days: int) -> int:
    """Days per store chunk: whole windows, about 2 MiB per chunk, at most 256 days."""
    windows = max(1, min(8, (2 * 2**20) // (8 * WINDOW_DAYS * max(1, chunk_paths))))
    return min(windows * WINDOW_DAYS, -(-n_days // WINDOW_DAYS) * WINDOW_DAYS)


def reduce_span(n_paths: int, days_per_chunk: int) -> int:
    """Days (whole chunks) of one variable's ``n_paths`` paths that fit in ~64 MB."""
    return max(1, (64 * 2**20) // (8 * days_per_chunk * max(1, n_paths))) * days_per_chunk


def daily_statistics_task(
    args: tuple[str, int, tuple[float, ...], int, int],
) -> tuple[int, NDArray[np.float64], NDArray[np.float64]]:
    """One day range of :meth:`PathStore.daily_statistics`, as a task for a backend.

    Parameters
    ----------
    args : (store path, n_paths, quantiles, first_day, last_day)

    Returns
    -------
    (first_day, mean, quantile)
    """
    path, n_paths, quantiles, first, last = args
    mean, quant = PathStore.open(Path(path)).daily_statistics(n_paths, quantiles, first, last)
    return first, mean, quant
