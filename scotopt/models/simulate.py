"""Out-of-sample evaluation of an inventory plan: fixed orders, fresh demand scenarios.

Given the plan ``q[t, l, p]`` of a :class:`~scotopt.models.inventory.MultiEchelonInventory`, the
net inventory of every scenario follows the balance rows of the model, period by period::

    net_st = I_s,t-1 - beta B_s,t-1 + pipe_t + Arr_t - Dep_t - d_st      (I_s,-1 = I0, B_s,-1 = 0)
    E_st   = max(-net_st, 0) where the recourse expedites, else 0
    I_st   = max(net_st + E_st, 0),    B_st = max(-(net_st + E_st), 0)

(``beta = 1`` with backorders, 0 with lost sales). This is a policy, not the LP's optimal
recourse: expediting covers every shortfall at (node, product, period) cells where it is allowed
and, with ``expedite="auto"``, cheaper than one period of backorder. Without expediting and with
slack capacities it is the LP's recourse exactly (costs are positive, so the LP too sets
``I = net^+``, ``B = net^-``), so the in-sample simulated cost equals the LP objective: that is
how the tests check it.

The loop runs over periods only; every operation is vectorised over scenarios, nodes and
products on the chosen backend (NumPy, JAX or CuPy arrays).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from scotopt.kernels import get_backend, resolve_backend
from scotopt.kernels.inventory import InventoryOperator
from scotopt.models.inventory import InventorySolution, MultiEchelonInventory, fill_rate
from scotopt.status import InvalidOptionError, InvalidProblemError

__all__ = ["simulate", "SimulationReport", "plan_flow"]


@dataclasses.dataclass
class SimulationReport:
    """Expected outcomes of a plan over the simulated scenarios (host NumPy)."""

    expected_cost: float
    cost: dict  # ordering, holding, backorder, expediting, total
    cost_std: float  # standard deviation of the per-scenario cost
    scenario_cost: np.ndarray  # (S,)
    fill_rate: np.ndarray  # (N, P), NaN without demand
    mean_inventory: np.ndarray  # (T, N, P)
    mean_backorders: np.ndarray  # (T, N, P)
    storage_overflow: float  # largest excess of stored volume over capacity (0 if none)
    overflow_frequency: float  # fraction of (scenario, period, node) cells over capacity
    upstream_shortfall: float  # expected units shipped from nodes without demand that had no stock
    backend: str


def plan_flow(model: MultiEchelonInventory, orders) -> np.ndarray:
    """(T, N, P) net inflow of the plan: arrivals minus consumption (``Arr - Dep``), computed by the
    model's own constraint operator."""
    return -InventoryOperator(model.structure).lane_flow(orders)


def simulate(model: MultiEchelonInventory, plan, demand, probabilities=None, backend: str = "numpy",
             expedite="auto") -> SimulationReport:
    """Evaluate ``plan`` (an :class:`InventorySolution` or orders (T, L, P)) on ``demand``
    (S', T, N, P scenarios, any S'); see the module docstring for the policy.

    expedite : "auto", True or False
        "auto": expedite where allowed and cheaper than one period of backorder; True: wherever
        allowed; False: never.
    """
    orders = plan.orders if isinstance(plan, InventorySolution) else plan
    S, T, N, P, L = model.shape
    orders = np.asarray(orders, dtype=np.float64)
    if orders.shape != (T, L, P):
        raise InvalidProblemError(f"orders must have shape (periods, lanes, products) = {(T, L, P)}, "
                                  f"got {orders.shape}")
    demand = np.asarray(demand, dtype=np.float64)
    if demand.ndim != 4 or demand.shape[1:] != (T, N, P):
        raise InvalidProblemError(f"demand must have shape (scenarios, {T}, {N}, {P}), got {demand.shape}")
    if not np.isfinite(demand).all() or (demand < 0).any():
        raise InvalidProblemError("demand must be finite and nonnegative")
    n_s = demand.shape[0]
    if probabilities is None:
        probabilities = np.full(n_s, 1.0 / n_s)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.shape != (n_s,) or abs(probabilities.sum() - 1) > 1e-9 or (probabilities < 0).any():
        raise InvalidProblemError("probabilities must be nonnegative, one per scenario, summing to 1")
    if expedite not in ("auto", True, False):
        raise InvalidOptionError(f"expedite must be 'auto', True or False, got {expedite!r}")

    name = resolve_backend(backend)
    be = get_backend(name)
    with be.precision(np.float64):
        return _run(model, orders, demand, probabilities, be, expedite)


