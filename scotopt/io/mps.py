"""Read MPS and QPS files (fixed or free format, plain or gzip, LF or CRLF) into an LP or QP.

The format (IBM MPSX, with the common free-format and QPS extensions)::

    NAME          example
    OBJSENSE                          (optional; MAX / MAXIMIZE / MIN / MINIMIZE, same or next line)
        MAX
    ROWS
     N  cost                          the first N row is the objective (or the one OBJNAME names)
     L  cap1                          L: a@x <= rhs,  G: a@x >= rhs,  E: a@x = rhs
    COLUMNS
        x1        cost      1.0   cap1      2.0
        MARKER    'MARKER'  'INTORG'      integer columns until 'INTEND'
    RHS
        rhs       cap1      4.0   cost     -3.5    an RHS on the objective row gives c0 = +3.5
    RANGES
        rng       cap1      2.0               turns a row into a two-sided one (table below)
    BOUNDS
     UP bnd       x1        4.0               UP LO FX FR MI PL BV LI UI SC
    QUADOBJ                                   (QPS) one triangle of P; QMATRIX: all of P
        x1        x1        2.0
    ENDATA

Conventions of the LP returned (documented because readers differ on them):

- RANGES with value R on a row with right-hand side b: E rows become [b, b+|R|] if R >= 0 and
  [b-|R|, b] if R < 0; L rows [b-|R|, b]; G rows [b, b+|R|] (the MPSX rule, as in HiGHS and
  CPLEX).
- Default column bounds are [0, +inf). ``UP`` with a negative value on a column whose lower bound
  is still the default 0 sets the lower bound to -inf (the MPSX rule) and warns once. ``BV`` is
  [0, 1]; integer columns (``MARKER`` / ``BV`` / ``LI`` / ``UI``) and semi-continuous ones
  (``SC``: x in {0} U [l, u] relaxed to its convex hull [min(l, 0), u]) are relaxed to continuous
  columns with one warning: scotopt solves the relaxation.
- Values of magnitude >= ``infinity`` (1e20, HiGHS's threshold) in RHS, RANGES and BOUNDS mean
  infinite; ``Inf`` / ``-Infinity`` are accepted too. NaN is refused everywhere, and matrix and
  cost entries must be finite.
- N rows other than the objective are free rows: dropped, like HiGHS does, unless
  ``keep_free_rows=True`` keeps them as rows with bounds (-inf, +inf).
- The objective constant ``c0`` is minus the RHS of the objective row. The LP is always a
  minimisation: ``OBJSENSE MAX`` negates ``c``, ``c0`` (and ``P``) and sets
  ``lp.objective_sign = -1``, so the file's objective is ``lp.objective_sign * lp.objective(x)``.
- Only the first RHS, RANGES and BOUNDS set is used; lines of other sets are skipped with one
  warning.
- A problem with a QUADOBJ / QMATRIX / QSECTION section is returned as :class:`scotopt.QP` with
  objective ``1/2 x'Px + c@x + c0``; QUADOBJ lists one triangle (off-diagonal entries are
  mirrored), QMATRIX and QSECTION list the whole matrix.

Fixed versus free format: ``format="auto"`` (the default) splits each line on white space and
falls back to the fixed MPS columns (2-3, 5-12, 15-22, 25-36, 40-47, 50-61) for a line whose
field count does not fit, which is how names with spaces appear in fixed files. Whether an RHS or
RANGES line starts with a set name is decided by the number of fields (odd: it does), never by
whether the first field looks like a row name: the Maros-Meszaros file DPKLO1 names its rows
``1``, ``2``, ... and its RHS set ``1``, which HiGHS's free-format reader misreads (its objective
comes out 0.7125 instead of the published 0.3701).

Errors: every malformed line raises :class:`scotopt.io.FileFormatError` with the file, the
1-based line number, what is wrong and what was expected. ``engine="highs"`` hands the file to
highspy's reader instead (faster on large files, no line numbers, the caveats above).
"""

from __future__ import annotations

import gc
import math
import warnings
from array import array
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from scotopt.io.errors import FileFormatError
from scotopt.io.textfile import existing_file, read_lines
from scotopt.problem import LP, QP
from scotopt.status import InvalidOptionError, InvalidProblemError

__all__ = ["read_mps", "default_name"]

INFINITY = 1e20
_SUPPORTED = {"NAME", "OBJSENSE", "OBJNAME", "ROWS", "COLUMNS", "RHS", "RANGES", "BOUNDS",
              "QUADOBJ", "QMATRIX", "QSECTION", "ENDATA"}
_REFUSED = {
    "SOS": "SOS constraints",
    "QCMATRIX": "quadratic constraints",
    "CSECTION": "conic constraints",
    "INDICATORS": "indicator constraints",
    "LAZYCONS": "lazy constraints",
    "USERCUTS": "user cuts",
    "GENERAL": "general integer declarations",
    "BRANCH": "branching priorities",
}
_RANK = {"NAME": 0, "OBJSENSE": 1, "OBJNAME": 1, "ROWS": 2, "COLUMNS": 3, "RHS": 4, "RANGES": 4, "BOUNDS": 4,
         "QUAD": 4, "ENDATA": 5}
