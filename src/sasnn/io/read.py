"""Read measured 1D curves from any format sasdata reads (writing is :mod:`sasnn.io.write`).

This is the only module in sasnn that imports sasdata (0.11.x; its API changes in 0.12).
sasdata parses the files; this module decides what to trust:

* **q units.** Curves come out in Å⁻¹. sasdata converts canSAS XML and NXcanSAS by their
  unit attributes, but reads every text file (including Anton Paar PDH, which is in nm⁻¹)
  as Å⁻¹ and ignores headers like ``q (1/nm)``; :mod:`sasnn.io.text` finds those and the
  formats whose specification fixes the unit. A file that declares nothing gets the unit
  its numbers make plausible (:mod:`sasnn.io.units`), with a :class:`QUnitWarning` that
  says why. The ``q_units`` argument forces the unit of the numbers in the file.
* **Repairs**, each announced by a :class:`DataRepairWarning` that names the file: points
  with non-finite or non-positive q or I are dropped, q is sorted, duplicate q values are
  merged, and missing or non-positive σ are estimated (:mod:`sasnn.io.repair`).
* **Refusals**, each a one-line :class:`DataFormatError` (or :class:`FileNotFoundError`)
  that names the file: empty, binary, XML with entities, unreadable, no intensity, too few
  points.
* **Quiet.** sasdata prints undecodable bytes and logs reader failures; all of that is
  swallowed while it reads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import io
import logging
import threading
import warnings
from pathlib import Path

import numpy as np

from sasnn.io.curve import Curve
from sasnn.io.repair import repair_curve
from sasnn.io.text import (
    declared_q_unit,
    decode_text,
    normalize_q_unit,
    numeric_table_shape,
    sniff_kind,
    xml_safety_problem,
)
from sasnn.io.units import NAME as UNIT_NAME
from sasnn.io.units import infer_q_unit
from sasnn.io.write import write_curve  # noqa: F401  (its old home; sasnn.io exports it)

MIN_POINTS = 10  # fewer usable points than this is not a curve worth identifying
MAX_TEXT_BYTES = 64 * 2**20  # a 1D text curve is never this large; refuse, don't parse
Q_UNITS = {"A": 1.0, "nm": 10.0}  # q in Å⁻¹ = (q in that unit) / divisor
_HEAD_BYTES = 8192


class DataFormatError(ValueError):
    """A file that cannot be read as a 1D curve. The message is one line naming the file."""


class DataRepairWarning(UserWarning):
    """A file was read, but some of its points were dropped, merged or completed."""


class QUnitWarning(UserWarning):
    """A file names no unit for q, so the reader decided one from the numbers
    (:mod:`sasnn.io.units`); the message names the file, the unit and the evidence."""


# ---------------------------------------------------------------------------- public API


def load_curves(path: str | Path, *, q_units: str | None = None) -> list[Curve]:
    """Read every 1D curve in a SAS data file.

    Parameters
    ----------
    path : str or Path
        Any file sasdata 0.11 reads: canSAS XML (one or many ``SASentry``), NXcanSAS
        HDF5, NIST ABS, ISIS/RKH ASCII, 2–4 column text (Q, I, dI, dQ) with or without
        header, CSV, Anton Paar PDH.
    q_units : {None, "A", "nm"}
        Unit of the q values *as written in the file*. None takes it from what the file
        declares (unit attributes, a column header, the format's specification) and,
        where it declares nothing, from the numbers (:func:`sasnn.io.units.infer_q_unit`);
        "A" or "nm" overrides everything.

    Returns
    -------
    list of Curve
        One per data entry, with ``q`` and ``dq``/``dq_slit`` in Å⁻¹ (strictly
        increasing q), ``intensity`` and ``sigma`` in the file's intensity unit (usually
        cm⁻¹). ``entry`` is "" for single-entry files, else the entry's title or run.
        ``meta`` holds ``format`` (sasdata's reader), ``title``, ``run``, ``q_unit`` (of
        the numbers in the file, e.g. "1/nm"), ``q_unit_source`` ("metadata", "header",
        "format", "override" or "inferred"), ``q_unit_evidence`` (why, when inferred; else
        ""), ``intensity_unit``, ``sigma_estimated``
        (number of points whose σ was estimated; 0 when σ is all measured),
        ``n_points_file`` and ``repairs`` (phrases saying what was changed).

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    DataFormatError
        The file is empty, binary, unsafe XML, not a SAS data file, has no intensity, or
        has fewer than :data:`MIN_POINTS` usable points.
    ValueError
        ``q_units`` is not one of None, "A", "nm".

    Warns
    -----
    DataRepairWarning
        When points are dropped, sorted, merged, or given an estimated σ.
    QUnitWarning
        When the file names no unit for q and the numbers decided it (one per file).
    """
    if q_units is not None and q_units not in Q_UNITS:
        raise ValueError(f"q_units must be None (auto), 'A' or 'nm', got {q_units!r}")
    path_str, path = str(path), Path(path)
    kind, text = _sniff(path, path_str)
    if kind == "hdf5":
        declared, source = _hdf5_q_unit(path), "metadata"
    else:
        declared, source = declared_q_unit(text, kind, path.suffix)

    loaded = _read_with_sasdata(path)
    data1d = [d for d in loaded if _n_points(d) > 0]
    if not data1d:
        raise DataFormatError(f"{path_str}: {_why_unreadable(loaded, kind, text)}")

    # sasdata converted XML and HDF5 to 1/A by their declared unit, but no text file
    structured = kind in ("xml", "hdf5")
    unit, evidence = q_units or normalize_q_unit(declared), ""
    if q_units:
        source = "override"
    elif not (unit or (declared and structured)):  # the file says nothing: the numbers decide
        first = data1d[0]
        guess = infer_q_unit(first.x, first.x if first.y is None else first.y)
        unit, evidence, source = guess.unit, guess.evidence, "inferred"
    if structured and declared and not q_units:
        divisor = 1.0  # sasdata converted by the declared unit
    else:  # the numbers as written (sasdata's factor is 1 for an undeclared unit)
        divisor = _sasdata_factor(declared if structured else None) * Q_UNITS[unit]
    common = {"q_unit": UNIT_NAME.get(unit, declared), "q_unit_source": source,
              "q_unit_evidence": evidence}

    curves, problems = [], []
    for data, name in zip(data1d, _entry_names(data1d), strict=True):
        label = f"{path_str} [{name}]" if name else path_str
        try:
            curve = _to_curve(data, label, divisor)
        except DataFormatError as exc:
            if len(data1d) == 1:
                raise
            problems.append(str(exc))
            _warn(f"{exc}; entry skipped", stacklevel=2)
            continue
        meta = {
            "format": data.meta_data.get("loader") or _FORMAT_BY_KIND[kind],
            "title": str(data.title or ""),
            "run": [str(r) for r in (data.run or [])],
            "intensity_unit": str(data._yunit or ""),
            **common,
            **curve.meta,
        }
        curves.append(dataclasses.replace(curve, source=path_str, entry=name, meta=meta))
    if not curves:
        raise DataFormatError(f"{path_str}: no usable entry ({'; '.join(problems)})")
    if source == "inferred":
        other = "A" if unit == "nm" else "nm"
        _warn(f"{path_str}: q read as {UNIT_NAME[unit]}, as the file names no unit: {evidence}; "
              f"use --q-units {other} if it is in {UNIT_NAME[other]}", stacklevel=2,
              category=QUnitWarning)
    return curves


def example_data_path(name: str | None = None) -> Path:
    """Locate the real example files that ship with sasdata (``example_data/1d_data``).

    Parameters
    ----------
    name : str, optional
        A file name in that folder, e.g. ``"conalbumin.txt"``. None returns the folder.

    Raises
    ------
    FileNotFoundError
        The folder is missing from the sasdata installation, or has no file ``name``.
    """
    import sasdata

    folder = Path(sasdata.__file__).parent / "example_data" / "1d_data"
    if not folder.is_dir():
        raise FileNotFoundError(
            errno.ENOENT, "sasdata's example data folder is missing; reinstall sasdata 0.11",
            str(folder),
        )
    if name is None:
        return folder
    candidate = folder / name
    if Path(name).name != name or not candidate.is_file():
        raise FileNotFoundError(
            errno.ENOENT, f"No example file {name!r}; the available names are the files in",
            str(folder),
        )
    return candidate


# ---------------------------------------------------------------------------- checks


def _sniff(path: Path, path_str: str) -> tuple[str, str]:
    """Refuse what must not reach sasdata; return the file kind and its decoded text.

    Returns
    -------
    kind : str
        "hdf5", "xml" or "text" (see :func:`sasnn.io.text.sniff_kind`).
    text : str
        The decoded content ("" for HDF5).
    """
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "No such data file", path_str)
    if path.is_dir():
        raise DataFormatError(f"{path_str}: is a directory, not a data file")
    size = path.stat().st_size
    if size == 0:
        raise DataFormatError(f"{path_str}: file is empty")
    with path.open("rb") as fh:
        kind = sniff_kind(fh.read(_HEAD_BYTES))
    if kind == "binary":
        raise DataFormatError(f"{path_str}: binary file, not a SAS data format "
                              "(expected canSAS XML, NXcanSAS HDF5 or text columns)")
    if kind == "hdf5":
        return kind, ""
    if size > MAX_TEXT_BYTES:
        raise DataFormatError(f"{path_str}: {size / 2**20:.0f} MiB is too large for a 1D curve")
    text = decode_text(path.read_bytes())
    if text is None:
        raise DataFormatError(f"{path_str}: text is neither UTF-8 nor Windows-1252 encoded")
    if not text.strip():
        raise DataFormatError(f"{path_str}: file is empty (only blank lines)")
    problem = xml_safety_problem(text)
    if problem:
        raise DataFormatError(f"{path_str}: {problem}")
    return kind, text


# ---------------------------------------------------------------------------- sasdata

_FORMAT_BY_KIND = {"hdf5": "NXcanSAS", "xml": "canSAS XML", "text": "ASCII"}


_SASDATA_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet():
    """Swallow everything sasdata prints, logs or warns while it reads a file.

    It swaps process-wide state (sys.stdout/stderr, the "sasdata" logger), and sasdata's
    readers are not thread-safe either, so threads take turns here (a web server's
    requests); processes (as in ``predict`` batches) need no lock.
    """
    with _SASDATA_LOCK:
        yield from _quiet_unlocked()


def _quiet_unlocked():
    logger = logging.getLogger("sasdata")
    saved = logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [logging.NullHandler()], False
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
            warnings.simplefilter("ignore")
            with contextlib.redirect_stderr(sink):
                yield
    finally:
        logger.handlers, logger.propagate = saved


def _read_with_sasdata(path: Path) -> list:
    """Run sasdata's Loader on a local file and return its Data1D/Data2D objects."""
    from sasdata.dataloader.loader import Loader

    with _quiet():
        try:
            # a resolved local path: sasdata fetches anything containing "://" by URL
            return list(Loader().load(str(path.resolve())))
        except Exception as exc:  # sasdata raises anything; report it
            return [exc]


