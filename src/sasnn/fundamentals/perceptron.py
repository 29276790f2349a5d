"""Rosenblatt's perceptron, exactly as the lecture's "Perceptron Algorithm" slide.

::

    w = 0
    repeat:
        m = 0
        for (x_i, y_i) in D, in order:
            if y_i (w . x_i) <= 0:      # misclassified (w = 0 misclassifies everything)
                w = w + y_i x_i
                m = m + 1
    until m == 0

Labels are y_i in {-1, +1}; the bias is folded into ``w`` by giving every
``x_i`` a last feature equal to 1. If the data are linearly separable the loop
stops (Novikoff's theorem); if not (XOR) it never does, so ``fit`` gives up
after ``max_epochs`` with a ``ValueError``.
"""

from __future__ import annotations

import numpy as np

from sasnn.fundamentals._checks import check_fitted, check_X, check_X_y

__all__ = ["Perceptron", "perceptron_epoch"]


def perceptron_epoch(w, X1, s):
    """One pass of the slide's loop over the data, in order.

    Parameters
    ----------
    w : ndarray, shape (n_features + 1,)
        Weights with the bias last. Not modified.
    X1 : ndarray, shape (n_samples, n_features + 1)
        Inputs with a final column of ones.
    s : ndarray, shape (n_samples,)
        Labels in {-1, +1}.

    Returns
    -------
    w : ndarray, shape (n_features + 1,)
        The weights after the pass.
    mistakes : int
        Number of updates made (the slide's ``m``).
    """
    w = np.array(w, dtype=float)
    mistakes = 0
    for x_i, y_i in zip(X1, s, strict=True):
        if y_i * (w @ x_i) <= 0:
            w += y_i * x_i
            mistakes += 1
    return w, mistakes


class Perceptron:
    """Binary perceptron classifier with the scikit-learn estimator interface.

    Parameters
    ----------
    max_epochs : int
        Passes over the data before giving up on finding a separating hyperplane.

    Attributes
    ----------
    classes_ : ndarray, shape (2,)
        The two labels; ``classes_[1]`` is the +1 class (as in scikit-learn).
    coef_ : ndarray, shape (n_features,)
    intercept_ : float
    n_epochs_ : int
        Epochs run, including the final one with zero mistakes.
    mistakes_ : list of int, length n_epochs_
        Mistakes (= updates) in each epoch; the last is 0.
    """

    def __init__(self, max_epochs=1000):
        self.max_epochs = max_epochs

    def fit(self, X, y):
        """Run the perceptron algorithm on ``X`` (n_samples, n_features) and two-label ``y``."""
        if not (isinstance(self.max_epochs, int | np.integer) and self.max_epochs >= 1):
            raise ValueError(f"max_epochs must be a positive integer, got {self.max_epochs!r}")
        X, classes, y_index = check_X_y(X, y)
        if len(classes) != 2:
            raise ValueError(
                f"the perceptron separates two classes, y has {len(classes)}: {classes.tolist()}"
            )
        s = np.where(y_index == 1, 1.0, -1.0)
        X1 = np.column_stack([X, np.ones(len(X))])  # bias folded in as a constant feature
        w = np.zeros(X1.shape[1])
        mistakes = []
        while not mistakes or mistakes[-1] > 0:
            if len(mistakes) == self.max_epochs:
                raise ValueError(
                    f"the data are not linearly separable within max_epochs={self.max_epochs}: "
                    f"the last epoch still made {mistakes[-1]} mistakes. Raise max_epochs, or "
                    "use a model with a hidden layer (MLP) for data such as XOR"
                )
            w, m = perceptron_epoch(w, X1, s)
            mistakes.append(m)
        self.classes_ = classes
        self.coef_, self.intercept_ = w[:-1], float(w[-1])
        self.n_epochs_, self.mistakes_ = len(mistakes), mistakes
        return self

    def decision_function(self, X):
        """Signed score ``w . x + b``, shape (n_samples,); positive means ``classes_[1]``."""
        check_fitted(self, "coef_")
        return check_X(X, n_features=len(self.coef_)) @ self.coef_ + self.intercept_

    def predict(self, X):
        """Labels, shape (n_samples,): ``classes_[1]`` where score > 0, else ``classes_[0]``."""
        positive = self.decision_function(X) > 0  # checks fitted before classes_ is read
        return self.classes_[positive.astype(int)]
