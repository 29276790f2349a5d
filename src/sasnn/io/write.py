"""Write a curve as plain 4-column ASCII that sasdata, SasView and :mod:`sasnn.io.read` read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sasnn.io.curve import Curve


def write_curve(path: str | Path, curve: Curve, *, overwrite: bool = False) -> Path:
    """Write a curve as 4-column ASCII (Q, I, dI, dQ) that sasdata and SasView read back.

    Parameters
    ----------
    path : str or Path
        Output file; its extension is up to the caller (``.txt`` or ``.dat`` read back).
    curve : Curve
        q and dq in Å⁻¹, intensity and sigma in cm⁻¹. Missing sigma or dq are written as
        0, which :func:`sasnn.io.read.load_curves` reads as "unknown".
    overwrite : bool
        Replace an existing file. By default an existing file raises FileExistsError.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    FileExistsError
        The file exists and ``overwrite`` is False.
    ValueError
        The curve is slit-smeared (``dq_slit``), which 4-column ASCII cannot express.
    """
    if curve.dq_slit is not None:
        raise ValueError(
            f"{curve.label}: slit-smeared curves (dq_slit) cannot be written as 4-column "
            "ASCII; write the pinhole dq instead"
        )
    path = Path(path)
    zeros = np.zeros(len(curve.q))
    columns = [curve.q, curve.intensity, zeros if curve.sigma is None else curve.sigma,
               zeros if curve.dq is None else curve.dq]
    what = " ".join(curve.label.split()) or "curve"  # one line, whatever the label holds
    header = (
        f"sasnn curve: {what}\n"
        "columns: Q, I(Q), dI (1 sigma), dQ (pinhole 1 sigma); 0 means unknown\n"
        "Q (1/A)  I (1/cm)  dI (1/cm)  dQ (1/A)"
    )
    with path.open("w" if overwrite else "x", encoding="utf-8") as fh:
        np.savetxt(fh, np.column_stack(columns), fmt="%.10e", header=header, comments="# ")
    return path
