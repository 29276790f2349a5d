"""What real reduced files carry besides the model: the nuisance terms of DESIGN.md §3.

A real curve is rarely the model alone on a clean flat background. Each term below is
drawn for a documented share of curves (:class:`NuisanceConfig`, recorded in the dataset
manifest) so that a network trained on them has seen each one:

* **aggregates**: a low-q power-law upturn ``A (q/q₀)^-p`` (p 2.5–4, a mass or surface
  fractal of clusters) added to the sample's scattering before the noise, its size set
  relative to the model at the grid's first point;
* **imperfect subtraction**: a background that is sloped or curved in q (incoherent
  scattering of a hydrogenous solvent differs from the reference's) and a small
  over-subtraction, so some high-q points end slightly negative, as after subtraction;
* **merged configurations**: each detector configuration after the first scaled by a
  few per cent (transmission, normalisation), a step where they join;
* **arbitrary units**: intensity and σ multiplied by a factor over six decades;
* **no uncertainties**: σ dropped (NaN), as in files of counts or arbitrary units;
* **point density**: a sparse curve, only a subset of the points kept (down to 40).

Every term is drawn from the caller's generator, and with every share at 0 (the
default, today's "narrow" data) nothing is drawn at all, so datasets simulated before
these terms existed are reproduced bit for bit.

Units: q in Å⁻¹, intensities in cm⁻¹ (before any arbitrary-unit factor).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

SHARES = ("upturn", "background_slope", "scale_mismatch", "arbitrary_units", "no_sigma", "sparse")


@dataclass(frozen=True)
class NuisanceConfig:
    """The share of curves that carry each term, and the ranges each is drawn from."""

    upturn: float = 0.0  # share with a low-q power-law upturn (aggregates)
    upturn_exponent: tuple[float, float] = (2.5, 4.0)
    upturn_strength: tuple[float, float] = (0.3, 30.0)  # upturn / model at the first point, log-uniform
    background_slope: float = 0.0  # share with a sloped or curved background and over-subtraction
    slope_at_q_max: tuple[float, float] = (0.05, 1.0)  # extra background at q_max / flat level
    over_subtraction: tuple[float, float] = (0.0, 0.05)  # subtracted too much, as a fraction of I(q_max)
    scale_mismatch: float = 0.0  # share of multi-configuration curves with scale steps
    mismatch: float = 0.05  # relative σ of each later configuration's scale
    arbitrary_units: float = 0.0  # share in arbitrary units
    arbitrary_factor: tuple[float, float] = (1e-3, 1e3)  # log-uniform
    no_sigma: float = 0.0  # share with σ dropped
    sparse: float = 0.0  # share thinned to fewer points
    min_points: int = 40

    def __post_init__(self) -> None:
        for name in SHARES:
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"nuisance share {name} = {share} must lie in [0, 1]")
        for name in ("upturn_exponent", "upturn_strength", "slope_at_q_max", "arbitrary_factor"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"nuisance range {name} = ({low}, {high}) needs 0 < low <= high")
        low, high = self.over_subtraction
        if not 0 <= low <= high < 1:
            raise ValueError(f"over_subtraction = ({low}, {high}) needs 0 <= low <= high < 1")
        if self.mismatch < 0 or self.min_points < 10:
            raise ValueError("mismatch must be >= 0 and min_points >= 10")

    @property
    def active(self) -> bool:
        return any(getattr(self, name) > 0 for name in SHARES)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Reduced:
    """A measured curve after the reduction nuisances: possibly fewer points, σ possibly NaN."""

    q: np.ndarray  # (m,) Å⁻¹
    dq: np.ndarray  # (m,) Å⁻¹
    intensity: np.ndarray  # (m,)
    sigma: np.ndarray  # (m,), all NaN when dropped
    record: dict  # which terms were applied, with their drawn values


#: Named sets of shares for ``sasnn simulate --nuisances``. "realistic" gives each term to
#: a share of curves near how often it turns up among real files (the dev set and
#: ../realdata: an upturn or imperfect subtraction in about one in five, merged SANS
#: configurations that step in about one in three, intensities without σ or on an
#: arbitrary scale in one to two in ten), so that most curves still carry none.
PRESETS = {
    "none": NuisanceConfig(),
    "realistic": NuisanceConfig(upturn=0.2, background_slope=0.2, scale_mismatch=0.3,
                                arbitrary_units=0.2, no_sigma=0.1, sparse=0.15),
}


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1]))))


def add_upturn(model: np.ndarray, q: np.ndarray, config: NuisanceConfig,
               rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """The sample's scattering with aggregates, for a share ``config.upturn`` of curves.

    ``model`` (n,) is the smeared scale-1 model on ``q`` (n,). Returns the curve and a
    record (empty when no upturn was drawn). Nothing is drawn when the share is 0.
    """
    if config.upturn <= 0 or rng.random() >= config.upturn:
        return model, {}
    exponent = float(rng.uniform(*config.upturn_exponent))
    strength = _log_uniform(rng, config.upturn_strength)
    amplitude = strength * max(float(model[0]), 1e-6 * float(model.max()))
    upturn = amplitude * (q / q[0]) ** -exponent
    return model + upturn, {"upturn_exponent": exponent, "upturn_strength": strength}


def reduce(q: np.ndarray, dq: np.ndarray, intensity: np.ndarray, sigma: np.ndarray,
           configuration: np.ndarray, background: float, config: NuisanceConfig,
           rng: np.random.Generator) -> Reduced:
    """Apply the reduction nuisances to a measured curve (each for its share of curves).

    ``configuration`` (n,) gives the detector configuration of each point (0, 1, ...);
    ``background`` is the flat level (cm⁻¹) the measurement drew. The order is the
    reduction's: background handling, merging, units, then what the file keeps.
    """
    intensity, sigma, record = intensity.astype(float), sigma.astype(float), {}
    if config.background_slope > 0 and rng.random() < config.background_slope:
        power = float(rng.choice([1.0, 2.0]))  # sloped or curved
        extra = _log_uniform(rng, config.slope_at_q_max) * background
        over = float(rng.uniform(*config.over_subtraction)) * float(intensity[-1] + background)
        intensity = intensity + extra * (q / q[-1]) ** power - background - over
        record.update(background_power=power, background_extra=extra, over_subtraction=over)
    if config.scale_mismatch > 0 and configuration.max() > 0 and rng.random() < config.scale_mismatch:
        factors = np.concatenate([[1.0], 1.0 + config.mismatch * rng.standard_normal(configuration.max())])
        intensity, sigma = intensity * factors[configuration], sigma * factors[configuration]
        record["configuration_scales"] = factors.tolist()
    if config.arbitrary_units > 0 and rng.random() < config.arbitrary_units:
        factor = _log_uniform(rng, config.arbitrary_factor)
        intensity, sigma = intensity * factor, sigma * factor
        record["arbitrary_factor"] = factor
    if config.no_sigma > 0 and rng.random() < config.no_sigma:
        sigma = np.full_like(sigma, np.nan)
        record["no_sigma"] = True
    keep = np.arange(len(q))
    if config.sparse > 0 and len(q) > config.min_points and rng.random() < config.sparse:
        n = int(rng.integers(config.min_points, len(q)))
        keep = np.sort(rng.choice(len(q), size=n, replace=False))
        record["points_kept"] = n
    return Reduced(q[keep], dq[keep], intensity[keep], sigma[keep], record)


__all__ = ["PRESETS", "SHARES", "NuisanceConfig", "Reduced", "add_upturn", "reduce"]
