"""What a real instrument does to a model curve: Q window, binning, resolution, scale, noise.

A simulated measurement is made in three steps, mirroring a real experiment:

1. :func:`draw_setup` picks an instrument set-up (a 3-configuration SANS merge, one
   SANS configuration, a lab SAXS camera or a synchrotron SAXS/WAXS line) and one
   of its Q grids with the dQ a reduction program would write for it.
2. The caller evaluates the model on that grid, smeared through sasmodels'
   resolution module (:func:`resolution_for`).
3. :func:`measure` puts the model curve on an absolute scale, adds a flat
   incoherent background and counting noise that follows the counts per bin.

Grids are built deterministically from a fixed table of *variants* per set-up, so
each worker process builds every resolution matrix once and reuses it; the
per-curve randomness is in which variant is used and in scale, background and flux.

Units: q and dq in Å⁻¹, intensities in cm⁻¹.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field

import numpy as np

#: σ of a Gaussian = FWHM / this.
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


@dataclass(frozen=True)
class Configuration:
    """One detector configuration of a pinhole instrument.

    Reduction software bins a 2-D detector into annuli of constant width in q, so the
    points are linearly spaced within a configuration. The resolution combines the
    wavelength spread (∝ q) with a geometric term that is constant in q (collimation,
    beam size, pixel size), as in Mildner & Carpenter (1984).
    """

    q_min: float  # Å⁻¹, first bin
    q_max: float  # Å⁻¹, last bin
    n_points: int  # bins written by the reduction
    wavelength_spread: float  # Δλ/λ, FWHM
    dq_geometry: float  # Å⁻¹, σ of the geometric (angular) contribution


@dataclass(frozen=True)
class SetupKind:
    """A family of instrument set-ups and the ranges its variants are drawn from."""

    name: str
    description: str
    weight: float  # share of simulated curves measured on this kind of set-up
    configurations: tuple[tuple[float, float], ...]  # per configuration: (q_min, q_max) Å⁻¹, nominal
    q_jitter: float  # each variant scales all q limits by exp(U(-j, j))
    points: tuple[int, int]  # bins per configuration, drawn uniformly
    wavelength_spread: tuple[float, float]  # Δλ/λ FWHM range
    angular_dq_fraction: tuple[float, float]  # geometric σ as a fraction of each configuration's q_min


#: The set-ups. Q limits are those of typical facility instruments: a 3-configuration
#: SANS merge (e.g. NIST NG7, D22 at 1.4, 5 and 17 m), single SANS configurations, a
#: lab pinhole SAXS camera (Cu Kα, monochromatic: small Δλ/λ) and a synchrotron line.
SETUP_KINDS: tuple[SetupKind, ...] = (
    SetupKind(
        "sans-3config",
        "SANS, three merged detector distances",
        0.35,
        ((0.0012, 0.012), (0.009, 0.09), (0.06, 0.5)),
        0.35,
        (40, 90),
        (0.08, 0.15),
        (0.15, 0.35),
    ),
    SetupKind(
        "sans-1config-low",
        "SANS, one long detector distance",
        0.1,
        ((0.003, 0.05),),
        0.5,
        (60, 120),
        (0.08, 0.15),
        (0.15, 0.35),
    ),
    SetupKind(
        "sans-1config-mid",
        "SANS, one middle detector distance",
        0.15,
        ((0.008, 0.15),),
        0.5,
        (60, 120),
        (0.08, 0.15),
        (0.15, 0.35),
    ),
    SetupKind(
        "saxs-lab",
        "Lab pinhole SAXS, Cu Kα",
        0.2,
        ((0.01, 0.6),),
        0.3,
        (150, 300),
        (0.0005, 0.002),
        (0.1, 0.3),
    ),
    SetupKind(
        "saxs-synchrotron",
        "Synchrotron SAXS",
        0.2,
        ((0.003, 0.8),),
        0.4,
        (200, 400),
        (0.0001, 0.001),
        (0.05, 0.2),
    ),
)


@dataclass(frozen=True)
class InstrumentConfig:
    """Everything about instruments and measurement that a dataset is simulated with.

    Recorded in the dataset manifest; the defaults here are the one place they live.
    """

    setups: tuple[str, ...] = tuple(k.name for k in SETUP_KINDS)  # which set-up kinds to use
    variants_per_setup: int = 24  # distinct Q grids per kind (each worker builds each once)
    grid_seed: int = 20240601  # fixes the variant table; part of the instrument, not the run
    background: tuple[float, float] = (0.001, 1.0)  # cm⁻¹, flat incoherent level, log-uniform
    # Where the model meets the background: experimenters choose sample and time so the
    # signal stands above the incoherent level over much of the window, not all of it.
    crossing: tuple[float, float] = (0.4, 1.0)  # position of that point, as a fraction of the grid's points
    signal_at_crossing: tuple[float, float] = (0.3, 3.0)  # model / background there, log-uniform
    min_signal_to_background: float = 5.0  # the model must rise this far above background somewhere
    max_intensity: float = 1.0e4  # cm⁻¹: no real sample scatters more; stronger draws are scaled down
    counts_per_unit: tuple[float, float] = (30.0, 3.0e4)  # counts per cm⁻¹ in the first bin, log-uniform
    systematic_error: tuple[float, float] = (
        0.002,
        0.02,
    )  # relative σ added in quadrature (normalisation, transmission)

    def __post_init__(self) -> None:
        known = {k.name for k in SETUP_KINDS}
        unknown = sorted(set(self.setups) - known)
        if unknown or not self.setups:
            raise ValueError(f"unknown instrument set-up(s) {unknown}; valid: {', '.join(sorted(known))}")
        for name in ("background", "crossing", "signal_at_crossing", "counts_per_unit", "systematic_error"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"InstrumentConfig.{name} must satisfy 0 < low <= high, got ({low}, {high})")
        if self.variants_per_setup < 1:
            raise ValueError(f"variants_per_setup must be >= 1, got {self.variants_per_setup}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Grid:
    """One Q grid as a reduction would write it: points, their resolution, where they came from."""

    setup: str
    variant: int
    q: np.ndarray = field(repr=False)  # (n,) Å⁻¹, strictly increasing
    dq: np.ndarray = field(repr=False)  # (n,) Å⁻¹, Gaussian σ
    relative_bin_area: np.ndarray = field(repr=False)  # (n,) detector area per bin / first bin's
    configuration: np.ndarray = field(repr=False, default=None)  # (n,) int: which configuration


def _setup_kind(name: str) -> SetupKind:
    for kind in SETUP_KINDS:
        if kind.name == name:
            return kind
    raise ValueError(f"unknown instrument set-up {name!r}; valid: {', '.join(k.name for k in SETUP_KINDS)}")


def _configuration_points(conf: Configuration) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q = np.linspace(conf.q_min, conf.q_max, conf.n_points)
    dq = np.hypot(q * conf.wavelength_spread / FWHM_PER_SIGMA, conf.dq_geometry)
    # Annuli of constant width: the detector area (hence counts) per bin grows ∝ q.
    area = q / conf.q_min
    return q, dq, area


@functools.cache
def grid(setup: str, variant: int, grid_seed: int) -> Grid:
    """The Q grid of one variant of one set-up kind (deterministic, cached per process)."""
    kind = _setup_kind(setup)
    rng = np.random.default_rng([grid_seed, sum(map(ord, setup)), variant])
    stretch = math.exp(rng.uniform(-kind.q_jitter, kind.q_jitter))
    spread = rng.uniform(*kind.wavelength_spread)
    angular = rng.uniform(*kind.angular_dq_fraction)
    parts = []
    for q_min, q_max in kind.configurations:
        n = int(rng.integers(kind.points[0], kind.points[1] + 1))
        conf = Configuration(q_min * stretch, q_max * stretch, n, spread, angular * q_min * stretch)
        parts.append(_configuration_points(conf))
    # In each overlap the longer-distance configuration (finer resolution) is kept and
    # the next one starts after it, as reduction software trims overlapping ranges.
    q_parts, dq_parts, area_parts, index_parts = [], [], [], []
    lower = -math.inf
    for index, (q, dq, area) in enumerate(parts):
        keep = q > lower
        q_parts.append(q[keep])
        dq_parts.append(dq[keep])
        area_parts.append(area[keep])
        index_parts.append(np.full(int(keep.sum()), index))
        lower = q[keep][-1]
    q, dq, area, index = (np.concatenate(p) for p in (q_parts, dq_parts, area_parts, index_parts))
    return Grid(setup, variant, q, dq, area / area[0], index)


@functools.cache
def resolution_for(setup: str, variant: int, grid_seed: int):
    """sasmodels' pinhole resolution for one grid (built once per process)."""
    from sasmodels.resolution import Pinhole1D

    g = grid(setup, variant, grid_seed)
    return Pinhole1D(g.q, g.dq)


