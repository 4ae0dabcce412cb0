"""The PDHG driver: owns every loop, talks to the host once per check, verifies every claim.

Per check (every ``check_every`` iterations) the driver copies one small statistics vector
to the host. A status is only reported after the host has re-checked it in float64 on the
original problem (``scotopt.solvers.kkt``): OPTIMAL needs the KKT measures within eps,
PRIMAL_INFEASIBLE / DUAL_INFEASIBLE need a ray that passes PDLP's tests. A claim the host
rejects (float32 round-off, say) lets the iteration go on.
"""

from __future__ import annotations

import functools
import sys
import time
from typing import NamedTuple

import numpy as np

from scotopt.kernels import get_backend, pages
from scotopt.options import PDHGOptions, Termination
from scotopt.problem import LP, constant_vector, is_constant_view
from scotopt.result import Result
from scotopt.segments import SegmentVector, vector_norm
from scotopt.solvers import kkt
from scotopt.solvers.answer import measured_result, warm_start_vectors
from scotopt.solvers.pdhg import algorithm as alg
from scotopt.solvers.pdhg.norm import NORM_FLOOR, estimate_norm
from scotopt.solvers.pdhg.placement import SingleDevice
from scotopt.solvers.pdhg.scaling import scale_lp
from scotopt.status import Status

# Above this many columns a structured operator's closed-form bound replaces Lanczos: on a
# 10^6-arc network Lanczos took 48 s (hundreds of float64 products; the graph's top spectrum is
# clustered) against a 10-40 % larger step; on the DIMACS set the bound (1 after Pock-Chambolle)
# cost 0-40 % more iterations than the exact norm (0.86-0.99).
_LANCZOS_MAX_COLUMNS = 300_000


def _operator_norm(A) -> float:
    """||A~||_2: the operator's own norm where it has one (a structured operator that
    reduces it to a small matrix), Lanczos, or its upper bound (Schur test) when it is large."""
    if hasattr(A, "operator_norm"):
        return max(float(A.operator_norm()), NORM_FLOOR)
    if hasattr(A, "norm_upper_bound") and A.shape[1] > _LANCZOS_MAX_COLUMNS:
        return max(float(A.norm_upper_bound()) * (1.0 + 1e-6), NORM_FLOOR)
    return estimate_norm(A)


_COMPILED: dict = {}


def _compiled_functions(backend, op, params: alg.Params):
    """(run_steps, run_evaluate) for this backend; jitted ones are cached across solves.

    A jitted function is keyed on everything it closes over (backend, operator type and shape,
    algorithm constants); the problem data and operator arrays are arguments, so a second solve
    of the same shape reuses the compiled program.
    """
    key = (backend.name, getattr(op, "cache_key", type(op).__name__), op.shape, params)
    if key in _COMPILED:
        return _COMPILED[key]
    xp = backend.xp

    def run_steps(op_params, data, state, count):
        """``count`` steps from ``state``, or from ``state[0]`` of a one-element list, which a
        backend that loops on the host empties (so that only the loop holds the chunk's start)."""
        bound = op.with_params(op_params)
        return alg.steps(xp, bound, data, params, state, count, backend.repeat)

    def run_evaluate(op_params, data, state):
        return alg.evaluate(xp, op.with_params(op_params), data, params, state)

    functions = backend.compile(run_steps), backend.compile(run_evaluate)
    if getattr(backend, "caches_compiled", False):
        _COMPILED[key] = functions
    return functions


def compile_ahead(backend, fn, *args):
    """``fn`` compiling on a background thread for arguments like ``args`` where the backend
    compiles (JAX: ``JaxBackend.compile_ahead``), else ``fn`` itself. A JAX solve compiles its
    chunk, its evaluation and the functions around the loop; this way they compile side by side
    instead of one after the other."""
    ahead = getattr(backend, "compile_ahead", None)
    return fn if ahead is None else ahead(fn, *args)


class _PointFunctions(NamedTuple):
    """The work before and after the loop as whole functions: ``start(op_params, x)`` is A x
    of the starting point (the state at iteration 0 is built outside, so that x0, y0 and A x0 are
    the very arrays x, y and A x, not outputs a jitted function might copy),
    ``point(op_params, data, state)`` the unscaled T(state) (x, y),
    ``answer`` the same with a flag that both are finite, and ``rays(candidate)`` the function
    of the ray pair (x_ray, y_ray) of ray candidate ``candidate`` (``alg.candidate``)."""

    start: object
    point: object
    answer: object
    rays: object


