"""``sasnn predict`` through the real entry point: the JSON contract, exit statuses,
multi-entry files, globs, --fit, --report, on real dev-set files and a tiny model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from _identify_data import CLASSES, TINY_TOML, make_tiny_dataset
from sasmodels.resolution import Perfect1D

from sasnn.cli import main
from sasnn.io.read import DataRepairWarning, example_data_path, load_curves, write_curve
from sasnn.simulate.kernels import model_intensity


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("sasnn: error: ")]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    data = make_tiny_dataset(root / "data")
    (root / "run.toml").write_text(TINY_TOML)
    run_dir = root / "run"
    assert main(["train", "--data", str(data), "--out", str(run_dir), "--epochs", "2",
                 "--config", str(root / "run.toml")]) == 0
    return str(run_dir)


@pytest.fixture()
def dev(tmp_path):
    """Copies of real dev-set files (so globs and folders are ours to make)."""
    folder = tmp_path / "dev"
    folder.mkdir()
    for name in ("AOT_Microemulsion-Core_Contrast.xml", "conalbumin.txt", "latex_smeared.xml"):
        shutil.copy(example_data_path(name), folder / name)
    return folder


def check_contract(records: list[dict], top: int) -> None:
    for record in records:
        assert set(record) == {"file", "entry", "candidates", "unsure", "reason", "q_units_read", "q_range",
                          "featureless"}
        assert record["q_units_read"] in ("1/A", "1/nm")
        q_min, q_max = record["q_range"]  # Å⁻¹, after conversion
        assert 0 < q_min < q_max < 3
        assert isinstance(record["unsure"], bool) and (record["reason"] is None) == (not record["unsure"])
        assert len(record["candidates"]) == top
        probabilities = [c["probability"] for c in record["candidates"]]
        assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1 + 1e-9
        for c in record["candidates"]:
            assert c["model"] in CLASSES
            assert c["structure_factor"] is None or isinstance(c["structure_factor"], str)


def test_json_has_one_object_per_entry(tiny_model, dev, capsys):
    files = [str(dev / n) for n in ("AOT_Microemulsion-Core_Contrast.xml", "conalbumin.txt",
                                      "latex_smeared.xml")]
    code, out, err = run(capsys, "predict", *files, "--model", tiny_model, "--top", "2", "--json")
    assert code == 0, err
    records = json.loads(out)
    check_contract(records, top=2)
    assert [r["file"] for r in records] == files[:2] + [files[2]] * 2  # latex: SANS and USANS entries
    assert records[0]["q_range"] == pytest.approx([0.009, 0.277], rel=1e-6)  # AOT, canSAS in 1/A
    assert records[2]["entry"] != records[3]["entry"]
    sans, usans = records[2:]  # the network never saw slit smearing: the USANS entry says so
    assert usans["unsure"] and usans["reason"].startswith("slit-smeared data (USANS)")
    assert "slit-smeared" not in (sans["reason"] or "")


def test_joint_combines_the_entries_of_a_file(tiny_model, dev, capsys):
    code, out, _ = run(capsys, "predict", str(dev / "latex_smeared.xml"), "--model", tiny_model,
                       "--joint", "--json")
    records = json.loads(out)
    assert code == 0 and len(records) == 1 and " + " in records[0]["entry"]
    check_contract(records, top=3)


def test_unreadable_files_exit_2_with_one_line_each_and_the_rest_reported(tiny_model, dev, capsys):
    (dev / "junk.xml").write_text("<SASroot><SASentry><oops")
    (dev / "empty.txt").write_text("")
    code, out, err = run(capsys, "predict", str(dev / "conalbumin.txt"), str(dev / "junk.xml"),
                         str(dev / "empty.txt"), str(dev / "missing.dat"), "--model", tiny_model,
                         "--json")
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 3 and "Traceback" not in err
    for name, line in zip(("junk.xml", "empty.txt", "missing.dat"), lines, strict=True):
        assert name in line
    assert [r["file"] for r in json.loads(out)] == [str(dev / "conalbumin.txt")]


def test_folders_and_quoted_globs_expand(tiny_model, dev, capsys):
    code, out, _ = run(capsys, "predict", str(dev / "*.txt"), "--model", tiny_model, "--json")
    assert code == 0 and [r["file"] for r in json.loads(out)] == [str(dev / "conalbumin.txt")]
    code, out, _ = run(capsys, "predict", str(dev), "--model", tiny_model, "--json")
    assert code == 0 and len(json.loads(out)) == 4
    code, _, err = run(capsys, "predict", str(dev / "*.nothing"), "--model", tiny_model)
    assert code == 2 and "*.nothing" in error_lines(err)[0]


def test_q_in_inverse_nm_gives_the_same_answer(tiny_model, tmp_path, capsys):
    with pytest.warns(DataRepairWarning, match="dropped 3 of 395"):
        (curve,) = load_curves(example_data_path("conalbumin.txt"))
    table = np.column_stack([curve.q, curve.intensity, curve.sigma])
    angstrom, nm = tmp_path / "a.txt", tmp_path / "nm.txt"
    np.savetxt(angstrom, table, header="q (1/A)  I  dI")
    np.savetxt(nm, table * [10, 1, 1], header="q (1/nm)  I  dI")
    bare = tmp_path / "bare_nm.txt"  # the same numbers without any header: the numbers decide
    np.savetxt(bare, table * [10, 1, 1])
    code, out, err = run(capsys, "predict", str(angstrom), str(nm), str(bare), "--model", tiny_model,
                         "--json")
    a, b, c = json.loads(out)
    assert (a["q_units_read"], b["q_units_read"], c["q_units_read"]) == ("1/A", "1/nm", "1/nm")
    assert b["q_range"] == pytest.approx(a["q_range"], rel=1e-12) == c["q_range"]
    assert [x["model"] for x in b["candidates"]] == [x["model"] for x in c["candidates"]]
    assert [x["probability"] for x in c["candidates"]] == pytest.approx(
        [x["probability"] for x in b["candidates"]], rel=1e-6)
    (line,) = [line for line in err.splitlines() if "q read as" in line]  # only the bare file
    assert line.startswith(f"sasnn: warning: {bare}: q read as 1/nm") and "--q-units A" in line
    # Q × 10 / 10 is not always the same float, so the probabilities may differ in the last digits
    assert code == 0 and [c["model"] for c in a["candidates"]] == [c["model"] for c in b["candidates"]]
    assert [c["probability"] for c in a["candidates"]] == pytest.approx(
        [c["probability"] for c in b["candidates"]], rel=1e-6)
    # the override wins over the header: the same numbers read as 1/A are another curve
    code, out, _ = run(capsys, "predict", str(nm), "--q-units", "A", "--model", tiny_model, "--json")
    assert code == 0 and json.loads(out)[0]["candidates"] != a["candidates"]


def test_a_folder_without_data_is_one_line_and_status_2(tiny_model, dev, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run(capsys, "predict", str(empty), "--model", tiny_model, "--json")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [f"sasnn: error: {empty}: the folder holds no data files"]
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.md").write_text("# my notes\n")
    (junk / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    code, out, err = run(capsys, "predict", str(junk), "--model", tiny_model, "--json")
    assert code == 2 and out == ""
    assert error_lines(err)[-1] == (f"sasnn: error: {junk}: none of the folder's 2 files "
                                    "is a readable data file")
    # beside a folder that has data, the empty one is still named, and the rest reported
    code, out, err = run(capsys, "predict", str(empty), str(dev / "conalbumin.txt"), "--model", tiny_model,
                         "--json")
    assert code == 2 and len(json.loads(out)) == 1 and str(empty) in error_lines(err)[0]


@pytest.fixture(scope="module")
def sphere_file(tmp_path_factory):
    """A synthetic sphere measurement with 3 % errors: a fit's answer is known."""
    q = np.geomspace(0.005, 0.3, 120)
    truth = {"radius": 60.0, "sld": 4.0, "sld_solvent": 1.0, "scale": 0.01, "background": 0.01}
    intensity = model_intensity("sphere", None, truth, Perfect1D(q))
    rng = np.random.default_rng(3)
    sigma = 0.03 * intensity
    path = tmp_path_factory.mktemp("sphere") / "sphere.txt"
    from sasnn.io.curve import Curve

    write_curve(path, Curve(q, intensity + sigma * rng.standard_normal(q.size), sigma, source=str(path)))
    return path


