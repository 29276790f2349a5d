"""Generalisation benchmark (issue 19): the shipped model on a "wide" test set, whose
parameters are drawn independently of the training priors (sasnn.simulate.wide), and on a
"scaled" one, sasmodels' default particles scaled by random factors (sasnn.simulate.scaled,
independent of both the narrow and the wide priors), beside a narrow (training-prior)
control set scored by the same code.

    sasnn simulate --priors wide --out data/wide --per-class 20 --seed 19
    sasnn simulate --priors scaled --out data/scaled --per-class 20 --seed 19
    sasnn simulate --out data/narrow --per-class 20 --seed 19
    python bench/bench_generalisation.py --set wide=data/wide --set scaled=data/scaled \\
        --set narrow=data/narrow --out bench/runs/generalisation [--model RUN_DIR]

For each set: top-1/top-3 of the form-factor head (calibrated probabilities) for curves
with a feature and for featureless ones (sasnn.learn.featureless); for featureless
curves the share whose first candidate is a generic model or that are flagged unsure; by
how far beyond the training ranges a curve's parameters lie, and of what kind (a length,
or a ratio, count or other number) the farthest one is; whether one lies outside both the
narrow and the wide ranges of the current wide rule (sasnn.simulate.wide.untrained_parameters);
per class; the "sink" classes
the misses are called; and the risk-coverage curve (top-3 accuracy of the predictions
not flagged, against the share not flagged) for the shipped "unsure" flag, alone and
combined with a threshold on the top-3 probability.
Writes OUT/results.json and OUT/table.md. A folder without a manifest is simulated
first (--per-class, --seed; wide or scaled priors when its name in --set is "wide" or
"scaled", else narrow).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from sasnn.identify.loading import load_predictor
from sasnn.learn.featureless import GENERIC_MODELS
from sasnn.simulate.datasets import dataset_priors, iter_shards, read_dataset

THRESHOLDS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)  # on the top-3 form-factor probability
TARGET_TOP3 = 0.95  # issue 19: top-3 of unflagged predictions


def load_set(directory: Path, name: str, per_class: int, seed: int, workers: int, limit: int = 0):
    """The curves of a dataset folder, simulating it first if it has no manifest; with
    ``limit``, the first ``limit`` curves of each class only."""
    if not (directory / "manifest.json").is_file():
        from sasnn.simulate.catalog import CATALOG
        from sasnn.simulate.datasets import SimulationConfig, generate_dataset

        config = SimulationConfig(classes=tuple(CATALOG), per_class=per_class, seed=seed,
                                  priors=name if name in ("wide", "scaled") else "narrow")
        generate_dataset(directory, config, workers=workers)
    manifest = read_dataset(directory)
    curves, kept = [], Counter()
    for shard in iter_shards(directory):
        for i in range(len(shard)):
            if not limit or kept[shard.class_name] < limit:
                curves.append(shard.curve(i))
                kept[shard.class_name] += 1
    return manifest, curves


EXCESS_BINS = ((1.0, "inside training ranges"), (2.0, "beyond training by <= 2x"),
               (3.0, "beyond training by 2-3x"), (np.inf, "beyond training by > 3x"))


def _kind(model: str, parameter: str) -> str:
    """What a parameter is, from its sasmodels units: a length, or a ratio, count or other."""
    from sasnn.simulate.wide import kernel_names

    units = dict(kernel_names(model)).get(parameter)
    return "a length" if units is not None and units.units == "Ang" else "a ratio, count or other number"


def where(curve) -> tuple[str, ...]:
    """Where a curve's parameters lie: (inside / beyond the class's training ranges,
    mono- / polydisperse, how far beyond: the largest factor by which a positive
    parameter varied in training leaves its range, whether a parameter lies outside both the
    narrow and the wide training ranges (what no wide network has seen), and for curves
    beyond by more than 2x, what kind of parameter is farthest out)."""
    from sasnn.simulate.wide import training_ranges, untrained_parameters

    params = curve.meta["parameters"]["model"]
    ranges = training_ranges(curve.meta["model"])
    checked = [(k, params[k], lo, hi) for k, (lo, hi) in ranges.items()
               if k in params and isinstance(params[k], float) and lo < hi]
    beyond = any(not lo <= v <= hi for _, v, lo, hi in checked)
    factors = [(max(lo / v, v / hi), k) for k, v, lo, hi in checked if lo > 0 and v > 0]
    factor, farthest = max([(1.0, "")] + factors)
    excess = next(label for top, label in EXCESS_BINS if factor <= top)
    widths = [v for k, v in params.items() if k.endswith("_pd")]
    dispersity = "no size distribution" if not widths else (
        "monodisperse" if max(widths) < 0.02 else "polydisperse")
    untrained = untrained_parameters(curve.meta["model"], params)
    labels = ("a parameter beyond training" if beyond else "inside training ranges", dispersity,
              f"factor: {excess}", "a parameter outside the narrow and the wide ranges" if untrained
              else "every parameter in a narrow or wide range")
    if factor > 2:
        labels += (f"beyond by > 2x in {_kind(curve.meta['model'], farthest)}",)
    return labels


def score_set(predictor, curves) -> dict:
    """Every per-curve number the tables are made of (lists, JSON-able)."""
    names = predictor.class_names
    truth = np.array([names.index(c.meta["model"]) if c.meta["model"] in names else -1 for c in curves])
    predictions = predictor.predict(curves, top_k=3)
    x = []
    for curve in curves:
        try:
            x.append(predictor.prepare(curve))
        except ValueError:  # predict() flags these unsure with the reason
            x.append(np.zeros((len(predictor.channels), len(predictor.grid)), np.float32))
    p_ff, _ = predictor.probabilities(np.stack(x))
    order = np.argsort(-p_ff, axis=1, kind="stable")[:, :3]
    return {
        "truth": truth,
        "top": order,
        "confidence": np.take_along_axis(p_ff, order, axis=1).sum(axis=1),
        "unsure": np.array([p.unsure for p in predictions]),
        "first_pair_model": [p.candidates[0].model if p.candidates else None for p in predictions],
        "featureless": np.array([p.featureless for p in predictions], dtype=bool),  # the same rule
        "where": [where(c) for c in curves],
    }


def _acc(s: dict, mask: np.ndarray) -> dict:
    n = int(mask.sum())
    if n == 0:
        return {"n": 0, "top1": None, "top3": None}
    hit1 = s["top"][mask, 0] == s["truth"][mask]
    hit3 = np.any(s["top"][mask] == s["truth"][mask, None], axis=1)
    return {"n": n, "top1": float(hit1.mean()), "top3": float(hit3.mean())}


def summarise(s: dict, names: list[str]) -> dict:
    truth, top, flat = s["truth"], s["top"], s["featureless"]
    every = np.ones(len(truth), bool)
    hit3 = np.any(top == truth[:, None], axis=1)
    generic = np.array([m in GENERIC_MODELS for m in s["first_pair_model"]])
    result = {
        "all": _acc(s, every),
        "featured": _acc(s, ~flat),
        "featureless": _acc(s, flat) | {
            "generic_first": float(generic[flat].mean()) if flat.any() else None,
            "unsure": float(s["unsure"][flat].mean()) if flat.any() else None,
            "generic_first_or_unsure": float((generic | s["unsure"])[flat].mean()) if flat.any() else None,
        },
    }
    result["breakdown"] = {}
    for axis in range(5):  # the fifth label only where a curve is beyond by > 2x
        labels = np.array([w[axis] if len(w) > axis else "" for w in s["where"]])
        for label in sorted(set(labels) - {""}):
            result["breakdown"][label] = _acc(s, (labels == label) & ~flat)
    result["per_class"] = {}
    for c, name in enumerate(names):
        mask = truth == c
        if mask.any():
            result["per_class"][name] = {**_acc(s, mask), "featureless_share": float(flat[mask].mean()),
                                         "featured": _acc(s, mask & ~flat)}
    for label, mask in (("sinks", every), ("sinks_featured", ~flat)):
        missed = mask & (top[:, 0] != truth)
        counts = Counter(names[i] for i in top[missed, 0])
        result[label] = [{"predicted": k, "count": v, "share_of_misses": v / max(missed.sum(), 1)}
                         for k, v in counts.most_common(12)]
    result["risk_coverage"] = _risk_coverage(hit3, s["confidence"], s["unsure"])
    return result


def _risk_coverage(hit3: np.ndarray, confidence: np.ndarray, unsure: np.ndarray) -> dict:
    def point(keep: np.ndarray) -> dict:
        return {"coverage": float(keep.mean()), "top3": float(hit3[keep].mean()) if keep.any() else None}

    curve = {"unsure_flag": point(~unsure),
             "threshold_only": [{"threshold": t, **point(confidence >= t)} for t in THRESHOLDS],
             "unsure_or_threshold": [{"threshold": t, **point(~unsure & (confidence >= t))}
                                     for t in THRESHOLDS]}
    # the largest share one can leave unflagged (most confident first) at TARGET_TOP3
    order = np.argsort(-confidence, kind="stable")
    running = np.cumsum(hit3[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(running >= TARGET_TOP3)
    curve["coverage_at_target"] = {"target_top3": TARGET_TOP3,
                                   "coverage": float((ok[-1] + 1) / len(order)) if ok.size else 0.0}
    return curve


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def _breakdown_order(label: str) -> tuple:
    """Plain labels alphabetically, then the excess factors from inside to > 3x."""
    factors = [f"factor: {name}" for _, name in EXCESS_BINS]
    return (1, factors.index(label), "") if label in factors else (0, 0, label)


def _cell(a: dict | None) -> str:
    return "–" if not a or not a["n"] else f"{a['n']}, {_pct(a['top1'])}, {_pct(a['top3'])}"


def table(results: dict) -> str:
    sets = list(results)
    lines = ["| | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]

    def row(label, get):
        lines.append(f"| {label} | " + " | ".join(get(results[k]) for k in sets) + " |")

    row("curves (featured / featureless)",
        lambda r: f"{r['all']['n']} ({r['featured']['n']} / {r['featureless']['n']})")
    for part in ("all", "featured", "featureless"):
        row(f"{part}: top-1", lambda r, p=part: _pct(r[p]["top1"]))
        row(f"{part}: top-3", lambda r, p=part: _pct(r[p]["top3"]))
    row("featureless: generic model first", lambda r: _pct(r["featureless"]["generic_first"]))
    row("featureless: flagged unsure", lambda r: _pct(r["featureless"]["unsure"]))
    row("featureless: generic first or unsure", lambda r: _pct(r["featureless"]["generic_first_or_unsure"]))
    row("unsure flag: share unflagged", lambda r: _pct(r["risk_coverage"]["unsure_flag"]["coverage"]))
    row("unsure flag: top-3 of unflagged", lambda r: _pct(r["risk_coverage"]["unsure_flag"]["top3"]))
    row(f"share unflaggable at top-3 >= {TARGET_TOP3:.0%}",
        lambda r: _pct(r["risk_coverage"]["coverage_at_target"]["coverage"]))
    for label in sorted({k for r in results.values() for k in r["breakdown"]}, key=_breakdown_order):
        row(f"featured, {label}: n, top-1, top-3", lambda r, b=label: _cell(r["breakdown"].get(b)))
    out = ["\n".join(lines), ""]
    for name in sets:
        rc = results[name]["risk_coverage"]
        out += [f"Risk-coverage, {name} (flag = unsure, or top-3 probability below t):", "",
                "| t | unflagged (threshold only) | top-3 | unflagged (unsure or threshold) | top-3 |",
                "|---|---|---|---|---|"]
        for a, b in zip(rc["threshold_only"], rc["unsure_or_threshold"], strict=True):
            out.append(f"| {a['threshold']:g} | {_pct(a['coverage'])} | {_pct(a['top3'])} "
                       f"| {_pct(b['coverage'])} | {_pct(b['top3'])} |")
        out += ["", f"Sinks, {name} (the top-1 of the misses; featured curves only):", "",
                "| predicted | misses | share of misses |", "|---|---|---|"]
        out += [f"| {s['predicted']} | {s['count']} | {_pct(s['share_of_misses'])} |"
                for s in results[name]["sinks_featured"][:10]]
        out.append("")
    out += ["Per class (top-1 / top-3 of featured curves; share featureless):", "",
            "| class | " + " | ".join(f"{k} top-1 | {k} top-3 | {k} featureless" for k in sets) + " |",
            "|---|" + "---|---|---|" * len(sets)]
    classes = list(results[sets[0]]["per_class"])
    for c in classes:
        cells = []
        for k in sets:
            r = results[k]["per_class"].get(c)
            cells += ["–"] * 3 if r is None else [_pct(r["featured"]["top1"]), _pct(r["featured"]["top3"]),
                                                  _pct(r["featureless_share"])]
        out.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=DIR",
                        help="a test set (repeatable), e.g. wide=data/wide")
    parser.add_argument("--results", action="append", default=[], type=Path, metavar="JSON",
                        help="also tabulate the sets of an earlier run's results.json (repeatable); "
                        "without --set, only tabulate them, side by side (sets named 'set (folder)')")
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-class", type=int, default=20, help="when a set must be simulated")
    parser.add_argument("--seed", type=int, default=19, help="when a set must be simulated")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", action="append", default=[], metavar="NAME=N",
                        help="score only the first N curves of each class of set NAME (repeatable)")
    args = parser.parse_args(argv)
    if not args.set and not args.results:
        parser.error("give at least one --set NAME=DIR or --results JSON")
    limits = {}
    for item in args.limit:
        name, _, n = item.partition("=")
        if not n.isdigit():
            parser.error(f"--limit {item!r}: expected NAME=N")
        limits[name] = int(n)
    results, timings = {}, {}
    if not args.set:  # tabulate earlier runs side by side, of one model or several
        for path in args.results:
            earlier = json.loads(path.read_text())
            label = f" ({path.parent.name})" if len(args.results) > 1 else ""
            results.update({f"{k}{label}": v for k, v in earlier["sets"].items()})
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "table.md").write_text(table(results))
        print(table(results))
        return
    predictor = load_predictor(args.model)
    for path in args.results:
        earlier = json.loads(path.read_text())
        if earlier["model"] != str(predictor.path):
            parser.error(f"{path} scored {earlier['model']}, not {predictor.path}")
        results.update(earlier["sets"])
        timings.update(earlier["seconds"])
    for item in args.set:
        name, _, folder = item.partition("=")
        if not folder:
            parser.error(f"--set {item!r}: expected NAME=DIR")
        start = time.perf_counter()
        manifest, curves = load_set(Path(folder), name, args.per_class, args.seed, args.workers,
                                    limits.get(name, 0))
        s = score_set(predictor, curves)
        results[name] = {"folder": folder, "priors": dataset_priors(manifest), "seed": manifest["seed"],
                         **summarise(s, predictor.class_names)}
        timings[name] = time.perf_counter() - start
        print(f"{name}: {len(curves)} curves scored in {timings[name]:.0f} s", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(
        {"model": str(predictor.path), "sets": results, "seconds": timings}, indent=1) + "\n")
    markdown = table(results)
    (args.out / "table.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
