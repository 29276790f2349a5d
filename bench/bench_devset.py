"""The public dev set (DESIGN.md §8): is the expert's model in our top 3, and do fits agree?

    python bench/bench_devset.py [--model RUN_DIR] [--top 3] \\
        [--fit [--fit-top 5] [--workers 2] [--fit-time S]] [--with-expert] [--out results.json]

Runs the same path as `sasnn predict --joint [--fit]` on the real files that ship with
sasdata and prints a markdown table: the expert's model, our top 3 with calibrated
probabilities, whether the expert's model (exact) or its family is among them and,
with --fit, whether it is among the ``--fit-top`` candidates fitted and among the best
``--top`` after fitting (what `sasnn predict --fit` shows), and the first answer after
fitting (the reference models fitted too, ties broken by fewest parameters): its χ²_red,
the fitted size next to the documented one, the parameters the data leave undetermined,
whether the expert's model or family is first or tied-first (ΔBIC ≤ 2), and the note on a
size without a shape. The SANS and USANS entries of latex_smeared.xml are one sample and
are predicted and fitted jointly. ``--only NAME ...`` runs the files whose names contain
one of the NAMEs (fits are slow).

Families (what a scientist would accept as "the right kind of model"), written out
here so the score can be checked:
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sasnn.fit.determined import size_parameter
from sasnn.identify.api import fitted_shortlist, predict_groups
from sasnn.identify.confirm import FIT_SHORTLIST, confirm
from sasnn.identify.loading import load_predictor
from sasnn.io.read import example_data_path, load_curves
from sasnn.simulate.kernels import model_name

SPHERES = {"sphere", "core_shell_sphere", "core_multi_shell", "onion", "spherical_sld", "fuzzy_sphere",
           "vesicle", "multilayer_vesicle", "polymer_micelle", "adsorbed_layer", "raspberry"}
HOLLOW_SPHERES = {"vesicle", "multilayer_vesicle", "core_shell_sphere", "core_multi_shell", "onion",
                  "spherical_sld"}
GLOBULAR = SPHERES | {"ellipsoid", "core_shell_ellipsoid", "triaxial_ellipsoid"}
MICELLES = {"sphere", "ellipsoid", "core_shell_sphere", "core_shell_ellipsoid", "fuzzy_sphere",
            "triaxial_ellipsoid", "polymer_micelle"}
COILS = {"mono_gauss_coil", "poly_gauss_coil", "polymer_excl_volume", "rpa"}
PARACRYSTALS = {"sc_paracrystal", "bcc_paracrystal", "fcc_paracrystal"}


@dataclass(frozen=True)
class Sample:
    file: str
    expert: str  # as DESIGN.md §8 words it
    exact: frozenset  # (model, structure factor or None) pairs that match the expert exactly
    family: frozenset  # form factors of the same kind
    needs_sf: bool = False  # the family counts only with some structure factor
    size: tuple[str, float] | None = None  # documented fitted parameter, e.g. ("radius", 23.5)

    @property
    def expert_pair(self) -> tuple[str, str | None]:
        """One of the expert's pairs (alphabetically first), to fit with ``--with-expert``."""
        return min(self.exact, key=lambda pair: (pair[0], pair[1] or ""))


def pairs(models, sfs=(None,)) -> frozenset:
    return frozenset((m, s) for m in models for s in sfs)


AOT = dict(expert="core_shell_sphere, R ≈ 23.5 Å", exact=pairs(["core_shell_sphere"]),
           family=frozenset(SPHERES), size=("radius", 23.5))
