"""Parameter uncertainty of the supply model: stored calibrations and per-path draws.

A calibration file (``hashfleet calibrate``) holds the fitted supply parameters and, in its
``uncertainty`` section, a Gaussian distribution of the fitted parameters in the optimiser's
transformed space (logs of the positive parameters, the margin threshold as is): a mean
vector ``mean`` (k,), a covariance ``covariance`` (k, k) and the bounds of that space.  The
method that produced it (a Laplace approximation) is described in
:mod:`hashfleet.studies.calibration`.

With ``network.hashrate.parameter_draws: true`` every Monte Carlo path draws its own
parameters: ``x = mean + L·z`` with ``L`` the Cholesky factor of the covariance and ``z`` k
standard normals from the path's ``network_params`` stream (drawn block by block, so a path's
parameters depend only on the root seed and its index, whatever the chunking), clipped to
the bounds and mapped back (exp for the logged ones).  The fitted fields of
:class:`~hashfleet.network.supply.SupplyParams` then hold per-path arrays of shape
``(n_paths,)``.

Calibrations are found by name (:func:`resolve_calibration`): ``NAME`` →
``<scenario dir>/calibrations/NAME.json``, ``./calibrations/NAME.json``, then the shipped
``hashfleet/data/calibrations/NAME.json``; ``builtin:NAME`` is the shipped one; a path to a
file is that file.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hashfleet.errors import DataError, InputError
from hashfleet.numeric import rows_dot

if TYPE_CHECKING:
    from hashfleet.engine.core import ChunkEngine
    from hashfleet.network.supply import SupplyParams

__all__ = [
    "ParameterDistribution",
    "PerPathSampler",
    "apply_calibration",
    "apply_forecast_options",
    "load_named_calibration",
    "per_path_sampler",
    "resolve_calibration",
    "symmetric_eigen",
]

FloatArray = NDArray[np.float64]
#: Fields of the spec fitted by calibration, in the order of the transformed vector, and
#: whether each is logged in the transformed space.
TRANSFORMS: tuple[tuple[str, bool], ...] = (
    ("power_cost_median_usd_per_mwh", True),
    ("power_cost_sigma", True),
    ("investment_rate_per_year", True),
    ("investment_margin_threshold", False),
    ("retirement_rate_per_year", True),
    ("switch_half_life_days", True),
)


@dataclass(frozen=True)
class ParameterDistribution:
    """Gaussian distribution of the fitted parameters in the transformed space.

    Attributes
    ----------
    names : tuple of str
        Field names, in vector order.
    logged : tuple of bool
        Whether each is stored as its natural log.
    mean : ndarray, shape (k,)
    covariance : ndarray, shape (k, k)
    lower, upper : ndarray, shape (k,)
        Bounds of the transformed space (draws are clipped to them).
    """

    names: tuple[str, ...]
    logged: tuple[bool, ...]
    mean: FloatArray
    covariance: FloatArray
    lower: FloatArray
    upper: FloatArray

    @classmethod
    def from_json(cls, section: dict[str, Any]) -> ParameterDistribution:
        """Read the ``uncertainty`` section of a calibration file."""
        try:
            names = tuple(section["names"])
            logged = tuple(bool(x) for x in section["logged"])
            mean = np.asarray(section["mean"], dtype=np.float64)
            cov = np.asarray(section["covariance"], dtype=np.float64)
            lower = np.asarray(section["lower"], dtype=np.float64)
            upper = np.asarray(section["upper"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"calibration uncertainty: malformed section ({exc})") from exc
        k = len(names)
        if mean.shape != (k,) or cov.shape != (k, k) or lower.shape != (k,) or len(logged) != k:
            raise DataError(
                f"calibration uncertainty: expected mean ({k},), covariance ({k}, {k}), got "
                f"{mean.shape}, {cov.shape}"
            )
        return cls(names, logged, mean, cov, lower, upper)

    def factor(self) -> FloatArray:
        """A square root ``F`` of the covariance, ``F·Fᵀ = Σ``: ``V·diag(√w)`` from the
        symmetric eigen-decomposition (negative rounding-level eigenvalues set to 0)."""
        w, v = symmetric_eigen(self.covariance)
        return v * np.sqrt(np.maximum(w, 0.0))[None, :]

    def transform(self, z: FloatArray) -> dict[str, FloatArray]:
        """Parameter values for standard normals ``z`` of shape (n, k): name → (n,) array."""
        x = self.mean[None, :] + rows_dot(z, np.ascontiguousarray(self.factor().T))
        x = np.clip(x, self.lower[None, :], self.upper[None, :])
        return {
            name: (np.exp(x[:, i]) if lg else x[:, i].copy())
            for i, (name, lg) in enumerate(zip(self.names, self.logged, strict=True))
        }


def symmetric_eigen(a: FloatArray, *, sweeps: int = 100) -> tuple[FloatArray, FloatArray]:
    """Eigenvalues (ascending) and eigenvectors (columns) of a small symmetric matrix.

    Cyclic Jacobi rotations in NumPy element operations: the package keeps LAPACK/BLAS out of
    everything but :mod:`hashfleet.numeric` (the result must not depend on the CPU's kernel),
    and the matrices here are the k × k (k = 6) covariances of the calibration.

    Parameters
    ----------
    a : ndarray, shape (k, k)
    sweeps : int
        Upper bound on sweeps (each rotates every off-diagonal pair once).
    """
    m = 0.5 * (np.asarray(a, dtype=np.float64) + np.asarray(a, dtype=np.float64).T)
    k = m.shape[0]
    v = np.eye(k)
    scale = max(float(np.abs(m).max()), 1e-300)
    for _ in range(sweeps):
        off = float(np.sqrt(np.sum(np.triu(m, 1) ** 2)))
        if off <= 1e-15 * scale:
            break
        for p in range(k - 1):
            for q in range(p + 1, k):
                if m[p, q] == 0.0:
                    continue
                theta = (m[q, q] - m[p, p]) / (2.0 * m[p, q])
                t = np.sign(theta) / (abs(theta) + np.sqrt(theta * theta + 1.0))
                if theta == 0.0:
                    t = 1.0
                c = 1.0 / np.sqrt(t * t + 1.0)
                s = t * c
                mp, mq = m[:, p].copy(), m[:, q].copy()
                m[:, p], m[:, q] = c * mp - s * mq, s * mp + c * mq
                mp, mq = m[p, :].copy(), m[q, :].copy()
                m[p, :], m[q, :] = c * mp - s * mq, s * mp + c * mq
                vp, vq = v[:, p].copy(), v[:, q].copy()
                v[:, p], v[:, q] = c * vp - s * vq, s * vp + c * vq
    w = np.diag(m).copy()
    order = np.argsort(w)
    return w[order], v[:, order]


class PerPathSampler:
    """The ``param_sampler`` hook of :class:`~hashfleet.network.supply.EndogenousSupply`
    (a class, not a closure, so that it pickles with the components).

    Called with a chunk's engine and the point parameters, it returns them with the fitted
    fields replaced by per-path arrays (n_paths,) drawn from the chunk's ``network_params``
    streams: ``k`` standard normals per path, stream block by stream block.
    """

    def __init__(self, dist: ParameterDistribution) -> None:
        self.dist = dist

    def __call__(self, engine: ChunkEngine, params: SupplyParams) -> SupplyParams:
        """The chunk's parameters (see the class docstring)."""
        rng = engine.rng("network_params")
        k = len(self.dist.names)
        z = np.concatenate([g.standard_normal((rng.block_paths, k)) for g in rng.generators])
        values: dict[str, Any] = self.dist.transform(z[: engine.n_paths])
        return dataclasses.replace(params, **values)


def per_path_sampler(dist: ParameterDistribution) -> PerPathSampler:
    """The per-path sampler of ``dist`` (see :class:`PerPathSampler`)."""
    return PerPathSampler(dist)


def resolve_calibration(name: str, scenario_dir: Path | None = None) -> Path:
    """The file of the calibration ``name`` (see the module docstring).

    ``name`` is ``builtin:NAME`` (shipped), a path to a file, or a bare ``NAME`` — possibly
    already made absolute against the scenario's directory by the loader — looked up as
    ``<dir>/calibrations/NAME.json``, ``./calibrations/NAME.json`` and then shipped.

    Raises
    ------
    InputError
        If no such calibration exists (the message lists where it looked).
    """
    shipped_root = resources.files("hashfleet") / "data" / "calibrations"
    if name.startswith("builtin:"):
        stem = name.removeprefix("builtin:")
        cands: list[Path] = []
    else:
        p = Path(name)
        if not p.is_absolute():
            p = (scenario_dir or Path(".")) / p
        stem = p.stem if p.suffix == ".json" else p.name
        cands = [p, p.with_name(f"{p.name}.json"), p.parent / "calibrations" / f"{stem}.json"]
        cands.append(Path("calibrations") / f"{stem}.json")
    for c in cands:
        if c.is_file():
            return c
    shipped = shipped_root / f"{stem}.json"
    if shipped.is_file():
        return Path(str(shipped))
    have = sorted(p.stem for p in shipped_calibrations())
    looked = ", ".join(str(c) for c in cands) or "the shipped calibrations"
    raise InputError(
        f"network.hashrate.calibration: expected a calibration name (shipped: {have}) or a "
        f".json path, got {name!r} (looked in {looked})"
    )


def shipped_calibrations() -> list[Path]:
    """The calibration files shipped with the package."""
    root = resources.files("hashfleet") / "data" / "calibrations"
    if not root.is_dir():
        return []
    return [Path(str(p)) for p in root.iterdir() if p.name.endswith(".json")]


def load_named_calibration(name: str, scenario_dir: Path | None = None) -> dict[str, Any]:
    """Read the calibration ``name`` (a dict as written by ``hashfleet calibrate``)."""
    from hashfleet.scenario.files import MAX_YAML_BYTES, read_bytes

    path = resolve_calibration(name, scenario_dir)
    # regular files only, size-capped, read with a time limit; messages never quote content
    raw = read_bytes(path, what="calibration file", max_bytes=MAX_YAML_BYTES)
    try:
        data: dict[str, Any] = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise DataError(f"calibration file {path}: expected JSON{where}") from None
    if not isinstance(data, dict):
        raise DataError(f"calibration file {path}: expected a JSON object")
    if "fitted" not in data:
        raise DataError(f"calibration file {path}: expected a 'fitted' section")
    data["_path"] = str(path)
    return data


def apply_calibration(spec: Any, calibration: dict[str, Any]) -> Any:
    """``spec`` (an EndogenousHashrateSpec) with the calibration's values (``fitted``, and the
    ``fixed`` ones it was fitted with) on the fields the scenario does not set itself.

    Raises
    ------
    DataError
        A value the schema rejects (the message names the file and the field).
    """
    from pydantic import ValidationError

    mine = spec.model_fields_set
    given = calibration.get("fixed", {}) | calibration["fitted"]
    update = {k: v for k, v in given.items() if k not in mine and k in type(spec).model_fields}
    try:
        return type(spec).model_validate(spec.model_dump() | update)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise DataError(
            f"calibration file {calibration.get('_path', '?')}: fitted.{field}: "
            f"{err['msg']}, got {err.get('input')!r}"
        ) from None


def apply_forecast_options(
    components: list[Any], scenario: Any, scenario_dir: Path | None = None
) -> list[Any]:
    """Apply ``network.hashrate``'s ``calibration``, ``parameter_draws`` and ``regimes``.

    Replaces the :class:`~hashfleet.network.supply.EndogenousSupply` of ``components`` (built
    by :func:`~hashfleet.network.supply.build_supply_components`) by one with the
    calibration's values and, with ``parameter_draws``, the per-path sampler; appends a
    :class:`~hashfleet.network.regimes.Regimes` right after it when ``regimes`` is set.  With
    none of the three set, ``components`` is returned unchanged.

    Raises
    ------
    InputError
        A calibration that cannot be found, or ``parameter_draws`` / empty ``regimes`` fields
        without a calibration that has the section they need.
    """
    from hashfleet.network.regimes import RegimeParams, Regimes
    from hashfleet.network.supply import EndogenousSupply, supply_params_from_spec

    spec = scenario.network.hashrate
    if getattr(spec, "model", None) != "endogenous":
        return components
    if spec.calibration is None and not spec.parameter_draws and spec.regimes is None:
        return components
    where = "network.hashrate"
    if getattr(spec, "segments", None):
        raise InputError(
            f"{where}.segments: expected no segments with calibration, parameter_draws or "
            "regimes (per-segment calibration and draws are not implemented yet), got "
            f"{len(spec.segments)} segments"
        )
    cal: dict[str, Any] = {}
    if spec.calibration is not None:
        cal = load_named_calibration(spec.calibration, scenario_dir)
        spec = apply_calibration(spec, cal)
    elif spec.parameter_draws or spec.regimes is not None:
        raise InputError(
            f"{where}.calibration: expected a calibration name (parameter_draws and regimes "
            "take their distribution from it), got nothing"
        )
    sampler = None
    if spec.parameter_draws:
        if "uncertainty" not in cal:
            raise InputError(
                f"{where}.parameter_draws: expected a calibration with an uncertainty "
                f"section, got {cal['_path']} without one (re-run hashfleet calibrate)"
            )
        sampler = per_path_sampler(ParameterDistribution.from_json(cal["uncertainty"]))
    out: list[Any] = []
    for c in components:
        if not isinstance(c, EndogenousSupply):
            out.append(c)
            continue
        params = supply_params_from_spec(spec, scenario.run.start, scenario.run.horizon_days)
        out.append(EndogenousSupply(params, c.start_ehs, c.includes_fleet, sampler))
        if spec.regimes is not None:
            given = spec.regimes.model_dump()
            fitted = cal.get("regimes", {})
            missing = [k for k, v in given.items() if v is None and k not in fitted]
            if missing:
                raise InputError(
                    f"{where}.regimes.{missing[0]}: expected a value, or a calibration with a "
                    f"regimes section, got none in {cal['_path']}"
                )
            vals = {k: float(fitted[k] if v is None else v) for k, v in given.items()}
            out.append(Regimes(RegimeParams(**vals)))
    return out
