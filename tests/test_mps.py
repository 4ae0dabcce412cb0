"""scotopt.io.read_mps: counts and optima on Netlib files, every MPS feature on a hand-written file."""

from __future__ import annotations

import csv
import gzip
import warnings
from pathlib import Path

import numpy as np
import pytest

from scotopt.io import read_mps
from scotopt.status import InvalidProblemError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NETLIB = DATA / "netlib"
needs_data = pytest.mark.skipif(
    not (NETLIB / "index.csv").exists(),
    reason=f"shared Netlib data not found at {NETLIB} (the `shared` folder beside the repository root)",
)


def _index(folder: Path) -> dict[str, dict]:
    with open(folder / "index.csv", newline="") as fh:
        return {row["name"]: row for row in csv.DictReader(fh)}


def highs_solve(lp) -> tuple[str, float]:
    """Hand our LP back to HiGHS (as a minimisation) and return (model status, objective)."""
    import highspy
    import scipy.sparse as sp

    A = sp.csc_matrix(lp.A)
    m, n = A.shape
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n, m
    model.col_cost_, model.offset_ = lp.c, lp.c0
    model.col_lower_, model.col_upper_ = lp.var_lb, lp.var_ub
    model.row_lower_, model.row_upper_ = lp.con_lb, lp.con_ub
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.num_col_, model.a_matrix_.num_row_ = n, m
    model.a_matrix_.start_ = A.indptr.astype(np.int32)
    model.a_matrix_.index_ = A.indices.astype(np.int32)
    model.a_matrix_.value_ = A.data
    assert h.passModel(model) != highspy.HighsStatus.kError
    h.run()
    return h.modelStatusToString(h.getModelStatus()), h.getInfo().objective_function_value


@needs_data
@pytest.mark.parametrize("name", ["afiro", "adlittle"])
def test_netlib_counts_and_optimum(name):
    row = _index(NETLIB)[name]
    lp = read_mps(NETLIB / row["file"])
    assert lp.name == name
    assert lp.shape == (int(row["rows"]), int(row["cols"]))
    assert lp.A.nnz == int(row["nonzeros"])
    assert lp.objective_sign == 1
    assert lp.c0 == 0.0
    status, objective = highs_solve(lp)
    assert status == "Optimal"
    ref = float(row["optimal_objective"])
    assert abs(objective - ref) <= 1e-6 * max(1.0, abs(ref))


@needs_data
def test_netlib_objective_constant_e226():
    """E226's objective row RHS -7.113 is an objective constant of +7.113 (see the data README)."""
    lp = read_mps(NETLIB / "e226.mps.gz")
    assert lp.c0 == pytest.approx(7.113)


# A free-format file: long names, OBJSENSE MAX, an objective constant, every RANGES case and the
# bound types UP / MI / FR / FX / PL / LO.
FREE_MPS = """\
NAME          tiny_free
OBJSENSE
    MAX
ROWS
 N  profit
 L  cap_long_row_name
 G  demand
 E  balance_pos
 E  balance_neg
 L  ranged_le
 G  ranged_ge
COLUMNS
    x_first_column  profit  1.0  cap_long_row_name  1.0
    x_first_column  demand  2.0  ranged_le  1.0
    y2  profit  2.0  cap_long_row_name  1.0
    y2  balance_pos  1.0  ranged_ge  -1.0
    z3  profit  -1.0  balance_neg  1.0
    z3  demand  1.0
    w4  profit  0.5  ranged_le  3.0
    v5  profit  -0.25  balance_pos  2.0
    u6  profit  -1.0  ranged_ge  1.0
RHS
    rhs  profit  -3.5  cap_long_row_name  10.0
    rhs  demand  1.0  balance_pos  4.0
    rhs  balance_neg  2.0  ranged_le  6.0
    rhs  ranged_ge  -1.0
RANGES
    rng  balance_pos  3.0  balance_neg  -2.0
    rng  ranged_le  4.0  ranged_ge  5.0
BOUNDS
 UP bnd  x_first_column  8.0
 MI bnd  y2
 FR bnd  z3
 FX bnd  w4  1.5
 PL bnd  v5
 LO bnd  u6  -2.0
 UP bnd  u6  7.0
ENDATA
"""


