"""AI/HPC reallocation: converting mining MW to leased data-centre halls (issue #13).

:mod:`hashfleet.hpc.spec` is the ``hpc:`` scenario section, :mod:`hashfleet.hpc.kernels` the
pure vectorised kernels (schedules, billing, default, MW by use, IRR, debt), and
:mod:`hashfleet.hpc.component` the engine component (:class:`HpcComponent`).  See
``docs/hpc.md``.
"""

from hashfleet.hpc.spec import HpcSpec

__all__ = ["HpcSpec"]
