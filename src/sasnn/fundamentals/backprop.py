"""The lecture's worked backpropagation example: a 1-1-1 sigmoid network.

::

    x -> z1 = w1 x + b1 -> a1 = sigma(z1) -> z2 = w2 a1 + b2 -> y_hat = sigma(z2)
    e = y - y_hat,   L = e^2

The chain rule gives the slide's boxed results, with s2 = y_hat (1 - y_hat) and
s1 = a1 (1 - a1)::

    dL/dw2 = -2 e a1 s2          dL/db2 = -2 e s2
    dL/dw1 = -2 e w2 s2 s1 x     dL/db1 = -2 e w2 s2 s1

Two corrections to the slides, both checked in ``tests/fundamentals``:

* the boxed dL/dw1 drops the last chain-rule factor dz1/dw1 = x (the slide's
  line ends in a dangling "x"); it is included here.
* the slide writes Delta w1 = +alpha dL/dw1 (and Delta b1 likewise). That is a
  sign slip: stepping along the gradient raises the loss. Gradient descent is
  Delta = -alpha dL/d(parameter), as the slide itself writes for w2 and b2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sasnn.fundamentals.activations import sigmoid

__all__ = ["SlideBackprop", "slide_backprop", "slide_descent", "slide_step"]


@dataclass(frozen=True)
class SlideBackprop:
    """Every quantity of the worked example, named as on the slide (all floats)."""

    z1: float
    a1: float
    z2: float
    y_hat: float
    e: float
    L: float
    dL_dw2: float
    dL_db2: float
    dL_dw1: float
    dL_db1: float


def slide_backprop(x, y, w1, b1, w2, b2):
    """Forward pass and the four gradients of the 1-1-1 network for one sample (x, y)."""
    z1 = w1 * x + b1
    a1 = float(sigmoid(z1))
    z2 = w2 * a1 + b2
    y_hat = float(sigmoid(z2))
    e = y - y_hat
    s2 = y_hat * (1 - y_hat)  # d y_hat / d z2
    s1 = a1 * (1 - a1)  # d a1 / d z1
    return SlideBackprop(
        z1=z1,
        a1=a1,
        z2=z2,
        y_hat=y_hat,
        e=e,
        L=e**2,
        dL_dw2=-2 * e * a1 * s2,
        dL_db2=-2 * e * s2,
        dL_dw1=-2 * e * w2 * s2 * s1 * x,  # the slide's box omits the final x = dz1/dw1
        dL_db1=-2 * e * w2 * s2 * s1,
    )


def slide_step(x, y, w1, b1, w2, b2, alpha):
    """One update ``p <- p + Delta p`` with ``Delta p = -alpha dL/dp``; returns (w1, b1, w2, b2).

    A negative ``alpha`` reproduces the slide's ``+alpha`` typo (gradient ascent).
    """
    g = slide_backprop(x, y, w1, b1, w2, b2)
    return (
        w1 - alpha * g.dL_dw1,
        b1 - alpha * g.dL_db1,
        w2 - alpha * g.dL_dw2,
        b2 - alpha * g.dL_db2,
    )


def slide_descent(x, y, w1, b1, w2, b2, alpha, n_steps):
    """Loss before each of ``n_steps`` updates and after the last, shape (n_steps + 1,)."""
    params = (w1, b1, w2, b2)
    losses = [slide_backprop(x, y, *params).L]
    for _ in range(n_steps):
        params = slide_step(x, y, *params, alpha)
        losses.append(slide_backprop(x, y, *params).L)
    return np.array(losses)
