"""Globular proteins "measured" on a lab SAXS source, with exact Rg and Dmax: the protein p(r) bench.

Particles (sasmodels, orientation-averaged): ellipsoids of revolution, triaxial
ellipsoids and core-shell ellipsoids (a protein core with a 3 Å hydration shell
about 10 % denser than water), with Rg 12–40 Å and axial ratios 0.5–2.  X-ray
contrasts: protein 12.3, shell 10.4, water 9.46 (10⁻⁶ Å⁻²).  Truth is geometry:
Dmax is twice the longest outer semi-axis; Rg² is (a² + b² + c²)/5 for a
homogeneous ellipsoid and the contrast-weighted mean of the core's and the outer
ellipsoid's Rg² for the core-shell one (exact, the centres coincide).

The measurement mimics a lab pinhole camera: linear q bins 0.01–0.6 Å⁻¹, a
constant resolution (beam size, σ = 0.0015 Å⁻¹), and counting noise from sample
and buffer runs, σ² = (I + 2B)/(E Ω(q)).  The buffer level B is 0.5–3 × I(q_min) (a
dilute protein scatters about as much as water), the exposure E gives 0.5–2 %
error at q_min, and the detector covers ever less of each ring above 0.3 Å⁻¹,
Ω(q) = (q/q_min)/(1 + (q/0.3)⁸): the noise rises steeply there, and I/σ falls
below 1 between 0.25 and 0.4 Å⁻¹, as on the curves that make GNOM users cut q.
The azimuthal integration splits pixels between neighbouring q bins, so the
noise of adjacent bins is correlated (a moving average with weights s, 1, s,
s uniform in 0–0.7 per curve: lag-1 correlation up to 0.7), while σ in the file
is each bin's own, as integration software writes it.
Aggregates: polydisperse spheres of radius 150–300 Å adding 2–8 % to I at q_min,
negligible above q ≈ 0.03 Å⁻¹ (the usual low-q upturn of a lab curve); they are
not part of the truth.  Every draw comes from the generator passed in.

Units: q, dq in Å⁻¹; I, σ in cm⁻¹ (arbitrary scale); lengths in Å.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Q_MIN, Q_MAX, N_Q = 0.01, 0.6, 296  # Å⁻¹, 0.002 Å⁻¹ bins
DQ = 0.0015  # Å⁻¹, one-σ resolution of a lab pinhole camera
Q_COVERAGE = 0.3  # Å⁻¹: above it the detector covers ever less of each ring
MIN_ERROR = 0.001  # smallest relative error at q_min a lab source reaches
Q_CROSS = (0.22, 0.4)  # Å⁻¹: range of the q where I/σ falls to 1
SLD_PROTEIN, SLD_SHELL, SLD_WATER = 12.3, 10.4, 9.46  # X-rays, 10⁻⁶ Å⁻²
SHELL = 3.0  # Å, hydration shell
MAX_SHARE = 0.7  # largest share of a bin's noise that comes from each neighbour
SHAPES = ("ellipsoid", "triaxial", "core-shell")


@dataclass(frozen=True)
class Protein:
    """One simulated protein: sasmodels model and parameters, true Rg and Dmax (Å)."""

    label: str
    model: str
    params: dict = field(repr=False)
    rg: float
    d_max: float


def _rg2(axes) -> float:
    return float(np.sum(np.square(axes)) / 5.0)


def draw_protein(shape: str, rng: np.random.Generator, label: str = "") -> Protein:
    """A random globular protein of ``shape`` (one of ``SHAPES``), Rg 12–40 Å."""
    rg = rng.uniform(12.0, 40.0)
    ratio = np.exp(rng.uniform(np.log(0.5), np.log(2.0)))  # polar / equatorial
    if shape == "ellipsoid":
        a = rg * np.sqrt(5.0 / (2.0 + ratio**2))
        params = {"radius_equatorial": a, "radius_polar": ratio * a,
                  "sld": SLD_PROTEIN, "sld_solvent": SLD_WATER}
        return Protein(label or shape, "ellipsoid", params, rg, 2 * max(a, ratio * a))
    if shape == "triaxial":
        b_ratio = rng.uniform(1.0, 1.6)  # major / minor equatorial
        a = rg * np.sqrt(5.0 / (1.0 + b_ratio**2 + ratio**2))
        axes = (a, b_ratio * a, ratio * a)
        params = {"radius_equat_minor": axes[0], "radius_equat_major": axes[1],
                  "radius_polar": axes[2], "sld": SLD_PROTEIN, "sld_solvent": SLD_WATER}
        return Protein(label or shape, "triaxial_ellipsoid", params, rg, 2 * max(axes))
    if shape == "core-shell":
        a = (rg - 0.7 * SHELL) * np.sqrt(5.0 / (2.0 + ratio**2))  # core semi-axes a, a, ratio·a
        core, outer = (a, a, ratio * a), (a + SHELL, a + SHELL, ratio * a + SHELL)
        shell_contrast, core_excess = SLD_SHELL - SLD_WATER, SLD_PROTEIN - SLD_SHELL
        mass_outer, mass_core = shell_contrast * np.prod(outer), core_excess * np.prod(core)
        true_rg = np.sqrt((mass_outer * _rg2(outer) + mass_core * _rg2(core))
                          / (mass_outer + mass_core))
        params = {"radius_equat_core": a, "x_core": ratio, "thick_shell": SHELL,
                  "x_polar_shell": 1.0, "sld_core": SLD_PROTEIN, "sld_shell": SLD_SHELL,
                  "sld_solvent": SLD_WATER}
        return Protein(label or shape, "core_shell_ellipsoid", params, float(true_rg),
                       2 * max(outer))
    raise ValueError(f"unknown protein shape {shape!r}; valid: {', '.join(SHAPES)}")


def model_intensity(model: str, q: np.ndarray, **params) -> np.ndarray:
    """sasmodels I(q) (scale 1, no background) with this camera's resolution, cm⁻¹."""
    from sasmodels.core import load_model
    from sasmodels.data import empty_data1D
    from sasmodels.direct_model import DirectModel

    data = empty_data1D(q)
    data.dx = np.full(q.size, DQ)
    return DirectModel(data, load_model(model))(scale=1.0, background=0.0, **params)


