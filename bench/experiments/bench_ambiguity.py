"""Which misread test curves could any method have read right? A ceiling for top-1.

    python bench/experiments/bench_ambiguity.py --data data/test [--model RUN_DIR] [--errors 200] \\
        [--controls 100] [--time-limit 20] [--draws 96] [--starts 4] [--workers 2] [--seed 0] \\
        [--classes a,b,c] [--json OUT.json] [--compare EARLIER.json]
    python bench/experiments/bench_ambiguity.py --summarize OUT.json    # the tables again, no fitting

The issue asks, when a top-1 target is out of reach, which model pairs are truly
indistinguishable in the Q window and noise. This script answers it curve by curve.

For a seeded sample of the test curves the model misreads, it fits the model the
network named (its top pair) to the curve, with the same sasmodels + bumps fit that
``sasnn predict --fit`` runs. It then compares that fit with the truth. The truth
side is the better of two χ² values:

* the χ² of the true model at its true parameters (rebuilt from the shard's stored
  draw: the smeared model × the measurement's scale + its background);
* the χ² of the true pair fitted the same way, which can land lower by fitting noise.

Both sides get the BIC penalty k ln n of their own fit, so

    ΔBIC = BIC(named model's best fit) − BIC(truth).

ΔBIC ≤ 2 means the data favour the truth by no more than a bare mention (Kass and
Raftery 1995), so no method that reads only this curve can tell the two apart. Above
10 the curve itself decides, and a better classifier could read it right.

A control sample of correctly read curves does the same with the network's best
other form factor. It shows how often a right answer also had an equally good rival.

The bound printed at the end counts the misreads with ΔBIC ≤ 2 as unavoidable. That
holds if a classifier that picked the truth on each of them would be guessing, not
reading the curve. It is an estimate, not a proof: a finite fit can miss the named
model's best parameters (which overstates ΔBIC), and the prior odds of the two models
could break some ties. Two more columns bound it from the other side:

* Δχ² (the likelihood ratio, no parameter penalty): a named model with one more
  parameter that reproduces the truth exactly (a catalogue twin, ``catalog.TWINS``)
  still pays ln n ≈ 5 in BIC, so ΔBIC alone calls some exact twins distinguishable;
* how often the *true* pair's own fit lands far above the truth's χ²: the fit's failure
  rate, which also inflates the named side.

The same seed picks the same curves, in the same order, so a rerun with fewer
``--errors`` and a longer ``--time-limit`` or more ``--draws``/``--starts`` refits
the first curves of the earlier sample; ``--compare EARLIER.json`` prints how their
ΔBIC moved.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from sasnn.fit.candidates import candidate_rng, fit_candidate
from sasnn.fit.start import resolution_for_curve
from sasnn.identify.loading import load_predictor
from sasnn.identify.predictor import Predictor
from sasnn.simulate.datasets import iter_shards
from sasnn.simulate.kernels import compile_kernels, model_intensity

THRESHOLDS = (2.0, 6.0, 10.0)  # Kass and Raftery: bare mention, positive, strong


def read_test_set(predictor: Predictor, data: Path, classes: frozenset[str] = frozenset()) -> list[dict]:
    """Every test curve (of ``classes``, if given) with its truth, the network's top pair and
    best rival form factor, and whether the prediction was flagged unsure."""
    rows = []
    for shard in iter_shards(data):
        if classes and shard.class_name not in classes:
            continue
        curves = [shard.curve(i) for i in range(len(shard))]
        for i, prediction in enumerate(predictor.predict(curves, top_k=12)):
            meta = curves[i].meta
            top = prediction.candidates[0]
            rival = next((c for c in prediction.candidates if c.model != meta["model"]), None)
            shortlist = []  # the best pair of each form factor, in rank order
            for c in prediction.candidates:
                if c.model not in [m for m, _ in shortlist]:
                    shortlist.append((c.model, c.structure_factor))
            rows.append({"shortlist": shortlist, "featureless": prediction.featureless,
                         "shard": shard.class_name, "index": shard.index, "i": i,
                         "true": (meta["model"], meta["structure_factor"]),
                         "named": (top.model, top.structure_factor),
                         "rival": None if rival is None else (rival.model, rival.structure_factor),
                         "correct": top.model == meta["model"], "unsure": prediction.unsure})
    return rows


def truth_chi2(curve) -> float:
    """χ² of the noiseless curve that the simulator drew, against the noisy one."""
    record = curve.meta["parameters"]
    smeared = model_intensity(curve.meta["model"], curve.meta["structure_factor"], record["model"],
                              resolution_for_curve(curve))
    truth = smeared * record["instrument"]["scale"] + record["instrument"]["background"]
    return float(np.sum(((truth - curve.intensity) / curve.sigma) ** 2))


def judge(job: dict) -> dict:
    """Fit the truth and the other pair to one curve; ΔBIC of the other against the truth."""
    from sasnn.simulate.shards import load_shard

    shard = load_shard(Path(job["path"]))
    curve = shard.curve(job["i"])
    out = {"true": job["true"], "other": job["other"], "setup": curve.meta["setup"],
           "path": job["path"], "i": job["i"], "unsure": job["unsure"],
           "noise": float(shard.noise[job["i"]]), "n": len(curve.q)}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fits = {side: fit_candidate(curve, *job[side], rng=candidate_rng(job["seed"], *job[side]),
                                    time_limit=job["time_limit"], n_draws=job["draws"],
                                    n_starts=job["starts"])
                for side in ("true", "other")}
        at_truth = truth_chi2(curve)
    n = len(curve.q)
    true_fit, other_fit = fits["true"], fits["other"]
    truth_chi = min(at_truth, true_fit.chi2)
    k_true = true_fit.n_free if math.isfinite(true_fit.chi2) else 0
    out.update(chi2_truth=at_truth, chi2_true_fit=true_fit.chi2, chi2_other_fit=other_fit.chi2,
               k_true=k_true, k_other=other_fit.n_free,
               seconds=true_fit.seconds + other_fit.seconds,
               delta_bic=other_fit.bic - (truth_chi + k_true * math.log(n)),
               delta_chi2=other_fit.chi2 - truth_chi)
    return out


def judge_shortlist(job: dict) -> dict:
    """Fit the truth once and each form factor the network listed (``--top K``) to one curve
    it missed; ΔBIC of each listed model against the truth."""
    from sasnn.simulate.shards import load_shard

    shard = load_shard(Path(job["path"]))
    curve = shard.curve(job["i"])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fits = [fit_candidate(curve, *pair, rng=candidate_rng(job["seed"], *pair),
                              time_limit=job["time_limit"], n_draws=job["draws"], n_starts=job["starts"])
                for pair in [job["true"], *job["listed"]]]
        at_truth = truth_chi2(curve)
    n = len(curve.q)
    true_fit, listed = fits[0], fits[1:]
    k_true = true_fit.n_free if math.isfinite(true_fit.chi2) else 0
    truth_bic = min(at_truth, true_fit.chi2) + k_true * math.log(n)
    return {"true": job["true"], "listed": job["listed"], "path": job["path"], "i": job["i"],
            "setup": curve.meta["setup"], "unsure": job["unsure"], "n": n,
            "chi2_truth": at_truth, "chi2_true_fit": true_fit.chi2,
            "delta_bic": [f.bic - truth_bic for f in listed],
            "seconds": sum(f.seconds for f in fits)}


def report_shortlist(results: list[dict], top_k: int, hit: float) -> dict:
    """How many of the listed models fit each missed curve as well as the truth.

    When every listed model does (ΔBIC ≤ 2), at least K + 1 models explain the curve
    equally well, and a reader that lists K of them can include the truth only by the
    prior odds: such a miss is counted as unavoidable, as the top-1 ceiling counts ties."""
    deltas = np.array([r["delta_bic"] for r in results])  # (curves, K)
    failed = np.array([fit_failed(r) for r in results])
    tied = (deltas <= 2).sum(axis=1)
    all_tied = tied == top_k
    summary = {"top_k": top_k, "hit": hit, "n": len(results),
               "all_listed_tied": float(all_tied.mean()),
               "all_listed_tied_true_fit_ok": (float(all_tied[~failed].mean()) if (~failed).any()
                                               else math.nan),
               "some_listed_worse_by_10": float((deltas > 10).any(axis=1).mean()),
               "true_fit_failed": float(failed.mean())}
    summary["ceiling"] = 1 - summary["all_listed_tied"] * (1 - hit)
    summary["ceiling_true_fit_ok"] = 1 - summary["all_listed_tied_true_fit_ok"] * (1 - hit)
    print(f"| top-{top_k} misses fitted | listed models with ΔBIC ≤ 2 (curves) |\n|---|---|")
    counts = ", ".join(f"{k}: {int(np.sum(tied == k))}" for k in range(top_k + 1))
    print(f"| {len(results)} | {counts} |")
    print(f"all {top_k} listed models fit as well as the truth: {100 * summary['all_listed_tied']:.1f} % "
          f"({100 * summary['all_listed_tied_true_fit_ok']:.1f} % where the true pair's fit did not fail, "
          f"{100 * summary['true_fit_failed']:.1f} % failed); at least one listed model is worse "
          f"by ΔBIC > 10: {100 * summary['some_listed_worse_by_10']:.1f} %")
    print(f"top-{top_k} {100 * hit:.1f} %; counting all-tied misses as unavoidable, the ceiling is "
          f"≈ {100 * summary['ceiling']:.1f} % (≈ {100 * summary['ceiling_true_fit_ok']:.1f} % with the "
          "share of ties where the true pair's fit did not fail)")
    return summary


def fit_failed(r: dict) -> bool:
    """The true pair's own fit ended far above the χ² of its true parameters."""
    return r["chi2_true_fit"] > 1.5 * r["chi2_truth"] + 10


