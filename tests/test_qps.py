"""QPS (QUADOBJ) files: every Maros-Meszaros file agrees with HiGHS's fixed-format reader, and
DPKLO1, which HiGHS's free-format reader misreads, is read right (CVXPY reaches its published optimum)."""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from scotopt import QP
from scotopt.io import read_mps

MM = Path(__file__).resolve().parents[2] / "shared" / "data" / "maros_meszaros"
needs_data = pytest.mark.skipif(not (MM / "index.csv").exists(),
                                reason=f"shared Maros-Meszaros data not found at {MM}")


def _index():
    with open(MM / "index.csv", newline="") as fh:
        return {row["name"]: row for row in csv.DictReader(fh)}


def _highs_fixed(path: Path, tmp_path: Path):
    """HiGHS's model of a QPS file read with its fixed-format parser (an independent reader)."""
    import highspy

    target = tmp_path / (path.name.split(".")[0] + ".mps.gz")
    shutil.copyfile(path, target)
    with contextlib.redirect_stdout(io.StringIO()):
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mps_parser_type_free", False)
    assert h.readModel(str(target)) != highspy.HighsStatus.kError
    return h.getModel()


def inf(values) -> np.ndarray:
    """HiGHS's infinity (1e30 and beyond) as -inf / +inf."""
    values = np.array(values, dtype=np.float64)
    values[values >= 1e30] = np.inf
    values[values <= -1e30] = -np.inf
    return values


def _csc(start, index, value, shape):
    start, index, value = (np.asarray(v) for v in (start, index, value))
    n = shape[1]
    return sp.csc_matrix((value[: start[n]], index[: start[n]], start[: n + 1]), shape=shape)


def _small_names():
    if not (MM / "index.csv").exists():
        return []
    return sorted(name for name, row in _index().items() if (MM / row["file"]).stat().st_size < 200_000)


@needs_data
@pytest.mark.parametrize("name", _small_names())
def test_maros_meszaros_matches_highs_fixed_reader(name, tmp_path):
    path = MM / _index()[name]["file"]
    qp = read_mps(path)
    model = _highs_fixed(path, tmp_path)
    lp, hessian = model.lp_, model.hessian_
    m, n = int(lp.num_row_), int(lp.num_col_)
    assert qp.shape == (m, n)
    np.testing.assert_array_equal(qp.c, np.asarray(lp.col_cost_))
    np.testing.assert_array_equal(qp.var_lb, inf(lp.col_lower_))
    np.testing.assert_array_equal(qp.var_ub, inf(lp.col_upper_))
    np.testing.assert_array_equal(qp.con_lb, inf(lp.row_lower_))
    np.testing.assert_array_equal(qp.con_ub, inf(lp.row_upper_))
    assert qp.c0 == pytest.approx(lp.offset_)
    A = _csc(lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_, (m, n))
    assert abs(qp.A - A).max() == 0 if A.nnz else qp.A.nnz == 0
    if hessian.dim_:
        # HiGHS keeps the lower triangle of the symmetric Hessian, column-wise
        lower = _csc(hessian.start_, hessian.index_, hessian.value_, (n, n))
        full = lower + sp.tril(lower, -1).T
        assert isinstance(qp, QP)
        # HiGHS drops entries of magnitude <= 1e-9 (its small_matrix_value); we keep them (LASER has some)
        diff = abs(qp.P - full)
        assert diff.max() <= 1e-9 if diff.nnz else True


@needs_data
def test_dpklo1_read_right():
    """DPKLO1 numbers its rows; the RHS line '1 2 0.0' is (set 1, row 2, value 0)."""
    cvxpy = pytest.importorskip("cvxpy")
    row = _index()["DPKLO1"]
    qp = read_mps(MM / row["file"])
    assert isinstance(qp, QP)
    assert qp.shape == (int(row["rows"]), int(row["cols"]))
    x = cvxpy.Variable(qp.num_vars)
    lb, ub = qp.var_lb, qp.var_ub
    constraints = [qp.A @ x >= qp.con_lb, qp.A @ x <= qp.con_ub]
    assert np.isfinite(qp.con_lb).all() and np.isfinite(qp.con_ub).all()
    finite_lb, finite_ub = np.isfinite(lb), np.isfinite(ub)
    if finite_lb.any():
        constraints.append(x[finite_lb] >= lb[finite_lb])
    if finite_ub.any():
        constraints.append(x[finite_ub] <= ub[finite_ub])
    problem = cvxpy.Problem(cvxpy.Minimize(0.5 * cvxpy.quad_form(x, cvxpy.psd_wrap(qp.P)) + qp.c @ x + qp.c0),
                            constraints)
    problem.solve(solver=cvxpy.CLARABEL)
    published = float(row["optimal_objective"])
    assert problem.value == pytest.approx(published, rel=1e-6)
    assert qp.objective(x.value) == pytest.approx(published, rel=1e-6)
