"""Validation cases for p(r): sasmodels curves "measured" on a SANS-like set-up, with exact truth.

Each case is a sasmodels model with fixed parameters and the truth that the
inversion must recover, computed independently of it from geometry
(:mod:`sasnn.pr.physics`): the exact p(r) (overlap volumes of concentric spheres,
or the orientation-averaged overlap of a cylinder with its translate), Rg from
that p(r)'s second moment (analytic for the sphere, √(3/5) R, and the cylinder,
√(R²/2 + L²/12)) and Dmax from the particle's geometry.

The measurement mimics one SANS detector distance as reduction software writes
it: linear q bins from 0.005 to 0.35 Å⁻¹, Gaussian resolution from a 10 %
(FWHM) wavelength spread plus a constant geometric term, counts per bin growing
with the annulus area (∝ q), a flat incoherent background that is measured
separately and subtracted (its counting noise remains), and Poisson noise drawn
as Gaussian through an explicit generator.  The forward intensity gets about
1 % error in the first bin and the signal meets the noise near the last bins.

Units: q, dq in Å⁻¹; I, σ in cm⁻¹; r in Å; p(r) in cm⁻¹ Å⁻¹.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sasnn.pr import physics

Q_MIN, Q_MAX, N_Q = 0.005, 0.35, 231  # Å⁻¹; 0.0015 Å⁻¹ bins
WAVELENGTH_SPREAD = 0.10  # Δλ/λ, FWHM
DQ_GEOMETRY = 0.0008  # Å⁻¹, σ of the angular term
BACKGROUND_FRACTION = 0.02  # incoherent level relative to I(0)
FIRST_BIN_COUNTS = 1.0e4  # counts in the first bin: ~1 % error there


@dataclass(frozen=True)
class PrCase:
    """One validation particle: sasmodels name and parameters, and its true p(r).

    Attributes
    ----------
    name : str
        Short label ("sphere", "cylinder", "core-shell").
    model : str
        sasmodels model name.
    params : dict
        sasmodels parameters (scale = volume fraction, SLDs in 10⁻⁶ Å⁻², lengths in Å).
    d_max : float
        True maximum dimension in Å.
    """

    name: str
    model: str
    params: dict = field(repr=False)
    d_max: float

    def true_pr(self, r: np.ndarray) -> np.ndarray:
        """Exact p(r) in cm⁻¹ Å⁻¹ at ``r`` (Å), on sasmodels' absolute scale."""
        par = self.params
        if self.model == "sphere":
            return physics.pr_concentric_spheres(
                r, [par["radius"]], [par["sld"] - par["sld_solvent"]], par["scale"]
            )
        if self.model == "core_shell_sphere":
            outer = par["radius"] + par["thickness"]
            contrasts = [par["sld_shell"] - par["sld_solvent"], par["sld_core"] - par["sld_shell"]]
            return physics.pr_concentric_spheres(r, [outer, par["radius"]], contrasts, par["scale"])
        if self.model == "cylinder":
            gamma = physics.gamma_cylinder(r, par["radius"], par["length"])
            return physics.pr_from_gamma(r, gamma, par["scale"], par["sld"] - par["sld_solvent"])
        raise ValueError(f"no exact p(r) for model {self.model!r}")

    def shape_error(self, r: np.ndarray, p: np.ndarray) -> float:
        """L1 distance between area-normalised p(r)s: ∫ |p/∫p − p_true/∫p_true| dr.

        0 for the true shape, 2 for disjoint supports; ``p`` (any unit) on ``r`` (Å)
        is taken as zero beyond its last point.
        """
        r_true, p_true, _, _ = self.truth()
        p_on = np.interp(r_true, r, p, right=0.0)
        return float(np.trapezoid(np.abs(p_on / np.trapezoid(p_on, r_true)
                                         - p_true / np.trapezoid(p_true, r_true)), r_true))

    def truth(self, n_r: int = 2001) -> tuple[np.ndarray, np.ndarray, float, float]:
        """Exact (r, p(r), Rg, I(0)) on ``n_r`` points from 0 to Dmax."""
        r = np.linspace(0.0, self.d_max, n_r)
        p = self.true_pr(r)
        i0, rg = physics.pr_moments(r, p)
        return r, p, rg, i0


CASES: tuple[PrCase, ...] = (
    PrCase("sphere", "sphere",
           {"scale": 0.01, "radius": 50.0, "sld": 1.0, "sld_solvent": 6.0}, 100.0),
    PrCase("cylinder", "cylinder",
           {"scale": 0.01, "radius": 20.0, "length": 120.0, "sld": 1.0, "sld_solvent": 6.0},
           float(np.hypot(40.0, 120.0))),
    # shell-dominated contrast: a nearly hollow shell, p(r) skewed to large r like apoferritin
    PrCase("core-shell", "core_shell_sphere",
           {"scale": 0.01, "radius": 40.0, "thickness": 15.0, "sld_core": 5.5,
            "sld_shell": 1.0, "sld_solvent": 6.0}, 110.0),
)


def case(name: str) -> PrCase:
    """The validation case called ``name``."""
    for c in CASES:
        if c.name == name:
            return c
    raise ValueError(f"unknown p(r) case {name!r}; valid: {', '.join(c.name for c in CASES)}")


def measure(c: PrCase, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Simulate a reduced SANS curve of case ``c``.

    Parameters
    ----------
    c : PrCase
    rng : numpy.random.Generator
        Source of the counting noise.

    Returns
    -------
    q, intensity, sigma, dq : ndarray, shape (N_Q,)
        q and dq (one-σ resolution) in Å⁻¹; background-subtracted I and its σ in cm⁻¹.
    """
    from sasmodels.core import load_model
    from sasmodels.data import empty_data1D
    from sasmodels.direct_model import DirectModel

    q = np.linspace(Q_MIN, Q_MAX, N_Q)
    dq = np.hypot(q * WAVELENGTH_SPREAD / (2 * np.sqrt(2 * np.log(2))), DQ_GEOMETRY)
    data = empty_data1D(q)
    data.dx = dq  # pinhole resolution, one σ
    model = DirectModel(data, load_model(c.model))
    ideal = model(background=0.0, **c.params)
    background = BACKGROUND_FRACTION * ideal[0]
    exposure = FIRST_BIN_COUNTS / (ideal[0] + background)  # counts per cm⁻¹ in the first bin
    area = q / q[0]  # annulus area per bin
    # sample run counts (I + B) and a background run counts B: both add variance
    sigma = np.sqrt((ideal + 2 * background) / (exposure * area))
    return q, ideal + sigma * rng.standard_normal(q.size), sigma, dq
