"""Preconditioning and step size: the scaled LP is the same LP in other coordinates."""

import numpy as np
import pytest
import scipy.sparse as sp

from scotopt import LP
from scotopt.solvers.pdhg.norm import estimate_norm
from scotopt.solvers.pdhg.scaling import diagonal_scaling, scale_lp
from tests.problems import highs_solve, random_lp_from_kkt


def _scaled_as_lp(s):
    return LP(s.c, s.A, s.con_lb, s.con_ub, s.var_lb, s.var_ub)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("geometric", [0, 12])
def test_scaled_lp_has_the_mapped_optimum(seed, geometric):
    rng = np.random.default_rng(seed)
    lp, x_star, y_star = random_lp_from_kkt(rng, 30, 50, 0.2)
    # Make the rows badly scaled so that every stage does real work.
    row_scale = 10.0 ** rng.uniform(-3, 3, lp.num_rows)
    lp = LP(lp.c, sp.diags(row_scale) @ lp.A, lp.con_lb * row_scale, lp.con_ub * row_scale,
            lp.var_lb, lp.var_ub, lp.c0)
    s = scale_lp(lp, geometric_mean_iterations=geometric)
    status, objective, x_scaled, y_scaled = highs_solve(_scaled_as_lp(s))
    assert status == "optimal"
    x = s.d2 * x_scaled / s.theta_b
    status_ref, objective_ref, x_ref, _ = highs_solve(lp)
    assert status_ref == "optimal"
    # objective of the scaled LP is theta_b * theta_c * (c@x)
    assert objective / (s.theta_b * s.theta_c) + lp.c0 == pytest.approx(objective_ref, rel=1e-7, abs=1e-7)
    assert lp.objective(x) == pytest.approx(objective_ref, rel=1e-7, abs=1e-7)


def test_ruiz_equilibrates_the_infinity_norms():
    rng = np.random.default_rng(3)
    A = sp.random(40, 60, density=0.2, random_state=4, format="csr")
    A = sp.diags(10.0 ** rng.uniform(-4, 4, 40)) @ A @ sp.diags(10.0 ** rng.uniform(-4, 4, 60))
    scaled, d1, d2 = diagonal_scaling(sp.csr_matrix(A), ruiz_iterations=30, pock_chambolle_alpha=None)
    np.testing.assert_allclose((sp.diags(d1) @ A @ sp.diags(d2)).toarray(), scaled.toarray(), rtol=1e-12)
    absA = abs(scaled)
    row_max = absA.max(axis=1).toarray().ravel()
    col_max = absA.max(axis=0).toarray().ravel()
    nonempty_rows = np.diff(scaled.indptr) > 0
    assert np.allclose(row_max[nonempty_rows], 1.0, atol=1e-3)
    assert np.allclose(col_max[col_max > 0], 1.0, atol=1e-3)


def test_empty_rows_and_columns_keep_unit_factors():
    A = sp.csr_matrix(np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 5.0]]))
    _, d1, d2 = diagonal_scaling(A, 10, 1.0, geometric_mean_iterations=12)
    assert d1[0] == 1.0 and d2[1] == 1.0
    assert np.all(np.isfinite(d1)) and np.all(np.isfinite(d2))


