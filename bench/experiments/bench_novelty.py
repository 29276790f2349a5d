"""Which feature-space novelty score best separates never-seen models from known ones?

    python bench/experiments/bench_novelty.py --run runs/unsure/run --train data/train --test data/test \
        [--second-run runs/unsure_b/run --calib data/calib]

RUN is a model trained without some classes (``bench/bench_unsure.py`` makes one);
the classes of the test set it does not know are the "left-out" curves. Every
score is fitted on the same seeded 60,000 training curves the product's density
uses (the run's training split), its threshold set where 5 % of the run's
validation curves are flagged, as ``sasnn.learn.training`` does. Reported per score:
AUROC (left-out vs in-catalogue test curves, sklearn), the share of left-out
and in-catalogue test curves flagged at that threshold, and the share of in-catalogue
curves a threshold flagging half the left-out ones would flag (what "most" costs).

Scores (higher = more novel):

- tied Mahalanobis: :class:`sasnn.learn.novelty.FeatureDensity` with ``relative=False`` (Lee et al. 2018),
  the product's test until 2026-12;
- relative Mahalanobis: the same minus the distance to one Gaussian over all
  training features (Ren et al. 2021), which discounts directions every class shares;
- kNN: cosine distance to the k-th nearest of the training features (Sun et al. 2022);
- energy: -T logsumexp(logits / T) of the form-factor head, the product's older test;
- relative Mahalanobis on wider features (pooled networks only; the product's test since
  2026-12): the mean and maximum over q of the last conv stage's maps next to the shared
  layer (``sasnn.learn.novelty.features(layer="pooled+shared")``): the dense layer mixes the maps
  down, and the detector gains from seeing them;
- the same with a threshold per nearest class (each class's own 95 % of validation);
- the same with several means per class (``--sub-means``, k-means within each class in the
  whitened space, one tied covariance about them): a class spans Q windows, noise levels,
  structure factors and sizes, so one mean per class may sit between its clouds.

With ``--second-run`` (another model without the same classes, trained on other curves)
the two form an ensemble like the shipped one, and three more scores are compared:

- disagreement: the mutual information between the prediction and the member,
  H(mean p) − mean H(p) (Lakshminarayanan et al. 2017; Depeweg et al. 2018): members
  trained apart agree on what they were taught and disagree elsewhere;
- entropy of the mean: H(mean p), which also counts classes sharing probability;
- Mahalanobis or disagreement: the first run's distance and the disagreement, each
  divided by its own threshold, flagged when either is above 1.

These are thresholded on ``--calib`` (a simulated set neither run trained on, its
known classes only), since the second run trained on the first run's validation curves.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from sasnn.learn.evaluation import softmax
from sasnn.learn.networks import load_checkpoint, logits_in_batches
from sasnn.learn.novelty import FeatureDensity, features
from sasnn.learn.preprocessing import BASE_CHANNELS
from sasnn.learn.training import DENSITY_CURVES, load_training_arrays, split


def knn_score(bank: np.ndarray, query: np.ndarray, k: int, batch: int = 2048) -> np.ndarray:
    """Cosine distance of each query row to its k-th nearest bank row."""
    bank = bank / np.linalg.norm(bank, axis=1, keepdims=True).clip(1e-12)
    out = []
    for start in range(0, len(query), batch):
        q = query[start : start + batch]
        q = q / np.linalg.norm(q, axis=1, keepdims=True).clip(1e-12)
        similarity = q @ bank.T
        out.append(1 - np.partition(similarity, -k, axis=1)[:, -k])
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="run folder of a leave-out model")
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--k", default="1,10,50")
    parser.add_argument("--second-run", type=Path, help="another run without the same classes")
    parser.add_argument("--calib", type=Path, help="in-distribution curves neither run trained on")
    parser.add_argument("--sub-means", default="4,16",
                        help="also score with this many k-means centres per class (comma-separated)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if (args.second_run is None) != (args.calib is None):
        parser.error("--second-run and --calib go together")

    model, meta = load_checkpoint(args.run / "model")
    known = meta["class_names"]
    grid = np.asarray(meta["grid"])
    config = meta["train_config"]
    channels = meta["preprocessing"].get("channels", BASE_CHANNELS)
    data = load_training_arrays(args.train, grid, channels=channels)
    left_out = [c for c in data.class_names if c not in known]
    train, val = split(data.without_classes(left_out), config["val_fraction"], config["seed"])
    rng = np.random.default_rng([config["seed"], 2])  # the subset sasnn.learn.training fits its density on
    subset = np.sort(rng.choice(len(train), min(len(train), DENSITY_CURVES), replace=False))
    f_train, y_train = features(model, train.x[subset]), train.form_factor[subset]

    test = load_training_arrays(args.test, grid, channels=channels)
    unseen = np.isin(np.asarray(test.class_names)[test.form_factor], left_out)
    f_val, f_test = features(model, val.x), features(model, test.x)
    t_ff = meta["temperatures"]["form_factor"]

    tied = FeatureDensity.fit(f_train, y_train, len(known), relative=False)
    background = FeatureDensity.fit(f_train, np.zeros(len(f_train), int), 1, relative=False)

    def energy(x):  # prepared inputs, not features
        logits = logits_in_batches(model, x)[0] / t_ff
        top = logits.max(1)
        return -t_ff * (top + np.log(np.exp(logits - top[:, None]).sum(1)))

    scores = {
        "tied Mahalanobis (shipped before)": lambda f: tied.score(f),
        "relative Mahalanobis": lambda f: tied.score(f) - background.score(f),
    }
    for k in (int(s) for s in args.k.split(",")):
        scores[f"kNN cosine, k={k}"] = lambda f, k=k: knn_score(f_train, f, k)

    rows = {}
    for name, score in scores.items():
        s_val, s_test = score(f_val), score(f_test)
        rows[name] = _row(s_val, s_test, unseen)
    if getattr(model.config, "pooling", "") == "global":
        def wide(x):
            return features(model, x, layer="pooled+shared")

        w_train, w_val, w_test = wide(train.x[subset]), wide(val.x), wide(test.x)
        density = FeatureDensity.fit(w_train, y_train, len(known), layer="pooled+shared")
        rows["relative Mahalanobis, last stage pooled + shared layer (shipped)"] = _row(
            density.score(w_val), density.score(w_test), unseen)
        rows["the same, thresholded per nearest class (its own 95 % of validation)"] = _row(
            *per_class_scores(density, w_val, w_test), unseen)
        for k in (int(s) for s in args.sub_means.split(",") if s):
            sub = FeatureDensity.fit(w_train, sub_means(w_train, y_train, len(known), k, density.precision),
                                     len(known) * k, layer="pooled+shared")
            rows[f"the same, {k} means per class (k-means in the whitened space)"] = _row(
                sub.score(w_val), sub.score(w_test), unseen)
    rows["energy (older test)"] = _row(energy(val.x), energy(test.x), unseen)
    if args.second_run:
        rows.update(ensemble_rows(model, meta, tied, args.second_run, args.calib, test, unseen))

    print(f"left out: {', '.join(left_out)}; {unseen.sum()} left-out and {(~unseen).sum()} in-catalogue "
          f"test curves; scores fitted on {len(f_train)} training curves")
    print("| score | AUROC | left-out flagged | in-catalogue flagged | in-catalogue flagged where half "
          "the left-out are |")
    print("|---|---:|---:|---:|---:|")
    for name, r in rows.items():
        at_half = r.get("in_catalogue_flagged_at_half")
        print(f"| {name} | {r['auroc']:.3f} | {100 * r['left_out_flagged']:.1f} % | "
              f"{100 * r['in_catalogue_flagged']:.1f} % | "
              + ("" if at_half is None else f"{100 * at_half:.1f} %") + " |")
    if args.json:
        args.json.write_text(json.dumps({"left_out": left_out, "rows": rows}, indent=1))


def ensemble_rows(model, meta, tied, second_run: Path, calib_dir: Path, test, unseen) -> dict:
    """The two-member scores, thresholded on the known classes of ``calib_dir``."""
    second, second_meta = load_checkpoint(second_run / "model")
    if second_meta["class_names"] != meta["class_names"]:
        raise SystemExit(f"{second_run} was trained on other classes than the first run")
    calib = load_training_arrays(calib_dir, np.asarray(meta["grid"]),
                                 channels=meta["preprocessing"].get("channels", BASE_CHANNELS))
    known = np.isin(np.asarray(calib.class_names)[calib.form_factor], meta["class_names"])
    x_calib = calib.x[known]

    def member_probabilities(x):
        return [softmax(logits_in_batches(m, x)[0], mm["temperatures"]["form_factor"])
                for m, mm in ((model, meta), (second, second_meta))]

    def entropy(p):
        return -(p * np.log(np.clip(p, 1e-30, None))).sum(1)

    def disagreement(x):
        members = member_probabilities(x)
        return entropy(np.mean(members, 0)) - np.mean([entropy(p) for p in members], 0)

    def mean_entropy(x):
        return entropy(np.mean(member_probabilities(x), 0))

    rows = {}
    for name, score in (("ensemble disagreement (mutual information)", disagreement),
                        ("ensemble entropy of the mean", mean_entropy)):
        rows[name] = _row(score(x_calib), score(test.x), unseen)
    distance_calib, distance_test = tied.score(features(model, x_calib)), tied.score(features(model, test.x))
    d_cut = float(np.quantile(distance_calib, 0.95))
    mi_cut = rows["ensemble disagreement (mutual information)"]["threshold"]
    either = np.maximum(distance_test / d_cut, disagreement(test.x) / mi_cut)
    either_calib = np.maximum(distance_calib / d_cut, disagreement(x_calib) / mi_cut)
    rows["Mahalanobis or disagreement (each at its 5 %)"] = {
        "auroc": float(roc_auc_score(unseen, either)),
        "left_out_flagged": float((either[unseen] > 1).mean()),
        "in_catalogue_flagged": float((either[~unseen] > 1).mean()),
        "calib_flagged": float((either_calib > 1).mean()),
        "threshold": 1.0,
    }
    return rows


def per_class_scores(density: FeatureDensity, f_val: np.ndarray, f_test: np.ndarray):
    """The relative distance minus the 95 % level of the validation curves nearest the same
    class: classes that spread widely no longer spend the whole false-alarm budget."""
    from sasnn.learn.novelty import _squared_distances

    def nearest(f):
        return _squared_distances(f, np.where(np.isfinite(density.means), density.means, 1e30),
                                  density.precision).argmin(1)

    s_val, s_test = density.score(f_val), density.score(f_test)
    n_val, n_test = nearest(f_val), nearest(f_test)
    overall = np.quantile(s_val, 0.95)
    cut = np.array([np.quantile(s_val[n_val == c], 0.95) if (n_val == c).sum() >= 50 else overall
                    for c in range(len(density.means))])
    return s_val - cut[n_val], s_test - cut[n_test]


def sub_means(f: np.ndarray, labels: np.ndarray, n_classes: int, k: int, precision: np.ndarray) -> np.ndarray:
    """Labels ``class * k + cluster``: each class's features split into ``k`` k-means
    clusters (seeded), in the space whitened by the tied ``precision``. A class is no
    single blob: it spans Q windows, noise levels, structure factors and sizes."""
    from sklearn.cluster import KMeans

    whiten = np.linalg.cholesky(precision)  # ‖Lᵀ(f − m)‖² is the Mahalanobis distance
    out = np.zeros(len(labels), dtype=np.int64)
    for c in range(n_classes):
        rows = np.flatnonzero(labels == c)
        if len(rows) <= k:
            out[rows] = c * k + np.arange(len(rows))
            continue
        out[rows] = c * k + KMeans(k, n_init=2, random_state=0).fit_predict(f[rows] @ whiten)
    return out


def _row(s_val: np.ndarray, s_test: np.ndarray, unseen: np.ndarray) -> dict:
    threshold = float(np.quantile(s_val, 0.95))
    half = np.quantile(s_test[unseen], 0.5)  # the level that flags half of the never-seen curves
    return {
        "auroc": float(roc_auc_score(unseen, s_test)),
        "left_out_flagged": float((s_test[unseen] > threshold).mean()),
        "in_catalogue_flagged": float((s_test[~unseen] > threshold).mean()),
        "in_catalogue_flagged_at_half": float((s_test[~unseen] > half).mean()),
        "threshold": threshold,
    }


if __name__ == "__main__":
    main()
