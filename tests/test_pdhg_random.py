"""PDHG on random LPs: ones with a known KKT point (tests/problems.py) and independently built
boxed LPs cross-checked against HiGHS and CVXPY, plus a small hypothesis property test."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scotopt
from scotopt.problem import LP
from scotopt.solvers.kkt import kkt_report
from scotopt.status import Status
from tests.problems import highs_solve, random_lp_from_kkt


def _rel_err(value: float, reference: float) -> float:
    return abs(value - reference) / max(1.0, abs(reference))


# --------------------------------------------------------------------------------------------
# Random LPs built around a known KKT point.

KKT_CASES = [
    # (m, n, density, seed)
    (5, 8, 0.6, 0),
    (12, 10, 0.4, 1),
    (20, 30, 0.2, 2),
    (40, 25, 0.15, 3),
    (60, 90, 0.05, 4),
    (100, 150, 0.03, 5),
    (150, 100, 0.03, 6),
    (1, 12, 1.0, 7),
]
JAX_KKT_CASES = [(20, 30, 0.2, 2), (60, 90, 0.05, 4)]


def _check_kkt_case(case, backend, eps=1e-6):
    m, n, density, seed = case
    lp, x_star, y_star = random_lp_from_kkt(np.random.default_rng(seed), m, n, density)
    res = scotopt.solve(lp, backend=backend, eps=eps, iteration_limit=200_000)
    assert res.status == Status.OPTIMAL, res
    report = kkt_report(lp, res.x, res.y)  # recomputed independently of the solver's own numbers
    assert report.rel_primal <= eps
    assert report.rel_dual <= eps
    assert report.rel_gap <= eps
    assert res.kkt_error == pytest.approx(report.max_relative, rel=1e-9, abs=1e-15)
    optimum = float(lp.c @ x_star + lp.c0)
    assert _rel_err(res.fun, optimum) <= 1e-5, (res.fun, optimum)
    assert _rel_err(report.primal_objective, optimum) <= 1e-5


@pytest.mark.parametrize("case", KKT_CASES, ids=[f"{m}x{n}@{d}-s{s}" for m, n, d, s in KKT_CASES])
def test_random_kkt_lp_numpy(case):
    _check_kkt_case(case, "numpy")


@pytest.mark.parametrize("case", JAX_KKT_CASES, ids=[f"{m}x{n}@{d}-s{s}" for m, n, d, s in JAX_KKT_CASES])
def test_random_kkt_lp_jax(case):
    _check_kkt_case(case, "jax")


def test_random_kkt_lp_kinds_numpy():
    """Restricted mixes of row/variable kinds (all equalities with free variables, all ranged
    and boxed) stress single code paths of the projections."""
    rng = np.random.default_rng(21)
    for kinds in (("eq", "free"), ("ranged", "boxed"), ("ge", "le", "lower", "upper"), ("eq", "fixed", "boxed")):
        lp, x_star, _ = random_lp_from_kkt(rng, 15, 20, 0.3, kinds=kinds)
        res = scotopt.solve(lp, backend="numpy", eps=1e-6, iteration_limit=200_000)
        assert res.status == Status.OPTIMAL, (kinds, res)
        assert kkt_report(lp, res.x, res.y).max_relative <= 1e-6
        assert _rel_err(res.fun, lp.objective(x_star)) <= 1e-5, kinds


# --------------------------------------------------------------------------------------------
# Independently built random LPs, checked against HiGHS and CVXPY.


def boxed_random_lp(rng: np.random.Generator, m: int, n: int, density: float) -> LP:
    """A feasible, bounded random LP: random A, an interior point x0 of the box [-2, 2]^n,
    row bounds around A @ x0 (a mix of ranged, <=, >= and equality rows), random costs."""
    if density >= 1.0:
        A = rng.standard_normal((m, n))
    else:
        A = sp.random(m, n, density=density, format="csr", random_state=rng, data_rvs=rng.standard_normal)
    x0 = rng.uniform(-1.0, 1.0, n)
    ax = A @ x0
    kind = rng.integers(0, 4, m)  # 0 ranged, 1 <=, 2 >=, 3 equality
    con_lb = np.where(kind == 1, -np.inf, ax - rng.uniform(0.1, 1.0, m))
    con_ub = np.where(kind == 2, np.inf, ax + rng.uniform(0.1, 1.0, m))
    con_lb = np.where(kind == 3, ax, con_lb)
    con_ub = np.where(kind == 3, ax, con_ub)
    c = rng.standard_normal(n)
    return LP(c, A, con_lb, con_ub, var_lb=-2.0, var_ub=2.0, c0=float(rng.normal()), name=f"boxed_{m}x{n}")


def cvxpy_objective(lp: LP) -> float:
    cp = pytest.importorskip("cvxpy", reason="the CVXPY cross-check needs cvxpy (pip install -e '.[test]')")
    solver = cp.CLARABEL if cp.CLARABEL in cp.installed_solvers() else cp.HIGHS
    A = sp.csr_matrix(lp.A)
    x = cp.Variable(lp.num_vars)
    constraints = [x >= lp.var_lb, x <= lp.var_ub]
    eq = lp.con_lb == lp.con_ub
    lower = np.isfinite(lp.con_lb) & ~eq
    upper = np.isfinite(lp.con_ub) & ~eq
    if eq.any():
        constraints.append(A[eq] @ x == lp.con_lb[eq])
    if lower.any():
        constraints.append(A[lower] @ x >= lp.con_lb[lower])
    if upper.any():
        constraints.append(A[upper] @ x <= lp.con_ub[upper])
    problem = cp.Problem(cp.Minimize(lp.c @ x + lp.c0), constraints)
    problem.solve(solver=solver)
    assert problem.status == cp.OPTIMAL, (solver, problem.status)
    return float(problem.value)


CROSS_SHAPES = [(20, 30, 1.0), (60, 40, 0.1), (100, 200, 0.03)]


@pytest.mark.parametrize("shape", CROSS_SHAPES, ids=[f"{m}x{n}@{d}" for m, n, d in CROSS_SHAPES])
@pytest.mark.parametrize("seed", [0, 1])
def test_cross_check_highs_cvxpy(shape, seed):
    pytest.importorskip("cvxpy", reason="the CVXPY cross-check needs cvxpy (pip install -e '.[test]')")
    lp = boxed_random_lp(np.random.default_rng(seed), *shape)
    res = scotopt.solve(lp, backend="numpy", eps=1e-7, iteration_limit=200_000)
    assert res.status == Status.OPTIMAL, res
    assert kkt_report(lp, res.x, res.y).max_relative <= 1e-7
    highs_status, highs_objective, _, _ = highs_solve(lp)
    assert highs_status == "optimal"
    cvx_objective = cvxpy_objective(lp)
    assert _rel_err(highs_objective, cvx_objective) <= 1e-6  # the two references agree
    assert _rel_err(res.fun, highs_objective) <= 1e-5, (res.fun, highs_objective)
    assert _rel_err(res.fun, cvx_objective) <= 1e-5, (res.fun, cvx_objective)


def test_cross_check_jax():
    lp = boxed_random_lp(np.random.default_rng(5), 60, 40, 0.1)
    res = scotopt.solve(lp, backend="jax", eps=1e-7, iteration_limit=200_000)
    assert res.status == Status.OPTIMAL, res
    highs_status, highs_objective, _, _ = highs_solve(lp)
    assert highs_status == "optimal"
    assert _rel_err(res.fun, highs_objective) <= 1e-5


# --------------------------------------------------------------------------------------------
# Property: whatever the data, OPTIMAL is only reported when the KKT measures are within eps.


# derandomize: the same 10 examples every run (no flaky CI, no .hypothesis database needed).
@settings(max_examples=10, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    m=st.integers(1, 12),  # m = 0 is the catalog's no_constraints instance
    n=st.integers(1, 12),
    density=st.sampled_from([0.2, 0.5, 1.0]),
    seed=st.integers(0, 2**32 - 1),
    eps=st.sampled_from([1e-3, 1e-5, 1e-7]),
    iteration_limit=st.sampled_from([64, 500, 20_000]),
)
def test_optimal_implies_kkt_within_eps(m, n, density, seed, eps, iteration_limit):
    lp, _, _ = random_lp_from_kkt(np.random.default_rng(seed), m, n, density)
    res = scotopt.solve(lp, backend="numpy", eps=eps, iteration_limit=iteration_limit)
    assert res.status in (Status.OPTIMAL, Status.ITERATION_LIMIT), res
    report = kkt_report(lp, res.x, res.y)
    # The Result's measures describe its own (x, y), whatever the status.
    assert res.rel_primal == pytest.approx(report.rel_primal, rel=1e-9, abs=1e-15)
    assert res.rel_dual == pytest.approx(report.rel_dual, rel=1e-9, abs=1e-15)
    assert res.rel_gap == pytest.approx(report.rel_gap, rel=1e-9, abs=1e-15)
    if res.status == Status.OPTIMAL:
        assert report.max_relative <= eps
    else:
        assert res.iterations == iteration_limit
