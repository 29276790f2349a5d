"""Gradient descent on one linear neuron, as the lecture's "Gradient Descent" slide.

The neuron is ``a = w x + b`` and the cost is the slide's quadratic cost summed
over the data,

    C(w, b) = 1/2 sum_i (y_i - a_i)^2,
    dC/dw = -sum_i (y_i - a_i) x_i,      dC/db = -sum_i (y_i - a_i).

Each epoch takes one full-batch step ``w -= eta dC/dw``, ``b -= eta dC/db``,
starting from ``w = b = 0`` ("EPOCH: 0  neuron(x) = 0.00x + 0.00"). Because the
cost is a sum, not a mean, the stable step size shrinks as the data grow: the
step converges when ``eta < 2 / lambda_max`` of ``[[sum x^2, sum x], [sum x, n]]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DescentHistory", "format_epoch", "gradient_descent"]


@dataclass(frozen=True)
class DescentHistory:
    """Parameters and cost before the first step and after every epoch.

    Attributes
    ----------
    w, b, cost : ndarray, shape (n_epochs + 1,)
        Entry ``k`` is the state after ``k`` epochs; entry 0 is the start (0, 0).
    """

    w: np.ndarray
    b: np.ndarray
    cost: np.ndarray

    def line(self, k):
        """The slide's text for epoch ``k``."""
        return format_epoch(k, self.w[k], self.b[k])


def format_epoch(k, w, b):
    """Return ``"EPOCH: k  neuron(x) = {w:.2f}x + {b:.2f}"`` (``- |b|`` when b < 0)."""
    w, b = round(float(w), 2) + 0.0, round(float(b), 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    sign = "-" if b < 0 else "+"
    return f"EPOCH: {k}  neuron(x) = {w:.2f}x {sign} {abs(b):.2f}"


def gradient_descent(x, y, *, learning_rate=0.01, n_epochs=100):
    """Fit ``y ~ w x + b`` by full-batch gradient descent from ``w = b = 0``.

    Parameters
    ----------
    x, y : array_like, shape (n_samples,)
        Inputs and targets (any consistent units).
    learning_rate : float
        Step size ``eta`` (> 0).
    n_epochs : int
        Number of steps (>= 0).

    Returns
    -------
    DescentHistory
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D and the same length, got {x.shape} and {y.shape}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    if n_epochs < 0:
        raise ValueError(f"n_epochs must be >= 0, got {n_epochs}")
    w = np.zeros(n_epochs + 1)
    b = np.zeros(n_epochs + 1)
    cost = np.zeros(n_epochs + 1)
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
        for k in range(n_epochs + 1):
            residual = y - (w[k] * x + b[k])  # y - a
            cost[k] = 0.5 * residual @ residual
            if k < n_epochs:
                w[k + 1] = w[k] + learning_rate * (residual @ x)  # w - eta dC/dw
                b[k + 1] = b[k] + learning_rate * residual.sum()
    if not np.all(np.isfinite(cost)):
        raise ValueError(
            f"gradient descent diverged with learning_rate={learning_rate}; try a smaller one"
        )
    return DescentHistory(w=w, b=b, cost=cost)
