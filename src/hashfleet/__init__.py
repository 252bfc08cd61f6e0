"""hashfleet: Monte Carlo simulation of Bitcoin mining fleets.

The public API is imported lazily so that ``import hashfleet`` stays light:

* :func:`simulate` — run a scenario, return :class:`Results`;
* :func:`load_scenario` — read and validate a YAML scenario;
* :class:`Scenario` — the validated scenario model;
* :func:`compare` — run a scenario's strategies on common random numbers, paired per path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hashfleet.version import __version__

if TYPE_CHECKING:
    from hashfleet.results import Results
    from hashfleet.runner import simulate
    from hashfleet.scenario import load_scenario
    from hashfleet.scenario.schema import Scenario
    from hashfleet.studies.compare import compare

__all__ = ["Results", "Scenario", "__version__", "compare", "load_scenario", "simulate"]

_LAZY = {
    "simulate": "hashfleet.runner",
    "Results": "hashfleet.results",
    "load_scenario": "hashfleet.scenario",
    "Scenario": "hashfleet.scenario.schema",
    "compare": "hashfleet.studies.compare",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hashfleet' has no attribute {name!r}")