def shares(results: list[dict]) -> dict:
    if not results:
        return {"n": 0}
    deltas = np.array([r["delta_bic"] for r in results])
    chi2 = np.array([r["delta_chi2"] for r in results])
    failed = np.array([fit_failed(r) for r in results])
    return ({f"<= {t:g}": float(np.mean(deltas <= t)) for t in THRESHOLDS}
            | {"chi2 <= 2": float(np.mean(chi2 <= 2)), "true fit failed": float(np.mean(failed)),
               "<= 2, true fit ok": float(np.mean(deltas[~failed] <= 2)) if (~failed).any() else math.nan,
               "n": len(results)})


def compare(earlier: Path, results: list[dict]) -> None:
    """ΔBIC of the same curves in an earlier run (shorter fits) and in this one."""
    before = {(r["path"], r["i"], tuple(r["other"])): r for r in json.loads(earlier.read_text())["curves"]
              if "path" in r}
    pairs = [(before[k], r) for r in results if (k := (r["path"], r["i"], tuple(r["other"]))) in before]
    if not pairs:
        print(f"{earlier}: no curve in common with this run")
        return
    print(f"\n| the same {len(pairs)} curves | ΔBIC ≤ 2 | ≤ 10 | Δχ² ≤ 2 | true fit failed |\n"
          "|---|---:|---:|---:|---:|")
    for name, side in (("earlier run", 0), ("this run", 1)):
        s = shares([p[side] for p in pairs])
        print(f"| {name} | {100 * s['<= 2']:.1f} % | {100 * s['<= 10']:.1f} % | "
              f"{100 * s['chi2 <= 2']:.1f} % | {100 * s['true fit failed']:.1f} % |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="simulated test set folder (needed unless --summarize)")
    parser.add_argument("--model", default=None, help="run folder or model folder (default: shipped)")
    parser.add_argument("--errors", type=int, default=200, help="misread curves to fit")
    parser.add_argument("--controls", type=int, default=100, help="correctly read curves to fit")
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per fit")
    parser.add_argument("--draws", type=int, default=96, help="prior draws simulated per fit")
    parser.add_argument("--starts", type=int, default=4, help="best draws each fit starts from")
    parser.add_argument("--compare", type=Path, default=None, help="an earlier run's --json")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--classes", default="",
                        help="comma-separated true classes to sample from (the left-out classes "
                             "of a model trained without them: every curve of theirs is misread)")
    parser.add_argument("--seed", type=int, default=0, help="picks the sample and seeds the fits")
    parser.add_argument("--top", type=int, default=1,
                        help="K > 1: sample featured curves whose true form factor is not in the "
                             "network's top K and fit the truth and each of the K (a top-K ceiling)")
    parser.add_argument("--json", type=Path, default=None, help="write every fitted curve here")
    parser.add_argument("--summarize", type=Path, default=None,
                        help="print the tables of an earlier run's --json, fitting nothing")
    args = parser.parse_args()
    if args.summarize:
        earlier = json.loads(args.summarize.read_text())
        report(earlier["curves"], earlier["summary"]["top1"])
        return
    if args.data is None:
        parser.error("--data is required (or --summarize an earlier run)")

    predictor = load_predictor(args.model)
    begin = time.perf_counter()
    classes = frozenset(filter(None, args.classes.split(",")))
    rows = read_test_set(predictor, args.data, classes)
    if not rows:
        parser.error(f"no test curves of {sorted(classes)} in {args.data}")
    correct = np.array([r["correct"] for r in rows])
    print(f"{len(rows):,} test curves, top-1 {100 * correct.mean():.1f} % "
          f"({time.perf_counter() - begin:.0f} s to predict)")
    rng = np.random.default_rng(args.seed)
    if args.top > 1:
        shortlist_ceiling(args, rows, rng)
        return
    wrong_ids = rng.permutation(np.flatnonzero(~correct))[: args.errors]
    right_ids = [i for i in rng.permutation(np.flatnonzero(correct)) if rows[i]["rival"]][: args.controls]

    def job(i: int, other: str) -> dict:
        r = rows[i]
        path = args.data / "shards" / f"{r['shard']}-{r['index']:04d}.npz"
        return {"path": str(path), "i": r["i"], "true": r["true"], "other": r[other],
                "seed": args.seed, "time_limit": args.time_limit, "draws": args.draws,
                "starts": args.starts, "kind": other, "unsure": r["unsure"]}

    jobs = [job(i, "named") for i in wrong_ids] + [job(i, "rival") for i in right_ids]
    # compile every kernel here once: concurrent first compiles in workers race
    compile_kernels(sorted({tuple(j[s]) for j in jobs for s in ("true", "other")}, key=str))
    begin = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(judge, jobs, chunksize=1))
    for j, r in zip(jobs, results, strict=True):
        r["kind"] = j["kind"]
    summary = report(results, float(correct.mean()))
    summary |= {"fit_seconds": time.perf_counter() - begin, "workers": args.workers}
    print(f"fitted {len(results)} curves in {summary['fit_seconds']:.0f} s on {args.workers} workers")
    if args.compare:
        compare(args.compare, [r for r in results if r["kind"] == "named"])
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "curves": results}, indent=1) + "\n")


