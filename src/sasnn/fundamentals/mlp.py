"""A multilayer perceptron with a hand-written backward pass.

Each layer is the slide's matrix form ``z = W^T x + b`` with ``W`` of shape
(n_in, n_out). With one sample per row of ``X`` that is ``Z = X @ W + b``. The
hidden layers apply ``activation``, and the output layer applies softmax, so
outputs are class probabilities. Two costs, both averaged over the batch:

* ``"quadratic"``: the slide's ``C = 1/2 ||y - a^L||^2``;
* ``"cross_entropy"``: ``C = -sum_j y_j log a^L_j``.

Backpropagation starts from ``delta^L = dC/dz^L`` and walks back with
``delta^l = (delta^{l+1} W^{l+1 T}) * f'(z^l)``; each layer's gradients are
``dC/dW = a^{l-1 T} delta^l`` and ``dC/db = sum over samples of delta^l``.
"""

from __future__ import annotations

import numpy as np

from sasnn.fundamentals._checks import check_fitted, check_X, check_X_y
from sasnn.fundamentals.activations import ACTIVATIONS, log_softmax, softmax, softmax_jacobian

__all__ = ["HIDDEN_ACTIVATIONS", "LOSSES", "MLP", "forward", "loss_and_gradients"]

# step has zero gradient everywhere and softmax is not elementwise: neither can be a hidden layer
HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
LOSSES = ("quadratic", "cross_entropy")


def forward(coefs, intercepts, X, activation="tanh"):
    """Run the network on ``X`` (n_samples, n_in).

    Returns
    -------
    zs : list of ndarray, shapes (n_samples, n_out of each layer)
        Pre-activations.
    activations : list of ndarray
        ``activations[0]`` is ``X``; ``activations[-1]`` is the softmax output.
    """
    f = ACTIVATIONS[activation][0]
    zs, activations = [], [X]
    for k, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        zs.append(activations[-1] @ W + b)  # z = W^T x + b, one sample per row
        activations.append(softmax(zs[-1]) if k == len(coefs) - 1 else f(zs[-1]))
    return zs, activations


def loss_and_gradients(coefs, intercepts, X, Y, *, activation="tanh", loss="cross_entropy"):
    """Cost and its exact gradient for given weights.

    Parameters
    ----------
    coefs : list of ndarray, shapes (n_in, n_out) per layer
    intercepts : list of ndarray, shapes (n_out,) per layer
    X : ndarray, shape (n_samples, n_features)
    Y : ndarray, shape (n_samples, n_classes)
        One-hot targets.
    activation : {"sigmoid", "tanh", "relu", "leaky_relu"}
    loss : {"quadratic", "cross_entropy"}

    Returns
    -------
    loss : float
        Mean cost per sample.
    grad_coefs, grad_intercepts : list of ndarray
        Same shapes as ``coefs`` and ``intercepts``.
    """
    zs, activations = forward(coefs, intercepts, X, activation)
    p, n = activations[-1], len(X)
    if loss == "cross_entropy":
        value = -np.sum(Y * log_softmax(zs[-1])) / n
        delta = (p - Y) / n  # the softmax Jacobian cancels against d(log p): why they are paired
    elif loss == "quadratic":
        value = 0.5 * np.sum((Y - p) ** 2) / n
        # dC/dz = J^T dC/da with dC/da = a - y; J is symmetric for softmax
        delta = np.einsum("nij,nj->ni", softmax_jacobian(zs[-1]), p - Y) / n
    else:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    df = ACTIVATIONS[activation][1]
    grad_coefs, grad_intercepts = [None] * len(coefs), [None] * len(coefs)
    for k in reversed(range(len(coefs))):
        grad_coefs[k] = activations[k].T @ delta
        grad_intercepts[k] = delta.sum(axis=0)
        if k > 0:
            delta = (delta @ coefs[k].T) * df(zs[k - 1])
    return float(value), grad_coefs, grad_intercepts


class MLP:
    """Multilayer perceptron classifier trained by minibatch SGD (scikit-learn interface).

    Parameters
    ----------
    hidden_sizes : tuple of int
        Width of each hidden layer.
    activation : {"sigmoid", "tanh", "relu", "leaky_relu"}
    learning_rate : float
    n_epochs : int
    loss : {"cross_entropy", "quadratic"}
    batch_size : int
        Samples per SGD step (capped at n_samples; 1 is "pure" SGD).
    random_state : int, numpy Generator or None
        Seeds the initial weights and the shuffling of each epoch.

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
    coefs_ : list of ndarray, shapes (n_in, n_out)
    intercepts_ : list of ndarray, shapes (n_out,)
    loss_curve_ : list of float
        Mean cost over each epoch's minibatches.
    """

    def __init__(
        self,
        hidden_sizes=(16,),
        activation="tanh",
        learning_rate=0.1,
        n_epochs=100,
        loss="cross_entropy",
        batch_size=32,
        random_state=None,
    ):
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.loss = loss
        self.batch_size = batch_size
        self.random_state = random_state

    def _check_params(self):
        for name, allowed in (("activation", HIDDEN_ACTIVATIONS), ("loss", LOSSES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if any(int(h) < 1 for h in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must be positive, got {self.hidden_sizes}")
        if not (self.learning_rate > 0 and self.n_epochs >= 1 and self.batch_size >= 1):
            raise ValueError("learning_rate must be > 0, n_epochs and batch_size >= 1")

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,)."""
        self._check_params()
        X, classes, y_index = check_X_y(X, y)
        Y = np.eye(len(classes))[y_index]
        rng = np.random.default_rng(self.random_state)
        sizes = [X.shape[1], *map(int, self.hidden_sizes), len(classes)]
        shapes = list(zip(sizes[:-1], sizes[1:], strict=True))
        # Glorot-uniform start: keeps the variance of z about the same in every layer
        coefs = [rng.uniform(-1, 1, shape) * np.sqrt(6.0 / sum(shape)) for shape in shapes]
        intercepts = [np.zeros(n_out) for _, n_out in shapes]
        params = coefs + intercepts  # the same array objects, updated in place
        options = {"activation": self.activation, "loss": self.loss}
        loss_curve = []
        for _ in range(self.n_epochs):
            order, total = rng.permutation(len(X)), 0.0
            for batch in np.array_split(order, max(1, len(X) // self.batch_size)):
                value, g_coefs, g_intercepts = loss_and_gradients(
                    coefs, intercepts, X[batch], Y[batch], **options
                )
                for param, grad in zip(params, g_coefs + g_intercepts, strict=True):
                    param -= self.learning_rate * grad  # descent steps against the gradient
                total += value * len(batch)
            loss_curve.append(total / len(X))
        self.classes_, self.coefs_, self.intercepts_ = classes, coefs, intercepts
        self.loss_curve_ = loss_curve
        return self

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        check_fitted(self, "coefs_")
        X = check_X(X, n_features=self.coefs_[0].shape[0])
        return forward(self.coefs_, self.intercepts_, X, self.activation)[1][-1]

    def predict(self, X):
        """Most probable label for each row of ``X``, shape (n_samples,)."""
        best = np.argmax(self.predict_proba(X), axis=1)  # checks fitted before classes_ is read
        return self.classes_[best]