def _sasdata_factor(unit: str | None) -> float:
    """The factor sasdata multiplied q by to reach Å⁻¹ for a declared ``unit``."""
    if not unit:
        return 1.0
    from sasdata.data_util.nxsunit import Converter

    try:
        return float(Converter(unit)(1.0, units="1/A"))
    except Exception:  # unknown unit: sasdata left q as it was
        return 1.0


def _hdf5_q_unit(path: Path) -> str | None:
    """The ``units`` attribute of the first Q dataset in an NXcanSAS file, if any."""
    import h5py  # a dependency of sasdata's NXcanSAS reader

    found: list[str] = []

    def visit(name: str, obj) -> None:
        if found or not isinstance(obj, h5py.Group) or "I_axes" not in obj.attrs:
            return
        axes = obj.attrs["I_axes"]
        axes = axes.decode() if isinstance(axes, bytes) else str(np.atleast_1d(axes)[-1])
        q = obj.get(axes.split(",")[-1].strip()) or obj.get("Q")
        # NXcanSAS says "units"; early writers (and sasdata, which reads both) "unit"
        attrs = q.attrs if isinstance(q, h5py.Dataset) else {}
        unit = attrs.get("units", attrs.get("unit"))
        if unit is not None:
            found.append(unit.decode() if isinstance(unit, bytes) else str(unit))

    try:
        with _quiet(), h5py.File(path, "r") as fh:
            fh.visititems(visit)
    except Exception:  # sasdata will report the unreadable file
        return None
    return found[0] if found else None


