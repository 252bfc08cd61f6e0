"""Results of a run: daily statistics across paths, per-path totals, optional full paths,
the event log, and the metadata that makes them reproducible (version, seed, scenario hash).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hashfleet.results.base import json_safe, write_atomic

__all__ = ["Results", "Summary", "write_atomic"]


class Summary(dict[str, Any]):
    """``Results.summary``: the dict written to ``summary.json`` (``metadata``,
    ``per_path``, ``events``) that, called, gives the decision metrics as a DataFrame
    (:func:`hashfleet.results.decision.summarize`: estimate, interval, unit, method, paths).
    """

    _results: Results | None = None

    def __call__(self, confidence: float = 0.95) -> pd.DataFrame:
        """Decision metrics across paths with ``confidence`` intervals, one row each."""
        from hashfleet.results.decision import decision_frame, summarize

        if self._results is None:
            raise ValueError("summary: not attached to a Results")
        return summarize(decision_frame(self._results), confidence)


@dataclass
class Results:
    """What :func:`hashfleet.simulate` returns.

    Attributes
    ----------
    daily : xarray.Dataset
        Per day (dim ``day``, coordinate ``date``): ``<var>_mean`` and ``<var>`` with a
        ``quantile`` dim, for every daily variable.
    per_path : xarray.Dataset
        Per path (dim ``path``): totals over the run and values on the last day.
    paths : xarray.Dataset or None
        Every path's daily values (dims ``path``, ``day``) when stored.
    retargets, halvings : pandas.DataFrame
        The event log (one row per event and path).
    metadata : dict
        ``hashfleet_version``, ``seed``, ``paths``, ``scenario_hash``, ``backend``,
        ``chunk_paths``, ``stream_block_paths``, ``wall_time_s``.
    resolved_scenario_yaml : str
        The scenario exactly as run.
    events : dict of str to pandas.DataFrame
        The other event kinds components logged (``margin_call``, ``insolvency``,
        ``hpc_default`` ...; docs/capital.md and docs/hpc.md), one row per event and path:
        ``path``, ``time_days`` and the kind's numeric columns.
    """

    daily: xr.Dataset
    per_path: xr.Dataset
    paths: xr.Dataset | None
    retargets: pd.DataFrame
    halvings: pd.DataFrame
    metadata: dict[str, Any]
    resolved_scenario_yaml: str
    summary: dict[str, Any] = field(default_factory=dict)
    events: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.summary = Summary(self.summary)
        self.summary._results = self

    @classmethod
    def load(cls, out_dir: str | Path) -> Results:
        """Read what :meth:`save` wrote (``paths.nc`` too, if there).

        Parameters
        ----------
        out_dir : str or pathlib.Path

        Returns
        -------
        Results
        """
        from hashfleet.results.tables import load_results

        return load_results(Path(out_dir), cls)

    @property
    def plot(self) -> Any:
        """Charts: ``.fan("cash_usd")``, ``.events()``, ``.distributions()`` (matplotlib
        figures; see :mod:`hashfleet.results.plots`)."""
        from hashfleet.results.tables import PlotAccessor

        return PlotAccessor(self)

    def __repr__(self) -> str:
        m = self.metadata
        return (
            f"<Results {m.get('scenario_name', '?')}: {m.get('paths', '?')} paths x "
            f"{m.get('horizon_days', '?')} days, seed {m.get('seed', '?')}, "
            f"{len(self.daily.data_vars)} daily variables, paths "
            f"{'stored' if self.paths is not None else 'not stored'}>"
        )

    def _repr_html_(self) -> str:
        from hashfleet.results.tables import results_html

        return results_html(self)

    def to_dataset(self) -> xr.Dataset:
        """Daily statistics and per-path results in one :class:`xarray.Dataset`."""
        ds = xr.merge([self.daily, self.per_path], compat="no_conflicts", join="outer")
        ds.attrs.update(_attrs(self.metadata))
        return ds

    def save(self, out_dir: str | Path, *, keep: tuple[str, ...] = ()) -> Path:
        """Write ``summary.json``, ``daily.nc``, ``per_path.nc``, ``events.nc``,
        ``scenario.resolved.yaml`` and (if stored) ``paths.nc`` into ``out_dir``.

        The files are written into a new folder beside ``out_dir`` that then replaces it
        as a whole (:mod:`hashfleet.results.folder`): ``out_dir`` holds one run's complete
        results or is left as it was (an interrupted save, a full disk).

        Parameters
        ----------
        out_dir : str or pathlib.Path
            The results folder: new, empty, or an earlier hashfleet results folder.
        keep : tuple of str
            Entries of the old folder to carry over (``("blocks",)``: this run's blocks).

        Raises
        ------
        OutputError
            The files could not be written (e.g. no space left); ``out_dir`` is untouched.
        """
        from hashfleet.results.folder import staged_folder

        out = Path(out_dir)
        with staged_folder(out, "run", keep=keep) as stage:
            self.write_files(stage)
        return out

    def write_files(self, folder: Path) -> None:
        """Write the files of :meth:`save` into an existing ``folder`` (no marker, no swap:
        use :meth:`save`, or :func:`hashfleet.results.folder.staged_folder` around this)."""
        attrs = _attrs(self.metadata)
        (folder / "scenario.resolved.yaml").write_text(
            self.resolved_scenario_yaml, encoding="utf-8"
        )
        _to_netcdf(self.daily.assign_attrs(attrs), folder / "daily.nc")
        _to_netcdf(self.per_path.assign_attrs(attrs), folder / "per_path.nc")
        events = xr.Dataset(
            {f"retarget_{c}": ("retarget", self.retargets[c].to_numpy()) for c in self.retargets}
            | {f"halving_{c}": ("halving", self.halvings[c].to_numpy()) for c in self.halvings}
            | {
                f"{kind}__{c}": (kind, table[c].to_numpy())
                for kind, table in self.events.items()
                for c in table
            },
            attrs=attrs,
        )
        _to_netcdf(events, folder / "events.nc")
        if self.paths is not None:
            _to_netcdf(self.paths.assign_attrs(attrs), folder / "paths.nc")
        summary = dict(self.summary)
        if "decision" not in summary:
            table = Summary.__call__(self.summary)  # type: ignore[arg-type]
            summary["decision"] = table.reset_index().to_dict(orient="records")
        text = json.dumps(json_safe(summary), indent=2, default=_json_default, allow_nan=False)
        (folder / "summary.json").write_text(text + "\n")


def _attrs(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, str | int | float) else json.dumps(v)) for k, v in meta.items()}


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _to_netcdf(ds: xr.Dataset, target: Path) -> None:
    ds.to_netcdf(target, engine="netcdf4")
