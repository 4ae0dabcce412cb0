"""One ADMM iteration of OSQP (Stellato et al. 2020, Algorithm 1), written once against ``xp``.

On the scaled problem ``min 1/2 x'Px + q'x  s.t.  l <= Ab x <= u`` (``Ab = [A; diag(b)]``, see
``scaling.py``) with step sizes ``rho`` (one per row), ``sigma`` and relaxation ``alpha``:

    (P + sigma I + Ab' diag(rho) Ab) xt = sigma x - q + Ab'(rho z - y)         (1)
    zt = Ab xt
    x+ = alpha xt + (1 - alpha) x
    z+ = proj_[l, u](alpha zt + (1 - alpha) z + y / rho)
    y+ = y + rho (alpha zt + (1 - alpha) z - z+)

(1) is the reduced KKT system. ``pcg_solve`` solves it matrix-free by Jacobi-preconditioned
conjugate gradients warm-started at the previous xt (every backend, any size); the driver may
instead pass a host factorisation of the quasi-definite system [[P + sigma I, Ab'],
[Ab, -diag(1/rho)]] (NumPy, small problems), from which zt = z + (nu - y) / rho.

Convergence and infeasibility are judged by the driver on the host, in float64, on the original
problem; ``residuals`` gives OSQP's scaled-back infinity-norm residuals used to adapt rho.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class ADMMData(NamedTuple):
    """Scaled problem data and step sizes on the device (a JAX pytree)."""

    q: Any
    lower: Any          # (m + n)
    upper: Any
    bound_diag: Any     # (n)
    rho: Any            # (m + n)
    precond_inverse: Any  # (n): 1 / diag(P + sigma I + Ab' diag(rho) Ab)
    D: Any              # column scaling (n)
    E_inverse: Any      # 1 / row scaling (m + n)
    sigma: float
    alpha: float
    gamma_inverse: float
    cg_tolerance: Any   # relative residual at which PCG stops


class ADMMState(NamedTuple):
    x: Any
    z: Any
    y: Any
    xt: Any       # last solution of (1): PCG's warm start
    dx: Any       # x+ - x of the last iteration (infeasibility detection)
    dy: Any
    cg_iterations: Any  # PCG iterations so far


def stacked_matvec(xp, opA, data: ADMMData, x):
    """Ab x = [A x; b * x]."""
    return xp.concatenate([opA.matvec(x), data.bound_diag * x])


def stacked_rmatvec(xp, opA, data: ADMMData, y):
    """Ab' y = A' y[:m] + b * y[m:]."""
    m = opA.shape[0]
    return opA.rmatvec(y[:m]) + data.bound_diag * y[m:]


def kkt_operator(xp, opA, opP, data: ADMMData):
    """v -> (P + sigma I + Ab' diag(rho) Ab) v."""

    def apply(v):
        weighted = data.rho * stacked_matvec(xp, opA, data, v)
        return opP.matvec(v) + data.sigma * v + stacked_rmatvec(xp, opA, data, weighted)

    return apply


def _dot(xp, a, b):
    """<a, b> as an elementwise product and a sum, not BLAS ``dot``: OpenBLAS's threaded ddot
    was measured 200x slower (12 ms vs 56 us at n = 1e5) on a 2-core machine with another
    process busy, and PCG takes several per iteration."""
    return xp.sum(a * b)


def pcg_solve(xp, while_loop, apply, rhs, start, precond_inverse, tolerance, max_iterations: int):
    """Jacobi-preconditioned CG for apply(v) = rhs from ``start``; stops at ||r|| <= tol ||r_0||.

    The tolerance is relative to the residual of the warm start, not to ||rhs||: ADMM iterates
    that grow without bound (an infeasible problem, whose certificate is the growth direction)
    keep accurate differences only if the error of each solve shrinks with the change it makes.
    A floor of 1e-15 ||rhs|| stops CG at round-off. Returns (solution, iterations). Standard PCG
    (Hestenes-Stiefel with a diagonal preconditioner) in ``while_loop`` so it compiles under JAX.
    """
    residual = rhs - apply(start)
    z = precond_inverse * residual
    target = xp.maximum((tolerance * xp.linalg.norm(residual)) ** 2, (1e-15 * xp.linalg.norm(rhs)) ** 2)

    def cond(state):
        _, r, _, _, k = state
        return (k < max_iterations) & (_dot(xp, r, r) > target)

    def body(state):
        v, r, p, rz, k = state
        kp = apply(p)
        curvature = _dot(xp, p, kp)
        step = xp.where(curvature > 0, rz / xp.where(curvature > 0, curvature, 1.0), 0.0)
        v = v + step * p
        r = r - step * kp
        z_new = precond_inverse * r
        rz_new = _dot(xp, r, z_new)
        p = z_new + xp.where(rz > 0, rz_new / xp.where(rz > 0, rz, 1.0), 0.0) * p
        return v, r, p, rz_new, k + 1

    solution, _, _, _, iterations = while_loop(cond, body, (start, residual, z, _dot(xp, residual, z), 0))
    return solution, iterations


def step(xp, while_loop, opA, opP, data: ADMMData, state: ADMMState, solve_reduced, max_cg: int) -> ADMMState:
    """One OSQP iteration. ``solve_reduced`` is None for PCG (run in the backend's
    ``while_loop``), else a host solve of the quasi-definite KKT system."""
    x, z, y = state.x, state.z, state.y
    if solve_reduced is None:
        rhs = data.sigma * x - data.q + stacked_rmatvec(xp, opA, data, data.rho * z - y)
        xt, k = pcg_solve(xp, while_loop, kkt_operator(xp, opA, opP, data), rhs, state.xt,
                          data.precond_inverse, data.cg_tolerance, max_cg)
        zt = stacked_matvec(xp, opA, data, xt)
    else:
        xt, nu = solve_reduced(data.sigma * x - data.q, z - y / data.rho)
        zt = z + (nu - y) / data.rho
        k = 0
    x_next = data.alpha * xt + (1 - data.alpha) * x
    z_relaxed = data.alpha * zt + (1 - data.alpha) * z
    z_next = xp.clip(z_relaxed + y / data.rho, data.lower, data.upper)
    y_next = y + data.rho * (z_relaxed - z_next)
    return ADMMState(x=x_next, z=z_next, y=y_next, xt=xt, dx=x_next - x, dy=y_next - y,
                     cg_iterations=state.cg_iterations + k)


def residuals(xp, opA, opP, data: ADMMData, state: ADMMState):
    """OSQP's residuals of the current iterate, scaled back (Stellato et al. 2020, 5.2).

    Returns [r_prim, max(||Ax||, ||z||), r_dual, max(||Px||, ||A'y||, ||q||)] in infinity norms
    of the unscaled problem; the driver adapts rho from their ratios.
    """
    x, z, y = state.x, state.z, state.y
    ax = stacked_matvec(xp, opA, data, x)
    px = opP.matvec(x)
    aty = stacked_rmatvec(xp, opA, data, y)
    d_inverse = 1.0 / data.D

    def norm(v):
        return xp.max(xp.abs(v)) if v.shape[0] else xp.zeros((), dtype=x.dtype)

    primal = norm(data.E_inverse * (ax - z))
    primal_scale = xp.maximum(norm(data.E_inverse * ax), norm(data.E_inverse * z))
    dual = data.gamma_inverse * norm(d_inverse * (px + data.q + aty))
    dual_scale = data.gamma_inverse * xp.maximum(xp.maximum(norm(d_inverse * px), norm(d_inverse * aty)),
                                                 norm(d_inverse * data.q))
    return xp.stack([primal, primal_scale, dual, dual_scale])
