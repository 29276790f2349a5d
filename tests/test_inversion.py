"""p(r) by Bayesian IFT and the Guinier fit: synthetic recovery, real data, bad input.

Truth for the synthetic curves is exact geometry (:mod:`sasnn.pr.cases`): overlap
volumes for the sphere and core-shell sphere, the orientation-averaged overlap for
the cylinder; the curves are sasmodels intensities with pinhole resolution and
counting noise.  p(r) metric: :meth:`~sasnn.pr.cases.PrCase.shape_error`, the L1
distance between the area-normalised p(r) and the truth (0 = identical, 2 = disjoint).
"""

from __future__ import annotations

import numpy as np
import pytest

from sasnn.pr import cases as pr_cases
from sasnn.pr import labsaxs
from sasnn.pr.inversion import guinier, invert_pr


@pytest.fixture(scope="module")
def measured():
    return {c.name: pr_cases.measure(c, np.random.default_rng(7)) for c in pr_cases.CASES}


@pytest.mark.parametrize("name", [c.name for c in pr_cases.CASES])
def test_synthetic_recovery(measured, name):
    case = pr_cases.case(name)
    q, intensity, sigma, dq = measured[name]
    result = invert_pr(q, intensity, sigma, dq=dq)
    _, _, rg_true, i0_true = case.truth()
    assert result.rg == pytest.approx(rg_true, rel=0.01)
    assert abs(result.rg - rg_true) < 3 * result.rg_err
    assert result.d_max == pytest.approx(case.d_max, rel=0.05)
    assert result.i0 == pytest.approx(i0_true, rel=0.01)
    assert case.shape_error(result.r, result.p) < 0.05
    assert 0.7 < result.chi2 < 1.3
    assert result.smeared and not result.warnings
    np.testing.assert_allclose(result.fit, intensity, atol=4 * sigma.max())


def test_sphere_pr_lies_within_its_error_band(measured):
    case = pr_cases.case("sphere")
    result = invert_pr(*measured["sphere"][:3], dq=measured["sphere"][3])
    z = (result.p - case.true_pr(result.r)) / np.where(result.p_sigma > 0, result.p_sigma, 1.0)
    assert np.mean(np.abs(z) < 2) > 0.9


def test_fixed_dmax_and_alpha_are_used(measured):
    q, intensity, sigma, dq = measured["sphere"]
    result = invert_pr(q, intensity, sigma, dq=dq, d_max=110.0, alpha=3.0)
    assert result.d_max == 110.0 and result.d_max_err == 0.0 and result.alpha == 3.0
    assert result.r[-1] == 110.0 and result.p[0] == result.p[-1] == 0.0


def test_smearing_matters_where_resolution_is_coarse():
    from sasnn.pr import physics

    case = pr_cases.case("sphere")
    q, _, sigma, dq = pr_cases.measure(case, np.random.default_rng(3))
    coarse = 4 * dq  # a 40 % FWHM wavelength spread washes out the minima
    r = np.linspace(0.0, case.d_max, 2001)
    noise = sigma * np.random.default_rng(4).standard_normal(q.size)
    intensity = physics.intensity_from_pr(q, r, case.true_pr(r), coarse) + noise
    with_dq = invert_pr(q, intensity, sigma, dq=coarse)
    without = invert_pr(q, intensity, sigma)
    # both fit the data; only the smeared transform gives the right particle
    assert with_dq.chi2 < 1.3 and without.chi2 < 1.3
    assert case.shape_error(with_dq.r, with_dq.p) < 0.03
    assert case.shape_error(without.r, without.p) > 0.06
    assert with_dq.d_max == pytest.approx(case.d_max, rel=0.05)
    assert without.d_max > 1.1 * case.d_max


def test_guinier_recovers_a_gaussian_exactly():
    q = np.linspace(0.002, 0.1, 100)
    intensity = 2.0 * np.exp(-((q * 40.0) ** 2) / 3)
    found = guinier(q, intensity, 1e-3 * intensity)
    assert found.rg == pytest.approx(40.0, rel=1e-6) and found.i0 == pytest.approx(2.0, rel=1e-6)
    assert found.q_max * found.rg <= 1.3 and found.q_min == q[0]


def test_guinier_skips_a_low_q_upturn(measured):
    q, intensity, sigma, _ = measured["sphere"]
    aggregates = 2.0 * intensity[0] * np.exp(-((q * 400.0) ** 2) / 3)  # big, rare clusters
    found = guinier(q, intensity + aggregates, sigma)
    assert found.q_min > 0.006
    assert found.rg == pytest.approx(np.sqrt(0.6) * 50.0, rel=0.04)  # sphere: Guinier 2 % high


