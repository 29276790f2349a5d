"""The p(r) figure: data with the back-calculated fit, normalised residuals, and p(r)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sasnn.pr.inversion import PrResult


def plot_pr(result: PrResult, path: str | Path, *, title: str = "") -> Path:
    """Write a three-panel PNG of one inversion.

    Left, top: I(q) with error bars (log axes; non-positive points cannot be drawn)
    and the back-calculated, smeared fit.  Left, bottom: residuals (I − fit)/σ.
    Right: p(r) with its ±1σ band.  The title gives Rg, I(0), Dmax and the Guinier Rg.

    Parameters
    ----------
    result : PrResult
        q in Å⁻¹, I in cm⁻¹, r in Å.
    path : str or Path
        PNG file to write.
    title : str
        First title line (e.g. the file name).

    Returns
    -------
    Path
        The file written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig = plt.figure(figsize=(10, 4.5))
    grid = fig.add_gridspec(2, 2, height_ratios=(3, 1), hspace=0.05, wspace=0.25)
    ax_i, ax_p = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[:, 1])
    ax_res = fig.add_subplot(grid[1, 0], sharex=ax_i)

    q, intensity, sigma = result.q, result.intensity, result.sigma
    shown = intensity > 0
    ax_i.errorbar(q[shown], intensity[shown], sigma[shown], fmt=".", ms=2, elinewidth=0.5,
                  color="0.4", label="data")
    ax_i.plot(q, result.fit, color="C3", lw=1.2, label="p(r) fit" + (" (smeared)" * result.smeared))
    ax_i.set(xscale="log", yscale="log", ylabel="I(q) (cm⁻¹)")
    ax_i.tick_params(labelbottom=False)
    ax_i.legend(fontsize=8)

    ax_res.plot(q, (intensity - result.fit) / sigma, ".", ms=2, color="0.3")
    ax_res.axhline(0.0, color="C3", lw=0.8)
    ax_res.set(xscale="log", xlabel="q (Å⁻¹)", ylabel="(I − fit)/σ")
    ax_res.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())

    ax_p.fill_between(result.r, result.p - result.p_sigma, result.p + result.p_sigma,
                      color="C0", alpha=0.3, lw=0, label="±1σ")
    ax_p.plot(result.r, result.p, color="C0", lw=1.5, label="p(r)")
    ax_p.axhline(0.0, color="0.5", lw=0.6)
    ax_p.axvline(result.d_max, color="0.5", ls="--", lw=0.8, label="Dmax")
    ax_p.set(xlabel="r (Å)", ylabel="p(r) (cm⁻¹ Å⁻¹)", xlim=(0, np.max(result.r)))
    ax_p.legend(fontsize=8)

    guinier = result.guinier
    summary = (
        f"Rg = {result.rg:.3g} ± {result.rg_err:.2g} Å, I(0) = {result.i0:.4g} ± "
        f"{result.i0_err:.2g} cm⁻¹, Dmax = {result.d_max:.4g} ± {result.d_max_err:.2g} Å, "
        f"χ²ᵣ = {result.chi2:.2f}"
        + (f"; Guinier Rg = {guinier.rg:.3g} ± {guinier.rg_err:.2g} Å" if guinier else "")
    )
    fig.suptitle(f"{title}\n{summary}" if title else summary, fontsize=9)
    path = Path(path)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
