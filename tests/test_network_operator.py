"""The matrix-free incidence operator against an explicit SciPy matrix built here, independently.

The reference matrix is assembled in this file from (tail, head) with scipy.sparse.coo_matrix,
never with scotopt's own ``to_csr``; its norms come from SciPy reductions over its entries.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from scotopt.kernels import get_backend
from scotopt.kernels.incidence import NetworkMatrix
from scotopt.problem import LP
from scotopt.solvers.pdhg.scaling import diagonal_scaling, scale_lp


def explicit(tail, head, V, K, coupling, d1=None, d2=None):
    """[I_K kron N; 1_K^T kron I_E] with N[tail, a] = +1, N[head, a] = -1, scaled diag(d1) . diag(d2)."""
    E = len(tail)
    N = sp.coo_matrix((np.ones(E), (tail, np.arange(E))), shape=(V, E)) - sp.coo_matrix(
        (np.ones(E), (head, np.arange(E))), shape=(V, E)
    )
    blocks = [sp.kron(sp.identity(K), N)]
    if coupling:
        blocks.append(sp.kron(np.ones((1, K)), sp.identity(E)))
    M = sp.csr_matrix(sp.vstack(blocks))
    M.eliminate_zeros()
    m, n = M.shape
    d1 = np.ones(m) if d1 is None else np.broadcast_to(d1, (m,))
    d2 = np.ones(n) if d2 is None else np.broadcast_to(d2, (n,))
    return sp.csr_matrix(sp.diags(d1) @ M @ sp.diags(d2))


@st.composite
def networks(draw):
    V = draw(st.integers(1, 8))
    E = draw(st.integers(0, 20))
    K = draw(st.integers(1, 3))
    coupling = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    tail = rng.integers(0, V, E)
    head = rng.integers(0, V, E)
    m, n = K * V + (E if coupling else 0), K * E
    d1 = rng.uniform(0.1, 3.0, m) if draw(st.booleans()) else None
    d2 = rng.uniform(0.1, 3.0, n) if draw(st.booleans()) else draw(st.sampled_from([1.0, 0.5]))
    return tail, head, V, K, coupling, d1, d2, rng


@pytest.mark.parametrize("compiled", ["1", "0"])  # numba's host loops (one commodity), NumPy's
@settings(max_examples=60, deadline=None)
@given(networks())
def test_adjoint_identity_and_explicit_matrix(compiled, case):
    import os

    from scotopt.kernels.network_fused import ENV_SWITCH

    tail, head, V, K, coupling, d1, d2, rng = case
    A = NetworkMatrix(tail, head, V, K, coupling, row_scale=d1, col_scale=d2)
    M = explicit(tail, head, V, K, coupling, d1, d2)
    assert A.shape == M.shape
    x = rng.standard_normal(A.shape[1])
    y = rng.standard_normal(A.shape[0])
    before = os.environ.get(ENV_SWITCH)
    os.environ[ENV_SWITCH] = compiled
    try:
        ax, aty = A.matvec(x), A.rmatvec(y)
    finally:
        if before is None:
            os.environ.pop(ENV_SWITCH)
        else:
            os.environ[ENV_SWITCH] = before
    scale = 1.0 + np.abs(x).sum() + np.abs(y).sum()
    assert abs(ax @ y - x @ aty) <= 1e-12 * scale * 10
    np.testing.assert_allclose(ax, M @ x, atol=1e-12)
    np.testing.assert_allclose(aty, M.T @ y, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(networks(), st.sampled_from([0.0, 0.5, 1.0, 1.7, 2.0]))
def test_closed_form_norms_equal_computed(case, p):
    tail, head, V, K, coupling, d1, d2, _ = case
    A = NetworkMatrix(tail, head, V, K, coupling, row_scale=d1, col_scale=d2)
    M = abs(explicit(tail, head, V, K, coupling, d1, d2))
    m, n = M.shape
    row_max = M.max(axis=1).toarray().ravel() if n else np.zeros(m)
    col_max = M.max(axis=0).toarray().ravel() if m else np.zeros(n)
    np.testing.assert_allclose(A.row_abs_max(), row_max, rtol=1e-14)
    np.testing.assert_allclose(A.col_abs_max(), col_max, rtol=1e-14)
    P = M.copy()
    P.data = P.data**p
    np.testing.assert_allclose(A.row_abs_power_sum(p), np.asarray(P.sum(axis=1)).ravel(), rtol=1e-12)
    np.testing.assert_allclose(A.col_abs_power_sum(p), np.asarray(P.sum(axis=0)).ravel(), rtol=1e-12)
    if m and n:
        assert A.norm_upper_bound() >= np.linalg.norm(M.toarray(), 2) * (1 - 1e-12)


@settings(max_examples=30, deadline=None)
@given(networks(), st.integers(0, 3), st.sampled_from([None, 0.0, 1.0, 2.0]))
def test_closed_form_scaling_matches_generic_preconditioner(case, ruiz, alpha):
    """scale_lp on the operator (closed forms) == scale_lp's CSR path on the explicit matrix."""
    tail, head, V, K, coupling, _, _, rng = case
    A = NetworkMatrix(tail, head, V, K, coupling)
    M = explicit(tail, head, V, K, coupling)
    scaled_op, d1, d2 = A.diagonal_scaling(ruiz, alpha)
    scaled_csr, e1, e2 = diagonal_scaling(M, ruiz, alpha)
    np.testing.assert_allclose(d1, e1, rtol=1e-14)
    np.testing.assert_allclose(np.broadcast_to(d2, e2.shape), e2, rtol=1e-14)
    x = rng.standard_normal(A.shape[1])
    np.testing.assert_allclose(scaled_op.matvec(x), scaled_csr @ x, atol=1e-12)
    if A.shape[0] and A.shape[1]:
        lp = LP(np.ones(A.shape[1]), A, con_lb=0, con_ub=0)
        s = scale_lp(lp)
        lp_csr = LP(np.ones(A.shape[1]), M, con_lb=0, con_ub=0)
        s_csr = scale_lp(lp_csr)
        np.testing.assert_allclose(np.broadcast_to(s.d2, s_csr.d2.shape), s_csr.d2, rtol=1e-14)
        np.testing.assert_allclose(s.d1, s_csr.d1, rtol=1e-14)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("K,coupling", [(1, False), (1, True), (4, True), (3, False)])
