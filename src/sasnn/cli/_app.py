"""The typer application object and the helpers every command shares.

Each command lives in its own module under ``sasnn.cli`` and registers itself on
``app``. Heavy imports (torch, sasmodels, matplotlib) happen inside the command
bodies so that ``sasnn --help`` stays fast.
"""

from __future__ import annotations

import sys

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
