"""q units (sasnn.io.units and the reader's rule) on every real file at hand, and the σ
estimate for files without uncertainties (sasnn.io.repair.local_scatter_sigma)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from sasnn.io.read import DataFormatError, QUnitWarning, example_data_path, load_curves
from sasnn.io.repair import SIGMA_FLOOR, fix_sigma, local_scatter_sigma
from sasnn.io.text import is_nist_abs, is_rkh
from sasnn.io.units import RG_MIN_PLAUSIBLE, guinier_rg, infer_q_unit

REALDATA = Path("/work/shared/realdata")
# sasdata's example files: q is in 1/nm in these (Anton Paar SAXSess / PDH), 1/A in all others
SASDATA_NM = {"10wtAOT_Reline_120_reduced.pdh", "Anton-Paar.pdh", "saxess_example.pdh", "beam profile.DAT"}
SASDATA_UNREADABLE = {"CoreXY_ShellZ.txt"}  # a real-space SLD grid, not a curve
SLOW = {"VTMA.h5"}  # 240 entries: 15 s
EXPLICIT = {"metadata", "header", "format", "override"}


def load(path, **kwargs):
    """load_curves; returns (curves, q-unit warning messages). Repairs are not checked here."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        curves = load_curves(path, **kwargs)
    return curves, [str(w.message) for w in caught if issubclass(w.category, QUnitWarning)]


def check_unit(path: Path, expected: str) -> None:
    curves, unit_warnings = load(path)
    for curve in curves:
        assert curve.meta["q_unit"] == expected, (path.name, curve.meta["q_unit_evidence"])
    if curves[0].meta["q_unit_source"] in EXPLICIT:
        assert unit_warnings == []  # a file that says its unit is read without a word
    else:
        assert curves[0].meta["q_unit_source"] == "inferred"
        (line,) = unit_warnings  # one line: the file, the decision, the evidence, the override
        assert line.startswith(f"{path}: q read as {expected}, as the file names no unit: ")
        assert "--q-units" in line and "\n" not in line


def sasdata_files(slow: bool) -> list[str]:
    names = sorted(p.name for p in example_data_path().iterdir() if p.is_file())
    return [n for n in names if n not in SASDATA_UNREADABLE and (n in SLOW) == slow]


@pytest.mark.parametrize("name", sasdata_files(slow=False))
def test_every_sasdata_example_file_is_read_in_its_owners_unit(name):
    check_unit(example_data_path(name), "1/nm" if name in SASDATA_NM else "1/A")


@pytest.mark.slow
@pytest.mark.parametrize("name", sasdata_files(slow=True))
def test_every_sasdata_example_file_is_read_in_its_owners_unit_slow(name):
    check_unit(example_data_path(name), "1/A")


def test_the_unreadable_example_file_is_the_known_one():
    for name in SASDATA_UNREADABLE:
        with pytest.raises(DataFormatError):
            load_curves(example_data_path(name))


def realdata_files() -> list[tuple[str, str]]:
    if not (REALDATA / "labels.json").is_file():
        return []
    labels = json.loads((REALDATA / "labels.json").read_text())
    unit = {"nm^-1": "1/nm", "A^-1": "1/A"}
    return [(f, unit[s["q_unit"]]) for s in labels["samples"] for f in s["files"]]


@pytest.mark.skipif(not realdata_files(), reason="the shared real-data folder is not here")
@pytest.mark.parametrize(("name", "unit"), realdata_files())
def test_every_shared_real_file_is_read_in_the_unit_labels_json_gives(name, unit):
    check_unit(REALDATA / name, unit)


