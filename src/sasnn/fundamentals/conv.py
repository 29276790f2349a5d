"""Two-dimensional convolution, max pooling, and the lecture's named kernels.

What a CNN layer calls "convolution" is *cross-correlation*: slide the kernel
over the image and take the sum of products, without flipping it,

    out[i, j] = sum_{u, v} image[i*s + u, j*s + v] * kernel[u, v].

True convolution flips the kernel in both axes first. The two agree for the
symmetric kernels below, but not for an asymmetric one such as a Sobel filter.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["KERNELS", "SLIDE_IMAGE", "convolve2d", "correlate2d", "max_pool2d"]


def _frozen(rows, scale=1.0):
    a = np.asarray(rows, dtype=float) * scale
    a.flags.writeable = False  # shared module constants: nobody may edit them in place
    return a


#: The 5x5 binary image of the lecture's "Convolutional Layers" slide.
SLIDE_IMAGE = _frozen(
    [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]
)

#: The lecture's kernels (its table follows Wikipedia's "Kernel (image processing)").
KERNELS = {
    "identity": _frozen([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "edge_diagonal": _frozen([[1, 0, -1], [0, 0, 0], [-1, 0, 1]]),
    "laplacian": _frozen([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "outline": _frozen([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    "sharpen": _frozen([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "box_blur": _frozen(np.ones((3, 3)), 1 / 9),
    "gaussian_blur": _frozen([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16),
    "x": _frozen([[1, 0, 1], [0, 1, 0], [1, 0, 1]]),  # the slide's worked example
}


def _windows(x, shape, stride):
    """Views of every ``shape`` window of the last two axes, shape (..., n_i, n_j, kh, kw)."""
    return sliding_window_view(x, shape, axis=(-2, -1))[..., ::stride, ::stride, :, :]


def _check_stride_padding(stride, padding):
    if int(stride) != stride or stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}")
    if int(padding) != padding or padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")


def correlate2d(image, kernel, stride=1, padding=0):
    """Cross-correlate ``image`` with ``kernel``: a CNN's "convolution".

    Parameters
    ----------
    image : array_like, shape (..., H, W)
        Leading axes (batch, channel) are carried through.
    kernel : array_like, shape (kh, kw)
    stride : int
        Step between windows, in pixels.
    padding : int
        Zeros added on every side before sliding.

    Returns
    -------
    ndarray, shape (..., (H + 2 padding - kh) // stride + 1, (W + 2 padding - kw) // stride + 1)
    """
    _check_stride_padding(stride, padding)
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    if image.ndim < 2 or kernel.ndim != 2:
        raise ValueError(
            f"need image (..., H, W) and kernel (kh, kw), got {image.shape} and {kernel.shape}"
        )
    pad = [(0, 0)] * (image.ndim - 2) + [(padding, padding)] * 2
    image = np.pad(image, pad)
    if image.shape[-2] < kernel.shape[0] or image.shape[-1] < kernel.shape[1]:
        raise ValueError(f"kernel {kernel.shape} is larger than the padded image {image.shape}")
    return np.einsum("...ijuv,uv->...ij", _windows(image, kernel.shape, stride), kernel)


def convolve2d(image, kernel, stride=1, padding=0):
    """True convolution: ``correlate2d`` with the kernel flipped in both axes."""
    return correlate2d(image, np.asarray(kernel)[::-1, ::-1], stride=stride, padding=padding)


def max_pool2d(x, size=2, stride=None):
    """Largest value in each ``size`` x ``size`` window (no padding; leftover edges dropped).

    Parameters
    ----------
    x : array_like, shape (..., H, W)
    size : int
        Window side, in pixels.
    stride : int or None
        Step between windows; ``None`` means ``size`` (non-overlapping), as in torch.

    Returns
    -------
    ndarray, shape (..., (H - size) // stride + 1, (W - size) // stride + 1)
    """
    stride = size if stride is None else stride
    _check_stride_padding(stride, 0)
    x = np.asarray(x)
    if int(size) != size or not 1 <= size <= min(x.shape[-2:]):
        raise ValueError(f"size must be an integer from 1 to {min(x.shape[-2:])}, got {size!r}")
    return _windows(x, (size, size), stride).max(axis=(-2, -1))