def test_guinier_refuses_a_rising_curve():
    q = np.linspace(0.01, 0.2, 60)
    rising = 1.0 + (q / 0.05) ** 2
    with pytest.raises(ValueError, match="no Guinier region"):
        guinier(q, rising, 0.01 * rising)


def test_real_conalbumin():
    from sasnn.io.read import example_data_path, load_curves

    with pytest.warns(UserWarning, match="dropped 3"):
        (curve,) = load_curves(example_data_path("conalbumin.txt"))
    result = invert_pr(curve.q, curve.intensity, curve.sigma, dq=curve.dq)
    assert result.rg == pytest.approx(33.0, abs=1.5)  # SasView P(r) tutorial
    assert result.d_max == pytest.approx(102.0, rel=0.10)  # tutorial's 102 Å
    assert abs(result.d_max - 102.0) < 1.5 * result.d_max_err
    assert result.guinier.rg == pytest.approx(result.rg, rel=0.05)
    assert "lie off the Guinier line" in result.warnings[0]


def test_real_apoferritin_is_a_hollow_shell():
    from sasnn.io.read import example_data_path, load_curves

    with pytest.warns(UserWarning, match="dropped"):
        (curve,) = load_curves(example_data_path("apoferritin.txt"))
    data = (curve.q, curve.intensity, curve.sigma)
    # below q ≈ 0.02 Å⁻¹ aggregates dominate (Guinier Rg ≈ 74 Å): the evidence for
    # Dmax keeps rising up to π/q_min, and the inversion says so
    with pytest.raises(ValueError, match="Dmax is not resolved"):
        invert_pr(*data, dq=curve.dq, q_min=0.02)
    # from 0.0225 Å⁻¹ on, the Dmax evidence levels off: the shell alone
    result = invert_pr(*data, dq=curve.dq, q_min=0.0225)
    weights = result.p / np.trapezoid(result.p, result.r)
    mean = np.trapezoid(result.r * weights, result.r)
    mode = result.r[np.argmax(result.p)]
    assert mode > mean + 10.0  # skewed to large r, unlike a globule's p(r)
    assert result.rg == pytest.approx(53.0, abs=3.0)  # shell of radii ≈ 39 and 62 Å
    assert result.d_max == pytest.approx(125.0, rel=0.1)  # outer diameter 12–13 nm


def _lab_protein():
    """A triaxial globular protein (Rg 31.3 Å, Dmax 88.7 Å) on a lab SAXS camera.

    Noise rising steeply above 0.3 Å⁻¹, neighbouring bins correlated, aggregates
    adding a few percent at q_min (:mod:`sasnn.pr.labsaxs`); seeded.
    """
    axes = (41.04246132846494, 44.369277178260795, 35.18498993558256)
    protein = labsaxs.Protein(
        "triaxial", "triaxial_ellipsoid",
        {"radius_equat_minor": axes[0], "radius_equat_major": axes[1], "radius_polar": axes[2],
         "sld": labsaxs.SLD_PROTEIN, "sld_solvent": labsaxs.SLD_WATER},
        rg=float(np.sqrt(np.sum(np.square(axes)) / 5)), d_max=2 * axes[1])
    return protein, labsaxs.measure(protein, np.random.default_rng(1014))


def test_lab_saxs_protein_dmax_despite_aggregates_and_high_q_noise():
    protein, (q, intensity, sigma, dq) = _lab_protein()
    high = q > 0.4
    assert abs(np.median(intensity[high] / sigma[high])) < 1  # the high-q end is noise
    result = invert_pr(q, intensity, sigma, dq=dq)
    assert result.d_max == pytest.approx(protein.d_max, rel=0.10)
    assert result.rg == pytest.approx(protein.rg, rel=0.02)
    assert "off the p(r) of the rest" in result.warnings[0]
    # from the Guinier start alone, p(r) explains the aggregates by a long faint tail
    tail = invert_pr(q, intensity, sigma, dq=dq, q_min=result.guinier.q_min)
    assert tail.d_max > 1.3 * protein.d_max
    assert tail.rg == pytest.approx(protein.rg, rel=0.03) and tail.chi2 < 1.2


