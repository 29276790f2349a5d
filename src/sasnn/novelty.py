"""Is a curve like the curves the network was trained on?

The classifier's probabilities say which known class a curve is closest to, not
whether it is close to any of them: a model left out of training is read
confidently as its nearest twin. The network's shared feature vector (the layer
both heads read) carries more of that information (Lee et al. 2018, "A simple
unified framework for detecting out-of-distribution samples"): each class's
training curves form a cloud in that space, and a curve far from every cloud is
unlike the training data.

:class:`FeatureDensity` holds one mean per class and a shared (tied) covariance,
fitted on training curves; its score is the squared Mahalanobis distance to the
nearest class mean. A checkpoint stores it as ``novelty.safetensors`` beside the
weights, and its meta holds the threshold that flags a set share of validation
curves (``TrainConfig.unsure_rate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "novelty.safetensors"
#: Ridge added to the covariance, relative to its mean variance: the ReLU features
#: have dead and collinear directions, and an unregularised inverse would blow them up.
RIDGE = 1e-3


@dataclass(frozen=True)
class FeatureDensity:
    """Class means ``(C, H)`` and the inverse of their shared covariance ``(H, H)``."""

    means: np.ndarray
    precision: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray, n_classes: int) -> FeatureDensity:
        """Means and tied covariance of ``features`` (N, H) grouped by ``labels`` (N,).

        A class with no curves gets a mean no feature can reach (it never is the nearest).
        """
        features = np.asarray(features, np.float64)
        labels = np.asarray(labels)
        counts = np.bincount(labels, minlength=n_classes)
        sums = np.zeros((n_classes, features.shape[1]))
        np.add.at(sums, labels, features)
        means = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], np.inf)
        centred = features - means[labels]
        covariance = centred.T @ centred / len(features)
        covariance += RIDGE * np.trace(covariance) / len(covariance) * np.eye(len(covariance))
        return cls(means, np.linalg.inv(covariance))

    def score(self, features: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each row of ``features`` (N, H) to the nearest class mean."""
        f = np.asarray(features, np.float64)
        known = np.isfinite(self.means[:, 0])
        m = self.means[known]
        pf = f @ self.precision  # (N, H)
        # (f - m)ᵀ P (f - m) = fᵀPf - 2 fᵀPm + mᵀPm, for every class at once
        distance = (pf * f).sum(1)[:, None] - 2 * pf @ m.T + np.einsum("ch,hk,ck->c", m, self.precision, m)
        return np.maximum(distance.min(axis=1), 0.0)

    def save(self, directory: Path) -> None:
        from safetensors.numpy import save_file

        save_file(
            {"means": self.means.astype(np.float32), "precision": self.precision.astype(np.float32)},
            str(Path(directory) / FILE),
        )

    @classmethod
    def load(cls, directory: Path) -> FeatureDensity | None:
        """The density stored in a checkpoint folder, or None (checkpoints made before it)."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        path = Path(directory) / FILE
        if not path.is_file():
            return None
        try:
            tensors = load_file(str(path))
            return cls(tensors["means"].astype(np.float64), tensors["precision"].astype(np.float64))
        except (SafetensorError, KeyError) as exc:
            raise ValueError(f"{path} is damaged ({exc}); rerun the model's `sasnn train` command") from None


def features(model, x: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    """The shared feature vector (the layer both heads read, ``model.embed``) of prepared
    inputs ``x`` (N, C, n_q), as (N, H)."""
    import torch

    out = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, max(len(x), 1), batch_size):  # one (empty) batch for no curves: (0, H)
            out.append(model.embed(torch.as_tensor(x[start : start + batch_size])).numpy())
    return np.concatenate(out)


__all__ = ["FILE", "FeatureDensity", "features"]
