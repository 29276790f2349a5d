"""Which unit, Å⁻¹ or nm⁻¹, the q column of a file without a unit declaration is in.

:mod:`sasnn.io.read` first believes what a file says (canSAS XML / NXcanSAS unit
attributes, a column header such as ``q (1/nm)``, a format whose specification fixes the
unit). Only when a file says nothing does it ask :func:`infer_q_unit`, which weighs what
the numbers themselves imply. Each reading, Å⁻¹ or nm⁻¹, is checked against facts of
small-angle scattering that hold for any sample:

* **q range.** Small-angle (and small/wide-angle) instruments stop below about
  :data:`Q_MAX_PLAUSIBLE` = 3 Å⁻¹ (SAXS/WAXS beamlines reach 2–3 Å⁻¹; SAS rarely passes
  1 Å⁻¹), and none reaches below :data:`Q_MIN_PLAUSIBLE` = 10⁻⁵ Å⁻¹ (Bonse–Hart USANS/USAXS).
* **Size.** A Guinier region at the start of the curve (ln I linear in q² for
  q·Rg ≤ 1.3, over at least :data:`GUINIER_MIN_POINTS` points) gives a radius of
  gyration. Nothing that scatters at small angles has Rg below :data:`RG_MIN_PLAUSIBLE`
  = 3 Å (a water molecule has Rg ≈ 1 Å; the smallest micelles and proteins, 10 Å).

A reading that breaks one of these is implausible. The rule: **nm⁻¹ when the Å⁻¹
reading is implausible and the nm⁻¹ reading is not; Å⁻¹ otherwise** (Å⁻¹ is what
SasView, the NIST and ISIS reductions and sasdata assume for text). Curves that do not
fall overall with q (I at the high-q end not below I at the low-q end) are no
small-angle curves to reason about, and stay Å⁻¹.

The numbers can clear a reading but rarely prove one: a nm⁻¹ file of large particles
measured to q = 2 nm⁻¹ looks like a plausible Å⁻¹ file. That is why every decision made
here is announced with its evidence and can be overridden (``--q-units``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Q_MAX_PLAUSIBLE = 3.0  # Å⁻¹: no small/wide-angle scattering curve reaches past this
Q_MIN_PLAUSIBLE = 1e-5  # Å⁻¹: below the reach of Bonse–Hart USANS/USAXS
RG_MIN_PLAUSIBLE = 3.0  # Å: smaller than any particle seen by small-angle scattering
GUINIER_QRG_MAX = 1.3  # Guinier's law holds to q·Rg ≈ 1.3 for compact particles
GUINIER_MIN_POINTS = 5  # fewer points in the Guinier window give no usable Rg
FACTOR = {"A": 1.0, "nm": 10.0}  # q in Å⁻¹ = q as written / FACTOR[unit]
NAME = {"A": "1/A", "nm": "1/nm"}


@dataclass(frozen=True)
class UnitGuess:
    """The unit :func:`infer_q_unit` chose for the q column, and why.

    Attributes
    ----------
    unit : str
        ``"A"`` (q in Å⁻¹) or ``"nm"`` (q in nm⁻¹).
    evidence : str
        One phrase for a warning: what is implausible about either reading, and the q
        range (and Guinier Rg) under the chosen one.
    """

    unit: str
    evidence: str


def guinier_rg(q: np.ndarray, intensity: np.ndarray) -> float | None:
    """Radius of gyration from the lowest-q points, in the inverse unit of ``q``.

    Fits ln I = ln I0 − (Rg²/3) q² to the points with q·Rg ≤ 1.3, iterating Rg and the
    window together from the first 10 points (at most 20 rounds).

    Parameters
    ----------
    q : ndarray, shape (n,)
        Scattering vector in any unit, increasing, positive.
    intensity : ndarray, shape (n,)
        I(q), positive.

    Returns
    -------
    float or None
        Rg (Å when q is in Å⁻¹, nm when in nm⁻¹); None when the start of the curve rises
        (an upturn or a structure-factor peak) or fewer than :data:`GUINIER_MIN_POINTS`
        points lie in the Guinier window (the data start past it).
    """
    x, y = np.asarray(q, float) ** 2, np.log(np.asarray(intensity, float))
    m = min(len(x), 10)
    rg = None
    for _ in range(20):
        if m < GUINIER_MIN_POINTS or x[m - 1] == x[0]:
            return None
        slope = np.polyfit(x[:m], y[:m], 1)[0]
        if not slope < 0:
            return None
        rg = float(np.sqrt(-3.0 * slope))
        m_new = int(np.searchsorted(q, GUINIER_QRG_MAX / rg, side="right"))
        if m_new == m:
            break
        m = m_new
    return rg if m >= GUINIER_MIN_POINTS else None


def _problems(q_min: float, q_max: float, rg: float | None) -> list[str]:
    """What is implausible about a curve whose q (Å⁻¹) and Rg (Å) are these."""
    problems = []
    if q_max > Q_MAX_PLAUSIBLE:
        problems.append(f"q would reach {q_max:.3g} Å⁻¹, past any small-angle instrument "
                        f"(≤ {Q_MAX_PLAUSIBLE:g})")
    if q_min < Q_MIN_PLAUSIBLE:
        problems.append(f"q would start at {q_min:.2g} Å⁻¹, below any instrument "
                        f"(≥ {Q_MIN_PLAUSIBLE:g})")
    if rg is not None and rg < RG_MIN_PLAUSIBLE:
        problems.append(f"the Guinier Rg would be {rg:.2g} Å, smaller than any particle "
                        f"(≥ {RG_MIN_PLAUSIBLE:g} Å)")
    return problems


def infer_q_unit(q: np.ndarray, intensity: np.ndarray) -> UnitGuess:
    """Decide Å⁻¹ or nm⁻¹ for a q column that no header or format declares.

    See the module docstring for the rule.

    Parameters
    ----------
    q : ndarray, shape (n,)
        Scattering vector *as written in the file*, any order; non-finite or
        non-positive points (and those with I ≤ 0) are ignored.
    intensity : ndarray, shape (n,)
        I(q) in any unit.

    Returns
    -------
    UnitGuess
    """
    q, intensity = np.asarray(q, float), np.asarray(intensity, float)
    ok = np.isfinite(q) & np.isfinite(intensity) & (q > 0) & (intensity > 0)
    q, intensity = q[ok], intensity[ok]
    order = np.argsort(q, kind="stable")
    q, intensity = q[order], intensity[order]
    if len(q) < GUINIER_MIN_POINTS:
        return UnitGuess("A", "too few points to judge, so the SAS convention 1/A decides")
    tenth = max(3, len(q) // 10)
    if not np.median(intensity[-tenth:]) < np.median(intensity[:tenth]):
        return UnitGuess("A", "I does not fall with q, so the numbers cannot tell and the SAS "
                         "convention 1/A decides")
    rg = guinier_rg(q, intensity)
    as_a = _problems(q[0], q[-1], rg)
    as_nm = _problems(q[0] / 10, q[-1] / 10, None if rg is None else 10 * rg)
    unit = "nm" if as_a and not as_nm else "A"
    f = FACTOR[unit]
    seen = f"q spans {q[0] / f:.3g}–{q[-1] / f:.3g} Å⁻¹" + (
        "" if rg is None else f" (Guinier Rg {rg * f:.3g} Å)")
    if unit == "nm":
        why = f"as 1/A {' and '.join(as_a)}; as 1/nm {seen}"
    elif as_a:
        why = (f"neither unit is plausible (as 1/A {' and '.join(as_a)}; as 1/nm "
               f"{' and '.join(as_nm)}), so the SAS convention 1/A decides")
    elif as_nm:
        why = f"as 1/A {seen}, while as 1/nm {' and '.join(as_nm)}"
    else:
        why = f"as 1/A {seen}, plausible; as 1/nm it would be too, so the SAS convention 1/A decides"
    return UnitGuess(unit, why)

__all__ = ["FACTOR", "NAME", "UnitGuess", "guinier_rg", "infer_q_unit"]
