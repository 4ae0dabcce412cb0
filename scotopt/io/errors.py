"""The exception every scotopt file reader raises on a malformed file."""

from __future__ import annotations

from scotopt.status import InvalidProblemError


class FileFormatError(InvalidProblemError):
    """A problem or solution file is malformed.

    The message reads ``FILE:LINE: what is wrong (expected what)``; the parts are also kept as
    attributes so a caller can point an editor at the line.

    Attributes
    ----------
    path : str
        The file.
    line : int or None
        1-based line number (MPS/QPS/DIMACS), or None where lines have no meaning (npz).
    problem : str
        What is wrong.
    expected : str or None
        What the reader expected instead.
    """

    def __init__(self, path, line: int | None, problem: str, expected: str | None = None):
        self.path = str(path)
        self.line = line
        self.problem = problem
        self.expected = expected
        where = f"{self.path}:{line}" if line is not None else self.path
        text = f"{where}: {problem}"
        if expected:
            text += f" (expected {expected})"
        super().__init__(text)