SAMPLES = [
    Sample("AOT_Microemulsion-Core_Contrast.xml", **AOT),
    Sample("AOT_Microemulsion-Drop_Contrast.xml", **AOT),
    Sample("AOT_Microemulsion-Shell_Contrast.xml", **AOT),
    Sample("ISIS_Polymer_Blend_RT2.xml", "poly/mono_gauss_coil, Rg ≈ 57.5 Å",
           pairs(["poly_gauss_coil", "mono_gauss_coil"]), frozenset(COILS), size=("rg", 57.5)),
    Sample("hSDS_D2O_2p0_percent.xml", "ellipsoid@hayter_msa (sphere@hayter_msa)",
           pairs(["ellipsoid", "sphere"], ["hayter_msa"]), frozenset(MICELLES), needs_sf=True),
    Sample("Ludox_silica.xml", "sphere@hayter_msa", pairs(["sphere"], ["hayter_msa"]), frozenset(SPHERES),
           needs_sf=True),
    Sample("latex_smeared.xml", "sphere, R ≈ 2460 Å", pairs(["sphere"]), frozenset(SPHERES),
           size=("radius", 2460.0)),
    Sample("P123_D2O_30_percent.xml", "paracrystal (fcc/bcc)", pairs(PARACRYSTALS), frozenset(PARACRYSTALS)),
    Sample("P123_D2O_40_percent.xml", "paracrystal (fcc/bcc)", pairs(PARACRYSTALS), frozenset(PARACRYSTALS)),
    Sample("apoferritin.txt", "hollow sphere, some S(Q)",
           pairs(["vesicle", "core_shell_sphere"], [None, "hardsphere", "hayter_msa", "stickyhardsphere",
                                                    "squarewell"]),
           frozenset(HOLLOW_SPHERES)),
    Sample("conalbumin.txt", "globular (Rg ≈ 33 Å)", pairs(["sphere", "ellipsoid"]), frozenset(GLOBULAR)),
]
__doc__ += "\n".join(f"- {s.file}: {', '.join(sorted(s.family))}" + (" (with an S(Q))" if s.needs_sf else "")
                     for s in SAMPLES)


def _size(sample: Sample, fit) -> str:
    """``; radius 23.8 ± 0.4 (+1 %)`` when the fit has the documented size parameter."""
    if not sample.size or sample.size[0] not in fit.parameters:
        return ""
    value, error = fit.parameters[sample.size[0]]
    return f"; {sample.size[0]} {value:.4g} ± {error:.2g} ({100 * (value / sample.size[1] - 1):+.0f} %)"


