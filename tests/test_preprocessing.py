"""The one preprocessing function: grid, scale removal, mask, crops, batch form."""

from __future__ import annotations

import numpy as np
import pytest

from sasnn.learn import preprocessing
from sasnn.learn.preprocessing import (
    centre,
    check_grid,
    coverage,
    default_grid,
    prepare_batch,
    prepare_input,
    random_crop,
    random_shift,
    shift,
)

GRID = default_grid()


def wiggly(q: np.ndarray) -> np.ndarray:
    """A sphere-like curve: Guinier knee, q⁻⁴ decay and oscillations (always positive)."""
    r = 60.0
    x = q * r
    return 1e3 / (1 + (x / 2) ** 4) * (1.2 + np.sin(x)) + 1e-3


def measured(q_min=0.003, q_max=0.5, n=300):
    q = np.linspace(q_min, q_max, n)
    return q, wiggly(q)


def test_default_grid_spans_every_simulated_window():
    from sasnn.simulate.instrument import SETUP_KINDS

    assert len(GRID) == 256 and np.isclose(GRID[0], 10**-3.1) and np.isclose(GRID[-1], 10**0.1)
    for kind in SETUP_KINDS:
        jitter = np.exp(kind.q_jitter)
        assert GRID[0] < kind.configurations[0][0] / jitter
        assert GRID[-1] > kind.configurations[-1][1] * jitter


def test_check_grid_refuses_bad_grids():
    with pytest.raises(ValueError, match="log-spaced"):
        check_grid(np.linspace(0.01, 0.5, 32))
    with pytest.raises(ValueError, match="increasing positive"):
        check_grid(GRID[::-1])


@pytest.mark.parametrize("factor", [1e-4, 7.3, 2e5])
def test_absolute_scale_is_removed(factor):
    q, intensity = measured()
    np.testing.assert_allclose(
        prepare_input(q, factor * intensity, GRID), prepare_input(q, intensity, GRID), atol=2e-5
    )


def test_mask_marks_the_covered_cells_and_values_are_centred():
    q, intensity = measured(0.01, 0.1, 200)
    x = prepare_input(q, intensity, GRID)
    assert x.shape == (2, 256) and x.dtype == np.float32
    covered = x[1] == 1
    assert set(np.unique(x[1])) == {0.0, 1.0}
    # covered cells form one run inside the data's range, the ends within one step of its ends
    idx = np.flatnonzero(covered)
    assert np.all(np.diff(idx) == 1)
    step = np.log10(GRID[1] / GRID[0])
    assert abs(np.log10(GRID[idx[0]] / 0.01)) < step and abs(np.log10(GRID[idx[-1]] / 0.1)) < step
    assert np.all(x[0][~covered] == 0)
    assert abs(x[0][covered].mean()) < 1e-5


@pytest.mark.parametrize("n", [30, 3000])  # sparser than the grid (interpolated), denser (cell means)
def test_a_power_law_is_gridded_exactly(n):
    q = np.geomspace(0.002, 0.4, n)
    x = prepare_input(q, 5.0 * q**-3, GRID)
    covered = x[1] == 1
    expected = -3 * np.log10(GRID[covered])
    np.testing.assert_allclose(x[0][covered], expected - expected.mean(), atol=1e-4)


def test_cell_averages_reduce_noise_where_data_are_dense():
    rng = np.random.default_rng(0)
    q = np.linspace(0.1, 0.5, 2000)  # ~30 points per grid cell
    truth = prepare_input(q, q**-2, GRID)
    noisy = prepare_input(q, q**-2 * (1 + 0.05 * rng.standard_normal(q.size)), GRID)
    covered = truth[1] == 1
    error = np.abs(noisy[0] - truth[0])[covered].std()
    assert error < 0.25 * np.log10(1.05)  # a single point scatters by ~0.02 decades


def test_non_positive_intensities_are_dropped():
    q, intensity = measured()
    spoiled = intensity.copy()
    spoiled[::7] = -1.0
    spoiled[3] = 0.0
    spoiled[5] = np.nan
    keep = np.isfinite(spoiled) & (spoiled > 0)
    np.testing.assert_array_equal(
        prepare_input(q, spoiled, GRID), prepare_input(q[keep], intensity[keep], GRID)
    )


def test_order_of_points_does_not_matter():
    q, intensity = measured()
    order = np.random.default_rng(1).permutation(len(q))
    np.testing.assert_allclose(
        prepare_input(q[order], intensity[order], GRID), prepare_input(q, intensity, GRID), atol=1e-6
    )