def _point_functions(backend, op, dtype) -> _PointFunctions:
    """:class:`_PointFunctions` for this backend, compiled and cached as in
    :func:`_compiled_functions`. Run operation by operation, JAX compiled each of their ~40
    operations on its own for every new shape: 45 compilations per solve instead of 9. On an
    H200 that was 2-3 s of compiling, and solves of 10^6-column networks went 1.4-1.5x faster
    without it (bench/README.md, network section, session 28)."""
    key = ("point", backend.name, getattr(op, "cache_key", type(op).__name__), op.shape, np.dtype(dtype).name)
    if key in _COMPILED:
        return _COMPILED[key]
    xp = backend.xp

    def start(op_params, x):
        return op.with_params(op_params).matvec(x)

    def point(op_params, data, state):
        x, y, _, _ = alg.candidate(xp, op.with_params(op_params), data, state, with_rays=False)
        return x, y

    def answer(op_params, data, state):
        x, y = point(op_params, data, state)
        return x, y, xp.all(xp.isfinite(x)) & xp.all(xp.isfinite(y))

    ray_functions = {}

    def rays(candidate: int):
        if candidate not in ray_functions:
            def ray_pair(op_params, data, state):
                _, _, x_ray, y_ray = alg.candidate(xp, op.with_params(op_params), data, state, candidate)
                return x_ray, y_ray

            ray_functions[candidate] = backend.compile(ray_pair)
        return ray_functions[candidate]

    functions = _PointFunctions(backend.compile(start), backend.compile(point), backend.compile(answer), rays)
    if getattr(backend, "caches_compiled", False):
        _COMPILED[key] = functions
    return functions


def algorithm_params(options: PDHGOptions, lp: LP | None = None) -> alg.Params:
    """The algorithm constants of ``options`` (also used by scotopt/bench/kernels.py); with
    ``lp``, whether its primal can be unbounded (:func:`objective_bounded_on_box`)."""
    return alg.Params(
        reflection=options.reflection, restart_sufficient=options.restart_sufficient,
        restart_necessary=options.restart_necessary, restart_artificial=options.restart_artificial,
        pid_kp=options.pid_kp, pid_ki=options.pid_ki, pid_kd=options.pid_kd,
        pid_integral_decay=options.pid_integral_decay, check_every=float(options.check_every),
        primal_rays=0.0 if lp is not None and objective_bounded_on_box(lp) else 1.0,
        screening=1.0 if options.screening else 0.0,
    )


def objective_bounded_on_box(lp: LP) -> bool:
    """Whether c@x is bounded below on the box var_lb <= x <= var_ub: every column with c_j > 0 has
    a finite lower bound and every column with c_j < 0 a finite upper bound (every column boxed
    is the special case). Then the LP is infeasible or has an optimum, never unbounded: a primal
    ray d (in the box's recession cone, A d in the rows' recession cone, c@d < 0; PDLP,
    Applegate et al. 2021, section 3.1) needs some c_j d_j < 0, i.e. d_j < 0 on a column without
    a lower bound and c_j > 0, or d_j > 0 on one without an upper bound and c_j < 0. So the
    primal ray test can be skipped: the network LPs (costs >= 0, flows >= 0) need no upper
    bound for that. Reductions first (no E-long mask at 10^8 columns); the per-column test runs
    in blocks only where they do not decide. A NaN fails every test."""
    def finite(v) -> bool:
        return v.size == 0 or bool(np.isfinite(v.min()) and np.isfinite(v.max()))

    c = lp.c
    lb, ub = (v if isinstance(v, SegmentVector) else np.asarray(v) for v in (lp.var_lb, lp.var_ub))
    lb_finite, ub_finite = finite(lb), finite(ub)
    if lb_finite and ub_finite:
        return True
    if c.size == 0:
        return True
    c_min, c_max = float(c.min()), float(c.max())
    if (c_min >= 0 or ub_finite) and (c_max <= 0 or lb_finite):
        return True

    def part(v, block):
        return v if v.ndim == 0 else np.asarray(v[block])

    for lo in range(0, c.size, _BOX_TEST_BLOCK):
        block = slice(lo, min(lo + _BOX_TEST_BLOCK, c.size))
        if not bool(costs_bounded_by_columns(np, np.asarray(c[block]), part(lb, block), part(ub, block))):
            return False
    return True


