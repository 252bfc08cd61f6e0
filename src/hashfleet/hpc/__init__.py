"""AI/HPC reallocation: converting mining MW to leased data-centre halls (issue #13).

:mod:`hashfleet.scenario.hpc` is the ``hpc:`` scenario section, :mod:`hashfleet.hpc.kernels` the
pure vectorised kernels (schedules, billing, default, MW by use, IRR, debt),
:mod:`hashfleet.hpc.state` the per-path state machine (on :mod:`hashfleet.hpc.projects`,
:mod:`hashfleet.hpc.arrays` and :mod:`hashfleet.hpc.leases`) and
:mod:`hashfleet.hpc.component` the engine component (:class:`HpcComponent`).  See
``docs/hpc.md``.

Only the spec is imported eagerly (the scenario schema imports it); the rest loads on first
use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hashfleet.scenario.hpc import HpcSpec

if TYPE_CHECKING:
    from hashfleet.hpc.component import HpcComponent, hpc_run_of

__all__ = ["HpcComponent", "HpcSpec", "hpc_run_of"]


def __getattr__(name: str) -> Any:
    if name in ("HpcComponent", "hpc_run_of"):
        from hashfleet.hpc import component

        return getattr(component, name)
    raise AttributeError(f"module 'hashfleet.hpc' has no attribute {name!r}")
