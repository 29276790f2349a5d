"""The one transformation from a measured curve to the network's input.

Training (:mod:`sasnn.learn.training`), evaluation and prediction (:mod:`sasnn.identify.predictor`)
all call :func:`prepare_input` / :func:`prepare_batch`; no other code transforms
inputs. The training-time augmentations (:func:`random_crop`, :func:`add_noise`,
:func:`random_shift`)
work on the prepared tensors and re-centre them with the same :func:`centre` that
prepared them.

The input, for a fixed log-spaced grid of ``n`` Q values, is ``(C, n)`` float32:

* channel 0, ``log_intensity``: log10 I on the grid, minus its mean over the
  covered cells. Subtracting the mean removes the absolute scale (sample
  concentration, contrast, calibration) exactly: I·c gives the same input. It is
  *not* divided by its spread, because the spread carries the power-law slopes
  (Porod q⁻⁴ vs. a mass fractal's q⁻²), which standardising would erase.
  Uncovered cells hold 0.
* channel 1, ``mask``: 1 where the data cover the cell, 0 elsewhere.
* channel 2, ``log_sigma`` (networks built with ``in_channels = 3`` only): how
  uncertain channel 0 is in each cell, as log10 of its 1-σ error in decades
  (:func:`grid_log_sigma`) plus ``LOG_SIGMA_OFFSET``; uncovered cells hold 0. It is
  scale-free (σ/I), and tells the network how far to trust each cell. Training's fresh
  noise (:func:`add_noise`) raises it by what it adds. On an 8-epoch trial it gained
  0.1 points of test top-1 (docs/benchmarks.md, Identification): the network reads the noise from
  the binned curve itself, so no shipped network uses it.

Gridding, in log q / log I:

* Non-positive and non-finite intensities are dropped first (a log can't take them).
* Where the data are denser than the grid (high q of linearly binned reductions),
  the points in each grid cell are averaged (both log q and log I): this reduces
  noise instead of picking one point.
* Where they are sparser (low q), the cell averages are interpolated linearly.
* The covered range runs from the first to the last usable point on the grid (those
  two points anchor the interpolation at the ends). Outside it: 0 and mask 0.
  Nothing is extrapolated.

The default grid (:func:`default_grid`) has 256 points from 10^-3.1 to 10^0.1
Å⁻¹ (0.00079–1.26 Å⁻¹). It holds every simulated window (the set-ups in
:mod:`sasnn.simulate.instrument` span 0.00084–1.19 Å⁻¹ after their jitter) and the usual
real ones. A step is Δlog10 q = 0.0125 (2.9 % in q), finer than pinhole-SANS
resolution (dQ/Q of 4–20 %), and 256 = 2⁸ halves cleanly through the pooling stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sasnn.io.repair import fix_sigma

#: Bump whenever the input a given curve produces changes; checkpoints record it
#: and the predictor refuses a checkpoint made with another version.
PREPROCESSING_VERSION = 1
#: Every channel an input can have, in order. A network reads the first ``in_channels``
#: of them (:func:`channels_for`); checkpoints record which.
CHANNELS = ("log_intensity", "mask", "log_sigma")
BASE_CHANNELS = CHANNELS[:2]  # the networks shipped up to network G
GRID_LOG10_RANGE = (-3.1, 0.1)  # log10(q / Å⁻¹) of the first and last grid points
GRID_POINTS = 256
MAX_LOG_SIGMA = 0.5  # decades: grid_log_sigma's cap, a factor 3 in I at 1 σ
MIN_LOG_SIGMA = 1e-5  # decades: the log_sigma channel's floor (cells without a σ get it)
LOG_SIGMA_OFFSET = 2.5  # puts 1 % relative error (0.0043 decades) near 0 in the log_sigma channel


def channels_for(n: int) -> tuple[str, ...]:
    """The channels a network with ``n`` input channels reads."""
    if not len(BASE_CHANNELS) <= n <= len(CHANNELS):
        raise ValueError(f"a network reads {len(BASE_CHANNELS)} to {len(CHANNELS)} input channels "
                         f"({', '.join(CHANNELS)}), got {n}")
    return CHANNELS[:n]


def check_channels(channels) -> tuple[str, ...]:
    """``channels`` (e.g. from a checkpoint's meta) as a tuple this sasnn can prepare."""
    channels = tuple(channels)
    if channels != channels_for(len(channels)):
        raise ValueError(f"unknown input channels {list(channels)}; this sasnn prepares "
                         f"{', '.join(CHANNELS)} (the first 2 or 3, in that order)")
    return channels


def default_grid(n: int = GRID_POINTS, log10_range: tuple[float, float] = GRID_LOG10_RANGE) -> np.ndarray:
    """The network's Q grid: ``n`` log-spaced points, shape (n,), Å⁻¹."""
    if n < 8:
        raise ValueError(f"a Q grid needs at least 8 points, got {n}")
    return np.logspace(*log10_range, n)


def check_grid(grid) -> np.ndarray:
    """``grid`` as a float array of strictly increasing, positive, log-spaced q (Å⁻¹)."""
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or len(grid) < 8 or np.any(grid <= 0) or np.any(np.diff(grid) <= 0):
        raise ValueError("the Q grid must be at least 8 strictly increasing positive values (Å⁻¹)")
    steps = np.diff(np.log10(grid))
    if not np.allclose(steps, steps[0], rtol=1e-6):
        raise ValueError("the Q grid must be log-spaced (constant step in log10 q)")
    return grid


def _log_edges(log_grid: np.ndarray) -> np.ndarray:
    """Cell edges in log10 q, shape (n + 1,): half a step either side of each point."""
    half = 0.5 * (log_grid[1] - log_grid[0])
    return np.concatenate([log_grid - half, [log_grid[-1] + half]])


def centre(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Subtract the mean over the covered cells; uncovered cells become 0.

    ``values`` and ``mask`` have shape (..., n); the mean is taken along the last
    axis. This is the scale removal of both prediction and the training crop.
    """
    covered = np.maximum(mask.sum(axis=-1, keepdims=True), 1)
    mean = (values * mask).sum(axis=-1, keepdims=True) / covered
    return (values - mean) * mask


def _usable(q, intensity) -> tuple[np.ndarray, np.ndarray]:
    """log10 q of the usable points (finite, q > 0, I > 0) sorted by q, and their
    positions in the caller's arrays."""
    q = np.asarray(q, dtype=float)
    intensity = np.asarray(intensity, dtype=float)
    if q.shape != intensity.shape or q.ndim != 1:
        raise ValueError(f"q and intensity must be 1-D of equal length, got {q.shape} and {intensity.shape}")
    keep = np.isfinite(q) & np.isfinite(intensity) & (q > 0) & (intensity > 0)
    if keep.sum() < 2:
        raise ValueError(
            f"a curve needs at least 2 points with finite q > 0 and I > 0, got {int(keep.sum())}"
        )
    index = np.flatnonzero(keep)
    x = np.log10(q[index])
    order = np.argsort(x, kind="stable")
    return x[order], index[order]


def _cells(x: np.ndarray, log_grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grid cell of each log10 q in ``x``, and which points fall on the grid at all."""
    cell = np.searchsorted(_log_edges(log_grid), x, side="right") - 1
    return cell, (cell >= 0) & (cell < len(log_grid))


def _covered(log_grid: np.ndarray, x_inside: np.ndarray) -> np.ndarray:
    """Grid points from the first to the last on-grid data point (needs two such points)."""
    if len(x_inside) < 2:
        return np.zeros(len(log_grid), dtype=bool)
    return (log_grid >= x_inside[0]) & (log_grid <= x_inside[-1])


@dataclass(frozen=True)
class _Binning:
    """The usable points of a curve that fall on the grid, sorted by q, and their cells."""

    log_grid: np.ndarray  # (n,) log10 of the grid
    x: np.ndarray  # (k,) log10 q of the points
    index: np.ndarray  # (k,) their positions in the caller's arrays
    cell: np.ndarray  # (k,) their grid cells
    covered: np.ndarray  # (n,) bool: grid points from the first point to the last

    @classmethod
    def of(cls, q, intensity, grid) -> _Binning:
        log_grid = np.log10(grid)
        x, index = _usable(q, intensity)
        cell, inside = _cells(x, log_grid)
        x = x[inside]
        return cls(log_grid, x, index[inside], cell[inside], _covered(log_grid, x))

    def resample(self, cell_values: np.ndarray, first: float, last: float) -> np.ndarray:
        """Per-cell values (one per occupied cell, in cell order), interpolated onto the
        covered grid points at the cells' mean log q; 0 elsewhere, shape (n,). The first
        and last points' own values anchor the ends, so coverage reaches the data's edges."""
        n = len(self.log_grid)
        counts = np.bincount(self.cell, minlength=n)
        occupied = counts > 0
        mean_x = np.bincount(self.cell, weights=self.x, minlength=n)[occupied] / counts[occupied]
        px = np.concatenate([[self.x[0]], mean_x, [self.x[-1]]])
        pv = np.concatenate([[first], cell_values, [last]])
        out = np.zeros(n)
        out[self.covered] = np.interp(self.log_grid[self.covered], px, pv)
        return out

    def cell_sums(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sums of per-point ``values`` over each occupied cell, and the cells' point counts."""
        n = len(self.log_grid)
        counts = np.bincount(self.cell, minlength=n)
        occupied = counts > 0
        return np.bincount(self.cell, weights=values, minlength=n)[occupied], counts[occupied]


def grid_curve(q, intensity, grid) -> tuple[np.ndarray, np.ndarray]:
    """log10 I on the grid and the coverage mask, both shape (n,), before centring.

    Parameters
    ----------
    q : array, shape (m,)
        Å⁻¹, any order and spacing.
    intensity : array, shape (m,)
        Any unit (the scale is removed later); non-positive points are dropped.
    grid : array, shape (n,)
        The network's log-spaced grid, Å⁻¹.
    """
    bins = _Binning.of(q, intensity, grid)
    n = len(bins.log_grid)
    if not bins.covered.any():
        return np.zeros(n), np.zeros(n)
    y = np.log10(np.asarray(intensity, dtype=float)[bins.index])
    sums, counts = bins.cell_sums(y)
    return bins.resample(sums / counts, y[0], y[-1]), bins.covered.astype(float)


def grid_log_sigma(q, intensity, sigma, grid) -> np.ndarray:
    """The 1-σ uncertainty of :func:`grid_curve`'s log10 I in each covered cell, shape (n,).

    A point's σ in log10 units is σ / (I ln 10); a cell that averages k points has
    sqrt(Σ s²) / k, and cells between sparse points take the interpolated value, as
    the log-intensities do. Uncovered cells and points without a finite σ get 0; a
    point's σ is capped at ``MAX_LOG_SIGMA`` decades (σ/I ≈ 1.2), past which log10 I has
    no Gaussian error to speak of.
    It feeds the ``log_sigma`` input channel (:func:`encode_log_sigma`) and training's
    fresh noise (:func:`add_noise`).
    """
    sigma = np.asarray(sigma, dtype=float)
    if sigma.shape != np.shape(q):
        raise ValueError(f"sigma has shape {sigma.shape}, expected {np.shape(q)} like q")
    bins = _Binning.of(q, intensity, grid)
    if not bins.covered.any():
        return np.zeros(len(bins.log_grid))
    s, intensity = sigma[bins.index], np.asarray(intensity, dtype=float)[bins.index]
    s = np.where(np.isfinite(s), np.abs(s), 0.0) / (intensity * np.log(10))
    # σ/I ≫ 1 (a point near zero, lost in its noise) has no log-space σ; cap it
    s = np.minimum(s, MAX_LOG_SIGMA)
    sums, counts = bins.cell_sums(s**2)
    return bins.resample(np.sqrt(sums) / counts, s[0], s[-1])


def encode_log_sigma(log_sigma: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The ``log_sigma`` channel from :func:`grid_log_sigma`'s output: log10 of it (floored
    at ``MIN_LOG_SIGMA``) plus ``LOG_SIGMA_OFFSET`` on covered cells, 0 elsewhere."""
    return mask * (np.log10(np.maximum(log_sigma, MIN_LOG_SIGMA)) + LOG_SIGMA_OFFSET)


def add_noise(x: np.ndarray, log_sigma: np.ndarray, rng: np.random.Generator, *,
              max_scale: float) -> np.ndarray:
    """Training augmentation: a fresh noise draw on top of the stored one.

    Each curve gets Gaussian noise of α times its own uncertainty (:func:`grid_log_sigma`)
    in every covered cell, α uniform in [0, ``max_scale``] per curve, and is re-centred
    with :func:`centre`. The network then never sees one curve with the same noise
    twice, so it cannot learn a training curve's noise by heart. The curve is noisier
    than measured by a factor sqrt(1 + α²) at most, and its ``log_sigma`` channel, where
    it has one, says so: it rises by log10 sqrt(1 + α²).

    ``x``: float32 (B, C, n) from :func:`prepare_batch`; ``log_sigma``: (B, n). A new
    array is returned.
    """
    x = np.array(x, dtype=np.float32, copy=True)
    alpha = rng.uniform(0.0, max_scale, size=(len(x), 1))
    noise = alpha * np.asarray(log_sigma, dtype=np.float32) * rng.standard_normal(log_sigma.shape)
    x[:, 0] = centre(x[:, 0] + noise * x[:, 1], x[:, 1])
    if x.shape[1] > CHANNELS.index("log_sigma"):
        x[:, 2] += (0.5 * np.log10(1 + alpha**2) * x[:, 1]).astype(np.float32)
    return x


def prepare_input(q, intensity, grid, sigma=None, *, channels=BASE_CHANNELS) -> np.ndarray:
    """The network input of one curve: float32, shape (len(channels), n).

    See the module docstring for what each channel holds. ``q`` in Å⁻¹,
    ``intensity`` and ``sigma`` (1-σ errors of I, needed for the ``log_sigma`` channel)
    in any one unit; ``grid`` in Å⁻¹ (:func:`default_grid`); ``channels``: a network's
    (:func:`channels_for`).
    """
    channels = check_channels(channels)
    values, mask = grid_curve(q, intensity, grid)
    planes = [centre(values, mask), mask]
    if "log_sigma" in channels:
        if sigma is None:
            raise ValueError("this network reads the uncertainty of I, but the curve has none")
        planes.append(encode_log_sigma(grid_log_sigma(q, intensity, sigma, grid), mask))
    return np.stack(planes).astype(np.float32)


def prepare_batch(qs: Sequence, intensities: Sequence, grid, sigmas: Sequence | None = None, *,
                  channels=BASE_CHANNELS) -> np.ndarray:
    """:func:`prepare_input` for many curves: float32, shape (B, len(channels), n)."""
    if len(qs) != len(intensities) or (sigmas is not None and len(sigmas) != len(qs)):
        raise ValueError(f"got {len(qs)} q arrays but {len(intensities)} intensity arrays"
                         + ("" if sigmas is None else f" and {len(sigmas)} sigma arrays"))
    out = np.zeros((len(qs), len(channels), len(grid)), dtype=np.float32)
    for i, (q, intensity) in enumerate(zip(qs, intensities, strict=True)):
        out[i] = prepare_input(q, intensity, grid, None if sigmas is None else sigmas[i], channels=channels)
    return out


@dataclass(frozen=True)
class Coverage:
    """How a curve's Q range meets the grid."""

    q_min: float  # Å⁻¹, first usable point of the data
    q_max: float  # Å⁻¹, last usable point
    cells: int  # grid cells the data cover
    fraction_inside: float  # share of the usable points that fall on the grid


def coverage(q, intensity, grid) -> Coverage:
    """Where the data are, relative to the grid (for the predictor's "unsure" check)."""
    x, _ = _usable(q, intensity)
    log_grid = np.log10(grid)
    _, inside = _cells(x, log_grid)
    cells = int(_covered(log_grid, x[inside]).sum())
    return Coverage(float(10 ** x[0]), float(10 ** x[-1]), cells, float(inside.mean()))


def random_crop(x: np.ndarray, rng: np.random.Generator, *, probability: float, min_cells: int) -> np.ndarray:
    """Training augmentation: keep a random Q window of some prepared inputs.

    With ``probability``, each curve keeps a random contiguous window of at least
    ``min_cells`` of its covered cells (uniform width, uniform position); the rest
    is masked out and the curve is re-centred with :func:`centre`, exactly as a
    measurement over that window would be prepared (up to the cell averages at the
    window's two ends). Curves covering ``min_cells`` or fewer are left as they are.

    ``x``: float32, shape (B, C, n), from :func:`prepare_batch`; a new array is returned.
    """
    x = np.array(x, dtype=np.float32, copy=True)
    batch, _, n = x.shape
    covered = x[:, 1] > 0
    first = np.argmax(covered, axis=1)
    width = covered.sum(axis=1)
    crop = (rng.random(batch) < probability) & (width > min_cells)
    new_width = rng.integers(min_cells, np.maximum(width, min_cells) + 1)
    start = first + np.floor(rng.random(batch) * (width - new_width + 1)).astype(int)
    cells = np.arange(n)
    keep = (cells >= start[:, None]) & (cells < (start + new_width)[:, None])
    keep |= ~crop[:, None]
    x[:, 1:] *= keep[:, None]  # the mask, and the log_sigma channel where there is one
    x[:, 0] = centre(x[:, 0], x[:, 1])
    return x


def shift(x: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Move each prepared curve by ``steps`` grid cells (positive: to higher q), re-centred.

    Scaling every length of a sample by 1/f turns I(q) into c·I(f·q): the same pattern,
    moved by log10 f along log q, on the same q window moved with it. The constant c is what
    :func:`centre` removes, pinhole resolution (dQ/Q) moves with q, and power laws keep
    their shape. So a shift of the prepared input is the input of the same sample made
    larger or smaller, measured on a moved window. What leaves the grid is cut off.

    ``x``: float32, shape (B, C, n); ``steps``: int, shape (B,). A new array is returned.
    """
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[-1]
    source = np.arange(n)[None, :] - np.asarray(steps, dtype=int)[:, None]  # where each cell comes from
    inside = (source >= 0) & (source < n)
    index = np.broadcast_to(np.clip(source, 0, n - 1)[:, None, :], x.shape)
    moved = np.take_along_axis(x, index, axis=2) * inside[:, None, :]
    moved[:, 0] = centre(moved[:, 0], moved[:, 1])
    return moved.astype(np.float32)


def random_shift(x: np.ndarray, rng: np.random.Generator, *, max_cells: int, min_cells: int) -> np.ndarray:
    """Training augmentation: a new size for every curve, by :func:`shift`.

    Each curve moves by an integer number of cells, uniform in [-``max_cells``,
    ``max_cells``] and clipped so that at least ``min_cells`` of its covered cells stay on
    the grid. Curves covering fewer than ``min_cells`` stay where they are. It decouples
    the sizes a class was simulated with from where its features sit on the grid.

    ``x``: float32, shape (B, C, n), from :func:`prepare_batch`; a new array is returned.
    """
    n = x.shape[-1]
    covered = x[:, 1] > 0
    first = np.argmax(covered, axis=1)
    last = n - 1 - np.argmax(covered[:, ::-1], axis=1)
    low = np.maximum(-max_cells, min_cells - 1 - last)  # keeps cells first..last partly on the grid
    high = np.minimum(max_cells, n - min_cells - first)
    movable = (covered.sum(axis=1) >= min_cells) & (low <= high)
    steps = rng.integers(np.minimum(low, high), np.maximum(low, high) + 1)
    return shift(x, np.where(movable, steps, 0))


def prepare_curve(q, intensity, sigma, grid, channels) -> np.ndarray:
    """:func:`prepare_input` for a measured curve. Where the network
    reads σ and the curve has none (made in code, not read from a file), σ is the
    reader's fallback estimate (:func:`sasnn.io.repair.fix_sigma`)."""
    if "log_sigma" in channels:
        given = None if sigma is None else np.asarray(sigma, float)
        sigma = fix_sigma(np.asarray(intensity, float), given, np.asarray(q, float))[0]
    return prepare_input(q, intensity, grid, sigma, channels=channels)

__all__ = [
    "BASE_CHANNELS",
    "CHANNELS",
    "PREPROCESSING_VERSION",
    "Coverage",
    "add_noise",
    "centre",
    "channels_for",
    "check_channels",
    "check_grid",
    "coverage",
    "default_grid",
    "encode_log_sigma",
    "grid_curve",
    "grid_log_sigma",
    "prepare_batch",
    "prepare_input",
    "random_crop",
]