def shortlist_ceiling(args, rows: list[dict], rng: np.random.Generator) -> None:
    featured = [r for r in rows if not r["featureless"]]
    hit = np.array([r["true"][0] in [m for m, _ in r["shortlist"][: args.top]] for r in featured])
    print(f"{len(featured):,} featured curves, top-{args.top} {100 * hit.mean():.1f} %")
    jobs = []
    for i in rng.permutation(np.flatnonzero(~hit))[: args.errors]:
        r = featured[i]
        jobs.append({"path": str(args.data / "shards" / f"{r['shard']}-{r['index']:04d}.npz"), "i": r["i"],
                     "true": r["true"], "listed": r["shortlist"][: args.top], "seed": args.seed,
                     "time_limit": args.time_limit, "draws": args.draws, "starts": args.starts,
                     "unsure": r["unsure"]})
    compile_kernels(sorted({tuple(p) for j in jobs for p in [j["true"], *j["listed"]]}, key=str))
    begin = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(judge_shortlist, jobs, chunksize=1))
    summary = report_shortlist(results, args.top, float(hit.mean()))
    summary |= {"fit_seconds": time.perf_counter() - begin, "workers": args.workers}
    print(f"fitted {len(results)} curves in {summary['fit_seconds']:.0f} s on {args.workers} workers")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "curves": results}, indent=1) + "\n")