def _expedite_mask(model, expedite) -> np.ndarray:
    """(T, N, P) cells where the policy expedites."""
    if model.expedite_cost is None or expedite is False:
        return np.zeros(model.holding_cost.shape, dtype=bool)
    allowed = np.isfinite(model.expedite_cost)
    if expedite == "auto":
        allowed &= model.expedite_cost < model.backorder_cost
    return allowed


def _run(model, orders, demand, probabilities, be, expedite) -> SimulationReport:
    xp = be.xp
    S, T, N, P, L = model.shape
    dtype = np.float64
    inflow = be.asarray(plan_flow(model, orders) + model.in_transit, dtype)  # (T, N, P)
    d = be.asarray(demand, dtype)
    expedite_at = be.asarray(_expedite_mask(model, expedite).astype(np.float64), dtype)
    has_demand = be.asarray(model._backorder_allowed().astype(np.float64), dtype)
    beta = 0.0 if model.lost_sales else 1.0
    inv = xp.broadcast_to(be.asarray(model.initial_inventory, dtype), (d.shape[0], N, P))
    back = xp.zeros_like(inv)
    inventory, backorders, expedited = [], [], []
    for t in range(T):  # periods only; each step is vectorised over (scenario, node, product)
        net = inv - beta * back + inflow[t] - d[:, t]
        exp_t = xp.maximum(-net, 0.0) * expedite_at[t]
        net = net + exp_t
        inv, back = xp.maximum(net, 0.0), xp.maximum(-net, 0.0)
        inventory.append(inv)
        backorders.append(back)
        expedited.append(exp_t)
    inventory, backorders, expedited = (xp.stack(v, axis=1) for v in (inventory, backorders, expedited))
    pi = be.asarray(probabilities, dtype)
    w = pi[:, None, None, None]
    holding = xp.sum(be.asarray(model.holding_cost, dtype) * inventory, axis=(1, 2, 3))
    backorder = xp.sum(be.asarray(model.backorder_cost, dtype) * backorders, axis=(1, 2, 3))
    expediting = xp.sum(be.asarray(model.expedite_unit_cost(), dtype) * expedited, axis=(1, 2, 3))
    ordering = float(np.sum(model.lane_cost * orders))
    per_scenario = holding + backorder + expediting + ordering
    expected = float(be.to_host(xp.sum(pi * per_scenario)))
    variance = float(be.to_host(xp.sum(pi * (per_scenario - expected) ** 2)))
    overflow, frequency = 0.0, 0.0
    if model.storage_capacity is not None:
        stored = xp.sum(inventory * be.asarray(model.volume, dtype), axis=-1)  # (S, T, N)
        excess = xp.maximum(stored - be.asarray(np.where(np.isfinite(model.storage_capacity),
                                                          model.storage_capacity, np.inf), dtype), 0.0)
        overflow = float(be.to_host(xp.max(excess)))
        frequency = float(be.to_host(xp.mean((excess > 1e-9 * (1.0 + stored)).astype(dtype))))
    upstream = float(be.to_host(xp.sum(w * backorders * (1.0 - has_demand))))
    cost = {
        "ordering": ordering,
        "holding": float(be.to_host(xp.sum(pi * holding))),
        "backorder": float(be.to_host(xp.sum(pi * backorder))),
        "expediting": float(be.to_host(xp.sum(pi * expediting))),
    }
    cost["total"] = expected
    return SimulationReport(
        expected_cost=expected, cost=cost, cost_std=float(np.sqrt(max(variance, 0.0))),
        scenario_cost=be.to_host(per_scenario),
        fill_rate=be.to_host(fill_rate(d, backorders, pi, xp)),
        mean_inventory=be.to_host(xp.sum(w * inventory, axis=0)),
        mean_backorders=be.to_host(xp.sum(w * backorders, axis=0)),
        storage_overflow=overflow, overflow_frequency=frequency, upstream_shortfall=upstream, backend=be.name,
    )