_ROW_TYPES = {"N", "E", "L", "G"}
_VALUED_BOUNDS = {"UP", "LO", "FX", "LI", "UI"}
_VALUELESS_BOUNDS = {"FR", "MI", "PL", "BV"}
_FIELDS = {  # section -> (allowed field counts, what a line holds)
    "ROWS": ((2,), "a row type (N, E, L, G) and a row name"),
    "COLUMNS": ((3, 5), "a column name and one or two (row, value) pairs"),
    "RHS": ((2, 3, 4, 5), "[set name] row value [row value]"),
    "RANGES": ((2, 3, 4, 5), "[set name] row value [row value]"),
    "BOUNDS": ((2, 3, 4), "type [set name] column [value]"),
    "QUADOBJ": ((3,), "column column value"),
    "QMATRIX": ((3,), "column column value"),
    "QSECTION": ((3,), "column column value"),
    "OBJSENSE": ((1,), "MIN, MINIMIZE, MAX or MAXIMIZE"),
    "OBJNAME": ((1,), "the objective row's name"),
}
_FIXED_SLICES = ((1, 3), (4, 12), (14, 22), (24, 36), (39, 47), (49, 61))


def default_name(path: Path) -> str:
    """File name without ``.gz`` and a problem extension: ``afiro.mps.gz`` -> ``afiro``."""
    name = path.name
    lower = name.lower()
    if lower.endswith(".gz"):
        name, lower = name[:-3], lower[:-3]
    for ext in (".mps", ".qps", ".npz", ".free", ".fixed"):
        if lower.endswith(ext):
            name = name[: -len(ext)]
            break
    return name or path.name


def _fixed_fields(line: str) -> list[str]:
    return [line[a:b].strip() for a, b in _FIXED_SLICES]


