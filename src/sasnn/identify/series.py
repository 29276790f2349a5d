"""A series of curves measured under changing conditions, read as a phase map.

    >>> from sasnn.identify.series import run_series
    >>> s = run_series(["c10.xml", "c30.xml", "c40.xml"], {"concentration": [10, 30, 40]})
    >>> [(p.conditions["concentration"], p.phase, round(p.phase_probability, 2)) for p in s.points]

Each file is classified as ``sasnn predict`` does (:func:`sasnn.identify.api.predict_groups`,
entries of one file combined), optionally confirmed by fitting, and its answer is mapped to
a *phase*: what a phase diagram draws, coarser than a model. A phase is the form factor's
family (spheres, cylinders, polymer chains, ...) plus its structure factor, or "ordered"
for the models of long-range order (paracrystals, lamellar stacks, Bragg peaks), whatever
their shape. The phase's probability is the sum of the classifier's probabilities over all
pairs of that phase, so classes that look alike within a phase do not split its confidence.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sasnn.identify.api import predict_groups
from sasnn.identify.confirm import FIT_SHORTLIST, confirm
from sasnn.identify.predictor import Prediction, Predictor
from sasnn.io.curve import Curve

ORDERED = "ordered"
#: Models of long-range order: the phase is "ordered" whatever the building block.
#: broad_peak is left out: its peak is the correlation of a disordered structure.
ORDERED_MODELS = frozenset({
    "sc_paracrystal", "bcc_paracrystal", "fcc_paracrystal", "lamellar_stack_caille",
    "lamellar_hg_stack_caille", "lamellar_stack_paracrystal", "peak_lorentz", "gaussian_peak",
})
#: sasmodels' shape categories (:func:`sasnn.simulate.sampling.family`) as phase names.
SHAPE_FAMILIES = {
    "shape:sphere": "spheres", "shape:cylinder": "cylinders", "shape:ellipsoid": "ellipsoids",
    "shape:parallelepiped": "parallelepipeds", "shape:lamellae": "lamellae",
    "shape:polyhedron": "polyhedra", "shape:paracrystal": ORDERED,
}
#: sasmodels files all the rest under "shape-independent"; a phase diagram tells these apart.
#: Ornstein-Zernike (lorentz) is the catalogue's twin of poly_gauss_coil (Mw/Mn = 2), and with
#: correlation_length the usual reading of polymer solutions, so they count as chains.
CHAINS = frozenset({"mono_gauss_coil", "poly_gauss_coil", "polymer_excl_volume", "star_polymer",
                    "be_polyelectrolyte", "rpa", "lorentz", "correlation_length"})
FRACTALS = frozenset({"fractal", "fractal_core_shell", "mass_fractal", "surface_fractal",
                      "mass_surface_fractal"})


@cache
def model_family(model: str) -> str:
    """The family of a form factor: ``"spheres"``, ``"polymer chains"``, ``"ordered"``, ..."""
    from sasnn.simulate.sampling import family

    if model in ORDERED_MODELS:
        return ORDERED
    if model in CHAINS:
        return "polymer chains"
    if model in FRACTALS:
        return "fractal aggregates"
    category = family(model)
    return SHAPE_FAMILIES.get(category, "other (shape-independent)")


def phase_of(model: str, structure_factor: str | None) -> str:
    """``"spheres + hardsphere"``, ``"polymer chains"``, ``"ordered"``: family + S(Q)."""
    name = model_family(model)
    return name if name == ORDERED or not structure_factor else f"{name} + {structure_factor}"


def phase_probabilities(prediction: Prediction) -> dict[str, float]:
    """Summed probability per phase over the prediction's candidates, largest first."""
    totals: dict[str, float] = {}
    for c in prediction.candidates:
        phase = phase_of(c.model, c.structure_factor)
        totals[phase] = totals.get(phase, 0.0) + c.probability
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass(frozen=True)
class SeriesPoint:
    """One file of the series: its conditions, its prediction and its phase."""

    file: str
    conditions: Mapping[str, float]
    prediction: Prediction  # the top candidates (after --fit: re-ranked by BIC, with fits)
    phase: str  # the classifier's most probable phase; after --fit, the best fit's
    phase_probability: float  # the classifier's summed probability of that phase
    phases: Mapping[str, float]  # every phase with its summed probability

    @property
    def unsure(self) -> bool:
        return self.prediction.unsure

    def to_dict(self) -> dict:
        """``sasnn predict``'s JSON object plus ``conditions``, ``phase``,
        ``phase_probability`` and ``phases`` (the phases above 1 %)."""
        return dict(self.prediction.to_dict(), conditions=dict(self.conditions), phase=self.phase,
                    phase_probability=self.phase_probability,
                    phases={k: v for k, v in self.phases.items() if v >= 0.01})


