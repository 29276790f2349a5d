"""The ``sasnn predict --report`` figure: one PNG per prediction (entry, or joint entries).

Left: the data with error bars and, after ``--fit``, each candidate's fitted curve
(its legend names the parameters the data do not determine), with the normalised
residuals of every fit below. Right: the classifier's probabilities of the candidates
and, after ``--fit``, their BIC weights. The title carries the prediction's doubts and
notes (a size without a shape).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sasnn.identify.predictor import Prediction
from sasnn.io.curve import Curve
from sasnn.plots.identify import _pyplot, _save
from sasnn.simulate.kernels import model_name


def plot_prediction(
    prediction: Prediction, curves: Sequence[Curve], path: Path, *, weights: Sequence[float] | None = None
) -> Path:
    """Write the report figure of one prediction of ``curves`` (its entries) to ``path``."""
    plt = _pyplot()
    fig = plt.figure(figsize=(11, 6.2))
    grid = fig.add_gridspec(2, 2, width_ratios=(1.7, 1), height_ratios=(3, 1.2), hspace=0.08, wspace=0.35)
    ax_data = fig.add_subplot(grid[0, 0])
    ax_res = fig.add_subplot(grid[1, 0], sharex=ax_data)
    ax_bars = fig.add_subplot(grid[:, 1])
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    for k, curve in enumerate(curves):
        keep = curve.intensity > 0  # log axes
        ax_data.errorbar(
            curve.q[keep], curve.intensity[keep], yerr=None if curve.sigma is None else curve.sigma[keep],
            fmt="o", ms=2.5, color="0.25" if k == 0 else "0.55", elinewidth=0.6, label=curve.entry or "data",
        )
    splits = np.cumsum([len(c.q) for c in curves])[:-1]  # a joint fit has the entries' points in turn
    for k, fit in enumerate(prediction.fits):
        if fit.intensity.size == 0:
            continue
        colour = colours[k % len(colours)]
        label = f"{fit.name}: χ²ᵣ {fit.chi2_red:.3g}"
        if fit.undetermined:
            label += textwrap.shorten(f"; undetermined: {', '.join(fit.undetermined)}", 60)
        for curve, fitted in zip(curves, np.split(fit.intensity, splits), strict=True):
            ax_data.plot(curve.q, fitted, color=colour, lw=1.3, label=label)
            if curve.sigma is not None:
                ax_res.plot(curve.q, (curve.intensity - fitted) / curve.sigma, ".", ms=2, color=colour)
            label = None
    ax_data.set_xscale("log")
    ax_data.set_yscale("log")
    ax_data.set_ylabel("I(q) (cm⁻¹)")
    ax_data.legend(fontsize=7, loc="lower left")
    ax_data.tick_params(labelbottom=False)
    ax_res.axhline(0, color="0.5", lw=0.8)
    ax_res.set_xlabel("q (Å⁻¹)")
    ax_res.set_ylabel("(I − fit)/σ")
    if not prediction.fits:
        ax_res.text(0.5, 0.5, "no fits: run with --fit", transform=ax_res.transAxes, ha="center", va="center")

    names = [model_name(c.model, c.structure_factor) for c in prediction.candidates]
    y = np.arange(len(names))
    height = 0.3 if weights is not None else 0.6
    shift = height / 2 if weights is not None else 0
    ax_bars.barh(y - shift, [c.probability for c in prediction.candidates], height=height, color=colours[0],
                 label="classifier p")
    if weights is not None:
        ax_bars.barh(y + height / 2, weights, height=height, color=colours[1], label="BIC weight × p")
        ax_bars.legend(fontsize=7, loc="lower right")
    # names above their bars, inside the panel: pair names are too long for tick labels,
    # which would run into the data panel on the left
    ax_bars.set_yticks([])
    for k, name in enumerate(names):
        ax_bars.text(0.005, k - 0.32, name, fontsize=8 if len(names) <= 5 else 6.5, va="bottom", ha="left")
    ax_bars.set_ylim(len(names) - 0.5, -0.6)  # inverted: first candidate on top, room for its name
    ax_bars.set_xlim(0, 1)
    ax_bars.set_xlabel("probability")
    ax_bars.set_title("candidates" + (" (by BIC; ΔBIC ≤ 2: fewest parameters first)" if prediction.fits
                                      else ""), fontsize=9)

    title = Path(prediction.file).name + (f" [{prediction.entry}]" if prediction.entry else "")
    if prediction.unsure:
        title += "\nUNSURE: " + textwrap.shorten(prediction.reason or "", 220)
    for note in prediction.notes:
        title += "\n" + textwrap.shorten(note, 220)
    fig.suptitle("\n".join(textwrap.fill(line, 120) for line in title.split("\n")), fontsize=9,
                 color="firebrick" if prediction.unsure else "black")
    return _save(fig, path)
