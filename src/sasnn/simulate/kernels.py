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
* Classes with ``ModelClass.tabulate`` (slow bodies whose lengths all scale
  together) are evaluated by rescaling a per-process table of the curve at unit
  size: I(q; L) = L³ I(q·L; 1), an exact identity of sasmodels' normalisation.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from sasnn.simulate.catalog import CATALOG

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
_TABLES: dict[tuple, np.ndarray] = {}
_MAX_TABLES = 512  # a few discrete shapes per tabulated class; cleared when exceeded


def model_name(model: str, structure_factor: str | None = None) -> str:
    """The sasmodels model string: ``model``, or the product ``"model@structure_factor"``."""
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
    tabulate: bool = True,
) -> np.ndarray:
    """Resolution-smeared I(q) of one model for one parameter set.

    Parameters
    ----------
    model, structure_factor : str, str or None
        sasmodels form-factor name and optional structure factor (``P@S``).
    params : mapping
        sasmodels keyword arguments, as returned by
        :func:`sasnn.simulate.sampling.sample_parameters` (``scale`` and ``background``
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
    tabulate : bool
        Use the per-process table of classes with ``ModelClass.tabulate`` (default);
        ``False`` calls the kernel directly, as for every other class.

    Returns
    -------
    ndarray, shape (len(resolution.q),)
        I(q) in cm⁻¹ (for ``scale`` = volume fraction and SLDs in 1e-6 Å⁻²).
    """
    from sasmodels.direct_model import call_kernel

    theory = None
    if structure_factor is None and tabulate:
        tab = getattr(CATALOG.get(model), "tabulate", None)
        if tab is not None:
            theory = _tabulated(model, tab, params, np.asarray(resolution.q_calc, float))
    if theory is None:
        kernel = _kernel(model, structure_factor, resolution.q_calc, grid_key)
        theory = call_kernel(kernel, dict(params), cutoff=cutoff)
    return np.asarray(resolution.apply(theory), dtype=np.float64)


def _tabulated(model: str, tab, params: Mapping, q_calc: np.ndarray) -> np.ndarray | None:
    """I(q_calc) from the cached unit-size curve of this shape, or None if out of range."""
    from sasmodels.direct_model import call_kernel

    size = float(params[tab.length])
    x_grid = tab.x
    x = q_calc * size
    if x.size == 0 or x.max() > x_grid[-1]:
        return None
    unit = {**params, tab.length: 1.0, "scale": 1.0, "background": 0.0}
    for par, power in tab.scaled.items():
        unit[par] = float(params[par]) / size**power
    # the shape: every parameter at unit size, rounded so that float noise in the
    # rescaling (R = fill·dnn, then R/dnn) maps one drawn shape onto one table
    shape = tuple(sorted((k, float(f"{v:.10g}") if isinstance(v, float) else v)
                         for k, v in unit.items()))
    key = (model, shape)
    table = _TABLES.get(key)
    if table is None:
        if len(_TABLES) >= _MAX_TABLES:
            _TABLES.clear()
        cached = _table_cache_path(model, shape, x_grid)
        try:
            table = np.load(cached, allow_pickle=False)
        except (OSError, ValueError):
            kernel = _kernel(model, None, x_grid, grid_key=("tabulation", model))
            table = np.asarray(call_kernel(kernel, unit), dtype=np.float64)
            _save_table(cached, table)
        _TABLES[key] = table
    log_x = np.log(np.maximum(x, x_grid[0]))
    if np.all(table > 0):  # interpolate the decaying curve in log-log
        unit_i = np.exp(np.interp(log_x, np.log(x_grid), np.log(table)))
    else:
        unit_i = np.interp(log_x, np.log(x_grid), table)
    return params.get("scale", 1.0) * size**3 * unit_i + params.get("background", 0.0)


def _table_cache_path(model: str, shape: tuple, x_grid: np.ndarray) -> Path:
    """Where a unit-size table lives on disk. Tables take minutes to build (pringle,
    superball, paracrystals) and are exact functions of the model, its shape, the x
    grid and the sasmodels version, so every process and every later run shares them."""
    import sasmodels

    digest = hashlib.blake2b(repr((model, shape, sasmodels.__version__)).encode(), digest_size=16)
    digest.update(np.ascontiguousarray(x_grid, dtype=np.float64).tobytes())
    root = Path(os.environ.get("SASNN_CACHE_DIR", Path.home() / ".cache" / "sasnn"))
    return root / "tables" / f"{model}-{digest.hexdigest()}.npy"


def _save_table(path: Path, table: np.ndarray) -> None:
    """Atomic write, so a concurrent reader never sees half a table; failures only cost time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
        with open(tmp, "wb") as f:
            np.save(f, table, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        pass


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
    for each parameter set, no resolution, no caches, no validation. Tabulated
    classes never call the kernel per curve in :func:`model_intensity`; compare
    them with ``model_intensity(..., tabulate=False)``.

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
