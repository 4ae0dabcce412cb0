"""Consensus ADMM (progressive hedging) equals the monolithic optimum on a small scenario
inventory instance, checked with HiGHS on the extensive form."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from problems import highs_solve

from scotopt import LP, InvalidOptionError, InvalidProblemError, Status
from scotopt.models.newsvendor import scenario_newsvendor_blocks
from scotopt.solvers.admm.consensus import extensive_form, solve_consensus


def scenario_inventory(num_scenarios: int = 6, products: int = 3, seed: int = 0):
    """Order q_j before demand d_sj is known (shared); per scenario sell s_sj <= min(q_j, d_sj),
    hold the rest, within a shared storage capacity on q (LP blocks; the model's docstring)."""
    return scenario_newsvendor_blocks(num_scenarios, products, seed)


def scenario_qp(num_scenarios: int = 6, products: int = 3, seed: int = 0):
    """:func:`scenario_inventory` with convex quadratic costs: 0.05 q_j^2 (ordering gets dearer)
    and 0.02 s_j^2 (selling more needs discounts), so blocks are QPs with P_s = diag(...)."""
    return scenario_newsvendor_blocks(num_scenarios, products, seed, curvature=(0.05, 0.02))


def test_consensus_equals_monolithic_optimum():
    blocks, p, k = scenario_inventory()
    monolithic = extensive_form(blocks, p, k)
    status, objective, x_highs, _ = highs_solve(monolithic)
    assert status == "optimal"
    result = solve_consensus(blocks, p, k, rho=1.0, eps=1e-6, time_limit=120)
    assert result.status == Status.OPTIMAL, result
    assert result.fun == pytest.approx(objective, rel=1e-5, abs=1e-5)
    assert result.kkt_error <= 1e-6
    np.testing.assert_allclose(result.extra["z"], x_highs[:k], rtol=1e-3, atol=1e-3)
    assert result.extra["rounds"] > 1  # the consensus really iterated


def test_consensus_input_errors():
    blocks, p, k = scenario_inventory(num_scenarios=2)
    with pytest.raises(InvalidProblemError, match="sum to 1"):
        solve_consensus(blocks, [0.5, 0.6], k)
    with pytest.raises(InvalidProblemError, match="shape"):
        solve_consensus([blocks[0], LP(np.ones(2), sp.csr_matrix((0, 2)))], [0.5, 0.5], 1)
    with pytest.raises(InvalidProblemError, match="num_shared"):
        solve_consensus(blocks, p, 0)


def test_consensus_sharding_options_are_checked():
    """devices= / mesh= need backend='jax' and a device count JAX has (the sharded solves
    themselves run on 4 forced host devices in tests/test_sharded.py)."""
    blocks, p, k = scenario_inventory(num_scenarios=2)
    with pytest.raises(InvalidOptionError, match="backend='jax'"):
        solve_consensus(blocks, p, k, devices=1)
    with pytest.raises(InvalidOptionError, match="xla_force_host_platform_device_count"):
        solve_consensus(blocks, p, k, backend="jax", devices=64)


def overflowing_blocks(magnitude: float = 1e160):
    """Two one-variable LP blocks, min x s.t. x >= M (block 0) and x <= 2 M (block 1): a feasible
    problem (x* = M) whose consensus residual sum_s p_s (x_s - z)^2 is of order M^2, which
    overflows float64 for M = 1e160 in the first round."""
    A = sp.csr_matrix(np.ones((1, 1)))
    return [LP(np.ones(1), A, np.array([magnitude]), np.array([np.inf])),
            LP(np.ones(1), A, np.array([-np.inf]), np.array([2 * magnitude]))], [0.5, 0.5], 1


@pytest.mark.parametrize("where", ["host", "devices"])
def test_consensus_numerical_error_returns_the_last_finite_round(where):
    """A round whose z or consensus residual is not finite stops with NUMERICAL_ERROR on both
    paths (host batch and blocks on a JAX mesh), and the answer is the last finite round's
    (here the starting point, z = 0), not the overflowed one."""
    blocks, p, k = overflowing_blocks()
    where_kw = {"backend": "numpy"} if where == "host" else {"backend": "jax", "devices": 1}
    with np.errstate(over="ignore", invalid="ignore"):
        result = solve_consensus(blocks, p, k, eps=1e-6, max_rounds=50, time_limit=60, **where_kw)
    assert result.status == Status.NUMERICAL_ERROR, result
    assert result.extra["rounds"] == 1
    assert np.isfinite(result.extra["z"]).all() and np.isfinite(result.x).all() and np.isfinite(result.y).all()
    np.testing.assert_array_equal(result.extra["z"], 0.0)
    assert not result.success


def test_extensive_kkt_from_block_sums_equals_kkt_report():
    """The multi-host check (per-block sums, never the assembled extensive form) gives the numbers of
    kkt_report on the assembled extensive form, at arbitrary points (QP blocks; some bound and sign
    violations included), in one process."""
    from scotopt.distributed.consensus import _shared_bounds, extensive_kkt
    from scotopt.solvers import kkt
    from scotopt.solvers.admm.consensus import _quadratic

    blocks, p, k = scenario_qp(5)
    rng = np.random.default_rng(3)
    m, n = blocks[0].shape
    own = {s: (b, _quadratic(b)) for s, b in enumerate(blocks)}
    for _ in range(3):
        z = rng.normal(5, 5, k)
        point = {s: (rng.normal(5, 5, n), rng.normal(0, 1, m)) for s in range(5)}
        mine = extensive_kkt(own, point, p, k, z, _shared_bounds(own, k))
        x = np.concatenate([z] + [point[s][0][k:] for s in range(5)])
        y = np.concatenate([point[s][1] for s in range(5)])
        report = kkt.kkt_report(extensive_form(blocks, p, k), x, y)
        expected = (report.rel_primal, report.rel_dual, report.rel_gap, report.primal_objective,
                    report.dual_objective)
        np.testing.assert_allclose(mine, expected, rtol=1e-12)


def test_distributed_consensus_input_errors():
    from scotopt.distributed.consensus import solve_consensus_distributed

    blocks, p, k = scenario_inventory(num_scenarios=2)
    with pytest.raises(InvalidProblemError, match="at least one"):
        solve_consensus_distributed(lambda s: blocks[s], 0, [], k)
    with pytest.raises(InvalidProblemError, match="not an LP"):
        solve_consensus_distributed(lambda s: "block", 2, p, k)
    with pytest.raises(InvalidProblemError, match="shape"):
        solve_consensus_distributed(lambda s: [blocks[0], LP(np.ones(2), sp.csr_matrix((0, 2)))][s], 2, p, k)
    with pytest.raises(InvalidProblemError, match="2 positive numbers"):
        solve_consensus_distributed(lambda s: blocks[s], 2, [1.0], k)
    with pytest.raises(InvalidOptionError, match="rho"):
        solve_consensus_distributed(lambda s: blocks[s], 2, p, k, rho=-1.0)
