"""The hand-written backward pass against finite differences and torch.autograd."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sasnn.fundamentals._checks import NotFittedError
from sasnn.fundamentals.activations import LEAKY_SLOPE
from sasnn.fundamentals.mlp import HIDDEN_ACTIVATIONS, LOSSES, MLP, loss_and_gradients
from sasnn.fundamentals.toy_data import xor

CASES = list(itertools.product(HIDDEN_ACTIVATIONS, LOSSES))
TORCH_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, LEAKY_SLOPE),
}


@pytest.fixture
def network():
    """Weights, inputs and one-hot targets of a 3 -> 5 -> 4 -> 3 network, float64."""
    rng = np.random.default_rng(0)
    sizes = [3, 5, 4, 3]
    coefs = [rng.normal(size=(i, o)) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    intercepts = [rng.normal(size=o) for o in sizes[1:]]
    X = rng.normal(size=(7, 3))
    Y = np.eye(3)[rng.integers(0, 3, size=7)]
    return coefs, intercepts, X, Y


def torch_loss(coefs, intercepts, X, Y, activation, loss):
    """The same network written with torch operations, for autograd to differentiate."""
    a = torch.tensor(X)
    for k, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        z = a @ W + b
        a = z if k == len(coefs) - 1 else TORCH_ACTIVATIONS[activation](z)
    Y = torch.tensor(Y)
    if loss == "cross_entropy":
        return -(Y * torch.log_softmax(a, dim=1)).sum() / len(Y)
    return 0.5 * ((Y - torch.softmax(a, dim=1)) ** 2).sum() / len(Y)


@pytest.mark.parametrize(("activation", "loss"), CASES)
def test_gradients_match_torch_autograd(network, activation, loss):
    coefs, intercepts, X, Y = network
    value, grad_coefs, grad_intercepts = loss_and_gradients(
        coefs, intercepts, X, Y, activation=activation, loss=loss
    )
    params = [torch.tensor(p, requires_grad=True) for p in coefs + intercepts]
    n = len(coefs)
    expected = torch_loss(params[:n], params[n:], X, Y, activation, loss)
    expected.backward()
    np.testing.assert_allclose(value, expected.item(), rtol=1e-12)
    for ours, theirs in zip(grad_coefs + grad_intercepts, params, strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(("activation", "loss"), CASES)
def test_gradients_match_central_differences(network, activation, loss):
    coefs, intercepts, X, Y = network
    _, grad_coefs, grad_intercepts = loss_and_gradients(
        coefs, intercepts, X, Y, activation=activation, loss=loss
    )
    h = 1e-6
    for param, grad in zip(coefs + intercepts, grad_coefs + grad_intercepts, strict=True):
        numeric = np.zeros_like(param)
        for i in np.ndindex(param.shape):
            saved = param[i]
            param[i] = saved + h
            up = loss_and_gradients(coefs, intercepts, X, Y, activation=activation, loss=loss)[0]
            param[i] = saved - h
            down = loss_and_gradients(coefs, intercepts, X, Y, activation=activation, loss=loss)[0]
            param[i] = saved
            numeric[i] = (up - down) / (2 * h)
        # central differences are accurate to about h^2 + eps/h = 1e-10
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_xor_is_learned():
    X, y = xor()
    model = MLP(hidden_sizes=(8,), learning_rate=0.5, n_epochs=500, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), y)
    assert model.loss_curve_[-1] < 0.05 < model.loss_curve_[0]
    assert [W.shape for W in model.coefs_] == [(2, 8), (8, 2)]
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)


def test_same_random_state_same_model():
    X, y = xor()
    a, b = (MLP(n_epochs=5, random_state=3).fit(X, y) for _ in range(2))
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(u, v)
    assert a.loss_curve_ == b.loss_curve_


def test_quadratic_loss_also_trains():
    X, y = xor()
    options = {"hidden_sizes": (8,), "learning_rate": 2.0, "n_epochs": 300, "random_state": 0}
    model = MLP(loss="quadratic", **options).fit(X, y)
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_predict_before_fit_says_not_fitted():
    with pytest.raises(NotFittedError, match=r"MLP is not fitted yet"):
        MLP().predict(np.zeros((2, 2)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"activation": "step"}, r"activation must be one of \('sigmoid'"),
        ({"loss": "hinge"}, "loss must be one of"),
        ({"hidden_sizes": (4, 0)}, "hidden_sizes must be positive"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
    ],
)
def test_bad_parameters_are_rejected_in_fit(kwargs, match):
    model = MLP(**kwargs)  # __init__ only stores; the check happens in fit
    with pytest.raises(ValueError, match=match):
        model.fit(*xor())
