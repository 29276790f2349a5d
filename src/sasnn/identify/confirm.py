"""Confirm the classifier's shortlist by fitting it to the data, then re-rank by BIC.

The classifier has only seen simulated curves; a fit is evidence from this curve.
:func:`confirm` fits each candidate pair of a :class:`~sasnn.identify.predictor.Prediction`
with :func:`sasnn.fit.candidates.fit_candidates` (the data's own pinhole dQ or slit length,
started from the prior draws nearest to the data) and returns the prediction with
its candidates re-ordered by BIC, each carrying its fit. The classifier's
probabilities are kept as they are, so both rankings stay visible.

**Parsimony, as an expert works.** Besides the classifier's shortlist, ``--fit`` fits
the :data:`REFERENCE_MODELS` (a sphere, a Gaussian coil, ...: what an expert tries
first), so a simple model that fits is never missing from the comparison
(:func:`with_references` picks them; :func:`sasnn.identify.api.predict_groups` gives
them their classifier probability). Fits within :data:`BIC_TIE` of the best are a tie
the data cannot break; among them the one with the fewest free parameters comes first,
then the one with the fewest parameters the data leave undetermined
(:func:`sasnn.fit.determined.undetermined`). A note says when the first answer fixes a
size but not a shape (:func:`size_only`).

A re-ranked prediction is flagged "unsure" when no candidate fits: every fit failed,
or the best reduced χ² exceeds :data:`POOR_FIT_CHI2`.

:func:`combine` merges the per-entry predictions of one sample measured on several
instruments (SANS + USANS in one file) into one, for a joint fit.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np

from sasnn.fit.candidates import FitResult, bic_weights, fit_candidates
from sasnn.fit.determined import shape_parameters, size_parameter
from sasnn.fit.start import WIDE_SHARE
from sasnn.identify.predictor import Candidate, Prediction, Predictor
from sasnn.io.curve import Curve
from sasnn.simulate.catalog import CATALOG, STRUCTURE_FACTORS

# χ²_red above which even the best candidate is called a poor fit. Real reductions
# often understate σ by a factor 2-3 (χ²_red 4-9 for the right model), so the bar is
# set well above that: it catches a shortlist that misses the physics, not a model
# that is a little off.
POOR_FIT_CHI2 = 30.0

#: BIC difference up to which two fits are a tie: "not worth more than a bare mention"
#: (Kass & Raftery 1995, 2 ln Bayes factor ≈ ΔBIC).
BIC_TIE = 2.0

#: How many of the classifier's candidates ``--fit`` fits besides the reference models,
#: before showing the best ``--top``. It was 10 before the reference models were always
#: fitted; they now cover the simple shapes the classifier ranks low (on the dev set the
#: expert's model or family was in its top 3 for 7 of 11 files, its top 10 for 9 of 11),
#: and 5 puts the main job at 21 s instead of 43 s with the same first answer
#: (docs/benchmarks.md, "Main job"). ``--fit-top 10`` gives the deeper search.
FIT_SHORTLIST = 5

#: The models an expert fits first, whatever a classifier says, so that a simple model
#: that fits is always in the comparison. Each is fitted alone and, where the catalogue
#: lets it carry a structure factor, also with :func:`favoured_structure_factor`.
REFERENCE_MODELS = (
    "sphere",             # the simplest particle: one radius (and its spread)
    "core_shell_sphere",  # micelles, droplets, proteins with a hydration shell: the next step up
    "ellipsoid",          # the simplest departure from a sphere: one axis ratio
    "cylinder",           # rods and discs: the other common anisotropic body
    "mono_gauss_coil",    # a polymer chain in solution (Debye): the reference for anything soft
    "guinier_porod",      # shape-free: a size and a high-q slope, when nothing else is known
    "power_law",          # no size in the window at all: a fractal or interface slope
)
for _name in REFERENCE_MODELS:  # checked at import, like the catalogue itself
    if _name not in CATALOG:
        raise ValueError(f"REFERENCE_MODELS: {_name!r} is not a catalogue class")

#: Prior draws and starts of a reference model's fit, twice fit_candidates' defaults, and a
#: thorough search (dense length scans, every start to the end of LM). The references are
#: few and mostly cheap, and a simple model that misses its optimum loses to a complex one
#: as surely as one never fitted (AOT core contrast, seed 0: core_shell_sphere@hardsphere
#: ends at BIC 118.6 with these draws and starts alone, 110.8 with the thorough search).
REFERENCE_DRAWS, REFERENCE_STARTS = 192, 8

#: The classifier's summed probability on one structure factor above which the reference
#: models that take one are also fitted with it: a bare sphere cannot fit a curve with an
#: interparticle peak, however right its size (AOT core contrast: sphere χ²ᵣ 5.0,
#: sphere@hardsphere 1.4).
REFERENCE_SF_CONFIDENCE = 0.5

#: q_max·Rg up to which a curve is all Guinier regime: there I(q) ≈ I(0) exp(−q²Rg²/3)
#: whatever the shape (a sphere and a Gaussian coil of one Rg differ by < 10 %), so the
#: data fix a size, not a shape (the limit of Guinier's approximation, as in sasnn.pr.guinier).
GUINIER_SHAPE_LIMIT = 1.3


def reference_pairs(structure_factor: str | None = None) -> list[tuple[str, str | None]]:
    """The reference models alone and, given a structure factor, each that can carry one
    with it too."""
    pairs = [(model, None) for model in REFERENCE_MODELS]
    if structure_factor is not None:
        pairs += [(model, structure_factor) for model in REFERENCE_MODELS if CATALOG[model].structure_factor]
    return pairs


def reference_candidates(predictor: Predictor) -> list[tuple[str, str | None]]:
    """Every pair a reference model may be fitted as (alone, or with any structure factor)
    that ``predictor`` was trained on: what to rank beside its top k (``also``), so that each
    reference fitted has the classifier's probability; :func:`with_references` keeps those
    to fit."""
    bare = reference_pairs()
    pairs = bare + [pair for sf in STRUCTURE_FACTORS for pair in reference_pairs(sf) if pair not in bare]
    trained = []
    for pair in pairs:
        try:
            predictor._pair_index(*pair)  # what predict() checks ``also`` with, without a forward pass
        except ValueError:
            continue  # a checkpoint trained without this class: nothing to rank it with
        trained.append(pair)
    return trained


def favoured_structure_factor(prediction: Prediction) -> str | None:
    """The structure factor on which the prediction's candidates together put at least
    :data:`REFERENCE_SF_CONFIDENCE` (None: no S(Q), or none that sure). The candidates'
    joint probabilities summed over one structure factor are a lower bound of the S(Q)
    head's probability for it, so a sum that passes means the head passes too."""
    totals: dict[str, float] = {}
    for c in prediction.candidates:
        if c.structure_factor is not None:
            totals[c.structure_factor] = totals.get(c.structure_factor, 0.0) + c.probability
    best = max(totals, key=totals.__getitem__, default=None)
    return best if best is not None and totals[best] >= REFERENCE_SF_CONFIDENCE else None


