"""Which (form factor, structure factor) pairs describe these curves, and how sure is that?

:class:`Predictor` holds a trained network and its checkpoint description; once
loaded it does not change. It prepares curves with
:func:`sasnn.learn.preprocessing.prepare_input` (it has no input arithmetic of its own),
runs the network in batches and ranks candidate pairs.

**Joint probability.** The two heads are calibrated separately (one temperature
each), and a pair is scored p(form factor) · p(structure factor): this assumes the
two labels are independent given the curve. Pairs never seen in training (a form
factor that takes no S(Q) paired with one) get probability 0, and the rest are
renormalised.

**Unsure.** A prediction is flagged, with the reason, when

* the data's Q range overlaps the model's grid too little, or most of the data lie
  outside it;
* the top 3 form factors together have a probability below the model's level
  (``meta['unsure']['min_confidence']``; ``MIN_CONFIDENCE`` for older checkpoints);
* the curve is featureless in its window (:mod:`sasnn.learn.featureless`): a power
  law plus a flat background fits it within its noise, so it holds no size or shape
  to name, whatever the network says; a generic model is the answer;
* the entry is slit-smeared (USANS): training curves are all pinhole-smeared, and a
  slit turns q⁻⁴ into q⁻³, so the network reads another model; the fit still can;
* the curve is unlike the training data: its distance in the network's feature
  space to the nearest class, relative to its distance from all training features
  (:mod:`sasnn.learn.novelty`), is above the threshold set on validation data, where it
  flags ``unsure_rate`` (5 %) of in-distribution curves. On models left out of
  training a feature distance fires far more often than the form-factor head's free
  energy (Liu et al. 2020) at the same 5 % (bench/bench_unsure.py), so the energy
  test is used only for checkpoints made before the feature density existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from sasnn.identify.model_folder import is_ensemble, resolve_model_path
from sasnn.io.curve import Curve
from sasnn.io.repair import fix_sigma
from sasnn.learn import evaluation, preprocessing
from sasnn.learn.featureless import feature_test, featureless_reason
from sasnn.learn.novelty import FeatureDensity, features
from sasnn.learn.preprocessing import prepare_curve

# A shortlist is what the user acts on (and what --fit checks), so confidence is the
# probability that the form factor is among the top SHORTLIST, not that it is the first:
# classes that look alike in the data's window split the probability between them
# without making the shortlist doubtful. The level under which a prediction is unsure is
# the model's own (meta "unsure"/"min_confidence", set in training where the predictions
# left unflagged are right 95 % of the time); checkpoints without one use MIN_CONFIDENCE.
SHORTLIST = 3
MIN_CONFIDENCE = evaluation.MIN_CONFIDENCE
MIN_FRACTION_INSIDE = 0.5  # share of the data points that must fall on the model's grid
SLIT_REASON = ("slit-smeared data (USANS): the classifier was trained on pinhole-smeared curves "
               "only, so its ranking is a guess; --fit smears each candidate with the file's slit")


def is_slit_smeared(curve: Curve) -> bool:
    """Whether the entry carries a slit length (USANS) rather than pinhole dQ."""
    return curve.dq_slit is not None and bool(np.any(curve.dq_slit > 0))


def _feature_test(curve: Curve, slit: bool):
    """The featureless rule on one curve; σ estimated as the readers do where it has none,
    and no pinhole smearing for a slit-smeared entry."""
    sigma = curve.sigma
    if sigma is None:
        sigma = fix_sigma(np.abs(curve.intensity), None, curve.q)[0]
    return feature_test(curve.q, curve.intensity, sigma, None if slit else curve.dq)


def has_feature(curve: Curve) -> bool:
    """Whether ``curve`` shows a feature in its window: the featureless rule exactly as
    :meth:`Predictor.predict` applies it (benches use it to pick featured test curves)."""
    return not _feature_test(curve, is_slit_smeared(curve)).featureless


@dataclass(frozen=True)
class Candidate:
    model: str  # form factor (sasmodels name)
    structure_factor: str | None  # None: no interparticle structure factor
    probability: float  # calibrated joint probability


@dataclass(frozen=True)
class Prediction:
    """The ranked candidates for one curve (one entry of one file)."""

    file: str
    entry: str
    candidates: tuple[Candidate, ...]
    unsure: bool
    reason: str | None  # why it is unsure ("; "-joined), None when sure
    q_range: tuple[float, float] | None = None  # Å⁻¹, usable data
    fits: tuple = ()  # FitResult per candidate, same order, after sasnn.identify.confirm.confirm()
    slit_smeared: bool = False  # the classifier's ranking is no evidence for such an entry
    ties: tuple[str, ...] = ()  # after confirm(): fitted pairs the data cannot choose between
    q_units_read: str | None = None  # unit of q in the file ("1/A", "1/nm"); None: not from a file
    notes: tuple[str, ...] = ()  # after confirm(): what the data do not determine (a shape, a size)
    featureless: bool = False  # a power law plus background fits it (sasnn.learn.featureless)

    def to_dict(self) -> dict:
        """The JSON object of DESIGN.md §6: ``q_units_read`` is the unit of q in the file
        and ``q_range`` [min, max] the data's q in Å⁻¹ after conversion (null when the
        entry could not be prepared). With fits, each candidate also has ``chi2_red``,
        ``bic`` (null for a failed fit), ``parameters`` ({name: [value, 1-σ error]}) and
        ``undetermined`` (the names among them the data do not determine), ``ties`` lists
        the fitted pairs within ΔBIC ≤ 2 of the best (empty: none) and ``notes`` says when
        the first answer fixes a size but not a shape (empty: it fixes both)."""
        candidates = []
        for i, c in enumerate(self.candidates):
            row = {"model": c.model, "structure_factor": c.structure_factor, "probability": c.probability}
            if self.fits:
                fit = self.fits[i].to_dict()
                row.update(chi2_red=fit["chi2_red"], bic=fit["bic"], parameters=fit["parameters"],
                           undetermined=fit["undetermined"], fit_message=fit["message"],
                           stopped_by_time=fit["stopped_by_time"])
            candidates.append(row)
        record = {
            "file": self.file,
            "entry": self.entry,
            "candidates": candidates,
            "unsure": self.unsure,
            "reason": self.reason,
            "q_units_read": self.q_units_read,
            "q_range": None if self.q_range is None else [float(v) for v in self.q_range],
            "featureless": self.featureless,
        }
        if self.fits:
            record["ties"] = list(self.ties)
            record["notes"] = list(self.notes)
        return record


@dataclass(frozen=True)
class Predictor:
    """A loaded, calibrated model. Build with :meth:`from_checkpoint`."""

    model: object = field(repr=False)  # torch nn.Module, eval mode, frozen weights
    meta: MappingProxyType = field(repr=False)
    grid: np.ndarray = field(repr=False)  # (n_q,) Å⁻¹, read-only
    path: Path
    density: FeatureDensity | None = field(default=None, repr=False)  # see sasnn.learn.novelty

    @classmethod
    def from_checkpoint(cls, path: str | Path | None = None) -> Predictor:
        """Load one network from a run or checkpoint folder; None loads the shipped model.
        (:func:`sasnn.identify.load_predictor` also loads ensemble folders.)"""
        from sasnn.learn.networks import load_checkpoint

        directory = resolve_model_path(path)
        if is_ensemble(directory):
            raise ValueError(f"{directory} is an ensemble; load it with sasnn.identify.load_predictor")
        model, meta = load_checkpoint(directory)
        version = meta.get("preprocessing", {}).get("version")
        if version != preprocessing.PREPROCESSING_VERSION:
            raise ValueError(
                f"{directory} was trained with preprocessing version {version}, but this sasnn "
                f"prepares inputs with version {preprocessing.PREPROCESSING_VERSION}; retrain it"
            )
        try:
            preprocessing.check_channels(meta["preprocessing"].get("channels", preprocessing.BASE_CHANNELS))
        except ValueError as exc:
            raise ValueError(f"{directory}: {exc}") from None
        if "temperatures" not in meta:
            raise ValueError(f"{directory} is an intermediate checkpoint; use the run's model/ folder")
        for p in model.parameters():
            p.requires_grad_(False)
        grid = preprocessing.check_grid(meta["grid"])
        grid.setflags(write=False)
        return cls(model.eval(), MappingProxyType(meta), grid, directory, FeatureDensity.load(directory))

    @property
    def networks(self) -> tuple[Predictor, ...]:
        """The single-network predictors behind this one: itself (an ensemble: its members)."""
        return (self,)

    @property
    def channels(self) -> tuple[str, ...]:
        """The input planes the network reads (checkpoints before the log_sigma channel: two)."""
        recorded = self.meta["preprocessing"].get("channels", preprocessing.BASE_CHANNELS)
        return preprocessing.check_channels(recorded)

    def prepare(self, curve: Curve) -> np.ndarray:
        """The network input of one curve, (C, n_q), with this network's grid and channels."""
        return prepare_curve(curve.q, curve.intensity, curve.sigma, self.grid, self.channels)

    @property
    def class_names(self) -> list[str]:
        return list(self.meta["class_names"])

    @property
    def structure_factors(self) -> list[str]:
        return list(self.meta["structure_factors"])

    def logits(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw logits of both heads for prepared inputs ``x`` (N, C, n_q)."""
        from sasnn.learn.networks import logits_in_batches

        return logits_in_batches(self.model, x)

    def probabilities(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities of both heads, (N, n_classes) and (N, n_structure_factors)."""
        return self._calibrated(*self.logits(x))

    def _calibrated(self, ff_logits: np.ndarray, sf_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = self.meta["temperatures"]
        return (
            evaluation.softmax(ff_logits, t["form_factor"]),
            evaluation.softmax(sf_logits, t["structure_factor"]),
        )

    def pair_probabilities(self, x: np.ndarray) -> np.ndarray:
        """Joint p(form factor) · p(structure factor), (N, n_classes, n_structure_factors),
        zero for pairs never trained on, each row renormalised to sum 1."""
        return self._joint(*self.probabilities(x))

    def _joint(self, p_ff: np.ndarray, p_sf: np.ndarray) -> np.ndarray:
        allowed = np.zeros((len(self.class_names), len(self.structure_factors)))
        for c, sfs in enumerate(self.meta["pairs"]):
            allowed[c, sfs] = 1.0
        joint = p_ff[:, :, None] * p_sf[:, None, :] * allowed
        return joint / joint.sum(axis=(1, 2), keepdims=True)

    def predict(
        self, curves: Sequence[Curve], top_k: int = 3, also: Sequence[tuple[str, str | None]] = ()
    ) -> list[Prediction]:
        """Ranked candidates for each curve, in one batched pass. ``also``: (form factor,
        structure factor) pairs appended after the top ``top_k`` when not among them, with
        their own probability (a hypothesis of the user's, to be fitted alongside)."""
        if top_k < 1:
            raise ValueError(f"--top must be a positive number of candidates, got {top_k}")
        extra = [self._pair_index(model, sf) for model, sf in also]
        prepared, problems = [], {}
        for i, curve in enumerate(curves):
            try:
                prepared.append(self.prepare(curve))
            except ValueError as exc:
                problems[i] = str(exc)
                prepared.append(np.zeros((len(self.channels), len(self.grid)), np.float32))
        x = np.stack(prepared) if prepared else np.zeros((0, len(self.channels), len(self.grid)), np.float32)
        ff_logits, sf_logits = self.logits(x)
        p_ff, p_sf = self._calibrated(ff_logits, sf_logits)
        joint = self._joint(p_ff, p_sf)
        confidence = evaluation.top_k_confidence(p_ff, SHORTLIST)
        energy = evaluation.energy_score(ff_logits, self.meta["temperatures"]["form_factor"])
        distance = self.feature_distance(x)
        results = []
        for i, curve in enumerate(curves):
            if i in problems:
                results.append(Prediction(curve.source, curve.entry, (), True, problems[i],
                                          q_units_read=curve.meta.get("q_unit")))
                continue
            candidates = self._top_pairs(joint[i], top_k)
            shown = {(c.model, c.structure_factor) for c in candidates}
            for c, s in extra:
                pair = (self.class_names[c], None if s == 0 else self.structure_factors[s])
                if pair not in shown:
                    candidates += (Candidate(*pair, float(joint[i, c, s])),)
                    shown.add(pair)
            cov = preprocessing.coverage(curve.q, curve.intensity, self.grid)
            reasons = self._unsure_reasons(cov, float(confidence[i]), energy[i], distance[i])
            slit = is_slit_smeared(curve)
            if slit:
                reasons.insert(0, SLIT_REASON)
            plain = _feature_test(curve, slit)
            if plain.featureless:
                reasons.insert(0, featureless_reason(plain))
            results.append(
                Prediction(
                    curve.source,
                    curve.entry,
                    candidates,
                    bool(reasons),
                    "; ".join(reasons) or None,
                    (cov.q_min, cov.q_max),
                    slit_smeared=slit,
                    q_units_read=curve.meta.get("q_unit"),
                    featureless=plain.featureless,
                )
            )
        return results

    def _pair_index(self, model: str, structure_factor: str | None) -> tuple[int, int]:
        """(class, structure factor) indices of a pair; ValueError naming the valid ones."""
        if model not in self.class_names:
            raise ValueError(f"unknown model {model!r}; valid: {', '.join(self.class_names)}")
        sf = structure_factor or "none"
        if sf not in self.structure_factors:
            raise ValueError(f"unknown structure factor {structure_factor!r}; valid: "
                             f"{', '.join(self.structure_factors[1:])}")
        c, k = self.class_names.index(model), self.structure_factors.index(sf)
        if k not in self.meta["pairs"][c]:
            allowed = ", ".join(self.structure_factors[i] for i in self.meta["pairs"][c])
            raise ValueError(f"{model}@{sf} was never trained on; {model} takes: {allowed}")
        return c, k

    def _top_pairs(self, joint: np.ndarray, k: int) -> tuple[Candidate, ...]:
        flat = joint.ravel()
        order = np.argsort(-flat, kind="stable")[: min(k, flat.size)]
        n_sf = joint.shape[1]
        out = []
        for index in order:
            c, s = divmod(int(index), n_sf)
            sf = self.structure_factors[s]
            out.append(Candidate(self.class_names[c], None if s == 0 else sf, float(flat[index])))
        return tuple(out)

    def feature_distance(self, x: np.ndarray) -> np.ndarray:
        """The novelty score of prepared inputs ``x`` in the network's feature space
        (:meth:`sasnn.learn.novelty.FeatureDensity.score`), (N,); NaN for a checkpoint without
        a feature density."""
        if self.density is None:
            return np.full(len(x), np.nan)
        return self.density.score(features(self.model, x, layer=self.density.layer))

    def _unsure_reasons(
        self, cov: preprocessing.Coverage, shortlist: float, energy: float, distance: float
    ) -> list[str]:
        lo, hi = self.grid[0], self.grid[-1]
        min_cells = self.meta["train_config"]["crop_min_cells"]
        reasons = []
        window = (
            f"data cover q = {cov.q_min:.3g}–{cov.q_max:.3g} Å⁻¹ "
            f"but the model was trained on {lo:.3g}–{hi:.3g} Å⁻¹"
        )
        if cov.cells < min_cells:
            reasons.append(
                f"{window}: the overlap is {cov.cells} grid points, fewer than the {min_cells} it needs"
            )
        elif cov.fraction_inside < MIN_FRACTION_INSIDE:
            reasons.append(f"{window}: {100 * (1 - cov.fraction_inside):.0f} % of the points lie outside it")
        levels = self.meta["unsure"]
        level = levels.get("min_confidence", MIN_CONFIDENCE)
        if shortlist < level:
            why = (f", the level above which {100 * levels['unsure_top3']:g} % of validation predictions "
                   "are right" if "unsure_top3" in levels else "")
            reasons.append(
                f"low confidence: the classifier's top {SHORTLIST} models together have "
                f"p = {shortlist:.2f} < {level:.2f}{why}"
            )
        share = 100 * self.meta["train_config"]["unsure_rate"]
        if self.density is not None:
            name, value, threshold = "feature distance", distance, levels["feature_distance_threshold"]
        else:
            name, value, threshold = "energy score", energy, levels["energy_threshold"]
        if value > threshold:
            reasons.append(
                f"unlike the training data ({name} {value:.3g} > {threshold:.3g}, "
                f"a level only {share:g} % of validation curves reach)"
            )
        return reasons


__all__ = ["Candidate", "Prediction", "Predictor"]
