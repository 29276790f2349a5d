"""The demo data sets: reproducible from a seed, and as advertised."""

import numpy as np
from sklearn.svm import LinearSVC

from sasnn.fundamentals.toy_data import demo_image, noisy_line, separable_points, xor


def test_same_seed_same_data():
    for make in (separable_points, noisy_line):
        a = make(30, np.random.default_rng(7))
        b = make(30, np.random.default_rng(7))
        for u, v in zip(a, b, strict=True):
            np.testing.assert_array_equal(u, v)


def test_separable_points_are_linearly_separable():
    X, y = separable_points(200, np.random.default_rng(3), margin=0.05)
    assert X.shape == (200, 2) and set(np.unique(y)) == {-1, 1}
    svm = LinearSVC(C=1e4, max_iter=100_000).fit(X, y)  # a hard-margin SVM finds a separator
    assert svm.score(X, y) == 1.0


def test_xor_is_not_linearly_separable():
    X, y = xor()
    svm = LinearSVC(C=1e4, max_iter=100_000).fit(X, y)
    assert svm.score(X, y) < 1.0


def test_noisy_line_and_image():
    x, y = noisy_line(500, np.random.default_rng(0), slope=2.0, intercept=1.0, noise=0.01)
    np.testing.assert_allclose(np.polyfit(x, y, 1), [2.0, 1.0], atol=0.01)
    image = demo_image(32)
    assert image.shape == (32, 32) and 0.0 == image.min() and image.max() == 1.0
