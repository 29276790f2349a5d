"""The one data type that crosses module boundaries: a measured or simulated 1D curve."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Curve:
    """A reduced 1D small-angle scattering curve.

    Attributes
    ----------
    q : ndarray, shape (n,)
        Scattering vector in Å⁻¹, strictly increasing.
    intensity : ndarray, shape (n,)
        I(q) in cm⁻¹ (or arbitrary units when the file is not on absolute scale).
    sigma : ndarray, shape (n,) or None
        One-standard-deviation uncertainty of ``intensity``, same unit.
    dq : ndarray, shape (n,) or None
        Pinhole resolution, one-standard-deviation width in Å⁻¹.
    dq_slit : ndarray, shape (n,) or None
        Slit height (USANS), in Å⁻¹, where the file gives one instead of pinhole dq.
    source : str
        Where the curve came from (file path, or "simulated").
    entry : str
        Entry name inside a multi-entry file ("" for single-entry files).
    meta : dict
        Anything else worth keeping (title, sample name, simulation parameters).
    """

    q: np.ndarray
    intensity: np.ndarray
    sigma: np.ndarray | None = None
    dq: np.ndarray | None = None
    dq_slit: np.ndarray | None = None
    source: str = ""
    entry: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = np.shape(self.q)
        if np.ndim(self.q) != 1:
            raise ValueError(f"q must be 1-D, got shape {n}")
        for name in ("intensity", "sigma", "dq", "dq_slit"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != n:
                raise ValueError(f"{name} has shape {np.shape(value)}, expected {n} like q")

    @property
    def label(self) -> str:
        """Short human name: ``file`` or ``file [entry]``."""
        return f"{self.source} [{self.entry}]" if self.entry else self.source

    @property
    def short_label(self) -> str:
        """``label`` with the file's name instead of its path: for plot titles."""
        name = Path(self.source).name if self.source else ""
        return f"{name} [{self.entry}]" if self.entry else name