_BOX_TEST_BLOCK = 1 << 20


def costs_bounded_by_columns(xp, c, lb, ub):
    """The per-column rule of :func:`objective_bounded_on_box` as one reduction in namespace
    ``xp`` (bounds vectors or scalars): c_j > 0 only with a finite lb_j, c_j < 0 only with a
    finite ub_j. Also what the sharded solvers evaluate on their devices."""
    return xp.all(((c <= 0) | xp.isfinite(lb)) & ((c >= 0) | xp.isfinite(ub)))


def _make_data(placement, scaled, lp: LP, dtype, eta: float, pair_cost_and_upper: bool = False) -> alg.PDHGData:
    """PDHGData on the device(s): column vectors through ``placement.columns``, row vectors through
    ``placement.rows`` (the identity on one device; permuted, padded and sharded on several).
    With ``pair_cost_and_upper`` (the operator asks, ``DeviceNetwork.pairs_cost_and_upper``; one
    NumPy device) c and a non-constant upper bound become the two columns of one (n, 2) array,
    which the fused network step reads as one stream.

    Consumes ``scaled``'s vectors: each host float64 vector is dropped (the field set to None) as
    soon as its device copy exists, so setup holds one float64 vector in flight, not all of
    them. Take what else is needed from ``scaled`` (starting point, padding) before."""

    def take(field):
        v = getattr(scaled, field)
        setattr(scaled, field, None)
        return v

    def cols(field, fill=0.0):
        return placement.columns(take(field), dtype, fill)

    def rows(field, fill=0.0):
        return placement.rows(take(field), dtype, fill)

    def bound(field):
        """A constant bound vector (all-zero lower bounds, say) becomes a 0-d array: every formula
        broadcasts it, and it saves a vector per bound at 10^8 columns."""
        v = take(field)
        constant = _constant(v)
        return placement.columns(v if constant is None else np.asarray(constant), dtype, 0.0)

    def cost_and_upper():
        # an operator that asks is a NumPy one (``DeviceNetwork.pairs_cost_and_upper``)
        if not (pair_cost_and_upper and isinstance(placement, SingleDevice) and _constant(scaled.var_ub) is None):
            return cols("c"), bound("var_ub")
        both = np.empty((scaled.c.shape[0], 2), dtype=dtype)
        both[:, 0] = take("c")  # converted into place, one float64 vector in flight
        both[:, 1] = take("var_ub")
        return both[:, 0], both[:, 1]

    c, var_ub = cost_and_upper()
    return alg.PDHGData(
        c=c, con_lb=rows("con_lb"), con_ub=rows("con_ub"),
        var_lb=bound("var_lb"), var_ub=var_ub, d1=rows("d1", 1.0), d2=cols("d2", 1.0),
        theta_b=scaled.theta_b, theta_c=scaled.theta_c, c0=lp.c0,
        bound_norm=kkt.bound_norm(lp), cost_norm=vector_norm(lp.c), eta=eta,
    )


def _constant(v):
    """The common value of a constant vector of two or more entries, else None."""
    if isinstance(v, SegmentVector):
        if v.size > 1 and v.min() == v.max():
            return float(v.max())
        return None
    v = np.asarray(v)
    if is_constant_view(v):
        return float(v[0])
    if v.ndim == 1 and v.size > 1 and v[0] == v[-1] and np.all(v == v[0]):
        return float(v[0])
    return None


def _padding_start(scaled) -> float:
    """Where a padding column (zero column, zero cost, bounds 0 unless the bound is a constant)
    sits from the first iteration on, so that padding never moves: clip(0, lower, upper)."""
    lower, upper = _constant(scaled.var_lb), _constant(scaled.var_ub)
    return min(max(0.0, lower or 0.0), upper if upper is not None else 0.0)


def _starting_point(lp: LP, scaled, warm_start):
    """Scaled (x, y) to start from: the warm start projected, or x = proj(0), y = 0."""
    if warm_start is None:
        m, n = lp.shape
        if n == 0 or (np.max(scaled.var_lb) <= 0.0 <= np.min(scaled.var_ub)):
            return constant_vector(0.0, n), np.zeros(m)  # proj(0) = 0: no host column vector at all
        return np.minimum(np.maximum(0.0, scaled.var_lb), scaled.var_ub), np.zeros(m)
    x, y = warm_start_vectors(lp, warm_start)
    x_scaled = np.clip(scaled.theta_b * x / scaled.d2, scaled.var_lb, scaled.var_ub)
    y_scaled = scaled.theta_c * kkt.project_row_duals(lp, y) / scaled.d1
    return x_scaled, y_scaled