def with_references(prediction: Prediction, ranked: int,
                    keep_pairs: Sequence[tuple[str, str | None]] = ()) -> Prediction:
    """The candidates to fit: the classifier's ``ranked`` first candidates, the user's
    ``keep_pairs``, and :func:`reference_pairs` with the favoured structure factor, in
    that order, each once. ``prediction`` holds the classifier's top ``ranked`` followed by
    the pairs it was asked to rank besides (``also``: the user's and
    :func:`reference_candidates`); the other pairs among those are dropped."""
    head = prediction.candidates[:ranked]
    wanted = set(keep_pairs) | set(reference_pairs(favoured_structure_factor(prediction)))
    tail = [c for c in prediction.candidates[ranked:] if (c.model, c.structure_factor) in wanted]
    user = [c for c in tail if (c.model, c.structure_factor) in set(keep_pairs)]
    return dataclasses.replace(prediction, candidates=(*head, *user, *(c for c in tail if c not in user)))


def parsimonious_order(fits: Sequence[FitResult]) -> list[int]:
    """Indices of ``fits`` best first: by BIC, except that the fits within :data:`BIC_TIE`
    of the lowest (a tie the data cannot break) come by fewest free parameters, then
    fewest undetermined ones, then BIC; failed fits last, in their given order."""
    order = sorted(range(len(fits)), key=lambda i: (not math.isfinite(fits[i].bic), fits[i].bic, i))
    if not order or not math.isfinite(fits[order[0]].bic):
        return order
    lowest = fits[order[0]].bic
    tied = [i for i in order if fits[i].bic - lowest <= BIC_TIE]
    tied.sort(key=lambda i: (fits[i].n_free, len(fits[i].undetermined), fits[i].bic))
    return tied + order[len(tied):]


