"""Every program answers --version with its name and the project's version
(CMakeLists.txt), exits 0 and starts nothing; --help lists the flag."""
import os
import re
import subprocess

import pytest

from conftest import BUILD, WAIT_S

PROGRAMS = ["cheesed", "cheese-cli", "cheese-tracker", "cheese-devnet"]


def project_version():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "CMakeLists.txt")) as f:
        return re.search(r"project\(cheesechain VERSION (\S+)", f.read())[1]


def run(program, *args, cwd=None):
    return subprocess.run([os.path.join(BUILD, program), *args], capture_output=True, text=True,
                          timeout=WAIT_S, cwd=cwd)


@pytest.mark.parametrize("program", PROGRAMS)
def test_version(program, tmp_path):
    result = run(program, "--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{program} {project_version()}\n"
    assert result.stderr == ""
    assert list(tmp_path.iterdir()) == []  # no data directory, no wallet


@pytest.mark.parametrize("program", PROGRAMS)
def test_help_lists_version(program):
    result = run(program, "--help")
    assert result.returncode == 0
    assert re.search(r"^  --version +show the version$", result.stdout, re.M), result.stdout


@pytest.mark.parametrize("program", PROGRAMS)
def test_help_speaks_of_the_program_only(program):
    """--help names no document a user cannot look up (the protocol seeds,
    sections of a design text) and gives the range of each number it takes."""
    text = run(program, "--help").stdout
    for word in ("seed 0", "PROTOCOL.md", "DESIGN"):
        assert word not in text, (word, text)
    lines = text.splitlines() + [""]
    # an option too long for its column has its text on the next line
    numbers = [line if len(line.split()) > 2 else line + lines[i + 1]
               for i, line in enumerate(lines) if re.match(r"^  --\S+ (N|S|X|P|BYTES)\b", line)]
    for line in numbers:
        assert re.search(r"\d-\d", line), f"no range: {line}"
