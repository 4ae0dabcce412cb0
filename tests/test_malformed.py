"""The malformed-file corpus (tests/data/malformed, see make_corpus.py there): each file raises
FileFormatError naming the file and line through the Python API, and exits with code 2 and a
one-line message, no traceback, through the command line."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from scotopt.io import FileFormatError, load
from scotopt.status import InvalidProblemError

CORPUS = Path(__file__).resolve().parent / "data" / "malformed"
with open(CORPUS / "EXPECTED.csv", newline="") as _fh:
    CASES = list(csv.DictReader(_fh))


def test_corpus_is_large_enough():
    assert len(CASES) >= 30
    assert all((CORPUS / case["file"]).exists() for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_python_api_error(case):
    path = CORPUS / case["file"]
    with pytest.raises(FileFormatError) as info:
        load(path)
    error = info.value
    assert isinstance(error, InvalidProblemError)  # the documented base class
    assert error.path == str(path)
    assert case["message"] in str(error)
    if case["line"] == "-":
        assert error.line is None
    else:
        assert error.line == int(case["line"])
        assert f"{path}:{case['line']}:" in str(error)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_command_line_exit_code(case, tmp_path):
    path = CORPUS / case["file"]
    # every file through `solve`; `info` and `convert` share the loading path, checked on a few
    commands = ["solve"]
    if case["file"] in ("bad_number.mps", "npz_wrong_version.npz"):
        commands += ["info", "convert"]
    for command in commands:
        extra = [str(tmp_path / "out.npz")] if command == "convert" else []
        run = subprocess.run([sys.executable, "-m", "scotopt", command, str(path), *extra], capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 2, run.stderr
        assert "Traceback" not in run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("scotopt: error: ")
        assert case["message"] in lines[0]
