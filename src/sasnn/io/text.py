"""Plain-text sniffing for :mod:`sasnn.io.read`: file kind, XML safety and the unit of q.

sasdata reads the numbers; this module reads what sasdata ignores. It looks at the raw
bytes and header text of a data file and answers four questions before (and after)
sasdata parses it:

* what kind of file is it (HDF5, binary, XML, text)?  -> :func:`sniff_kind`
* is it safe to hand to an XML parser?                 -> :func:`xml_safety_problem`
* in which unit does it give q?                       -> :func:`declared_q_unit`
* how many numeric rows and columns does it have?     -> :func:`numeric_table_shape`

Nothing here imports sasdata (only :mod:`sasnn.io.read` does) and nothing here raises: the
functions return findings and ``io`` turns them into errors or metadata.
"""

from __future__ import annotations

import re

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

# ---------------------------------------------------------------------------- file kind


def sniff_kind(head: bytes) -> str:
    """Classify a file from its first few kilobytes.

    Parameters
    ----------
    head : bytes
        The start of the file (8 KiB is plenty).

    Returns
    -------
    str
        ``"hdf5"`` (HDF5 signature), ``"binary"`` (NUL bytes or many control bytes),
        ``"xml"`` (first non-blank character is ``<``) or ``"text"``.
    """
    if head.startswith(HDF5_SIGNATURE):
        return "hdf5"
    if b"\x00" in head:
        return "binary"
    control = sum(1 for b in head if b < 32 and b not in b"\t\n\r\f\v")
    if head and control / len(head) > 0.05:
        return "binary"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"<?xml") or (start.startswith(b"<") and b"</" in head):
        return "xml"  # (SasView's ASCII header "<X> <Y> <dY>" is not XML)
    return "text"


def decode_text(raw: bytes) -> str | None:
    """Decode file bytes as sasdata does (UTF-8, else Windows-1252); None if neither works.

    sasdata cannot read a file that fails both (it logs the raw bytes and gives up).
    """
    for codec in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            pass
    return None


# ---------------------------------------------------------------------------- XML safety

_ENTITY_RE = re.compile(r"<!ENTITY", re.IGNORECASE)
_EXTERNAL_DTD_RE = re.compile(r"<!DOCTYPE[^>\[]*\b(SYSTEM|PUBLIC)\b", re.IGNORECASE)
_XML_ENCODING_RE = re.compile(r"<\?xml[^>]*\bencoding\s*=\s*[\"']([^\"']*)[\"']")
# encodings whose bytes spell "<!ENTITY" as ASCII does, so the scan above sees it
_SAFE_XML_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1",
                       "latin1", "windows-1252", "cp1252"}


def xml_safety_problem(text: str) -> str | None:
    """Say why a file must not reach an XML parser, or return None when it may.

    sasdata parses XML with lxml's default settings, and its canSAS reader is also a
    fallback for files of *any* extension. A file that declares entities could make the
    parser read local files into the data (XXE) or expand exponentially ("billion
    laughs"), so such files are refused before parsing. canSAS files never need entities
    or an external DTD.

    Parameters
    ----------
    text : str
        The decoded file content.

    Returns
    -------
    str or None
        A phrase for the error message, or None when the file is safe.
    """
    if _ENTITY_RE.search(text):
        return "declares XML entities, which sasnn refuses to expand for safety"
    if _EXTERNAL_DTD_RE.search(text):
        return "references an external XML DTD, which sasnn refuses to load for safety"
    match = _XML_ENCODING_RE.search(text[:1000])
    if match and match.group(1).strip().lower() not in _SAFE_XML_ENCODINGS:
        # e.g. UTF-7 can hide an entity declaration from the scan above
        return f"declares XML encoding {match.group(1)!r}; sasnn reads XML only as UTF-8 or Latin-1"
    return None


# ---------------------------------------------------------------------------- q units

_INV_NM = r"(?:nm|nanomet(?:er|re)s?)"
_INV_A = r"(?:å|a|aa|ang|angstroms?|ångströms?)"
_UNIT = (
    rf"1\s*/\s*(?:{_INV_NM}|{_INV_A})(?![a-z])"
    rf"|(?:{_INV_NM}|{_INV_A})\s*(?:\^|\*\*)?\s*[{{(]?\s*(?:-\s*1|⁻¹)"
)
# a q label ("q", "Q", "s" as in ATSAS, or spelled out) followed closely by a unit
_Q_LABEL_RE = re.compile(
    r"(?<![a-z0-9_])(?:q|s|momentum\s+transfer|scattering\s+vector)"
    rf"\s*(?:[(\[{{<,:=/|]|\bin\b)?\s*({_UNIT})",
    re.IGNORECASE,
)
_XML_Q_UNIT_RE = re.compile(r"<(?:\w+:)?Q\b[^>]*?\bunit\s*=\s*[\"']([^\"']*)[\"']")
_PDH_X_UNIT_RE = re.compile(
    r"<column\s+key=\"X\">.*?<value\s+key=\"unit\">([^<]*)</value>", re.DOTALL
)
HEADER_LINES = 200  # how many lines from the top are searched for column headers


def normalize_q_unit(unit: str | None) -> str | None:
    """Map a q unit as files spell it onto ``"A"`` (1/Å) or ``"nm"`` (1/nm).

    Examples of accepted spellings: ``1/A``, ``A^-1``, ``1/angstrom``, ``Å⁻¹``, ``1/nm``,
    ``nm^-1``, ``nm^{-1}``, ``n_m^-1`` (Anton Paar), ``nm-1``.

    Returns
    -------
    str or None
        ``"A"``, ``"nm"``, or None for anything else (including empty or other units).
    """
    if not unit:
        return None
    s = re.sub(r"[\s_{}()*^]", "", unit.lower()).replace("⁻¹", "-1").replace("ö", "o")
    if re.fullmatch(rf"(?:1/|inv(?:erse)?){_INV_NM}|{_INV_NM}-1", s):
        return "nm"
    if re.fullmatch(rf"(?:1/|inv(?:erse)?){_INV_A}|{_INV_A}-1", s):
        return "A"
    return None


