"""Convolution and pooling against scipy.signal and torch.nn.functional.

Mind the flip: torch's conv2d and scipy's correlate2d are cross-correlations
(what CNNs call convolution); scipy's convolve2d flips the kernel first.
"""

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F

from sasnn.fundamentals.conv import (
    KERNELS,
    SLIDE_IMAGE,
    convolve2d,
    correlate2d,
    max_pool2d,
)

RNG = np.random.default_rng(0)
IMAGE = RNG.normal(size=(9, 11))
ASYMMETRIC = RNG.normal(size=(3, 4))  # no symmetry: catches a missing or extra flip


def torch_conv(image, kernel, stride=1, padding=0):
    as4d = lambda a: torch.tensor(a, dtype=torch.float64)[None, None]  # noqa: E731  (N, C, H, W)
    return F.conv2d(as4d(image), as4d(kernel), stride=stride, padding=padding)[0, 0].numpy()


def test_slide_example():
    expected = [[4, 3, 4], [2, 4, 3], [2, 3, 4]]
    np.testing.assert_array_equal(correlate2d(SLIDE_IMAGE, KERNELS["x"]), expected)
    np.testing.assert_array_equal(torch_conv(SLIDE_IMAGE, KERNELS["x"]), expected)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_named_kernels_match_scipy_and_torch(name):
    expected = scipy.signal.correlate2d(IMAGE, KERNELS[name], mode="valid")
    np.testing.assert_allclose(correlate2d(IMAGE, KERNELS[name]), expected, atol=1e-12)
    np.testing.assert_allclose(torch_conv(IMAGE, KERNELS[name]), expected, atol=1e-12)


def test_correlation_and_convolution_differ_by_the_flip():
    corr = scipy.signal.correlate2d(IMAGE, ASYMMETRIC, mode="valid")
    conv = scipy.signal.convolve2d(IMAGE, ASYMMETRIC, mode="valid")
    np.testing.assert_allclose(correlate2d(IMAGE, ASYMMETRIC), corr, atol=1e-12)
    np.testing.assert_allclose(convolve2d(IMAGE, ASYMMETRIC), conv, atol=1e-12)
    np.testing.assert_allclose(torch_conv(IMAGE, ASYMMETRIC), corr, atol=1e-12)
    assert not np.allclose(corr, conv)


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", [0, 1, 2])
def test_stride_and_padding_match_torch(stride, padding):
    ours = correlate2d(IMAGE, ASYMMETRIC, stride=stride, padding=padding)
    np.testing.assert_allclose(ours, torch_conv(IMAGE, ASYMMETRIC, stride, padding), atol=1e-12)


@pytest.mark.parametrize(("size", "stride"), [(2, None), (3, None), (2, 1), (3, 2), (1, None)])
def test_max_pool_matches_torch(size, stride):
    x = RNG.normal(size=(2, 3, 9, 11))  # (N, C, H, W): leading axes are carried through
    expected = F.max_pool2d(torch.tensor(x), kernel_size=size, stride=stride).numpy()
    np.testing.assert_array_equal(max_pool2d(x, size=size, stride=stride), expected)


def test_leading_axes_are_independent_images():
    batch = np.stack([IMAGE, -IMAGE])
    out = correlate2d(batch, ASYMMETRIC, stride=2, padding=1)
    np.testing.assert_allclose(out[1], correlate2d(-IMAGE, ASYMMETRIC, stride=2, padding=1))


def test_kernel_table_is_the_slides():
    edges, blurs = {"edge_diagonal", "laplacian", "outline"}, {"box_blur", "gaussian_blur"}
    assert set(KERNELS) == {"identity", "sharpen", "x"} | edges | blurs
    for name in {"identity", "sharpen"} | blurs:
        assert KERNELS[name].sum() == pytest.approx(1.0)  # preserve mean brightness
    for name in edges:
        assert KERNELS[name].sum() == 0.0  # flat regions give 0
    np.testing.assert_array_equal(correlate2d(IMAGE, KERNELS["identity"]), IMAGE[1:-1, 1:-1])
    with pytest.raises(ValueError, match="read-only"):
        KERNELS["sharpen"][1, 1] = 0.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: correlate2d(IMAGE, ASYMMETRIC, stride=0), "stride must be a positive integer"),
        (lambda: correlate2d(IMAGE, ASYMMETRIC, padding=-1), "padding must be a non-negative"),
        (lambda: correlate2d(np.ones((2, 2)), ASYMMETRIC), "larger than the padded image"),
        (lambda: correlate2d(np.ones(5), ASYMMETRIC), r"need image \(\.\.\., H, W\)"),
        (lambda: max_pool2d(np.ones((3, 3)), size=4), "size must be an integer from 1 to 3"),
    ],
)
def test_bad_arguments_are_rejected(call, match):
    with pytest.raises(ValueError, match=match):
        call()
