"""The lecture's scattering physics: absolute cross-section and the real-space transforms.

The lecture writes the macroscopic differential cross-section of particles A in a
matrix B as

.. math::

    \\frac{d\\Sigma}{d\\Omega}(Q) = \\phi_A\\,(\\rho_A-\\rho_B)^2\\,V_A\\,P(Q)\\,S_I(Q),

and the form factor as the Fourier transform of the normalised correlation
function :math:`\\gamma_0(r)` (the lecture's "radial pair correlation function",
:math:`\\gamma_0(0) = 1`),

.. math::

    P(Q) = \\frac{1}{V}\\int_0^\\infty 4\\pi r^2\\,\\gamma_0(r)\\,\\frac{\\sin Qr}{Qr}\\,dr,

which for a sphere of radius :math:`R` uses
:math:`\\gamma_0(r) = 1 - \\tfrac34 (r/R) + \\tfrac1{16}(r/R)^3` for :math:`r \\le 2R`.
With the pair-distance distribution :math:`p(r) = \\phi\\,\\Delta\\rho^2\\, r^2\\gamma_0(r)`
the dilute cross-section is :math:`I(Q) = 4\\pi\\int_0^{D_{max}} p(r)\\,\\sin(Qr)/(Qr)\\,dr`.

Units (those of sasmodels): Q in Å⁻¹, r, R and lengths in Å, volumes in Å³,
scattering-length densities and contrasts in 10⁻⁶ Å⁻², I in cm⁻¹, p(r) in
cm⁻¹ Å⁻¹.  Since 10⁻¹² Å⁻⁴ · Å³ = 10⁻⁴ cm⁻¹, a factor ``1e-4`` converts
``contrast**2 * volume`` to cm⁻¹.

The reference p(r) functions (concentric spheres, cylinder) are exact geometry
(overlap volumes), not fits; the tests and ``bench/`` use them as ground truth.

References
----------
Guinier, A. & Fournet, G. (1955). *Small-Angle Scattering of X-rays*. Wiley.
Glatter, O. & Kratky, O. (1982). *Small Angle X-ray Scattering*, ch. 2. Academic Press.
"""

from __future__ import annotations

import numpy as np

#: cm⁻¹ per (10⁻⁶ Å⁻²)² · Å³: converts contrast² × volume to an absolute cross-section.
ABSOLUTE_SCALE = 1e-4


def sinc_kernel(q: np.ndarray, r: np.ndarray, dq: np.ndarray | None = None) -> np.ndarray:
    """Matrix sin(q r)/(q r), averaged over a Gaussian resolution when ``dq`` is given.

    With pinhole resolution q' ~ N(q, dq²) the kernel becomes, using
    sin(q'r)/(q'r) = (1/r) ∫₀^r cos(q't) dt and E[cos(q't)] = cos(qt) e^{−dq²t²/2},

        K(q, r) = (1/r) Re ∫₀^r exp(iqt − a t²) dt,   a = dq²/2,
                = Re{ √π / (2√a r) [w(x) − e^{iqr − a r²} w(x + i√a r)] },  x = q/(2√a),

    with the Faddeeva function w (``scipy.special.wofz``), which keeps it exact
    and stable for any dq r (q' runs over the whole line; the kernel is even in q').

    Parameters
    ----------
    q : ndarray, shape (n_q,)
        Scattering vector in Å⁻¹.
    r : ndarray, shape (n_r,)
        Distance in Å.
    dq : ndarray, shape (n_q,), optional
        One-σ Gaussian resolution in Å⁻¹; rows with dq = 0 are not smeared.

    Returns
    -------
    ndarray, shape (n_q, n_r)
        Dimensionless; 1 at q r = 0 without smearing.
    """
    q, r = np.asarray(q, float), np.asarray(r, float)
    plain = np.sinc(np.multiply.outer(q, r) / np.pi)
    if dq is None:
        return plain
    from scipy.special import wofz

    root_a = np.asarray(dq, float)[:, None] / np.sqrt(2.0)
    smear = (root_a > 0) & (r > 0)
    ra = np.where(smear, root_a, 1.0)
    rr = np.where(r > 0, r, 1.0)
    x = q[:, None] / (2 * ra)
    phase = np.exp(-((ra * rr) ** 2) + 1j * q[:, None] * rr)
    value = np.sqrt(np.pi) / (2 * ra * rr) * (wofz(x) - phase * wofz(x + 1j * ra * rr))
    return np.where(smear, value.real, plain)


