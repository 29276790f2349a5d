"""The package is the pipeline: each stage imports only the stages below it, and no
module imports itself back through a chain of others (lazy, in-function imports count).

Stages, lowest first (a package may import its own modules and any lower rank, never a
sibling of the same rank):

    io, fundamentals  →  simulate  →  learn, fit, pr  →  identify  →  plots  →  web  →  cli
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sasnn

PACKAGE = Path(sasnn.__file__).parent
RANK = {"io": 0, "fundamentals": 0, "simulate": 1, "learn": 2, "fit": 2, "pr": 2, "identify": 3,
        "plots": 4, "web": 5, "cli": 6}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sasnn_imports(path: Path) -> set[str]:
    """Every sasnn module ``path`` imports, at any depth of the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("sasnn.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sasnn":  # from sasnn import stage_or_module
                found |= {f"sasnn.{a.name}" for a in node.names if a.name != "__version__"}
            elif node.module.startswith("sasnn."):  # a submodule by name, else the module
                found |= {f"{node.module}.{a.name}" if (PACKAGE.parent / node.module.replace(".", "/")
                          / a.name).with_suffix(".py").is_file() else node.module for a in node.names}
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: sasnn_imports(path) for name, path in MODULES.items()}


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


def test_every_module_sits_in_a_stage():
    loose = [m for m in MODULES if m not in ("sasnn", "sasnn.__main__") and stage(m) is None]
    assert not loose, f"modules outside the stage packages: {loose}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_pipeline(module):
    own = stage(module)
    if own is None:
        return
    for target in GRAPH[module]:
        other = stage(target)
        assert other is not None, f"{module} imports {target}, which is in no stage"
        if other == own:
            continue
        assert RANK[other] < RANK[own], (
            f"{module} ({own}, rank {RANK[own]}) imports {target} ({other}, rank {RANK[other]}): "
            "a stage may import only the stages below it")


def test_no_import_cycles():
    def known(target: str) -> str | None:  # `from sasnn.io import x` may name a module or a name
        return target if target in GRAPH else None

    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(filter(None, map(known, GRAPH[node]))):
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


def test_the_walker_sees_lazy_and_upward_imports(tmp_path):
    """The checks above could pass by seeing nothing: show them a file that breaks the rules."""
    bad = tmp_path / "bad.py"
    bad.write_text("from sasnn.io import load_curves\n\ndef f():\n"
                   "    from sasnn.identify.api import identify\n"
                   "    import sasnn.learn.training\n    from sasnn import plots\n")
    assert sasnn_imports(bad) == {"sasnn.io", "sasnn.identify.api", "sasnn.learn.training", "sasnn.plots"}
