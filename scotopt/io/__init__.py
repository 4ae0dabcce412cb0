"""Readers and writers of problem and solution files.

- :func:`load` / :func:`save`: dispatch on the file name (``.mps``, ``.qps``, ``.mps.gz``,
  ``.qps.gz``: MPS/QPS; ``.npz``: scotopt's npz schema); other names are sniffed (a zip
  archive is npz, anything else is read as MPS).
- :func:`read_mps` / :func:`write_mps`, :func:`load_npz` / :func:`save_npz`,
  :func:`save_solution` / :func:`load_solution`.
- Every malformed file raises :class:`FileFormatError` (a :class:`scotopt.InvalidProblemError`)
  naming the file, the line where lines exist, and what was expected.
"""

from __future__ import annotations

import os
from pathlib import Path

from scotopt.io.errors import FileFormatError
from scotopt.io.mps import read_mps
from scotopt.io.mps_write import write_mps
from scotopt.io.npz import load_npz, save_npz
from scotopt.io.solution import load_solution, save_solution
from scotopt.io.textfile import existing_file

__all__ = ["FileFormatError", "load", "save", "read_mps", "write_mps", "load_npz", "save_npz",
           "save_solution", "load_solution", "file_kind"]

_MPS_SUFFIXES = (".mps", ".qps", ".mps.gz", ".qps.gz", ".free", ".fixed")


def file_kind(path) -> str:
    """'npz' or 'mps', from the name or else from the first bytes."""
    name = Path(os.fspath(path)).name.lower()
    if name.endswith(".npz"):
        return "npz"
    if name.endswith(_MPS_SUFFIXES):
        return "mps"
    path = Path(os.fspath(path))
    if path.is_file():
        with open(path, "rb") as fh:
            if fh.read(4) == b"PK\x03\x04":
                return "npz"
    return "mps"


def load(path, **options):
    """Read a problem file (MPS, QPS or npz, see the module docstring) into an LP or QP.

    ``options`` go to :func:`read_mps` or :func:`load_npz`. Raises FileNotFoundError,
    :class:`FileFormatError`, or :class:`scotopt.status.InsufficientMemoryError` before reading
    a file whose problem would not fit in memory.
    """
    from scotopt.io.textfile import uncompressed_size
    from scotopt.memory import check_fits, mps_read_bytes

    path = existing_file(path)
    if file_kind(path) == "npz":
        return load_npz(path, **options)
    check_fits(mps_read_bytes(uncompressed_size(path)), f"reading {path}")
    return read_mps(path, **options)


def save(problem, path, **options) -> Path:
    """Write ``problem`` to ``path`` as MPS/QPS (gzip for .gz) or npz, chosen by the name."""
    name = Path(os.fspath(path)).name.lower()
    if name.endswith(".npz"):
        return save_npz(problem, path, **options)
    if not name.endswith(_MPS_SUFFIXES):
        raise ValueError(f"cannot tell the format of {path}: name it .mps, .mps.gz, .qps or .npz")
    return write_mps(problem, path, **options)
