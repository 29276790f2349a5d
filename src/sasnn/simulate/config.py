"""What a simulated dataset is made of: the settings (:class:`SimulationConfig`, recorded in
the manifest) and their split into shard tasks, the unit of work and of resumption.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sasnn.simulate import instrument, nuisance
from sasnn.simulate.shards import NO_STRUCTURE_FACTOR

#: Prior sets: "narrow" = the catalogue's training priors, "wide" = sasnn.simulate.wide,
#: "scaled" = sasnn.simulate.scaled (sasmodels' defaults scaled; a test family of its own).
PRIORS = ("narrow", "wide", "scaled")


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. Every field is recorded in the manifest."""

    classes: tuple[str, ...]  # form-factor classes, in label order
    per_class: int  # curves kept per class
    seed: int  # the one seed every draw descends from
    # share of curves with S(Q), for classes that allow it: half, because the samples SANS
    # is asked about (micelles, colloids, proteins) are often concentrated or charged enough
    # to show one
    structure_factor_share: float = 0.5
    shard_size: int = 250  # curves per shard: the unit of work, resumption and streaming
    max_draws_per_curve: int = 6  # a shard that needs more draws than this per kept curve is a catalogue bug
    instrument: instrument.InstrumentConfig = field(default_factory=instrument.InstrumentConfig)
    priors: str = "narrow"  # which prior set parameters are drawn from (PRIORS)
    nuisances: str = "none"  # the preset real files' artefacts are drawn from (nuisance.PRESETS)

    def __post_init__(self) -> None:
        from sasnn.simulate.catalog import CATALOG

        if self.priors not in PRIORS:
            raise ValueError(f"--priors must be one of {', '.join(PRIORS)}, got {self.priors!r}")
        if self.nuisances not in nuisance.PRESETS:
            raise ValueError(f"--nuisances must be one of {', '.join(nuisance.PRESETS)}, "
                             f"got {self.nuisances!r}")
        if self.per_class < 1:
            raise ValueError(f"--per-class must be a positive number of curves, got {self.per_class}")
        if self.seed < 0:
            raise ValueError(f"--seed must be a non-negative integer, got {self.seed}")
        if self.shard_size < 1:
            raise ValueError(f"shard_size must be >= 1, got {self.shard_size}")
        if not 0.0 <= self.structure_factor_share <= 1.0:
            raise ValueError("--sf-share (structure_factor_share) must be in [0, 1], "
                             f"got {self.structure_factor_share}")
        if not self.classes:
            raise ValueError("no classes to simulate")
        unknown = [c for c in self.classes if c not in CATALOG]
        if unknown:
            raise ValueError(f"unknown class(es) {', '.join(unknown)}; valid: {', '.join(CATALOG)}")
        if len(set(self.classes)) != len(self.classes):
            raise ValueError("a class is listed twice in --classes")


@dataclass(frozen=True)
class ShardTask:
    """One unit of work: curves [start, start + n) of one class."""

    class_name: str
    index: int
    n_curves: int

    @property
    def filename(self) -> str:
        return f"{self.class_name}-{self.index:04d}.npz"


def structure_factor_names() -> list[str]:
    from sasnn.simulate.catalog import STRUCTURE_FACTORS

    return [NO_STRUCTURE_FACTOR, *STRUCTURE_FACTORS]


def plan_shards(config: SimulationConfig) -> list[ShardTask]:
    """All shard tasks, in class order then index order."""
    tasks = []
    for name in config.classes:
        full, rest = divmod(config.per_class, config.shard_size)
        sizes = [config.shard_size] * full + ([rest] if rest else [])
        tasks += [ShardTask(name, k, n) for k, n in enumerate(sizes)]
    return tasks


__all__ = ["PRIORS", "ShardTask", "SimulationConfig", "plan_shards", "structure_factor_names"]
