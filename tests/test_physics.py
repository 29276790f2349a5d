"""The lecture's physics: analytic checks of the transforms and the absolute cross-section."""

from __future__ import annotations

import numpy as np
import pytest

from sasnn.pr import physics

Q = np.geomspace(1e-3, 0.5, 200)  # Å⁻¹


def sasmodels_intensity(model: str, dq=None, **params) -> np.ndarray:
    """I(Q) in cm⁻¹ from sasmodels, unsmeared unless ``dq`` (one σ, Å⁻¹) is given."""
    from sasmodels.core import load_model
    from sasmodels.data import empty_data1D
    from sasmodels.direct_model import DirectModel

    data = empty_data1D(Q, resolution=0.0)
    if dq is not None:
        data.dx = dq
    return DirectModel(data, load_model(model))(background=0.0, **params)


def test_sphere_gamma_transforms_to_the_analytic_form_factor():
    radius = 50.0
    r = np.linspace(0.0, 2 * radius, 4001)
    numerical = physics.form_factor_from_gamma(
        Q, r, physics.gamma_sphere(r, radius), physics.sphere_volume(radius)
    )
    analytic = physics.sphere_form_factor(Q, radius)
    np.testing.assert_allclose(numerical, analytic, rtol=1e-6, atol=1e-12)
    at_zero = physics.form_factor_from_gamma(
        np.zeros(1), r, physics.gamma_sphere(r, radius), physics.sphere_volume(radius)
    )
    assert at_zero[0] == pytest.approx(1.0, abs=1e-6)  # γ₀ normalises P(0) = 1


def test_gamma_sphere_is_the_lecture_formula():
    r = np.array([0.0, 25.0, 50.0, 100.0, 150.0])
    expected = [1.0, 1 - 0.75 * 0.5 + 0.5**3 / 16, 1 - 0.75 + 1 / 16, 0.0, 0.0]
    np.testing.assert_allclose(physics.gamma_sphere(r, 50.0), expected, atol=1e-15)


def test_cross_section_matches_sasmodels_sphere_in_absolute_units():
    radius, sld, solvent, phi = 40.0, 6.3, -0.56, 0.05
    form = physics.sphere_form_factor(Q, radius)
    ours = physics.cross_section(phi, sld - solvent, physics.sphere_volume(radius), form)
    theirs = sasmodels_intensity("sphere", scale=phi, radius=radius, sld=sld, sld_solvent=solvent)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    # forward scattering: φ Δρ² V in cm⁻¹, 1e-4 = (1e-6 Å⁻²)² Å³ per cm⁻¹
    assert ours[0] == pytest.approx(1e-4 * phi * (sld - solvent) ** 2 * 4 / 3 * np.pi * 40**3, 1e-3)


def test_structure_factor_multiplies():
    form = physics.sphere_form_factor(Q, 30.0)
    s = 1 - 0.5 * np.exp(-((Q * 30) ** 2))
    one = physics.cross_section(0.1, 2.0, 1e5, form)
    np.testing.assert_allclose(physics.cross_section(0.1, 2.0, 1e5, form, s), one * s)


def test_cross_section_refuses_a_non_positive_volume():
    with pytest.raises(ValueError, match="volume > 0"):
        physics.cross_section(0.1, 1.0, 0.0, np.ones(3))


@pytest.mark.parametrize(
    ("model", "params", "p_of_r", "d_max"),
    [
        ("sphere", {"radius": 50.0, "sld": 1.0, "sld_solvent": 6.0},
         lambda r: physics.pr_concentric_spheres(r, [50.0], [-5.0], 0.01), 100.0),
        ("core_shell_sphere",
         {"radius": 40.0, "thickness": 15.0, "sld_core": 2.0, "sld_shell": 4.0, "sld_solvent": 1.0},
         lambda r: physics.pr_concentric_spheres(r, [55.0, 40.0], [3.0, -2.0], 0.01), 110.0),
        ("cylinder", {"radius": 20.0, "length": 120.0, "sld": 4.0, "sld_solvent": 1.0},
         lambda r: physics.pr_from_gamma(r, physics.gamma_cylinder(r, 20.0, 120.0), 0.01, 3.0),
         float(np.hypot(40.0, 120.0))),
    ],
)
def test_exact_pr_transforms_to_sasmodels_intensity(model, params, p_of_r, d_max):
    r = np.linspace(0.0, d_max, 3001)
    ours = physics.intensity_from_pr(Q, r, p_of_r(r))
    theirs = sasmodels_intensity(model, scale=0.01, **params)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


def test_pr_moments_give_the_analytic_rg_and_forward_intensity():
    r = np.linspace(0.0, 100.0, 4001)
    i0, rg = physics.pr_moments(r, physics.pr_concentric_spheres(r, [50.0], [2.0], 0.1))
    assert rg == pytest.approx(np.sqrt(3 / 5) * 50.0, rel=1e-8)
    assert i0 == pytest.approx(1e-4 * 0.1 * 2.0**2 * physics.sphere_volume(50.0), rel=1e-8)
    length, radius = 120.0, 20.0
    r = np.linspace(0.0, np.hypot(2 * radius, length), 3001)
    _, rg = physics.pr_moments(r, r**2 * physics.gamma_cylinder(r, radius, length))
    assert rg == pytest.approx(np.sqrt(radius**2 / 2 + length**2 / 12), rel=1e-6)


def test_sphere_overlap_volume_limits():
    assert physics.sphere_overlap_volume(10.0, 20.0, 0.0) == pytest.approx(physics.sphere_volume(10.0))
    assert physics.sphere_overlap_volume(10.0, 20.0, 10.0) == pytest.approx(physics.sphere_volume(10.0))
    assert physics.sphere_overlap_volume(10.0, 20.0, 30.0) == 0.0
    # the lens formula is continuous where the small sphere touches the big one from inside
    assert physics.sphere_overlap_volume(10.0, 20.0, 10.0 + 1e-9) == pytest.approx(
        physics.sphere_volume(10.0), rel=1e-6
    )


def test_smeared_kernel_is_the_gaussian_average_of_the_sinc():
    q = np.linspace(0.002, 0.4, 60)
    dq = 0.02 * q + 0.002
    r = np.linspace(0.0, 300.0, 31)
    nodes, weights = np.polynomial.hermite.hermgauss(120)
    shifted = q[:, None] + np.sqrt(2) * dq[:, None] * nodes  # (n_q, n_nodes)
    brute = np.einsum("h,qhr->qr", weights / np.sqrt(np.pi), np.sinc(shifted[..., None] * r / np.pi))
    np.testing.assert_allclose(physics.sinc_kernel(q, r, dq), brute, atol=1e-10)
    np.testing.assert_allclose(physics.sinc_kernel(q, r, np.zeros_like(q)), physics.sinc_kernel(q, r))


def test_smeared_transform_agrees_with_sasmodels_pinhole_resolution():
    dq = np.hypot(Q * 0.1 / 2.355, 0.0008)
    r = np.linspace(0.0, 100.0, 2001)
    ours = physics.intensity_from_pr(Q, r, physics.pr_concentric_spheres(r, [50.0], [-5.0], 0.01), dq)
    theirs = sasmodels_intensity("sphere", dq=dq, scale=0.01, radius=50.0, sld=1.0, sld_solvent=6.0)
    # sasmodels truncates the Gaussian at a few σ; the closed form does not. They differ
    # only in the depth of the smeared minima.
    assert np.median(np.abs(ours / theirs - 1)) < 0.01
    assert np.max(np.abs(ours - theirs)) < 2e-3 * theirs.max()
