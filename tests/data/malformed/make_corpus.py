"""Regenerate the malformed-file corpus in this folder and its EXPECTED.csv.

Run from the repository root: ``python tests/data/malformed/make_corpus.py``. Each case is a
small, deliberately broken file; EXPECTED.csv gives the line the error must name ('-' for npz,
which has no lines) and a fragment of the message. tests/test_malformed.py checks every file
through the Python API (FileFormatError) and the command line (exit code 2, no traceback).
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

BASE = """NAME          base
ROWS
 N  obj
 L  c1
 G  c2
COLUMNS
    x  obj  1.0  c1  1.0
    y  obj  2.0  c2  1.0
RHS
    rhs  c1  4.0  c2  1.0
BOUNDS
 UP bnd  x  3.0
ENDATA
"""


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


MPS_CASES = [
    # file, content, line, message fragment
    ("empty.mps", "", 1, "empty file"),
    ("blank_only.mps", "\n   \n\n", 1, "empty file"),
    ("truncated.mps", BASE[: BASE.index("    y  obj")], 7, "ends without ENDATA"),
    ("unknown_section.mps", edit("RHS\n", "RHSS\n"), 9, "unknown section"),
    ("bad_number.mps", edit("x  obj  1.0", "x  obj  1.0x"), 7, "bad number"),
    ("duplicate_column.mps", edit("ENDATA", "ENDATA").replace("RHS\n", "    x  c2  5.0\nRHS\n"), 9,
     "duplicate column"),
    ("rhs_unknown_row.mps", edit("c2  1.0\nBOUNDS", "c9  1.0\nBOUNDS"), 10, "unknown row 'c9'"),
    ("columns_unknown_row.mps", edit("y  obj  2.0  c2", "y  obj  2.0  c3"), 8, "unknown row 'c3'"),
    ("unknown_row_type.mps", edit(" G  c2", " X  c2"), 5, "unknown row type"),
    ("duplicate_row.mps", edit(" G  c2", " G  c1"), 5, "duplicate row name"),
    ("bound_unknown_column.mps", edit(" UP bnd  x", " UP bnd  z"), 12, "unknown column 'z'"),
    ("unknown_bound_type.mps", edit(" UP bnd", " XX bnd"), 12, "unknown bound type"),
    ("bound_missing_value.mps", edit(" UP bnd  x  3.0", " UP x"), 12, "needs a value"),
    ("nan_value.mps", edit("y  obj  2.0", "y  obj  nan"), 8, "NaN"),
    ("infinite_matrix_entry.mps", edit("c2  1.0\nRHS", "c2  inf\nRHS"), 8, "must be finite"),
    ("data_before_section.mps", "    x  obj  1.0\n" + BASE, 1, "outside a section"),
    ("columns_before_rows.mps", "NAME bad\nCOLUMNS\n    x  obj  1.0\nENDATA\n", 2, "before any ROWS"),
    ("second_rows_section.mps", edit("COLUMNS\n", "ROWS\n L  c3\nCOLUMNS\n"), 6, "second ROWS"),
    ("wrong_field_count.mps", edit("y  obj  2.0  c2  1.0", "y  obj  2.0  c2"), 8, "field(s) in a COLUMNS line"),
    ("duplicate_entry.mps", edit("    y  obj", "    x  c1  2.0\n    y  obj"), 8, "two entries in row 'c1'"),
    ("rhs_twice.mps", edit("BOUNDS\n", "    rhs  c1  5.0\nBOUNDS\n"), 11, "second RHS"),
    ("bad_objsense.mps", edit("ROWS\n", "OBJSENSE\n    SIDEWAYS\nROWS\n"), 3, "unknown objective sense"),
    ("sos_section.mps", edit("ENDATA", "SOS\n S1 SOS  s1  1\nENDATA"), 13, "SOS"),
    ("bad_marker.mps", edit("    y  obj", "    M1  'MARKER'  'INTFOO'\n    y  obj"), 8, "unknown MARKER"),
    ("range_on_objective.mps", edit("BOUNDS\n", "RANGES\n    rng  obj  1.0\nBOUNDS\n"), 12,
     "RANGES entry for the objective row"),
    ("infinite_fixed_bound.mps", edit(" UP bnd  x  3.0", " FX bnd  x  inf"), 12, "FX bound with an infinite"),
    ("crossed_bounds.mps", edit(" UP bnd  x  3.0", " UP bnd  x  3.0\n LO bnd  x  5.0"), 13,
     "lower bound 5.0 > upper bound 3.0"),
    ("missing_row_name.mps", edit(" G  c2", " G"), 5, "field(s) in a ROWS line"),
    ("text_after_header.mps", edit("COLUMNS\n", "COLUMNS extra\n"), 6, "unexpected text after COLUMNS"),
    ("no_columns.mps", "NAME x\nROWS\n N obj\nENDATA\n", 4, "no COLUMNS section"),
    ("infeasible_rhs.mps", edit("rhs  c1  4.0", "rhs  c1  -inf"), 10, "leaves no feasible value"),
    ("rhs_before_columns.mps", "NAME x\nROWS\n N obj\nRHS\n    rhs  obj  1.0\nENDATA\n", 4, "before the COLUMNS"),
    ("quadobj_twice.qps", edit("ENDATA", "QUADOBJ\n    x  y  1.0\n    y  x  1.0\nENDATA"), 15, "twice"),
    ("quadobj_unknown_column.qps", edit("ENDATA", "QUADOBJ\n    x  w  1.0\nENDATA"), 14, "unknown column 'w'"),
]


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def valid_arrays() -> dict:
    return dict(format_version=np.int64(1), kind=np.str_("lp"), c=np.array([1.0, 2.0]),
                A_data=np.array([1.0, 1.0]), A_indices=np.array([0, 1], dtype=np.int32),
                A_indptr=np.array([0, 1, 2], dtype=np.int32), A_shape=np.array([2, 2]),
                con_lb=np.array([-np.inf, 1.0]), con_ub=np.array([4.0, np.inf]),
                var_lb=np.zeros(2), var_ub=np.array([3.0, np.inf]), c0=np.float64(0.0))


def changed(**changes) -> dict:
    arrays = valid_arrays()
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    return arrays


NPZ_CASES = [
    ("npz_wrong_version.npz", npz_bytes(**changed(format_version=np.int64(99))), "format_version"),
    ("npz_mismatched_lengths.npz", npz_bytes(**changed(c=np.array([1.0, 2.0, 3.0]))), "'c' has shape"),
    ("npz_missing_key.npz", npz_bytes(**changed(con_ub=None)), "missing array(s) con_ub"),
    ("npz_bad_indptr.npz", npz_bytes(**changed(A_indptr=np.array([0, 2, 1], dtype=np.int32))),
     "not a valid CSR row pointer"),
    ("npz_index_out_of_range.npz", npz_bytes(**changed(A_indices=np.array([0, 7], dtype=np.int32))),
     "column index outside"),
    ("npz_data_indices_mismatch.npz", npz_bytes(**changed(A_data=np.array([1.0]))), "arrays of the same length"),
    ("npz_not_a_zip.npz", b"this is not a zip archive\n", "not a readable npz"),
    ("npz_object_array.npz", npz_bytes(**changed(c=np.array([1.0, "x"], dtype=object))), "cannot read the arrays"),
    ("npz_nan_cost.npz", npz_bytes(**changed(c=np.array([np.nan, 1.0]))), "c[0]"),
    ("npz_bad_kind.npz", npz_bytes(**changed(kind=np.str_("milp"))), "kind is 'milp'"),
]


def main() -> None:
    rows = []
    for name, content, line, fragment in MPS_CASES:
        (HERE / name).write_text(content)
        rows.append((name, line, fragment))
    garbage = bytes(np.random.default_rng(7).integers(0, 256, 300, dtype=np.uint8))
    (HERE / "binary_garbage.mps").write_bytes(b"NAME x\nROWS\n" + garbage.replace(b"\x00", b"\x01") + b"\x00")
    rows.append(("binary_garbage.mps", (b"NAME x\nROWS\n" + garbage.replace(b"\x00", b"\x01")).count(b"\n") + 1,
                 "binary data"))
    whole = gzip.compress(BASE.encode())
    (HERE / "truncated_gzip.mps.gz").write_bytes(whole[: len(whole) // 2])
    rows.append(("truncated_gzip.mps.gz", "-", "corrupt or truncated gzip"))
    for name, content, fragment in NPZ_CASES:
        (HERE / name).write_bytes(content)
        rows.append((name, "-", fragment))
    with open(HERE / "EXPECTED.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "line", "message"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} files")


if __name__ == "__main__":
    main()
