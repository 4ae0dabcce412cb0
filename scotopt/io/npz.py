"""scotopt's npz schema for problem tensors, version 1: read and write.

An ``.npz`` (NumPy zip, no pickles) holding:

=================  ==========================  ===========================================
key                dtype / shape               meaning
=================  ==========================  ===========================================
format_version     int64 scalar                1
kind               str scalar                  "lp" or "qp"
c                  float64 (n,)                objective
A_data             float64 (nnz,)              CSR values of A
A_indices          int32/int64 (nnz,)          CSR column indices, each in [0, n)
A_indptr           int32/int64 (m+1,)          CSR row pointers, non-decreasing, 0 .. nnz
A_shape            int64 (2,)                  (m, n)
con_lb, con_ub     float64 (m,)                row bounds (-inf / +inf allowed)
var_lb, var_ub     float64 (n,)                column bounds
c0                 float64 scalar              objective constant
objective_sign     int64 scalar, optional      -1 if the source maximised (default 1)
name               str scalar, optional        problem name
row_names          str (m,), optional          row names
col_names          str (n,), optional          column names
P_data, P_indices  like A_*, kind "qp" only    CSR of the symmetric (n, n) matrix P
P_indptr
=================  ==========================  ===========================================

The problem is ``min 1/2 x'Px + c@x + c0 s.t. con_lb <= A x <= con_ub, var_lb <= x <= var_ub``.
Readers of a later version refuse files whose ``format_version`` they do not know.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from scotopt.io.errors import FileFormatError
from scotopt.io.textfile import existing_file
from scotopt.problem import LP, QP
from scotopt.status import InvalidProblemError

__all__ = ["FORMAT_VERSION", "save_npz", "load_npz", "npz_array_shapes"]

FORMAT_VERSION = 1
_REQUIRED = ("format_version", "c", "A_data", "A_indices", "A_indptr", "A_shape", "con_lb", "con_ub",
             "var_lb", "var_ub", "c0")


def save_npz(problem, path, compressed: bool = False) -> Path:
    """Write ``problem`` (LP or QP) in the schema above; return the path."""
    path = Path(os.fspath(path))
    if problem.is_matrix_free:
        raise InvalidProblemError("a matrix-free LP (LinearOperator) has no entries to save")
    A = sp.csr_matrix(problem.A)
    arrays = {
        "format_version": np.int64(FORMAT_VERSION),
        "kind": np.str_("qp" if isinstance(problem, QP) else "lp"),
        "c": problem.c, "A_data": A.data, "A_indices": A.indices, "A_indptr": A.indptr,
        "A_shape": np.array(A.shape, dtype=np.int64),
        "con_lb": problem.con_lb, "con_ub": problem.con_ub, "var_lb": problem.var_lb, "var_ub": problem.var_ub,
        "c0": np.float64(problem.c0), "objective_sign": np.int64(getattr(problem, "objective_sign", 1)),
        "name": np.str_(problem.name),
    }
    for key, count in (("row_names", A.shape[0]), ("col_names", A.shape[1])):
        names = getattr(problem, key, None)
        if names is not None and len(names) == count:
            arrays[key] = np.array(names, dtype=str) if count else np.zeros(0, dtype="<U1")
    if isinstance(problem, QP):
        P = sp.csr_matrix(problem.P)
        arrays.update(P_data=P.data, P_indices=P.indices, P_indptr=P.indptr)
    with open(path, "wb") as fh:  # an open file keeps NumPy from appending ".npz" to the name
        (np.savez_compressed if compressed else np.savez)(fh, **arrays)
    return path


def npz_array_shapes(path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array in an npz file, read from the headers only (no data)."""
    path = existing_file(path)
    shapes = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                              else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = reader(fh)
                shapes[info.filename[:-4]] = (shape, dtype)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise FileFormatError(path, None, f"not a readable npz archive ({exc})",
                              "a file written by numpy.savez") from exc
    return shapes


def _scalar(npz, key, path, kind):
    value = npz[key]
    if value.shape != ():
        raise FileFormatError(path, None, f"'{key}' has shape {value.shape}", f"a {kind} scalar")
    return value[()]


def _csr(npz, prefix: str, shape, path) -> sp.csr_matrix:
    data, indices, indptr = (npz[f"{prefix}_{k}"] for k in ("data", "indices", "indptr"))
    m, n = shape
    for key, arr in (("data", data), ("indices", indices), ("indptr", indptr)):
        if arr.ndim != 1:
            raise FileFormatError(path, None, f"'{prefix}_{key}' is {arr.ndim}-D", "a 1-D array")
    if not np.issubdtype(indices.dtype, np.integer) or not np.issubdtype(indptr.dtype, np.integer):
        raise FileFormatError(path, None, f"{prefix}_indices / {prefix}_indptr have dtypes {indices.dtype} / "
                              f"{indptr.dtype}", "integer arrays")
    if not (np.issubdtype(data.dtype, np.floating) or np.issubdtype(data.dtype, np.integer)):
        raise FileFormatError(path, None, f"'{prefix}_data' has dtype {data.dtype}", "a real array")
    if indptr.shape[0] != m + 1:
        raise FileFormatError(path, None, f"'{prefix}_indptr' has {indptr.shape[0]} entries for {m} rows",
                              f"{m + 1} entries (rows + 1)")
    if data.shape[0] != indices.shape[0]:
        raise FileFormatError(path, None, f"'{prefix}_data' has {data.shape[0]} entries but '{prefix}_indices' has "
                              f"{indices.shape[0]}", "arrays of the same length")
    if indptr[0] != 0 or indptr[-1] != data.shape[0] or np.any(np.diff(indptr) < 0):
        raise FileFormatError(path, None, f"'{prefix}_indptr' is not a valid CSR row pointer",
                              f"non-decreasing values from 0 to {data.shape[0]}")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise FileFormatError(path, None, f"'{prefix}_indices' has a column index outside [0, {n})",
                              "column indices of the matrix shape")
    return sp.csr_matrix((data.astype(np.float64), indices, indptr), shape=(m, n))


