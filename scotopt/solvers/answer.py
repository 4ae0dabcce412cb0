"""What every solver does at the two ends of a solve: read a warm start, and turn its final
(x, y) and status into a :class:`~scotopt.Result` measured on the original problem."""

from __future__ import annotations

import numpy as np

from scotopt.problem import LP
from scotopt.result import Result
from scotopt.solvers import kkt
from scotopt.status import InvalidProblemError, Status


def warm_start_vectors(problem: LP, warm_start) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) in the original coordinates from ``warm_start`` = (x, y) (either may be None), or zeros."""
    m, n = problem.shape
    if warm_start is None:
        return np.zeros(n), np.zeros(m)
    try:
        x_ws, y_ws = warm_start
    except (TypeError, ValueError) as exc:
        raise InvalidProblemError("warm_start must be a pair (x, y) of arrays (y may be None)") from exc
    x = np.zeros(n) if x_ws is None else np.asarray(x_ws, dtype=np.float64).reshape(-1)
    y = np.zeros(m) if y_ws is None else np.asarray(y_ws, dtype=np.float64).reshape(-1)
    if x.shape != (n,) or y.shape != (m,):
        raise InvalidProblemError(f"warm_start shapes must be ({n},) and ({m},), got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InvalidProblemError("warm_start contains NaN or inf")
    return x, y


def measured_result(problem: LP, x, y, status: Status, ray=None, **fields) -> Result:
    """A Result for (x, y) with the KKT measures of ``problem`` (float64, original problem).

    For PRIMAL_INFEASIBLE ``ray`` replaces y (a Farkas ray) and the reduced costs are its bound
    part; for DUAL_INFEASIBLE it replaces x. ``fields`` are the remaining Result fields
    (iterations, times, backend, ...).
    """
    if status == Status.PRIMAL_INFEASIBLE:
        y = ray
    elif status == Status.DUAL_INFEASIBLE:
        x = ray
    report = kkt.kkt_report(problem, x, y)
    reduced_costs = report.reduced_costs
    if status == Status.PRIMAL_INFEASIBLE:
        reduced_costs = kkt.project_reduced_costs(problem, -problem.rmatvec(kkt.project_row_duals(problem, y)))
    return Result(
        x=x, y=y, reduced_costs=reduced_costs, status=status,
        primal_objective=report.primal_objective, dual_objective=report.dual_objective,
        rel_primal=report.rel_primal, rel_dual=report.rel_dual, rel_gap=report.rel_gap,
        max_primal_violation=report.max_primal_violation, max_dual_violation=report.max_dual_violation,
        **fields,
    )
