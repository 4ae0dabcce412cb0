"""The ADMM driver: scaling, rho adaptation, linear solves, checks verified on the host.

Every ``check_every`` iterations the iterate is unscaled and judged on the host in float64 on
the original problem with the same KKT measures as PDHG (``scotopt.solvers.kkt``): OPTIMAL
when they are within eps; PRIMAL_INFEASIBLE / DUAL_INFEASIBLE when the last change of y (of x)
is a ray that passes the certificate tests (OSQP's detection, Stellato et al. 2020, section
3.4, verified by ``kkt.dual_ray_report`` / ``kkt.primal_ray_report``). At the same checks rho
is adapted (section 5.2, smoothed over checks: ``_RhoController``); the direct solver then
refactors, PCG only rebuilds its diagonal preconditioner.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from scotopt.kernels import get_backend
from scotopt.options import ADMMOptions, Termination
from scotopt.problem import LP, QP
from scotopt.result import Result
from scotopt.solvers import kkt
from scotopt.solvers.admm import algorithm as alg
from scotopt.solvers.admm.scaling import ScaledQP, scale_qp
from scotopt.solvers.answer import measured_result, warm_start_vectors
from scotopt.status import InvalidOptionError, InvalidProblemError, Status

_COMPILED: dict = {}
# Inexact ADMM converges when the linear-solve errors shrink (Eckstein & Bertsekas 1992); PCG
# starts at this relative residual and tightens with the KKT error (ADMMOptions).
_CG_TOLERANCE_START = 1e-3
_CHECK_SECONDS = 10.0  # the longest stretch of iterations between two checks


def solve_admm(problem: LP, backend_name: str, dtype, termination: Termination, options: ADMMOptions,
               warm_start=None, verbose: bool = False) -> Result:
    """Solve an LP or QP with OSQP-style ADMM; see :func:`scotopt.solve` for the contract."""
    start = time.perf_counter()
    if problem.is_matrix_free:
        raise InvalidProblemError("method='admm' needs an explicit constraint matrix (a LinearOperator runs "
                                  "with method='pdhg')")
    backend = get_backend(backend_name)
    dtype = np.dtype(dtype)
    linear = _linear_solver(problem, backend.name, options)
    with backend.precision(dtype):
        return _run(problem, backend, dtype, termination, options, linear, warm_start, verbose, start)


def _linear_solver(problem: LP, backend: str, options: ADMMOptions) -> str:
    if options.linear_solver == "direct":
        if backend != "numpy":
            raise InvalidOptionError("linear_solver='direct' factorises on the host: use backend='numpy' "
                                     "(or linear_solver='pcg')")
        return "direct"
    if options.linear_solver == "pcg":
        return "pcg"
    m, n = problem.shape
    nonzeros = problem.A.nnz + (problem.P.nnz if isinstance(problem, QP) else 0) + m + 2 * n
    return "direct" if backend == "numpy" and nonzeros <= options.direct_max_nonzeros else "pcg"


def row_rhos(lower: np.ndarray, upper: np.ndarray, rho: float, options: ADMMOptions) -> np.ndarray:
    """OSQP's per-row rho: equality rows rho * rho_equality_scale, free rows rho_min, others rho."""
    rhos = np.full(lower.shape, float(rho))
    rhos[lower == upper] = rho * options.rho_equality_scale
    rhos[np.isinf(lower) & np.isinf(upper)] = options.rho_min
    return np.clip(rhos, options.rho_min, options.rho_max * options.rho_equality_scale)


def _preconditioner_inverse(scaled: ScaledQP, rhos: np.ndarray, sigma: float) -> np.ndarray:
    """1 / diag(P + sigma I + Ab' diag(rho) Ab) for Jacobi-preconditioned CG."""
    m = scaled.A.shape[0]
    squared = scaled.A.multiply(scaled.A).tocsc()
    diagonal = scaled.P.diagonal() + sigma + squared.T @ rhos[:m] + scaled.bound_diag**2 * rhos[m:]
    return 1.0 / np.maximum(diagonal, 1e-30)


