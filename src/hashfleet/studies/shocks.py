"""Named shocks of a stress test: scenario transformations (see :mod:`hashfleet.studies.stress`).

Each shock turns the scenario's data (the merged YAML as a dict) and a level into dotted-path
overrides, applied exactly like ``--set``; :data:`SHOCKS` lists them with their default level
and the level's unit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hashfleet.errors import InputError

__all__ = ["SHOCKS", "resolved_data", "shock_overrides", "shocked_scenario"]

HALVING_INTERVAL = 210_000
BLOCKS_PER_DAY = 144


def _price_crash(data: Mapping[str, Any], level: float) -> dict[str, Any]:
    if not 0 <= level < 1:
        raise InputError(f"price_crash: expected a level in [0, 1), got {level}")
    price = data.get("market", {}).get("btc_price", {})
    if price.get("model", "gbm") == "csv":
        raise InputError("price_crash: a csv price path cannot be crashed; use gbm/bootstrap")
    start = price.get("start_usd")
    if start is None:
        from hashfleet import history

        run_start = dt.date.fromisoformat(str(data["run"]["start"]))
        start = history.price_on(run_start - dt.timedelta(days=1))
    return {"market.btc_price.start_usd": float(start) * (1.0 - level)}


def _halving(data: Mapping[str, Any], level: float) -> dict[str, Any]:
    st = data.get("network", {}).get("start", {})
    if st.get("height") is None:
        raise InputError("halving: expected network.start.height in the scenario")
    h = int(st["height"])
    nxt = (h // HALVING_INTERVAL + 1) * HALVING_INTERVAL
    return {"network.start.height": max(nxt - round(level * BLOCKS_PER_DAY), 0)}


def _power_spike(data: Mapping[str, Any], level: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, site in enumerate(data.get("fleet", {}).get("sites", [])):
        for key, v in (site.get("power") or {}).items():
            if key.endswith(("_usd_per_mwh", "_usd_per_kwh")) and isinstance(v, int | float):
                out[f"fleet.sites[{i}].power.{key}"] = float(v) * (1.0 + level)
    return out


def _delivery_slip(data: Mapping[str, Any], level: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    start = dt.date.fromisoformat(str(data["run"]["start"]))
    for i, c in enumerate(data.get("fleet", {}).get("cohorts", [])):
        d = c.get("install_date")
        if d is not None and dt.date.fromisoformat(str(d)) > start:
            out[f"fleet.cohorts[{i}].install_date"] = (
                dt.date.fromisoformat(str(d)) + dt.timedelta(days=round(level))
            ).isoformat()
    return out


def _tenant_default(data: Mapping[str, Any], level: float) -> dict[str, Any]:
    hpc = data.get("hpc")
    if not hpc:
        raise InputError("tenant_default: the scenario has no hpc section (needs the HPC model)")
    return {"hpc.default.annual_rate": level}


#: Named shocks: name -> (overrides builder, default level, level unit).
SHOCKS: dict[str, tuple[Callable[[Mapping[str, Any], float], dict[str, Any]], float, str]] = {
    "price_crash": (_price_crash, 0.5, "share of price lost"),
    "halving": (_halving, 30.0, "days to the next halving"),
    "power_spike": (_power_spike, 1.0, "relative power-price increase"),
    "delivery_slip": (_delivery_slip, 180.0, "days of delay"),
    "tenant_default": (_tenant_default, 0.5, "default hazard per year"),
}


def shock_overrides(data: Mapping[str, Any], name: str, level: float | None = None) -> dict:
    """Dotted-path overrides of the named shock at ``level`` (default: its default)."""
    if name not in SHOCKS:
        raise InputError(f"shock: expected one of {sorted(SHOCKS)}, got {name!r}")
    fn, default, _ = SHOCKS[name]
    return fn(data, default if level is None else level)


def shocked_scenario(
    data: Mapping[str, Any],
    name: str | None = None,
    level: float | None = None,
    *,
    base_dir: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Any:
    """Validate ``data`` (without its ``capital`` key) with the shock's overrides applied."""
    import yaml

    from hashfleet.scenario import load_scenario_text

    plain = {k: v for k, v in data.items() if k != "capital"}
    ovr = dict(overrides or {})
    if name is not None:
        ovr |= shock_overrides(resolved_data(plain, base_dir), name, level)
    return load_scenario_text(yaml.safe_dump(plain), overrides=ovr, base_dir=base_dir)


def resolved_data(data: Mapping[str, Any], base_dir: str | Path | None = None) -> dict:
    """``data`` validated and dumped back with every field filled in (``extends`` merged),
    which is what the shock builders read."""
    import yaml

    from hashfleet.scenario import dump_resolved, load_scenario_text

    plain = {k: v for k, v in data.items() if k != "capital"}
    sc = load_scenario_text(yaml.safe_dump(plain), base_dir=base_dir)
    return dict(yaml.safe_load(dump_resolved(sc)))
