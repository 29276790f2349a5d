"""Draw docs/confusable_pairs.png: why the most-confused classes are confused.

For each of the most frequent confusions (true a, predicted b) on a test set, take the
a-curve the model gave to b most confidently and, among the test curves really of
class b, the one nearest to it in the network's input (log I on the model's grid,
scale removed). Both are drawn with the a-curve's error bars, b rescaled onto a: where
the two agree within the errors over the measured window, no classifier can tell them
apart from that curve.

    python docs/make_confusable.py --data /work/data/test [--model RUN_DIR] [--pairs 6]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("SAS_OPENCL", "none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="labelled test dataset folder")
    parser.add_argument("--model", help="run or checkpoint folder (default: the shipped model)")
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("confusable_pairs.png"))
    args = parser.parse_args()

    from sasnn.identify.loading import load_predictor
    from sasnn.learn import evaluation
    from sasnn.learn.training import load_training_arrays
    from sasnn.plots.identify import _pyplot, _save
    from sasnn.simulate.datasets import iter_shards

    predictor = load_predictor(args.model)
    names = predictor.class_names
    arrays = load_training_arrays(args.data, predictor.grid, class_names=names,
                                  structure_factors=predictor.structure_factors, channels=predictor.channels)
    curves = [shard.curve(i) for shard in iter_shards(args.data) for i in range(len(shard))]
    p_ff, _ = predictor.probabilities(arrays.x)
    predicted = p_ff.argmax(1)
    cm = evaluation.confusion_matrix(arrays.form_factor, predicted, len(names))
    pairs = evaluation.most_confused(cm, names, top=args.pairs)

    plt = _pyplot()
    columns = 3
    rows = -(-len(pairs) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    value, mask = arrays.x[:, 0], arrays.x[:, 1] > 0.5
    for ax, pair in zip(axes.flat, pairs, strict=False):
        a, b = names.index(pair["true"]), names.index(pair["predicted"])
        wrong = np.flatnonzero((arrays.form_factor == a) & (predicted == b))
        i = wrong[np.argmax(p_ff[wrong, b])]
        others = np.flatnonzero(arrays.form_factor == b)
        both = mask[others] & mask[i]
        # mean squared log10 difference over the cells both cover, after re-centring
        diff = np.where(both, value[others] - value[i], 0.0)
        shift = diff.sum(1) / np.maximum(both.sum(1), 1)
        rms = np.sqrt((np.where(both, diff - shift[:, None], 0.0) ** 2).sum(1) / np.maximum(both.sum(1), 1))
        rms[both.sum(1) < 0.5 * mask[i].sum()] = np.inf  # must cover most of a's window
        j = others[np.argmin(rms)]
        ca, cb = curves[i], curves[j]
        keep = ca.intensity > 0
        ax.errorbar(ca.q[keep], ca.intensity[keep], ca.sigma[keep], fmt=".", ms=2, elinewidth=0.5,
                    color="0.3", label=f"{names[a]} (true)")
        inside = (cb.q >= ca.q[keep].min()) & (cb.q <= ca.q[keep].max()) & (cb.intensity > 0)
        ratio = np.interp(np.log(cb.q[inside]), np.log(ca.q[keep]), np.log(ca.intensity[keep]))
        factor = np.exp(np.median(ratio - np.log(cb.intensity[inside]))) if inside.any() else 1.0
        ax.plot(cb.q, cb.intensity * factor, color="tab:red", lw=1.2, label=f"{names[b]} (nearest, rescaled)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{names[a]} → {names[b]}: {pair['count']} of {int(cm[a].sum())} "
                     f"(p = {p_ff[i, b]:.2f})", fontsize=8)
        ax.legend(fontsize=6, loc="lower left")
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(pairs):]:
        ax.set_visible(False)
    fig.suptitle(f"The most-confused classes on {len(arrays)} test curves: the misread curve and the "
                 "nearest curve of the class it was read as", fontsize=9)
    fig.tight_layout()
    _save(fig, args.out)
    print(f"wrote {args.out}")
    for pair in pairs:
        print(f"{pair['true']} → {pair['predicted']}: {pair['count']} ({100 * pair['share_of_true']:.0f} %)")


if __name__ == "__main__":
    main()
