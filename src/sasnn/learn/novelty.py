"""Is a curve like the curves the network was trained on?

The classifier's probabilities say which known class a curve is closest to, not
whether it is close to any of them: a model left out of training is read
confidently as its nearest twin. The network's shared feature vector (the layer
both heads read) carries more of that information (Lee et al. 2018, "A simple
unified framework for detecting out-of-distribution samples"): each class's
training curves form a cloud in that space, and a curve far from every cloud is
unlike the training data.

:class:`FeatureDensity` holds one mean per class and a shared (tied) covariance,
fitted on training curves, and one Gaussian over all of them (the background). Its
score is the *relative* Mahalanobis distance (Ren et al. 2021, "A simple fix to
Mahalanobis distance for improving near-OOD detection"): the squared distance to the
nearest class mean minus the squared distance to the background. Directions in which
every class spreads widely count less, so the score measures how unlike each class a
curve is rather than how unusual its features are overall. Read on the shared layer of
a model trained without four catalogue classes, it flags 30.6 % of their curves at 5.4 %
false alarms, against 17.9 % at 5.0 % for the distance alone (docs/benchmarks.md, "Unsure on
models never trained on").
A density saved without a background (checkpoints made before it) scores the plain
distance, which is what its stored threshold was set on.

Which features it reads is stored with it (``layer``): the shared layer alone
("shared"), or, for networks that pool over q, the pooled last feature maps next to it
("pooled+shared", :func:`layer_for`). The dense layer mixes the pooled maps down to the
shared layer and loses some of what sets a never-seen model apart: on the same model the
wider features flag 36.5 % of never-seen curves at 5.0 % false alarms, against 30.6 % at
5.4 % (docs/benchmarks.md, "Unsure on models never trained on").

A checkpoint stores it as ``novelty.safetensors`` beside the weights, and its meta
holds the threshold that flags a set share of validation curves
(``TrainConfig.unsure_rate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "novelty.safetensors"
#: the features a density can read: see :func:`features`
LAYERS = ("shared", "pooled+shared")
#: Ridge added to the covariance, relative to its mean variance: the ReLU features
#: have dead and collinear directions, and an unregularised inverse would blow them up.
RIDGE = 1e-3


def _precision(centred: np.ndarray) -> np.ndarray:
    """Inverse of the (ridge-regularised) covariance of already centred rows (N, H)."""
    covariance = centred.T @ centred / len(centred)
    covariance += RIDGE * np.trace(covariance) / len(covariance) * np.eye(len(covariance))
    return np.linalg.inv(covariance)


def _squared_distances(f: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distance of each row of ``f`` (N, H) to each of ``means`` (C, H): (N, C)."""
    pf = f @ precision  # (N, H)
    # (f - m)ᵀ P (f - m) = fᵀPf - 2 fᵀPm + mᵀPm, for every mean at once
    distance = (pf * f).sum(1)[:, None] - 2 * pf @ means.T + np.einsum("ch,hk,ck->c", means, precision, means)
    return np.maximum(distance, 0.0)


def _upper(matrix: np.ndarray) -> np.ndarray:
    """The upper triangle of a symmetric (H, H) matrix, row by row: (H (H + 1) / 2,)."""
    return matrix[np.triu_indices(len(matrix))]