def test_fit_adds_chi2_bic_parameters_and_reranks(tiny_model, sphere_file, tmp_path, capsys):
    report = tmp_path / "report"
    code, out, err = run(capsys, "predict", str(sphere_file), "--model", tiny_model, "--top", "2",
                         "--fit", "--fit-top", "3", "--json", "--report", str(report))
    assert code == 0, err
    (record,) = json.loads(out)
    candidates = record["candidates"]
    assert len(candidates) == 2  # three fitted, the best two by BIC shown
    # the same three fits, all shown: the two above are their best two
    code, out, err = run(capsys, "predict", str(sphere_file), "--model", tiny_model, "--top", "3",
                         "--fit", "--fit-top", "3", "--json")
    assert code == 0, err
    assert json.loads(out)[0]["candidates"][:2] == candidates
    assert {"chi2_red", "bic", "parameters", "undetermined"} <= set(candidates[0])
    bics = [c["bic"] for c in candidates if c["bic"] is not None]
    # by BIC, except that a tie (ΔBIC ≤ 2) puts the simplest first
    assert bics[0] - min(bics) <= 2 and bics[1:] == sorted(bics[1:]) or bics == sorted(bics)
    assert isinstance(record["notes"], list)
    best = candidates[0]
    if best["model"] == "sphere" and best["structure_factor"] is None:
        assert best["parameters"]["radius"][0] == pytest.approx(60.0, rel=0.05)
        assert best["chi2_red"] < 2
    assert sorted(p.name for p in report.iterdir()) == ["report.json", "sphere.png", "summary.md"]
    assert "sphere.txt" in (report / "summary.md").read_text()
    index = json.loads((report / "report.json").read_text())
    assert index["predictions"][0]["candidates"] == candidates