def report(results: list[dict], top1: float) -> dict:
    """Print the tables of one run's fitted curves; return its summary."""
    for r in results:  # runs written before Δχ² was stored
        r.setdefault("delta_chi2", r["chi2_other_fit"] - min(r["chi2_truth"], r["chi2_true_fit"]))
    errors = [r for r in results if r["kind"] == "named"]
    controls = [r for r in results if r["kind"] == "rival"]
    summary = {"top1": top1, "errors": shares(errors), "controls": shares(controls)}
    summary["top1_ceiling"] = 1 - summary["errors"]["<= 2"] * (1 - top1)
    summary["top1_ceiling_chi2"] = 1 - summary["errors"]["chi2 <= 2"] * (1 - top1)
    print("| curves | n | ΔBIC ≤ 2 (data can't tell) | ≤ 6 | ≤ 10 | Δχ² ≤ 2 | true pair's fit failed "
          "| ΔBIC ≤ 2 where it did not |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    groups = [("misread: named model vs truth", errors), ("read right: best rival vs truth", controls)]
    groups += [(f"misread, {setup}", [r for r in errors if r["setup"] == setup])
               for setup in sorted({r["setup"] for r in errors})]
    for name, part in groups:
        s = shares(part)
        if s["n"]:
            print(f"| {name} | {s['n']} | {100 * s['<= 2']:.1f} % | {100 * s['<= 6']:.1f} % "
                  f"| {100 * s['<= 10']:.1f} % | {100 * s['chi2 <= 2']:.1f} % "
                  f"| {100 * s['true fit failed']:.1f} % | {100 * s['<= 2, true fit ok']:.1f} % |")
    print(f"top-1 {100 * top1:.1f} %; counting misreads with ΔBIC ≤ 2 as unavoidable, "
          f"the ceiling is ≈ {100 * summary['top1_ceiling']:.1f} % (with Δχ² ≤ 2: "
          f"{100 * summary['top1_ceiling_chi2']:.1f} %)")
    if any("unsure" in r for r in errors):  # runs written before it was stored have none
        unsure_by_delta(errors)
    else:  # in-catalogue curves: how often the fitter fails the true pair (a χ² test's false alarms)
        goodness_of_fit(errors + controls, sides=FIT_SIDES[1:])
    pairs: dict[str, list[float]] = {}
    for r in errors:
        key = f"{'@'.join(filter(None, r['true']))} → {'@'.join(filter(None, r['other']))}"
        pairs.setdefault(key, []).append(r["delta_bic"])
    common = sorted(pairs.items(), key=lambda kv: -len(kv[1]))[:12]
    print("\n| misread as (most frequent in the sample) | n | ΔBIC ≤ 2 |\n|---|---:|---:|")
    for key, deltas in common:
        print(f"| {key} | {len(deltas)} | {sum(d <= 2 for d in deltas)} |")
    return summary


def unsure_by_delta(errors: list[dict]) -> None:
    """How often "unsure" fired on misread curves, by how well the named model fits them.

    For never-seen classes it separates what no detector could flag from the curve alone
    (a catalogue model reproduces it: ΔBIC ≤ 2) from what it should (ΔBIC > 10)."""
    bins = [("ΔBIC ≤ 2: the named model reproduces the curve", lambda d: d <= 2),
            ("2 < ΔBIC ≤ 10", lambda d: 2 < d <= 10),
            ("ΔBIC > 10: the named model does not", lambda d: d > 10)]
    print("\n| misread curves | n | flagged unsure |\n|---|---:|---:|")
    for name, within in [("all", lambda d: True), *bins]:
        part = [r for r in errors if "unsure" in r and within(r["delta_bic"])]
        if part:
            share = 100 * np.mean([r["unsure"] for r in part])
            print(f"| {name} | {len(part)} | {share:.1f} % |")
    goodness_of_fit(errors)


def reduced_chi2(r: dict, side: str) -> float:
    """χ²/(n − k) of one side's fit ("other": the named pair; "true": the true pair)."""
    k = r["k_other"] if side == "other" else max(r["k_true"], 1)
    return r[f"chi2_{side}_fit"] / max(r["n"] - k, 1)


FIT_SIDES = (("the named pair's fit", "other"), ("the true pair's own fit", "true"))


def goodness_of_fit(results: list[dict], sides=FIT_SIDES, limits=(1.5, 3.0, 30.0)) -> None:
    """Would a χ² test of the fit catch what the classifier cannot name?

    The named pair's χ²_red against the true pair's own fit on the same curves: the
    second is what a right answer gives with this fitter (above 1 only where the fit
    fails), so it is the false-alarm side of such a test."""
    print("\n| fit | n | " + " | ".join(f"χ²ᵣ > {t:g}" for t in limits) + " | with unsure, χ²ᵣ > 3 |\n"
          "|---|---:|" + "---:|" * (len(limits) + 1))
    for name, side in sides:
        chi2 = np.array([reduced_chi2(r, side) for r in results])
        unsure = np.array([r.get("unsure", False) for r in results])
        shares = " | ".join(f"{100 * np.mean(chi2 > t):.1f} %" for t in limits)
        either = f"{100 * np.mean(unsure | (chi2 > 3)):.1f} %" if side == "other" else "–"
        print(f"| {name} | {len(chi2)} | {shares} | {either} |")


if __name__ == "__main__":
    os.environ.setdefault("SAS_OPENCL", "none")
    main()
