"""The ASIC catalogue: stock hashrate and wall power of mining machines, by model name.

A catalogue maps model names to :class:`~hashfleet.scenario.schema.MinerModelSpec` (here
also called :data:`MinerModel`).  The shipped one, ``builtin:asic_catalogue``, lists Bitmain
Antminer, MicroBT Whatsminer and Canaan Avalon generations from the S9 (2016) on, each row with
its source; scenarios add or override models through ``fleet.models``.  Efficiency is derived,
never stored: ``efficiency_j_per_th = power_w / hashrate_th_s`` (W per TH/s = J/TH).

CSV columns: ``name, manufacturer, release_date (YYYY-MM-DD), hashrate_th_s (TH/s),
power_w (W at the wall), cooling, price_usd_per_th (USD/TH, may be blank), source``.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

import pandas as pd
from pydantic import ValidationError

from hashfleet.errors import DataError, InputError
from hashfleet.scenario.files import file_stamp, read_text
from hashfleet.scenario.schema import MinerModelSpec

__all__ = ["BUILTIN_CATALOGUE", "Catalogue", "MinerModel", "load_catalogue"]

#: An ASIC model: the scenario schema's spec, reused as the catalogue entry.
MinerModel = MinerModelSpec

#: ``path`` naming the shipped catalogue.
BUILTIN_CATALOGUE = "builtin:asic_catalogue"

_COLUMNS = (
    "name",
    "manufacturer",
    "release_date",
    "hashrate_th_s",
    "power_w",
    "cooling",
    "price_usd_per_th",
    "source",
)
_REQUIRED = ("name", "hashrate_th_s", "power_w")


@dataclass(frozen=True)
class Catalogue:
    """An immutable mapping of model name to :data:`MinerModel`.

    Attributes
    ----------
    models : Mapping[str, MinerModel]
        The models, in file order (read-only).
    details : Mapping[str, Mapping[str, str]]
        Catalogue columns the schema does not carry (``manufacturer``, ``cooling``), by name.
    """

    models: Mapping[str, MinerModelSpec]
    details: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", MappingProxyType(dict(self.models)))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    # -- mapping protocol ------------------------------------------------------------------

    def __getitem__(self, name: str) -> MinerModelSpec:
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def __contains__(self, name: object) -> bool:
        return name in self.models

    # -- queries ---------------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        """Model names, in catalogue order."""
        return tuple(self.models)

    def get(self, name: str) -> MinerModelSpec:
        """Return the model called ``name``.

        Raises
        ------
        InputError
            If there is no such model; the message suggests close names (difflib).
        """
        try:
            return self.models[name]
        except KeyError:
            pass
        close = difflib.get_close_matches(name, self.names, n=3, cutoff=0.6)
        if not close:  # also try case-insensitively ("s19 pro" -> "Antminer S19 Pro")
            lower = {n.lower(): n for n in self.names}
            close = [
                lower[c]
                for c in difflib.get_close_matches(name.lower(), list(lower), n=3, cutoff=0.5)
            ]
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise InputError(f"miner model: expected a catalogue name, got {name!r}{hint}")

    def efficiency_j_per_th(self, name: str) -> float:
        """Return the stock efficiency of a model in J/TH (= W per TH/s)."""
        model = self.get(name)
        return model.power_w / model.hashrate_th_s

    def to_frame(self) -> pd.DataFrame:
        """Return the catalogue as a table.

        Returns
        -------
        pandas.DataFrame
            Index ``name``; columns ``manufacturer``, ``release_date`` (datetime64, NaT if
            unknown), ``hashrate_th_s`` (TH/s), ``power_w`` (W), ``efficiency_j_per_th``
            (J/TH, derived), ``cooling``, ``price_usd_per_th`` (USD/TH, NaN if unknown),
            ``source``.
        """
        rows = []
        for name, m in self.models.items():
            extra = self.details.get(name, {})
            rows.append(
                {
                    "name": name,
                    "manufacturer": extra.get("manufacturer"),
                    "release_date": pd.Timestamp(m.release_date) if m.release_date else pd.NaT,
                    "hashrate_th_s": m.hashrate_th_s,
                    "power_w": m.power_w,
                    "efficiency_j_per_th": m.power_w / m.hashrate_th_s,
                    "cooling": extra.get("cooling"),
                    "price_usd_per_th": (
                        math.nan if m.price_usd_per_th is None else m.price_usd_per_th
                    ),
                    "source": m.source,
                }
            )
        columns = [
            "name",
            "manufacturer",
            "release_date",
            "hashrate_th_s",
            "power_w",
            "efficiency_j_per_th",
            "cooling",
            "price_usd_per_th",
            "source",
        ]
        frame = pd.DataFrame(rows, columns=columns)
        frame["release_date"] = pd.to_datetime(frame["release_date"])
        return frame.set_index("name")

    def with_models(self, extra: Iterable[MinerModelSpec]) -> Catalogue:
        """Return a new catalogue with ``extra`` models added (same name: replaced)."""
        models = dict(self.models)
        details = dict(self.details)
        for model in extra:
            if not isinstance(model, MinerModelSpec):
                raise InputError(f"miner model: expected a MinerModelSpec, got {model!r}")
            models[model.name] = model
            details.pop(model.name, None)
        return Catalogue(models, details)


def load_catalogue(
    path: str = BUILTIN_CATALOGUE, extra: Iterable[MinerModelSpec] = ()
) -> Catalogue:
    """Load an ASIC catalogue CSV and add (or override) ``extra`` models.

    Parameters
    ----------
    path : str
        ``"builtin:asic_catalogue"`` (the shipped catalogue) or an absolute path to a CSV with
        the columns described in this module's docstring (``name``, ``hashrate_th_s`` and
        ``power_w`` are required; the others may be absent or blank).
    extra : iterable of MinerModel
        Models added after the file's; a model with a name already present replaces it.

    Returns
    -------
    Catalogue

    Raises
    ------
    DataError
        If the file cannot be read or a row is invalid; the message gives ``file:line``, the
        column and the bad value.
    """
    if path == BUILTIN_CATALOGUE:
        stamp: tuple[int, int] = (0, 0)
    elif path.startswith("builtin:"):
        raise DataError(f"{path}: unknown builtin catalogue (known: {BUILTIN_CATALOGUE})")
    elif not os.path.isabs(path):
        raise DataError(f"{path}: expected an absolute path or {BUILTIN_CATALOGUE}")
    else:
        stamp = file_stamp(path, what="catalogue")
    base = _load(path, stamp)
    extra = tuple(extra)
    return base.with_models(extra) if extra else base


# --------------------------------------------------------------------------- private


@lru_cache(maxsize=8)
def _load(path: str, stamp: tuple[int, int]) -> Catalogue:
    reader = csv.DictReader(io.StringIO(_read_text(path), newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise DataError(
            f"{path}:1: missing column(s) {', '.join(missing)} in the header row "
            f"(required: {', '.join(_REQUIRED)})"
        )
    unknown = [c for c in header if c not in _COLUMNS]
    if unknown:
        raise DataError(
            f"{path}:1: {len(unknown)} unknown column(s) in the header row "
            f"(known: {', '.join(_COLUMNS)})"
        )
    models: dict[str, MinerModelSpec] = {}
    details: dict[str, dict[str, str]] = {}
    lines: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        name = row["name"]
        if not name:
            raise DataError(f"{path}:{line}: column 'name': expected a model name, got ''")
        if name in lines:
            raise DataError(
                f"{path}:{line}: column 'name': the model name repeats (first on line "
                f"{lines[name]})"
            )
        lines[name] = line
        models[name] = _model(path, line, row)
        details[name] = {k: row[k] for k in ("manufacturer", "cooling") if row.get(k)}
    if not models:
        raise DataError(f"{path}: the catalogue has no models")
    return Catalogue(models, details)


def _model(path: str, line: int, row: Mapping[str, str]) -> MinerModelSpec:
    values: dict[str, object] = {"name": row["name"], "source": row.get("source") or None}
    for col in ("hashrate_th_s", "power_w", "price_usd_per_th"):
        text = row.get(col, "")
        if text == "" and col == "price_usd_per_th":
            continue
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise DataError(f"{path}:{line}: column '{col}': expected a finite number")
        values[col] = number
    text = row.get("release_date", "")
    if text:
        try:
            values["release_date"] = dt.date.fromisoformat(text)
        except ValueError:
            raise DataError(
                f"{path}:{line}: column 'release_date': expected a date YYYY-MM-DD"
            ) from None
    try:
        return MinerModelSpec.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        col = ".".join(str(p) for p in err["loc"])
        raise DataError(f"{path}:{line}: column '{col}': {err['msg']}") from None


def _read_text(path: str) -> str:
    if path == BUILTIN_CATALOGUE:
        return (
            resources.files("hashfleet.data")
            .joinpath("asic_catalogue.csv")
            .read_text(encoding="utf-8")
        )
    return read_text(path, what="catalogue")
