"""Activations and their hand-written derivatives against torch and torch.autograd."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sasnn.fundamentals.activations import (
    ACTIVATIONS,
    LEAKY_SLOPE,
    log_softmax,
    sigmoid,
    softmax,
    softmax_jacobian,
    step,
)

# includes 0 (the kinks), and values far enough out that a naive exp would overflow
Z = np.concatenate([np.linspace(-6, 6, 49), [-800.0, -40.0, 0.0, 40.0, 800.0]])

TORCH = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, LEAKY_SLOPE),
}


@pytest.mark.parametrize("name", sorted(TORCH))
def test_value_and_derivative_match_torch_autograd(name):
    f, df = ACTIVATIONS[name]
    z = torch.tensor(Z, dtype=torch.float64, requires_grad=True)
    expected = TORCH[name](z)
    expected.sum().backward()  # elementwise, so the gradient of the sum is f'(z)
    np.testing.assert_allclose(f(Z), expected.detach().numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(df(Z), z.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_step_is_the_slides_threshold():
    # torch has no gradient for a step; its derivative is 0 wherever it exists
    expected = torch.heaviside(torch.tensor(Z), torch.tensor(0.0, dtype=torch.float64))
    np.testing.assert_array_equal(step(Z), expected.numpy())
    assert step(0.0) == 0.0  # the slide: sum w x <= threshold outputs 0
    np.testing.assert_array_equal(ACTIVATIONS["step"][1](Z), np.zeros_like(Z))


def test_sigmoid_and_softmax_do_not_overflow():
    with np.errstate(over="raise", invalid="raise"):  # underflow to 0 is fine
        assert sigmoid(-800.0) == 0.0 and sigmoid(800.0) == 1.0
        np.testing.assert_allclose(softmax([1000.0, 0.0]), [1.0, 0.0])
        assert np.isfinite(log_softmax([1000.0, 0.0])).all()


def test_softmax_and_log_softmax_match_torch():
    z = np.random.default_rng(0).normal(scale=5, size=(6, 4))
    np.testing.assert_allclose(softmax(z), torch.softmax(torch.tensor(z), -1).numpy(), rtol=1e-12)
    expected = torch.log_softmax(torch.tensor(z), -1).numpy()
    np.testing.assert_allclose(log_softmax(z), expected, rtol=1e-12)
    np.testing.assert_allclose(softmax(z, axis=0).sum(axis=0), 1.0)


def test_softmax_jacobian_matches_torch_autograd():
    z = np.random.default_rng(1).normal(size=(3, 5))
    jacobian = softmax_jacobian(z)
    assert jacobian.shape == (3, 5, 5)
    for row, jac in zip(z, jacobian, strict=True):
        expected = torch.autograd.functional.jacobian(
            lambda t: torch.softmax(t, -1), torch.tensor(row)
        )
        np.testing.assert_allclose(jac, expected.numpy(), rtol=1e-10, atol=1e-15)
    assert ACTIVATIONS["softmax"][1] is softmax_jacobian
