"""The lecture's 1-1-1 backpropagation example, symbol by symbol against torch.autograd."""

import numpy as np
import pytest
import torch

from sasnn.fundamentals.backprop import slide_backprop, slide_descent, slide_step

CASES = [
    # x, y, w1, b1, w2, b2
    (0.5, 1.0, 0.4, 0.1, -0.3, 0.2),
    (-1.3, 0.0, 1.5, -0.7, 2.0, 0.3),
    (2.0, 0.8, -0.6, 0.05, 0.9, -1.1),
]


@pytest.mark.parametrize("case", CASES)
def test_every_symbol_matches_torch(case):
    x, y, *weights = case
    w1, b1, w2, b2 = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in weights)
    z1 = w1 * x + b1
    a1 = torch.sigmoid(z1)
    z2 = w2 * a1 + b2
    y_hat = torch.sigmoid(z2)
    e = y - y_hat
    L = e**2
    L.backward()
    expected = {"z1": z1, "a1": a1, "z2": z2, "y_hat": y_hat, "e": e, "L": L}
    expected |= {"dL_dw2": w2.grad, "dL_db2": b2.grad, "dL_dw1": w1.grad, "dL_db1": b1.grad}
    ours = slide_backprop(x, y, *weights)
    for name, value in expected.items():
        assert getattr(ours, name) == pytest.approx(value.item(), rel=1e-12, abs=1e-15), name


def test_slide_box_for_dw1_misses_the_factor_x():
    x, y, *weights = CASES[1]
    g = slide_backprop(x, y, *weights)
    assert g.dL_dw1 == pytest.approx(g.dL_db1 * x)  # dz1/dw1 = x, dz1/db1 = 1
    assert g.dL_dw1 != pytest.approx(g.dL_db1)  # the box as printed is wrong unless x = 1


@pytest.mark.parametrize("case", CASES)
def test_slide_sign_slip_plus_alpha_raises_the_loss(case):
    # The slide's "Delta w1 = +alpha dL/dw1" is gradient *ascent*: minus alpha is right.
    losses_minus = slide_descent(*case, alpha=0.1, n_steps=20)
    losses_plus = slide_descent(*case, alpha=-0.1, n_steps=20)  # Delta = +0.1 dL/dp
    assert np.all(np.diff(losses_minus) < 0)
    assert np.all(np.diff(losses_plus) > 0)


def test_step_moves_against_the_gradient():
    x, y, *weights = CASES[0]
    g = slide_backprop(x, y, *weights)
    new = slide_step(x, y, *weights, alpha=0.5)
    grads = (g.dL_dw1, g.dL_db1, g.dL_dw2, g.dL_db2)
    np.testing.assert_allclose(new, np.array(weights) - 0.5 * np.array(grads))
