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
