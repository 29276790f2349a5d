"""Checks on what the commands that read data files were given, beyond each file."""

from __future__ import annotations

from pathlib import Path

from sasnn.cli._app import expand_paths


def folders_without_data(files: list[Path], groups: list[list]) -> list[str]:
    """One phrase per folder among ``files`` from which no curve was read.

    ``groups`` is :func:`sasnn.cli._app.read_files`'s first result (one list of curves
    per readable file, each curve's ``source`` the path it was read from). An empty
    folder and a folder of unreadable files both give a line: a command that reads
    nothing from a folder it was pointed at has misread the user.
    """
    read = {Path(group[0].source).resolve().parent for group in groups if group}
    phrases = []
    for path in files:
        if not path.is_dir() or path.resolve() in read:
            continue
        n = len(expand_paths([path]))
        phrases.append(f"{path}: the folder holds no data files" if n == 0 else
                       f"{path}: none of the folder's {n} files is a readable data file")
    return phrases
