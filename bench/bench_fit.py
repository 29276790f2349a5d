"""Confirmation benchmark: fit the classifier's shortlist vs fit every catalogue pair (AutoSAS).

DESIGN.md §9: "top-5 fits take <= 10 % of the time needed to fit every catalogue
model", and they should pick the same model. For each dev-set curve (DESIGN.md §8;
every entry of a multi-entry file is its own curve) this script

* fits the classifier's candidates, read from ``--candidates`` (the JSON that
  ``sasnn predict FILE... --top N --json`` prints: N = 5 for DESIGN.md's top-5, N = 10
  for what ``sasnn predict --fit`` fits by default), or, without that file, a stand-in
  shortlist: the expert model plus 4 plausible confusers chosen by hand (STAND_IN);
* fits ALL pairs (``--fit-all``): every catalogue form factor alone (76) and every
  form factor that takes a structure factor with each of the 4 structure factors
  (26 x 4 = 104), 180 pairs;
* reports, per curve, the seconds of each, their ratio, whether the best-BIC pair
  of fit-all equals the best of the shortlist, and ΔBIC = BIC(best of shortlist) −
  BIC(best of all) (≤ 2: not worth more than a bare mention, Kass & Raftery 1995).

A pair's fit depends only on the seed and the pair (``sasnn.fit.candidates.candidate_rng``), so
the shortlist's fits are the same fits as those pairs' fits inside fit-all.

    python bench/bench_fit.py [--candidates topN.json] [--fit-all FILE ...|all] \\
        [--files FILE ...] [--time-limit S] [--seed 0] [--json OUT.json]

Tabulated classes (paracrystals, superball, pringle, tetrahedra) build their tables
on first use (minutes, cached on disk under ~/.cache/sasnn/tables); run once to warm
the cache before timing.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

from sasnn.fit.candidates import fit_candidates, rerank
from sasnn.io.read import DataRepairWarning, example_data_path, load_curves
from sasnn.simulate.catalog import CATALOG, STRUCTURE_FACTORS

DEV_SET = [
    "AOT_Microemulsion-Core_Contrast.xml", "AOT_Microemulsion-Drop_Contrast.xml",
    "AOT_Microemulsion-Shell_Contrast.xml", "ISIS_Polymer_Blend_RT2.xml",
    "hSDS_D2O_2p0_percent.xml", "Ludox_silica.xml", "latex_smeared.xml",
    "P123_D2O_30_percent.xml", "P123_D2O_40_percent.xml", "apoferritin.txt", "conalbumin.txt",
]
# AOT droplets at finite concentration show a correlation peak (a first fit-all run on
# the core contrast ranked P@S pairs first), so the stand-in carries S(Q) variants
_AOT = ["core_shell_sphere", "core_shell_sphere@hardsphere", "core_shell_sphere@hayter_msa",
        "sphere@hayter_msa", "vesicle"]
_P123 = ["fcc_paracrystal", "bcc_paracrystal", "sc_paracrystal", "sphere@hardsphere",
         "core_shell_sphere@hardsphere"]
STAND_IN = {  # expert model (DESIGN.md §8) first, then 4 hand-picked confusers
    "AOT_Microemulsion-Core_Contrast.xml": _AOT,
    "AOT_Microemulsion-Drop_Contrast.xml": _AOT,
    "AOT_Microemulsion-Shell_Contrast.xml": _AOT,
    "ISIS_Polymer_Blend_RT2.xml": ["poly_gauss_coil", "mono_gauss_coil", "polymer_excl_volume",
                                   "correlation_length", "guinier"],
    "hSDS_D2O_2p0_percent.xml": ["ellipsoid@hayter_msa", "sphere@hayter_msa",
                                 "core_shell_sphere@hayter_msa", "ellipsoid", "sphere@hardsphere"],
    "Ludox_silica.xml": ["sphere@hayter_msa", "sphere@hardsphere", "sphere",
                         "fuzzy_sphere@hayter_msa", "core_shell_sphere@hayter_msa"],
    "latex_smeared.xml": ["sphere", "core_shell_sphere", "fuzzy_sphere", "vesicle", "power_law"],
    "P123_D2O_30_percent.xml": _P123,
    "P123_D2O_40_percent.xml": _P123,
    "apoferritin.txt": ["vesicle", "core_shell_sphere", "vesicle@hayter_msa",
                        "core_shell_sphere@hayter_msa", "sphere"],
    "conalbumin.txt": ["ellipsoid", "sphere", "core_shell_sphere", "cylinder", "guinier"],
}


def pair(text: str) -> tuple[str, str | None]:
    model, _, sf = text.partition("@")
    return model, sf or None


def all_pairs() -> list[tuple[str, str | None]]:
    """Every catalogue form factor alone, then each P@S the catalogue allows."""
    pairs = [(name, None) for name in CATALOG]
    pairs += [(name, sf) for name, entry in CATALOG.items() if entry.structure_factor
              for sf in STRUCTURE_FACTORS]
    return pairs


def shortlists(path: Path | None) -> dict[tuple[str, str], list[tuple[str, str | None]]]:
    """(file name, entry) -> candidate pairs, from `sasnn predict --json` output."""
    if path is None:
        return {}
    out = {}
    for item in json.loads(path.read_text()):
        pairs = [(c["model"], c["structure_factor"]) for c in item["candidates"]]
        out[(Path(item["file"]).name, item.get("entry") or "")] = pairs
    return out


def timed(curve, pairs, args):
    start = time.perf_counter()
    results = fit_candidates(curve, pairs, seed=args.seed, time_limit=args.time_limit)
    return time.perf_counter() - start, rerank(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", nargs="+", default=DEV_SET)
    parser.add_argument("--candidates", type=Path, help="`sasnn predict --top N --json` output")
    parser.add_argument("--fit-all", nargs="*", default=[],
                        help="files (or 'all') on which to also fit every catalogue pair")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="safety net, s per candidate (default: none; fits are bounded by work)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write every fit's summary here")
    args = parser.parse_args()
    lists = shortlists(args.candidates)
    fit_all = set(args.files if args.fit_all == ["all"] else args.fit_all)
    rows, dump = [], []
    for name in args.files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataRepairWarning)
            curves = load_curves(example_data_path(name))
        for curve in curves:
            source = "predict" if (name, curve.entry) in lists else "stand-in"
            pairs = lists.get((name, curve.entry)) or [pair(p) for p in STAND_IN[name]]
            top_s, top = timed(curve, pairs, args)
            row = {"file": name, "entry": curve.entry, "shortlist": source,
                   "shortlist_s": top_s, "shortlist_best": top[0].name,
                   "per_fit_s": [round(r.seconds, 2) for r in top]}
            dump.append({**row, "shortlist_fits": [r.to_dict() for r in top]})
            if name in fit_all:
                all_s, everything = timed(curve, all_pairs(), args)
                row.update(all_s=all_s, all_best=everything[0].name, n_all=len(everything),
                           ratio=top_s / all_s, same=everything[0].name == top[0].name,
                           delta_bic=top[0].bic - everything[0].bic)
                dump[-1]["all"] = [r.to_dict() for r in everything]
            rows.append(row)
            print(f"# {name} [{curve.entry}] shortlist of {len(pairs)}: {top_s:.1f} s -> {top[0].name}"
                  + (f"; all {row['all_s']:.1f} s -> {row['all_best']}" if "all_s" in row
                     else ""), flush=True)
    print()
    print("| file | entry | shortlist | shortlist s | best of shortlist | fit-all s | best of all "
          "| ratio | same | ΔBIC |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        tail = (f"{r['all_s']:.1f} | {r['all_best']} | {r['ratio']:.4f} | "
                f"{'yes' if r['same'] else 'no'} | {r['delta_bic']:.1f}" if "all_s" in r
                else "- | - | - | - | -")
        print(f"| {r['file']} | {r['entry'][:24]} | {r['shortlist']} | {r['shortlist_s']:.1f} "
              f"| {r['shortlist_best']} | {tail} |")
    if args.json:
        args.json.write_text(json.dumps(dump, indent=1, default=str))


if __name__ == "__main__":
    main()
