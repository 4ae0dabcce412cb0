"""Readers and writers of problem and solution files.

- :func:`load` / :func:`save`: dispatch on the file name (``.mps``, ``.qps``, ``.mps.gz``,
  ``.qps.gz``: MPS/QPS; ``.npz``: scotopt's npz schema; ``.min``, ``.min.gz``: DIMACS min-cost
  flow); other names are sniffed (:func:`file_kind`: a zip archive is npz, ``c`` / ``p min``
  lines are DIMACS, three lines of one integer each then an arc line are CommaLAB
  multicommodity flow, anything else is read as MPS). A network file loads as its model's
  matrix-free LP; :func:`load_model` gives the model itself (for its decoder).
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

__all__ = ["FileFormatError", "load", "load_model", "save", "read_mps", "write_mps", "load_npz", "save_npz",
           "save_solution", "load_solution", "file_kind", "NETWORK_KINDS"]

_MPS_SUFFIXES = (".mps", ".qps", ".mps.gz", ".qps.gz", ".free", ".fixed")
_DIMACS_SUFFIXES = (".min", ".min.gz")
NETWORK_KINDS = ("dimacs", "commalab")  # files that describe a network model, not an LP


def _first_lines(path: Path, count: int, limit: int = 1 << 16) -> list[list[str]]:
    """The fields of the first ``count`` non-blank lines in the first ``limit`` bytes of text
    (gzip read through); fewer where the file is shorter or not text."""
    import zlib

    from scotopt.io.textfile import open_bytes

    try:
        with open_bytes(path) as fh:
            head = fh.read(limit)
    except (OSError, EOFError, zlib.error):
        return []
    lines = [line.split() for line in head.decode("latin-1").splitlines()[:-1 if len(head) == limit else None]]
    return [fields for fields in lines if fields][:count]


def _is_integer(token: str) -> bool:
    return token.lstrip("+-").isdigit()


def _sniff_text(path: Path) -> str:
    """'dimacs', 'commalab' or 'mps' from the first lines (module docstring)."""
    lines = _first_lines(path, 4)
    if lines and (lines[0][0] == "c" or lines[0][:2] == ["p", "min"]):
        return "dimacs"
    if (len(lines) == 4 and all(len(fields) == 1 and _is_integer(fields[0]) for fields in lines[:3])
            and len(lines[3]) == 4):
        return "commalab"
    return "mps"


def file_kind(path) -> str:
    """'npz', 'mps', 'dimacs' (min-cost flow) or 'commalab' (multicommodity flow), from the name
    or else from the first bytes."""
    name = Path(os.fspath(path)).name.lower()
    if name.endswith(".npz"):
        return "npz"
    if name.endswith(_MPS_SUFFIXES):
        return "mps"
    if name.endswith(_DIMACS_SUFFIXES):
        return "dimacs"
    path = Path(os.fspath(path))
    if path.is_file():
        with open(path, "rb") as fh:
            if fh.read(4) == b"PK\x03\x04":
                return "npz"
        return _sniff_text(path)
    return "mps"


def load_model(path, **options):
    """The network model a DIMACS or CommaLAB file describes: a
    :class:`~scotopt.models.MinCostFlow` (:func:`scotopt.io.dimacs.read_dimacs`) or a
    :class:`~scotopt.models.MultiCommodityFlow` (:func:`scotopt.io.commalab.read_commalab`);
    ``options`` go to the reader. Raises :class:`FileFormatError` for any other kind of file,
    and what :func:`load` raises."""
    from scotopt.io.textfile import uncompressed_size
    from scotopt.memory import check_fits, mps_read_bytes

    path = existing_file(path)
    kind = file_kind(path)
    if kind not in NETWORK_KINDS:
        raise FileFormatError(path, None, f"is a {kind} file", "a DIMACS (.min) or CommaLAB network file")
    if kind == "dimacs":  # its reader checks the arrays' 40 B per arc against the free memory at the 'p' line
        from scotopt.io.dimacs import read_dimacs

        return read_dimacs(path, **options)
    # the CommaLAB reader holds a Python list per line, as the MPS reader does
    check_fits(mps_read_bytes(uncompressed_size(path)), f"reading {path}")
    from scotopt.io.commalab import read_commalab

    return read_commalab(path, **options)


def load(path, **options):
    """Read a problem file (MPS, QPS, npz, DIMACS or CommaLAB: the module docstring) into an LP
    or QP; a network file gives its model's matrix-free LP (``load_model(path).lp``).

    ``options`` go to :func:`read_mps`, :func:`load_npz` or the network reader. Raises FileNotFoundError,
    :class:`FileFormatError`, or :class:`scotopt.status.InsufficientMemoryError` before reading
    a file whose problem would not fit in memory.
    """
    from scotopt.io.textfile import uncompressed_size
    from scotopt.memory import check_fits, mps_read_bytes

    path = existing_file(path)
    kind = file_kind(path)
    if kind == "npz":
        return load_npz(path, **options)
    if kind in NETWORK_KINDS:
        return load_model(path, **options).lp
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