@pytest.mark.parametrize("vector_d2", [False, True])
def test_device_operators_match_explicit(backend, dtype, K, coupling, vector_d2):
    rng = np.random.default_rng(7)
    V, E = 11, 40
    tail, head = rng.integers(0, V, E), rng.integers(0, V, E)
    d1 = rng.uniform(0.5, 2.0, K * V + (E if coupling else 0))
    d2 = rng.uniform(0.5, 2.0, K * E) if vector_d2 else 0.7
    A = NetworkMatrix(tail, head, V, K, coupling, row_scale=d1, col_scale=d2)
    M = explicit(tail, head, V, K, coupling, d1, d2)
    be = get_backend(backend)
    dt = np.dtype(dtype)
    with be.precision(dt):
        op = A.device_operator(be, dt)
        op = op.with_params(op.params)
        x, y = rng.standard_normal(A.shape[1]), rng.standard_normal(A.shape[0])
        ax = op.matvec(be.asarray(x, dt))
        aty = op.rmatvec(be.asarray(y, dt))
        assert np.dtype(ax.dtype) == dt and np.dtype(aty.dtype) == dt
        tol = 1e-12 if dt == np.float64 else 2e-5
        np.testing.assert_allclose(be.to_host(ax), M @ x, atol=tol * 10)
        np.testing.assert_allclose(be.to_host(aty), M.T @ y, atol=tol * 10)