def test_report_refuses_a_folder_of_the_users_files(tiny_model, dev, tmp_path, capsys):
    report = tmp_path / "mine"
    report.mkdir()
    (report / "notes.png").write_text("my figure")
    code, _, err = run(capsys, "predict", str(dev / "conalbumin.txt"), "--model", tiny_model,
                       "--report", str(report))
    assert code == 1 and "notes.png" in error_lines(err)[0]
    assert (report / "notes.png").read_text() == "my figure"
    # a folder an earlier report wrote is ours to replace
    fresh = tmp_path / "fresh"
    for files in (["latex_smeared.xml"], ["conalbumin.txt"]):
        code, _, err = run(capsys, "predict", *[str(dev / f) for f in files], "--model", tiny_model,
                           "--report", str(fresh))
        assert code == 0, err
    assert sorted(p.name for p in fresh.iterdir()) == ["conalbumin.png", "report.json", "summary.md"]
    # an index naming files outside the folder is not trusted
    (fresh / "report.json").write_text('{"files": ["../../thesis.png", "x/../y.png"]}')
    code, _, err = run(capsys, "predict", str(dev / "conalbumin.txt"), "--model", tiny_model,
                       "--report", str(fresh))
    assert code == 1 and "conalbumin.png" in error_lines(err)[0]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--top", "0", "--top must be a positive"), ("--q-units", "m", "--q-units must be A or nm"),
     ("--fit-time", "-1", "--fit-time must be a positive"),
     ("--fit-top", "0", "--fit-top must be a positive"), ("--workers", "0", "--workers must be a positive")],
)
def test_bad_options_give_one_line(tiny_model, dev, capsys, option, value, message):
    code, out, err = run(capsys, "predict", str(dev / "conalbumin.txt"), "--model", tiny_model,
                         option, value)
    assert code == 1 and out == "" and message in error_lines(err)[0] and len(err.splitlines()) == 1