def load_npz(path, name: str | None = None, max_bytes: int | None = None):
    """Read a problem saved by :func:`save_npz`; raise :class:`FileFormatError` on a bad file.

    ``max_bytes``: refuse (:class:`scotopt.status.InsufficientMemoryError`) before reading any
    array when the arrays would take more memory than that (see :mod:`scotopt.memory`).
    """
    from scotopt.memory import check_fits, npz_bytes

    path = existing_file(path)
    shapes = npz_array_shapes(path)
    check_fits(npz_bytes(shapes), f"reading {path}", max_bytes)
    missing = [k for k in _REQUIRED if k not in shapes]
    if "format_version" in shapes:
        with np.load(path, allow_pickle=False) as npz:
            version = npz["format_version"]
        if version.shape != () or not np.issubdtype(version.dtype, np.integer) or int(version) != FORMAT_VERSION:
            raise FileFormatError(path, None, f"format_version is {version!r}",
                                  f"format_version {FORMAT_VERSION} (this scotopt reads version {FORMAT_VERSION})")
    if missing:
        raise FileFormatError(path, None, f"missing array(s) {', '.join(missing)}",
                              "the keys of scotopt's npz schema (scotopt.io.npz)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            kind = str(_scalar(npz, "kind", path, "str")) if "kind" in npz.files else "lp"
            if kind not in ("lp", "qp"):
                raise FileFormatError(path, None, f"kind is {kind!r}", "'lp' or 'qp'")
            shape = npz["A_shape"]
            if shape.shape != (2,) or not np.issubdtype(shape.dtype, np.integer) or (shape < 0).any():
                raise FileFormatError(path, None, f"A_shape is {shape!r}", "two non-negative integers (rows, columns)")
            m, n = (int(v) for v in shape)
            A = _csr(npz, "A", (m, n), path)
            vectors = {}
            for key, length in (("c", n), ("con_lb", m), ("con_ub", m), ("var_lb", n), ("var_ub", n)):
                arr = npz[key]
                if arr.shape != (length,):
                    raise FileFormatError(path, None, f"'{key}' has shape {arr.shape}",
                                          f"shape ({length},) to match A_shape ({m}, {n})")
                vectors[key] = arr
            c0 = float(_scalar(npz, "c0", path, "float"))
            sign = int(_scalar(npz, "objective_sign", path, "int")) if "objective_sign" in npz.files else 1
            if sign not in (1, -1):
                raise FileFormatError(path, None, f"objective_sign is {sign}", "1 or -1")
            stored_name = str(_scalar(npz, "name", path, "str")) if "name" in npz.files else None
            names = {}
            for key, count in (("row_names", m), ("col_names", n)):
                if key in npz.files:
                    arr = npz[key]
                    if arr.shape != (count,):
                        raise FileFormatError(path, None, f"'{key}' has shape {arr.shape}", f"shape ({count},)")
                    names[key] = [str(s) for s in arr]
            P = None
            if kind == "qp":
                absent = [k for k in ("P_data", "P_indices", "P_indptr") if k not in npz.files]
                if absent:
                    raise FileFormatError(path, None, f"kind 'qp' without {', '.join(absent)}",
                                          "P_data, P_indices, P_indptr")
                P = _csr(npz, "P", (n, n), path)
    except FileFormatError:
        raise
    except (ValueError, KeyError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise FileFormatError(path, None, f"cannot read the arrays ({exc})", "arrays written by numpy.savez") from exc
    from scotopt.io.mps import default_name

    problem_name = name or stored_name or default_name(path)
    try:
        if P is not None:
            problem = QP(P, vectors["c"], A, vectors["con_lb"], vectors["con_ub"], vectors["var_lb"],
                         vectors["var_ub"], c0=c0, name=problem_name)
        else:
            problem = LP(vectors["c"], A, vectors["con_lb"], vectors["con_ub"], vectors["var_lb"],
                         vectors["var_ub"], c0=c0, name=problem_name)
    except InvalidProblemError as exc:
        raise FileFormatError(path, None, str(exc)) from exc
    problem.objective_sign = sign
    problem.row_names = names.get("row_names")
    problem.col_names = names.get("col_names")
    return problem
