"""The matrix-free inventory operator: explicit matrix, adjoint identity, scaling and norm."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from scotopt.kernels import get_backend
from scotopt.kernels.inventory import InventoryOperator, InventoryScaling, InventoryStructure
from scotopt.models.inventory import MultiEchelonInventory
from scotopt.solvers.pdhg.scaling import diagonal_scaling
from tests.inventory_reference import explicit_lp


def _structure(rng, S, T, N, P, L, backorders=True, expediting=True, storage=True, lanes=True):
    target = rng.integers(0, N, L)
    lead = rng.integers(0, T + 1, L)
    inputs = sp.random(N, L, density=0.4, random_state=rng, data_rvs=lambda k: rng.uniform(0.5, 2.0, k))
    return InventoryStructure(S, T, N, P, target, lead, sp.csr_matrix(inputs), rng.uniform(0.5, 2, P),
                              rng.uniform(0.5, 2, P), backorders, expediting, storage, lanes)


def _random_scaling(rng, s: InventoryStructure):
    T, N, P, L = s.periods, s.nodes, s.products, s.lanes
    return InventoryScaling(
        balance=rng.uniform(0.5, 2, (T, N, P)),
        storage=rng.uniform(0.5, 2, (T, N)) if s.storage_rows else np.ones((0, 0)),
        lane=rng.uniform(0.5, 2, (T, L)) if s.lane_rows else np.ones((0, 0)),
        q=rng.uniform(0.5, 2, (T, L, P)), second=rng.uniform(0.5, 2, (s.second_stage_blocks, T, N, P)),
    )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    dims=st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 4)),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
)
def test_adjoint_identity_and_explicit_matrix(seed, dims, flags):
    rng = np.random.default_rng(seed)
    s = _structure(rng, *dims, *flags)
    op = InventoryOperator(s).scaled(_random_scaling(rng, s))
    x, y = rng.standard_normal(op.shape[1]), rng.standard_normal(op.shape[0])
    ax, aty = op.matvec(x), op.rmatvec(y)
    assert np.dot(ax, y) == pytest.approx(np.dot(x, aty), rel=1e-10, abs=1e-10)
    A = op.to_csr()
    np.testing.assert_allclose(ax, A @ x, atol=1e-10)
    np.testing.assert_allclose(aty, A.T @ y, atol=1e-10)


def test_explicit_matrix_equals_the_loop_assembly():
    """The operator's own explicit form against tests/inventory_reference.py (written separately)."""
    rng = np.random.default_rng(4)
    S, T, N, P, L = 2, 4, 3, 2, 4
    d = rng.uniform(0, 5, (S, T, N, P))
    inputs = sp.random(N, L, density=0.5, random_state=rng).toarray()
    m = MultiEchelonInventory(rng.integers(0, N, L), rng.integers(0, 3, L), d, holding_cost=1.0,
                              backorder_cost=3.0, lane_inputs=inputs, expedite_cost=5.0, storage_capacity=9.0,
                              lane_capacity=7.0)
    _, A, *_ = explicit_lp(m)
    assert abs(m.to_lp().A.to_csr() - A).max() == 0.0


@pytest.mark.parametrize("flags", [(True, True, True, True), (False, False, False, False), (True, False, True, False)])
def test_structured_scaling_and_norm_equal_the_explicit_ones(flags):
    """Ruiz + Pock-Chambolle computed on one scenario equal the generic CSR scaling of the full
    matrix; the norm from the reduced matrix bounds the dense 2-norm from above, within 1e-6."""
    rng = np.random.default_rng(7)
    s = _structure(rng, 4, 3, 3, 2, 3, *flags)
    op = InventoryOperator(s)
    scaled, d1, d2 = op.diagonal_scaling(10, 1.0)
    A_scaled, r, c = diagonal_scaling(op.to_csr(), 10, 1.0)
    np.testing.assert_allclose(d1, r, rtol=1e-12)
    np.testing.assert_allclose(d2, c, rtol=1e-12)
    assert abs(scaled.to_csr() - A_scaled).max() < 1e-12
    true = np.linalg.norm(A_scaled.toarray(), 2)
    assert true * (1 - 1e-12) <= scaled.operator_norm() <= true * (1 + 1e-6)


@pytest.mark.parametrize("name", ["numpy", "jax"])
def test_device_operator_matches_the_host_one(name):
    rng = np.random.default_rng(9)
    s = _structure(rng, 3, 4, 3, 2, 4)
    op = InventoryOperator(s).scaled(_random_scaling(rng, s))
    backend = get_backend(name)
    with backend.precision(np.float64):
        dev = op.device_operator(backend, np.float64)
        x, y = rng.standard_normal(op.shape[1]), rng.standard_normal(op.shape[0])
        ax = backend.to_host(dev.matvec(backend.asarray(x, np.float64)))
        aty = backend.to_host(dev.rmatvec(backend.asarray(y, np.float64)))
    np.testing.assert_allclose(ax, op.to_csr() @ x, atol=1e-10)
    np.testing.assert_allclose(aty, op.to_csr().T @ y, atol=1e-10)