def _n_points(data) -> int:
    """Number of points of a sasdata Data1D; -1 for anything else (Data2D, an exception)."""
    x = getattr(data, "x", None)
    return len(x) if data.__class__.__name__ == "Data1D" and np.ndim(x) == 1 else -1


def _why_unreadable(loaded: list, kind: str, text: str) -> str:
    """One phrase on why sasdata produced no 1D data."""
    if any(d.__class__.__name__ == "Data2D" for d in loaded):
        return "contains only 2D data; sasnn reads 1D curves I(q)"
    if kind == "hdf5":
        return "HDF5 file without NXcanSAS 1D data (no SASdata group with Q and I)"
    if kind == "xml":
        return "not readable as canSAS XML (malformed, truncated, or not a SASroot document)"
    if any(_n_points(d) == 0 for d in loaded):  # sasdata dropped every row holding a NaN
        return "no usable data points: every row has a non-finite value (NaN or inf)"
    rows, cols = numeric_table_shape(text)
    if rows == 0:
        return "not a data file: no numeric rows found"
    if cols == 1:
        return "no intensity column: the numeric rows have a single column"
    if rows < MIN_POINTS:
        return f"only {rows} numeric data rows; at least {MIN_POINTS} are needed"
    return f"no reader found Q and I columns in its {rows} numeric rows"


