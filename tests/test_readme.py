"""The README keeps the two set-up commands a fresh machine needs (brief: one runs the main
job on a real example file, one runs the tests), and the test command is the one CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_block() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"## Setup on a fresh machine.*?```bash\n(.*?)```", text, re.S)
    assert match, "README.md lost its 'Setup on a fresh machine' section"
    return match.group(1)


def test_readme_runs_the_main_job_on_a_shipped_example_file():
    block = _setup_block()
    assert "bash .ci/setup" in block
    main_job = r"sasnn predict --fit --report \S+ \\\n\s+\"\$\(\.venv/bin/sasnn examples \S+\.xml\)\""
    assert re.search(main_job, block)


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    assert ".venv/bin/python -m pytest" in ci and "bash .ci/setup" in ci
    assert "SAS_OPENCL=none .venv/bin/python -m pytest" in _setup_block()