class _Parser:
    """One pass over the lines; the state of the model as it is read."""

    def __init__(self, path: Path, lines: list[str], fmt: str, keep_free_rows: bool, infinity: float):
        self.path, self.lines, self.fmt = path, lines, fmt
        self.keep_free_rows, self.infinity = keep_free_rows, infinity
        self.name = None
        self.sense = 1
        self.objective_name = None
        self.row_index: dict[str, int] = {}  # constraint rows -> index; objective -> -1; dropped N rows -> -2
        self.row_types: list[str] = []
        self.row_names: list[str] = []
        self.row_lines: list[int] = []
        self.col_index: dict[str, int] = {}
        self.col_names: list[str] = []
        self.col_integer: list[bool] = []
        self.entry_rows, self.entry_cols = array("q"), array("q")
        self.entry_vals, self.entry_lines = array("d"), array("q")
        self.obj_cols, self.obj_vals, self.obj_lines = array("q"), array("d"), array("q")
        self.rhs: dict[int, float] = {}
        self.c0 = 0.0
        self.ranges: dict[int, float] = {}
        self.bound_changes: list[tuple[int, str, float, int]] = []
        self.quad_i, self.quad_j, self.quad_v, self.quad_lines = array("q"), array("q"), array("d"), array("q")
        self.quad_kind = None
        self.sets: dict[str, str] = {}
        self.skipped_sets: set[str] = set()
        self.section = None
        self.seen: set[str] = set()
        self.closed_columns: dict[str, int] = {}
        self.current_col = None
        self.integer_marker = False

    # ------------------------------------------------------------------ helpers
    def error(self, lineno: int, problem: str, expected: str | None = None):
        return FileFormatError(self.path, lineno, problem, expected)

    def number(self, token: str, lineno: int, what: str, finite: bool = False) -> float:
        try:
            value = float(token)
        except ValueError:
            raise self.error(lineno, f"bad number {token!r} for {what}", "a number such as 1.5, -2e3 or Inf") from None
        if math.isnan(value):
            raise self.error(lineno, f"NaN is not a valid {what}", "a number")
        if finite and not math.isfinite(value):
            raise self.error(lineno, f"{what} must be finite, got {token!r}", "a finite number")
        if abs(value) >= self.infinity:
            value = math.copysign(math.inf, value)
        return value

    def column(self, name: str, lineno: int) -> int:
        j = self.col_index.get(name)
        if j is None:
            raise self.error(lineno, f"unknown column {name!r}", "a column declared in COLUMNS")
        return j

    def row(self, name: str, lineno: int) -> int:
        i = self.row_index.get(name)
        if i is None:
            raise self.error(lineno, f"unknown row {name!r}", "a row declared in ROWS")
        return i

    def fixed_tokens(self, line: str):
        """Fixed-format fields turned into the free-format token list of the current section."""
        section = self.section
        if section in ("OBJSENSE", "OBJNAME"):
            return [line.strip()] if line.strip() else None
        f = _fixed_fields(line)
        if line[61:].strip():
            return None
        required = {"ROWS": (0, 1), "COLUMNS": (1, 2, 3), "RHS": (2, 3), "RANGES": (2, 3), "BOUNDS": (0, 2)}
        if not all(f[k] for k in required.get(section, (1, 2, 3))) or (bool(f[4]) != bool(f[5])):
            return None
        if section == "ROWS":
            return [f[0], f[1]]
        if section == "COLUMNS":
            return [f[1], f[2], f[3]] + ([f[4], f[5]] if f[4] else [])
        if section in ("RHS", "RANGES"):
            return ([f[1]] if f[1] else []) + [f[2], f[3]] + ([f[4], f[5]] if f[4] else [])
        if section == "BOUNDS":
            return [f[0]] + ([f[1]] if f[1] else []) + [f[2]] + ([f[3]] if f[3] else [])
        return [f[1], f[2], f[3]]  # quadratic sections, OBJSENSE, OBJNAME

    def use_set(self, kind: str, set_name: str | None) -> bool:
        """Only the first set of each kind (RHS, RANGES, BOUNDS) is read."""
        if set_name is None:
            return True
        first = self.sets.setdefault(kind, set_name)
        if first != set_name:
            self.skipped_sets.add(f"{kind} {set_name!r}")
            return False
        return True

    # ------------------------------------------------------------------ the pass
    def parse(self):
        lines = self.lines
        if not any(line.strip() for line in lines):
            raise self.error(1, "empty file", "an MPS file: NAME, ROWS, COLUMNS, ..., ENDATA")
        handlers = {
            "ROWS": self.rows_line, "COLUMNS": self.columns_line, "RHS": self.rhs_line,
            "RANGES": self.ranges_line, "BOUNDS": self.bounds_line, "QUADOBJ": self.quad_line,
            "QMATRIX": self.quad_line, "QSECTION": self.quad_line, "OBJSENSE": self.objsense_line,
            "OBJNAME": self.objname_line,
        }
        handler = None
        fast = {"COLUMNS": self.columns_fast, "BOUNDS": self.bounds_fast} if self.fmt != "fixed" else {}
        k, count = 0, len(lines)
        while k < count:
            line = lines[k]
            k += 1
            if not line or line[0] == "*" or not line.strip():
                continue
            if line[0] not in " \t":
                self.header(line, k)
                if self.section == "ENDATA":
                    return
                handler = handlers.get(self.section)
                if self.section in fast:
                    k = fast[self.section](k)
                continue
            if handler is None:
                raise self.error(k, f"data line outside a section: {line.strip()[:40]!r}",
                                 "a section header (NAME, ROWS, COLUMNS, RHS, RANGES, BOUNDS, ENDATA) in column 1")
            self.dispatch(handler, line, k)
        raise self.error(count, "the file ends without ENDATA (truncated?)", "an ENDATA line")

    def columns_fast(self, k: int) -> int:
        """Read COLUMNS lines from index ``k`` until the next section; return where it starts.

        The common line (a known column or a new one, known rows, finite numbers) is handled
        inline; anything else goes through :meth:`dispatch`, which has every check. The two
        paths store the same thing, so the fast one only saves time.
        """
        lines, count = self.lines, len(self.lines)
        row_get, col_index = self.row_index.get, self.col_index
        rows, cols, vals, where = self.entry_rows, self.entry_cols, self.entry_vals, self.entry_lines
        obj_cols, obj_vals, obj_lines = self.obj_cols, self.obj_vals, self.obj_lines
        limit = self.infinity
        j = col_index.get(self.current_col, -1)
        while k < count:
            line = lines[k]
            if line and line[0] not in " \t*":
                return k
            k += 1
            tokens = line.split()
            n = len(tokens)
            if n != 3 and n != 5:
                if n:
                    self.dispatch(self.columns_line, line, k)
                    j = col_index.get(self.current_col, -1)
                continue
            try:
                i1 = row_get(tokens[1])
                v1 = float(tokens[2])
                i2 = row_get(tokens[3]) if n == 5 else -3
                v2 = float(tokens[4]) if n == 5 else 0.0
            except ValueError:
                i1 = None
            name = tokens[0]
            if (i1 is None or i2 is None or v1 - v1 != 0.0 or v2 - v2 != 0.0 or abs(v1) >= limit
                    or abs(v2) >= limit or (name != self.current_col and name in col_index)):
                self.dispatch(self.columns_line, line, k)
                j = col_index.get(self.current_col, -1)
                continue
            if name != self.current_col:
                self.current_col = name
                j = col_index[name] = len(self.col_names)
                self.col_names.append(name)
                self.col_integer.append(self.integer_marker)
            for i, v in ((i1, v1), (i2, v2)) if n == 5 else ((i1, v1),):
                if i >= 0:
                    rows.append(i)
                    cols.append(j)
                    vals.append(v)
                    where.append(k)
                elif i == -1:
                    obj_cols.append(j)
                    obj_vals.append(v)
                    obj_lines.append(k)
        return k

    def bounds_fast(self, k: int) -> int:
        """Read BOUNDS lines like :meth:`columns_fast`: ``TYPE set column value`` inline."""
        lines, count = self.lines, len(self.lines)
        col_get = self.col_index.get
        changes = self.bound_changes
        limit = self.infinity
        while k < count:
            line = lines[k]
            if line and line[0] not in " \t*":
                return k
            k += 1
            tokens = line.split()
            if len(tokens) == 4:
                kind = tokens[0].upper()
                j = col_get(tokens[2])
                try:
                    value = float(tokens[3])
                except ValueError:
                    j = None
                if (j is not None and kind in _VALUED_BOUNDS and value - value == 0.0 and abs(value) < limit
                        and self.sets.get("BOUNDS", tokens[1]) == tokens[1]):
                    self.sets["BOUNDS"] = tokens[1]
                    changes.append((j, kind, value, k))
                    continue
            if tokens:
                self.dispatch(self.bounds_line, line, k)
        return k

    def dispatch(self, handler, line: str, lineno: int):
        """Split ``line`` into fields and hand them to ``handler``.

        Format 'auto' tries the white-space split first; if its field count does not fit the
        section, or the handler refuses the fields (an unknown name, a bad number), the fixed
        MPS columns are tried before the first error is raised. Handlers change no state
        before they have validated the whole line, so a retry starts clean.
        """
        counts, what = _FIELDS[self.section]
        if self.fmt == "fixed" and not (self.section == "COLUMNS" and "MARKER" in line):
            tokens = self.fixed_tokens(line)
        else:
            tokens = line.split()
            if len(tokens) in counts:
                if self.fmt == "free":
                    return handler(tokens, lineno)
                try:
                    return handler(tokens, lineno)
                except FileFormatError as exc:
                    first_error = exc
                fixed = self.fixed_tokens(line)
                if fixed is None or fixed == tokens or len(fixed) not in counts:
                    raise first_error
                try:
                    return handler(fixed, lineno)
                except FileFormatError:
                    raise first_error from None
            if self.fmt == "auto":
                fixed = self.fixed_tokens(line)
                if fixed is not None and len(fixed) in counts:
                    try:
                        return handler(fixed, lineno)
                    except FileFormatError:
                        pass
                tokens = None
        if tokens is None or len(tokens) not in counts:
            found = len(line.split())
            raise self.error(lineno, f"{found} field(s) in a {self.section} line", what)
        return handler(tokens, lineno)

    def header(self, line: str, lineno: int):
        tokens = line.split()
        keyword = tokens[0].upper()
        if keyword in _REFUSED:
            raise self.error(lineno, f"section {keyword} ({_REFUSED[keyword]}) is not supported",
                             "an LP or QP: scotopt solves continuous problems")
        if keyword not in _SUPPORTED:
            raise self.error(lineno, f"unknown section {tokens[0][:40]!r}",
                             "one of NAME, OBJSENSE, ROWS, COLUMNS, RHS, RANGES, BOUNDS, QUADOBJ, QMATRIX, ENDATA "
                             "(data lines start with a space)")
        stage = "QUAD" if keyword in ("QUADOBJ", "QMATRIX", "QSECTION") else keyword
        if stage in self.seen:
            raise self.error(lineno, f"second {keyword} section", f"one {keyword} section")
        later = [s for s in self.seen if _RANK[s] > _RANK[stage]]
        if later:
            raise self.error(lineno, f"{keyword} section after {later[0]}",
                             "NAME, ROWS, COLUMNS, then RHS / RANGES / BOUNDS / QUADOBJ, then ENDATA")
        if _RANK[stage] > _RANK["ROWS"] and "ROWS" not in self.seen:
            raise self.error(lineno, f"{keyword} before any ROWS section", "a ROWS section first")
        if _RANK[stage] > _RANK["COLUMNS"] and stage != "ENDATA" and "COLUMNS" not in self.seen:
            raise self.error(lineno, f"{keyword} before the COLUMNS section", "ROWS, then COLUMNS")
        self.seen.add(stage)
        self.section = keyword
        self.finish_column()
        if keyword == "NAME":
            self.name = line[4:].strip() or None
        elif keyword == "OBJSENSE" and len(tokens) > 1:
            self.objsense_line(tokens[1:], lineno)
        elif keyword == "OBJNAME" and len(tokens) > 1:
            self.objname_line(tokens[1:], lineno)
        elif keyword in ("QUADOBJ", "QMATRIX", "QSECTION"):
            self.quad_kind = keyword
            if keyword == "QSECTION":
                if len(tokens) != 2 or self.row_index.get(tokens[1]) != -1:
                    raise self.error(lineno, "QSECTION must name the objective row",
                                     "QSECTION <objective row> (quadratic constraints are not supported)")
        elif len(tokens) > 1 and keyword in ("ROWS", "COLUMNS", "RHS", "RANGES", "BOUNDS", "ENDATA"):
            raise self.error(lineno, f"unexpected text after {keyword}: {' '.join(tokens[1:])[:40]!r}",
                             f"{keyword} alone on its line")

    def objsense_line(self, tokens: list[str], lineno: int):
        word = tokens[0].upper() if len(tokens) == 1 else " ".join(tokens)
        if word in ("MAX", "MAXIMIZE"):
            self.sense = -1
        elif word in ("MIN", "MINIMIZE"):
            self.sense = 1
        else:
            raise self.error(lineno, f"unknown objective sense {word[:20]!r}", "MIN, MINIMIZE, MAX or MAXIMIZE")

    def objname_line(self, tokens: list[str], lineno: int):
        if len(tokens) != 1:
            raise self.error(lineno, f"{len(tokens)} fields after OBJNAME", "one row name")
        self.objective_name = tokens[0]

    def rows_line(self, tokens: list[str], lineno: int):
        kind, name = tokens
        kind = kind.upper()
        if kind not in _ROW_TYPES:
            raise self.error(lineno, f"unknown row type {kind!r}", "N, E, L or G")
        if name in self.row_index:
            raise self.error(lineno, f"duplicate row name {name!r}", "each row declared once")
        if kind == "N":
            is_objective = (name == self.objective_name) if self.objective_name else (-1 not in self.row_index.values())
            if is_objective:
                self.row_index[name] = -1
                return
            if not self.keep_free_rows:
                self.row_index[name] = -2
                return
        self.row_index[name] = len(self.row_types)
        self.row_types.append(kind)
        self.row_names.append(name)
        self.row_lines.append(lineno)

    def finish_column(self):
        if self.current_col is not None:
            self.closed_columns[self.current_col] = 1
            self.current_col = None

    def columns_line(self, tokens: list[str], lineno: int):
        if len(tokens) == 3 and tokens[1].strip("'\"").upper() == "MARKER":
            kind = tokens[2].strip("'\"").upper()
            if kind not in ("INTORG", "INTEND"):
                raise self.error(lineno, f"unknown MARKER {tokens[2]!r}", "'INTORG' or 'INTEND'")
            self.integer_marker = kind == "INTORG"
            return
        name = tokens[0]
        i = self.row(tokens[1], lineno)
        value = self.number(tokens[2], lineno, f"coefficient of {name!r} in row {tokens[1]!r}", finite=True)
        if len(tokens) == 5:
            i2 = self.row(tokens[3], lineno)
            value2 = self.number(tokens[4], lineno, f"coefficient of {name!r} in row {tokens[3]!r}", finite=True)
        if name != self.current_col:
            if name in self.col_index:
                raise self.error(lineno, f"duplicate column {name!r}: its entries must be consecutive",
                                 "all of a column's entries on adjacent lines")
            self.current_col = name
            self.col_index[name] = len(self.col_names)
            self.col_names.append(name)
            self.col_integer.append(self.integer_marker)
        j = self.col_index[name]
        self.add_entry(i, j, value, lineno)
        if len(tokens) == 5:
            self.add_entry(i2, j, value2, lineno)

    def add_entry(self, i: int, j: int, value: float, lineno: int):
        if i >= 0:
            self.entry_rows.append(i)
            self.entry_cols.append(j)
            self.entry_vals.append(value)
            self.entry_lines.append(lineno)
        elif i == -1:
            self.obj_cols.append(j)
            self.obj_vals.append(value)
            self.obj_lines.append(lineno)

    def _pairs(self, tokens: list[str], lineno: int, kind: str, what: str):
        """Validated (row index, row name, value) triples of an RHS / RANGES line."""
        set_name = tokens[0] if len(tokens) % 2 == 1 else None
        pairs = tokens[1:] if set_name is not None else tokens
        triples = [(self.row(pairs[k], lineno), pairs[k],
                    self.number(pairs[k + 1], lineno, f"{what} of row {pairs[k]!r}")) for k in range(0, len(pairs), 2)]
        if len(triples) == 2 and triples[0][0] == triples[1][0]:
            raise self.error(lineno, f"row {triples[0][1]!r} twice on one line", "two different rows")
        return triples if self.use_set(kind, set_name) else []

    def rhs_line(self, tokens: list[str], lineno: int):
        triples = self._pairs(tokens, lineno, "RHS", "right-hand side")
        for i, row_name, value in triples:
            if i == -1 and not math.isfinite(value):
                raise self.error(lineno, "infinite RHS on the objective row", "a finite objective constant")
            if i >= 0 and i in self.rhs:
                raise self.error(lineno, f"second RHS for row {row_name!r}", "one RHS entry per row")
            if i >= 0 and not math.isfinite(value):
                kind = self.row_types[i]
                if kind == "E" or (kind in ("L", "G") and (kind == "L") == (value < 0)):
                    raise self.error(lineno, f"right-hand side {value} for {kind} row {row_name!r} leaves no "
                                     "feasible value", "a finite value")
        for i, _, value in triples:
            if i == -1:
                self.c0 = -value
            elif i >= 0:
                self.rhs[i] = value

    def ranges_line(self, tokens: list[str], lineno: int):
        triples = self._pairs(tokens, lineno, "RANGES", "range")
        for i, row_name, _ in triples:
            if i == -1:
                raise self.error(lineno, f"RANGES entry for the objective row {row_name!r}", "ranges on E, L, G rows")
            if i >= 0 and i in self.ranges:
                raise self.error(lineno, f"second RANGES entry for row {row_name!r}", "one range per row")
        for i, _, value in triples:
            if i >= 0:
                self.ranges[i] = value

    def bounds_line(self, tokens: list[str], lineno: int):
        kind = tokens[0].upper()
        if kind in _VALUED_BOUNDS or kind == "SC":
            if len(tokens) == 4:
                set_name, col_name, token = tokens[1:]
            elif len(tokens) == 3 and kind == "SC" and tokens[2] in self.col_index:
                set_name, col_name, token = tokens[1], tokens[2], None
            elif len(tokens) == 3:
                set_name, col_name, token = None, tokens[1], tokens[2]
            elif kind == "SC":
                set_name, col_name, token = None, tokens[1], None
            else:
                raise self.error(lineno, f"bound type {kind} needs a value", f"{kind} [set name] column value")
        elif kind in _VALUELESS_BOUNDS:
            if len(tokens) == 2:
                set_name, col_name = None, tokens[1]
            elif len(tokens) == 3 and (tokens[2] in self.col_index or tokens[1] not in self.col_index):
                set_name, col_name = tokens[1], tokens[2]
            elif len(tokens) == 3:
                set_name, col_name = None, tokens[1]
            else:
                set_name, col_name = tokens[1], tokens[2]
            token = None
        else:
            raise self.error(lineno, f"unknown bound type {tokens[0]!r}", "UP, LO, FX, FR, MI, PL, BV, LI, UI or SC")
        j = self.column(col_name, lineno)
        value = math.inf if token is None else self.number(token, lineno, f"{kind} bound of column {col_name!r}")
        if self.use_set("BOUNDS", set_name):
            self.bound_changes.append((j, kind, value, lineno))

    def quad_line(self, tokens: list[str], lineno: int):
        i, j = self.column(tokens[0], lineno), self.column(tokens[1], lineno)
        value = self.number(tokens[2], lineno, f"quadratic coefficient ({tokens[0]!r}, {tokens[1]!r})", finite=True)
        self.quad_i.append(i)
        self.quad_j.append(j)
        self.quad_v.append(value)
        self.quad_lines.append(lineno)

    # ------------------------------------------------------------------ assembly
    def _duplicates(self, first, second, lines, what):
        """Raise if a (first, second) pair occurs twice, naming the later line."""
        if len(first) < 2:
            return
        first, second, lines = (np.frombuffer(v, dtype=np.int64) if isinstance(v, array) else v
                                for v in (first, second, lines))
        a, b = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
        key = a * (int(b.max()) + 1 if b.size else 1) + b
        order = np.argsort(key, kind="stable")
        same = np.flatnonzero(key[order][1:] == key[order][:-1])
        if same.size:
            k1, k2 = order[same[0]], order[same[0] + 1]
            line_numbers = np.asarray(lines, dtype=np.int64)
            raise self.error(int(max(line_numbers[k1], line_numbers[k2])), what(int(a[k2]), int(b[k2])),
                             f"one entry per pair (first given at line {int(min(line_numbers[k1], line_numbers[k2]))})")

    def bounds(self, n: int):
        """Column bounds after every BOUNDS line, applied in file order (module docstring)."""
        lb = np.zeros(n)
        ub = np.full(n, np.inf)
        integer = np.array(self.col_integer, dtype=bool)
        semi = np.zeros(n, dtype=bool)
        changes = self.bound_changes
        cols = np.array([c[0] for c in changes], dtype=np.int64)
        kinds = np.array([c[1] for c in changes], dtype="<U2")
        values = np.array([c[2] for c in changes], dtype=np.float64)
        lines = np.array([c[3] for c in changes], dtype=np.int64)
        fixed_inf = np.flatnonzero((kinds == "FX") & ~np.isfinite(values))
        if fixed_inf.size:
            raise self.error(int(lines[fixed_inf[0]]), "FX bound with an infinite value", "a finite value")
        # A column with one BOUNDS line does not depend on the order: set those with masks.
        single = np.bincount(cols, minlength=n)[cols] == 1
        c, kind, v = cols[single], kinds[single], values[single]
        for names, lower, upper in ((("UP", "UI"), None, True), (("LO", "LI"), True, None), (("FX",), True, True),
                                    (("SC",), None, True)):
            pick = np.isin(kind, names)
            if lower:
                lb[c[pick]] = v[pick]
            if upper:
                ub[c[pick]] = v[pick]
        up_negative = np.isin(kind, ("UP", "UI")) & (v < 0)
        lb[c[up_negative]] = -np.inf  # the MPSX rule: the default lower bound 0 becomes -inf
        negative_up = int(np.count_nonzero(up_negative))
        for name, lower, upper in (("FR", -np.inf, np.inf), ("MI", -np.inf, None), ("PL", None, np.inf),
                                   ("BV", 0.0, 1.0)):
            pick = c[kind == name]
            if lower is not None:
                lb[pick] = lower
            if upper is not None:
                ub[pick] = upper
        semi[c[kind == "SC"]] = True
        integer[c[np.isin(kind, ("BV", "LI", "UI"))]] = True
        # Columns with several lines: one at a time, in file order.
        lb_set = np.zeros(n, dtype=bool)
        for k in np.flatnonzero(~single):
            j, kind_k, value = int(cols[k]), str(kinds[k]), float(values[k])
            if kind_k in ("UP", "UI"):
                if value < 0 and lb[j] == 0 and not lb_set[j]:
                    lb[j] = -np.inf
                    negative_up += 1
                ub[j] = value
            elif kind_k in ("LO", "LI", "FX", "FR", "MI", "BV"):
                lb_set[j] = True
                lb[j] = {"FR": -np.inf, "MI": -np.inf, "BV": 0.0}.get(kind_k, value)
                if kind_k in ("FX", "FR", "BV"):
                    ub[j] = {"FR": np.inf, "BV": 1.0}.get(kind_k, value)
            elif kind_k == "PL":
                ub[j] = np.inf
            elif kind_k == "SC":
                ub[j] = value
                semi[j] = True
            if kind_k in ("BV", "LI", "UI"):
                integer[j] = True
        lb[semi] = np.minimum(lb[semi], 0.0)
        crossed = np.flatnonzero(lb > ub)
        if crossed.size:
            j = int(crossed[0])
            line = int(lines[cols == j].max())
            raise self.error(line, f"column {self.col_names[j]!r} gets lower bound {lb[j]} > upper bound {ub[j]}",
                             "lower <= upper (the bounds of a column are applied in file order)")
        return lb, ub, int(np.count_nonzero(integer | semi)), negative_up

    def row_bounds(self, m: int):
        rhs = np.zeros(m)
        if self.rhs:
            rhs[np.fromiter(self.rhs.keys(), np.int64)] = np.fromiter(self.rhs.values(), np.float64)
        types = np.array(self.row_types, dtype="<U1") if m else np.zeros(0, dtype="<U1")
        lower = np.where(np.isin(types, ("E", "G")), rhs, -np.inf)
        upper = np.where(np.isin(types, ("E", "L")), rhs, np.inf)
        free = types == "N"
        lower[free], upper[free] = -np.inf, np.inf
        for i, r in self.ranges.items():
            kind, b, size = types[i], rhs[i], abs(r)
            if kind == "E":
                lower[i], upper[i] = (b, b + size) if r >= 0 else (b - size, b)
            elif kind == "L":
                lower[i] = b - size
            elif kind == "G":
                upper[i] = b + size
        return lower, upper

    def build(self, name: str | None):
        if "COLUMNS" not in self.seen:
            raise self.error(len(self.lines), "no COLUMNS section", "ROWS, then COLUMNS")
        if -1 not in self.row_index.values() and self.objective_name:
            raise self.error(1, f"OBJNAME names {self.objective_name!r}, which is not an N row",
                             "an N row of that name")
        m, n = len(self.row_types), len(self.col_names)
        self._duplicates(self.entry_cols, self.entry_rows, self.entry_lines,
                         lambda j, i: f"column {self.col_names[j]!r} has two entries in row {self.row_names[i]!r}")
        self._duplicates(self.obj_cols, self.obj_cols, self.obj_lines,
                         lambda j, _: f"column {self.col_names[j]!r} has two objective entries")
        rows = np.frombuffer(self.entry_rows, dtype=np.int64)
        cols = np.frombuffer(self.entry_cols, dtype=np.int64)
        vals = np.frombuffer(self.entry_vals, dtype=np.float64)
        A = sp.csr_matrix((vals, (rows, cols)), shape=(m, n), dtype=np.float64)
        A.eliminate_zeros()
        c = np.zeros(n)
        c[np.frombuffer(self.obj_cols, dtype=np.int64)] = np.frombuffer(self.obj_vals, dtype=np.float64)
        var_lb, var_ub, relaxed, negative_up = self.bounds(n)
        con_lb, con_ub = self.row_bounds(m)
        if relaxed:
            warnings.warn(f"{self.path}: relaxed {relaxed} integer/semi-continuous column(s) to continuous; "
                          "scotopt solves the LP relaxation", UserWarning, stacklevel=3)
        if negative_up:
            warnings.warn(f"{self.path}: {negative_up} UP bound(s) with a negative value on a column with the "
                          "default lower bound 0: lower bound set to -inf (MPSX rule)", UserWarning, stacklevel=3)
        if self.skipped_sets:
            warnings.warn(f"{self.path}: only the first set of each kind is read; skipped "
                          f"{', '.join(sorted(self.skipped_sets))}", UserWarning, stacklevel=3)
        sign = self.sense
        c, c0 = sign * c, sign * self.c0
        problem_name = name or default_name(self.path)
        try:
            if self.quad_kind is not None:
                P = self.quadratic(n) * sign
                problem = QP(P, c, A, con_lb, con_ub, var_lb, var_ub, c0=c0, name=problem_name)
            else:
                problem = LP(c, A, con_lb, con_ub, var_lb, var_ub, c0=c0, name=problem_name)
        except FileFormatError:
            raise
        except InvalidProblemError as exc:
            raise FileFormatError(self.path, None, str(exc)) from exc
        problem.objective_sign = sign
        problem.row_names = self.row_names
        problem.col_names = self.col_names
        problem.file_name = self.name
        return problem

    def quadratic(self, n: int) -> sp.csr_matrix:
        i = np.frombuffer(self.quad_i, dtype=np.int64)
        j = np.frombuffer(self.quad_j, dtype=np.int64)
        v = np.frombuffer(self.quad_v, dtype=np.float64)
        if self.quad_kind == "QUADOBJ":
            lo, hi = np.minimum(i, j), np.maximum(i, j)
            self._duplicates(lo, hi, self.quad_lines,
                             lambda a, b: f"QUADOBJ gives entry ({self.col_names[a]!r}, {self.col_names[b]!r}) twice "
                             "(QUADOBJ lists one triangle)")
            off = i != j
            i, j, v = np.concatenate([i, j[off]]), np.concatenate([j, i[off]]), np.concatenate([v, v[off]])
        else:
            self._duplicates(self.quad_i, self.quad_j, self.quad_lines,
                             lambda a, b: f"{self.quad_kind} gives entry ({self.col_names[a]!r}, "
                             f"{self.col_names[b]!r}) twice")
        P = sp.csr_matrix((v, (i, j)), shape=(n, n), dtype=np.float64)
        P.eliminate_zeros()
        return P