def _entry_names(data1d: list) -> list[str]:
    """"" for a single entry, else title, run name or "entry i", made unique."""
    if len(data1d) == 1:
        return [""]
    names: list[str] = []
    for i, data in enumerate(data1d, start=1):
        runs = [str(r).strip() for r in (data.run or []) if str(r).strip() not in ("", "unknown")]
        base = " ".join(str(data.title or "").split()) or (runs[0] if runs else f"entry {i}")
        name, k = base, 2
        while name in names:
            name, k = f"{base} ({k})", k + 1
        names.append(name)
    return names


# ---------------------------------------------------------------------------- repairs


def _warn(message: str, stacklevel: int, category: type[Warning] = DataRepairWarning) -> None:
    """Issue a DataRepairWarning (or ``category``); ``stacklevel`` counts from the caller of _warn."""
    warnings.warn(message, category, stacklevel=stacklevel + 1)


def _optional(values, n: int) -> np.ndarray | None:
    """A float array of length n, or None where sasdata gave nothing or only zeros/junk."""
    if values is None or np.ndim(values) != 1 or len(values) != n:
        return None
    values = np.asarray(values, dtype=float)
    return values if np.any(np.isfinite(values) & (values > 0)) else None


def _to_curve(data, label: str, divisor: float) -> Curve:
    """Turn one sasdata Data1D into a repaired Curve, dividing q, dq, dq_slit by ``divisor``.

    Repairs are announced (pointing at the caller of :func:`load_curves`) only once the
    curve is accepted, so a refused file never warns.
    """
    n = len(data.x)
    q = np.asarray(data.x, dtype=float) / divisor
    intensity = np.asarray(data.y if data.y is not None else np.zeros(n), dtype=float)
    if intensity.shape != q.shape or not np.any(intensity[np.isfinite(intensity)] != 0):
        raise DataFormatError(f"{label}: no intensity column (I is missing or all zero)")
    dq, dq_slit = (_optional(a, n) for a in (data.dx, data.dxl))
    raw = Curve(q=q, intensity=intensity, sigma=_optional(data.dy, n),
                dq=None if dq is None else dq / divisor,
                dq_slit=None if dq_slit is None else dq_slit / divisor)
    curve = repair_curve(raw)
    if len(curve.q) < MIN_POINTS:
        raise DataFormatError(
            f"{label}: only {len(curve.q)} usable points (finite, q > 0, I > 0, distinct q) "
            f"of {n}; at least {MIN_POINTS} are needed"
        )
    for what in curve.meta["repairs"]:
        _warn(f"{label}: {what}", stacklevel=3)
    return curve
