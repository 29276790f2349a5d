"""Small synthetic data sets for the lecture demos.

Every random one takes an explicit ``numpy.random.Generator``, so a seed
reproduces it exactly.
"""

from __future__ import annotations

import numpy as np

__all__ = ["demo_image", "noisy_line", "separable_points", "xor"]


def separable_points(n_samples, rng, margin=0.2):
    """Points in the plane split by a random line, with a gap of ``2 margin`` between classes.

    Parameters
    ----------
    n_samples : int
    rng : numpy.random.Generator
    margin : float
        Distance of every point from the separating line (> 0 guarantees the
        perceptron converges).

    Returns
    -------
    X : ndarray, shape (n_samples, 2)
    y : ndarray of int, shape (n_samples,)
        Labels in {-1, +1}.
    """
    angle, offset = rng.uniform(0, 2 * np.pi), rng.uniform(-0.5, 0.5)
    normal = np.array([np.cos(angle), np.sin(angle)])
    X = rng.uniform(-1, 1, size=(n_samples, 2))
    y = np.where(X @ normal >= offset, 1, -1)  # the line is normal . x = offset
    return X + margin * y[:, None] * normal, y  # push each point away from the line


def xor():
    """The four XOR points: no line separates them.

    Returns
    -------
    X : ndarray, shape (4, 2)
    y : ndarray of int, shape (4,)
        Labels in {0, 1}.
    """
    return np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1, 0])


def noisy_line(n_samples, rng, slope=2.0, intercept=1.0, noise=0.1):
    """Samples of ``y = slope x + intercept`` plus Gaussian noise, with x uniform in [0, 1].

    Returns
    -------
    x, y : ndarray, shape (n_samples,)
    """
    x = rng.uniform(0, 1, n_samples)
    return x, slope * x + intercept + rng.normal(0, noise, n_samples)


def demo_image(size=64):
    """A grayscale test card in [0, 1]: a square, a disk and a diagonal bar on black.

    The shapes give edges in every direction, so each kernel's response is visible.

    Returns
    -------
    ndarray, shape (size, size)
    """
    r, c = np.mgrid[0:size, 0:size] / size  # row and column, in units of the image side
    image = np.zeros((size, size))
    image[(0.1 < r) & (r < 0.45) & (0.1 < c) & (c < 0.45)] = 1.0
    image[(r - 0.7) ** 2 + (c - 0.7) ** 2 < 0.2**2] = 0.6
    image[np.abs(r - (1.0 - c)) < 0.04] = 0.3
    return image
