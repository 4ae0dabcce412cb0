"""Independent feasibility check of a truck load plan, from the raw shipment and departure data.

It uses none of the model's derived data (candidate set, shares, LP): only the input tables
stored on :class:`~scotopt.models.truck.TruckLoading` and the plan's (shipment, departure,
truck) triples. Checked, with a relative tolerance ``tol`` on capacities:

- every shipment id 0..n-1 appears exactly once, on a truck or on fallback;
- a truck is a (departure, number) with 0 <= number < M_d;
- lanes agree, ``release <= departure time`` and ``departure time + transit <= due``;
- per truck, the total weight <= W_d (1 + tol) and the total volume <= V_d (1 + tol).

The cost is recomputed from scratch: fixed cost per distinct truck used, a_d w_i per shipment
carried, fallback cost per shipment on fallback.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["PlanCheck", "check_plan"]


@dataclasses.dataclass
class PlanCheck:
    feasible: bool
    violations: list
    cost: float


def check_plan(model, shipment, departure, truck, fallback, tol: float = 1e-9) -> PlanCheck:
    """Check the plan that carries ``shipment[j]`` on truck ``truck[j]`` of ``departure[j]`` and
    sends the ids in ``fallback`` by fallback. Returns :class:`PlanCheck` (violations as text)."""
    n, D = model.weight.size, model.fixed_cost.size
    shipment = np.asarray(shipment, dtype=np.int64).reshape(-1)
    departure = np.asarray(departure, dtype=np.int64).reshape(-1)
    truck = np.asarray(truck, dtype=np.int64).reshape(-1)
    fallback = np.asarray(fallback, dtype=np.int64).reshape(-1)
    problems = []
    if not (shipment.size == departure.size == truck.size):
        return PlanCheck(False, ["shipment, departure and truck differ in length"], np.inf)
    everyone = np.concatenate([shipment, fallback])
    if np.any((everyone < 0) | (everyone >= n)):
        return PlanCheck(False, ["a shipment id is out of range"], np.inf)
    seen = np.bincount(everyone, minlength=n)
    if np.any(seen != 1):
        bad = int(np.flatnonzero(seen != 1)[0])
        problems.append(f"shipment {bad} appears {seen[bad]} times (must be exactly once)")
    if np.any((departure < 0) | (departure >= D)):
        return PlanCheck(False, problems + ["a departure id is out of range"], np.inf)
    if np.any((truck < 0) | (truck >= model.max_trucks[departure])):
        problems.append("a truck number is outside 0..max_trucks-1 of its departure")
    for name, bad in (
        ("lane differs from the departure's", model.lane[shipment] != model.departure_lane[departure]),
        ("departs before the shipment's release", model.departure_time[departure] < model.release[shipment]),
        ("arrives after the due time",
         model.departure_time[departure] + model.transit[departure] > model.due[shipment]),
    ):
        if bad.any():
            problems.append(f"shipment {int(shipment[np.flatnonzero(bad)[0]])}: {name}")
    keys, inverse = np.unique(np.stack([departure, truck]), axis=1, return_inverse=True)
    inverse = inverse.reshape(-1)
    truck_dep = keys[0]
    for name, amount, capacity in (("weight", model.weight, model.weight_capacity),
                                   ("volume", model.volume, model.volume_capacity)):
        load = np.bincount(inverse, amount[shipment], keys.shape[1])
        over = load > capacity[truck_dep] * (1 + tol)
        if over.any():
            j = int(np.flatnonzero(over)[0])
            problems.append(f"truck {int(keys[1, j])} of departure {int(truck_dep[j])}: {name} {load[j]:.6g} "
                            f"> capacity {capacity[truck_dep[j]]:.6g}")
    cost = (float(model.fixed_cost[truck_dep].sum()) + float(np.sum(model.cost_per_weight[departure]
                                                                     * model.weight[shipment]))
            + float(model.fallback_cost[fallback].sum()))
    return PlanCheck(not problems, problems, cost)


def check_truck_plan(model, plan, tol: float = 1e-9) -> PlanCheck:
    """:func:`check_plan` on a :class:`~scotopt.models.truck_plan.TruckPlan`."""
    served = np.flatnonzero(plan.departure >= 0)
    return check_plan(model, served, plan.departure[served], plan.truck[served], np.flatnonzero(plan.departure < 0),
                      tol)


__all__.append("check_truck_plan")