def test_a_cropped_measurement_matches_the_crop_of_the_full_one():
    q, intensity = measured(0.002, 0.6, 3000)
    full = prepare_input(q, intensity, GRID)
    part = (q > 0.01) & (q < 0.1)
    cropped = prepare_input(q[part], intensity[part], GRID)
    # away from the window's two end cells, the values agree after re-centring on the same cells
    inner = np.flatnonzero(cropped[1])[2:-2]
    mask = np.zeros(256)
    mask[inner] = 1
    np.testing.assert_allclose(centre(cropped[0], mask)[inner], centre(full[0], mask)[inner], atol=2e-3)


def test_random_crop_keeps_a_window_and_recentres_it():
    qs, intensities = zip(*[measured(0.001 * (1 + k), 0.3 + 0.1 * k, 400) for k in range(6)], strict=True)
    x = prepare_batch(list(qs), list(intensities), GRID)
    cropped = random_crop(x, np.random.default_rng(0), probability=1.0, min_cells=40)
    for before, after in zip(x, cropped, strict=True):
        kept = after[1] == 1
        idx = np.flatnonzero(kept)
        assert len(idx) >= 40 and np.all(np.diff(idx) == 1)
        assert np.all(before[1][kept] == 1) and kept.sum() < (before[1] == 1).sum()
        assert np.all(after[0][~kept] == 0) and abs(after[0][kept].mean()) < 1e-5
        # the same centring prediction uses: values shift by one constant
        np.testing.assert_allclose(after[0][kept], centre(before[0], after[1])[kept], atol=1e-6)
    untouched = random_crop(x, np.random.default_rng(0), probability=0.0, min_cells=40)
    np.testing.assert_allclose(untouched, x, atol=1e-6)


def sasmodels_curve(model: str, q: np.ndarray, **params) -> np.ndarray:
    from sasmodels.core import load_model
    from sasmodels.data import empty_data1D
    from sasmodels.direct_model import DirectModel

    return DirectModel(empty_data1D(q, resolution=0.0), load_model(model))(background=0.0, **params)


def test_a_shift_is_the_same_sample_at_another_size():
    """sasmodels' polydisperse spheres with a hard-sphere S(Q), every length divided by f and
    measured on the window q·f, prepare to the first sample's input moved by log10 f."""
    step = np.log10(GRID[1] / GRID[0])
    cells = 20
    f = 10 ** (cells * step)
    q = np.geomspace(0.004, 0.25, 180)
    params = dict(scale=0.1, sld=4, sld_solvent=1, radius_pd=0.15, radius_pd_n=35, radius_pd_type="schulz",
                  volfraction=0.2)
    big = sasmodels_curve("sphere@hardsphere", q, radius=120.0, radius_effective=130.0, **params)
    small = sasmodels_curve("sphere@hardsphere", q * f, radius=120.0 / f, radius_effective=130.0 / f,
                            **params)
    assert not np.allclose(big, small)  # the absolute scale changes; the shape must not
    x_big, x_small = prepare_batch([q, q * f], [big, small], GRID)
    moved = shift(x_big[None], np.array([cells]))[0]
    np.testing.assert_array_equal(moved[1], x_small[1])
    np.testing.assert_allclose(moved[0], x_small[0], atol=1e-4)
    # the other direction, and nothing moves for a zero step
    np.testing.assert_allclose(shift(x_small[None], np.array([-cells]))[0], x_big, atol=1e-4)
    np.testing.assert_array_equal(shift(x_big[None], np.array([0]))[0], x_big)


def test_random_shift_keeps_a_window_on_the_grid_and_recentres_it():
    qs, intensities = zip(*[measured(0.0009 * (1 + 3 * k), 0.05 + 0.25 * k, 400) for k in range(5)],
                          strict=True)
    narrow = measured(0.01, 0.012, 50)  # covers fewer cells than min_cells: stays put
    x = prepare_batch([*qs, narrow[0]], [*intensities, narrow[1]], GRID)
    width = (x[:, 1] > 0).sum(axis=1)
    assert width[-1] < 40
    seen = set()
    for seed in range(20):
        moved = random_shift(x, np.random.default_rng(seed), max_cells=30, min_cells=40)
        for before, after, cells in zip(x, moved, width, strict=True):
            idx = np.flatnonzero(after[1] > 0)
            assert np.all(np.diff(idx) == 1) and len(idx) >= min(40, cells)
            steps = [s for s in range(-30, 31)
                     if np.array_equal(shift(before[None], np.array([s]))[0], after)]
            assert len(steps) == 1, "every output is the input moved by one step within the bound"
            seen.add(steps[0])
            assert abs(after[0][idx].mean()) < 1e-5
        np.testing.assert_array_equal(moved[-1], x[-1])
    assert min(seen) < -20 and max(seen) > 20
    again = [random_shift(x, np.random.default_rng(3), max_cells=30, min_cells=40) for _ in range(2)]
    np.testing.assert_array_equal(*again)