class _Progress:
    header = (f"{'iter':>9} {'rel_primal':>10} {'rel_dual':>10} {'rel_gap':>10} {'primal_obj':>14} "
              f"{'weight':>9} {'time':>8}")

    def __init__(self, enabled: bool, stream=None):
        self.enabled = enabled
        self.stream = stream or sys.stdout
        if enabled:
            print(self.header, file=self.stream, flush=True)

    def line(self, iteration: int, stats, elapsed: float, note: str = ""):
        if not self.enabled:
            return
        s = alg.STAT
        print(f"{iteration:>9d} {stats[s['rel_primal']]:>10.2e} {stats[s['rel_dual']]:>10.2e} "
              f"{stats[s['rel_gap']]:>10.2e} {stats[s['primal_objective']]:>14.7e} "
              f"{stats[s['primal_weight']]:>9.2e} {elapsed:>7.2f}s{note}", file=self.stream, flush=True)


def solve_pdhg(lp: LP, backend_name: str, dtype, termination: Termination, options: PDHGOptions,
               warm_start=None, verbose: bool = False, placement=None) -> Result:
    """Solve ``lp`` with r2HPDHG on one backend; see :func:`scotopt.solve` for the contract.

    ``placement`` puts the vectors and the operator on the device(s) (:mod:`scotopt.solvers.pdhg.placement`);
    None is the backend's single device. A sharded placement (:mod:`scotopt.distributed`) runs the
    same algorithm on several devices.
    """
    start = time.perf_counter()
    backend = get_backend(backend_name)
    dtype = np.dtype(dtype)
    if placement is None:
        placement = SingleDevice(backend)
    with backend.precision(dtype):
        return _run(lp, backend, placement, dtype, termination, options, warm_start, verbose, start)




def _run(lp, backend, placement, dtype, termination, options, warm_start, verbose, start):
    xp = backend.xp
    scaled = scale_lp(lp, options.ruiz_iterations, options.pock_chambolle_alpha, options.bound_objective_rescaling,
                      options.geometric_mean_iterations)
    op = placement.operator(scaled.A, dtype)
    norm = _operator_norm(scaled.A)
    x_start, y_start = _starting_point(lp, scaled, warm_start)
    padding = _padding_start(scaled)
    # The host float64 vectors (GBs at 10^8 columns) go as soon as their device copies exist:
    # _make_data drops each scaled vector as it moves it, and each starting vector goes once moved.
    data = _make_data(placement, scaled, lp, dtype, options.step_size_safety / norm,
                      pair_cost_and_upper=getattr(op, "pairs_cost_and_upper", False))
    del scaled
    x_start = placement.columns(x_start, dtype, padding)
    y_start = placement.rows(y_start, dtype, 0.0)
    points = _point_functions(backend, op, dtype)
    first = [alg.init_state(xp, op, data, x_start, y_start, dtype, ax=points.start(op.params, x_start))]
    del x_start, y_start
    points = points._replace(**{name: compile_ahead(backend, getattr(points, name), op.params, data, first[0])
                                for name in ("point", "answer")})
    pages.return_free_pages()  # the scaled float64 vectors' pages (see the answer below)
    setup_time = time.perf_counter() - start

    verify = functools.partial(_verified_outcome, lp, placement, points, op, data, termination=termination)

    # handed over in a list that iterate() empties, so that no frame here keeps the first state's
    # vectors alive for the whole solve
    loop = iterate(backend, op, data, algorithm_params(options, lp), first, termination, options, verify, verbose,
                   start)
    x_dev, y_dev, theta_b, theta_c = _answer(backend, points, op, data, loop.answer_state)
    restarts, eta = int(backend.to_host(loop.answer_state.restarts)), data.eta
    status, ray, iterations, verify_failures = loop.status, loop.ray, loop.iterations, loop.verify_failures
    # The solver's vectors go before the float64 answer and Result are made: that is the last
    # peak of a solve.
    del loop, data, op, verify
    # and their pages: freed into the heap they stay resident while the float64 answer takes
    # others (a whole 10^6-arc network solve peaked 3-7 B/arc higher without this)
    pages.return_free_pages()
    y = _unscaled_host(placement.rows_to_host(y_dev), theta_c)
    del y_dev
    x = _unscaled_host(placement.columns_to_host(x_dev), theta_b)
    del x_dev
    return measured_result(
        lp, x, y, status, ray, iterations=iterations, solve_time=time.perf_counter() - start,
        setup_time=setup_time, backend=backend.name, device=placement.device, dtype=dtype.name, method="pdhg",
        eps=termination.eps, restarts=restarts,
        extra={"step_size": eta, "norm_estimate": norm, "verify_failures": verify_failures, **placement.describe()},
    )