class _DirectKKT:
    """Sparse LU of [[P + sigma I, Ab'], [Ab, -diag(1/rho)]] (quasi-definite), refactored on rho changes."""

    def __init__(self, scaled: ScaledQP, sigma: float):
        n = scaled.A.shape[1]
        self.n = n
        self.top = sp.hstack([scaled.P + sigma * sp.eye(n), sp.csr_matrix(scaled.A).T, sp.diags(scaled.bound_diag)])
        self.bottom = sp.vstack([scaled.A, sp.diags(scaled.bound_diag)])
        self.factor = None

    def refactor(self, rhos: np.ndarray) -> None:
        lower = sp.hstack([self.bottom, -sp.diags(1.0 / rhos)])
        kkt = sp.vstack([self.top, lower]).tocsc()
        # Quasi-definite: every symmetric permutation factorises without pivoting (Vanderbei
        # 1995), so a symmetric fill-reducing order and no pivoting; COLAMD, which ignores the
        # symmetry, was measured 130x slower with 40x the fill on a 10^4-arc transport QP.
        self.factor = spla.splu(kkt, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                options={"SymmetricMode": True})

    def solve(self, rhs_x, rhs_z):
        solution = self.factor.solve(np.concatenate([rhs_x, rhs_z]))
        return solution[: self.n], solution[self.n:]


def _compiled(backend, opA, opP, linear: str, max_cg: int, direct):
    xp = backend.xp
    key = (backend.name, opA.shape, type(opA).__name__, linear, max_cg)
    if linear == "pcg" and key in _COMPILED:
        return _COMPILED[key]

    def run_steps(a_params, p_params, data, state, count):
        a, p = opA.with_params(a_params), opP.with_params(p_params)
        solve = direct.solve if direct is not None else None
        return backend.repeat(lambda s: alg.step(xp, backend.while_loop, a, p, data, s, solve, max_cg), count, state)

    def run_residuals(a_params, p_params, data, state):
        return alg.residuals(xp, opA.with_params(a_params), opP.with_params(p_params), data, state)

    functions = backend.compile(run_steps), backend.compile(run_residuals)
    if linear == "pcg" and getattr(backend, "caches_compiled", False):
        _COMPILED[key] = functions
    return functions


class _Progress:
    header = (f"{'iter':>9} {'rel_primal':>10} {'rel_dual':>10} {'rel_gap':>10} {'primal_obj':>14} "
              f"{'rho':>9} {'time':>8}")

    def __init__(self, enabled: bool):
        self.enabled = enabled
        if enabled:
            print(self.header, file=sys.stdout, flush=True)

    def line(self, iteration, report, rho, elapsed, note=""):
        if self.enabled:
            print(f"{iteration:>9d} {report.rel_primal:>10.2e} {report.rel_dual:>10.2e} {report.rel_gap:>10.2e} "
                  f"{report.primal_objective:>14.7e} {rho:>9.2e} {elapsed:>7.2f}s{note}", file=sys.stdout, flush=True)


def _starting_point(problem: LP, scaled: ScaledQP, warm_start):
    n = problem.num_vars
    x, y = warm_start_vectors(problem, warm_start)
    x_scaled = x / scaled.D
    z_scaled = np.clip(np.concatenate([scaled.A @ x_scaled, scaled.bound_diag * x_scaled]), scaled.lower,
                       scaled.upper)
    y_osqp = np.concatenate([-kkt.project_row_duals(problem, y), np.zeros(n)])  # scotopt's y is -OSQP's
    return x_scaled, z_scaled, scaled.gamma * y_osqp / scaled.E