def measure(protein: Protein, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Simulate a buffer-subtracted lab SAXS curve of ``protein``.

    Returns
    -------
    q, intensity, sigma, dq : ndarray, shape (N_Q,)
        q and dq (one-σ resolution) in Å⁻¹; I and σ in cm⁻¹ on an arbitrary scale.
    """
    q = np.linspace(Q_MIN, Q_MAX, N_Q)
    ideal = model_intensity(protein.model, q, **protein.params)
    ideal = ideal / ideal[0]  # I(q_min) = 1
    excess = rng.uniform(0.02, 0.08)  # aggregates' share of I at q_min
    aggregates = model_intensity("sphere", q, radius=rng.uniform(150.0, 300.0), radius_pd=0.25,
                            radius_pd_n=35, sld=SLD_PROTEIN, sld_solvent=SLD_WATER)
    intensity = ideal + excess * aggregates / aggregates[0]
    # buffer (water, capillary) relative to I(q_min): I(0) grows with the mass, ∝ Rg³
    buffer = (14.0 / protein.rg) ** 3 * np.exp(rng.uniform(np.log(0.3), np.log(2.0)))
    coverage = (q / q[0]) / (1.0 + (q / Q_COVERAGE) ** 8)
    unit = np.sqrt((intensity + 2.0 * buffer) / coverage)  # σ at unit exposure
    # the exposure puts the point where the signal meets the noise (I/σ = 1, over ±0.02 Å⁻¹)
    # at a random q between 0.22 and 0.4 Å⁻¹
    crossing = np.abs(q - rng.uniform(Q_CROSS[0], Q_CROSS[1])) <= 0.02
    exposure = (unit[crossing].mean() / ideal[crossing].mean()) ** 2
    exposure = min(exposure, (unit[0] / (MIN_ERROR * intensity[0])) ** 2)
    sigma = unit / np.sqrt(exposure)
    # pixel splitting shares each pixel's counts between neighbouring bins: the noise of
    # adjacent bins is correlated, while the file's σ is the marginal one of each bin
    share = rng.uniform(0.0, MAX_SHARE)
    white = rng.standard_normal(q.size + 2)
    noise = (white[1:-1] + share * (white[:-2] + white[2:])) / np.sqrt(1.0 + 2.0 * share**2)
    return q, intensity + sigma * noise, sigma, np.full(q.size, DQ)


def proteins(n_per_shape: int, seed: int = 0) -> list[Protein]:
    """``n_per_shape`` proteins of each shape, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    return [draw_protein(shape, rng, f"{shape} {k}") for shape in SHAPES
            for k in range(n_per_shape)]


def measure_rebinned(protein: Protein, rng: np.random.Generator, width: int = 5,
                     error: float = 0.01) -> tuple[np.ndarray, ...]:
    """A curve whose noise is shared by ``width`` neighbouring bins (rebinning, smoothing).

    No aggregates; σ is each bin's own (``error`` relative at q_min, with the buffer at
    2 × I(q_min) and the same steep rise above 0.3 Å⁻¹ as :func:`measure`), while the
    noise is a moving average of ``width`` independent draws: lag-k correlation
    1 − k/width, so about ``width`` bins make one independent point.
    """
    q = np.linspace(Q_MIN, Q_MAX, N_Q)
    ideal = model_intensity(protein.model, q, **protein.params)
    ideal = ideal / ideal[0]
    coverage = (q / q[0]) / (1.0 + (q / Q_COVERAGE) ** 8)
    sigma = error * np.sqrt((ideal + 2.0) / 3.0 / coverage)
    noise = np.convolve(rng.standard_normal(q.size + width - 1), np.ones(width), "valid")
    return q, ideal + sigma * noise / np.sqrt(width), sigma, np.full(q.size, DQ)


def lysozyme_like() -> Protein:
    """A prolate ellipsoid of revolution, semi-axes 15, 15, 20 Å (Rg 13.0 Å, Dmax 40 Å)."""
    params = {"radius_equatorial": 15.0, "radius_polar": 20.0, "sld": SLD_PROTEIN,
              "sld_solvent": SLD_WATER}
    return Protein("ellipsoid 15/20 Å", "ellipsoid", params,
                   float(np.sqrt((2 * 15.0**2 + 20.0**2) / 5)), 40.0)