def test_batch_equals_single_curves():
    curves = [measured(0.001 * (1 + k), 0.2 * (1 + k), 100 + 50 * k) for k in range(4)]
    batch = prepare_batch([c[0] for c in curves], [c[1] for c in curves], GRID)
    assert batch.shape == (4, len(preprocessing.BASE_CHANNELS), 256)
    for row, (q, intensity) in zip(batch, curves, strict=True):
        np.testing.assert_array_equal(row, prepare_input(q, intensity, GRID))


def test_data_outside_the_grid_give_an_empty_mask():
    q = np.linspace(2.0, 5.0, 50)
    x = prepare_input(q, q**-1, GRID)
    assert x[1].sum() == 0 and np.all(x[0] == 0)
    cov = coverage(q, q**-1, GRID)
    assert cov.cells == 0 and cov.fraction_inside == 0.0


def test_coverage_describes_the_window():
    q, intensity = measured(1e-4, 0.01, 500)
    cov = coverage(q, intensity, GRID)
    assert np.isclose(cov.q_min, 1e-4) and np.isclose(cov.q_max, 0.01)
    assert 0.9 < cov.fraction_inside < 1.0 and 86 <= cov.cells <= 88  # 10^-3.1 … 10^-2 Å⁻¹: 88 points


def test_too_few_usable_points_is_an_error():
    with pytest.raises(ValueError, match="at least 2 points with finite q > 0 and I > 0"):
        prepare_input([0.01, 0.02, 0.03], [1.0, -1.0, 0.0], GRID)
    with pytest.raises(ValueError, match="equal length"):
        prepare_input([0.01, 0.02], [1.0], GRID)


def test_grid_log_sigma_predicts_the_scatter_of_the_gridded_curve():
    rng = np.random.default_rng(1)
    q = np.linspace(0.1, 0.5, 2000)  # dense: every cell averages many points
    truth = q**-2
    sigma = 0.05 * truth
    predicted = preprocessing.grid_log_sigma(q, truth, sigma, GRID)
    draws = np.stack([preprocessing.grid_curve(q, truth + sigma * rng.standard_normal(q.size), GRID)[0]
                      for _ in range(300)])
    covered = predicted > 0
    inner = covered & (np.cumsum(covered) > 2) & (np.cumsum(covered[::-1])[::-1] > 2)  # not the anchored ends
    ratio = draws.std(axis=0)[inner] / predicted[inner]
    assert 0.85 < np.median(ratio) < 1.15
    one = preprocessing.grid_log_sigma(GRID[[40, 80]], [2.0, 1.0], [0.2, 0.1], GRID)  # one point per cell
    assert one[40] == pytest.approx(0.1 / np.log(10)) and one[80] == pytest.approx(0.1 / np.log(10))
    assert np.all(one[:40] == 0) and np.all(one[81:] == 0)


def test_add_noise_draws_fresh_noise_of_the_curves_own_size():
    q, intensity = measured()
    x = prepare_batch([q] * 400, [intensity] * 400, GRID)
    s = np.where(x[:, 1] > 0, 0.02, 0.0)
    noisy = preprocessing.add_noise(x, s, np.random.default_rng(3), max_scale=1.0)
    np.testing.assert_array_equal(noisy[:, 1], x[:, 1])  # the mask is untouched
    covered = x[0, 1] > 0
    np.testing.assert_allclose(noisy[:, 0][:, covered].mean(axis=1), 0.0, atol=1e-5)  # re-centred
    spread = (noisy[:, 0] - x[:, 0])[:, covered].std(axis=1)
    assert spread.max() < 0.02 * 1.15 and np.mean(spread) == pytest.approx(0.01, rel=0.1)  # α ~ U(0, 1)
    again = preprocessing.add_noise(x, s, np.random.default_rng(3), max_scale=1.0)
    np.testing.assert_array_equal(noisy, again)
    np.testing.assert_allclose(preprocessing.add_noise(x, np.zeros_like(s), np.random.default_rng(3),
                                                       max_scale=1.0), x, atol=1e-6)


