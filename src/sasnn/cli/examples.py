"""``sasnn examples``: where the real example files bundled with sasdata live."""

from __future__ import annotations

import typer

from sasnn.cli._app import app, out


@app.command()
def examples(name: str = typer.Argument(None, help="A file name, e.g. conalbumin.txt.")) -> None:
    """Print the path of sasdata's bundled example data folder, or of one file in it.

    For example: sasnn pr "$(sasnn examples conalbumin.txt)"
    """
    from sasnn.io.read import example_data_path

    path = example_data_path(name)
    if name is None:
        out.print(str(path))
        for child in sorted(path.iterdir()):
            out.print(f"  {child.name}")
    else:
        out.print(str(path), highlight=False)
