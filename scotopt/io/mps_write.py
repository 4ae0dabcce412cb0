"""Write an LP or QP as a free-format MPS (or QPS) file that :func:`read_mps` reads back exactly.

Row bounds [l, u] become E (l = u), L (l = -inf), G (u = +inf), N (both infinite, read back
only with ``keep_free_rows=True``) or a ranged row: G with RHS l, or L with RHS u, and a RANGES
entry r, nudged by a few ulps so that l + r == u (or u - r == l) holds exactly in float64. Where
neither form is exact (rare: both ends large and of different binades) the writer warns; the
bounds are then off by an ulp of the larger end. Column bounds use FX, FR, MI, LO, UP. Numbers
are written with Python's shortest round-trip representation. A QP's P goes to QUADOBJ (lower
triangle). Names come from ``problem.row_names`` / ``col_names`` when they are unique, non-empty
and free of white space, else ``R0, R1, ...`` / ``C0, C1, ...``.
"""

from __future__ import annotations

import gzip
import io
import os
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from scotopt.problem import QP

__all__ = ["write_mps", "writable_names"]


def writable_names(names, count: int) -> bool:
    """True if ``names`` can be written to free MPS as they are (unique, no spaces, Latin-1)."""
    if names is None or len(names) != count or len(set(names)) != count:
        return False
    return all(isinstance(s, str) and s and s.isprintable() and not any(ch.isspace() for ch in s)
               and s[0] not in "*$" and _latin1(s) for s in names)


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _names(problem, attr: str, count: int, prefix: str) -> list[str]:
    names = getattr(problem, attr, None)
    return list(names) if writable_names(names, count) else [f"{prefix}{i}" for i in range(count)]


def _exact_range(base: np.ndarray, target: np.ndarray, sign: float) -> tuple[np.ndarray, np.ndarray]:
    """Ranges r with base + sign*r == target exactly where a few ulps of search find one."""
    r = np.abs(target - base)
    for _ in range(8):
        bad = (base + sign * r) != target
        if not bad.any():
            break
        high = (base + sign * r) > target if sign > 0 else (base + sign * r) < target
        r = np.where(bad & high, np.nextafter(r, 0), np.where(bad, np.nextafter(r, np.inf), r))
    return r, (base + sign * r) == target


def write_mps(problem, path) -> Path:
    """Write ``problem`` (LP or QP) to ``path`` in free MPS format; gzip if the name ends in .gz.

    Returns the path. The file's objective sense is ``problem.objective_sign`` (MAX for -1), so
    ``read_mps`` returns the same minimisation, names and ``objective_sign``.
    """
    path = Path(os.fspath(path))
    if problem.is_matrix_free:
        raise ValueError("a matrix-free LP (LinearOperator) has no entries to write")
    m, n = problem.shape
    rows = _names(problem, "row_names", m, "R")
    cols = _names(problem, "col_names", n, "C")
    taken = set(rows) | set(cols)
    objective = "OBJ"
    while objective in taken:
        objective += "_"
    sign = float(getattr(problem, "objective_sign", 1))
    lb, ub = problem.con_lb, problem.con_ub
    out = io.StringIO()
    w = out.write
    w(f"NAME {problem.name if writable_names([problem.name], 1) else 'scotopt'}\n")
    w(f"OBJSENSE\n    {'MAX' if sign < 0 else 'MIN'}\n")
    free = np.isinf(lb) & np.isinf(ub)
    kind = np.where(lb == ub, "E", np.where(np.isinf(lb), "L", "G"))
    kind[free] = "N"
    ranged = np.flatnonzero(np.isfinite(lb) & np.isfinite(ub) & (lb != ub))
    ranges = np.zeros(0)
    if ranged.size:
        # G row b = l with range r (u = l + r), or L row b = u (l = u - r): whichever is exact.
        r_up, exact_up = _exact_range(lb[ranged], ub[ranged], +1.0)
        r_down, exact_down = _exact_range(ub[ranged], lb[ranged], -1.0)
        use_l = ~exact_up & exact_down
        if not (exact_up | exact_down).all():
            warnings.warn(f"{int((~(exact_up | exact_down)).sum())} ranged row(s) cannot be written exactly; "
                          "off by an ulp", UserWarning, stacklevel=2)
        kind[ranged[use_l]] = "L"
        ranges = np.where(use_l, r_down, r_up)
    w(f"ROWS\n N  {objective}\n")
    for name, k in zip(rows, kind, strict=True):
        w(f" {k}  {name}\n")

    w("COLUMNS\n")
    A = sp.csc_matrix(problem.A)
    A.sort_indices()
    c = sign * problem.c
    for j in range(n):
        start, end = A.indptr[j], A.indptr[j + 1]
        entries = [(rows[i], v) for i, v in zip(A.indices[start:end], A.data[start:end], strict=True) if v != 0]
        if c[j] != 0 or not entries:
            entries.insert(0, (objective, c[j]))
        for row_name, v in entries:
            w(f"    {cols[j]}  {row_name}  {float(v)!r}\n")

    rhs = np.where(kind == "L", ub, lb)
    w("RHS\n")
    c0 = sign * problem.c0
    if c0 != 0:
        w(f"    RHS  {objective}  {-c0!r}\n")
    for i in np.flatnonzero((rhs != 0) & (kind != "N")):
        w(f"    RHS  {rows[i]}  {float(rhs[i])!r}\n")
    if ranged.size:
        w("RANGES\n")
        for i, value in zip(ranged, ranges, strict=True):
            w(f"    RNG  {rows[i]}  {float(value)!r}\n")

    w("BOUNDS\n")
    for j in range(n):
        low, up = problem.var_lb[j], problem.var_ub[j]
        if low == up:
            w(f" FX BND  {cols[j]}  {float(low)!r}\n")
        elif np.isinf(low) and np.isinf(up):
            w(f" FR BND  {cols[j]}\n")
        else:
            if np.isinf(low):
                w(f" MI BND  {cols[j]}\n")
            elif low != 0 or (up < 0):
                w(f" LO BND  {cols[j]}  {float(low)!r}\n")
            if np.isfinite(up):
                w(f" UP BND  {cols[j]}  {float(up)!r}\n")

    if isinstance(problem, QP):
        lower = sp.tril(problem.P, format="coo")
        w("QUADOBJ\n")
        for i, j, v in zip(lower.row, lower.col, lower.data, strict=True):
            if v != 0:
                w(f"    {cols[j]}  {cols[i]}  {float(sign * v)!r}\n")
    w("ENDATA\n")
    data = out.getvalue().encode("latin-1")
    if path.name.lower().endswith(".gz"):
        data = gzip.compress(data, compresslevel=6)
    path.write_bytes(data)
    return path
