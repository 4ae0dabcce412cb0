"""Diagonal preconditioning of an LP for PDHG (host, SciPy, float64).

Applies, in order (cuPDLPx ``docs/algorithm/preconditioning.md``; PDLP arXiv 2106.04756 s.3.3):

0. ``geometric_mean_iterations`` Gurobi-style passes: rows then columns scaled by
   1/sqrt(min|a| max|a|) over their nonzeros (cuPDLPx runs 12; 2 by default here, see PDHGOptions).
1. Ruiz equilibration, ``ruiz_iterations`` passes: d1_i = 1/sqrt(max_j |a_ij|),
   d2_j = 1/sqrt(max_i |a_ij|), applied together each pass.
2. Pock-Chambolle with parameter alpha: d1_i = 1/sqrt(sum_j |a_ij|^alpha),
   d2_j = 1/sqrt(sum_i |a_ij|^(2-alpha)).
3. Bound and objective rescaling (HPR-LP, arXiv 2408.12179): theta_b = 1/(1+||b~||_2),
   theta_c = 1/(1+||c~||_2) on the diagonally scaled data.

The passes never form an intermediate matrix: they update d1 and d2 and reduce the entries
|a_ij| d1_i d2_j of the original nonzeros by row (CSR segments) and by column (one stable sort of
the column indices, made once), and A~ is built once at the end.

The scaled LP is ``A~ = D1 A D2``, ``c~ = theta_c D2 c``, ``[l~c, u~c] = theta_b D1 [lc, uc]``,
``[l~v, u~v] = theta_b D2^-1 [lv, uv]``, and solutions map back as
``x = D2 x~ / theta_b``, ``y = D1 y~ / theta_c``. Empty rows and columns keep factor 1.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from scotopt.problem import LP, constant_vector, is_constant_view
from scotopt.segments import SegmentVector, vector_norm


@dataclasses.dataclass
class ScaledLP:
    """An LP in scaled coordinates plus the factors that map it back (all host float64).

    Not frozen: the PDHG driver hands its vectors to the device one by one and drops each host
    copy as it goes (``driver._make_data``), which at 10^8 columns is 800 MB per vector."""

    A: sp.csr_matrix | object  # CSR, a scaled structured operator, or the original LinearOperator
    c: np.ndarray
    con_lb: np.ndarray
    con_ub: np.ndarray
    var_lb: np.ndarray
    var_ub: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    theta_b: float
    theta_c: float


def safe_inverse_sqrt(values: np.ndarray) -> np.ndarray:
    """1/sqrt(v) where v > 0, else 1 (empty rows and columns keep factor 1)."""
    out = np.ones_like(values)
    positive = values > 0
    out[positive] = 1.0 / np.sqrt(values[positive])
    return out


def abs_max(A: sp.csr_matrix, axis: int) -> np.ndarray:
    """max |a| along ``axis`` (0 for empty rows/columns and for a matrix with no rows or columns)."""
    if A.shape[0] == 0 or A.shape[1] == 0:
        return np.zeros(A.shape[1 - axis])
    return np.asarray(abs(A).max(axis=axis).todense()).ravel()


class _Entries:
    """|a_ij| of a CSR matrix's nonzeros with their row and column segments, for reductions of
    the scaled entries |a_ij| d1_i d2_j by row and by column without forming D1 A D2."""

    def __init__(self, A: sp.csr_matrix):
        m, n = A.shape
        self.shape = (m, n)
        self.magnitude = np.abs(A.data)
        counts = np.diff(A.indptr)
        self.rows = np.repeat(np.arange(m), counts)
        self.cols = A.indices
        self.row_nonempty = counts > 0
        self.row_starts = A.indptr[:-1][self.row_nonempty]
        self.col_order = np.argsort(A.indices, kind="stable")
        col_counts = np.bincount(A.indices, minlength=n)
        self.col_nonempty = col_counts > 0
        self.col_starts = (np.cumsum(col_counts) - col_counts)[self.col_nonempty]

    def scaled(self, d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
        return self.magnitude * d1[self.rows] * d2[self.cols]

    def by_row(self, ufunc, values: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape[0])  # 0 for an empty row
        if self.row_starts.size:
            out[self.row_nonempty] = ufunc.reduceat(values, self.row_starts)
        return out

    def by_col(self, ufunc, values: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape[1])  # 0 for an empty column
        if self.col_starts.size:
            out[self.col_nonempty] = ufunc.reduceat(values[self.col_order], self.col_starts)
        return out


def _geometric_mean_inverse(largest: np.ndarray, smallest: np.ndarray) -> np.ndarray:
    """1/sqrt(min|a| * max|a|); 1 where the row or column is empty (both reductions give 0 there;
    the stored entries are nonzero)."""
    return safe_inverse_sqrt(largest * smallest)


def diagonal_scaling(A: sp.csr_matrix, ruiz_iterations: int, pock_chambolle_alpha: float | None,
                     geometric_mean_iterations: int = 0):
    """Return (A~, d1, d2) with A~ = D1 A D2 after geometric-mean, Ruiz, then Pock-Chambolle."""
    A = sp.csr_matrix(A, copy=True)
    A.eliminate_zeros()
    m, n = A.shape
    d1 = np.ones(m)
    d2 = np.ones(n)
    entries = _Entries(A)
    for _ in range(geometric_mean_iterations):
        # Gurobi-style pass (cuPDLPx preconditioning.md): rows, then columns of the row-scaled matrix,
        # each by 1/sqrt(min |a| * max |a|) over its nonzeros.
        w = entries.scaled(d1, d2)
        d1 *= _geometric_mean_inverse(entries.by_row(np.maximum, w), entries.by_row(np.minimum, w))
        w = entries.scaled(d1, d2)
        d2 *= _geometric_mean_inverse(entries.by_col(np.maximum, w), entries.by_col(np.minimum, w))
    for _ in range(ruiz_iterations):
        w = entries.scaled(d1, d2)
        r = safe_inverse_sqrt(entries.by_row(np.maximum, w))
        d2 *= safe_inverse_sqrt(entries.by_col(np.maximum, w))
        d1 *= r
    if pock_chambolle_alpha is not None:
        alpha = pock_chambolle_alpha
        w = entries.scaled(d1, d2)
        # |a|^p on the stored nonzeros only (p = 0 counts them)
        r = safe_inverse_sqrt(entries.by_row(np.add, w**alpha))
        d2 *= safe_inverse_sqrt(entries.by_col(np.add, w ** (2.0 - alpha)))
        d1 *= r
    scaled = sp.csr_matrix((A.data * d1[entries.rows] * d2[entries.cols], A.indices, A.indptr), shape=A.shape)
    return scaled, d1, d2


def _finite_abs(v: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(v), np.abs(v), 0.0)


def scale_lp(lp: LP, ruiz_iterations: int = 10, pock_chambolle_alpha: float | None = 1.0,
             bound_objective_rescaling: bool = True, geometric_mean_iterations: int = 0) -> ScaledLP:
    """Precondition ``lp``. A structured operator that provides ``diagonal_scaling`` (the network
    incidence operator) is scaled from its closed-form norms, d2 possibly a scalar; any other
    matrix-free LP gets only the scalar rescaling (no entries to read)."""
    m, n = lp.shape
    if hasattr(lp.A, "diagonal_scaling"):  # a structured operator with closed-form norms (kernels/incidence.py)
        A, d1, d2 = lp.A.diagonal_scaling(ruiz_iterations, pock_chambolle_alpha, geometric_mean_iterations)
    elif lp.is_matrix_free:
        A, d1, d2 = lp.A, np.ones(m), np.ones(n)
    else:
        A, d1, d2 = diagonal_scaling(lp.A, ruiz_iterations, pock_chambolle_alpha, geometric_mean_iterations)
    c = _scaled(lp.c, d2)
    con_lb, con_ub = _scaled(lp.con_lb, d1), _scaled(lp.con_ub, d1)
    inverse_d2 = 1.0 / d2
    var_lb, var_ub = _scaled(lp.var_lb, inverse_d2), _scaled(lp.var_ub, inverse_d2)
    del inverse_d2
    theta_b = theta_c = 1.0
    if bound_objective_rescaling:
        theta_b = 1.0 / (1.0 + _norm_of_largest_finite(con_lb, con_ub))
        theta_c = 1.0 / (1.0 + vector_norm(c))
    return ScaledLP(
        A=A, c=_scaled(c, theta_c, own=True),
        con_lb=_scaled(con_lb, theta_b, own=True), con_ub=_scaled(con_ub, theta_b, own=True),
        var_lb=_scaled(var_lb, theta_b, own=True), var_ub=_scaled(var_ub, theta_b, own=True),
        d1=d1, d2=d2, theta_b=theta_b, theta_c=theta_c,
    )


def _scaled(v: np.ndarray, factor, own: bool = False) -> np.ndarray:
    """``v * factor`` without needless column-length memory: a constant vector (a stride-0 view,
    :func:`scotopt.problem.constant_vector`) stays one number where the product is constant (a
    scalar factor, or a value of 0 or +-inf, which positive factors keep), and a vector this
    module made (``own``) is scaled in place. Factors are positive, so inf * factor stays inf."""
    if is_constant_view(v):
        value = float(v[0])
        if np.ndim(factor) == 0 or value == 0.0 or np.isinf(value):
            return constant_vector(value * float(factor) if np.ndim(factor) == 0 else value, v.shape[0])
        return value * factor
    if own and not isinstance(v, SegmentVector):
        v *= factor
        return v
    return v * factor


def _norm_of_largest_finite(lower: np.ndarray, upper: np.ndarray) -> float:
    """||max(|l|, |u|)||_2 over finite entries (infinite bounds count 0)."""
    if lower.shape[0] == 0:
        return 0.0
    return float(np.linalg.norm(np.maximum(_finite_abs(lower), _finite_abs(upper))))
