"""One shard of labelled curves: draw parameters, pick an instrument set-up, evaluate the
model through sasmodels, measure it, add real files' artefacts. A pure function of its
task and the dataset's settings, so it runs in any worker and gives the same bytes.
"""

from __future__ import annotations

import json
import zlib

import numpy as np

from sasnn.io.curve import Curve
from sasnn.simulate import instrument, nuisance
from sasnn.simulate.config import ShardTask, SimulationConfig, structure_factor_names
from sasnn.simulate.shards import NO_STRUCTURE_FACTOR, Shard


def shard_rng(seed: int, class_name: str, index: int) -> np.random.Generator:
    """The generator of one shard. Keyed on the class *name*, so a class's curves
    do not change when other classes are added or left out."""
    return np.random.default_rng([seed, zlib.crc32(class_name.encode()), index])


def simulate_shard(task: ShardTask, config: SimulationConfig) -> Shard:
    """Simulate one shard. A pure function of its arguments (runs in any worker)."""
    from sasnn.simulate.catalog import CATALOG
    from sasnn.simulate.kernels import model_intensity
    from sasnn.simulate.sampling import sample_parameters

    model_class = CATALOG[task.class_name]
    narrow = config.priors == "narrow"
    if narrow:
        sample, max_draws = sample_parameters, config.max_draws_per_curve
    else:  # the wide and scaled families are free of the catalogue's caps: more draws fail
        from sasnn.simulate.scaled import sample_scaled
        from sasnn.simulate.wide import MAX_DRAWS_PER_CURVE, sample_wide

        sample = sample_wide if config.priors == "wide" else sample_scaled
        max_draws = max(config.max_draws_per_curve, MAX_DRAWS_PER_CURVE)
    sf_choices = structure_factor_names()[1:] if model_class.structure_factor else []
    rng = shard_rng(config.seed, task.class_name, task.index)
    inst = config.instrument
    nuisances = nuisance.PRESETS[config.nuisances]
    rows: list[tuple] = []
    rejected: dict[str, int] = {}
    draws = 0
    while len(rows) < task.n_curves:
        draws += 1
        if draws > max_draws * task.n_curves + 20:
            raise RuntimeError(
                f"class {task.class_name}: {sum(rejected.values())} of {draws - 1} draws were "
                f"invalid ({rejected}); its catalogue priors need fixing"
            )
        sf = None
        if sf_choices and rng.random() < config.structure_factor_share:
            sf = sf_choices[int(rng.integers(len(sf_choices)))]
        params = sample(model_class, rng, structure_factor=sf)
        if params is None:  # the priors' constraint refused the draw
            _count(rejected, "constraint")
            continue
        g = instrument.draw_setup(inst, rng)
        resolution = instrument.resolution_for(g.setup, g.variant, inst.grid_seed)
        # wide shapes are continuous, so no per-shape table of the narrow priors' steps applies
        model = model_intensity(task.class_name, sf, params, resolution, tabulate=narrow)
        reason = invalid_reason(model)
        if reason is None:
            model, artefacts = nuisance.add_upturn(model, g.q, nuisances, rng)
            measured = instrument.measure(model, g, inst, rng)
            reason = "below background" if measured is None else None
        if reason is None:
            curve, artefacts = _reduced(g, measured, artefacts, nuisances, rng)
            reason = "too few points after reduction" if curve is None else None
        if reason:
            _count(rejected, reason)
            continue
        rows.append((g, sf, params, measured, curve, artefacts))
    return _pack(task, rows, rejected)


def _reduced(g, measured, artefacts: dict, nuisances, rng) -> tuple[Curve | None, dict]:
    """The curve a user's reader would hand over: the reduction's artefacts applied, then
    the reader's own repairs (non-positive points dropped, missing σ estimated), so the
    network is taught on what it will be shown. Without nuisances: the measurement as is."""
    if not nuisances.active:
        return Curve(g.q, measured.intensity, measured.sigma, g.dq), artefacts
    from sasnn.io.repair import repair_curve

    reduced = nuisance.reduce(g.q, g.dq, measured.intensity, measured.sigma, g.configuration,
                              measured.background, nuisances, rng)
    curve = repair_curve(Curve(reduced.q, reduced.intensity, reduced.sigma, reduced.dq))
    return (curve if len(curve.q) >= nuisances.min_points // 2 else None), {**artefacts, **reduced.record}


def invalid_reason(model: np.ndarray) -> str | None:
    """Why a model curve can't be kept, or None when it is valid."""
    if not np.all(np.isfinite(model)):
        return "not finite"
    # Exactly 0 is fine: exponential models (gaussian_peak, guinier) underflow far
    # from their feature, and the background keeps the measured curve positive.
    if np.any(model < 0) or not np.any(model > 0):
        return "negative"
    return None


def _count(counter: dict, key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


def _pack(task: ShardTask, rows: list[tuple], rejected: dict) -> Shard:
    lengths = [len(c.q) for *_, c, _ in rows]
    parameters = []
    for g, _, params, m, _, artefacts in rows:
        record = {
            "model": params,
            "instrument": {
                "setup": g.setup,
                "variant": g.variant,
                "scale": m.scale,
                "background": m.background,
                "counts_per_unit": m.counts_per_unit,
                "systematic_error": m.systematic_error,
            },
        }
        if artefacts:
            record["nuisances"] = artefacts
        parameters.append(json.dumps(record, sort_keys=True))

    def column(name: str) -> np.ndarray:
        return np.concatenate([getattr(c, name) for *_, c, _ in rows]) if rows else np.zeros(0)

    return Shard(
        class_name=task.class_name,
        index=task.index,
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        q=column("q"),
        intensity=column("intensity"),
        sigma=column("sigma"),
        dq=column("dq"),
        structure_factor=np.array([sf or NO_STRUCTURE_FACTOR for _, sf, *_ in rows], dtype=str),
        setup=np.array([g.setup for g, *_ in rows], dtype=str),
        parameters=np.array(parameters, dtype=str),
        noise=np.array([float(np.median(c.sigma / np.abs(c.intensity))) for *_, c, _ in rows]),
        rejected=dict(sorted(rejected.items())),
    )


__all__ = ["invalid_reason", "shard_rng", "simulate_shard"]