def _dense_reference_scaling(A, ruiz, alpha, geometric):
    """The three stages written pass by pass on a dense matrix (nonzero pattern = A != 0)."""
    M = np.abs(A.toarray())
    m, n = M.shape
    d1, d2 = np.ones(m), np.ones(n)

    def inv_sqrt(v):
        return np.where(v > 0, 1.0 / np.sqrt(np.where(v > 0, v, 1.0)), 1.0)

    def scaled():
        return d1[:, None] * M * d2[None, :]

    def min_times_max(S, axis):  # over the nonzeros; 0 where there are none
        smallest = np.where(S > 0, S, np.inf).min(axis=axis, initial=np.inf)
        return S.max(axis=axis, initial=0) * np.where(np.isfinite(smallest), smallest, 0.0)

    for _ in range(geometric):
        d1 *= inv_sqrt(min_times_max(scaled(), 1))
        d2 *= inv_sqrt(min_times_max(scaled(), 0))
    for _ in range(ruiz):
        S = scaled()
        r, c = inv_sqrt(S.max(axis=1, initial=0)), inv_sqrt(S.max(axis=0, initial=0))
        d1 *= r
        d2 *= c
    if alpha is not None:
        S = scaled()
        nz = S > 0
        r = inv_sqrt((np.where(nz, S, 1.0) ** alpha * nz).sum(axis=1))
        c = inv_sqrt((np.where(nz, S, 1.0) ** (2 - alpha) * nz).sum(axis=0))
        d1 *= r
        d2 *= c
    return d1, d2


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("stages", [(10, 1.0, 2), (0, None, 3), (4, None, 0), (0, 1.0, 0), (10, 0.0, 1)])
def test_scaling_matches_a_dense_pass_by_pass_reference(seed, stages):
    rng = np.random.default_rng(seed)
    A = sp.random(25, 35, density=0.15, random_state=seed, format="lil")
    A[4, :] = 0.0  # an empty row and an empty column
    A[:, 9] = 0.0
    A = sp.csr_matrix(A)
    A.data *= 10.0 ** rng.uniform(-3, 3, A.nnz) * rng.choice([-1.0, 1.0], A.nnz)
    A.data[::6] = 0.0  # explicit zeros are not entries
    ruiz, alpha, geometric = stages
    scaled, d1, d2 = diagonal_scaling(A, ruiz, alpha, geometric_mean_iterations=geometric)
    d1_ref, d2_ref = _dense_reference_scaling(A, ruiz, alpha, geometric)
    np.testing.assert_allclose(d1, d1_ref, rtol=1e-12)
    np.testing.assert_allclose(d2, d2_ref, rtol=1e-12)
    np.testing.assert_allclose(scaled.toarray(), d1_ref[:, None] * A.toarray() * d2_ref[None, :], rtol=1e-12)
    assert scaled.nnz == np.count_nonzero(A.toarray())


@pytest.mark.parametrize("shape", [(5, 3), (30, 80), (200, 50), (1, 4), (7, 1)])
def test_norm_estimate_bounds_the_spectral_norm(shape):
    A = sp.random(*shape, density=0.5, random_state=shape[0], format="csr")
    true = np.linalg.norm(A.toarray(), 2)
    estimate = estimate_norm(A)
    # A step 0.998 / estimate must keep eta * ||A|| < 1: the estimate may not fall below ||A||.
    assert estimate >= true * (1 - 1e-9)
    assert estimate <= true * 1.001 + 1e-6


def test_norm_estimate_of_an_empty_matrix_is_a_positive_floor():
    assert estimate_norm(sp.csr_matrix((3, 4))) > 0


@pytest.mark.parametrize("top", [[1.0], [1.0, 1.0 - 1e-7, 1.0 - 1e-6, 1.0 - 1e-5], list(np.linspace(1.0, 0.999, 50))])
def test_norm_estimate_is_an_upper_bound_on_clustered_spectra(top):
    """Lanczos' hard case: the largest singular values clustered, behind a LinearOperator too."""
    import scipy.sparse.linalg as spla

    rng = np.random.default_rng(len(top))
    m, n = 300, 200
    u, _ = np.linalg.qr(rng.standard_normal((m, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.concatenate([top, rng.uniform(0.0, 0.9, n - len(top))])
    A = (u * s) @ v.T
    operator = spla.LinearOperator((m, n), matvec=lambda x: A @ x, rmatvec=lambda y: A.T @ y, dtype=np.float64)
    for given in (A, operator):
        estimate = estimate_norm(given)
        assert 1.0 <= estimate <= 1.0 + 1e-6
