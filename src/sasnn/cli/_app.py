"""The typer application object and the helpers every command shares.

Each command lives in its own module under ``sasnn.cli`` and registers itself on
``app``. Heavy imports (torch, sasmodels, matplotlib) happen inside the command
bodies so that ``sasnn --help`` stays fast.
"""

from __future__ import annotations

import glob
import sys
import warnings
from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(
    name="sasnn",
    help="Which small-angle scattering model describes this I(Q)? "
    "Simulate, train, predict, fit, and invert to p(r).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

lecture_app = typer.Typer(
    help="The lecture's demos: perceptron, gradient descent, backpropagation, convolution.",
    no_args_is_help=True,
)
app.add_typer(lecture_app, name="lecture")

#: stdout is for results (tables, JSON); messages and progress go to stderr. When
#: piped, tables get a wide page instead of rich's 80 columns, so numbers don't wrap.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


class UserError(Exception):
    """A problem the user can fix; the CLI prints its message on one line."""


def expand_paths(files: list[Path]) -> list[Path]:
    """Command-line paths as files: a folder gives its (non-hidden) files, and a
    pattern the shell did not expand (quoted, or on Windows) gives its matches. A
    pattern with no match is kept as it is, so that reading it reports it."""
    paths: list[Path] = []
    for path in files:
        if path.is_dir():
            paths += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        elif not path.exists() and glob.has_magic(str(path)):
            paths += sorted(Path(p) for p in glob.glob(str(path))) or [path]
        else:
            paths.append(path)
    return paths


def read_files(files: list[Path], q_units: str | None, on_file=None) -> tuple[list[list], bool]:
    """The curves of every readable file (one list per file, one curve per entry), and
    whether any file could not be read. Each unreadable file gets one line on stderr;
    repairs (dropped points, missing σ, ...) are printed as warnings."""
    from sasnn.io.read import load_curves

    groups, unreadable = [], False
    for path in expand_paths(files):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                groups.append(load_curves(path, q_units=q_units))
        except (OSError, ValueError) as exc:  # DataFormatError is a ValueError
            # io's messages already name the file; prefix it only where one doesn't
            message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            err.print(f"sasnn: error: {message}", markup=False, highlight=False)
            unreadable = True
            continue
        finally:
            if on_file is not None:
                on_file(path)
        for warning in caught:
            err.print(f"sasnn: warning: {warning.message}", markup=False, highlight=False)
    return groups, unreadable