def _symmetric(upper: np.ndarray, h: int) -> np.ndarray:
    """The (H, H) matrix whose upper triangle is ``upper``."""
    if upper.shape != (h * (h + 1) // 2,):
        raise KeyError(f"a triangle of {upper.size} numbers for {h} features")
    matrix = np.zeros((h, h))
    matrix[np.triu_indices(h)] = upper
    return matrix + np.triu(matrix, 1).T


@dataclass(frozen=True)
class FeatureDensity:
    """Class means ``(C, H)`` and the inverse of their shared covariance ``(H, H)``; and the
    mean ``(H,)`` and precision ``(H, H)`` of all features (None: score the plain distance)."""

    means: np.ndarray
    precision: np.ndarray
    background_mean: np.ndarray | None = None
    background_precision: np.ndarray | None = None
    layer: str = "shared"  # which features it was fitted on (LAYERS)

    def __post_init__(self):
        if self.layer not in LAYERS:
            raise ValueError(f"unknown feature layer {self.layer!r}; expected one of {', '.join(LAYERS)}")

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray, n_classes: int, *,
            relative: bool = True, layer: str = "shared") -> FeatureDensity:
        """Means and tied covariance of ``features`` (N, H) grouped by ``labels`` (N,), and
        (``relative``) one Gaussian over all of them.

        A class with no curves gets a mean no feature can reach (it never is the nearest).
        """
        features = np.asarray(features, np.float64)
        labels = np.asarray(labels)
        counts = np.bincount(labels, minlength=n_classes)
        sums = np.zeros((n_classes, features.shape[1]))
        np.add.at(sums, labels, features)
        means = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], np.inf)
        precision = _precision(features - means[labels])
        if not relative:
            return cls(means, precision, layer=layer)
        background = features.mean(axis=0)
        return cls(means, precision, background, _precision(features - background), layer)

    @property
    def relative(self) -> bool:
        return self.background_mean is not None

    def score(self, features: np.ndarray) -> np.ndarray:
        """Per row of ``features`` (N, H): the squared Mahalanobis distance to the nearest
        class mean, minus (``relative``) that to the background Gaussian."""
        f = np.asarray(features, np.float64)
        known = np.isfinite(self.means[:, 0])
        distance = _squared_distances(f, self.means[known], self.precision).min(axis=1)
        if not self.relative:
            return distance
        return distance - _squared_distances(f, self.background_mean[None], self.background_precision)[:, 0]

    def save(self, directory: Path) -> None:
        from safetensors.numpy import save_file

        # the precisions are symmetric: their upper triangles halve the file (768-d: 4.7 → 2.6 MB)
        tensors = {"means": self.means, "precision_triu": _upper(self.precision)}
        if self.relative:
            tensors["background_mean"] = self.background_mean
            tensors["background_precision_triu"] = _upper(self.background_precision)
        save_file({k: v.astype(np.float32) for k, v in tensors.items()}, str(Path(directory) / FILE),
                  metadata={"layer": self.layer})

    @classmethod
    def load(cls, directory: Path) -> FeatureDensity | None:
        """The density stored in a checkpoint folder, or None (checkpoints made before it)."""
        from safetensors import SafetensorError, safe_open

        path = Path(directory) / FILE
        if not path.is_file():
            return None
        try:
            with safe_open(str(path), framework="numpy") as f:
                tensors = {k: f.get_tensor(k).astype(np.float64) for k in f.keys()}
                layer = (f.metadata() or {}).get("layer", "shared")  # files before it: the shared layer
            for name in ("precision", "background_precision"):  # files before 2026-12 hold them whole
                if f"{name}_triu" in tensors:
                    tensors[name] = _symmetric(tensors.pop(f"{name}_triu"), len(tensors["means"][0]))
            if ("background_mean" in tensors) != ("background_precision" in tensors):
                raise KeyError("half of the background Gaussian")
            return cls(tensors["means"], tensors["precision"],
                       tensors.get("background_mean"), tensors.get("background_precision"), layer)
        except (SafetensorError, KeyError, ValueError) as exc:
            raise ValueError(f"{path} is damaged ({exc}); rerun the model's `sasnn train` command") from None


def layer_for(model) -> str:
    """The features a new density of ``model`` reads: the wider ones where the network
    pools over q (measured there), the shared layer otherwise."""
    return "pooled+shared" if getattr(model.config, "pooling", "") == "global" else "shared"


def features(model, x: np.ndarray, *, layer: str = "shared", batch_size: int = 512) -> np.ndarray:
    """Features of prepared inputs ``x`` (N, C, n_q), as (N, H): the shared feature vector
    (the layer both heads read, ``model.embed``), or with ``layer="pooled+shared"`` the
    dense layer's input next to it (``model.embed_with_input``)."""
    import torch

    if layer not in LAYERS:
        raise ValueError(f"unknown feature layer {layer!r}; expected one of {', '.join(LAYERS)}")
    embed = model.embed if layer == "shared" else model.embed_with_input
    out = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, max(len(x), 1), batch_size):  # one (empty) batch for no curves: (0, H)
            out.append(embed(torch.as_tensor(x[start : start + batch_size])).numpy())
    return np.concatenate(out)


__all__ = ["FILE", "LAYERS", "FeatureDensity", "features", "layer_for"]