def cross_section(
    volume_fraction: float,
    contrast: float,
    volume: float,
    form_factor: np.ndarray,
    structure_factor: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Macroscopic cross-section dΣ/dΩ = φ Δρ² V P(Q) S(Q), in cm⁻¹.

    Parameters
    ----------
    volume_fraction : float
        φ, volume fraction of particles (dimensionless).
    contrast : float
        Δρ = ρ_particle − ρ_solvent in 10⁻⁶ Å⁻² (sasmodels' SLD unit).
    volume : float
        Particle volume V in Å³.
    form_factor : ndarray, shape (n_q,)
        P(Q), normalised to P(0) = 1.
    structure_factor : ndarray, shape (n_q,) or float
        S(Q); 1 for a dilute system.

    Returns
    -------
    ndarray, shape (n_q,)
        dΣ/dΩ in cm⁻¹.
    """
    if volume <= 0 or volume_fraction < 0:
        raise ValueError(
            f"need volume > 0 Å³ and volume fraction >= 0, got {volume=}, {volume_fraction=}"
        )
    return (
        ABSOLUTE_SCALE
        * volume_fraction
        * contrast**2
        * volume
        * np.asarray(form_factor, float)
        * np.asarray(structure_factor, float)
    )


def sphere_volume(radius: float) -> float:
    """Volume 4/3 π R³ in Å³ of a sphere of radius ``radius`` (Å)."""
    return 4.0 / 3.0 * np.pi * radius**3


def sphere_form_factor(q: np.ndarray, radius: float) -> np.ndarray:
    """Analytic sphere form factor P(Q) = [3 (sin x − x cos x) / x³]², x = QR.

    Parameters
    ----------
    q : ndarray, shape (n_q,)
        Scattering vector in Å⁻¹.
    radius : float
        Sphere radius in Å.

    Returns
    -------
    ndarray, shape (n_q,)
        P(Q), dimensionless, P(0) = 1.  Below x = 1e-3 the series 1 − x²/5 is used
        to avoid cancellation.
    """
    x = np.asarray(q, float) * radius
    small = np.abs(x) < 1e-3
    xs = np.where(small, 1.0, x)
    amplitude = np.where(small, 1.0 - x**2 / 10.0, 3.0 * (np.sin(xs) - xs * np.cos(xs)) / xs**3)
    return amplitude**2


def gamma_sphere(r: np.ndarray, radius: float) -> np.ndarray:
    """The lecture's sphere correlation function γ₀(r) = 1 − ¾ (r/R) + 1/16 (r/R)³.

    Parameters
    ----------
    r : ndarray, shape (n_r,)
        Distance in Å (r >= 0).
    radius : float
        Sphere radius R in Å.

    Returns
    -------
    ndarray, shape (n_r,)
        γ₀(r), dimensionless: 1 at r = 0, 0 for r >= 2R.
    """
    x = np.asarray(r, float) / radius
    return np.where(x < 2.0, 1.0 - 0.75 * x + x**3 / 16.0, 0.0)


def form_factor_from_gamma(
    q: np.ndarray, r: np.ndarray, gamma: np.ndarray, volume: float
) -> np.ndarray:
    """Form factor by numerical transform P(Q) = (1/V) ∫ 4π r² γ₀(r) sin(Qr)/(Qr) dr.

    Parameters
    ----------
    q : ndarray, shape (n_q,)
        Scattering vector in Å⁻¹.
    r : ndarray, shape (n_r,)
        Increasing grid in Å from 0 past the largest distance; fine enough to
        resolve sin(Q r) at the largest Q (the trapezoid rule is used).
    gamma : ndarray, shape (n_r,)
        γ₀(r), dimensionless.
    volume : float
        Particle volume in Å³ (normalises P(0) = 1 when γ₀ belongs to that volume).

    Returns
    -------
    ndarray, shape (n_q,)
        P(Q), dimensionless.
    """
    r = np.asarray(r, float)
    return intensity_from_pr(q, r, r**2 * np.asarray(gamma, float)) / volume


def intensity_from_pr(
    q: np.ndarray, r: np.ndarray, p: np.ndarray, dq: np.ndarray | None = None
) -> np.ndarray:
    """Forward transform I(Q) = 4π ∫ p(r) sin(Qr)/(Qr) dr (trapezoid rule).

    Parameters
    ----------
    q : ndarray, shape (n_q,)
        Scattering vector in Å⁻¹.
    r : ndarray, shape (n_r,)
        Increasing distance grid in Å covering [0, Dmax].
    p : ndarray, shape (n_r,)
        Pair-distance distribution in cm⁻¹ Å⁻¹ (or any unit: I gets that unit × Å).
    dq : ndarray, shape (n_q,), optional
        One-σ Gaussian resolution in Å⁻¹: returns the smeared I(Q) (see :func:`sinc_kernel`).

    Returns
    -------
    ndarray, shape (n_q,)
        I(Q) in cm⁻¹.
    """
    r = np.asarray(r, float)
    return 4.0 * np.pi * np.trapezoid(np.asarray(p, float) * sinc_kernel(q, r, dq), r, axis=-1)


def pr_moments(r: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Forward intensity and radius of gyration of a p(r).

    I(0) = 4π ∫ p dr and Rg² = ∫ r² p dr / (2 ∫ p dr) (trapezoid rule).

    Parameters
    ----------
    r : ndarray, shape (n_r,)
        Distance grid in Å.
    p : ndarray, shape (n_r,)
        p(r) in cm⁻¹ Å⁻¹.

    Returns
    -------
    i0 : float
        I(0) in cm⁻¹.
    rg : float
        Rg in Å (NaN when Rg² <= 0, which no physical p(r) gives).
    """
    r, p = np.asarray(r, float), np.asarray(p, float)
    area = np.trapezoid(p, r)
    rg2 = np.trapezoid(r**2 * p, r) / (2.0 * area) if area != 0 else np.nan
    return 4.0 * np.pi * area, float(np.sqrt(rg2)) if rg2 > 0 else float("nan")


def pr_from_gamma(
    r: np.ndarray, gamma: np.ndarray, volume_fraction: float, contrast: float
) -> np.ndarray:
    """Absolute p(r) = 10⁻⁴ φ Δρ² r² γ₀(r) in cm⁻¹ Å⁻¹ for homogeneous particles.

    With this p(r), :func:`intensity_from_pr` gives :func:`cross_section` with
    P(Q) from :func:`form_factor_from_gamma` and S = 1.

    Parameters
    ----------
    r : ndarray, shape (n_r,)
        Distance in Å.
    gamma : ndarray, shape (n_r,)
        γ₀(r), dimensionless, γ₀(0) = 1.
    volume_fraction : float
        φ, dimensionless.
    contrast : float
        Δρ in 10⁻⁶ Å⁻².
    """
    r = np.asarray(r, float)
    return ABSOLUTE_SCALE * volume_fraction * contrast**2 * r**2 * np.asarray(gamma, float)


def sphere_overlap_volume(a: float, b: float, d: np.ndarray) -> np.ndarray:
    """Volume (Å³) shared by spheres of radii ``a`` and ``b`` (Å) whose centres are ``d`` Å apart.

    The lens volume π (a+b−d)² (d² + 2d(a+b) − 3(a−b)²) / (12 d) between the
    touching and the enclosed cases.
    """
    d = np.asarray(d, float)
    small, big = min(a, b), max(a, b)
    ds = np.where(d > 0, d, 1.0)
    lens = np.pi * (a + b - ds) ** 2 * (ds**2 + 2 * ds * (a + b) - 3 * (a - b) ** 2) / (12 * ds)
    return np.where(d <= big - small, sphere_volume(small), np.where(d >= a + b, 0.0, lens))


def pr_concentric_spheres(
    r: np.ndarray, radii: list[float], contrasts: list[float], volume_fraction: float = 1.0
) -> np.ndarray:
    """Exact absolute p(r) of a radially layered sphere (sphere, core-shell, vesicle).

    The excess density is a sum of centred spheres, Δρ(x) = Σᵢ cᵢ 1(|x| < Rᵢ), so its
    autocorrelation is Σᵢⱼ cᵢ cⱼ V_overlap(Rᵢ, Rⱼ, r).  Normalised per particle
    volume as sasmodels does (scale = volume fraction of the outer sphere):
    p(r) = 10⁻⁴ φ / V_outer · r² Σᵢⱼ cᵢ cⱼ V_overlap(Rᵢ, Rⱼ, r).

    Parameters
    ----------
    r : ndarray, shape (n_r,)
        Distance in Å.
    radii : list of float
        Radii Rᵢ in Å; the largest is the particle's outer radius.
    contrasts : list of float
        cᵢ in 10⁻⁶ Å⁻²: for a core-shell sphere in solvent, ``[shell − solvent, core − shell]``
        with ``radii = [R_core + thickness, R_core]``.
    volume_fraction : float
        φ of whole particles.

    Returns
    -------
    ndarray, shape (n_r,)
        p(r) in cm⁻¹ Å⁻¹.
    """
    if len(radii) != len(contrasts) or not radii:
        raise ValueError(f"need one contrast per radius, got {radii=} and {contrasts=}")
    r = np.asarray(r, float)
    acf = sum(
        ci * cj * sphere_overlap_volume(ri, rj, r)
        for ri, ci in zip(radii, contrasts, strict=True)
        for rj, cj in zip(radii, contrasts, strict=True)
    )
    return ABSOLUTE_SCALE * volume_fraction / sphere_volume(max(radii)) * r**2 * acf


def gamma_cylinder(r: np.ndarray, radius: float, length: float, n_nodes: int = 96) -> np.ndarray:
    """Orientation-averaged correlation function γ₀(r) of a solid cylinder.

    γ₀(r) = (1/V) ∫₀¹ dμ (L − rμ) A(r √(1 − μ²)), the mean overlap of the cylinder
    with a copy shifted by r at angle arccos μ to its axis; A(s) is the overlap area
    of two discs of radius R with centres s apart.  The integrand vanishes outside
    μ ∈ [√(1 − (2R/r)²), min(1, L/r)]; Gauss-Legendre nodes are placed on that
    interval only, so the kinks do not spoil convergence.

    Parameters
    ----------
    r : ndarray, shape (n_r,)
        Distance in Å.
    radius, length : float
        Cylinder radius R and length L in Å.
    n_nodes : int
        Gauss-Legendre nodes per r.

    Returns
    -------
    ndarray, shape (n_r,)
        γ₀(r), dimensionless, 1 at r = 0 and 0 beyond √(4R² + L²).
    """
    r = np.atleast_1d(np.asarray(r, float))
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    rs = np.where(r > 0, r, 1.0)
    lo = np.sqrt(np.clip(1.0 - (2 * radius / rs) ** 2, 0.0, 1.0))
    hi = np.minimum(1.0, length / rs)
    half = np.clip(hi - lo, 0.0, None)[:, None] / 2
    mu = (lo[:, None] + hi[:, None]) / 2 + half * x
    s = np.clip(r[:, None] * np.sqrt(1.0 - mu**2) / (2 * radius), 0.0, 1.0)
    disc = 2 * radius**2 * (np.arccos(s) - s * np.sqrt(1.0 - s**2))
    overlap = (half * w * np.clip(length - r[:, None] * mu, 0.0, None) * disc).sum(axis=1)
    return np.where(r > 0, overlap / (np.pi * radius**2 * length), 1.0)