def _run(problem, backend, dtype, termination, options: ADMMOptions, linear, warm_start, verbose, start):
    m, n = problem.shape
    P = problem.P if isinstance(problem, QP) else sp.csr_matrix((n, n))
    lower = np.concatenate([problem.con_lb, problem.var_lb])
    upper = np.concatenate([problem.con_ub, problem.var_ub])
    scaled = scale_qp(P, problem.c, problem.A, lower, upper, options.ruiz_iterations)
    rho = options.rho
    rhos = row_rhos(scaled.lower, scaled.upper, rho, options)
    direct = _DirectKKT(scaled, options.sigma) if linear == "direct" else None
    if direct is not None:
        direct.refactor(rhos)

    def dev(v):
        return backend.asarray(v, dtype)

    data = alg.ADMMData(
        q=dev(scaled.q), lower=dev(scaled.lower), upper=dev(scaled.upper), bound_diag=dev(scaled.bound_diag),
        rho=dev(rhos), precond_inverse=dev(_preconditioner_inverse(scaled, rhos, options.sigma)),
        D=dev(scaled.D), E_inverse=dev(1.0 / scaled.E), sigma=options.sigma, alpha=options.alpha,
        gamma_inverse=1.0 / scaled.gamma, cg_tolerance=dev(np.float64(_CG_TOLERANCE_START)),
    )
    opA, opP = backend.operator(scaled.A, dtype), backend.operator(scaled.P, dtype)
    run_steps, run_residuals = _compiled(backend, opA, opP, linear, options.cg_max_iterations, direct)
    x0, z0, y0 = _starting_point(problem, scaled, warm_start)
    zeros_n, zeros_mn = np.zeros(n), np.zeros(m + n)
    state = alg.ADMMState(x=dev(x0), z=dev(z0), y=dev(y0), xt=dev(x0), dx=dev(zeros_n), dy=dev(zeros_mn),
                          cg_iterations=backend.asarray(0, np.int32))
    setup_time = time.perf_counter() - start

    def unscaled(s):
        x = scaled.D * backend.to_host(s.x)
        y_osqp = scaled.E * backend.to_host(s.y) / scaled.gamma
        return x, -y_osqp[:m]

    progress = _Progress(verbose)
    controller = _RhoController(options)
    iterations, rho_updates = 0, 0
    status, answer, ray = None, state, None
    last_good = state
    last_check = None
    seconds_per_iteration = None
    try:
        while True:
            count = options.check_every if seconds_per_iteration is not None else 1  # first: measure
            if seconds_per_iteration is not None:
                # Check at least every _CHECK_SECONDS (and 20 times within a time limit): an
                # iteration with PCG at 10^7 variables takes tens of seconds, and limits and
                # Ctrl-C are only seen between chunks.
                budget = _CHECK_SECONDS
                if termination.time_limit is not None:
                    budget = min(budget, max(termination.time_limit / 20, 0.05))
                count = max(1, min(count, int(budget / max(seconds_per_iteration, 1e-9))))
            if termination.iteration_limit is not None:
                count = min(count, termination.iteration_limit - iterations)
            chunk_started = time.perf_counter()
            stepped = run_steps(opA.params, opP.params, data, state, count) if count > 0 else state
            if count > 0:
                seconds_per_iteration = (time.perf_counter() - chunk_started) / count
            iterations += max(count, 0)
            x, y = unscaled(stepped)
            elapsed = time.perf_counter() - start
            if not (np.isfinite(x).all() and np.isfinite(y).all()):
                status, answer = Status.NUMERICAL_ERROR, last_good
                break
            last_good = stepped
            report = kkt.kkt_report(problem, x, y)
            if report.is_optimal(termination.eps):
                progress.line(iterations, report, rho, elapsed)
                status, answer = Status.OPTIMAL, stepped
                break
            previous = ((x, y), last_check) if last_check is not None else None
            last_check = (x, y)
            status, ray = _infeasibility(problem, scaled, backend, stepped, m, termination.eps_infeasible, previous)
            if status is not None:
                progress.line(iterations, report, rho, elapsed, f"  {status.name.lower()}")
                answer = stepped
                break
            note = ""
            if termination.iteration_limit is not None and iterations >= termination.iteration_limit:
                status, answer = Status.ITERATION_LIMIT, stepped
            elif termination.time_limit is not None and elapsed >= termination.time_limit:
                status, answer = Status.TIME_LIMIT, stepped
            if status is not None:
                progress.line(iterations, report, rho, elapsed)
                break
            data = data._replace(cg_tolerance=dev(np.float64(np.clip(
                options.cg_tolerance_fraction * report.max_relative, options.cg_tolerance_min, _CG_TOLERANCE_START))))
            if options.adaptive_rho:
                new_rho = controller.propose(backend.to_host(run_residuals(opA.params, opP.params, data, stepped)),
                                             rho)
                if new_rho is not None:
                    rho, rho_updates = new_rho, rho_updates + 1
                    rhos = row_rhos(scaled.lower, scaled.upper, rho, options)
                    data = data._replace(rho=dev(rhos),
                                         precond_inverse=dev(_preconditioner_inverse(scaled, rhos, options.sigma)))
                    if direct is not None:
                        direct.refactor(rhos)
                    note = "  rho updated"
            progress.line(iterations, report, rho, elapsed, note)
            state = stepped
    except KeyboardInterrupt:
        status, answer = Status.INTERRUPTED, last_good

    x, y = unscaled(answer)
    return measured_result(
        problem, x, y, status, ray, iterations=iterations, solve_time=time.perf_counter() - start,
        setup_time=setup_time,
        backend=backend.name, device=backend.device, dtype=dtype.name, method="admm", eps=termination.eps,
        extra={"linear_solver": linear, "rho": rho, "rho_updates": rho_updates,
               "cg_iterations": int(np.asarray(backend.to_host(answer.cg_iterations)))},
    )