def test_grid_log_sigma_is_capped_where_a_point_is_lost_in_its_noise():
    q = GRID[[40, 80, 120]]
    s = preprocessing.grid_log_sigma(q, [1.0, 1e-30, 1.0], [0.1, 1.0, np.inf], GRID)
    assert s[80] == preprocessing.MAX_LOG_SIGMA and s[120] == 0.0  # σ/I = 1e30; a non-finite σ
    assert np.all(np.isfinite(s)) and np.isfinite(s.astype(np.float16)).all()


# ------------------------------------------------------------------ the log_sigma channel
SIGMA_CHANNELS = preprocessing.channels_for(3)


def test_log_sigma_channel_is_log10_of_the_gridded_error_on_covered_cells():
    q = GRID[[40, 60, 80]]  # one point per cell: its own σ in decades, interpolated between
    x = prepare_input(q, [2.0, 1.5, 1.0], GRID, [0.2, 0.15, 0.1], channels=SIGMA_CHANNELS)
    assert x.shape == (3, 256) and SIGMA_CHANNELS == ("log_intensity", "mask", "log_sigma")
    expected = np.log10(0.1 / np.log(10)) + preprocessing.LOG_SIGMA_OFFSET  # σ/I = 10 % everywhere
    np.testing.assert_allclose(x[2, 40:81], expected, rtol=1e-6)
    assert np.all(x[2, :40] == 0) and np.all(x[2, 81:] == 0)
    # the first two channels are those of a two-channel network
    np.testing.assert_array_equal(x[:2], prepare_input(q, [2.0, 1.5, 1.0], GRID))


@pytest.mark.parametrize("factor", [1e-4, 2e5])
def test_log_sigma_channel_is_scale_free_and_tracks_the_relative_error(factor):
    q, intensity = measured()
    x = prepare_input(q, intensity, GRID, 0.03 * intensity, channels=SIGMA_CHANNELS)
    scaled = prepare_input(q, factor * intensity, GRID, factor * 0.03 * intensity, channels=SIGMA_CHANNELS)
    np.testing.assert_allclose(scaled, x, atol=2e-5)
    tenfold = prepare_input(q, intensity, GRID, 0.3 * intensity, channels=SIGMA_CHANNELS)
    covered = x[1] > 0
    np.testing.assert_allclose(tenfold[2, covered] - x[2, covered], 1.0, atol=1e-5)  # one decade


def test_log_sigma_channel_needs_sigma_and_unknown_channels_are_refused():
    q, intensity = measured()
    with pytest.raises(ValueError, match="uncertainty of I"):
        prepare_input(q, intensity, GRID, channels=SIGMA_CHANNELS)
    with pytest.raises(ValueError, match="unknown input channels"):
        prepare_input(q, intensity, GRID, channels=("log_intensity", "log_sigma"))
    with pytest.raises(ValueError, match="2 to 3 input channels"):
        preprocessing.channels_for(4)


def test_crop_and_fresh_noise_keep_the_log_sigma_channel_consistent():
    q, intensity = measured()
    x = prepare_batch([q] * 200, [intensity] * 200, GRID, [0.02 * intensity] * 200, channels=SIGMA_CHANNELS)
    cropped = random_crop(x, np.random.default_rng(0), probability=1.0, min_cells=40)
    np.testing.assert_array_equal(cropped[:, 2], x[:, 2] * cropped[:, 1])  # zero where the crop masks
    s = preprocessing.grid_log_sigma(q, intensity, 0.02 * intensity, GRID)[None].repeat(200, 0)
    noisy = preprocessing.add_noise(x, s, np.random.default_rng(3), max_scale=2.0)
    covered = x[0, 1] > 0
    rise = noisy[:, 2] - x[:, 2]
    assert np.all(rise[:, ~covered] == 0)
    per_curve = rise[:, covered]
    np.testing.assert_allclose(per_curve.max(1), per_curve.min(1), atol=1e-6)  # one factor per curve
    # the channel rises by log10 sqrt(1 + α²), α ~ U(0, 2): the scatter added says the same α
    alpha = np.sqrt(10 ** (2 * per_curve[:, 0]) - 1)
    assert 0 <= alpha.min() and alpha.max() <= 2 + 1e-4
    added = (noisy[:, 0] - x[:, 0])[:, covered].std(axis=1)
    np.testing.assert_allclose(added, alpha * s[0, covered].mean(), rtol=0.2, atol=2e-4)
