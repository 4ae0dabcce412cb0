"""NumPy and JAX run the same algorithm: same status, same objective, (nearly) the same
iteration count, on catalog LPs, random LPs and small Netlib instances."""

from __future__ import annotations

import numpy as np
import pytest

import scotopt
from scotopt.io import read_mps
from scotopt.status import Status
from tests.problems import catalog_by_name, random_lp_from_kkt

EPS = 1e-8
CATALOG_NAMES = ["equality_rows", "ranged_mixed", "free_variables", "all_bound_kinds", "degenerate_vertex",
                 "primal_infeasible", "dual_infeasible"]
RANDOM_CASES = [(30, 40, 0.2, 0), (80, 60, 0.08, 1)]
NETLIB_NAMES = ["afiro", "sc50a", "blend"]


def _assert_parity(lp):
    a = scotopt.solve(lp, backend="numpy", eps=EPS, iteration_limit=200_000)
    b = scotopt.solve(lp, backend="jax", eps=EPS, iteration_limit=200_000)
    assert (a.backend, b.backend) == ("numpy", "jax")
    assert a.status == b.status, (a, b)
    assert a.status != Status.ITERATION_LIMIT, a
    if a.status == Status.OPTIMAL:
        assert abs(a.fun - b.fun) <= 1e-6 * max(1.0, abs(a.fun)), (a.fun, b.fun)
        assert max(a.kkt_error, b.kkt_error) <= EPS
    assert abs(a.iterations - b.iterations) <= 0.1 * max(a.iterations, b.iterations), (a.iterations, b.iterations)
    return a, b


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_parity_catalog(name):
    inst = catalog_by_name()[name]
    a, b = _assert_parity(inst.lp)
    if inst.is_optimal:
        assert abs(a.fun - inst.objective) <= 1e-6 * max(1.0, abs(inst.objective))
        if inst.unique:
            np.testing.assert_allclose(a.x, b.x, atol=1e-6)
            np.testing.assert_allclose(a.y, b.y, atol=1e-6)


@pytest.mark.parametrize("case", RANDOM_CASES, ids=[f"{m}x{n}@{d}-s{s}" for m, n, d, s in RANDOM_CASES])
def test_parity_random(case):
    m, n, density, seed = case
    lp, x_star, _ = random_lp_from_kkt(np.random.default_rng(seed), m, n, density)
    a, _ = _assert_parity(lp)
    assert a.status == Status.OPTIMAL
    assert abs(a.fun - lp.objective(x_star)) <= 1e-6 * max(1.0, abs(lp.objective(x_star)))


@pytest.mark.parametrize("name", NETLIB_NAMES)
def test_parity_netlib(name, shared_data):
    path = shared_data / "netlib" / f"{name}.mps.gz"
    if not path.exists():
        pytest.skip(f"{path} not found")
    a, _ = _assert_parity(read_mps(path))
    assert a.status == Status.OPTIMAL