@dataclass(frozen=True)
class Series:
    variables: tuple[str, ...]  # condition names, in axis order (x, then y)
    points: tuple[SeriesPoint, ...]

    def to_dict(self) -> dict:
        return {"variables": list(self.variables), "points": [p.to_dict() for p in self.points]}


def check_conditions(n_files: int, conditions: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
    """Conditions as floats, one value per file; ValueError naming the variable otherwise."""
    checked = {}
    for name, values in conditions.items():
        if len(values) != n_files:
            raise ValueError(f"--var {name} has {len(values)} values for {n_files} files; "
                             "give one value per file, in the files' order")
        floats = []
        for v in values:
            try:
                x = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"--var {name}: {v!r} is not a number") from None
            if not math.isfinite(x):
                raise ValueError(f"--var {name}: {v!r} is not a finite number")
            floats.append(x)
        checked[name] = floats
    if not 1 <= len(checked) <= 2:
        raise ValueError(f"a phase map has one or two condition axes; got {len(checked)} variables")
    return checked


def parse_var(text: str) -> tuple[str, list[str]]:
    """``"T=20,30,40"`` → ``("T", ["20", "30", "40"])``; numbers are checked later."""
    name, sep, values = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"--var {text!r}: expected NAME=V1,V2,... (e.g. concentration=10,30,40)")
    return name.strip(), [v.strip() for v in values.split(",")]


def parse_table(text: str, where: str) -> tuple[list[str], dict[str, list[float]]]:
    """A CSV table (header ``file,NAME[,NAME]``, one row per file) → (files, conditions).
    ``where`` names the table in messages."""
    rows = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise ValueError(f"{where}: expected a header (file,NAME,...) and one row per file")
    header = [h.strip() for h in rows[0]]
    if header[0].lower() != "file" or len(header) < 2 or not all(header[1:]):
        raise ValueError(f"{where}: the header must be file,NAME[,NAME] (got {','.join(header)})")
    files, columns = [], {name: [] for name in header[1:]}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{where}, line {line}: {len(row)} columns, the header has {len(header)}")
        files.append(row[0].strip())
        for name, cell in zip(header[1:], row[1:], strict=True):
            try:
                columns[name].append(float(cell))
            except ValueError:
                raise ValueError(f"{where}, line {line}: {name} {cell.strip()!r} is not a number") from None
    return files, check_conditions(len(files), columns)


def classify_series(
    predictor: Predictor,
    groups: Sequence[Sequence[Curve]],
    conditions: Mapping[str, Sequence[float]],
    *,
    top: int = 3,
    fit: bool = False,
    fit_top: int = FIT_SHORTLIST,
    seed: int = 0,
    fit_time: float = 60.0,
    workers: int = 1,
) -> Series:
    """The phase of every file (``groups``: one list of curves per file, in the order of
    ``conditions``' values). With ``fit`` the classifier's best ``max(top, fit_top)`` pairs
    are fitted and the phase is that of the best fit by BIC."""
    conditions = check_conditions(len(groups), conditions)
    n_pairs = sum(len(s) for s in predictor.meta["pairs"])  # every pair, for the phase sums
    jobs = predict_groups(predictor, groups, top=n_pairs, joint=True)
    points = []
    for i, (full, curves) in enumerate(jobs):
        phases = phase_probabilities(full)
        shown = dataclasses.replace(full, candidates=full.candidates[: max(top, fit_top) if fit else top])
        phase = next(iter(phases), "undetermined")
        if fit and shown.candidates:
            shown = confirm(shown, curves, seed=seed, time_limit=fit_time, keep=top, workers=workers)
            best = shown.candidates[0]
            phase = phase_of(best.model, best.structure_factor)
        points.append(SeriesPoint(full.file, {k: v[i] for k, v in conditions.items()}, shown, phase,
                                  phases.get(phase, 0.0), phases))
    return Series(tuple(conditions), tuple(points))


def run_series(
    paths: Sequence[str | Path],
    conditions: Mapping[str, Sequence[float]],
    *,
    model: str | Path | None = None,
    q_units: str | None = None,
    **options,
) -> Series:
    """Read ``paths`` and :func:`classify_series` them; ``model`` defaults to the shipped
    model. An unreadable file raises :class:`sasnn.io.read.DataFormatError`."""
    from sasnn.identify.loading import load_predictor
    from sasnn.io.read import load_curves

    conditions = check_conditions(len(paths), conditions)
    groups = [load_curves(path, q_units=q_units) for path in paths]
    return classify_series(load_predictor(model), groups, conditions, **options)


__all__ = ["ORDERED", "Series", "SeriesPoint", "check_conditions", "classify_series", "model_family",
           "parse_table", "parse_var", "phase_of", "phase_probabilities", "run_series"]