def read_mps(path, name: str | None = None, *, format: str = "auto", engine: str = "scotopt",
             keep_free_rows: bool = False, infinity: float = INFINITY):
    """Read an MPS or QPS file into an :class:`~scotopt.LP` (or :class:`~scotopt.QP`).

    Parameters
    ----------
    path : str or os.PathLike
        The file; gzip compression is detected from its contents, CRLF endings are accepted.
    name : str, optional
        ``problem.name``; defaults to the file name without ``.gz`` and ``.mps`` / ``.qps``.
    format : {"auto", "free", "fixed"}
        How lines are split into fields (module docstring). "auto" reads both.
    engine : {"scotopt", "highs"}
        "scotopt": this module's reader (line numbers in errors, QPS, the conventions above).
        "highs": highspy's reader, for speed on large well-formed LP files.
    keep_free_rows : bool
        Keep N rows other than the objective as free rows instead of dropping them.
    infinity : float
        Bound and RHS values of at least this magnitude mean infinite.

    Returns
    -------
    LP or QP
        A minimisation; ``objective_sign`` is -1 for a maximising file. ``row_names``,
        ``col_names`` and ``file_name`` (the NAME line) are set.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    scotopt.io.FileFormatError
        A malformed file: the message names the file, line and what was expected.
    """
    if format not in ("auto", "free", "fixed"):
        raise InvalidOptionError(f"format must be 'auto', 'free' or 'fixed', got {format!r}")
    if not (isinstance(infinity, (int, float)) and infinity > 0):
        raise InvalidOptionError(f"infinity must be a positive number, got {infinity!r}")
    path = existing_file(path)
    if engine == "highs":
        from scotopt.io.highs import read_with_highs

        return read_with_highs(path, name or default_name(path))
    if engine != "scotopt":
        raise InvalidOptionError(f"engine must be 'scotopt' or 'highs', got {engine!r}")
    # The parser makes millions of small objects that never form cycles; the cyclic collector
    # would walk them again and again (5% of ken-18's read time, bench/README.md).
    collecting = gc.isenabled()
    gc.disable()
    try:
        parser = _Parser(path, read_lines(path), format, keep_free_rows, float(infinity))
        parser.parse()
        return parser.build(name)
    finally:
        if collecting:
            gc.enable()