def _check_tiny_free(lp):
    inf = np.inf
    # maximisation is returned negated, with objective_sign -1 (c0 = -(-RHS of profit) negated)
    assert lp.objective_sign == -1
    np.testing.assert_array_equal(lp.c, [-1.0, -2.0, 1.0, -0.5, 0.25, 1.0])
    assert lp.c0 == -3.5
    rows = ["cap_long_row_name", "demand", "balance_pos", "balance_neg", "ranged_le", "ranged_ge"]
    cols = ["x_first_column", "y2", "z3", "w4", "v5", "u6"]
    assert lp.row_names == rows
    assert lp.col_names == cols
    # E row with R > 0: [rhs, rhs + R]; E with R < 0: [rhs - |R|, rhs]; L: [rhs - |R|, rhs]; G: [rhs, rhs + |R|]
    np.testing.assert_array_equal(lp.con_lb, [-inf, 1.0, 4.0, 0.0, 2.0, -1.0])
    np.testing.assert_array_equal(lp.con_ub, [10.0, inf, 7.0, 2.0, 6.0, 4.0])
    np.testing.assert_array_equal(lp.var_lb, [0.0, -inf, -inf, 1.5, 0.0, -2.0])
    np.testing.assert_array_equal(lp.var_ub, [8.0, inf, inf, 1.5, inf, 7.0])
    expected = np.zeros((6, 6))
    for r, c, v in [
        (0, 0, 1.0), (1, 0, 2.0), (4, 0, 1.0), (0, 1, 1.0), (2, 1, 1.0), (5, 1, -1.0),
        (3, 2, 1.0), (1, 2, 1.0), (4, 3, 3.0), (2, 4, 2.0), (5, 5, 1.0),
    ]:
        expected[r, c] = v
    np.testing.assert_array_equal(lp.A.toarray(), expected)
    assert lp.A.format == "csr" and lp.A.dtype == np.float64


def test_free_format_every_feature(tmp_path):
    path = tmp_path / "tiny_free.mps"
    path.write_text(FREE_MPS)
    lp = read_mps(path)
    assert lp.name == "tiny_free"
    _check_tiny_free(lp)
    # The minimisation we return has the negated optimum of HiGHS's own solve of the file.
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(path))
    h.run()
    status, objective = highs_solve(lp)
    assert status == "Optimal"
    assert lp.objective_sign * objective == pytest.approx(h.getInfo().objective_function_value, rel=1e-9)


def test_gzip_crlf_and_other_extension(tmp_path):
    data = FREE_MPS.replace("\n", "\r\n").encode()
    gz = tmp_path / "crlf_model.mps.gz"
    gz.write_bytes(gzip.compress(data))
    lp = read_mps(gz)
    assert lp.name == "crlf_model"
    _check_tiny_free(lp)
    # a name HiGHS would not recognise as MPS, gzip detected from the contents
    odd = tmp_path / "model.dat"
    odd.write_bytes(gzip.compress(data))
    _check_tiny_free(read_mps(odd, name="custom"))
    assert read_mps(odd, name="custom").name == "custom"


def test_integer_columns_relaxed_with_one_warning(tmp_path):
    # y2 and z3 (explicit MI / FR bounds) become integer columns
    text = FREE_MPS.replace("    y2  profit", "    MARKER  'MARKER'  'INTORG'\n    y2  profit", 1)
    text = text.replace("    w4  profit", "    MARKER  'MARKER'  'INTEND'\n    w4  profit", 1)
    path = tmp_path / "mixed.mps"
    path.write_text(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lp = read_mps(path)
    relax = [w for w in caught if "relaxed" in str(w.message)]
    assert len(relax) == 1
    assert "relaxed 2 integer" in str(relax[0].message)
    _check_tiny_free(lp)


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.mps"
    with pytest.raises(FileNotFoundError, match="nope.mps"):
        read_mps(missing)


@pytest.mark.parametrize(
    "content",
    ["this is not an MPS file\n", "NAME x\nROWS\n N obj\nCOLUMNS\n x obj\nENDATA\n"],
)
def test_malformed_file(tmp_path, content):
    path = tmp_path / "broken.mps"
    path.write_text(content)
    with pytest.raises(InvalidProblemError, match="broken.mps"):
        read_mps(path)
