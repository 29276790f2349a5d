"""Uploaded files → curves, with limits, through the CLI's own reader.

The body is read with a byte cap before anything is parsed, and the multipart parts
are kept in memory (never spooled to the system's temporary folder). Each file is
written to a per-request temporary folder only so that :func:`sasnn.io.read.load_curves`
(XXE- and entity-safe, the same reader as ``sasnn predict``) can sniff and read it;
the folder is removed before the request returns.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_UPLOAD_BYTES = 20 * 2**20  # one request, all files together
MAX_FILES = 20
MAX_ENTRIES = 50  # curves in one request, over all files
# sasdata's readers share state: two threads reading at once fail now and then
# (bench/bench_web.py saw 2 of 20 concurrent canSAS reads refused). Reading takes milliseconds.
_READING = threading.Lock()


class UploadError(ValueError):
    """An upload refused as a whole; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Loaded:
    """What the files of one upload gave: one list of curves per readable file, one
    line per unreadable file, and the reader's repair warnings."""

    groups: list[list]
    errors: list[str]
    warnings: list[str]


async def read_upload(request, limit: int = MAX_UPLOAD_BYTES, max_files: int = MAX_FILES):
    """The files (name, bytes) and plain fields of a multipart request, or UploadError."""
    from starlette.formparsers import MultiPartException, MultiPartParser

    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UploadError("expected a multipart/form-data upload of one or more files")
    megabytes = f"{limit / 2**20:g} MB"
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise UploadError(f"the upload is {int(declared) / 2**20:.1f} MB, over the {megabytes} limit", 413)

    class TooLarge(Exception):
        pass

    async def capped():
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise TooLarge
            yield chunk

    parser = MultiPartParser(request.headers, capped(), max_files=max_files, max_fields=20)
    parser.spool_max_size = limit + 1  # parts stay in memory: nothing in the system temp folder
    try:
        form = await parser.parse()
    except TooLarge:
        raise UploadError(f"the upload is over the {megabytes} limit", 413) from None
    except MultiPartException as exc:
        message = str(exc)
        if "Too many files" in message:
            raise UploadError(f"too many files: at most {max_files} in one upload", 413) from None
        raise UploadError(f"the upload could not be read: {message}") from None
    files, fields = [], {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields[key] = value
        else:
            files.append((value.filename or "upload", await value.read()))
            await value.close()
    if not files:
        raise UploadError("no file in the upload: choose or drop one or more data files")
    return files, fields


def safe_name(name: str) -> str:
    """A file name with no folder and no odd characters (the browser sends any string)."""
    base = re.sub(r"[^\w.-]+", "_", Path(name.replace("\\", "/")).name).lstrip(".")
    return base or "upload"


def load_files(files: Sequence[tuple[str, bytes]], q_units: str | None,
               max_entries: int = MAX_ENTRIES) -> Loaded:
    """Read every uploaded file as ``sasnn predict`` reads a path; curves name the file
    by its uploaded name. Raises UploadError when the files hold over ``max_entries`` curves."""
    from sasnn.io.read import load_curves

    groups, errors, notes = [], [], []
    with tempfile.TemporaryDirectory(prefix="sasnn-web-") as folder:
        for k, (name, data) in enumerate(files):
            shown = safe_name(name)
            path = Path(folder, str(k), shown)  # one sub-folder per file: two uploads may share a name
            path.parent.mkdir()
            path.write_bytes(data)
            try:
                with _READING, warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    curves = load_curves(path, q_units=q_units)
            except (OSError, ValueError) as exc:  # DataFormatError is a ValueError
                message = str(exc).replace(str(path), shown)
                errors.append(message if shown in message else f"{shown}: {message}")
                continue
            notes += [str(w.message).replace(str(path), shown) for w in caught]
            groups.append([dataclasses.replace(c, source=shown) for c in curves])
            total = sum(len(g) for g in groups)
            if total > max_entries:
                raise UploadError(f"too many entries: the files hold more than {max_entries} curves "
                                  f"({total} so far); upload fewer at a time", 413)
    return Loaded(groups, errors, notes)


__all__ = ["MAX_ENTRIES", "MAX_FILES", "MAX_UPLOAD_BYTES", "Loaded", "UploadError", "load_files",
           "read_upload", "safe_name"]
