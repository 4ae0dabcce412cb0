"""Lagrangian relaxation driver: every multiplier rule on the budget newsvendor of the issue and
on a small separable QP with coupling rows, against CVXPY's duals and SciPy's optimum."""

from __future__ import annotations

import numpy as np
import optax
import pytest
from scipy.optimize import minimize

from scotopt import InvalidOptionError, InvalidProblemError, Status
from scotopt.models import BudgetNewsvendor
from scotopt.solvers.lagrangian import LagrangianOptions, solve_lagrangian

RULES = ["volume", "polyak", "adam"]


def _method(name):
    return optax.adam(0.05) if name == "adam" else name


def _newsvendor():
    # the instance: item 1 N(100, 20^2), h=1, p=9, c=1; item 2 N(50, 10^2), h=2, p=8, c=2; budget 180
    return BudgetNewsvendor(mean=[100, 50], std=[20, 10], cost=[1, 2], holding=[1, 2], penalty=[9, 8], budget=180)


def primal_optimum(model):
    """SciPy's SLSQP on the newsvendor's primal (min expected cost s.t. c'q <= B, q >= 0), from half
    the mean demands: the reference for the Lagrangian bounds (also of tests/test_sharded.py)."""
    primal = minimize(lambda q: model.expected_cost(q).sum(), x0=0.5 * model.mean, method="SLSQP",
                      bounds=[(0, None)] * model.size,
                      constraints=[{"type": "ineq", "fun": lambda q: model.budget - model.cost @ q}],
                      options={"ftol": 1e-12, "maxiter": 500})
    assert primal.success, primal.message
    return primal


@pytest.mark.parametrize("rule", RULES)
def test_budget_newsvendor_multiplier(rule):
    model = _newsvendor()
    result = model.solve(method=_method(rule), options=LagrangianOptions(gap_tolerance=1e-9, max_iterations=20_000))
    assert result.multipliers[0] == pytest.approx(3.38067, abs=1e-3)
    # the optimum by SciPy's SLSQP on the primal (independent of the driver): bounds never cross
    primal = primal_optimum(model)
    assert result.lower_bound <= primal.fun + 1e-7
    assert result.upper_bound >= primal.fun - 1e-7
    assert result.upper_bound - result.lower_bound <= 1e-6 * abs(primal.fun)
    feasible = result.x_best_feasible
    assert model.cost @ feasible <= model.budget + 1e-9 and np.all(feasible >= 0)


def separable_qp(seed=0, n=8, m=3):
    """min sum a_i/2 x_i^2 + b_i x_i, lo <= x <= hi, coupling rows G x (sense) h."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.5, 2, n), rng.normal(size=n) * 3
    lo, hi = -np.ones(n) * 2, np.ones(n) * 2
    G = rng.normal(size=(m, n))
    h = G @ rng.uniform(-0.5, 0.5, n) - np.array([0.5, -0.5, 0.0])[:m]
    return a, b, lo, hi, G, h


def cvxpy_duals(a, b, lo, hi, G, h, senses):
    cvxpy = pytest.importorskip("cvxpy")
    x = cvxpy.Variable(a.size)
    rows = []
    for i, sense in enumerate(senses):
        expr = G[i] @ x
        rows.append(expr <= h[i] if sense == "<=" else expr >= h[i] if sense == ">=" else expr == h[i])
    problem = cvxpy.Problem(cvxpy.Minimize(0.5 * cvxpy.sum(cvxpy.multiply(a, x**2)) + b @ x),
                            rows + [x >= lo, x <= hi])
    problem.solve(solver=cvxpy.CLARABEL)
    # CVXPY's duals are >= 0 for every constraint; our lam is signed by the row's sense
    duals = np.array([float(r.dual_value) for r in rows])
    signs = np.array([1.0 if s == "<=" else -1.0 if s == ">=" else 1.0 for s in senses])
    return problem.value, duals * signs


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_matches_cvxpy_duals(rule):
    a, b, lo, hi, G, h = separable_qp()
    senses = ["<=", ">=", "="]

    def oracle(lam):
        x = np.clip(-(b + G.T @ lam) / a, lo, hi)  # each coordinate's minimiser, all at once
        value = float(0.5 * a @ x**2 + b @ x + lam @ (G @ x - h))
        return x, value, G @ x - h

    oracle.residual = lambda x: G @ x - h
    optimum, duals = cvxpy_duals(a, b, lo, hi, G, h, senses)
    method = optax.adam(0.02) if rule == "adam" else rule
    result = solve_lagrangian(oracle, senses, 3, method=method, upper_bound=optimum + 1e-12,
                              options=LagrangianOptions(gap_tolerance=1e-10, max_iterations=20_000))
    assert result.lower_bound <= optimum + 1e-9  # a Lagrangian value never exceeds the optimum
    # Subgradient rules converge slowly on this dual (measured after 13-15k steps: bound 1.2e-5
    # relative, multipliers within 0.019 of |y| ~ 1.2); Adam on the smooth dual to 1e-9 / 1e-6.
    bound_tolerance, multiplier_tolerance = (1e-8, 1e-4) if rule == "adam" else (3e-5, 0.03)
    assert result.lower_bound >= optimum - bound_tolerance * max(1, abs(optimum))
    np.testing.assert_allclose(result.multipliers, duals, atol=multiplier_tolerance)
    assert result.multipliers[0] >= 0 and result.multipliers[1] <= 0  # the signs of '<=' and '>=' rows
    if rule == "volume":  # the volume algorithm's averaged primal is nearly feasible (measured 0.014)
        assert result.average_infeasibility <= 5e-2


def test_options_and_inputs():
    with pytest.raises(InvalidOptionError):
        LagrangianOptions(alpha_max=0)
    with pytest.raises(InvalidOptionError):
        solve_lagrangian(lambda lam: (lam, 0.0, lam), "<=", 2, method="newton")
    with pytest.raises(InvalidProblemError, match="sense"):
        solve_lagrangian(lambda lam: (lam, 0.0, lam), ["<=", "<"], 2)
    with pytest.raises(InvalidProblemError, match="budget"):
        BudgetNewsvendor([1], [1], [1], [1], [1], budget=-1)
    limited = _newsvendor().solve(method="polyak", options=LagrangianOptions(max_iterations=3, gap_tolerance=0))
    assert limited.status == Status.ITERATION_LIMIT and limited.iterations == 3  # multiplier updates done


def test_heuristic_may_propose_multipliers():
    # min x1 + 2 x2 + 3 x3, x in [0, 1]^3, relaxed: x1 + x2 + x3 >= 2; optimum 3 at lam = -2
    c = np.array([1.0, 2.0, 3.0])

    def oracle(lam):
        reduced = c + lam[0]
        x = (reduced < 0).astype(float)
        return x, float(np.minimum(reduced, 0).sum() - 2 * lam[0]), np.array([x.sum() - 2])

    proposed = []

    def heuristic(lam, x, x_average):
        proposed.append(lam)
        return None, np.inf, np.array([-2.0])

    result = solve_lagrangian(oracle, ">=", 1, method="polyak", heuristic=heuristic,
                              options=LagrangianOptions(max_iterations=1))
    assert proposed and result.upper_bound == np.inf and result.x_best_feasible is None
    assert result.lower_bound == pytest.approx(3.0) and result.multipliers[0] == pytest.approx(-2.0)