def grade(sample: Sample, candidates) -> str:
    """'exact', 'family' or 'miss' for a top-k list."""
    found = [(c.model, c.structure_factor) for c in candidates]
    if any(pair in sample.exact for pair in found):
        return "exact"
    if any(m in sample.family and (s is not None or not sample.needs_sf) for m, s in found):
        return "family"
    return "miss"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="run or checkpoint folder (default: the shipped model)")
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--fit-top", type=int, default=FIT_SHORTLIST,
                        help="with --fit: how many of the classifier's candidates are fitted")
    parser.add_argument("--fit-time", type=float, default=None,
                        help="a wall-clock safety net per candidate, off by default (fits are "
                        "bounded by work)")
    parser.add_argument("--workers", type=int, default=1,
                        help="with --fit: processes fitting candidates at once (the fits are the same)")
    parser.add_argument("--out", type=Path, help="write every number as JSON here")
    parser.add_argument(
        "--with-expert", action="store_true",
        help="also fit the expert's own model where a size is documented (sasnn predict --also), "
        "to check the fitted size against the documented one",
    )
    parser.add_argument("--only", nargs="+", help="run only the files whose names contain one of these")
    args = parser.parse_args()

    predictor = load_predictor(args.model)
    rows, records = [], []
    samples = [s for s in SAMPLES if not args.only or any(name in s.file for name in args.only)]
    for sample in samples:
        path = example_data_path(sample.file)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # repairs are reported by `sasnn predict`, not here
            curves = load_curves(path)
        begin = time.perf_counter()
        also = [sample.expert_pair] if args.with_expert and sample.size else []
        shortlist = fitted_shortlist(args.top, args.fit_top) if args.fit else args.top
        ((prediction, _),) = predict_groups(predictor, [curves], top=shortlist, joint=True, also=also,
                                            references=args.fit)
        verdict = grade(sample, prediction.candidates[: args.top])
        fitted = len(prediction.candidates)
        in_shortlist = grade(sample, prediction.candidates[:shortlist])
        top = ", ".join(f"{model_name(c.model, c.structure_factor)} {c.probability:.2f}"
                        for c in prediction.candidates[:3])  # the classifier's order
        fit_cell, after, first_cell, parsimony = "", None, "", {}
        if args.fit:
            prediction = confirm(prediction, curves, time_limit=args.fit_time, keep=args.top, keep_pairs=also,
                                 workers=args.workers)
            # what `sasnn predict --fit` shows: the best --top of the classifier's shortlist
            # and the reference models (an --also pair added by --with-expert does not count)
            expert_pair = {sample.expert_pair} if also else set()
            shown = [f for f in prediction.fits
                     if np.isfinite(f.bic) and (f.model, f.structure_factor) not in expert_pair][: args.top]
            after = grade(sample, shown)
            best = prediction.fits[0]
            fit_cell = f"{best.name}: χ²ᵣ {best.chi2_red:.3g}"
            fit_cell += _size(sample, best)
            first = grade(sample, prediction.candidates[:1])
            tied = grade(sample, [c for c in prediction.candidates if model_name(c.model, c.structure_factor)
                                  in prediction.ties])
            size = sample.size[0] if sample.size and sample.size[0] in best.parameters else \
                size_parameter(best.model)
            size_ok = size is not None and size in best.parameters and size not in best.undetermined
            tied = tied if first == "miss" else first
            parsimony = {"first": best.name, "first_grade": first, "tied_grade": tied,
                         "first_undetermined": list(best.undetermined), "size": size,
                         "size_determined": size_ok, "notes": list(prediction.notes), "fitted": fitted}
            first_cell = (f" {best.name} (χ²ᵣ {best.chi2_red:.3g}{_size(sample, best)}) | {first} |"
                          f" {tied} |"
                          f" {', '.join(best.undetermined) or '—'} | {'yes' if size_ok else 'no'} |"
                          f" {'; '.join(prediction.notes) or '—'} |")
            expert = next((f for f in prediction.fits if (f.model, f.structure_factor) == sample.expert_pair
                           and f is not best), None)
            if also and expert is not None:
                fit_cell += (f" · expert's {expert.name}: χ²ᵣ {expert.chi2_red:.3g}, "
                             f"ΔBIC {expert.bic - best.bic:+.0f}{_size(sample, expert)}")
        seconds = time.perf_counter() - begin
        flag = " (unsure)" if prediction.unsure else ""
        rows.append(f"| {sample.file} | {sample.expert} | {top}{flag} | {verdict} |"
                    + (f" {in_shortlist} | {after} |{first_cell} {fitted} | {seconds:.0f} s |"
                       if args.fit else ""))
        records.append({"file": sample.file, "expert": sample.expert, "verdict": verdict,
                        "verdict_shortlist": in_shortlist, "verdict_after_fit": after, "seconds": seconds,
                        **parsimony, **prediction.to_dict()})
        print(rows[-1], flush=True)

    header = f"| file | expert model | our top 3 (p), before fitting | expert in top {args.top} |"
    header += (f" in the {shortlist} ranked | in the top {args.top} after fitting | first after fitting "
               "(χ²ᵣ; size) | expert first | expert first or tied-first | undetermined in the first "
               "| its size determined | note | fits | time |" if args.fit else "")
    print("\n" + header + "\n|" + "---|" * (header.count("|") - 1))
    print("\n".join(rows))
    hits = sum(r["verdict"] != "miss" for r in records)
    print(f"\nexpert model or family in the top {args.top}: {hits} of {len(records)} files")
    if args.fit:
        hits = sum(r["verdict_after_fit"] != "miss" for r in records)
        print(f"after fitting the top {shortlist} and the reference models, in the top {args.top}: "
              f"{hits} of {len(records)} files")
        tied = sum(r["tied_grade"] != "miss" for r in records)
        clean = sum(r["tied_grade"] != "miss" and r["size_determined"] for r in records)
        print(f"expert's model or family first or tied-first: {tied} of {len(records)} files, "
              f"{clean} of them with the first answer's size determined")
    if args.out:
        args.out.write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