def size_only(fits: Sequence[FitResult], curves: Sequence[Curve]) -> str | None:
    """A note when the first of ``fits`` fixes a size but not a shape, or not even its
    size; None when it fixes both. A curve that ends in the Guinier regime
    (q_max·Rg ≤ :data:`GUINIER_SHAPE_LIMIT`, Rg from the best fit that has a determined
    ``rg``) fixes only a size, whichever model fits; so does a fit whose every shape
    parameter is undetermined."""
    if not fits or not math.isfinite(fits[0].bic):
        return None
    first = fits[0]
    with_rg = [f for f in fits
               if math.isfinite(f.bic) and "rg" in f.parameters and "rg" not in f.undetermined]
    if with_rg:
        fit = min(with_rg, key=lambda f: f.bic)
        reach = max(float(np.max(c.q)) for c in curves) * fit.parameters["rg"][0]
        if reach <= GUINIER_SHAPE_LIMIT:
            return (f"the data end at q·Rg = {reach:.2g} (Rg {fit.parameters['rg'][0]:.3g} Å from "
                    f"{fit.name}), in the Guinier regime: they fix a size, not a shape")
    size = size_parameter(first.model)
    if size is None or size not in first.parameters:
        return None
    if size in first.undetermined:
        return f"the data do not determine the size ({size}) of {first.name}"
    shape = shape_parameters(first.model, first.structure_factor, first.parameters)
    if shape and set(shape) <= set(first.undetermined):
        return (f"the data determine {first.name}'s {size} but none of its shape "
                f"({', '.join(shape)}): a size, not a shape")
    return None


def confirm(
    prediction: Prediction,
    curves: Curve | Sequence[Curve],
    *,
    seed: int = 0,
    time_limit: float | None = None,
    on_candidate: Callable[[str], None] | None = None,
    keep: int | None = None,
    keep_pairs: Sequence[tuple[str, str | None]] = (),
    workers: int = 1,
    wide_share: float = WIDE_SHARE,
) -> Prediction:
    """Fit ``prediction``'s candidates to ``curves`` (one entry, or several entries of
    one sample fitted jointly) and return it re-ranked with the fits attached
    (:func:`parsimonious_order`), with ``ties`` and ``notes`` (:func:`size_only`).

    ``keep``: return only the best ``keep``, and any candidate among
    ``keep_pairs`` (a user's own hypotheses), still in that order. Fitting a longer
    shortlist than is shown is the point: on real data the classifier spreads its
    probability over look-alike models, and the one the data favour is often lower
    than third (README, "Real data: the dev set").
    ``workers``: processes fitting candidates at once (see :func:`sasnn.fit.candidates.fit_candidates`);
    the answer is the same for any number. ``time_limit``: the optional per-candidate
    safety net (off by default); a fit it stopped has ``stopped_by_time`` and a
    provisional rank.
    ``on_candidate(name)`` is called after each candidate's fit (for progress bars).
    ``wide_share``: share of each fit's prior draws from the wide priors
    (:func:`sasnn.fit.start.draw_starts`).
    """
    if keep is not None and keep < 1:
        raise ValueError(f"keep must be a positive number of candidates, got {keep}")
    curves = [curves] if isinstance(curves, Curve) else list(curves)
    pairs = [(c.model, c.structure_factor) for c in prediction.candidates]
    report = None if on_candidate is None else lambda r: on_candidate(r.name)
    references = {pair for sf in (None, *STRUCTURE_FACTORS) for pair in reference_pairs(sf)}
    deep = [i for i, pair in enumerate(pairs) if pair in references]
    rest = [i for i in range(len(pairs)) if i not in deep]
    results: list = [None] * len(pairs)
    for chosen, search in ((rest, {}), (deep, dict(n_draws=REFERENCE_DRAWS, n_starts=REFERENCE_STARTS,
                                                          thorough=True))):
        if chosen:
            fitted = fit_candidates(curves, [pairs[i] for i in chosen], seed=seed, time_limit=time_limit,
                                    workers=workers, wide_share=wide_share, on_result=report, **search)
            for i, result in zip(chosen, fitted, strict=True):
                results[i] = result
    order = parsimonious_order(results)
    # ties among every fitted pair, shown or not: a tie hidden by --top is still a tie
    finite = [results[i] for i in order if math.isfinite(results[i].bic)]
    lowest = min((r.bic for r in finite), default=math.inf)
    ties = tuple(r.name for r in finite if r.bic - lowest <= BIC_TIE)
    note = size_only([results[i] for i in order], curves)
    if keep is not None:
        wanted = set(keep_pairs)
        order = [i for rank, i in enumerate(order) if rank < keep
                 or (prediction.candidates[i].model, prediction.candidates[i].structure_factor) in wanted]
    candidates = tuple(prediction.candidates[i] for i in order)
    fits = tuple(results[i] for i in order)
    reasons = [] if prediction.reason is None else [prediction.reason]
    best = fits[0] if fits else None
    if best is None or not math.isfinite(best.bic):
        reasons.append("no candidate could be fitted (see each fit's message)")
    elif best.chi2_red > POOR_FIT_CHI2:
        reasons.append(
            f"no candidate fits well: the best, {best.name}, has χ²_red = {best.chi2_red:.3g} "
            f"> {POOR_FIT_CHI2:g}"
        )
    return dataclasses.replace(
        prediction, candidates=candidates, fits=fits, unsure=bool(reasons), reason="; ".join(reasons) or None,
        ties=ties if len(ties) > 1 else (), notes=() if note is None else (note,),
    )


