"""Why the network decided: first-layer filters, feature maps, and saliency over Q.

The lecture's "Filters and Feature Maps" slide, for our network and one curve:

* **filters** — the first conv layer's kernels, one small curve per output channel;
* **feature maps** — every conv stage's output for this curve, against q;
* **saliency** — integrated gradients (Sundararajan et al. 2017) of the top class's
  logit with respect to the log-intensity channel, from a featureless baseline (a
  flat curve: 0 after centring) to the curve itself. The attributions sum to
  logit(curve) − logit(baseline), so they say how much each Q region pushed the
  decision, and in which direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sasnn.learn import preprocessing

IG_STEPS = 32  # Riemann steps of the integrated-gradients path, done as one batch


@dataclass(frozen=True)
class Explanation:
    """Everything the explain figures show, for one curve."""

    grid: np.ndarray  # (n_q,) Å⁻¹
    x: np.ndarray  # (C, n_q) the prepared input
    filters: np.ndarray  # (out_channels, in_channels, kernel) first-layer weights
    feature_maps: list[np.ndarray]  # per stage: (channels, length)
    feature_q: list[np.ndarray]  # per stage: (length,) Å⁻¹ at the centre of each position
    saliency: np.ndarray  # (n_q,) integrated-gradient attribution on the log-intensity channel
    predicted: str  # top form factor
    probability: float  # its calibrated probability
    logit_gap: float  # logit(curve) − logit(baseline) for the top class (= saliency.sum(), approx.)
    channels: tuple[str, ...]


def map_positions(grid: np.ndarray, length: int) -> np.ndarray:
    """q (Å⁻¹) at the centre of each of ``length`` positions spanning the grid (pooled maps)."""
    log_grid = np.log10(grid)
    step = log_grid[1] - log_grid[0]
    lo, hi = log_grid[0] - step / 2, log_grid[-1] + step / 2
    return 10 ** (lo + (np.arange(length) + 0.5) * (hi - lo) / length)


def integrated_gradients(
    model, x: np.ndarray, target: int, steps: int = IG_STEPS
) -> tuple[np.ndarray, float]:
    """Attribution of ``target``'s form-factor logit to channel 0 of ``x`` (C, n_q).

    The path scales channel 0 from 0 to its value and keeps the mask fixed.
    Returns the attribution (n_q,) and logit(x) − logit(baseline).
    """
    x_t = torch.from_numpy(np.asarray(x, dtype=np.float32))
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
    path = x_t.repeat(steps, 1, 1)  # (steps, C, n_q)
    path[:, 0] = alphas[:, None] * x_t[0]
    path.requires_grad_(True)
    model.eval()
    logits, _ = model(path)
    logits[:, target].sum().backward()
    attribution = (x_t[0] * path.grad[:, 0].mean(dim=0)).numpy()
    with torch.no_grad():
        ends = torch.stack([x_t, x_t.clone()])
        ends[1, 0] = 0.0
        out, _ = model(ends)
    return attribution, float(out[0, target] - out[1, target])


def explain_curve(model, meta: dict, q: np.ndarray, intensity: np.ndarray,
                  sigma: np.ndarray | None = None) -> Explanation:
    """Filters, feature maps and saliency of ``model`` (from a checkpoint) for one curve.

    ``q`` in Å⁻¹, ``intensity`` and ``sigma`` in any one unit (shape (m,) each; σ is read by
    networks with a log_sigma channel, and estimated where it is None).
    """
    from sasnn.learn.evaluation import softmax
    from sasnn.learn.preprocessing import prepare_curve

    grid = np.asarray(meta["grid"], dtype=float)
    channels = preprocessing.check_channels(meta.get("preprocessing", {}).get("channels",
                                                                              preprocessing.BASE_CHANNELS))
    x = prepare_curve(q, intensity, sigma, grid, channels)
    model.eval()
    with torch.no_grad():
        batch = torch.from_numpy(x[None])
        maps = [m[0].numpy() for m in model.feature_maps(batch)]
        ff_logits, _ = model(batch)
    temperature = meta.get("temperatures", {}).get("form_factor", 1.0)
    probabilities = softmax(ff_logits.numpy(), temperature)[0]
    target = int(probabilities.argmax())
    saliency, gap = integrated_gradients(model, x, target)
    return Explanation(
        grid=grid,
        x=x,
        filters=model.first_layer.weight.detach().numpy().copy(),
        feature_maps=maps,
        feature_q=[map_positions(grid, m.shape[-1]) for m in maps],
        saliency=saliency,
        predicted=meta["class_names"][target],
        probability=float(probabilities[target]),
        logit_gap=gap,
        channels=channels,
    )


__all__ = ["Explanation", "explain_curve", "integrated_gradients", "map_positions"]
