"""Lagrangian relaxation: maximise the dual function of relaxed coupling rows with a batched oracle.

For ``min f(x) s.t. G x (sense) h, x in X`` with the rows ``G x (sense) h`` relaxed, the dual
function is ``L(lam) = min_{x in X} f(x) + lam'(G x - h)`` with lam >= 0 on '<=' rows, lam <= 0 on
'>=' rows and free on '=' rows. It is concave, every value is a lower bound on the optimum, and
``g = G x(lam) - h`` is a supergradient. The user supplies the oracle
``oracle(lam) -> (x, L(lam), g)``, typically many independent subproblems solved in one batched
call (plain array code on NumPy / CuPy, jit/vmap-able on JAX).

Multiplier rules (``method``):

- ``"polyak"``: the Held-Karp / Polyak step lam+ = proj(lam + theta (UB - L(lam)) / ||g||^2 g)
  (Held, Wolfe & Crowder 1974), theta halved after ``stall_halving`` steps without a new best
  bound; UB is the best upper bound (from the heuristic, or ``upper_bound``), else an
  estimate 5% above the best bound.
- ``"volume"``: the volume algorithm (Barahona & Anbil 2000): the direction is the convex
  combination v = a g + (1 - a) v_prev, a in (0, alpha_max] minimising ||v||, the step is taken
  from the best multipliers so far; a step that improves the bound is "green" (v'g >= 0:
  theta *= 1.1) or "yellow" (theta kept), one that does not is "red" (after ``red_limit`` of
  them theta *= 0.66); primal x is averaged with the same a. The step is theta (T - L_best) /
  ||v||^2 with the target T = max(UB, L_best + ``volume_target`` max(1, |L_best|)): a target
  well above the bound, not the UB itself. With T = UB the step shrinks with the gap UB - L_best,
  faster than theta (at most 2) can make up for: on CommaLAB planar1000 (400 iterations, no
  master) the bound ended 3.2e-3 below the optimum with T = UB 5e-4 above it, 2.0e-3 with UB 5e-3
  above, 1.4e-3 with T 1 % above the bound, 3.2e-4 with 5 % and 2.5e-4 with 20 %
  (bench/README.md, issue 6).
- an optax ``GradientTransformation``: applied to -g (the gradient of -L), then projected.

Primal recovery: the ergodic average of the oracle's x (weights = the step sizes for Polyak and
optax, Larsson, Patriksson & Stromberg 1999; the volume algorithm's own average), with the
infeasibility of the averaged point in the relaxed rows tracked. A ``heuristic(lam, x, x_avg)
-> (x_feasible, cost) | None`` turns points into feasible solutions (upper bounds); it may return
``(x_feasible or None, cost, multipliers)``, and the oracle's value at those multipliers (for
example an LP's duals) then counts as a bound like any other iterate's.

Stops on relative gap (UB - LB) / max(1, |UB|) <= ``gap_tolerance`` (status OPTIMAL: the bound
is exact and the UB comes from a feasible point), on a stall of the bound, or on iteration / time
limits; Ctrl-C returns the best so far (INTERRUPTED).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from scotopt.status import InvalidOptionError, InvalidProblemError, Status

__all__ = ["LagrangianOptions", "LagrangianResult", "solve_lagrangian", "SENSES"]

SENSES = ("<=", ">=", "=")


@dataclasses.dataclass(frozen=True)
class LagrangianOptions:
    """Constants of the multiplier rules and the stopping tests."""

    gap_tolerance: float = 1e-4
    max_iterations: int = 10_000
    time_limit: float | None = None
    stall_iterations: int = 2_000     # stop when the best bound has not improved for this long
    stall_improvement: float = 1e-9   # relative improvement that counts
    theta: float = 2.0                # initial Polyak / volume step factor
    theta_min: float = 1e-8
    stall_halving: int = 30           # Polyak: halve theta after this many non-improving steps
    alpha_max: float = 0.1            # volume: largest weight of the new subgradient
    volume_target: float = 0.1        # volume: the step aims this far (relative) above the best bound
    red_limit: int = 20               # volume: red steps before theta shrinks
    print_every: int = 100

    def __post_init__(self):
        if not (self.gap_tolerance >= 0 and math.isfinite(self.gap_tolerance)):
            raise InvalidOptionError(f"gap_tolerance must be >= 0, got {self.gap_tolerance!r}")
        for name in ("max_iterations", "stall_iterations", "stall_halving", "red_limit", "print_every"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise InvalidOptionError(f"{name} must be a positive integer, got {value!r}")
        if not 0 < self.alpha_max <= 1:
            raise InvalidOptionError(f"alpha_max must be in (0, 1], got {self.alpha_max!r}")
        if not (self.volume_target > 0 and math.isfinite(self.volume_target)):
            raise InvalidOptionError(f"volume_target must be positive, got {self.volume_target!r}")
        if not (self.theta > 0 and self.theta_min > 0):
            raise InvalidOptionError("theta and theta_min must be positive")


@dataclasses.dataclass
class LagrangianResult:
    """Bounds, multipliers and recovered primal points of a Lagrangian solve (host arrays)."""

    status: Status
    lower_bound: float          # best L(lam) seen: a valid bound on the optimum
    upper_bound: float          # best heuristic cost (inf if none)
    multipliers: np.ndarray     # the multipliers that gave lower_bound
    x_average: Any              # the recovered (averaged) primal point
    x_best_feasible: Any        # the heuristic's best feasible point (None if none)
    average_infeasibility: float  # max violation of the relaxed rows at x_average
    iterations: int
    solve_time: float
    method: str
    history: list = dataclasses.field(default_factory=list)  # (iteration, L, best LB, UB, seconds) per print

    @property
    def gap(self) -> float:
        if not math.isfinite(self.upper_bound):
            return math.inf
        return (self.upper_bound - self.lower_bound) / max(1.0, abs(self.upper_bound))

    @property
    def success(self) -> bool:
        return self.status == Status.OPTIMAL


def _namespace(array):
    module = type(array).__module__
    if module.startswith(("jax", "jaxlib")):
        import jax.numpy as jnp

        return jnp
    if module.startswith("cupy"):
        import cupy

        return cupy
    return np


def _senses(sense, rows: int) -> np.ndarray:
    codes = np.array([sense] * rows if isinstance(sense, str) else list(sense), dtype=object)
    if codes.shape != (rows,):
        raise InvalidProblemError(f"sense must be one string or {rows} of them, got {len(codes)}")
    bad = [s for s in codes if s not in SENSES]
    if bad:
        raise InvalidProblemError(f"unknown sense {bad[0]!r}; use one of {SENSES}")
    return codes


def _to_host(value) -> np.ndarray:
    return np.asarray(value.get() if hasattr(value, "get") and not isinstance(value, np.ndarray) else value,
                      dtype=np.float64)


def solve_lagrangian(oracle: Callable, sense, rows: int, multipliers=None, method="volume",
                     heuristic: Callable | None = None, upper_bound: float | None = None,
                     options: LagrangianOptions | None = None, verbose: bool = False) -> LagrangianResult:
    """Maximise the Lagrangian dual; see the module docstring.

    Parameters
    ----------
    oracle : callable
        ``oracle(lam) -> (x, value, subgradient)``; ``lam``, ``subgradient`` arrays of length
        ``rows`` (NumPy, JAX or CuPy: the driver works in the namespace of ``multipliers``).
    sense : str or sequence of str
        '<=', '>=' or '=' per relaxed row (one string for all).
    rows : int
        Number of relaxed rows.
    multipliers : array, optional
        Starting multipliers (projected onto their signs); zeros by default.
    method : "polyak", "volume" or an optax GradientTransformation
    heuristic : callable, optional
        ``heuristic(lam, x, x_average) -> (x_feasible, cost)`` or None; called every iteration. A third
        entry, multipliers or None, is evaluated by the oracle and kept if its bound is the best
        (``x_feasible`` may then be None with cost inf).
    upper_bound : float, optional
        A known upper bound (a feasible cost) used by the Polyak step and the gap.
    """
    options = options or LagrangianOptions()
    codes = _senses(sense, rows)
    lam = np.zeros(rows) if multipliers is None else multipliers
    xp = _namespace(lam)
    lam = xp.asarray(lam, dtype=xp.float64 if xp is np else None)
    if lam.shape != (rows,):
        raise InvalidProblemError(f"multipliers must have shape ({rows},), got {lam.shape}")
    nonneg = xp.asarray(codes == "<=")
    nonpos = xp.asarray(codes == ">=")

    def project(v):
        v = xp.where(nonneg & (v < 0), 0.0, v)
        return xp.where(nonpos & (v > 0), 0.0, v)

    def violation(g):
        g = xp.where(nonneg, xp.maximum(g, 0.0), xp.where(nonpos, xp.minimum(g, 0.0), g))
        return float(xp.max(xp.abs(g))) if rows else 0.0

    if isinstance(method, str):
        if method not in ("polyak", "volume"):
            raise InvalidOptionError(f"method must be 'polyak', 'volume' or an optax GradientTransformation, "
                                     f"got {method!r}")
        method_name = method
    elif hasattr(method, "init") and hasattr(method, "update"):
        method_name = "optax"
    else:
        raise InvalidOptionError(f"method must be 'polyak', 'volume' or an optax GradientTransformation, "
                                 f"got {method!r}")

    started = time.perf_counter()
    lam = project(lam)
    x, value, g = oracle(lam)
    value = float(value)
    best_lb, best_lam = value, lam
    ub = math.inf if upper_bound is None else float(upper_bound)
    best_x = None
    x_avg, weight_sum = x, 0.0
    direction = g
    theta = options.theta
    no_improve = reds = 0
    last_improvement_at = 0
    status = None
    history = []
    optax_state = method.init(lam) if method_name == "optax" else None

    def try_heuristic(lam_now, x_now):
        nonlocal ub, best_x, best_lb, best_lam, last_improvement_at
        if heuristic is None:
            return
        found = heuristic(lam_now, x_now, x_avg)
        if found is None:
            return
        candidate, cost = found[0], found[1]
        if candidate is not None and cost < ub:
            ub, best_x = float(cost), candidate
        hint = found[2] if len(found) > 2 else None
        if hint is not None:  # multipliers proposed by the heuristic (e.g. an LP's duals): the oracle judges them
            hint = project(xp.asarray(hint))
            hint_value = float(oracle(hint)[1])
            if hint_value > best_lb:
                if hint_value > best_lb + options.stall_improvement * max(1.0, abs(best_lb)):
                    last_improvement_at = iteration
                best_lb, best_lam = hint_value, hint

    def log(iteration, current):
        history.append((iteration, current, best_lb, ub, time.perf_counter() - started))
        if verbose:
            gap = (ub - best_lb) / max(1.0, abs(ub)) if math.isfinite(ub) else math.inf
            print(f"{iteration:>7d} L {current:>15.8e} best {best_lb:>15.8e} UB {ub:>15.8e} gap {gap:>9.2e} "
                  f"theta {theta:>8.2e} {time.perf_counter() - started:>7.2f}s", file=sys.stdout, flush=True)

    if verbose:
        print(f"{'iter':>7} {'':2}{'L(lam)':>15} {'':5}{'best bound':>15} {'':3}{'upper bound':>15} {'':4}{'gap':>9} "
              f"{'':6}{'step':>8} {'time':>8}", flush=True)
    iteration = completed = 0  # completed: multiplier updates done (the count reported)
    try:
        try_heuristic(lam, x)
        while True:
            iteration += 1
            gap = (ub - best_lb) / max(1.0, abs(ub)) if math.isfinite(ub) else math.inf
            if gap <= options.gap_tolerance:
                status = Status.OPTIMAL
                break
            if iteration > options.max_iterations:
                status = Status.ITERATION_LIMIT
                break
            if options.time_limit is not None and time.perf_counter() - started >= options.time_limit:
                status = Status.TIME_LIMIT
                break
            if iteration - last_improvement_at > options.stall_iterations:
                status = Status.ITERATION_LIMIT  # stalled: no better bound for stall_iterations
                break
            if method_name == "polyak":
                target = ub if math.isfinite(ub) else best_lb + 0.05 * max(1.0, abs(best_lb))
                norm2 = float(xp.sum(g * g))
                if norm2 == 0:  # x(lam) satisfies the relaxed rows with complementarity: lam is optimal
                    best_lb, best_lam = max(best_lb, value), lam
                    status = _zero_step_status(ub, best_lb)
                    break
                step = theta * max(target - value, 0.0) / norm2
                lam = project(lam + step * g)
                weight = step
            elif method_name == "volume":
                # The averaged direction shrinks towards 0 near the optimum (the averaged primal
                # becomes feasible); at most 10 Polyak steps' length keeps lam from flying off.
                norm2 = max(float(xp.sum(direction * direction)), 1e-2 * float(xp.sum(g * g)))
                if norm2 == 0:
                    status = _zero_step_status(ub, best_lb)
                    break
                aim = best_lb + options.volume_target * max(1.0, abs(best_lb))
                if math.isfinite(ub):
                    aim = max(aim, ub)
                step = theta * (aim - best_lb) / norm2
                lam = project(best_lam + step * direction)
                weight = None
            else:
                updates, optax_state = method.update(-g, optax_state, lam)
                lam = project(lam + updates)
                weight = 1.0
            x, value, g_new = oracle(lam)
            value = float(value)
            if method_name == "volume":
                # a = argmin ||a g_new + (1 - a) direction|| over [alpha_max / 10, alpha_max]
                diff = g_new - direction
                denom = float(xp.sum(diff * diff))
                a = options.alpha_max if denom == 0 else -float(xp.sum(direction * diff)) / denom
                a = min(max(a, options.alpha_max / 10), options.alpha_max)
                improved = value > best_lb
                if improved:
                    if float(xp.sum(g_new * direction)) >= 0:
                        theta = min(theta * 1.1, 2.0)  # green
                    reds = 0
                else:
                    reds += 1
                    if reds >= options.red_limit:
                        theta, reds = max(theta * 0.66, options.theta_min), 0
                direction = a * g_new + (1 - a) * direction
                x_avg = a * x + (1 - a) * x_avg if iteration > 1 else x
            else:
                x_avg = (weight_sum * x_avg + weight * x) / (weight_sum + weight) if weight_sum + weight > 0 else x
                weight_sum += weight
            g = g_new
            if value > best_lb + options.stall_improvement * max(1.0, abs(best_lb)):
                last_improvement_at = iteration
            if value > best_lb:
                best_lb, best_lam = value, lam
                no_improve = 0
            else:
                no_improve += 1
                if method_name == "polyak" and no_improve >= options.stall_halving:
                    theta, no_improve = max(theta / 2, options.theta_min), 0
            try_heuristic(lam, x)
            completed = iteration
            if iteration % options.print_every == 0:
                log(iteration, value)
    except KeyboardInterrupt:
        status = Status.INTERRUPTED
    log(completed, value)
    return LagrangianResult(
        status=status, lower_bound=best_lb, upper_bound=ub, multipliers=_to_host(best_lam), x_average=x_avg,
        x_best_feasible=best_x, average_infeasibility=violation(_average_subgradient(oracle, x_avg, g)),
        iterations=completed, solve_time=time.perf_counter() - started, method=method_name, history=history,
    )


def _zero_step_status(ub: float, best_lb: float) -> Status:
    """Status when the step direction vanished: OPTIMAL only if a feasible UB meets the bound."""
    return Status.OPTIMAL if math.isfinite(ub) and ub - best_lb <= 1e-12 * max(1, abs(ub)) else Status.ITERATION_LIMIT


def _average_subgradient(oracle, x_avg, g_last):
    """G x_avg - h when the oracle exposes ``residual(x)``; the last subgradient otherwise."""
    residual = getattr(oracle, "residual", None)
    return residual(x_avg) if residual is not None else g_last