def fit_weights(prediction: Prediction) -> np.ndarray:
    """Posterior weights of a confirmed prediction's candidates under the BIC
    approximation, with the classifier's probabilities as the prior."""
    if not prediction.fits:
        raise ValueError("the prediction has no fits; run confirm() first")
    return bic_weights(prediction.fits, [c.probability for c in prediction.candidates])


def combine(predictions: Sequence[Prediction], top_k: int,
            also: Sequence[tuple[str, str | None]] = ()) -> Prediction:
    """One prediction for several entries of one sample: each pair's probability is the
    product of its per-entry probabilities (independent evidence, flat prior),
    renormalised over the pairs any entry ranked. The ``also`` pairs follow the top
    ``top_k`` when not among them. Entries' unsure reasons are kept.

    A slit-smeared entry (USANS) adds no evidence while a pinhole entry exists: the
    network never saw slit smearing, and its reading of such an entry would outvote
    the entry it can read. The joint fit still uses every entry."""
    if not predictions:
        raise ValueError("combine() needs at least one prediction")
    scored = [p for p in predictions if p.candidates]
    scored = [p for p in scored if not p.slit_smeared] or scored
    pairs = {(c.model, c.structure_factor) for p in scored for c in p.candidates}
    floor = 1e-6  # a pair missing from an entry's top-k gets at most this much from it
    log_p = {}
    for pair in pairs:
        log_p[pair] = sum(
            math.log(max(floor, next((c.probability for c in p.candidates
                                      if (c.model, c.structure_factor) == pair), floor)))
            for p in scored
        )
    if log_p:
        top = max(log_p.values())
        total = sum(math.exp(v - top) for v in log_p.values())
        ranked = sorted(log_p, key=lambda pair: (-log_p[pair], pair[0], pair[1] or ""))
        keep = ranked[:top_k] + [pair for pair in also if pair in log_p and pair not in ranked[:top_k]]
        candidates = tuple(Candidate(m, s, math.exp(log_p[(m, s)] - top) / total) for m, s in keep)
    else:
        candidates = ()
    reasons = [f"{p.entry or 'entry'}: {p.reason}" for p in predictions if p.reason]
    q_ranges = [p.q_range for p in predictions if p.q_range is not None]
    first = predictions[0]
    return Prediction(
        first.file,
        " + ".join(p.entry for p in predictions),
        candidates,
        bool(reasons) or not candidates,
        "; ".join(reasons) or (None if candidates else "no entry could be prepared"),
        (min(r[0] for r in q_ranges), max(r[1] for r in q_ranges)) if q_ranges else None,
        q_units_read=first.q_units_read,  # the entries of one file share its unit
    )


__all__ = ["BIC_TIE", "FIT_SHORTLIST", "GUINIER_SHAPE_LIMIT", "POOR_FIT_CHI2", "REFERENCE_MODELS",
           "REFERENCE_SF_CONFIDENCE", "combine", "confirm", "favoured_structure_factor", "fit_weights",
           "parsimonious_order", "reference_candidates", "reference_pairs", "size_only", "with_references"]
