"""Exchange LPs with HiGHS (``highspy``): hand an :class:`~scotopt.LP` to it, or read MPS with its reader."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from scotopt.io.errors import FileFormatError
from scotopt.problem import LP
from scotopt.status import InvalidProblemError


@contextlib.contextmanager
def _stdout_silenced():
    """Send file descriptor 1 to /dev/null: HiGHS's C++ banner bypasses Python's sys.stdout."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no usable fd 1 (embedded interpreters): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def quiet_highs():
    """A ``highspy.Highs`` with output off that printed no banner on stdout."""
    import highspy

    with _stdout_silenced():
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
    return h


def to_highs_lp(lp: LP):
    """A ``highspy.HighsLp`` holding ``lp`` (minimisation, column-wise matrix, offset = c0)."""
    import highspy

    if lp.is_matrix_free:
        raise InvalidProblemError("a matrix-free LP (LinearOperator) cannot be handed to HiGHS")
    A = sp.csc_matrix(lp.A, dtype=np.float64)
    A.sort_indices()
    m, n = A.shape
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n, m
    model.col_cost_ = np.asarray(lp.c, dtype=np.float64)
    model.col_lower_ = np.asarray(lp.var_lb, dtype=np.float64)  # highspy.kHighsInf is inf
    model.col_upper_ = np.asarray(lp.var_ub, dtype=np.float64)
    model.row_lower_ = np.asarray(lp.con_lb, dtype=np.float64)
    model.row_upper_ = np.asarray(lp.con_ub, dtype=np.float64)
    model.offset_ = float(lp.c0)
    model.sense_ = highspy.ObjSense.kMinimize
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.num_col_, model.a_matrix_.num_row_ = n, m
    model.a_matrix_.start_ = A.indptr.astype(np.int32)
    model.a_matrix_.index_ = A.indices.astype(np.int32)
    model.a_matrix_.value_ = A.data
    return model


def _highs_matrix(hlp) -> sp.csr_matrix:
    import highspy

    mat = hlp.a_matrix_
    m, n = int(hlp.num_row_), int(hlp.num_col_)
    start = np.asarray(mat.start_, dtype=np.int64)
    index = np.asarray(mat.index_, dtype=np.int64)
    value = np.asarray(mat.value_, dtype=np.float64)
    if mat.format_ == highspy.MatrixFormat.kRowwise:
        A = sp.csr_matrix((value[: start[m]], index[: start[m]], start[: m + 1]), shape=(m, n))
    else:
        A = sp.csc_matrix((value[: start[n]], index[: start[n]], start[: n + 1]), shape=(m, n))
    A = sp.csr_matrix(A, dtype=np.float64)
    A.sum_duplicates()
    A.eliminate_zeros()
    return A


def _infinite(values) -> np.ndarray:
    arr = np.array(values, dtype=np.float64).reshape(-1)
    arr[arr >= 1e30] = np.inf
    arr[arr <= -1e30] = -np.inf
    return arr


def read_with_highs(path: Path, name: str) -> LP:
    """Read an MPS file with highspy's reader (``read_mps(engine="highs")``).

    Faster than scotopt's reader on large files; errors carry no line number, integer columns
    are relaxed with one warning, quadratic sections are refused, and free-format files with
    numeric names can be misread (see :mod:`scotopt.io.mps`).
    """
    import highspy

    h = quiet_highs()
    tmpdir = None
    target = path
    try:
        if not path.name.lower().endswith((".mps", ".mps.gz")):
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
        raise FileFormatError(path, None, "HiGHS could not read this file as MPS",
                              "a complete MPS file; read it with engine='scotopt' for the line at fault")
    hlp = h.getLp()
    if h.getModel().hessian_.dim_ > 0:
        raise FileFormatError(path, None, "the file has a quadratic objective", "an LP; QPS needs engine='scotopt'")
    var_lb = _infinite(hlp.col_lower_)
    integrality = [int(t) for t in hlp.integrality_]
    if integrality:
        codes = np.array(integrality)
        semi = np.isin(codes, [int(highspy.HighsVarType.kSemiContinuous), int(highspy.HighsVarType.kSemiInteger)])
        var_lb[semi] = np.minimum(var_lb[semi], 0.0)
        relaxed = int(np.count_nonzero(codes != int(highspy.HighsVarType.kContinuous)))
        if relaxed:
            warnings.warn(f"{path}: relaxed {relaxed} integer/semi-continuous column(s) to continuous",
                          UserWarning, stacklevel=3)
    sign = -1 if hlp.sense_ == highspy.ObjSense.kMaximize else 1
    try:
        lp = LP(sign * _infinite(hlp.col_cost_), _highs_matrix(hlp), _infinite(hlp.row_lower_),
                _infinite(hlp.row_upper_), var_lb, _infinite(hlp.col_upper_), c0=sign * float(hlp.offset_), name=name)
    except InvalidProblemError as exc:
        raise FileFormatError(path, None, str(exc)) from exc
    lp.objective_sign = sign
    lp.row_names = [str(s) for s in hlp.row_names_]
    lp.col_names = [str(s) for s in hlp.col_names_]
    return lp
