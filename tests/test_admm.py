"""ADMM (method="admm"): random convex QPs against CVXPY (Clarabel) and OSQP, LPs against HiGHS,
infeasibility certificates checked independently, options and error paths."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from problems import catalog, highs_solve, random_lp_from_kkt

import scotopt
from scotopt import QP, InvalidOptionError, InvalidProblemError, Status
from scotopt.options import ADMMOptions
from scotopt.solvers.kkt import dual_ray_report, primal_ray_report

cvxpy = pytest.importorskip("cvxpy")


def random_qp(rng: np.random.Generator, m: int, n: int, density: float = 0.3) -> QP:
    """A feasible convex QP: P = M M' (rank n // 2, so only semidefinite), rows of every kind
    around a point x0 inside the boxes, so that a solution exists."""
    M = sp.random(n, max(1, n // 2), density=0.5, random_state=rng)
    P = sp.csr_matrix(M @ M.T) + 1e-2 * sp.eye(n)
    A = sp.random(m, n, density=density, random_state=rng, format="csr")
    x0 = rng.uniform(-1, 1, n)
    ax = A @ x0
    kind = rng.integers(0, 4, m)  # equality, <=, >=, ranged
    width = rng.uniform(0.1, 2, m)
    con_lb = np.where(kind == 0, ax, np.where(kind == 1, -np.inf, ax - width))
    con_ub = np.where(kind == 0, ax, np.where(kind == 2, np.inf, ax + width))
    var_lb = np.where(rng.random(n) < 0.5, x0 - rng.uniform(0.1, 1, n), -np.inf)
    var_ub = np.where(rng.random(n) < 0.5, x0 + rng.uniform(0.1, 1, n), np.inf)
    return QP(P, rng.normal(size=n), A, con_lb, con_ub, var_lb, var_ub, c0=rng.normal())


def cvxpy_solve(qp: QP) -> float:
    x = cvxpy.Variable(qp.num_vars)
    constraints = []
    for lower, upper, expr in ((qp.con_lb, qp.con_ub, qp.A @ x), (qp.var_lb, qp.var_ub, x)):
        finite_lower, finite_upper = np.isfinite(lower), np.isfinite(upper)
        if finite_lower.any():
            constraints.append(expr[finite_lower] >= lower[finite_lower])
        if finite_upper.any():
            constraints.append(expr[finite_upper] <= upper[finite_upper])
    objective = 0.5 * cvxpy.quad_form(x, cvxpy.psd_wrap(qp.P)) + qp.c @ x + qp.c0
    problem = cvxpy.Problem(cvxpy.Minimize(objective), constraints)
    problem.solve(solver=cvxpy.CLARABEL)
    assert problem.status == "optimal"
    return float(problem.value)


def osqp_solve(qp: QP) -> float:
    osqp = pytest.importorskip("osqp")
    solver = osqp.OSQP()
    A = sp.vstack([qp.A, sp.eye(qp.num_vars)]).tocsc()
    lower = np.concatenate([qp.con_lb, qp.var_lb])
    upper = np.concatenate([qp.con_ub, qp.var_ub])
    solver.setup(sp.triu(qp.P).tocsc(), qp.c, A, lower, upper, eps_abs=1e-9, eps_rel=1e-9, max_iter=200000,
                 verbose=False, polishing=True)
    result = solver.solve()
    return float(result.info.obj_val) + qp.c0


CASES = [(3, 5), (10, 8), (20, 30), (40, 25)]


@pytest.mark.parametrize("shape", CASES, ids=[f"{m}x{n}" for m, n in CASES])
@pytest.mark.parametrize("seed", [0, 1])
def test_random_qp_matches_cvxpy(backend, shape, seed):
    qp = random_qp(np.random.default_rng(seed), *shape)
    reference = cvxpy_solve(qp)
    solvers = ["direct", "pcg"] if backend == "numpy" else ["pcg"]
    for linear_solver in solvers:
        result = scotopt.solve(qp, method="admm", backend=backend, eps=1e-7, time_limit=60,
                               options=ADMMOptions(linear_solver=linear_solver))
        assert result.status == Status.OPTIMAL, (linear_solver, result)
        assert result.extra["linear_solver"] == linear_solver
        assert result.kkt_error <= 1e-7
        assert abs(result.fun - reference) <= 1e-5 * (1 + abs(reference)), (linear_solver, result.fun, reference)


def test_random_qp_matches_osqp():
    qp = random_qp(np.random.default_rng(5), 30, 40)
    result = scotopt.solve(qp, method="admm", backend="numpy", eps=1e-8)
    assert result.status == Status.OPTIMAL
    reference = osqp_solve(qp)
    assert abs(result.fun - reference) <= 1e-5 * (1 + abs(reference))


CATALOG = {entry.name: entry for entry in catalog()}


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_lp_catalog_with_admm(name, backend):
    """Every catalog LP through ADMM: the optimum, or a status the catalog accepts with a ray
    that passes the certificate test."""
    entry = CATALOG[name]
    result = scotopt.solve(entry.lp, method="admm", backend=backend, eps=1e-8, time_limit=60)
    assert result.status in entry.acceptable_statuses, result
    if entry.is_optimal:
        assert result.fun == pytest.approx(entry.objective, rel=1e-6, abs=1e-6)
    elif result.status == Status.PRIMAL_INFEASIBLE:
        assert dual_ray_report(entry.lp, result.y).is_certificate(1e-8)
    elif result.status == Status.DUAL_INFEASIBLE:
        assert primal_ray_report(entry.lp, result.x).is_certificate(1e-8)


@pytest.mark.parametrize("seed", range(4))
def test_random_lp_with_admm_matches_highs(seed):
    lp, _, _ = random_lp_from_kkt(np.random.default_rng(100 + seed), 25, 20, 0.15)
    status, objective, _, _ = highs_solve(lp)
    assert status == "optimal"
    result = scotopt.solve(lp, method="admm", eps=1e-8, time_limit=60)
    assert result.status == Status.OPTIMAL
    assert abs(result.fun - objective) <= 1e-6 * (1 + abs(objective))


def test_primal_infeasible_qp_certificate(backend):
    # x1 + x2 >= 3 with 0 <= x <= 1: impossible
    qp = QP(sp.eye(2), np.zeros(2), sp.csr_matrix([[1.0, 1.0]]), [3.0], [np.inf], [0.0, 0.0], [1.0, 1.0])
    result = scotopt.solve(qp, method="admm", backend=backend, time_limit=60)
    assert result.status == Status.PRIMAL_INFEASIBLE
    y = result.y
    # independent Farkas check: y >= 0 on the >= row, r = -A'y split over the bounds, and the
    # dual objective 3 y - (upper bounds) * max(A'y, 0) > 0 proves infeasibility
    assert y[0] > 0
    aty = qp.A.T @ y
    farkas_value = 3.0 * y[0] - np.sum(np.maximum(aty, 0.0) * 1.0)
    assert farkas_value > 1e-6 * abs(y[0])


def test_dual_infeasible_qp_ray(backend):
    # P = diag(1, 0), c = (0, -1), x2 >= 0 unbounded above: the objective falls without limit along e2
    qp = QP(sp.diags([1.0, 0.0]), np.array([0.0, -1.0]), sp.csr_matrix([[1.0, 0.0]]), [-1.0], [1.0],
            [-np.inf, 0.0], [np.inf, np.inf])
    result = scotopt.solve(qp, method="admm", backend=backend, time_limit=60)
    assert result.status == Status.DUAL_INFEASIBLE
    d = result.x / np.abs(result.x).max()
    assert np.abs(qp.P @ d).max() <= 1e-6
    assert qp.c @ d < 0
    assert d[1] > 0 and abs(qp.A @ d)[0] <= 1e-6


def test_limits_and_warm_start():
    qp = random_qp(np.random.default_rng(3), 20, 30)
    limited = scotopt.solve(qp, method="admm", eps=1e-12, iteration_limit=30)
    assert limited.status == Status.ITERATION_LIMIT and limited.iterations == 30
    solved = scotopt.solve(qp, method="admm", eps=1e-8)
    warm = scotopt.solve(qp, method="admm", eps=1e-8, warm_start=(solved.x, solved.y))
    assert warm.status == Status.OPTIMAL
    assert warm.iterations <= solved.iterations


def test_option_and_input_errors():
    qp = random_qp(np.random.default_rng(4), 5, 5)
    with pytest.raises(InvalidOptionError):
        ADMMOptions(alpha=2.5)
    with pytest.raises(InvalidOptionError):
        ADMMOptions(linear_solver="cholesky")
    with pytest.raises(InvalidOptionError, match="numpy"):
        scotopt.solve(qp, method="admm", backend="jax", options=ADMMOptions(linear_solver="direct"))
    with pytest.raises(InvalidOptionError, match="ADMMOptions"):
        scotopt.solve(qp, method="admm", options=scotopt.PDHGOptions())
    with pytest.raises(InvalidProblemError, match="method='admm'"):
        scotopt.solve(qp, method="pdhg")
    with pytest.raises(InvalidProblemError, match="symmetric"):
        QP(sp.csr_matrix([[1.0, 2.0], [0.0, 1.0]]), np.zeros(2), sp.csr_matrix((0, 2)))
