"""``sasnn train`` → ``evaluate`` → ``explain`` on tiny data, through the real entry point."""

from __future__ import annotations

import json

import pytest
from _identify_data import CLASSES, TINY_TOML, make_tiny_dataset

from sasnn.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("sasnn: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("identify")
    data = make_tiny_dataset(root / "data")
    config = root / "run.toml"
    config.write_text(TINY_TOML)
    run_dir = root / "run"
    code = main(
        ["train", "--data", str(data), "--out", str(run_dir), "--epochs", "2", "--config", str(config)]
    )
    assert code == 0
    return root, data, run_dir


def test_train_writes_a_run(trained):
    _, _, run_dir = trained
    assert {p.name for p in run_dir.iterdir()} == {"config.json", "history.json", "last", "best", "model"}
    assert (run_dir / "model" / "history.png").read_bytes().startswith(b"\x89PNG")
    assert len(json.loads((run_dir / "history.json").read_text())) == 2


def test_rerunning_a_finished_train_is_harmless(trained, capsys):
    root, data, run_dir = trained
    code, _, err = run(
        capsys,
        "train",
        "--data",
        str(data),
        "--out",
        str(run_dir),
        "--epochs",
        "2",
        "--config",
        str(root / "run.toml"),
    )
    assert code == 0, err
    assert "trained 2 epochs" in err


def test_a_warm_start_from_the_trained_run_and_a_bad_one(trained, capsys):
    root, data, run_dir = trained
    config = root / "run.toml"
    code, _, err = run(capsys, "train", "--data", str(data), "--out", str(root / "warm"), "--epochs", "1",
                       "--config", str(config), "--init-from", str(run_dir))
    assert code == 0, err
    meta = json.loads((root / "warm" / "model" / "meta.json").read_text())
    assert meta["train_config"]["init_from"] == str((run_dir / "model").resolve())
    code, _, err = run(capsys, "train", "--data", str(data), "--out", str(root / "cold"),
                       "--init-from", str(root / "nowhere"))
    assert code != 0 and "--init-from" in one_line_error(err) and not (root / "cold").exists()


def test_evaluate_json_follows_the_contract(trained, capsys):
    _, data, run_dir = trained
    code, out, err = run(capsys, "evaluate", "--data", str(data), "--model", str(run_dir), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["n"] == 72
    assert set(result["form_factor"]) >= {"top1", "top3", "macro_f1"}
    assert 0 <= result["structure_factor"]["accuracy"] <= 1
    assert 0 <= result["ece"] <= 1 and "ece_before_calibration" in result
    assert set(result["per_class"]) == set(CLASSES)
    assert result["form_factor"]["top3"] == 1.0  # three classes
    assert result["data"] == {"folder": str(data), "priors": "narrow", "nuisances": "none", "seed": 5,
                              "left_out": 0}


def test_evaluate_report_and_table(trained, capsys, tmp_path):
    _, data, run_dir = trained
    report = tmp_path / "report"
    code, out, err = run(
        capsys, "evaluate", "--data", str(data), "--model", str(run_dir / "model"), "--report", str(report)
    )
    assert code == 0, err
    assert "form factor top-1" in out and "narrow priors" in out
    assert {p.name for p in report.iterdir()} == {"metrics.json", "confusion.png", "per_class.png"}
    assert json.loads((report / "metrics.json").read_text())["confusion_matrix"]["labels"] == list(CLASSES)


def test_explain_writes_the_three_figures(trained, capsys, tmp_path):
    _, _, run_dir = trained
    curve = tmp_path / "sphere.dat"
    assert main(["simulate", "--example", "sphere", "--out", str(curve), "--seed", "2"]) == 0
    out_dir = tmp_path / "why"
    code, _, err = run(capsys, "explain", str(curve), "--model", str(run_dir), "--out", str(out_dir))
    assert code == 0, err
    assert {p.name for p in out_dir.iterdir()} == {"filters.png", "feature_maps.png", "saliency.png"}
    # running it again over its own output is fine
    assert main(["explain", str(curve), "--model", str(run_dir), "--out", str(out_dir)]) == 0


def test_bad_inputs_give_one_line(trained, capsys, tmp_path):
    root, data, run_dir = trained
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[train]\nlearning_rate = 0.1\n")
    code, _, err = run(
        capsys, "train", "--data", str(data), "--out", str(tmp_path / "r"), "--config", str(bad_toml)
    )
    assert code == 1 and "unknown [train] key(s) learning_rate; valid: seed, epochs" in one_line_error(err)

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("")
    code, _, err = run(capsys, "train", "--data", str(data), "--out", str(mine))
    assert code == 1 and "not part of a sasnn run (thesis.tex)" in one_line_error(err)
    code, _, err = run(
        capsys, "evaluate", "--data", str(data), "--model", str(run_dir), "--report", str(mine)
    )
    assert code == 1 and "holds files sasnn did not write (thesis.tex)" in one_line_error(err)
    assert (mine / "thesis.tex").exists()

    code, _, err = run(capsys, "train", "--data", str(tmp_path), "--out", str(tmp_path / "r2"))
    assert code == 1 and "is not a sasnn dataset" in one_line_error(err)
    twice = ["--data", str(data), "--data", str(data)]
    code, _, err = run(capsys, "train", *twice, "--out", str(tmp_path / "r4"))
    assert code == 1 and "with the same seed" in one_line_error(err)
    code, _, err = run(capsys, "evaluate", "--data", str(data), "--model", str(tmp_path / "nowhere"))
    assert code == 1 and "does not exist" in one_line_error(err)
    code, _, err = run(capsys, "evaluate", "--data", str(data), "--model", str(data))
    assert code == 1 and "neither a finished training run" in one_line_error(err)
    code, _, err = run(
        capsys, "train", "--data", str(data), "--out", str(tmp_path / "r3"), "--architecture", "rnn"
    )
    assert code == 1 and "unknown architecture 'rnn'; valid: cnn, sasnets" in one_line_error(err)
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"\x00\x01 not a curve")
    code, _, err = run(capsys, "explain", str(junk), "--model", str(run_dir), "--out", str(tmp_path / "e"))
    assert code == 1 and "junk.dat" in one_line_error(err)