@pytest.mark.parametrize("compiled", ["1", "0"])  # numba's host loops, NumPy's
@settings(max_examples=40, deadline=None)
@given(networks(), st.integers(1, 7))
def test_block_products_equal_whole_products_and_explicit(compiled, case, block):
    """``adjoint_columns`` (host) and ``rmatvec_blocks`` (device) read in blocks of any length give
    the whole product's values, which equal the explicit matrix's; a float32 x reads as float64."""
    import os

    from scotopt.kernels.network_fused import ENV_SWITCH

    tail, head, V, K, coupling, d1, d2, rng = case
    A = NetworkMatrix(tail, head, V, K, coupling, row_scale=d1, col_scale=d2)
    M = explicit(tail, head, V, K, coupling, d1, d2)
    y = rng.standard_normal(A.shape[0])
    x32 = rng.standard_normal(A.shape[1]).astype(np.float32)
    before = os.environ.get(ENV_SWITCH)
    os.environ[ENV_SWITCH] = compiled
    try:
        lazy = A.adjoint_columns(y)
        if K > 1 or coupling:
            assert lazy is None
        else:
            n = A.shape[1]
            pieces = [lazy[start:start + block] for start in range(0, n, block)]
            got = np.concatenate(pieces) if pieces else np.zeros(0)
            np.testing.assert_array_equal(got, A.rmatvec(y))
            np.testing.assert_allclose(got, M.T @ y, atol=1e-12)
        np.testing.assert_array_equal(A.matvec(x32), A.matvec(x32.astype(np.float64)))
        np.testing.assert_allclose(A.matvec(x32), M @ x32.astype(np.float64), atol=1e-12)
        be = get_backend("numpy")
        for dt in (np.dtype(np.float64), np.dtype(np.float32)):
            op = A.device_operator(be, dt)
            yd = be.asarray(y, dt)
            blocks = op.rmatvec_blocks(yd)
            if K > 1 or coupling:
                assert blocks is None
                continue
            whole = op.rmatvec(yd)
            parts = [blocks[s:s + block] for s in range(0, whole.shape[0], block)]
            np.testing.assert_array_equal(np.concatenate(parts) if parts else whole, whole)
    finally:
        if before is None:
            os.environ.pop(ENV_SWITCH)
        else:
            os.environ[ENV_SWITCH] = before


def test_float64_check_of_a_float32_flow_holds_no_column_vector():
    """kkt_report on a network, float32 x, reduced costs not kept: the same measures as the float64
    path, and (tracemalloc) no column-length temporary: before, a float64 copy of x and
    c - A^T y (8 B per arc each) were formed whole."""
    import tracemalloc

    from scotopt.models.generators import netgen_min_cost_flow
    from scotopt.solvers import kkt

    arcs = 1 << 20
    model = netgen_min_cost_flow(arcs // 8, arcs, seed=2)
    rng = np.random.default_rng(0)
    lp = model.lp
    x = rng.uniform(0, 5, lp.num_vars).astype(np.float32)
    y = rng.standard_normal(lp.num_rows)
    reference = kkt.kkt_report(lp, x.astype(np.float64), y, keep_reduced_costs=True)
    kkt.kkt_report(lp, x, y, keep_reduced_costs=False)  # compiles / loads the float32 loop first
    tracemalloc.start()
    try:
        report = kkt.kkt_report(lp, x, y, keep_reduced_costs=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    for field in ("rel_primal", "rel_dual", "rel_gap", "primal_objective", "dual_objective",
                  "max_primal_violation", "max_dual_violation"):
        assert getattr(report, field) == pytest.approx(getattr(reference, field), rel=1e-12, abs=1e-300)
    assert report.reduced_costs is None
    # node vectors (float64, V = E / 8: 1 B per arc each) and 2^16-entry blocks only: less than
    # one float64 column vector (8 B per arc; it measured 6.5 with none, 14+ with one)
    assert peak / arcs < 8.0, f"{peak / arcs:.1f} B per arc during the check"


def test_node_degrees_are_counted_once_for_a_network_and_its_scaled_copies(monkeypatch):
    """The Ruiz passes ask every scaled copy for the node degrees: counted once (np.add.at runs
    twice, tails and heads), equal to the explicit matrix's row counts, and read-only."""
    rng = np.random.default_rng(3)
    tail, head = rng.integers(0, 30, 200), rng.integers(0, 30, 200)
    tail[:4] = head[:4]  # self-loops count nowhere
    net = NetworkMatrix(tail, head, 30)
    counts = []
    kept = NetworkMatrix._kept

    def counted(self, index):  # read once for the tails and once for the heads of each count
        counts.append(1)
        return kept(self, index)

    monkeypatch.setattr(NetworkMatrix, "_kept", counted)
    op, d1, d2 = net.diagonal_scaling(10, 1.0)
    degrees = op._degrees()
    monkeypatch.undo()
    assert len(counts) == 2
    explicit = (NetworkMatrix(tail, head, 30).to_csr() != 0).sum(axis=1).A1
    np.testing.assert_array_equal(degrees, explicit)
    assert not degrees.flags.writeable
    other = NetworkMatrix(head, tail, 30)  # another network: its own count
    np.testing.assert_array_equal(other._degrees(), explicit)
