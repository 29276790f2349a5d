"""``sasnn lecture ...``: every command runs, prints what the slides show, and writes its PNG."""

import numpy as np
import pytest

from sasnn.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(capsys, *args):
    code = main(["lecture", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_png(path):
    assert path.read_bytes().startswith(PNG_MAGIC)


def assert_one_line_error(code, stderr, expected_code, *fragments):
    assert code == expected_code
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in stderr


@pytest.mark.parametrize("command", [[], ["perceptron"], ["descent"], ["backprop"], ["conv"]])
def test_help(capsys, command):
    code, stdout, _ = run(capsys, *command, "--help")
    assert code == 0 and "Usage" in stdout


def test_perceptron(capsys, tmp_path):
    code, stdout, _ = run(capsys, "perceptron", "--out", str(tmp_path), "--seed", "1")
    assert code == 0
    assert stdout.splitlines()[0].startswith("epoch 1: ")
    assert "0 mistakes" in stdout.splitlines()[-2] and "final w = (" in stdout
    assert_png(tmp_path / "perceptron.png")


def test_perceptron_on_xor_fails_in_one_line(capsys, tmp_path):
    args = ["--xor", "--max-epochs", "20", "--out", str(tmp_path)]
    code, _, stderr = run(capsys, "perceptron", *args)
    assert_one_line_error(code, stderr, 1, "not linearly separable within max_epochs=20")
    assert not (tmp_path / "perceptron.png").exists()


def test_descent(capsys, tmp_path):
    code, stdout, _ = run(capsys, "descent", "--epochs", "50", "--out", str(tmp_path))
    lines = stdout.splitlines()
    assert code == 0
    assert lines[0] == "EPOCH: 0  neuron(x) = 0.00x + 0.00"
    assert lines[-2].startswith("EPOCH: 50  neuron(x) = ")
    assert_png(tmp_path / "descent.png")


def test_descent_divergence_is_one_line(capsys, tmp_path):
    code, _, stderr = run(capsys, "descent", "--learning-rate", "5", "--out", str(tmp_path))
    assert_one_line_error(code, stderr, 1, "diverged")


def test_backprop(capsys, tmp_path):
    code, stdout, _ = run(capsys, "backprop", "--steps", "5", "--out", str(tmp_path))
    assert code == 0
    for symbol in ("z1 =", "y_hat =", "dL/dw2 =", "dL/db2 =", "dL/dw1 =", "dL/db1 =", "L: "):
        assert symbol in stdout
    before, after = (float(v) for v in stdout.split("L: ")[1].split()[0:3:2])
    assert after < before  # the update with -alpha lowers the loss
    assert_png(tmp_path / "backprop.png")


def test_conv_prints_the_slide_example_and_leaves_other_files_alone(capsys, tmp_path):
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    out_dir = tmp_path / "new" / "folder"
    code, stdout, _ = run(capsys, "conv", "--kernel", "sharpen", "--out", str(out_dir))
    assert code == 0
    assert "4  3  4\n2  4  3\n2  3  4" in stdout
    assert "kernel sharpen" in stdout and "max-pooled (31, 31)" in stdout
    assert sorted(p.name for p in out_dir.iterdir()) == ["conv.png"]
    assert keep.read_text() == "mine"
    assert_png(out_dir / "conv.png")


def test_conv_reads_a_color_image(capsys, tmp_path):
    import matplotlib.image

    image = tmp_path / "photo.png"
    rgb = np.random.default_rng(0).uniform(size=(20, 24, 3))
    matplotlib.image.imsave(image, rgb)
    args = ["--image", str(image), "--kernel", "laplacian", "--stride", "2", "--out", str(tmp_path)]
    code, stdout, _ = run(capsys, "conv", *args)
    assert code == 0 and "image (20, 24) -> feature map (9, 11) -> max-pooled (4, 5)" in stdout
    assert_png(tmp_path / "conv.png")


def test_conv_unknown_kernel_lists_the_valid_names(capsys, tmp_path):
    code, _, stderr = run(capsys, "conv", "--kernel", "sobel", "--out", str(tmp_path))
    assert_one_line_error(code, stderr, 2, "sobel", "identity", "gaussian_blur")
    assert not any(tmp_path.iterdir())


def test_conv_unreadable_image_is_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    code, _, stderr = run(capsys, "conv", "--image", str(bad), "--out", str(tmp_path))
    assert_one_line_error(code, stderr, 1, "cannot read", "bad.png")
