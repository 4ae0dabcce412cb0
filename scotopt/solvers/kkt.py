"""KKT measures and ray certificates evaluated on the ORIGINAL problem, on the host, in float64.

This module is deliberately independent of every solver: it is what scotopt uses to decide
OPTIMAL / PRIMAL_INFEASIBLE / DUAL_INFEASIBLE before reporting them, and what the benchmarks
use to check every peer's answer the same way.

Conventions (PDLP's; Applegate et al., arXiv 2106.04756, section 2, and OR-Tools
``ortools/pdlp/termination.cc``). For ``min c@x + c0, con_lb <= A x <= con_ub,
var_lb <= x <= var_ub`` the Lagrangian dual is

    max  c0 + sum_i (con_lb_i y_i^+ - con_ub_i y_i^-) + sum_j (var_lb_j r_j^+ - var_ub_j r_j^-)
    s.t. c - A^T y = r,

where ``y_i > 0`` is allowed only if ``con_lb_i`` is finite, ``y_i < 0`` only if ``con_ub_i``
is finite, and likewise for the reduced costs ``r`` against the variable bounds. Given a
primal-dual pair (x, y):

    rel_primal = ||(A x - proj_[lb,ub](A x), x - proj(x))||_2 / (1 + ||b~||_2),
                 b~_i = max(|con_lb_i|, |con_ub_i|) over the finite ones
    rel_dual   = ||(c - A^T y_s - r, y - y_s)||_2 / (1 + ||c||_2),
                 y_s = y projected onto its sign constraints,
                 r   = c - A^T y_s projected onto the signs the variable bounds allow
    rel_gap    = |p - d| / (1 + |p| + |d|),  p = c@x + c0, d = the dual objective above.

For a QP (``min 1/2 x'Px + c@x + c0``, :class:`scotopt.QP`) the Wolfe dual at x replaces c by the
gradient ``P x + c`` in the constraint (``P x + c - A^T y = r``) and adds ``-1/2 x'Px`` to the
dual objective; the primal objective gains ``+1/2 x'Px``. The norms in the denominators are
unchanged (OSQP and PDQP normalise the same way up to the choice of norm).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from scotopt.problem import LP, QP
from scotopt.segments import vector_norm


@dataclasses.dataclass(frozen=True)
class KKTReport:
    """The relative KKT measures of ARCHITECTURE.md section 5 and HiGHS-style absolute maxima."""

    rel_primal: float
    rel_dual: float
    rel_gap: float
    primal_objective: float
    dual_objective: float
    max_primal_violation: float
    max_dual_violation: float
    reduced_costs: np.ndarray | None  # None from kkt_report(..., keep_reduced_costs=False)

    @property
    def max_relative(self) -> float:
        return max(self.rel_primal, self.rel_dual, self.rel_gap)

    def is_optimal(self, eps: float) -> bool:
        return bool(np.isfinite(self.max_relative) and self.max_relative <= eps)


def _finite_or_zero(v):
    return np.where(np.isfinite(v), v, 0.0)


def project_row_duals(lp: LP, y):
    """y with y_i > 0 zeroed where con_lb_i = -inf and y_i < 0 zeroed where con_ub_i = +inf."""
    y = np.where((y > 0) & np.isneginf(lp.con_lb), 0.0, y)
    return np.where((y < 0) & np.isposinf(lp.con_ub), 0.0, y)


def project_reduced_costs(lp: LP, g):
    """The part of g = c - A^T y that the variable bounds can absorb (sign-feasible reduced costs)."""
    return _reduced_part(g, lp.var_lb, lp.var_ub)


def _reduced_part(g, lower, upper):
    r = np.where((g > 0) & np.isneginf(lower), 0.0, g)
    return np.where((r < 0) & np.isposinf(upper), 0.0, r)


def _support(lower, upper, v):
    """sum_i lower_i v_i^+ - upper_i v_i^-  (v already sign-feasible, so infinities meet zeros);
    in blocks when v is long (the bounds may be segment vectors, read a block at a time)."""
    if v.size > CHUNK:
        return sum(_support(lower[part], upper[part], v[part]) for part in _chunks(v.size))
    lower, upper = np.asarray(lower), np.asarray(upper)
    pos, neg = v > 0, v < 0
    return float(lower[pos] @ v[pos] + upper[neg] @ v[neg])


def bound_norm(lp: LP) -> float:
    """||b~||_2 with b~_i = max(|con_lb_i|, |con_ub_i|) over the finite bounds of row i."""
    total = 0.0
    for part in _chunks(lp.num_rows):
        b = np.maximum(np.abs(_finite_or_zero(lp.con_lb[part])), np.abs(_finite_or_zero(lp.con_ub[part])))
        total += float(b @ b)
    return float(np.sqrt(total))


def _distance_to_box(v, lower, upper):
    """v - proj_[lower, upper](v), in one new array."""
    out = np.clip(v, lower, upper)
    np.subtract(v, out, out=out)
    return out


def _max_abs(*parts) -> float:
    return max((max(float(p.max()), -float(p.min())) for p in parts if p.size), default=0.0)


# Column work runs in blocks of this many entries, so that its temporaries are a few MB at any n.
CHUNK = 1 << 16


def _chunks(n: int):
    return (slice(i, min(i + CHUNK, n)) for i in range(0, n, CHUNK))


def kkt_report(lp: LP, x, y, keep_reduced_costs: bool = True) -> KKTReport:
    """Evaluate (x, y) on ``lp`` in float64. ``x`` and ``y`` are host arrays of any float dtype.

    Memory: besides x, one float64 vector of length n (c - A^T y, overwritten block by block with
    the reduced costs it returns) and whatever the operator's ``rmatvec`` needs; none where the
    reduced costs are not kept and the operator forms A^T y block by block
    (``A.adjoint_columns``, a network's incidence matrix), nor a float64 copy of a float32 x
    where its products read float32 (``A.reads_float32``); every other
    column quantity is formed in blocks of :data:`CHUNK` entries, so the check holds two column
    vectors (x and c - A^T y) where it used to hold up to five. A float32 ``x`` (a float32 solve's
    iterate) is kept as it is: its float64 copy exists only during the product A x (the values
    are the same, float32 converts to float64 exactly, so the measures are too). With
    ``keep_reduced_costs=False`` the report's ``reduced_costs`` is None (the solvers' verification
    of an optimality claim, which needs only the measures).
    """
    x = np.asarray(x)
    if x.dtype != np.float32:
        x = x.astype(np.float64, copy=False)
    y = np.asarray(y, dtype=np.float64)
    exact_float32 = lp.is_matrix_free and getattr(lp.A, "reads_float32", False)
    row_res = _distance_to_box(lp.matvec(x if exact_float32 else x.astype(np.float64, copy=False)),
                               lp.con_lb, lp.con_ub)
    primal_sq, max_primal = float(row_res @ row_res), _max_abs(row_res)
    del row_res
    for part in _chunks(x.size):
        col_res = _distance_to_box(x[part].astype(np.float64, copy=False), lp.var_lb[part], lp.var_ub[part])
        primal_sq += float(col_res @ col_res)
        max_primal = max(max_primal, _max_abs(col_res))
    y_s = project_row_duals(lp, y)
    # A^T y_s block by block where the operator can and nothing keeps the reduced costs
    blocks = (getattr(lp.A, "adjoint_columns", None)
              if lp.is_matrix_free and not keep_reduced_costs and not isinstance(lp, QP) else None)
    aty = blocks(y_s) if blocks is not None else None
    g = None
    if aty is None:
        g = np.asarray(lp.rmatvec(y_s), dtype=np.float64)
        np.subtract(lp.c, g, out=g)  # g = c - A^T y_s
    quadratic = 0.0
    if isinstance(lp, QP):
        x = x.astype(np.float64, copy=False)
        px = lp.P @ x
        g += px  # the QP's gradient P x + c
        quadratic = 0.5 * float(x @ px)
        del px
    dual_sq, max_dual, bound_support = 0.0, 0.0, 0.0
    for part in _chunks(lp.num_vars):
        lower, upper = lp.var_lb[part], lp.var_ub[part]
        g_part = g[part] if g is not None else np.asarray(lp.c[part], dtype=np.float64) - aty[part]
        reduced = _reduced_part(g_part, lower, upper)
        unabsorbed = g_part - reduced  # the part of g the bounds cannot absorb
        dual_sq += float(unabsorbed @ unabsorbed)
        max_dual = max(max_dual, _max_abs(unabsorbed))
        bound_support += _support(lower, upper, reduced)
        if g is not None:
            g[part] = reduced  # g becomes the reduced costs, block by block
    r = g if keep_reduced_costs else None
    del g
    for part in _chunks(y.size):
        y_res = y[part] - y_s[part]
        dual_sq += float(y_res @ y_res)
        max_dual = max(max_dual, _max_abs(y_res))
    dual_norm = np.sqrt(dual_sq)
    # c @ x + c0 (+ 1/2 x'Px), the products block by block (x may be float32)
    p = sum((float(np.asarray(lp.c[part]) @ x[part].astype(np.float64, copy=False)) for part in _chunks(x.size)),
            start=lp.c0) + quadratic
    d = lp.c0 - quadratic + _support(lp.con_lb, lp.con_ub, y_s) + bound_support
    with np.errstate(invalid="ignore", over="ignore"):
        return KKTReport(
            rel_primal=float(np.sqrt(primal_sq) / (1.0 + bound_norm(lp))),
            rel_dual=float(dual_norm / (1.0 + vector_norm(lp.c))),
            rel_gap=float(abs(p - d) / (1.0 + abs(p) + abs(d))),
            primal_objective=p,
            dual_objective=float(d),
            max_primal_violation=max_primal,
            max_dual_violation=max_dual,
            reduced_costs=r,
        )


@dataclasses.dataclass(frozen=True)
class RayReport:
    """A candidate infeasibility certificate, normalised to max-norm 1.

    ``is_certificate(eps)`` holds iff objective > 0 and infeasibility <= eps * objective / scale
    (PDLP's ray tests with the ray scaled to unit max-norm). ``scale`` = 1 + the largest finite
    bound (Farkas ray) or cost (primal ray) puts the objective in the units of the residual: the
    objective of a unit ray grows with the data's magnitude, its residual does not, so without it
    an LP with right-hand sides of 10^7 passed a "ray" whose residual was 0.75 (a Willems
    supply chain that HiGHS solves to optimality).
    """

    objective: float
    infeasibility: float
    scale: float = 1.0

    def is_certificate(self, eps: float) -> bool:
        return bool(np.isfinite(self.objective) and self.objective > 0
                    and self.infeasibility <= eps * self.objective / self.scale)


def _largest_finite(*arrays) -> float:
    arrays = [np.asarray(a) for a in arrays]
    return max((float(np.max(np.abs(a[np.isfinite(a)]), initial=0.0)) for a in arrays), default=0.0)


def _cone_violation(lower, upper, v):
    """Distance of v from the recession cone of [lower, upper] (max-norm)."""
    hi = np.where(np.isposinf(upper), np.inf, 0.0)
    lo = np.where(np.isneginf(lower), -np.inf, 0.0)
    return float(np.max(np.abs(v - np.clip(v, lo, hi)), initial=0.0))


def dual_ray_report(lp: LP, y_ray) -> RayReport:
    """Farkas test for PRIMAL infeasibility: y with A^T y + r = 0 and positive dual objective.

    Objective: sum(con_lb y^+ - con_ub y^-) + sum(var_lb r^+ - var_ub r^-) with r the
    sign-feasible part of -A^T y; infeasibility: max violation of the signs of y and of r.
    """
    y = np.asarray(y_ray, dtype=np.float64)
    scale = np.max(np.abs(y), initial=0.0)
    if not np.isfinite(scale) or scale == 0:
        return RayReport(objective=0.0, infeasibility=np.inf)
    y = y / scale
    y_s = project_row_duals(lp, y)
    g = -lp.rmatvec(y_s)
    r = project_reduced_costs(lp, g)
    objective = _support(lp.con_lb, lp.con_ub, y_s) + _support(lp.var_lb, lp.var_ub, r)
    infeas = max(float(np.max(np.abs(g - r), initial=0.0)), float(np.max(np.abs(y - y_s), initial=0.0)))
    scale = 1.0 + _largest_finite(lp.con_lb, lp.con_ub, lp.var_lb, lp.var_ub)
    return RayReport(objective=objective, infeasibility=infeas, scale=scale)


def primal_ray_report(lp: LP, x_ray) -> RayReport:
    """Test for DUAL infeasibility: d with c@d < 0, A d and d in the recession cones of the bounds.

    Objective: -c@d (positive for a certificate); infeasibility: max distance of A d and d from
    the recession cones of [con_lb, con_ub] and [var_lb, var_ub], and for a QP also ||P d||_inf
    (the objective must not curve up along d; OSQP's test, Stellato et al. 2020, section 3.4).
    """
    d = np.asarray(x_ray, dtype=np.float64)
    scale = np.max(np.abs(d), initial=0.0)
    if not np.isfinite(scale) or scale == 0:
        return RayReport(objective=0.0, infeasibility=np.inf)
    d = d / scale
    ad = lp.matvec(d)
    infeas = max(_cone_violation(lp.con_lb, lp.con_ub, ad), _cone_violation(lp.var_lb, lp.var_ub, d))
    if isinstance(lp, QP):
        infeas = max(infeas, float(np.max(np.abs(lp.P @ d), initial=0.0)))
    return RayReport(objective=float(-(lp.c @ d)), infeasibility=infeas, scale=1.0 + _largest_finite(lp.c))