def test_aggregates_that_stretch_dmax_to_the_q_limit_are_left_out():
    # a held-out draw of the protein bench (triaxial 0 of seed 1, Dmax 111 Å): from the
    # Guinier start its aggregates stretch p(r) to π/q_min, where the first Shannon point
    # stopped the start test (Dmax 203 Å); later starts resolve the particle
    protein = labsaxs.proteins(12, seed=1)[12]
    assert protein.label == "triaxial 0"
    q, intensity, sigma, dq = labsaxs.measure(protein, np.random.default_rng(1112))
    result = invert_pr(q, intensity, sigma, dq=dq)
    assert result.d_max == pytest.approx(protein.d_max, rel=0.10)
    assert result.rg == pytest.approx(protein.rg, rel=0.02)
    assert "off the p(r) of the rest" in result.warnings[0]


def test_a_dmax_at_the_q_limit_from_every_start_keeps_the_first():
    # a particle truly as large as π/q_min: every later start puts Dmax at its own limit,
    # so nothing says the leading points are aggregates
    from types import SimpleNamespace

    from sasnn.pr.qrange import _past_the_top, at_top

    q = np.linspace(0.01, 0.3, 60)
    arrays = (q, np.ones_like(q), np.ones_like(q), None)

    def attempt(start):
        return SimpleNamespace(q=q[start:], d_max=0.95 * np.pi / q[start])

    first = attempt(0)
    assert at_top(first)
    assert _past_the_top(arrays, 0, 12, first, attempt) == (0, first)


def test_noise_correlated_between_bins_does_not_lengthen_dmax():
    # an ellipsoid (Dmax 40 Å) on the lab camera, each bin's noise shared with its 4
    # neighbours (rebinning); σ is each bin's own.  Counting the bins as independent,
    # the evidence let a longer Dmax fit the correlated wiggles (50 Å on this seed).
    protein = labsaxs.lysozyme_like()
    q, intensity, sigma, dq = labsaxs.measure_rebinned(protein, np.random.default_rng(3))
    result = invert_pr(q, intensity, sigma, dq=dq)
    assert result.d_max == pytest.approx(40.0, rel=0.10)
    assert any("neighbouring residuals are correlated" in note for note in result.warnings)


@pytest.mark.parametrize(
    ("q", "intensity", "match"),
    [
        (np.linspace(0.01, 0.3, 5), np.ones(5), "only 5 usable points"),
        (np.linspace(0.01, 0.3, 50), -np.ones(50), "all intensities are <= 0"),
        (np.linspace(0.1, 0.2, 50), np.exp(-np.linspace(0.1, 0.2, 50)), "too narrow for any Dmax"),
        (np.linspace(0.01, 0.3, 50), np.ones(50), "non-positive integral|not significantly"),
        (np.linspace(0.01, 0.3, 50), 1 + 100 * np.linspace(0.01, 0.3, 50) ** 2, "non-positive"),
    ],
)
def test_bad_input_is_refused(q, intensity, match):
    sigma = np.full(q.size, 0.01)
    with pytest.raises(ValueError, match=match):
        invert_pr(q, intensity, sigma)


def test_a_particle_larger_than_the_q_range_resolves_is_refused(measured):
    q, intensity, sigma, dq = measured["sphere"]  # Dmax = 100 Å
    high = q >= 0.08  # π/q_min = 39 Å
    with pytest.raises(ValueError, match="Dmax is not resolved"):
        invert_pr(q[high], intensity[high], sigma[high], dq=dq[high])


def test_a_flat_background_alone_is_refused():
    q = np.linspace(0.01, 0.3, 100)
    flat = 1.0 + 0.01 * np.random.default_rng(1).standard_normal(100)
    with pytest.raises(ValueError, match="not significantly different from zero"):
        invert_pr(q, flat, np.full(100, 0.01))


def test_noise_only_is_refused():
    q = np.linspace(0.01, 0.3, 100)
    noise = 0.01 * np.random.default_rng(0).standard_normal(100)
    with pytest.raises(ValueError, match="no measurable scattering signal"):
        invert_pr(q, noise, np.full(100, 0.01))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sigma": None}, "errors \\(sigma\\) are required"),
        ({"d_max": 5.0}, "fewer than 3 Shannon channels"),
        ({"alpha": -1.0}, "alpha must be a positive number"),
        ({"q_min": "first"}, "q_min must be"),
        ({"n_r": 3}, "n_r must be"),
    ],
)
def test_bad_options_are_refused(measured, kwargs, match):
    q, intensity, sigma, _ = measured["sphere"]
    arguments = {"sigma": sigma, **kwargs}
    with pytest.raises(ValueError, match=match):
        invert_pr(q, intensity, arguments.pop("sigma"), **arguments)
