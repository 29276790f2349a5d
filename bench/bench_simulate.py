"""Simulation cost: per-class time per curve, and overhead against a bare kernel loop.

For every class, one shard of ``--n`` curves is simulated in this process exactly as
``sasnn simulate`` does (parameter draw, instrument, resolution, noise, validity).
Then the *same* parameter sets are pushed through a bare sasmodels kernel loop on
the same q_calc grids (no resolution, no noise, no checks). The ratio of the two is
our overhead. Rejected draws are part of our cost and not of the bare loop, so the
ratio is an upper bound on pure bookkeeping overhead.

    python bench/bench_simulate.py --n 40 --seed 1 [--classes a,b] [--json out.json]

Prints a markdown table sorted by cost and the projection for 2,000 curves/class on
2 worker processes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict

os.environ.setdefault("SAS_OPENCL", "none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="curves per class")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--classes", default=None)
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args()

    from sasnn.simulate import instrument
    from sasnn.simulate.catalog import CATALOG
    from sasnn.simulate.config import ShardTask, SimulationConfig, structure_factor_names
    from sasnn.simulate.datasets import _kernel_pairs
    from sasnn.simulate.kernels import bare_kernel_loop, compile_kernels
    from sasnn.simulate.shard import simulate_shard

    classes = tuple(args.classes.split(",")) if args.classes else tuple(CATALOG)
    compile_kernels(_kernel_pairs(classes, structure_factor_names()[1:]))
    rows = []
    for name in classes:
        config = SimulationConfig(classes=(name,), per_class=args.n, seed=args.seed, shard_size=args.n)
        start = time.perf_counter()
        shard = simulate_shard(ShardTask(name, 0, args.n), config)
        ours = time.perf_counter() - start

        groups = defaultdict(list)  # same kernel grid -> parameter sets
        for i in range(len(shard)):
            record = json.loads(shard.parameters[i])
            sf = shard.structure_factor[i]
            key = (
                None if sf == "none" else str(sf),
                record["instrument"]["setup"],
                record["instrument"]["variant"],
            )
            groups[key].append(record["model"])
        start = time.perf_counter()
        for (sf, setup, variant), param_sets in groups.items():
            q_calc = instrument.resolution_for(setup, variant, config.instrument.grid_seed).q_calc
            bare_kernel_loop(name, sf, param_sets, q_calc)
        bare = time.perf_counter() - start
        rejected = sum(shard.rejected.values())
        rows.append(
            {
                "class": name,
                "ms_per_curve": 1e3 * ours / args.n,
                "bare_ms_per_curve": 1e3 * bare / args.n,
                "overhead": ours / bare,
                "rejected": rejected,
                "reject_rate": rejected / (rejected + args.n),
            }
        )

    rows.sort(key=lambda r: -r["ms_per_curve"])
    total_ours = sum(r["ms_per_curve"] for r in rows) * args.n / 1e3
    total_bare = sum(r["bare_ms_per_curve"] for r in rows) * args.n / 1e3
    print(f"| class | ms/curve (sasnn) | ms/curve (bare kernel loop) | ratio | rejected ({args.n} kept) |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['class']} | {r['ms_per_curve']:.2f} | {r['bare_ms_per_curve']:.2f} | "
            f"{r['overhead']:.2f} | {r['rejected']} |"
        )
    per_curve_ms = 1e3 * total_ours / (args.n * len(rows))
    projected = sum(r["ms_per_curve"] for r in rows) * 2000 / 1e3 / 2 / 60
    print(
        f"\n{len(rows)} classes; all curves: sasnn {total_ours:.1f} s, bare loop {total_bare:.1f} s, "
        f"overhead ratio {total_ours / total_bare:.3f}; mean {per_curve_ms:.2f} ms/curve; "
        f"projected 2,000/class on 2 workers: {projected:.1f} min"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
