"""The NumPy backend's fast paths give numpy's answers: the direct CSR kernel (and its fallback to
``A @ x``), the namespace's clip / sum / max / cond, and the PDHG evaluation's restart branch,
ray-test period and deferred anchor residual."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from scotopt.kernels import get_backend
from scotopt.kernels.numpy_backend import CSROperator, NumpyBackend
from scotopt.options import PDHGOptions
from scotopt.solvers.pdhg import algorithm as alg
from scotopt.solvers.pdhg import driver
from tests.problems import catalog_by_name

xp = NumpyBackend.xp


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_csr_operator_matches_scipy(dtype):
    rng = np.random.default_rng(0)
    A = sp.random(40, 30, density=0.2, format="csr", random_state=1, dtype=np.float64)
    op = CSROperator(A, dtype)
    x, y = rng.standard_normal(30).astype(dtype), rng.standard_normal(40).astype(dtype)
    ref = sp.csr_matrix(A, dtype=dtype)
    np.testing.assert_array_equal(op.matvec(x), ref @ x)
    np.testing.assert_array_equal(op.rmatvec(y), ref.T @ y)
    assert op.matvec(x).dtype == dtype
    # fallbacks: another dtype, a strided view
    np.testing.assert_allclose(op.matvec(x.astype(np.float16)), ref @ x.astype(np.float16), rtol=1e-2)
    wide = rng.standard_normal(60).astype(dtype)
    np.testing.assert_array_equal(op.matvec(wide[::2]), ref @ wide[::2])


def test_namespace_matches_numpy():
    rng = np.random.default_rng(2)
    v = rng.standard_normal(1000)
    lower, upper = -0.5 * np.ones(1000), np.full(1000, np.inf)
    np.testing.assert_array_equal(xp.clip(v, lower, upper), np.clip(v, lower, upper))
    assert xp.sum(v) == np.sum(v) and xp.max(v) == np.max(v)
    M = v.reshape(20, 50)
    np.testing.assert_array_equal(xp.sum(M, axis=0), np.sum(M, axis=0))
    assert xp.sum(M) == np.sum(M) and xp.max(M) == np.max(M)
    assert xp.sum(np.array([True, True, False])) == 2
    assert xp.cond(np.bool_(True), lambda: 1, lambda: 2) == 1
    assert xp.cond(np.bool_(False), lambda: 1, lambda: 2) == 2
    assert xp.linalg is np.linalg


def _start(name, options):
    """(operator, data, params, starting state) of PDHG on a catalog LP, float64, NumPy."""
    lp = catalog_by_name()[name].lp
    backend = get_backend("numpy")
    placement = driver.SingleDevice(backend)
    scaled = driver.scale_lp(lp, options.ruiz_iterations, options.pock_chambolle_alpha,
                             options.bound_objective_rescaling, options.geometric_mean_iterations)
    x0, y0 = driver._starting_point(lp, scaled, None)
    op = placement.operator(scaled.A, np.float64)
    eta = options.step_size_safety / driver._operator_norm(scaled.A)
    data = driver._make_data(placement, scaled, lp, np.float64, eta)
    return op, data, driver.algorithm_params(options), alg.init_state(xp, op, data, x0, y0, np.float64)


def _evaluation(name, iterations):
    """(state, stats) of one evaluation after ``iterations`` steps on a catalog LP."""
    op, data, params, state = _start(name, PDHGOptions())
    for _ in range(iterations):
        state = alg.step(xp, op, data, params, state)
    return alg.evaluate(xp, op, data, params, state), alg.evaluate(np, op, data, params, state)


@pytest.mark.parametrize("iterations", [64, 256])
def test_branching_evaluation_matches_where(iterations):
    """The NumPy namespace's ``cond`` (only the branch taken) and plain numpy (both branches,
    ``where``) give the same state and statistics, with and without the ray tests."""
    (s1, stats1), (s2, stats2) = _evaluation("primal_infeasible", iterations)
    np.testing.assert_array_equal(stats1, stats2)
    for a, b in zip(s1, s2, strict=True):
        np.testing.assert_array_equal(a, b)
    dual_ray_objective = stats1[alg.STAT["dual_ray_objective"]]
    if iterations % 256 == 0:
        assert dual_ray_objective != 0  # ray tests ran
    else:
        assert dual_ray_objective == 0 and np.isinf(stats1[alg.STAT["dual_ray_infeasibility"]])


@pytest.mark.parametrize("name", ["all_bound_kinds", "degenerate_vertex"])
def test_restart_leaves_the_anchor_residual_to_the_next_evaluation(name):
    """A restart marks the new epoch's reference residual r0 as pending (NaN); the next
    evaluation measures it as the fixed-point residual ||T(z0) - z0||_P of the epoch's anchor
    under the weight in force (computed here directly), before the restart test uses it."""
    op, data, params, state = _start(name, PDHGOptions(check_every=8))
    checked = 0
    for _ in range(200):
        pending = bool(np.isnan(state.r0))
        if pending:
            expected = alg._residual_between(xp, data, state.omega, state.x0, state.y0, state.ax0,
                                             *alg.pdhg_map(xp, op, data, state.x0, state.y0, state.ax0, state.omega))
        for _ in range(8):
            state = alg.step(xp, op, data, params, state)
        state, stats = alg.evaluate(xp, op, data, params, state)
        if stats[alg.STAT["restarted"]]:
            assert np.isnan(state.r0)  # pending until the next evaluation
        elif pending:
            assert state.r0 == expected and np.isfinite(expected)
            checked += 1
    assert checked >= 2  # the case was exercised (restarts followed by an evaluation without one)


def test_bounded_objective_skips_only_the_primal_ray_test():
    """Where c@x is bounded below on the column bounds (every column boxed, or each column's cost
    sign matched by a finite bound) the LP cannot be unbounded, so the driver turns the primal
    ray (unboundedness) test off; the evaluation is otherwise the same, bit for bit, and the
    dual ray still proves infeasibility."""
    from scotopt.problem import LP
    from scotopt.solvers.api import solve

    boxed = LP(c=[-1, 1], A=[[1, -1], [1, 1]], con_lb=[2, -np.inf], con_ub=[np.inf, 1], var_ub=[10, 10],
               name="boxed_primal_infeasible")
    assert driver.algorithm_params(PDHGOptions(), boxed).primal_rays == 0.0
    # x >= 0 with c >= 0, or x <= 0 with c <= 0, or a free column of cost 0: bounded below
    for c, lb, ub in (([1, 1], 0, np.inf), ([-1, -2], -np.inf, 0), ([0, 1], [-np.inf, 0], np.inf),
                      ([2, -1], [0, -np.inf], [np.inf, 3])):
        lp = LP(c=c, A=[[1, -1], [1, 1]], con_ub=[1, 2], var_lb=lb, var_ub=ub)
        assert driver.algorithm_params(PDHGOptions(), lp).primal_rays == 0.0, (c, lb, ub)
    # a cost that improves along an unbounded direction of its column: the test stays on
    for c, lb, ub in (([1, -1], 0, np.inf), ([1, 1], [-np.inf, 0], np.inf), ([-1, 0], -np.inf, [np.inf, 0])):
        lp = LP(c=c, A=[[1, -1], [1, 1]], con_ub=[1, 2], var_lb=lb, var_ub=ub)
        assert driver.algorithm_params(PDHGOptions(), lp).primal_rays == 1.0, (c, lb, ub)
    for name in ("dual_infeasible", "all_bound_kinds", "primal_and_dual_infeasible"):
        assert driver.algorithm_params(PDHGOptions(), catalog_by_name()[name].lp).primal_rays == 1.0
    assert driver.algorithm_params(PDHGOptions(), catalog_by_name()["primal_infeasible"].lp).primal_rays == 0.0
    assert driver.algorithm_params(PDHGOptions()).primal_rays == 1.0

    op, data, params, state = _start("ranged_mixed", PDHGOptions())
    assert driver.algorithm_params(PDHGOptions(), catalog_by_name()["ranged_mixed"].lp) == params._replace(
        primal_rays=0.0)
    for _ in range(256):  # the evaluation at 256 runs the ray tests
        state = alg.step(xp, op, data, params, state)
    s1, with_test = alg.evaluate(xp, op, data, params, state)
    s0, without = alg.evaluate(xp, op, data, params._replace(primal_rays=0.0), state)
    primal = [alg.STAT[k] for k in ("primal_ray_objective", "primal_ray_infeasibility", "ray_candidate")]
    assert with_test[alg.STAT["primal_ray_infeasibility"]] > 0  # the test ran, and found no ray
    assert without[alg.STAT["primal_ray_objective"]] == 0
    assert np.isinf(without[alg.STAT["primal_ray_infeasibility"]])
    np.testing.assert_array_equal(np.delete(with_test, primal), np.delete(without, primal))
    for a, b in zip(s1, s0, strict=True):
        np.testing.assert_array_equal(a, b)

    assert solve(boxed, backend="numpy").status.name == "PRIMAL_INFEASIBLE"