def strip_to_columns(source: Path, target: Path, factor: float) -> np.ndarray:
    """Write q × factor, I, dI of a file as bare numbers (no header); return q in 1/A."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (curve,) = load_curves(source)
    np.savetxt(target, np.column_stack([curve.q * factor, curve.intensity, curve.sigma]))
    return curve.q


@pytest.mark.parametrize(("name", "evidence"), [
    ("conalbumin.txt", r"as 1/A q would reach 4 Å⁻¹, past any small-angle instrument"),
    ("AOT_Microemulsion-Core_Contrast.xml", r"as 1/A the Guinier Rg would be 1\.8 Å, smaller than any"),
    ("apoferritin.txt", r"as 1/A q would reach 3\.96 Å⁻¹"),
])
def test_a_hand_made_inverse_nm_copy_of_an_angstrom_file_is_detected(tmp_path, name, evidence):
    copy = tmp_path / "copy_in_nm.dat"
    q = strip_to_columns(example_data_path(name), copy, 10.0)
    (curve,), (line,) = load(copy)
    assert curve.meta["q_unit"] == "1/nm" and curve.meta["q_unit_source"] == "inferred"
    np.testing.assert_allclose(curve.q, q, rtol=1e-9)  # back in 1/A
    assert re.search(evidence, line) and "use --q-units A if it is in 1/A" in line
    # the same bare numbers without the factor 10 stay 1/A
    plain = tmp_path / "copy_in_a.dat"
    strip_to_columns(example_data_path(name), plain, 1.0)
    (curve,), (line,) = load(plain)
    assert curve.meta["q_unit"] == "1/A" and "use --q-units nm if it is in 1/nm" in line
    # --q-units wins over the evidence, and says nothing
    (forced,), unit_warnings = load(copy, q_units="A")
    assert forced.meta["q_unit_source"] == "override" and unit_warnings == []
    np.testing.assert_allclose(forced.q, 10 * q, rtol=1e-9)


def test_rkh_and_nist_abs_are_recognised_as_formats_in_inverse_angstrom():
    def text(name):
        return example_data_path(name).read_text(errors="replace")

    for name in ("conalbumin.txt", "apoferritin.txt", "ISIS_83404.TXT", "ISIS_98929.TXT"):
        assert is_rkh(text(name)) and not is_nist_abs(text(name))
    for name in ("AUSANS_run3_2_no_buffer.ABS", "AUSANS_run4_1_with_buffer.ABS"):
        assert is_nist_abs(text(name)) and not is_rkh(text(name))
    for name in ("98929.txt", "Anton-Paar.pdh", "n_coreshell.txt", "PolySpheres.txt"):
        assert not is_rkh(text(name)) and not is_nist_abs(text(name))


# ------------------------------------------------------------------ the evidence itself


def sphere_intensity(q, radius):
    qr = q * radius
    return (3 * (np.sin(qr) - qr * np.cos(qr)) / qr**3) ** 2


def test_guinier_rg_of_analytic_curves():
    q = np.geomspace(0.002, 0.3, 150)
    assert guinier_rg(q, 5.0 * np.exp(-(q * 40.0) ** 2 / 3)) == pytest.approx(40.0, rel=1e-6)
    # a sphere: Rg = sqrt(3/5) R, to the accuracy of Guinier's law over q·Rg ≤ 1.3
    assert guinier_rg(q, sphere_intensity(q, 50.0)) == pytest.approx(np.sqrt(0.6) * 50.0, rel=0.02)
    assert guinier_rg(q, q**-4.0) is None  # the data start past the Guinier region
    assert guinier_rg(q, 1 + q) is None  # rising: an upturn, no Rg


def test_infer_q_unit_rule():
    q = np.geomspace(0.01, 0.5, 100)
    small = sphere_intensity(q, 12.0) + 1e-4  # Rg 9.3 Å: plausible in 1/A, and as 1/nm (93 Å)
    assert infer_q_unit(q, small).unit == "A"
    assert infer_q_unit(10 * q, small).unit == "nm"  # as 1/A: q to 5 Å⁻¹ and Rg 0.93 Å
    tiny = sphere_intensity(q, 3.0) + 1e-4  # Rg 2.3 Å as 1/A, 23 Å as 1/nm
    assert guinier_rg(q, tiny) < RG_MIN_PLAUSIBLE and infer_q_unit(q, tiny).unit == "nm"
    assert "neither unit is plausible" in infer_q_unit(q * 200, small).evidence  # q to 100
    guess = infer_q_unit(q, 1 + q)  # not a small-angle curve: no evidence, the convention
    assert guess.unit == "A" and "I does not fall with q" in guess.evidence
    usans = np.geomspace(3e-5, 5e-3, 80)  # as 1/nm q would start at 3e-6 Å⁻¹
    assert "q would start at" in infer_q_unit(usans, usans**-3.0).evidence


# ------------------------------------------------------------------ σ without uncertainties


@pytest.mark.parametrize("noise", ["3 % of I", "counting"])
def test_sigma_from_local_scatter_matches_known_noise(noise):
    """A polydisperse sphere (R = 50 Å, 10 %) on 200 log-spaced points with Gaussian noise
    of known σ: 3 % of I, or counting-like σ = sqrt(0.005 I) (0.7 % at low q to 67 % at
    the last minima). Claim: median estimate/truth within 0.75–1.33, and ≥ 80 % of the
    points within a factor 2 (20 seeds gave 0.85–1.13 and ≥ 88 %)."""
    q = np.geomspace(0.003, 0.5, 200)
    u = np.linspace(-2, 2, 41)
    radii, weights = 50 * (1 + 0.1 * u), np.exp(-0.5 * u**2) * (50 * (1 + 0.1 * u)) ** 6
    truth = 100 * sphere_intensity(q[:, None], radii) @ weights / weights.sum() + 0.01
    sigma = 0.03 * truth if noise == "3 % of I" else np.sqrt(0.005 * truth)
    rng = np.random.default_rng(7)
    measured = truth + sigma * rng.standard_normal(q.size)
    keep = measured > 0  # as the reader drops I ≤ 0
    ratio = local_scatter_sigma(measured[keep], q[keep]) / sigma[keep]
    assert 0.75 < np.median(ratio) < 1.33
    assert np.mean((ratio > 0.5) & (ratio < 2)) >= 0.80


def test_sigma_estimate_floor_and_short_curves():
    q = np.geomspace(0.01, 0.3, 50)
    smooth = q**-2.0  # no noise at all: the floor, not zero
    np.testing.assert_allclose(local_scatter_sigma(smooth, q), SIGMA_FLOOR * smooth)
    sigma, n = fix_sigma(smooth[:8], None)  # too short for a local fit: 1 % of I
    assert n == 8 and np.allclose(sigma, 0.01 * smooth[:8])
    sigma, n = fix_sigma(smooth, None)  # the old signature still works (index as abscissa)
    assert n == 50 and np.all(sigma > 0)
