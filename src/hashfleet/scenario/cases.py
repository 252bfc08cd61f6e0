"""The ``cases:`` scenario section: weighted bear/base/bull cases (opt-in).

::

    cases:
      bear: {weight: 0.25, set: {market.btc_price.start_usd: 60000}}
      base: {weight: 0.5}
      bull: {weight: 0.25, set: {market.btc_price.start_usd: 140000}}

Each case is the scenario with its ``set`` overrides (dotted paths, as ``--set``); the
weights are the cases' probabilities and must sum to 1.  ``hashfleet sensitivity --cases``
runs every case on the same seed and combines their per-path metrics into one mixture
distribution (:func:`hashfleet.studies.sensitivity.mixture`).  ``hashfleet run`` ignores the
section.  Like :mod:`hashfleet.scenario.hpc`, this module imports nothing from the package
but the field helpers, so ``schema.py`` can import it.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import model_validator

from hashfleet.scenario.fields import Spec, _f

__all__ = ["CaseSpec", "check_case_weights"]


class CaseSpec(Spec):
    """One weighted case."""

    weight: float = _f(ge=0, le=1, unit="probability", description="Probability of the case.")
    set: dict[str, Any] = _f(
        {}, description="Overrides of the case: dotted path -> value, as `--set` PATH=VALUE."
    )

    @model_validator(mode="after")
    def _paths(self) -> CaseSpec:
        bad = [k for k in self.set if not k or k.startswith("cases")]
        if bad:
            raise ValueError(f"set: expected dotted paths outside cases, got {bad}")
        return self


def check_case_weights(cases: dict[str, CaseSpec] | None) -> dict[str, CaseSpec] | None:
    """Raise ``ValueError`` unless the weights sum to 1 (within 1e-9) over ≥ 1 case."""
    if cases is None:
        return None
    if not cases:
        raise ValueError("expected at least one case, got none")
    total = math.fsum(c.weight for c in cases.values())
    if abs(total - 1.0) > 1e-9:
        weights = {k: c.weight for k, c in cases.items()}
        raise ValueError(f"weights: expected a sum of 1, got {total:g} ({weights})")
    return cases
