"""Command-line interface: ``sasnn <command>``.

``main`` is the console-script entry point. It turns every error a user can
cause (bad option, unreadable file, invalid value) into one line on stderr and a
non-zero exit status; ``--debug`` (anywhere on the command line) shows the
traceback instead.
"""

from __future__ import annotations

import os
import sys

import typer

try:  # typer >= 0.25 vendors its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors

# sasmodels silently switches to OpenCL when pyopencl is importable; we want the
# deterministic DLL/C kernels everywhere.
os.environ.setdefault("SAS_OPENCL", "none")

from sasnn.cli import (  # noqa: E402  (each module registers its commands on app)
    examples,  # noqa: F401
    identify,  # noqa: F401
    lecture,  # noqa: F401
    pr,  # noqa: F401
    predict,  # noqa: F401
    series,  # noqa: F401
    serve,  # noqa: F401
    simulate,  # noqa: F401
)
from sasnn.cli._app import UserError, app  # noqa: E402

__all__ = ["app", "main"]


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 1 user error, 2 usage/unreadable)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="sasnn", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()
        return 0
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("sasnn: aborted", file=sys.stderr)
        return 130
    except click_errors.UsageError as exc:
        if debug:
            raise
        where = f" (in '{exc.ctx.command_path}')" if exc.ctx else ""
        print(f"sasnn: error: {_one_line(exc.format_message())}{where}", file=sys.stderr)
        return 2
    except (UserError, ValueError, FileNotFoundError, FileExistsError) as exc:
        if debug:
            raise
        print(f"sasnn: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
