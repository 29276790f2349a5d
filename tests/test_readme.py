"""The README keeps the two set-up commands a fresh machine needs (brief: one runs the main
job on a real example file, one runs the tests), and the test command is the one CI runs."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

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


# ------------------------------------------------------------------ the commands a user is told to run
# README examples name placeholder files; these are the real files that stand in for them.
STAND_INS = {
    "sample.xml": "AOT_Microemulsion-Core_Contrast.xml",
    "sans_usans.xml": "latex_smeared.xml",
    "protein.dat": "conalbumin.txt",
}
# Commands too slow for the default run (fits, simulation, training, a server): their
# options are checked against `--help` instead of running them.
CHECK_OPTIONS_ONLY = ("--fit", "simulate", "train", "evaluate", "serve", "series")


def user_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    setup = re.search(r"## Setup on a fresh machine.*?```bash\n.*?```", text, re.S).group(0)
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text.replace(setup, ""), re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("sasnn "):
                lines.append(line)
    return lines


def test_the_readme_tells_the_user_to_run_commands():
    commands = user_commands()
    assert len(commands) >= 10
    for needed in ("predict", "pr", "simulate", "train", "evaluate"):
        assert any(c.split()[1] == needed for c in commands), needed


def _help(capsys, command: str) -> str:
    from sasnn.cli import main

    assert main([command, "--help"]) == 0, f"`sasnn {command}` is not a command"
    return capsys.readouterr().out


@pytest.mark.parametrize("line", user_commands())
def test_every_readme_command_exists_with_its_options(line, capsys):
    words = shlex.split(line.replace(">", " "))
    text = _help(capsys, words[1])
    for word in words[2:]:
        if word.startswith("--"):
            assert word.split("=")[0] in text, f"`sasnn {words[1]}` has no option {word}"


@pytest.mark.parametrize("line", [c for c in user_commands()
                                  if not any(w in c.split() for w in CHECK_OPTIONS_ONLY)])
def test_fast_readme_commands_run_on_real_files(line, tmp_path, monkeypatch, capsys):
    from sasnn.cli import main
    from sasnn.io import example_data_path

    monkeypatch.chdir(tmp_path)
    words = shlex.split(line.split(">")[0])
    for i, word in enumerate(words):
        if word in STAND_INS:
            words[i] = str(example_data_path(STAND_INS[word]))
        elif word == "data/":
            folder = tmp_path / "data"
            folder.mkdir()
            for name in ("ISIS_Polymer_Blend_RT2.xml", "hSDS_D2O_2p0_percent.xml"):
                shutil.copy(example_data_path(name), folder)
            words[i] = str(folder)
        elif word == "runs/mine":  # a model the user trained: the shipped one stands in
            from sasnn.identify.model_folder import shipped_model_path

            words[i] = str(shipped_model_path())
    assert main(words[1:]) == 0, capsys.readouterr().err
