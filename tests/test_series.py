"""Series and phase maps: grouping answers into phases, the refusals of ``sasnn series``,
and the command end to end on simulated files with the shipped model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sasnn.cli import main
from sasnn.identify.predictor import Candidate, Prediction
from sasnn.identify.series import (
    ORDERED,
    check_conditions,
    classify_series,
    model_family,
    parse_table,
    parse_var,
    phase_of,
    phase_probabilities,
)
from sasnn.io.curve import Curve
from sasnn.io.read import write_curve
from sasnn.simulate.catalog import CATALOG
from sasnn.simulate.datasets import simulate_examples


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------- phases


@pytest.mark.parametrize("model, sf, phase", [
    ("sphere", None, "spheres"),
    ("core_shell_sphere", "hardsphere", "spheres + hardsphere"),
    ("core_shell_bicelle", "hayter_msa", "cylinders + hayter_msa"),
    ("triaxial_ellipsoid", None, "ellipsoids"),
    ("lamellar", None, "lamellae"),
    ("lamellar_stack_caille", None, ORDERED),
    ("bcc_paracrystal", None, ORDERED),
    ("peak_lorentz", None, ORDERED),
    ("mono_gauss_coil", None, "polymer chains"),
    ("lorentz", None, "polymer chains"),  # the catalogue's twin of poly_gauss_coil
    ("mass_fractal", None, "fractal aggregates"),
    ("porod", None, "other (shape-independent)"),
])
def test_phase_is_family_plus_structure_factor_or_ordered(model, sf, phase):
    assert phase_of(model, sf) == phase


def test_every_catalogue_shape_has_a_named_family():
    from sasnn.simulate.sampling import family

    for name in CATALOG:
        if family(name).startswith("shape:"):
            assert model_family(name) != "other (shape-independent)", name


def test_phase_probability_sums_the_pairs_of_a_phase():
    p = Prediction("f", "", (Candidate("cylinder", None, 0.4), Candidate("sphere", None, 0.35),
                             Candidate("core_shell_sphere", None, 0.2),
                             Candidate("sphere", "hardsphere", 0.05)), False, None)
    phases = phase_probabilities(p)
    assert list(phases) == ["spheres", "cylinders", "spheres + hardsphere"]
    assert phases["spheres"] == pytest.approx(0.55)


class _FixedPredictor:
    """Answers every curve with the same ranked pairs (the network is not under test here)."""

    def __init__(self, candidates):
        self.candidates = tuple(candidates)
        self.meta = {"pairs": [[0]] * len(self.candidates)}

    def predict(self, curves, top_k=3, also=()):
        return [Prediction(c.source, c.entry, self.candidates[:top_k], False, None) for c in curves]


def _curve(name: str) -> Curve:
    return Curve(q=np.linspace(0.01, 0.3, 50), intensity=np.ones(50), source=name)


def test_series_phase_is_the_most_probable_phase_not_the_top_pair():
    predictor = _FixedPredictor([Candidate("cylinder", None, 0.4), Candidate("sphere", None, 0.35),
                                 Candidate("fuzzy_sphere", None, 0.25)])
    series = classify_series(predictor, [[_curve("a")], [_curve("b")]], {"T": [20, 30]}, top=1)
    assert [p.phase for p in series.points] == ["spheres", "spheres"]
    assert series.points[0].phase_probability == pytest.approx(0.6)
    assert len(series.points[0].prediction.candidates) == 1  # --top shown, all pairs summed
    record = series.points[1].to_dict()
    assert record["conditions"] == {"T": 30.0} and record["phase"] == "spheres"
    assert record["phases"] == pytest.approx({"spheres": 0.6, "cylinders": 0.4})


# ---------------------------------------------------------------- parsing


def test_parse_var_and_table():
    assert parse_var("T = 10, 20") == ("T", ["10", "20"])
    files, conditions = parse_table("file,T,c\na.txt,10,1\nb.txt, 20 ,2\n", "t.csv")
    assert files == ["a.txt", "b.txt"] and conditions == {"T": [10.0, 20.0], "c": [1.0, 2.0]}


@pytest.mark.parametrize("text, message", [
    ("file,T\na.txt,warm\n", "line 2: T 'warm' is not a number"),
    ("name,T\na.txt,1\n", "header must be file,NAME"),
    ("file,T\na.txt,1,2\n", "3 columns, the header has 2"),
    ("file,T,c,p\na.txt,1,2,3\n", "one or two condition axes"),
])
def test_bad_tables_name_the_problem(text, message):
    with pytest.raises(ValueError, match=message):
        parse_table(text, "t.csv")


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="3 values for 2 files"):
        check_conditions(2, {"T": [1, 2, 3]})


# ---------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Three simulated measurements of clearly different phases, written as files."""
    folder = tmp_path_factory.mktemp("series")
    paths = []
    for model in ("mono_gauss_coil", "sphere", "lamellar_stack_caille"):
        curve = simulate_examples(model, 1, seed=0, structure_factor_share=0.0)[0]
        paths.append(write_curve(folder / f"{model}.txt", curve))
    return folder, paths


def test_cli_writes_phase_map_and_json(simulated, capsys):
    folder, paths = simulated
    png = folder / "map.png"
    code, out, err = run(capsys, "series", *paths, "--var", "T=10,30,50", "--var", "c=5,20,40",
                         "--out", png, "--json")
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    records = json.loads(out)
    assert [r["conditions"] for r in records] == [{"T": 10.0, "c": 5.0}, {"T": 30.0, "c": 20.0},
                                                  {"T": 50.0, "c": 40.0}]
    assert [r["phase"] for r in records] == ["polymer chains", "spheres", ORDERED]
    for r in records:
        assert r["phases"][r["phase"]] == pytest.approx(r["phase_probability"])
        assert len(r["candidates"]) == 3 and {"file", "unsure", "reason"} <= set(r)


def test_cli_reads_a_table_next_to_its_files(simulated, capsys):
    folder, paths = simulated
    table = folder / "series.csv"
    table.write_text("file,T\n" + "".join(f"{p.name},{t}\n" for p, t in zip(paths, (10, 30, 50),
                                                                             strict=True)))
    code, out, err = run(capsys, "series", "--table", table)
    assert code == 0, err
    assert "polymer chains" in out and "ordered" in out


@pytest.mark.parametrize("case, var, message", [
    ("missing", "T=1,2,3", "no such file: "),
    ("all", "T=1,hot,3", "--var T: 'hot' is not a number"),
    ("all", "T=1,2,3,4", "--var T has 4 values for 3 files"),
])
def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(simulated, capsys, case, var, message):
    folder, paths = simulated
    files = [paths[0], folder / "missing.txt", paths[2]] if case == "missing" else paths
    png = folder / "never.png"
    code, out, err = run(capsys, "series", *files, "--var", var, "--out", png)
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and err.startswith("sasnn: error: ") and message in err
    assert not png.exists()


def test_cli_table_naming_a_missing_file_is_refused(simulated, capsys):
    folder, _ = simulated
    table = folder / "bad.csv"
    table.write_text("file,T\nmono_gauss_coil.txt,10\nnot_here.txt,20\n")
    code, out, err = run(capsys, "series", "--table", table, "--out", folder / "never.png")
    assert code == 2 and "not_here.txt" in err and err.strip().count("\n") == 0
    assert not (folder / "never.png").exists()