class LoopOutcome(NamedTuple):
    """How :func:`iterate` ended: the status, the state whose T(z) is the answer, and counters."""

    status: Status
    answer_state: alg.PDHGState
    ray: np.ndarray | None
    ray_candidate: int
    iterations: int
    verify_failures: int


def iterate(backend, op, data, params: alg.Params, state, termination: Termination, options: PDHGOptions,
            verify, verbose: bool, start: float) -> LoopOutcome:
    """Run chunks of ``check_every`` steps and one evaluation each until a verified status or a limit.

    ``verify(state, stats)`` returns None (nothing claimed), (None, None, candidate) (a claim the
    float64 check rejected) or (status, ray, candidate). ``state`` may be a one-element list,
    which is emptied: then only this loop holds the starting state.

    Memory: at most the state being stepped and the evaluated one are alive; a backend that loops
    on the host (NumPy, CuPy) drops the chunk's starting state after its first step. The fallback
    answer for NUMERICAL_ERROR is the epoch's anchor (the last restart point, or the starting
    point): it passed an evaluation, so it is finite, and its vectors are part of every state of
    the epoch, so keeping it costs nothing (holding the chunk's start cost a column vector for
    the whole solve). INTERRUPTED answers with the last completed step where the backend saw it
    (NumPy, CuPy), else the newest state still held (the chunk's start under JAX, whose compiled
    loop keeps its input), else the anchor.
    """
    if isinstance(state, list):
        state = state.pop()
    run_steps, run_evaluate = _compiled_functions(backend, op, params)
    run_evaluate = compile_ahead(backend, run_evaluate, op.params, data, state)  # while the first chunk compiles
    progress = _Progress(verbose)
    s = alg.STAT
    iterations = 0
    status = None
    answer_state, ray_candidate = None, 0
    verify_failures = 0
    ray = None
    stepped = None
    fallback, holder = anchor_state(state), [state]
    try:
        while True:
            count = options.check_every
            if termination.iteration_limit is not None:
                count = min(count, termination.iteration_limit - iterations)
            fallback = anchor_state(state)
            holder, state = [state], None
            stepped = run_steps(op.params, data, holder, count) if count > 0 else holder[0]
            holder.clear()
            iterations += max(count, 0)
            new_state, stats = run_evaluate(op.params, data, stepped)
            stats = backend.to_host(stats)
            elapsed = time.perf_counter() - start
            if stats[s["finite"]] < 1:
                status, answer_state = Status.NUMERICAL_ERROR, fallback
                progress.line(iterations, stats, elapsed, "  non-finite values: stopping")
                break
            progress.line(iterations, stats, elapsed, "  restart" if stats[s["restarted"]] else "")
            found = verify(stepped, stats)
            if found is not None:
                status, ray, ray_candidate = found
                if status is None:
                    verify_failures += 1
                else:
                    answer_state = stepped
                    break
            if termination.iteration_limit is not None and iterations >= termination.iteration_limit:
                status, answer_state = Status.ITERATION_LIMIT, stepped
                break
            if termination.time_limit is not None and elapsed >= termination.time_limit:
                status, answer_state = Status.TIME_LIMIT, stepped
                break
            state = new_state
            stepped = new_state = None  # the next chunk holds only its starting state
    except KeyboardInterrupt as interrupt:
        status = Status.INTERRUPTED
        answer_state = getattr(interrupt, "state", None)  # the last completed step (host loops)
        if answer_state is None:  # else the newest state still at hand: chunk start, stepped, anchor
            answer_state = holder[0] if holder else stepped if stepped is not None else fallback
        iterations = int(backend.to_host(answer_state.n))
    return LoopOutcome(status, answer_state, ray, ray_candidate, iterations, verify_failures)


