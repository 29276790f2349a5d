"""Draw docs/simulated_gallery.png: three random simulated measurements from each of
a dozen classes, as `sasnn simulate` makes them, for a person to judge realism.

    python docs/make_gallery.py --seed 11
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("SAS_OPENCL", "none")

CLASSES = ("sphere", "core_shell_sphere", "vesicle", "cylinder", "core_shell_bicelle", "ellipsoid",
           "lamellar_stack_paracrystal", "fcc_paracrystal", "mass_fractal", "teubner_strey",
           "polymer_micelle", "broad_peak")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("simulated_gallery.png"))
    args = parser.parse_args()

    from sasnn.plots.curves import plot_class_gallery
    from sasnn.simulate.datasets import simulate_examples

    curves = {name: simulate_examples(name, 3, seed=args.seed) for name in CLASSES}
    plot_class_gallery(curves, args.out, title="Simulated measurements: 3 random draws per class "
                       "(offset by 2 decades each; error bars are the simulated σ)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
