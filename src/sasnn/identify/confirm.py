"""Confirm the classifier's shortlist by fitting it to the data, then re-rank by BIC.

The classifier has only seen simulated curves; a fit is evidence from this curve.
:func:`confirm` fits each candidate pair of a :class:`~sasnn.identify.predictor.Prediction`
with :func:`sasnn.fit.candidates.fit_candidates` (the data's own pinhole dQ or slit length,
started from the prior draws nearest to the data) and returns the prediction with
its candidates re-ordered by BIC, each carrying its fit. The classifier's
probabilities are kept as they are, so both rankings stay visible.

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

from sasnn.fit.candidates import bic_weights, fit_candidates
from sasnn.identify.predictor import Candidate, Prediction
from sasnn.io.curve import Curve

# χ²_red above which even the best candidate is called a poor fit. Real reductions
# often understate σ by a factor 2-3 (χ²_red 4-9 for the right model), so the bar is
# set well above that: it catches a shortlist that misses the physics, not a model
# that is a little off.
POOR_FIT_CHI2 = 30.0

#: BIC difference up to which two fits are a tie: "not worth more than a bare mention"
#: (Kass & Raftery 1995, 2 ln Bayes factor ≈ ΔBIC).
BIC_TIE = 2.0

#: How many of the classifier's candidates ``--fit`` fits before showing the best
#: ``--top`` by BIC. On the dev set the expert's model or its family is in the shipped
#: model's top 3 for 7 of 11 files and in its top 10 for 9 of 11 (README, "Real data:
#: the dev set"); 10 of the 180 catalogue pairs is 5.6 % of fitting everything.
FIT_SHORTLIST = 10


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
) -> Prediction:
    """Fit ``prediction``'s candidates to ``curves`` (one entry, or several entries of
    one sample fitted jointly) and return it re-ranked by BIC with the fits attached.

    ``keep``: return only the best ``keep`` by BIC, and any candidate among
    ``keep_pairs`` (a user's own hypotheses), still in BIC order. Fitting a longer
    shortlist than is shown is the point: on real data the classifier spreads its
    probability over look-alike models, and the one the data favour is often lower
    than third (README, "Real data: the dev set").
    ``workers``: processes fitting candidates at once (see :func:`sasnn.fit.candidates.fit_candidates`);
    the answer is the same for any number. ``time_limit``: the optional per-candidate
    safety net (off by default); a fit it stopped has ``stopped_by_time`` and a
    provisional rank.
    ``on_candidate(name)`` is called after each candidate's fit (for progress bars).
    """
    if keep is not None and keep < 1:
        raise ValueError(f"keep must be a positive number of candidates, got {keep}")
    pairs = [(c.model, c.structure_factor) for c in prediction.candidates]
    results = fit_candidates(curves, pairs, seed=seed, time_limit=time_limit, workers=workers,
                             on_result=None if on_candidate is None else lambda r: on_candidate(r.name))
    # BIC first; failed fits last, in the classifier's order
    order = sorted(range(len(results)), key=lambda i: (not math.isfinite(results[i].bic), results[i].bic, i))
    # ties among every fitted pair, shown or not: a tie hidden by --top is still a tie
    finite = [results[i] for i in order if math.isfinite(results[i].bic)]
    ties = tuple(r.name for r in finite if r.bic - finite[0].bic <= BIC_TIE) if finite else ()
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
        ties=ties if len(ties) > 1 else (),
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
    )


__all__ = ["BIC_TIE", "FIT_SHORTLIST", "POOR_FIT_CHI2", "combine", "confirm", "fit_weights"]
