"""Input checks shared by the teaching estimators (after scikit-learn's ``check_X_y``)."""

from __future__ import annotations

import numpy as np


class NotFittedError(ValueError, AttributeError):
    """Raised when ``predict`` is called before ``fit`` (same bases as scikit-learn's)."""


def check_X(X, n_features=None):
    """Return ``X`` as a finite float array of shape (n_samples, n_features)."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_samples, n_features), got shape {X.shape}; "
            "reshape a single feature with X.reshape(-1, 1)"
        )
    if X.shape[0] == 0:
        raise ValueError("X has no samples")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinity; remove or impute those values")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, but the model was fitted with {n_features}")
    return X


def check_X_y(X, y, min_classes=2):
    """Validate ``X`` and ``y``; return ``X, classes, y_index`` with ``classes[y_index] == y``."""
    X = check_X(X)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must be 1-D with one label per row of X ({len(X)}), got {y.shape}")
    classes, y_index = np.unique(y, return_inverse=True)
    if len(classes) < min_classes:
        raise ValueError(f"y needs at least {min_classes} distinct labels, got {classes.tolist()}")
    return X, classes, y_index


def check_fitted(estimator, attribute):
    """Raise ``NotFittedError`` unless ``fit`` has set ``attribute``."""
    if not hasattr(estimator, attribute):
        name = type(estimator).__name__
        raise NotFittedError(f"this {name} is not fitted yet; call {name}(...).fit(X, y) first")
