"""Peer solvers behind one calling convention: HiGHS, OR-Tools PDLP and SimpleMinCostFlow, MPAX,
OSQP, cuPDLPx.

Every ``solve_*`` function takes a :class:`scotopt.problem.LP` (OSQP: a :class:`scotopt.QP`) (always a minimisation:
``min c@x + c0  s.t.  con_lb <= A x <= con_ub, var_lb <= x <= var_ub``) and returns a dict

    solver      str    e.g. "highs-simplex", "highs-ipm", "pdlp"
    status      str    a scotopt Status name (OPTIMAL, PRIMAL_INFEASIBLE, DUAL_INFEASIBLE,
                       TIME_LIMIT, ITERATION_LIMIT, NUMERICAL_ERROR, INTERRUPTED) or OTHER
    raw_status  str    the solver's own status name
    objective   float  the solver's reported objective (our minimisation, c0 included); nan if none
    x, y        np.ndarray (n,), (m,) in OUR sign convention, or None if the solver has none
    seconds     float  wall time of the solve call only (model conversion excluded)
    iterations  int    simplex / IPM / PDHG iterations as reported by the solver
    solver_seconds float  the solver's own reported solve time
    cpu_seconds float  CPU seconds of this process during the solve call (HiGHS, PDLP; nan elsewhere)

Sign convention (scotopt's, see ``scotopt.solvers.kkt``): the row duals y satisfy
``c - A^T y = r`` with r the reduced costs; ``y_i > 0`` only at a finite row lower bound,
``y_i < 0`` only at a finite row upper bound. Both peers already use it for a minimisation, so
no sign flip is applied:

- HiGHS: ``row_dual`` / ``col_dual`` satisfy ``col_dual = c - A^T row_dual`` (checked with
  ``kkt_report`` on a small LP with every bound type, simplex and IPM).
- OR-Tools PDLP: ``dual_solution`` / ``reduced_costs`` satisfy ``reduced_costs = c - A^T y``
  (the Lagrangian of Applegate et al., the one scotopt's kkt module follows; checked the same way).

Callers must re-check every answer with :func:`scotopt.solvers.kkt.kkt_report`; these functions
report what the solver said and never certify anything themselves.
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp

from scotopt.io.highs import to_highs_lp

__all__ = [
    "pdlp_program_from_lp", "solve_highs", "solve_ortools_pdlp", "solve_mpax", "solve_osqp", "solve_cupdlpx",
    "ortools_min_cost_flow", "solve_min_cost_flow",
]


def _result(solver, status, raw_status, objective, x, y, seconds, iterations, solver_seconds,
            cpu_seconds=math.nan):
    return {
        "solver": solver,
        "status": status,
        "raw_status": raw_status,
        "objective": float(objective) if objective is not None else math.nan,
        "x": None if x is None else np.asarray(x, dtype=np.float64),
        "y": None if y is None else np.asarray(y, dtype=np.float64),
        "seconds": float(seconds),
        "iterations": int(iterations),
        "solver_seconds": float(solver_seconds),
        "cpu_seconds": float(cpu_seconds),
    }


# --------------------------------------------------------------------------------------- HiGHS

def _highs_status(model_status) -> str:
    import highspy

    M = highspy.HighsModelStatus
    return {
        M.kOptimal: "OPTIMAL",
        M.kInfeasible: "PRIMAL_INFEASIBLE",
        M.kUnbounded: "DUAL_INFEASIBLE",
        M.kUnboundedOrInfeasible: "PRIMAL_OR_DUAL_INFEASIBLE",
        M.kTimeLimit: "TIME_LIMIT",
        M.kIterationLimit: "ITERATION_LIMIT",
        M.kInterrupt: "INTERRUPTED",
        M.kHighsInterrupt: "INTERRUPTED",
    }.get(model_status, "OTHER")


def solve_highs(lp, method: str = "simplex", time_limit: float | None = None, threads: int = 1) -> dict:
    """Solve ``lp`` with HiGHS.

    Parameters
    ----------
    method : "simplex" or "ipm"
        ``solver`` option of HiGHS; for "ipm" crossover is switched off (``run_crossover=off``),
        so x and y are the interior-point answer.
    time_limit : float, optional
        HiGHS ``time_limit`` in seconds.
    threads : int
        HiGHS ``threads`` option. HiGHS's global scheduler keeps the thread count it started
        with and refuses to run (model status "Not Set") when a later solve in the same process
        asks for another one, so the scheduler is reset first.
    """
    import highspy

    if method not in ("simplex", "ipm"):
        raise ValueError(f"method must be 'simplex' or 'ipm', got {method!r}")
    highspy.Highs.resetGlobalScheduler(True)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", method)
    h.setOptionValue("threads", int(threads))
    if method == "ipm":
        h.setOptionValue("run_crossover", "off")
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if h.passModel(to_highs_lp(lp)) == highspy.HighsStatus.kError:
        raise RuntimeError(f"HiGHS rejected the model {lp.name!r}")
    t0, c0 = time.perf_counter(), time.process_time()
    h.run()
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    model_status = h.getModelStatus()
    info = h.getInfo()
    sol = h.getSolution()
    x = np.array(sol.col_value, dtype=np.float64) if sol.value_valid else None
    y = np.array(sol.row_dual, dtype=np.float64) if sol.dual_valid else None
    iterations = info.simplex_iteration_count if method == "simplex" else info.ipm_iteration_count
    objective = info.objective_function_value if sol.value_valid else math.nan
    return _result(
        f"highs-{method}", _highs_status(model_status), h.modelStatusToString(model_status), objective,
        x, y, seconds, max(int(iterations), 0), h.getRunTime(), cpu_seconds,
    )


# ---------------------------------------------------------------------------------------- PDLP

_PDLP_STATUS = {
    "TERMINATION_REASON_OPTIMAL": "OPTIMAL",
    "TERMINATION_REASON_PRIMAL_INFEASIBLE": "PRIMAL_INFEASIBLE",
    "TERMINATION_REASON_DUAL_INFEASIBLE": "DUAL_INFEASIBLE",
    "TERMINATION_REASON_PRIMAL_OR_DUAL_INFEASIBLE": "PRIMAL_OR_DUAL_INFEASIBLE",
    "TERMINATION_REASON_TIME_LIMIT": "TIME_LIMIT",
    "TERMINATION_REASON_ITERATION_LIMIT": "ITERATION_LIMIT",
    "TERMINATION_REASON_KKT_MATRIX_PASS_LIMIT": "ITERATION_LIMIT",
    "TERMINATION_REASON_NUMERICAL_ERROR": "NUMERICAL_ERROR",
    "TERMINATION_REASON_INTERRUPTED_BY_USER": "INTERRUPTED",
}


def pdlp_program_from_lp(lp):
    """An OR-Tools ``pdlp.QuadraticProgram`` (linear: no objective matrix) holding ``lp``."""
    from ortools.pdlp.python import pdlp

    qp = pdlp.QuadraticProgram()
    qp.objective_vector = np.asarray(lp.c, dtype=np.float64)
    qp.constraint_matrix = sp.csc_matrix(lp.A, dtype=np.float64)
    qp.constraint_lower_bounds = np.asarray(lp.con_lb, dtype=np.float64)
    qp.constraint_upper_bounds = np.asarray(lp.con_ub, dtype=np.float64)
    qp.variable_lower_bounds = np.asarray(lp.var_lb, dtype=np.float64)
    qp.variable_upper_bounds = np.asarray(lp.var_ub, dtype=np.float64)
    qp.objective_offset = float(lp.c0)
    return qp


def solve_ortools_pdlp(
    lp,
    eps: float = 1e-4,
    time_limit: float | None = None,
    threads: int = 1,
    bound_gradients_as_residuals: bool = True,
) -> dict:
    """Solve ``lp`` with OR-Tools PDLP (C++), default algorithm settings.

    Termination: ``simple_optimality_criteria`` with ``eps_optimal_relative =
    eps_optimal_absolute = eps`` and the L2 optimality norm (PDLP's default, and the norm of
    scotopt's relative KKT measures), ``time_sec_limit = time_limit``; ``num_threads = threads``,
    ``verbosity_level = 0``. x, y are PDLP's ``primal_solution`` / ``dual_solution`` unchanged
    (PDLP's dual convention is ours: ``reduced_costs = c - A^T y``).

    ``bound_gradients_as_residuals`` is PDLP's
    ``handle_some_primal_gradients_on_finite_bounds_as_residuals`` (default True). With True,
    PDLP leaves out of its dual objective the reduced costs of variables far from their finite
    bound (counting them as dual residual instead), so its gap can be smaller than the one
    ``kkt_report`` computes for the same (x, y): on ken-07 / boeing2 at eps 1e-4 PDLP stops
    OPTIMAL while kkt_report gives rel_gap 1.6e-3 / 1.3e-4. With False, PDLP's dual objective
    equals kkt_report's exactly.
    """
    from ortools.pdlp import solve_log_pb2, solvers_pb2
    from ortools.pdlp.python import pdlp

    qp = pdlp_program_from_lp(lp)
    params = solvers_pb2.PrimalDualHybridGradientParams()
    tc = params.termination_criteria
    tc.optimality_norm = solvers_pb2.OPTIMALITY_NORM_L2
    tc.simple_optimality_criteria.eps_optimal_relative = float(eps)
    tc.simple_optimality_criteria.eps_optimal_absolute = float(eps)
    if time_limit is not None:
        tc.time_sec_limit = float(time_limit)
    params.num_threads = int(threads)
    params.verbosity_level = 0
    params.handle_some_primal_gradients_on_finite_bounds_as_residuals = bool(bound_gradients_as_residuals)
    t0, c0 = time.perf_counter(), time.process_time()
    res = pdlp.primal_dual_hybrid_gradient(qp, params)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    log = res.solve_log
    raw = solve_log_pb2.TerminationReason.Name(log.termination_reason)
    x = np.asarray(res.primal_solution, dtype=np.float64)
    y = np.asarray(res.dual_solution, dtype=np.float64)
    objective = math.nan
    for info in log.solution_stats.convergence_information:
        if info.candidate_type == log.solution_type:
            objective = info.primal_objective
    if x.shape != (lp.num_vars,) or y.shape != (lp.num_rows,):
        x = y = None
    return _result(
        "pdlp", _PDLP_STATUS.get(raw, "OTHER"), raw, objective, x, y, seconds,
        log.iteration_count, log.solve_time_sec, cpu_seconds,
    )


# ---------------------------------------------------------------------------- SimpleMinCostFlow

def ortools_min_cost_flow(model):
    """Solve a :class:`scotopt.models.MinCostFlow` (integral data) with OR-Tools SimpleMinCostFlow:
    :func:`ortools_min_cost_flow_arrays` on the model's data (model order)."""
    return ortools_min_cost_flow_arrays(model.tail, model.head, model.capacity, model.cost, model.supply,
                                        model.lower)


def ortools_min_cost_flow_arrays(tail, head, capacity, cost, supply, lower=None):
    """OR-Tools SimpleMinCostFlow on integral arc data (capacities above 2^62 clipped to it).

    SimpleMinCostFlow has no lower bounds: they are shifted out (f = g + lower, capacity - lower,
    supply - N lower, cost + cost@lower) and back. Returns ``(optimal, cost, flow, solve_seconds,
    build_seconds)``; the flow is float64 per arc.
    """
    from ortools.graph.python import min_cost_flow

    t0 = time.perf_counter()
    tail, head = np.asarray(tail), np.asarray(head)
    capacity, cost = np.asarray(capacity, dtype=np.float64), np.asarray(cost)
    supply = np.asarray(supply, dtype=np.float64)
    lower = np.zeros(tail.shape[0]) if lower is None else np.asarray(lower, dtype=np.float64)
    num_nodes = supply.shape[0]
    if np.any(lower):
        supply = supply - np.bincount(tail, lower, num_nodes) + np.bincount(head, lower, num_nodes)
        capacity = capacity - lower
    s = min_cost_flow.SimpleMinCostFlow()
    s.add_arcs_with_capacity_and_unit_cost(
        tail.astype(np.int32),
        head.astype(np.int32),
        np.minimum(capacity, 2.0**62).astype(np.int64),
        cost.astype(np.int64),
    )
    s.set_nodes_supplies(np.arange(num_nodes, dtype=np.int32), supply.astype(np.int64))
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    status = s.solve()
    seconds = time.perf_counter() - t0
    flow = np.asarray(s.flows(np.arange(tail.shape[0], dtype=np.int32)), dtype=np.float64) + lower
    return status == s.OPTIMAL, float(s.optimal_cost()) + float(cost @ lower), flow, seconds, build


def flow_potentials(model, flow, max_seconds: float = 120.0):
    """Row duals certifying an optimal ``flow`` of a min-cost-flow ``model``, or None.

    SimpleMinCostFlow returns no duals, so we recover them: node potentials d are shortest-path
    distances in the residual network of ``flow`` (arc t->h with cost c while flow < capacity,
    h->t with cost -c while flow > lower) from a virtual root joined to every node at cost 0,
    found by Bellman-Ford in vectorised passes (each pass relaxes every residual arc at once),
    stopping when a pass improves nothing. Then every residual arc has reduced cost
    c + d_t - d_h >= 0, which is LP optimality, and ``y = -d`` in scotopt's convention
    (reduced cost c - (y_t - y_h)). A flow that is not optimal has a negative residual cycle and
    the passes never settle: None after ``num_nodes`` passes or ``max_seconds``. The KKT check of
    the benchmark then certifies (flow, y) like any other answer.
    """
    fwd, bwd = flow < model.capacity, flow > model.lower
    src = np.concatenate([model.tail[fwd], model.head[bwd]])
    dst = np.concatenate([model.head[fwd], model.tail[bwd]])
    weight = np.concatenate([model.cost[fwd], -model.cost[bwd]])
    order = np.argsort(dst, kind="stable")
    src, dst, weight = src[order], dst[order], weight[order]
    if dst.size == 0:
        return np.zeros(model.num_nodes)
    starts = np.flatnonzero(np.r_[True, dst[1:] != dst[:-1]])
    nodes = dst[starts]
    d = np.zeros(model.num_nodes)
    started = time.perf_counter()
    for _ in range(model.num_nodes + 1):
        best = np.minimum.reduceat(d[src] + weight, starts)
        improved = best < d[nodes]
        if not improved.any():
            return -d
        d[nodes[improved]] = best[improved]
        if time.perf_counter() - started > max_seconds:
            break
    return None


def solve_min_cost_flow(model) -> dict:
    """SimpleMinCostFlow in the uniform dict, with duals recovered by :func:`flow_potentials`
    (``seconds`` is SimpleMinCostFlow's solve alone; ``y`` is None if no potentials were found).

    Costs, capacities and supplies must be integral (``model.cost`` etc. are rounded to int64
    otherwise, which the KKT re-check on the float64 model would expose).
    """
    ok, cost, flow, seconds, _ = ortools_min_cost_flow(model)
    y = flow_potentials(model, flow) if ok else None
    return _result("mincostflow", "OPTIMAL" if ok else "OTHER", "OPTIMAL" if ok else "NOT_OPTIMAL",
                   cost, flow, y, seconds, 0, seconds)


# ----------------------------------------------------------------------------------------- MPAX

_MPAX_STATUS = {2: "OPTIMAL", 3: "PRIMAL_INFEASIBLE", 4: "DUAL_INFEASIBLE", 5: "TIME_LIMIT",
                6: "ITERATION_LIMIT", 7: "NUMERICAL_ERROR"}


def _row_split(lp):
    """Masks of the equality rows, the finite-lower-bound rows and the finite-upper-bound rows
    (ranged rows are in both of the last two), for solvers that take ``A x = b, G x >= h``."""
    lb, ub = np.asarray(lp.con_lb), np.asarray(lp.con_ub)
    eq = np.isfinite(lb) & (lb == ub)
    return eq, np.isfinite(lb) & ~eq, np.isfinite(ub) & ~eq


def solve_mpax(lp, eps: float = 1e-4, iteration_limit: int = 100_000, repeats: int = 1) -> dict:
    """Solve ``lp`` with MPAX's r2HPDHG (JAX, float64), the whole ``optimize`` under ``jax.jit``.

    MPAX takes ``A x = b, G x >= h, l <= x <= u``: equality rows go to A, every finite row lower
    bound to G, every finite row upper bound to -G (a ranged row is split in two), and the row
    duals are folded back (``y = z_eq``, ``+ z_lower``, ``- z_upper``), which is scotopt's sign
    convention (checked with ``kkt_report`` on Netlib afiro: 8e-10). Termination: ``eps_abs =
    eps_rel = eps`` with the L2 norm (PDLP's criterion, relative to the same data norms as
    ours up to the absolute part). MPAX has no time limit, hence ``iteration_limit``.

    ``seconds`` is the median of ``repeats`` timed calls after one untimed call that compiles
    (``solver_seconds`` holds that first, cold call: compilation included).
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse
    from mpax import create_lp, r2HPDHG

    A = sp.csr_matrix(lp.A, dtype=np.float64)
    eq, lo, hi = _row_split(lp)
    G = sp.vstack([A[lo], -A[hi]]).tocsr()
    h = np.concatenate([np.asarray(lp.con_lb)[lo], -np.asarray(lp.con_ub)[hi]])
    problem = create_lp(
        jnp.asarray(lp.c), jsparse.BCOO.from_scipy_sparse(A[eq]), jnp.asarray(np.asarray(lp.con_lb)[eq]),
        jsparse.BCOO.from_scipy_sparse(G), jnp.asarray(h), jnp.asarray(lp.var_lb), jnp.asarray(lp.var_ub),
    )
    solver = r2HPDHG(eps_abs=float(eps), eps_rel=float(eps), optimality_norm=2, iteration_limit=int(iteration_limit),
                     verbose=False)
    optimize = jax.jit(solver.optimize)
    times = []
    for _ in range(1 + max(int(repeats), 1)):
        t0 = time.perf_counter()
        out = optimize(problem)
        out.primal_solution.block_until_ready()
        times.append(time.perf_counter() - t0)
    z = np.asarray(out.dual_solution, dtype=np.float64)
    n_eq, n_lo = int(eq.sum()), int(lo.sum())
    y = np.zeros(lp.num_rows)
    y[eq] = z[:n_eq]
    y[lo] += z[n_eq:n_eq + n_lo]
    y[hi] -= z[n_eq + n_lo:]
    code = int(out.termination_status)
    return _result("mpax", _MPAX_STATUS.get(code, "OTHER"), f"TerminationStatus {code}",
                   float(out.primal_objective) + float(lp.c0), np.asarray(out.primal_solution), y,
                   float(np.median(times[1:])), int(out.iteration_count), times[0])


# ----------------------------------------------------------------------------------------- OSQP

def solve_osqp(qp, eps: float = 1e-4, time_limit: float | None = None) -> dict:
    """Solve a :class:`scotopt.QP` (or LP) with OSQP at default settings, ``eps_abs = eps_rel = eps``.

    The variable bounds go in as identity rows; OSQP's row multipliers are negated to scotopt's
    sign convention (OSQP's y > 0 sits at an upper bound). ``seconds`` includes OSQP's setup
    (its factorisation), as the wall time of a user's solve.
    """
    import osqp

    n = qp.num_vars
    P = sp.triu(qp.P).tocsc() if hasattr(qp, "P") else sp.csc_matrix((n, n))
    A = sp.vstack([sp.csr_matrix(qp.A), sp.eye(n)]).tocsc()
    lower = np.concatenate([qp.con_lb, qp.var_lb])
    upper = np.concatenate([qp.con_ub, qp.var_ub])
    solver = osqp.OSQP()
    started = time.perf_counter()
    solver.setup(P, np.asarray(qp.c, dtype=np.float64), A, lower, upper, eps_abs=eps, eps_rel=eps,
                 time_limit=float(time_limit or 1e10), max_iter=10**9, verbose=False)
    result = solver.solve()
    elapsed = time.perf_counter() - started
    x = np.asarray(result.x, dtype=np.float64)
    y = -np.asarray(result.y, dtype=np.float64)[: qp.num_rows]
    if x.shape != (n,) or not np.isfinite(x).all():
        x = None
    if y.shape != (qp.num_rows,) or not np.isfinite(y).all():
        y = None
    claimed = str(result.info.status)
    status = "OPTIMAL" if claimed.lower().startswith("solved") else "OTHER"
    objective = float(result.info.obj_val) + float(qp.c0) if x is not None else math.nan
    return _result("osqp", status, claimed, objective, x, y, elapsed, int(result.info.iter), elapsed)


# -------------------------------------------------------------------------------------- cuPDLPx

def solve_cupdlpx(lp, eps: float = 1e-4, time_limit: float | None = None) -> dict:
    """Solve ``lp`` with cuPDLPx (``pip install cupdlpx``; needs an NVIDIA GPU).

    cuPDLPx takes scotopt's form directly (``con_lb <= A x <= con_ub``, variable bounds) and its
    row duals ``Pi`` follow the same sign convention (its own tests: y = (1, -1, 0) for an
    equality row and an active ``<=`` row). Relative tolerances ``eps``, time limit set. Not
    run on a machine without a GPU (the solver registry skips it with the reason).
    """
    from cupdlpx import Model

    model = Model(np.asarray(lp.c, dtype=np.float64), sp.csr_matrix(lp.A, dtype=np.float64),
                  np.asarray(lp.con_lb), np.asarray(lp.con_ub), np.asarray(lp.var_lb), np.asarray(lp.var_ub))
    model.setParams(OutputFlag=False)
    for key, value in (("eps_optimal_relative", eps), ("eps_feasible_relative", eps),
                       ("time_sec_limit", time_limit)):
        if value is not None:
            model.setParam(key, float(value))
    t0 = time.perf_counter()
    model.optimize()
    seconds = time.perf_counter() - t0
    raw = str(model.Status)
    status = raw if raw in ("OPTIMAL", "TIME_LIMIT", "ITERATION_LIMIT") else "OTHER"
    x = np.asarray(model.X, dtype=np.float64) if getattr(model, "X", None) is not None else None
    y = np.asarray(model.Pi, dtype=np.float64) if getattr(model, "Pi", None) is not None else None
    objective = float(getattr(model, "ObjVal", math.nan)) + float(lp.c0)
    return _result("cupdlpx", status, raw, objective, x, y, seconds, int(getattr(model, "IterCount", 0) or 0),
                   float(getattr(model, "Runtime", seconds) or seconds))
