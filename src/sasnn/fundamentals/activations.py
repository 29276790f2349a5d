"""Activation functions and their derivatives.

Every function takes the pre-activation ``z`` (any shape) and returns an array of
the same shape, except ``softmax_jacobian``, which adds one axis. The derivatives
are written out by hand so that ``mlp.py`` can backpropagate through them;
``tests/fundamentals/test_activations.py`` checks each against torch.autograd.

``ACTIVATIONS`` maps a name to the pair ``(f, df)``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "leaky_relu",
    "leaky_relu_derivative",
    "log_softmax",
    "relu",
    "relu_derivative",
    "sigmoid",
    "sigmoid_derivative",
    "softmax",
    "softmax_jacobian",
    "step",
    "step_derivative",
    "tanh",
    "tanh_derivative",
]

#: Slope of leaky ReLU for z < 0 (torch's default ``negative_slope``).
LEAKY_SLOPE = 0.01


def step(z):
    """The perceptron's threshold: 1 where ``z > 0``, else 0 (the slide's ``<=`` gives 0)."""
    return (np.asarray(z) > 0).astype(float)


def step_derivative(z):
    """Zero everywhere (undefined at 0): why gradient descent cannot train a step unit."""
    return np.zeros_like(z, dtype=float)


def sigmoid(z):
    """Logistic function ``1 / (1 + exp(-z))``, without overflow for large ``|z|``."""
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))  # <= 1, so it never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(z):
    """``sigma(z) (1 - sigma(z))``, as on the backpropagation slide."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    """Hyperbolic tangent, range (-1, 1)."""
    return np.tanh(z)


def tanh_derivative(z):
    """``1 - tanh(z)**2``."""
    return 1.0 - np.tanh(z) ** 2


def relu(z):
    """Rectified linear unit ``max(0, z)``."""
    return np.maximum(z, 0.0)


def relu_derivative(z):
    """1 where ``z > 0``, else 0 (0 at the kink, as torch does)."""
    return (np.asarray(z) > 0).astype(float)


def leaky_relu(z, slope=LEAKY_SLOPE):
    """``z`` where ``z > 0``, else ``slope * z``: negative inputs keep a small gradient."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, slope * z)


def leaky_relu_derivative(z, slope=LEAKY_SLOPE):
    """1 where ``z > 0``, else ``slope`` (``slope`` at the kink, as torch does)."""
    return np.where(np.asarray(z) > 0, 1.0, slope)


def softmax(z, axis=-1):
    """Normalised exponentials along ``axis``: each slice is positive and sums to 1.

    Subtracting the maximum first changes nothing mathematically but keeps
    ``exp`` from overflowing.
    """
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    """``log(softmax(z))`` computed as ``z - logsumexp(z)``: finite even when softmax underflows."""
    z = np.asarray(z, dtype=float)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_jacobian(z):
    """Jacobian of softmax over the last axis.

    Softmax is not elementwise: each output depends on every input, so its
    derivative is a matrix, ``J[..., i, j] = d s_i / d z_j = s_i (delta_ij - s_j)``.

    Parameters
    ----------
    z : array_like, shape (..., k)

    Returns
    -------
    ndarray, shape (..., k, k)
    """
    s = softmax(z)
    return s[..., :, None] * (np.eye(s.shape[-1]) - s[..., None, :])


#: name -> (f, df). ``df`` is elementwise except for softmax, where it is the Jacobian.
ACTIVATIONS = {
    "step": (step, step_derivative),
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (tanh, tanh_derivative),
    "relu": (relu, relu_derivative),
    "leaky_relu": (leaky_relu, leaky_relu_derivative),
    "softmax": (softmax, softmax_jacobian),
}
