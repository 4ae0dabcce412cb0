"""||A||_2 for PDHG's step size: Lanczos on the Gram operator, on the host in float64.

The step is eta = safety / ||A~||_2, and the reflected Halpern iteration diverges once
eta ||A~|| > 1, so the estimate must not fall short. Plain power iteration approaches ||A||_2
from below slowly: stopped after ~100 products it underestimated Netlib BANDM by 0.4 %.

Lanczos (Golub & Van Loan, *Matrix Computations*, 4th ed., s.10.1) on G = A^T A (or A A^T,
whichever is smaller) builds the tridiagonal T_k = Q_k^T G Q_k from the three-term recurrence
``beta_j q_{j+1} = G q_j - alpha_j q_j - beta_{j-1} q_{j-1}``. The largest eigenvalue theta of
T_k is a Ritz value, theta <= lambda_max(G), and with s its unit eigenvector the Ritz pair's
residual is ``beta_k |s_k|`` (ibid. eq. 10.1.7): some eigenvalue of G lies within that distance
of theta. The recurrence stops when the residual is at most ``tol * theta``, and the estimate
returned is ``sqrt(theta (1 + tol))``, an upper bound of ||A||_2 once theta has converged to
the top of the spectrum. Without reorthogonalisation, lost orthogonality only repeats
converged Ritz values; it does not move the largest one past lambda_max.

Why not ARPACK (``scipy.sparse.linalg.eigsh``)? Its implicit restarts cost more than the
products here, and with several BLAS threads on a loaded machine far more: on Kennington pds-50
(83k x 270k, 585k nonzeros) eigsh to tol 1e-6 took 14.7 s for 391 products (38 ms each against
5 ms per product) and dominated PDHG's setup; this recurrence to tol 1e-8 takes about 1 s.

Every 5 steps only the top Ritz pair of T_k is computed (LAPACK bisection and inverse
iteration through ``eigh_tridiagonal(select="i")``), not all k pairs: the full decomposition made
Lanczos O(k^3) over its run and, with fast products, most of its time (2026-11-26, second
call, same norms to 1e-15: pds-50 2.56 -> 1.29 s, a 2^17-arc grid 1.5-1.8 -> 0.16-0.26 s,
NETGEN 2^18 arcs 0.77-0.80 -> 0.24-0.29 s).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

NORM_FLOOR = 1e-6  # an all-zero matrix still gets a finite step
# Relative residual of the top Ritz pair; the bound is sqrt(theta (1 + tol)). A looser 1e-4 was
# 4x cheaper on pds-50 (0.22 s against 0.98 s with one BLAS thread) but moved the step by 5e-5,
# and restarted PDHG is sensitive to that: Netlib kb2 took 22,528 iterations instead of 11,840,
# tuff 323k instead of 210k (others fewer: bore3d -17 %, scagr25 -21 %). 1e-8 reproduces the
# iteration counts of an exact norm.
_TOLERANCE = 1e-8
_MAX_STEPS = 1000
_CHECK_EVERY = 5


def estimate_norm(A, seed: int = 0, tol: float = _TOLERANCE, max_steps: int = _MAX_STEPS) -> float:
    """An upper estimate of ||A||_2 (a SciPy sparse matrix, a dense array or a LinearOperator)."""
    m, n = A.shape
    if m == 0 or n == 0 or (sp.issparse(A) and A.nnz == 0):
        return NORM_FLOOR
    if min(m, n) <= 2:
        dense = A.toarray() if sp.issparse(A) else A @ np.eye(n)
        return max(float(np.linalg.norm(dense, 2)), NORM_FLOOR)
    if sp.issparse(A):
        A = sp.csr_matrix(A)
        At = A.T.tocsr()
        forward, adjoint = A.__matmul__, At.__matmul__
    elif isinstance(A, np.ndarray):
        forward, adjoint = A.__matmul__, A.T.__matmul__
    else:
        forward, adjoint = A.matvec, A.rmatvec
    if n <= m:
        size, gram = n, (lambda v: adjoint(forward(v)))
    else:
        size, gram = m, (lambda v: forward(adjoint(v)))
    theta = _lanczos_top(gram, np.random.default_rng(seed).standard_normal(size), tol, max_steps)
    return max(math.sqrt(max(theta, 0.0) * (1.0 + tol)), NORM_FLOOR)


def _lanczos_top(gram, q: np.ndarray, tol: float, max_steps: int) -> float:
    """Largest Ritz value of the symmetric positive semidefinite operator ``gram``."""
    q = q / np.linalg.norm(q)
    q_previous = np.zeros_like(q)
    alphas: list[float] = []
    betas: list[float] = []
    beta = 0.0
    theta = 0.0
    last = min(max_steps, q.size)
    for step in range(1, last + 1):
        w = np.asarray(gram(q), dtype=np.float64).ravel()
        w -= beta * q_previous
        alpha = float(q @ w)
        w -= alpha * q
        alphas.append(alpha)
        beta = float(np.linalg.norm(w))
        if beta == 0.0 or step % _CHECK_EVERY == 0 or step == last:
            # the top Ritz pair only: the full decomposition, every 5 steps, was O(k^2) per call
            # and most of Lanczos' time once the products were fast (grid of 2^17 arcs)
            top = len(alphas) - 1
            values, vectors = sla.eigh_tridiagonal(np.array(alphas), np.array(betas), select="i",
                                                   select_range=(top, top))
            theta = float(values[-1])
            if beta == 0.0 or beta * abs(vectors[-1, -1]) <= tol * max(theta, 0.0):
                return theta
        betas.append(beta)
        q_previous, q = q, w / beta
    return theta * (1.0 + 100 * tol)  # not converged: keep a margin
