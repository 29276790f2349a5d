"""Figures for ``sasnn lecture``: each function takes arrays and a path and writes one PNG.

They build ``matplotlib.figure.Figure`` objects directly instead of going through
pyplot, so no GUI backend and no global figure state are involved (saving a PNG
uses Agg whatever backend is configured).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_backprop", "plot_conv", "plot_descent", "plot_perceptron"]


def _save(fig, path):
    fig.savefig(path, dpi=110, bbox_inches="tight")


def plot_perceptron(X, y, coef, intercept, mistakes, path):
    """Points and the learned line ``coef . x + intercept = 0``; mistakes per epoch beside.

    Parameters
    ----------
    X : ndarray, shape (n_samples, 2)
    y : ndarray, shape (n_samples,)
        Two distinct labels.
    coef : ndarray, shape (2,)
    intercept : float
    mistakes : sequence of int
        Mistakes in each epoch.
    path : path-like
        PNG to write.
    """
    fig = Figure(figsize=(9, 4))
    left, right = fig.subplots(1, 2)
    for label, marker in zip(np.unique(y), "os", strict=False):
        left.scatter(*X[y == label].T, marker=marker, label=f"y = {label}")
    xs = np.linspace(X[:, 0].min(), X[:, 0].max(), 2)
    if abs(coef[1]) > 1e-12:  # a vertical line has no y(x) form
        left.plot(xs, -(coef[0] * xs + intercept) / coef[1], "k-", label="w . x + b = 0")
    else:
        left.axvline(-intercept / coef[0], color="k", label="w . x + b = 0")
    left.set(xlim=left.get_xlim(), ylim=left.get_ylim(), xlabel="$x_1$", ylabel="$x_2$")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3)
    right.bar(np.arange(1, len(mistakes) + 1), mistakes)
    right.set(xlabel="epoch", ylabel="mistakes (= updates)", title="perceptron learning")
    _save(fig, path)


def plot_descent(x, y, w, b, labels, cost, path):
    """The data with the neuron's line ``w x + b`` at a few epochs, and the cost per epoch.

    Parameters
    ----------
    x, y : ndarray, shape (n_samples,)
    w, b : ndarray, shape (n_lines,)
        The lines to draw.
    labels : sequence of str, length n_lines
    cost : ndarray, shape (n_epochs + 1,)
        Cost before the first and after each epoch.
    path : path-like
    """
    fig = Figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    left.scatter(x, y, color="k", s=12, label="data")
    xs = np.linspace(x.min(), x.max(), 2)
    for slope, intercept, label in zip(w, b, labels, strict=True):
        left.plot(xs, slope * xs + intercept, label=label)
    left.set(xlabel="x", ylabel="neuron(x)")
    left.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    right.semilogy(cost)
    right.set(
        xlabel="epoch",
        ylabel="cost C",
        title=r"gradient descent on $C = \frac{1}{2}\sum (y - a)^2$",
    )
    _save(fig, path)


def plot_backprop(descent, ascent, alpha, path):
    """Loss of the 1-1-1 network under repeated updates with -alpha (right) and +alpha (slip).

    Parameters
    ----------
    descent, ascent : ndarray, shape (n_steps + 1,)
        Loss before the first and after each update.
    alpha : float
    path : path-like
    """
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    ax.plot(descent, label=rf"$\Delta p = -{alpha:g}\,\partial L/\partial p$ (descent)")
    ax.plot(ascent, "--", label=rf"$\Delta p = +{alpha:g}\,\partial L/\partial p$ (slide's slip)")
    ax.set(xlabel="update step", ylabel="$L = e^2$", title="backpropagation, 1-1-1 network")
    ax.legend()
    _save(fig, path)


def plot_conv(image, kernel, feature_map, pooled, path, *, kernel_name=""):
    """Image, kernel, feature map and its max-pooled version, side by side.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    kernel : ndarray, shape (kh, kw)
    feature_map : ndarray, shape (H', W')
    pooled : ndarray, shape (H'', W'')
    path : path-like
    kernel_name : str
    """
    fig = Figure(figsize=(13, 3.6))
    panels = [
        (image, "image"),
        (kernel, f"kernel {kernel_name}"),
        (feature_map, "feature map"),
        (pooled, "max-pooled"),
    ]
    for ax, (array, title) in zip(fig.subplots(1, 4), panels, strict=True):
        shown = ax.imshow(array, cmap="gray" if array is image else "viridis")
        ax.set_title(f"{title} {array.shape[0]}x{array.shape[1]}")
        ax.set_axis_off()
        fig.colorbar(shown, ax=ax, fraction=0.046)
    _save(fig, path)
