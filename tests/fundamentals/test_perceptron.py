"""The slide's perceptron against scikit-learn's, which makes the same updates.

sklearn.linear_model.Perceptron is SGD on the hinge loss with threshold 0: for
each sample in order it computes p = w.x + b and, when y p <= 0 (the slide's
test, ties included), sets w += eta0 y x and b += eta0 y. With eta0=1, no
penalty, no shuffling and tol=None it runs exactly max_iter epochs of the
slide's loop, so the weights must agree epoch by epoch.
"""

import numpy as np
import pytest
from sklearn.linear_model import Perceptron as SkPerceptron

from sasnn.fundamentals._checks import NotFittedError
from sasnn.fundamentals.perceptron import Perceptron, perceptron_epoch
from sasnn.fundamentals.toy_data import separable_points, xor


@pytest.fixture
def separable():
    # a narrow margin, so convergence takes several epochs (12 for this seed)
    return separable_points(60, np.random.default_rng(2), margin=0.05)


def sklearn_perceptron(X, y, n_epochs):
    same_updates = {"penalty": None, "alpha": 0.0, "eta0": 1.0, "shuffle": False, "tol": None}
    return SkPerceptron(fit_intercept=True, max_iter=n_epochs, **same_updates).fit(X, y)


def test_converges_on_separable_data(separable):
    X, y = separable
    model = Perceptron().fit(X, y)
    np.testing.assert_array_equal(model.predict(X), y)
    assert model.n_epochs_ == len(model.mistakes_) > 2
    assert model.mistakes_[-1] == 0 and min(model.mistakes_[:-1]) > 0
    assert np.all(y * model.decision_function(X) > 0)


def test_weights_match_sklearn_epoch_by_epoch(separable):
    X, y = separable
    X1, s = np.column_stack([X, np.ones(len(X))]), np.where(y == 1, 1.0, -1.0)
    w = np.zeros(3)
    for epoch in range(1, Perceptron().fit(X, y).n_epochs_ + 1):
        w, _ = perceptron_epoch(w, X1, s)
        reference = sklearn_perceptron(X, y, epoch)
        np.testing.assert_allclose(w[:-1], reference.coef_.ravel(), rtol=1e-12)
        np.testing.assert_allclose(w[-1], reference.intercept_[0], rtol=1e-12)


def test_fitted_model_matches_sklearn_and_maps_labels(separable):
    X, y = separable
    labels = np.where(y == 1, "pos", "neg")  # any two labels; classes_[1] is the +1 class
    model = Perceptron().fit(X, labels)
    reference = sklearn_perceptron(X, labels, model.n_epochs_)
    np.testing.assert_array_equal(model.classes_, reference.classes_)
    np.testing.assert_allclose(model.coef_, reference.coef_.ravel(), rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, reference.intercept_[0], rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


def test_xor_is_not_linearly_separable():
    with pytest.raises(ValueError, match=r"not linearly separable within max_epochs=50"):
        Perceptron(max_epochs=50).fit(*xor())


def test_predict_before_fit_says_not_fitted():
    with pytest.raises(NotFittedError, match=r"Perceptron is not fitted yet.*fit\(X, y\)"):
        Perceptron().predict(np.zeros((2, 2)))


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "match"),
    [
        (np.zeros((3, 2)), [0, 1, 2], {}, "separates two classes, y has 3"),
        (np.zeros((3, 2)), [1, 1, 1], {}, "at least 2 distinct labels"),
        (np.zeros(3), [0, 1, 0], {}, "X must be 2-D"),
        (np.zeros((3, 2)), [0, 1], {}, "one label per row"),
        ([[0.0, np.nan], [1.0, 1.0]], [0, 1], {}, "NaN or infinity"),
        (np.eye(2), [0, 1], {"max_epochs": 0}, "max_epochs must be a positive integer"),
    ],
)
def test_bad_input_is_rejected_with_a_message(X, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Perceptron(**kwargs).fit(X, y)


def test_predict_checks_the_number_of_features(separable):
    model = Perceptron().fit(*separable)
    with pytest.raises(ValueError, match="X has 3 features, but the model was fitted with 2"):
        model.predict(np.zeros((1, 3)))