class _RhoController:
    """OSQP's rho rule, smoothed: rho <- rho * sqrt((r_prim / scale_prim) / (r_dual / scale_dual)).

    ADMM residuals oscillate from one check to the next on degenerate problems (LPs above all),
    and a rule that reads one snapshot then flips rho back and forth (measured: 40 updates in
    4000 iterations on a 25 x 20 LP, never converging). Here the log of the proposed factor is
    averaged over the checks since the last change and rho moves only when that average asks
    for more than ``adaptive_rho_tolerance`` after at least ``_MIN_CHECKS`` checks.
    """

    _MIN_CHECKS = 4

    def __init__(self, options: ADMMOptions):
        self.options = options
        self.log_factors: list[float] = []

    def propose(self, residual_stats, rho: float):
        r_prim, scale_prim, r_dual, scale_dual = (float(v) for v in residual_stats)
        tiny = 1e-30
        if not np.isfinite([r_prim, scale_prim, r_dual, scale_dual]).all() or r_prim <= 0 or r_dual <= 0:
            return None
        ratio = (r_prim / max(scale_prim, tiny)) / max(r_dual / max(scale_dual, tiny), tiny)
        self.log_factors.append(0.5 * np.log(ratio))
        if len(self.log_factors) < self._MIN_CHECKS:
            return None
        mean = float(np.mean(self.log_factors))
        if abs(mean) <= np.log(self.options.adaptive_rho_tolerance):
            return None
        self.log_factors.clear()
        new_rho = float(np.clip(rho * np.exp(mean), self.options.rho_min, self.options.rho_max))
        return new_rho if new_rho != rho else None


def _infeasibility(problem, scaled: ScaledQP, backend, state, m: int, eps_infeasible: float, previous=None):
    """(status, ray) if a change of y or x certifies infeasibility, else (None, None).

    Candidates: the change over the last iteration (OSQP's test) and, when ``previous`` holds
    the unscaled (x, y) of the last check, the change since then: with inexact (PCG) solves the
    one-step change of diverging iterates carries the solver's error, the many-step change
    averages it out.
    """
    dy = scaled.E * backend.to_host(state.dy) / scaled.gamma
    y_rays = [-dy[:m]]
    x_rays = [scaled.D * backend.to_host(state.dx)]
    if previous is not None:
        (x_now, y_now), (x_then, y_then) = previous
        y_rays.append(y_now - y_then)
        x_rays.append(x_now - x_then)
    for y_ray in y_rays:
        if np.any(y_ray) and kkt.dual_ray_report(problem, y_ray).is_certificate(eps_infeasible):
            return Status.PRIMAL_INFEASIBLE, y_ray
    for x_ray in x_rays:
        if np.any(x_ray) and kkt.primal_ray_report(problem, x_ray).is_certificate(eps_infeasible):
            return Status.DUAL_INFEASIBLE, x_ray
    return None, None
