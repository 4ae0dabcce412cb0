"""Read MPS files (fixed or free format, optionally gzip-compressed) into an :class:`LP`.

Parsing is delegated to HiGHS (``highspy``): its MPS reader accepts fixed and free format,
CRLF line endings, RANGES, every BOUNDS type, OBJSENSE sections and gzip-compressed input
(detected from the file contents, not the name). This module only converts HiGHS's
column-wise model into scotopt's :class:`~scotopt.problem.LP` form.

Conventions of the returned LP:

- It is always a MINIMISATION. A file that says ``OBJSENSE MAX`` is returned with ``c`` and
  ``c0`` negated and the attribute ``lp.objective_sign = -1`` set, so that the original
  objective value is ``lp.objective_sign * lp.objective(x)``. Minimisation files get
  ``objective_sign = +1``.
- The objective constant ``c0`` is HiGHS's ``offset_``: minus the RHS entry of the objective
  row (netlib E226 has one; its published optimum leaves it out).
- HiGHS's infinity (``kHighsInf``, 1e30 or more in magnitude) becomes ``-inf`` / ``+inf``.
- Integer, semi-continuous and semi-integer columns are relaxed to continuous ones (a
  semi-continuous column ``x in {0} U [l, u]`` becomes ``min(l, 0) <= x <= u``, the convex hull)
  and one :class:`UserWarning` says how many were relaxed.
- Row and column names are kept as ``lp.row_names`` and ``lp.col_names`` (lists of str).
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from scotopt.problem import LP
from scotopt.status import InvalidProblemError

__all__ = ["read_mps"]

_HIGHS_INF = 1e30


def _default_name(path: Path) -> str:
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    if name.lower().endswith(".mps"):
        name = name[:-4]
    return name or path.name


def _as_float(values) -> np.ndarray:
    arr = np.array(values, dtype=np.float64).reshape(-1)
    arr[arr >= _HIGHS_INF] = np.inf
    arr[arr <= -_HIGHS_INF] = -np.inf
    return arr


def _constraint_matrix(hlp) -> sp.csr_matrix:
    import highspy

    mat = hlp.a_matrix_
    m, n = int(hlp.num_row_), int(hlp.num_col_)
    start = np.asarray(mat.start_, dtype=np.int64)
    index = np.asarray(mat.index_, dtype=np.int64)
    value = np.asarray(mat.value_, dtype=np.float64)
    fmt = mat.format_
    if fmt == highspy.MatrixFormat.kColwise:
        nnz = int(start[n]) if start.size > n else index.size
        A = sp.csc_matrix((value[:nnz], index[:nnz], start[: n + 1]), shape=(m, n))
    elif fmt == highspy.MatrixFormat.kRowwise:
        nnz = int(start[m]) if start.size > m else index.size
        A = sp.csr_matrix((value[:nnz], index[:nnz], start[: m + 1]), shape=(m, n))
    else:  # pragma: no cover - HiGHS returns colwise models from readModel
        raise InvalidProblemError(f"unsupported HiGHS matrix format {fmt!r}")
    A = sp.csr_matrix(A, dtype=np.float64)
    A.sum_duplicates()
    A.eliminate_zeros()
    return A


def _relax_integrality(hlp, var_lb: np.ndarray) -> int:
    """Drop integrality markers in place of ``var_lb``; return how many columns were relaxed."""
    import highspy

    integrality = list(hlp.integrality_)
    if not integrality:
        return 0
    codes = np.array([int(t) for t in integrality], dtype=np.int64)
    semi = np.isin(codes, [int(highspy.HighsVarType.kSemiContinuous), int(highspy.HighsVarType.kSemiInteger)])
    var_lb[semi] = np.minimum(var_lb[semi], 0.0)
    return int(np.count_nonzero(codes != int(highspy.HighsVarType.kContinuous)))


def _highs_read(path: Path):
    """Read ``path`` with a fresh HiGHS instance; return its HighsLp or raise InvalidProblemError."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    lower = path.name.lower()
    tmpdir = None
    target = path
    try:
        if not lower.endswith((".mps", ".mps.gz")):
            # HiGHS picks its reader from the extension; gzip is detected from the contents.
            tmpdir = tempfile.mkdtemp(prefix="scotopt_mps_")
            target = Path(tmpdir) / "model.mps"
            try:
                os.symlink(path.resolve(), target)
            except OSError:
                shutil.copyfile(path, target)
        status = h.readModel(str(target))
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    if status == highspy.HighsStatus.kError:
        raise InvalidProblemError(
            f"{path}: HiGHS could not read this file as MPS (fixed or free format); check that it "
            "is a complete MPS file (NAME/ROWS/COLUMNS/RHS/.../ENDATA sections)"
        )
    return h.getLp()


def read_mps(path, name: str | None = None) -> LP:
    """Read an MPS file (fixed or free format, plain or gzip, LF or CRLF) into an :class:`LP`.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip compression is detected from its contents.
    name : str, optional
        ``lp.name``; defaults to the file name without ``.gz`` and ``.mps``.

    Returns
    -------
    LP
        A minimisation problem; ``lp.objective_sign`` is -1 if the file maximises (``c`` and
        ``c0`` are then negated), else +1. See the module docstring for the other conventions.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    InvalidProblemError
        If HiGHS cannot read the file, or its data fails :meth:`LP.validate`; the message names
        the file.

    Warns
    -----
    UserWarning
        Once, if integer / semi-continuous columns were relaxed to continuous ones.
    """
    import highspy

    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, f"MPS file not found: {path}", str(path))
    if path.is_dir():
        raise InvalidProblemError(f"{path} is a directory, not an MPS file")
    hlp = _highs_read(path)

    c = _as_float(hlp.col_cost_)
    var_lb = _as_float(hlp.col_lower_)
    var_ub = _as_float(hlp.col_upper_)
    con_lb = _as_float(hlp.row_lower_)
    con_ub = _as_float(hlp.row_upper_)
    c0 = float(hlp.offset_)
    A = _constraint_matrix(hlp)

    relaxed = _relax_integrality(hlp, var_lb)
    if relaxed:
        warnings.warn(
            f"{path}: relaxed {relaxed} integer/semi-continuous column(s) to continuous; "
            "scotopt solves the LP relaxation",
            UserWarning,
            stacklevel=2,
        )

    sign = 1
    if hlp.sense_ == highspy.ObjSense.kMaximize:
        sign = -1
        c = -c
        c0 = -c0

    try:
        lp = LP(c, A, con_lb, con_ub, var_lb, var_ub, c0=c0, name=name or _default_name(path))
    except InvalidProblemError as exc:
        raise InvalidProblemError(f"{path}: {exc}") from exc
    lp.objective_sign = sign
    lp.row_names = [str(s) for s in hlp.row_names_]
    lp.col_names = [str(s) for s in hlp.col_names_]
    return lp
