"""The building blocks of every scenario section: the frozen, strict :class:`Spec` base, the
:func:`_f` field helper that records units for the generated reference, and
:data:`ScenarioPath`.  Kept apart from :mod:`hashfleet.scenario.schema` so that the sections
other modules define (``scenario/hpc.py``, ``scenario/capital.py``) can use them and the schema
can import those sections without a cycle.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ScenarioPath", "Spec", "_f", "finite_data"]


def _f(default: Any = ..., *, unit: str | None = None, description: str, **kw: Any) -> Any:
    """A ``Field`` with a unit recorded for the generated reference."""
    if unit:
        kw["json_schema_extra"] = {"unit": unit}
    # No ``json_schema_extra=None`` otherwise: it would wipe the marker that an
    # ``Annotated`` type such as :data:`ScenarioPath` carries.
    return Field(default, description=description, **kw)


#: A file path in a scenario.  Relative paths are resolved against the directory of the
#: YAML file that set them (so ``extends`` chains work); ``builtin:NAME`` names shipped data.
ScenarioPath = Annotated[str, Field(min_length=1, json_schema_extra={"scenario_path": True})]


class Spec(BaseModel):
    """Base of all scenario sections: frozen, and unknown keys are errors."""

    # allow_inf_nan=False: a scenario number is always finite (and a resolved
    # scenario must round-trip through YAML/JSON, which has no inf or nan).
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )


def finite_data(value: Any, where: str = "") -> Any:
    """``value`` (plain YAML data) unchanged if every number in it is finite.

    Fields typed ``Any`` (a strategy's ``set``, a sweep's values, a policy's ``params``)
    are not checked by the schema's ``allow_inf_nan=False``; a NaN in them would make a
    scenario unequal to itself and ``inf`` would not survive the resolved round trip.

    Raises
    ------
    ValueError
        At the first NaN or infinity.
    """
    if isinstance(value, float) and not math.isfinite(value):
        at = f" at {where}" if where else ""
        raise ValueError(f"expected finite numbers, got {value}{at}")
    if isinstance(value, dict):
        for k, v in value.items():
            finite_data(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            finite_data(v, f"{where}[{i}]")
    return value
