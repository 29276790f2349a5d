"""A tiny simulated dataset and trained run shared by the identification tests."""

from __future__ import annotations

from pathlib import Path

CLASSES = ("sphere", "cylinder", "dab")  # three classes with clearly different shapes


def make_tiny_dataset(directory: Path, *, per_class: int = 24, seed: int = 5) -> Path:
    from sasnn.simulate.datasets import SimulationConfig, generate_dataset

    config = SimulationConfig(classes=CLASSES, per_class=per_class, seed=seed, shard_size=12)
    generate_dataset(directory, config, workers=1)
    return directory


# Small and fast: a 2-stage net, tiny batches so one epoch takes a few steps.
TINY_TOML = """\
[train]
batch_size = 16
lr = 0.005
patience = 50
crop_min_cells = 32
num_threads = 1  # tiny batches: a second thread only adds overhead

[cnn]
channels = [8, 16]
kernel_sizes = [5, 3]
hidden = 32
"""