def test_table_output_names_the_candidates_and_entries(tiny_model, dev, capsys):
    code, out, _ = run(capsys, "predict", str(dev / "conalbumin.txt"), str(dev / "latex_smeared.xml"),
                       "--model", tiny_model)
    assert code == 0 and "conalbumin.txt" in out and any(name in out for name in CLASSES)
    entries = [r["entry"] for r in json.loads(run(capsys, "predict", str(dev / "latex_smeared.xml"),
                                                  "--model", tiny_model, "--json")[1])]
    for entry in entries:  # "[entry]" is shown as text, not taken for rich markup
        assert f"latex_smeared.xml [{entry}]" in out


def test_python_api_gives_what_the_cli_prints(tiny_model, dev, capsys):
    from sasnn.identify.api import identify

    files = [dev / "latex_smeared.xml", dev / "conalbumin.txt"]
    with pytest.warns(DataRepairWarning):
        predictions = identify(files, model=tiny_model, top=2, joint=True)
    code, out, _ = run(capsys, "predict", *map(str, files), "--model", tiny_model, "--top", "2",
                       "--joint", "--json")
    assert code == 0 and [p.to_dict() for p in predictions] == json.loads(out)


def test_also_adds_the_users_hypotheses_after_the_top_k(tiny_model, dev, capsys):
    code, out, _ = run(capsys, "predict", str(dev / "conalbumin.txt"), str(dev / "latex_smeared.xml"),
                       "--model", tiny_model, "--top", "1", "--also", "dab, sphere@hardsphere", "--json")
    assert code == 0
    for record in json.loads(out):
        pairs = [(c["model"], c["structure_factor"]) for c in record["candidates"]]
        assert pairs[1:] == [p for p in [("dab", None), ("sphere", "hardsphere")] if p != pairs[0]]
    code, out, _ = run(capsys, "predict", str(dev / "latex_smeared.xml"), "--model", tiny_model,
                       "--top", "1", "--joint", "--also", "dab", "--json")
    (record,) = json.loads(out)
    assert code == 0 and {c["model"] for c in record["candidates"]} >= {"dab"}
    code, out, err = run(capsys, "predict", str(dev / "conalbumin.txt"), "--model", tiny_model,
                         "--also", "sphere@coulomb")
    assert code == 1 and out == "" and "unknown structure factor 'coulomb'; valid: hardsphere" in err
    code, _, err = run(capsys, "predict", str(dev / "conalbumin.txt"), "--model", tiny_model,
                       "--also", "dab@hardsphere")
    assert code == 1 and "dab@hardsphere was never trained on; dab takes: none" in error_lines(err)[0]
    code, _, err = run(capsys, "predict", str(dev / "conalbumin.txt"), "--model", tiny_model,
                       "--also", "cube")
    assert code == 1 and "unknown model 'cube'; valid: sphere, cylinder, dab" in error_lines(err)[0]


def test_table_names_catalogue_twins_among_the_candidates():
    from sasnn.cli.predict import _twins
    from sasnn.identify.predictor import Candidate, Prediction
    from sasnn.simulate.catalog import TWINS

    pair = Prediction("f.xml", "", (Candidate("lorentz", None, 0.6), Candidate("poly_gauss_coil", None, 0.3)),
                      False, None)
    assert _twins(pair) == [f"{TWINS[0]}; there, only what you know of the sample can choose"]
    assert _twins(Prediction("f.xml", "", (Candidate("lorentz", None, 1.0),), False, None)) == []
