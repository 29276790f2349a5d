"""Gradient descent on one neuron against NumPy's least-squares line."""

import numpy as np
import pytest

from sasnn.fundamentals.descent import format_epoch, gradient_descent
from sasnn.fundamentals.toy_data import noisy_line


@pytest.fixture
def line():
    return noisy_line(20, np.random.default_rng(0), slope=2.0, intercept=1.0, noise=0.1)


def test_cost_falls_every_epoch_for_a_small_step(line):
    history = gradient_descent(*line, learning_rate=0.01, n_epochs=300)
    assert history.cost.shape == history.w.shape == history.b.shape == (301,)
    assert np.all(np.diff(history.cost) < 0)


def test_converges_to_the_least_squares_line(line):
    history = gradient_descent(*line, learning_rate=0.05, n_epochs=3000)
    slope, intercept = np.polyfit(*line, deg=1)
    np.testing.assert_allclose([history.w[-1], history.b[-1]], [slope, intercept], rtol=1e-8)


def test_first_line_is_the_slides(line):
    history = gradient_descent(*line, learning_rate=0.01, n_epochs=5)
    assert history.line(0) == "EPOCH: 0  neuron(x) = 0.00x + 0.00"


@pytest.mark.parametrize(
    ("w", "b", "text"),
    [
        (1.999, 0.5, "2.00x + 0.50"),
        (-1.5, -0.25, "-1.50x - 0.25"),
        (-0.001, -0.001, "0.00x + 0.00"),  # no "-0.00"
    ],
)
def test_format_epoch(w, b, text):
    assert format_epoch(7, w, b) == f"EPOCH: 7  neuron(x) = {text}"


def test_too_large_a_step_diverges_with_a_hint(line):
    with pytest.raises(ValueError, match="diverged with learning_rate=1.*smaller"):
        gradient_descent(*line, learning_rate=1.0, n_epochs=2000)


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "match"),
    [
        ([0.0, 1.0], [0.0, 1.0, 2.0], {}, "same length"),
        ([[0.0, 1.0]], [[0.0, 1.0]], {}, "must be 1-D"),
        ([0.0, 1.0], [0.0, 1.0], {"learning_rate": 0.0}, "learning_rate must be > 0"),
        ([0.0, 1.0], [0.0, 1.0], {"n_epochs": -1}, "n_epochs must be >= 0"),
    ],
)
def test_bad_input_is_rejected_with_a_message(x, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        gradient_descent(x, y, **kwargs)
