"""The one reader of sasnn's own JSON descriptions (dataset manifests, checkpoint metadata)."""

from __future__ import annotations

import json
from pathlib import Path


def read_described(directory: str | Path, name: str, fmt: str, folder_kind: str, kind: str) -> dict:
    """``directory/name`` as a dict whose ``"format"`` is ``fmt``.

    FileNotFoundError ("DIR is not a sasnn <folder_kind>") when the file is missing,
    ValueError naming the file when it is not JSON or not a ``kind`` written by sasnn.
    """
    path = Path(directory) / name
    if not path.is_file():
        raise FileNotFoundError(f"{directory} is not a sasnn {folder_kind}: it has no {name}")
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(value, dict) or value.get("format") != fmt:
        raise ValueError(f"{path} is not a sasnn {kind}")
    return value
