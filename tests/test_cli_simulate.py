"""``sasnn simulate`` and ``sasnn catalog`` through the real entry point."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from sasnn.cli import main

# Every model on the lecture's results slide, as DESIGN.md §3 lists them.
DESIGN_MODELS = """fuzzy_sphere polymer_micelle core_multi_shell multilayer_vesicle vesicle raspberry
fractal_core_shell binary_hard_sphere adsorbed_layer lamellar_hg lamellar_hg_stack_caille
lamellar_stack_caille lamellar_stack_paracrystal dab be_polyelectrolyte mono_gauss_coil star_polymer
unified_power_Rg gauss_lorentz_gel polymer_excl_volume mass_surface_fractal two_lorentzian
poly_gauss_coil teubner_strey porod surface_fractal broad_peak power_law two_power_law
correlation_length mass_fractal linear_pearls flexible_cylinder flexible_cylinder_elliptical
core_shell_bicelle core_shell_bicelle_elliptical hollow_rectangular_prism
hollow_rectangular_prism_thin_walls rectangular_prism core_shell_ellipsoid hollow_cylinder
stacked_disks capped_cylinder peak_lorentz gaussian_peak fcc_paracrystal bcc_paracrystal
sc_paracrystal""".split()


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_catalog_json_lists_the_whole_catalogue(capsys):
    code, out, _ = run(capsys, "catalog", "--json")
    assert code == 0
    description = json.loads(out)
    names = [c["name"] for c in description["classes"]]
    assert len(names) >= 76
    assert set(DESIGN_MODELS) <= set(names)
    assert {"line", "micromagnetic_FF_3D"} <= set(description["excluded"])
    assert {s["name"] for s in description["structure_factors"]} == {
        "hardsphere",
        "hayter_msa",
        "stickyhardsphere",
        "squarewell",
    }
    sphere = description["classes"][names.index("sphere")]
    assert sphere["priors"]["radius"]["low"] > 0


def test_catalog_table(capsys):
    code, out, _ = run(capsys, "catalog")
    assert code == 0 and "core_shell_bicelle" in out


def test_catalog_plot(tmp_path, capsys):
    png = tmp_path / "sphere.png"
    code, _, _ = run(capsys, "catalog", "--plot", "sphere", "--out", str(png), "--n", "4")
    assert code == 0 and png.read_bytes().startswith(b"\x89PNG")


def test_simulate_writes_a_dataset(tmp_path, capsys):
    out = tmp_path / "ds"
    code, _, err = run(
        capsys,
        "simulate",
        "--out",
        str(out),
        "--per-class",
        "2",
        "--seed",
        "3",
        "--classes",
        "sphere,dab",
        "--workers",
        "1",
    )
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["classes"] == ["sphere", "dab"]
    assert manifest["structure_factors"][0] == "none" and "hayter_msa" in manifest["structure_factors"]
    assert "wrote 4 curves of 2 classes" in err
    assert manifest["spec"]["config"]["structure_factor_share"] == 0.5  # SimulationConfig's default


def test_simulate_records_an_explicit_sf_share(tmp_path, capsys):
    out = tmp_path / "ds"
    code, _, err = run(capsys, "simulate", "--out", str(out), "--per-class", "1", "--seed", "3",
                       "--classes", "sphere", "--workers", "1", "--sf-share", "0.2")
    assert code == 0, err
    assert json.loads((out / "manifest.json").read_text())["spec"]["config"]["structure_factor_share"] == 0.2


def test_simulate_example_is_readable_by_the_reader(tmp_path, capsys):
    from sasnn.io.read import DataRepairWarning, load_curves

    path = tmp_path / "sphere.dat"
    code, _, err = run(capsys, "simulate", "--example", "sphere", "--out", str(path), "--seed", "5")
    assert code == 0, err
    with warnings.catch_warnings():
        # noise can push a few high-q points below zero; the reader drops them with a warning
        warnings.simplefilter("ignore", DataRepairWarning)
        curves = load_curves(path)
    curve = curves[0]
    assert len(curve.q) > 50 and np.all(curve.dq > 0) and curve.q[0] < 0.02
    code, _, err = run(capsys, "simulate", "--example", "sphere", "--out", str(path), "--seed", "5")
    assert code == 1 and str(path) in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--classes", "sphere,spheer"], "unknown class(es) spheer; valid:"),
        (["--per-class", "-4"], "--per-class must be a positive"),
        (["--workers", "0"], "--workers must be >= 1"),
    ],
)
def test_simulate_bad_options_give_one_line(tmp_path, capsys, args, message):
    base = ["simulate", "--out", str(tmp_path / "ds"), "--per-class", "2", "--classes", "sphere"]
    code, _, err = run(capsys, *base, *args)
    assert code != 0
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_simulate_refuses_a_folder_with_another_dataset(tmp_path, capsys):
    out = str(tmp_path / "ds")
    assert (
        run(capsys, "simulate", "--out", out, "--per-class", "2", "--classes", "sphere", "--workers", "1")[0]
        == 0
    )
    code, _, err = run(
        capsys,
        "simulate",
        "--out",
        out,
        "--per-class",
        "2",
        "--classes",
        "sphere",
        "--seed",
        "1",
        "--workers",
        "1",
    )
    assert code == 1 and "holds a different dataset" in err and len(err.strip().splitlines()) == 1


def test_catalog_unknown_class(capsys, tmp_path):
    code, _, err = run(capsys, "catalog", "--plot", "nope", "--out", str(tmp_path / "x.png"))
    assert code == 1 and "unknown class 'nope'; valid:" in err