def draw_setup(config: InstrumentConfig, rng: np.random.Generator) -> Grid:
    """Pick a set-up kind (by its weight) and one of its variants."""
    kinds = [_setup_kind(name) for name in config.setups]
    weights = np.array([k.weight for k in kinds])
    kind = kinds[rng.choice(len(kinds), p=weights / weights.sum())]
    variant = int(rng.integers(config.variants_per_setup))
    return grid(kind.name, variant, config.grid_seed)


@dataclass(frozen=True)
class Measurement:
    """A simulated reduced curve and the measurement parameters that made it."""

    intensity: np.ndarray  # (n,) cm⁻¹, with background and noise
    sigma: np.ndarray  # (n,) cm⁻¹
    scale: float  # factor applied to the scale=1 model curve
    background: float  # cm⁻¹
    counts_per_unit: float  # counts per cm⁻¹ in the first bin
    systematic_error: float  # relative


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def measure(
    model: np.ndarray, g: Grid, config: InstrumentConfig, rng: np.random.Generator
) -> Measurement | None:
    """Turn a smeared, scale-1 model curve on grid ``g`` into a noisy measurement.

    Absolute scale: the background B is drawn on an absolute scale, then the model is
    scaled so that it equals ``signal_at_crossing`` × B at a drawn point of the grid
    (``crossing``). This keeps B physical while the signal dominates a realistic
    part of the window. No curve exceeds ``max_intensity``.

    Returns None when the curve can't be measured: the model is not finite and
    non-negative everywhere, or it never rises ``min_signal_to_background`` times above
    the background (a curve that flat has nothing to identify).

    Noise: counts per bin are N = (I + B) · c · A(q), with c the counts per cm⁻¹ in
    the first bin and A the relative bin area; σ_I = (I + B) · sqrt(1/N + s²), with s
    a relative systematic term. The observed value is Gaussian around I + B.
    """
    model = np.asarray(model, dtype=float)
    if model.shape != g.q.shape or not np.all(np.isfinite(model)) or np.any(model < 0) or model.max() <= 0:
        return None
    background = _log_uniform(rng, config.background)
    crossing = int(rng.uniform(*config.crossing) * (len(model) - 1))
    # floor: where a model underflows to 0, it meets the background no lower than 1e-6 of its peak
    level = max(model[crossing], 1e-6 * model.max())
    scale = _log_uniform(rng, config.signal_at_crossing) * background / level
    scale = min(scale, config.max_intensity / model.max())
    intensity = model * scale
    if intensity.max() < config.min_signal_to_background * background:
        return None
    counts_per_unit = _log_uniform(rng, config.counts_per_unit)
    systematic = rng.uniform(*config.systematic_error)
    expected = intensity + background
    counts = expected * counts_per_unit * g.relative_bin_area
    sigma = expected * np.sqrt(1.0 / counts + systematic**2)
    observed = expected + sigma * rng.standard_normal(expected.shape)
    return Measurement(observed, sigma, scale, background, counts_per_unit, systematic)