def anchor_state(state: alg.PDHGState) -> alg.PDHGState:
    """``state`` moved to its epoch's anchor (x, y, A x = x0, y0, A x0): the same arrays, no copy."""
    return state._replace(x=state.x0, y=state.y0, ax=state.ax0)


def _answer(backend, points: _PointFunctions, op, data, state):
    """(x, y, a, b): the unscaled answer is (x / a, y / b) once on the host. (x, y) is T(state)
    on the device with a = b = 1, or, where T(state) is not finite, the unscaled iterate itself
    (an operator that went wrong must not turn the last finite iterate into NaN), a = theta_b,
    b = theta_c. Device arrays, so that the caller can free the solver's vectors before the
    float64 host copies exist."""
    try:
        x, y, finite = points.answer(op.params, data, state)
        finite = bool(backend.to_host(finite))
    except KeyboardInterrupt:
        finite = False
    if finite:
        return x, y, 1.0, 1.0
    return data.d2 * state.x, data.d1 * state.y, data.theta_b, data.theta_c


def _unscaled_host(v: np.ndarray, divisor: float) -> np.ndarray:
    """``v / divisor`` in place (``v`` is a host copy nothing else holds)."""
    if divisor != 1.0:
        v /= divisor
    return v


def claims(stats, termination: Termination) -> tuple[bool, bool, bool]:
    """(optimal, primal infeasible, dual infeasible) as the device statistics claim them."""
    s = alg.STAT
    eps, eps_inf = termination.eps, termination.eps_infeasible
    claims_optimal = max(stats[s["rel_primal"]], stats[s["rel_dual"]], stats[s["rel_gap"]]) <= eps
    claims_primal_infeasible = (stats[s["dual_ray_objective"]] > 0
                                and stats[s["dual_ray_infeasibility"]] <= eps_inf * stats[s["dual_ray_objective"]])
    claims_dual_infeasible = (stats[s["primal_ray_objective"]] > 0
                              and stats[s["primal_ray_infeasibility"]] <= eps_inf * stats[s["primal_ray_objective"]])
    return claims_optimal, claims_primal_infeasible, claims_dual_infeasible


def _verified_outcome(lp, placement, points: _PointFunctions, op, data, state, stats, termination):
    """(status, ray, candidate) when the loop's stats claim an outcome; status None if the host
    check in float64 rejects the claim; None when nothing is claimed."""
    eps, eps_inf = termination.eps, termination.eps_infeasible
    claims_optimal, claims_primal_infeasible, claims_dual_infeasible = claims(stats, termination)
    if not (claims_optimal or claims_primal_infeasible or claims_dual_infeasible):
        return None
    candidate_id = int(stats[alg.STAT["ray_candidate"]])
    if claims_optimal:
        # (x, y) alone, each on the host before the check, and no reduced-cost vector kept: this
        # check runs while the solver's own vectors are alive, so it sets a large solve's peak
        x_dev, y_dev = points.point(op.params, data, state)
        y = placement.rows_to_host(y_dev)
        x = placement.columns_to_host(x_dev, keep_dtype=True)  # float32 stays float32 (NumPy)
        del x_dev, y_dev
        pages.return_free_pages()  # the evaluation's freed temporaries, before the check makes its own
        optimal = kkt.kkt_report(lp, x, y, keep_reduced_costs=False).is_optimal(eps)
        del x, y
        if optimal:
            return Status.OPTIMAL, None, candidate_id
    if not (claims_primal_infeasible or claims_dual_infeasible):
        return None, None, candidate_id
    x_ray_dev, y_ray_dev = points.rays(candidate_id)(op.params, data, state)
    if claims_primal_infeasible:
        y_ray = placement.rows_to_host(y_ray_dev)
        if kkt.dual_ray_report(lp, y_ray).is_certificate(eps_inf):
            return Status.PRIMAL_INFEASIBLE, y_ray, candidate_id
    if claims_dual_infeasible:
        x_ray = placement.columns_to_host(x_ray_dev)
        if kkt.primal_ray_report(lp, x_ray).is_certificate(eps_inf):
            return Status.DUAL_INFEASIBLE, x_ray, candidate_id
    return None, None, candidate_id