def _is_numeric_row(tokens: list[str]) -> bool:
    try:
        for tok in tokens:
            float(tok)
    except ValueError:
        return False
    return bool(tokens)


def split_row(line: str) -> list[str]:
    """Split one line into tokens the way sasdata's ASCII reader does (``,`` ``;`` blanks)."""
    toks = line.split(",")
    if len(toks) < 2:
        toks = line.split(";")
    if len(toks) < 2:
        toks = line.split()
    return [t.strip() for t in toks if t.strip()]


def header_q_unit(text: str) -> str | None:
    """Find the q unit named in a column header of a text file.

    Only non-numeric lines among the first :data:`HEADER_LINES` are searched, and only a
    unit that follows a q label counts (``q (1/nm)``, ``Q [nm^-1]``, ``s, nm-1``,
    ``| Q (1/A) |``), so a wavelength in nm or an intensity in 1/cm is not mistaken for it.

    Returns
    -------
    str or None
        ``"A"`` or ``"nm"`` from the first labelled unit found, else None.
    """
    for line in text.splitlines()[:HEADER_LINES]:
        if _is_numeric_row(split_row(line)):
            continue
        for match in _Q_LABEL_RE.finditer(line):
            unit = normalize_q_unit(match.group(1))
            if unit:
                return unit
    return None


def is_pdh(text: str, suffix: str) -> bool:
    """True for an Anton Paar / PDH file (``.pdh``, or a ``SAXS BOX`` keyword line)."""
    if suffix.lower() == ".pdh":
        return True
    lines = text.splitlines()
    return len(lines) > 2 and lines[1].strip().upper().startswith("SAXS BOX")


def declared_q_unit(text: str, kind: str, suffix: str) -> tuple[str | None, str]:
    """The q unit a text or XML file declares, and where the declaration was found.

    Parameters
    ----------
    text : str
        Decoded file content.
    kind : str
        Result of :func:`sniff_kind` (``"xml"`` or ``"text"``).
    suffix : str
        File extension, e.g. ``".pdh"``.

    Returns
    -------
    unit : str or None
        The unit as declared, e.g. ``"1/nm"`` or ``"n_m^-1"`` (for XML the ``unit``
        attribute of the first ``<Q>``, by which sasdata has already converted q).
        None when undeclared.
    source : str
        ``"metadata"`` (XML attribute, PDH trailer), ``"header"`` (a column header),
        ``"format"`` (a format whose specification fixes the unit: PDH 1/nm, ISIS RKH and
        NIST ABS 1/Å), or ``"assumed"`` (nothing found: :mod:`sasnn.io.units` decides).
    """
    if kind == "xml":
        match = _XML_Q_UNIT_RE.search(text)
        return (match.group(1), "metadata") if match else (None, "assumed")
    if is_pdh(text, suffix):
        # PDH (Glatter's format, written by Anton Paar SAXSess) gives q in 1/nm; its XML
        # trailer may say so explicitly as <column key="X"><value key="unit">n_m^-1
        match = _PDH_X_UNIT_RE.search(text)
        if match and normalize_q_unit(match.group(1)):
            return match.group(1), "metadata"
        return "1/nm", "format"
    unit = header_q_unit(text)
    if unit:
        return {"A": "1/A", "nm": "1/nm"}[unit], "header"
    if is_rkh(text) or is_nist_abs(text):
        return "1/A", "format"
    return None, "assumed"


# the Fortran format line of an ISIS (Richard K. Heenan / COLETTE) 1D file: " 3 (F12.5,2E16.6)"
_RKH_FORMAT_RE = re.compile(r"^\s*\d+\s+\((?:\s*\d*[FEGI]\d+(?:\.\d+)?\s*,?)+\)\s*$", re.IGNORECASE)
_NIST_ABS_RE = re.compile(r"^\s*MON\s+CNT\s+LAMBDA\b", re.IGNORECASE)


def is_rkh(text: str) -> bool:
    """True for an ISIS RKH (COLETTE) 1D file, which gives q in 1/Å by specification:
    two title lines, a line of 7 integers, one of 4, then a Fortran format line."""
    lines = text.splitlines()
    if len(lines) < 6 or not _RKH_FORMAT_RE.match(lines[4]):
        return False
    return all(tok.lstrip("-").isdigit() for tok in lines[2].split()) and len(lines[2].split()) >= 3


def is_nist_abs(text: str) -> bool:
    """True for a NIST (NCNR IGOR reduction) .ABS file, whose q is in 1/Å by specification:
    its header has the line ``MON CNT   LAMBDA   DET ANG ...``."""
    return any(_NIST_ABS_RE.match(line) for line in text.splitlines()[:30])


# ---------------------------------------------------------------------------- table shape


def numeric_table_shape(text: str) -> tuple[int, int]:
    """Count the numeric rows of a text file and their most common number of columns.

    Used only to explain a refusal ("only 3 numeric rows", "a single column").

    Returns
    -------
    n_rows : int
        Lines whose tokens all parse as numbers.
    n_cols : int
        The most common token count among those lines (0 when there are none).
    """
    counts: dict[int, int] = {}
    for line in text.splitlines():
        toks = split_row(line)
        if _is_numeric_row(toks):
            counts[len(toks)] = counts.get(len(toks), 0) + 1
    if not counts:
        return 0, 0
    n_cols = max(counts, key=lambda k: (counts[k], k))
    return sum(counts.values()), n_cols
