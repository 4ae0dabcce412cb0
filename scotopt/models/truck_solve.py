"""Truck loading end to end: bounds from the LP and Lagrangian relaxations, a plan, its gap.

Steps (each optional, each timed in ``plan.bounds`` / ``plan.timings``):

1. a plan from costs alone (:func:`~scotopt.models.truck_plan.build_plan` with no point, both
   constructions): the first upper bound;
2. the LP relaxation by PDHG (:meth:`TruckLoading.lp_bound`): a lower bound valid at any
   accuracy, and a fractional point to round;
3. the Lagrangian bound (:class:`~scotopt.models.truck_lagrangian.TruckLagrangian`), warm
   started from the LP's assignment duals when there are some (u = -y: the driver's sign
   convention is ``f + u'(G x - h)``, scotopt's LP duals enter as ``c - A'y``), with the best plan
   cost as the Polyak / volume target (step factor theta = 0.5, see ``DEFAULT_LAGRANGIAN``);
4. plans from the LP point and the Lagrangian average; the cheapest is returned with
   ``lower_bound`` = the best of the bounds.
"""

from __future__ import annotations

import time

import numpy as np

from scotopt.models.truck import TruckLoading
from scotopt.models.truck_lagrangian import TruckLagrangian
from scotopt.models.truck_plan import TruckPlan, build_plan
from scotopt.solvers.lagrangian import LagrangianOptions

__all__ = ["solve_truck_loading", "DEFAULT_LAGRANGIAN"]

# theta 0.5 rather than the driver's 2.0: with the plan's cost as the target, the volume
# algorithm's first steps overshoot at 2.0 (10^5 shipments, 40 iterations: bound 8.34e6 at
# 0.5 vs 6.97e6 at 2.0, LP bound 8.85e6)
DEFAULT_LAGRANGIAN = LagrangianOptions(max_iterations=500, theta=0.5)


def solve_truck_loading(model: TruckLoading, lp: bool = True, lagrangian: bool = True, lp_eps: float = 1e-4,
                        lp_time_limit: float | None = None, lagrangian_options: LagrangianOptions | None = None,
                        surrogate=(0.0, 0.5, 1.0), plan_seconds: float | None = 60.0, verbose: bool = False,
                        **lp_options) -> TruckPlan:
    """Bounds and a feasible plan.

    ``plan.bounds`` holds every bound computed, ``plan.timings`` the seconds of each step,
    ``plan.info`` the statuses and iteration counts of the bounds. ``plan_seconds``: time budget
    of the plans' local search, split between the plans built. ``lp_options`` go to
    :func:`scotopt.solve` (``backend``, ``dtype``, ``iteration_limit``, ...)."""
    plans = 1 + int(lp) + int(lagrangian)
    budget = None if plan_seconds is None else plan_seconds / plans
    timings, bounds, candidates, info = {}, {}, [], {}

    def timed(name, fn, *args, **kwargs):
        started = time.perf_counter()
        value = fn(*args, **kwargs)
        timings[name] = time.perf_counter() - started
        return value

    candidates.append(timed("plan_from_costs", build_plan, model, time_budget=budget))
    multipliers = None
    if lp:
        bound, result = timed("lp_pdhg", model.lp_bound, eps=lp_eps, time_limit=lp_time_limit, verbose=verbose,
                              **lp_options)
        bounds["lp"] = bound
        info.update(lp_status=result.status.name, lp_iterations=result.iterations)
        candidates.append(timed("plan_from_lp", build_plan, model, result.x, time_budget=budget,
                                constructions=("preference",)))
        multipliers = -np.asarray(result.y[:model.num_shipments], dtype=np.float64)
    if lagrangian:
        upper = min(p.total_cost for p in candidates)
        result = timed("lagrangian", TruckLagrangian(model, surrogate).solve, multipliers=multipliers,
                       upper_bound=upper, options=lagrangian_options or DEFAULT_LAGRANGIAN,
                       verbose=verbose)
        bounds["lagrangian"] = result.lower_bound
        info.update(lagrangian_status=result.status.name, lagrangian_iterations=result.iterations)
        candidates.append(timed("plan_from_lagrangian", build_plan, model, result.x_average, time_budget=budget,
                                constructions=("preference",)))
    best = min(candidates, key=lambda p: p.total_cost)
    return best.with_bounds(bounds, timings, info)
