"""``sasnn pr`` through the real entry point: JSON contract, batch, plots, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sasnn.cli import main
from sasnn.io.curve import Curve
from sasnn.pr import cases as pr_cases


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def sphere_files(tmp_path_factory):
    """Two frames of a 'time series': the sphere case measured twice (I > 0 kept)."""
    from sasnn.io.read import write_curve

    folder = tmp_path_factory.mktemp("series")
    paths = []
    for frame in range(2):
        q, intensity, sigma, dq = pr_cases.measure(
            pr_cases.case("sphere"), np.random.default_rng(frame)
        )
        keep = intensity > 0  # the reader would drop the others, with a warning
        curve = Curve(q[keep], intensity[keep], sigma[keep], dq[keep])
        paths.append(str(write_curve(folder / f"frame{frame}.txt", curve)))
    return paths


def test_json_contract_for_a_batch(capsys, sphere_files):
    code, out, err = run(capsys, "pr", *sphere_files, "--json")
    assert code == 0, err
    records = json.loads(out)
    assert [r["file"] for r in records] == sphere_files
    for record in records:
        for key in ("rg", "rg_err", "i0", "i0_err", "dmax", "file", "entry", "alpha", "chi2"):
            assert key in record
        assert record["rg"] == pytest.approx(np.sqrt(0.6) * 50.0, rel=0.01)
        assert record["dmax"] == pytest.approx(100.0, rel=0.05)
        assert record["guinier"]["q_max"] * record["guinier"]["rg"] <= 1.3
        assert len(record["r"]) == len(record["p"]) == len(record["p_sigma"])
        assert record["q_units_read"] == "1/A"  # write_curve's header says so


def test_table_fixed_dmax_and_plot(capsys, sphere_files, tmp_path):
    png = tmp_path / "pr.png"
    code, out, err = run(capsys, "pr", sphere_files[0], "--dmax", "105", "--alpha", "2",
                         "--plot", str(png))
    assert code == 0, err
    assert "frame0.txt" in out and "105.0±0.0" in out and "Guinier" in out
    assert png.read_bytes().startswith(b"\x89PNG")


def test_one_png_per_entry_in_batch_mode(capsys, sphere_files, tmp_path):
    png = tmp_path / "series.png"
    code, out, _ = run(capsys, "pr", *sphere_files, "--plot", str(png), "--json")
    assert code == 0
    written = sorted(p.name for p in tmp_path.glob("*.png"))
    assert written == ["series-frame0.png", "series-frame1.png"]
    assert [r["plot"] for r in json.loads(out)] == [str(tmp_path / n) for n in written]


def test_unreadable_file_is_named_and_the_rest_processed(capsys, sphere_files, tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("this is not a data file\n")
    code, out, err = run(capsys, "pr", str(junk), sphere_files[0], "--json")
    assert code == 2
    assert len(json.loads(out)) == 1
    lines = [line for line in err.splitlines() if "junk.txt" in line]
    assert len(lines) == 1 and lines[0].startswith("sasnn: error:")
    assert "Traceback" not in err


def test_an_entry_that_cannot_be_inverted_gives_one_line_and_status_1(capsys, sphere_files):
    code, out, err = run(capsys, "pr", sphere_files[0], "--dmax", "5", "--json")
    assert code == 1 and json.loads(out) == []
    assert "Shannon channels" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("option", "value", "match"),
    [
        ("--dmax", "big", "--dmax must be 'auto' or a positive number"),
        ("--dmax", "-3", "--dmax must be 'auto' or a positive number"),
        ("--q-units", "mm", "--q-units must be A or nm"),
        ("--alpha", "0", "--alpha must be a positive number"),
        ("--q-min", "low", "--q-min must be"),
    ],
)
def test_invalid_options_give_one_line(capsys, sphere_files, option, value, match):
    code, out, err = run(capsys, "pr", sphere_files[0], option, value)
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [f"sasnn: error: {err.strip()[len('sasnn: error: '):]}"]
    assert match in err


def test_real_conalbumin_json(capsys):
    from sasnn.io.read import example_data_path

    code, out, err = run(capsys, "pr", str(example_data_path("conalbumin.txt")), "--json")
    assert code == 0
    (record,) = json.loads(out)
    assert record["rg"] == pytest.approx(33.0, abs=1.5)
    assert record["q_min"] == record["guinier"]["q_min"]  # auto q_min: the Guinier window
    assert "dropped 3 of 395 points" in err and "lie off the Guinier line" in err


@pytest.fixture(scope="module")
def protein_in_nm(tmp_path_factory):
    """A small globular particle (sphere R = 19 Å, Rg 14.7 Å) whose q is in 1/nm, in a file
    whose header wrongly says 1/A: read as written, its Rg is 1.47 'Å'."""
    from sasnn.io.read import write_curve

    q = np.geomspace(0.01, 0.5, 150)
    qr = q * 19.0
    intensity = 100 * (3 * (np.sin(qr) - qr * np.cos(qr)) / qr**3) ** 2 + 0.01
    sigma = 0.01 * intensity
    noisy = intensity + sigma * np.random.default_rng(4).standard_normal(q.size)
    path = tmp_path_factory.mktemp("nm") / "lysozyme_like.dat"
    return str(write_curve(path, Curve(10 * q, noisy, sigma)))


def test_a_physically_implausible_size_is_flagged_in_text_and_json(capsys, protein_in_nm):
    code, out, err = run(capsys, "pr", protein_in_nm, "--json")
    assert code == 0, err
    (record,) = json.loads(out)
    assert record["rg"] < 3 and record["q_units_read"] == "1/A"
    flagged = [w for w in record["warnings"] if "physically implausible" in w]
    assert flagged and all("rerun with --q-units nm" in w for w in flagged)
    assert flagged[0].startswith(f"Rg = {record['rg']:.2g} Å is physically implausible (< 3 Å)")
    assert any("physically implausible" in line and "lysozyme_like.dat" in line
               for line in err.splitlines())
    code, out, err = run(capsys, "pr", protein_in_nm, "--q-units", "nm", "--json")
    (record,) = json.loads(out)
    assert code == 0 and record["rg"] == pytest.approx(np.sqrt(0.6) * 19.0, rel=0.03)
    assert record["q_units_read"] == "1/nm"
    assert not any("implausible" in w for w in record["warnings"]) and "implausible" not in err


def test_an_empty_folder_or_one_without_data_is_one_line_and_status_2(capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run(capsys, "pr", str(empty), "--json")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [f"sasnn: error: {empty}: the folder holds no data files"]
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("no numbers here\n")
    code, out, err = run(capsys, "pr", str(junk))
    assert code == 2 and out == ""
    assert err.strip().splitlines()[-1] == (f"sasnn: error: {junk}: none of the folder's 1 files "
                                            "is a readable data file")
