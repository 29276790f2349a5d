"""The sasmodels wrapper: I(q) of one catalogue class for one parameter set.

Everything here is a thin, cached layer over sasmodels' own calls, so that the
dataset code can ask for ``model_intensity(model, structure_factor, params,
resolution)`` thousands of times without paying for model loading, kernel
compilation or kernel allocation more than once per process.

* Models are loaded once per process and per ``(model, structure_factor)``
  pair, as double-precision C (DLL) kernels. ``SAS_OPENCL=none`` must be set
  before sasmodels is imported (``sasnn`` sets a default in ``conftest.py``;
  the CLI sets it as well), otherwise sasmodels may silently use OpenCL.
* Kernels are cached per model and per q_calc grid. The instrument reuses a
  finite set of grids, so this pays off; pass ``grid_key`` when the caller
  already has a name for the grid, otherwise the bytes of ``q_calc`` are hashed.
* ``compile_kernels`` must be called in the parent process before worker
  processes start: concurrent first compiles of the same model race on the
  shared DLL cache and fail with "file too short".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "bare_kernel_loop",
    "compile_kernels",
    "load_model",
    "model_intensity",
    "model_name",
]

# Per-process caches (never shared between processes; each worker fills its own).
_MODELS: dict[tuple[str, str | None], object] = {}
_KERNELS: dict[tuple[str, str | None, object], object] = {}
_MAX_KERNELS = 256  # finite set of instrument grids x classes; cleared when exceeded


def model_name(model: str, structure_factor: str | None = None) -> str:
    """The sasmodels model string: ``"sphere"`` or the product ``"sphere@hardsphere"``."""
    return model if structure_factor is None else f"{model}@{structure_factor}"


def load_model(model: str, structure_factor: str | None = None):
    """The compiled double-precision DLL model for ``(model, structure_factor)``, cached."""
    key = (model, structure_factor)
    cached = _MODELS.get(key)
    if cached is None:
        from sasmodels.core import build_model, load_model_info

        info = load_model_info(model_name(model, structure_factor))
        cached = build_model(info, dtype="double", platform="dll")
        _MODELS[key] = cached
    return cached


def compile_kernels(names: Iterable[tuple[str, str | None]]) -> None:
    """Compile (or load from the DLL cache) every ``(model, structure_factor)`` pair.

    Call this once in the parent process before starting workers. Building one
    tiny kernel forces sasmodels to compile the C source and load the DLL.
    """
    q = np.array([0.01, 0.1])
    for model, structure_factor in names:
        load_model(model, structure_factor).make_kernel([q]).release()


def _grid_key(q_calc: np.ndarray) -> str:
    q_calc = np.ascontiguousarray(q_calc, dtype=np.float64)
    return hashlib.blake2b(q_calc.tobytes(), digest_size=16).hexdigest()


def _kernel(model: str, structure_factor: str | None, q_calc: np.ndarray, grid_key=None):
    key = (model, structure_factor, _grid_key(q_calc) if grid_key is None else grid_key)
    kernel = _KERNELS.get(key)
    if kernel is None:
        if len(_KERNELS) >= _MAX_KERNELS:
            for old in _KERNELS.values():
                old.release()
            _KERNELS.clear()
        kernel = load_model(model, structure_factor).make_kernel([np.asarray(q_calc, float)])
        _KERNELS[key] = kernel
    return kernel


def model_intensity(
    model: str,
    structure_factor: str | None,
    params: Mapping[str, float | str],
    resolution,
    *,
    grid_key: object = None,
    cutoff: float = 0.0,
) -> np.ndarray:
    """Resolution-smeared I(q) of one model for one parameter set.

    Parameters
    ----------
    model, structure_factor : str, str or None
        sasmodels form-factor name and optional structure factor (``P@S``).
    params : mapping
        sasmodels keyword arguments, as returned by
        :func:`sasnn.catalog.sample_parameters` (``scale`` and ``background``
        included; polydispersity as ``<p>_pd``, ``<p>_pd_type``, ``<p>_pd_n``,
        ``<p>_pd_nsigma``). Parameters not given take sasmodels' defaults.
    resolution : sasmodels.resolution.Resolution
        ``Perfect1D``, ``Pinhole1D`` or ``Slit1D`` built by the caller; the
        model is evaluated on ``resolution.q_calc`` (Å⁻¹) and smeared onto
        ``resolution.q``.
    grid_key : hashable, optional
        Name of the ``q_calc`` grid for the kernel cache; by default a hash of
        its bytes.
    cutoff : float
        sasmodels' polydispersity weight cutoff (0 = integrate the full mesh).

    Returns
    -------
    ndarray, shape (len(resolution.q),)
        I(q) in cm⁻¹ (for ``scale`` = volume fraction and SLDs in 1e-6 Å⁻²).
    """
    from sasmodels.direct_model import call_kernel

    kernel = _kernel(model, structure_factor, resolution.q_calc, grid_key)
    theory = call_kernel(kernel, dict(params), cutoff=cutoff)
    return np.asarray(resolution.apply(theory), dtype=np.float64)


def bare_kernel_loop(
    model: str,
    structure_factor: str | None,
    param_sets: Sequence[Mapping[str, float | str]],
    q_calc: np.ndarray,
    *,
    cutoff: float = 0.0,
) -> np.ndarray:
    """The same kernel calls as :func:`model_intensity`, with nothing around them.

    For the overhead benchmark: one kernel built up front, then ``call_kernel``
    for each parameter set, no resolution, no caches, no validation.

    Returns
    -------
    ndarray, shape (len(param_sets), len(q_calc))
        Unsmeared I(q_calc) in cm⁻¹.
    """
    from sasmodels.direct_model import call_kernel

    kernel = load_model(model, structure_factor).make_kernel([np.asarray(q_calc, float)])
    try:
        out = np.empty((len(param_sets), len(q_calc)))
        for i, params in enumerate(param_sets):
            out[i] = call_kernel(kernel, dict(params), cutoff=cutoff)
    finally:
        kernel.release()
    return out
