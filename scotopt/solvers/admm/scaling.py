"""Ruiz equilibration of the QP's KKT matrix and cost scaling (OSQP, Stellato et al. 2020, 5.1).

The solver works on ``min 1/2 x'Px + q'x  s.t.  l <= Ab x <= u`` with ``Ab = [A; I]``: the
variable bounds are rows of the identity, kept as a diagonal, never materialised. Scaling
``x = D xs``, ``Ab xs`` rows by ``E``, cost by ``gamma`` gives

    Ps = gamma D P D,  qs = gamma D q,  As = E A D (and the diagonal part E_b D),
    ls = E l,  us = E u,

where D, E equilibrate the KKT matrix [[P, Ab^T], [Ab, 0]] by repeated division by the square
roots of its column infinity-norms (Ruiz 2001), and gamma = 1 / max(mean column norm of Ps,
||qs||_inf), clipped to [1e-4, 1e4] (OSQP's cost scaling).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

_MIN_SCALE, _MAX_SCALE = 1e-4, 1e4


@dataclasses.dataclass
class ScaledQP:
    P: sp.csr_matrix   # gamma D P D
    A: sp.csr_matrix   # E_A A D  (m x n)
    bound_diag: np.ndarray  # E_B D: the scaled identity rows of the variable bounds (n)
    q: np.ndarray
    lower: np.ndarray  # (m + n): scaled row bounds, then scaled variable bounds
    upper: np.ndarray
    D: np.ndarray      # (n)
    E: np.ndarray      # (m + n)
    gamma: float


def _inf_norm_columns(M: sp.csr_matrix) -> np.ndarray:
    M = sp.csc_matrix(M)
    return np.maximum.reduceat(np.abs(np.r_[M.data, 0.0]), np.minimum(M.indptr[:-1], M.nnz)) * (np.diff(M.indptr) > 0)


def _inf_norm_rows(M: sp.csr_matrix) -> np.ndarray:
    return _inf_norm_columns(sp.csr_matrix(M).T)


def _safe_inverse_sqrt(norms: np.ndarray) -> np.ndarray:
    norms = np.where(norms < _MIN_SCALE, 1.0, np.minimum(norms, _MAX_SCALE))
    return 1.0 / np.sqrt(norms)


def scale_qp(P: sp.csr_matrix, c: np.ndarray, A: sp.csr_matrix, lower: np.ndarray, upper: np.ndarray,
             iterations: int) -> ScaledQP:
    """Scale the problem; ``lower`` / ``upper`` are the (m + n) stacked row and variable bounds."""
    m, n = A.shape
    P = sp.csr_matrix(P, dtype=np.float64)
    A = sp.csr_matrix(A, dtype=np.float64)
    D = np.ones(n)
    E = np.ones(m + n)
    Ps, As, bound_diag, q = P.copy(), A.copy(), np.ones(n), np.asarray(c, dtype=np.float64).copy()
    for _ in range(iterations):
        column_norms = np.maximum(_inf_norm_columns(Ps), np.maximum(_inf_norm_columns(As), np.abs(bound_diag)))
        row_norms = np.concatenate([_inf_norm_rows(As), np.abs(bound_diag)])
        d = _safe_inverse_sqrt(column_norms)
        e = _safe_inverse_sqrt(row_norms)
        Dd, Ea = sp.diags(d), sp.diags(e[:m])
        Ps = Dd @ Ps @ Dd
        As = Ea @ As @ Dd
        bound_diag = e[m:] * bound_diag * d
        q = d * q
        D *= d
        E *= e
    column_norms = _inf_norm_columns(Ps)
    mean_norm = float(column_norms.mean()) if n else 0.0
    scale = max(mean_norm, float(np.max(np.abs(q), initial=0.0)))
    gamma = 1.0 / min(max(scale, _MIN_SCALE), _MAX_SCALE) if scale > 0 else 1.0
    with np.errstate(invalid="ignore"):  # inf * positive stays inf
        lower_s, upper_s = E * lower, E * upper
    return ScaledQP(P=sp.csr_matrix(gamma * Ps), A=sp.csr_matrix(As), bound_diag=bound_diag, q=gamma * q,
                    lower=lower_s, upper=upper_s, D=D, E=E, gamma=gamma)
