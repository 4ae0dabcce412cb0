"""Turn an approximate (first-order) min-cost flow into an exactly feasible integral flow.

Method: round, then repair the node imbalances with maximum flows on the residual network.

1. Round: ``f = clip(round(x), lower, capacity)``; integral because the data are.
2. Imbalance ``e_v = supply_v - (outflow_v - inflow_v)``; sum_v e_v = 0.
3. Repair: a super-source S feeds every node with e_v > 0 (capacity e_v), every node with
   e_v < 0 drains into a super-sink T, and the residual network of f carries the rest
   (arc a gives t->h with capacity u_a - f_a and h->t with f_a - l_a). A maximum S-T flow of
   value sum e^+ (integral: Dinic on integer capacities, ``scipy.sparse.csgraph.maximum_flow``)
   moves exactly the missing units; adding it to f makes every node balance exact while bounds
   hold, because residual capacities are respected. If the value is smaller, no feasible
   flow exists within the bounds (max-flow min-cut), which we report.
4. Cost awareness: pushing one unit along a path P from s to t changes the cost by
   ``y_s - y_t + sum_{a in P} (+-) r_a`` for any potentials y (r the reduced costs); the first
   term does not depend on the route, so with potentials from the LP we first route over the
   residual arcs whose reduced cost is below one half (zero at an exact integral dual for
   integral costs), then over all arcs for what is left.

The result carries the flow's cost and its gap to a lower bound: the Lagrangian bound of the
LP's potentials (valid for any y), rounded up to an integer when the costs are integral.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import maximum_flow

from scotopt.status import InvalidProblemError


@dataclasses.dataclass
class IntegralFlow:
    """An exactly feasible integral flow and its quality.

    ``cost``: sum cost * flow; ``lower_bound``: valid bound on the optimal cost (-inf if none
    was available); ``gap``: (cost - lower_bound) / max(1, |lower_bound|); ``imbalance``: units
    the rounded flow left unbalanced (sum of positive excesses) before the repair;
    ``feasible``: False only if the bounds admit no flow (then ``flow`` is the best found).
    """

    flow: np.ndarray
    cost: float
    lower_bound: float
    gap: float
    imbalance: float
    feasible: bool


def _require_integral(name, values):
    finite = values[np.isfinite(values)]
    bad = finite != np.round(finite)
    if bad.any():
        raise InvalidProblemError(f"{name} must be integral for an integral flow; {name} has {finite[bad][0]}")


def _excess(model, f):
    V = model.num_nodes
    net = np.bincount(model.tail, f, V) - np.bincount(model.head, f, V)
    return np.round(model.supply - net)


def _augment(model, f, excess, admissible, big):
    """One max-flow repair over the residual arcs in ``admissible``; returns units moved."""
    V = model.num_nodes
    S, T = V, V + 1
    t, h = model.tail.astype(np.int64), model.head.astype(np.int64)
    up = np.where(np.isfinite(model.capacity), model.capacity, f + big)
    fwd_cap = np.minimum(up - f, big)
    bwd_cap = np.minimum(f - model.lower, big)
    fwd = admissible[0] & (fwd_cap > 0)
    bwd = admissible[1] & (bwd_cap > 0)
    arcs = np.concatenate([np.flatnonzero(fwd), np.flatnonzero(bwd)])
    sign = np.concatenate([np.ones(int(fwd.sum())), -np.ones(int(bwd.sum()))])
    src = np.concatenate([t[fwd], h[bwd]])
    dst = np.concatenate([h[fwd], t[bwd]])
    cap = np.concatenate([fwd_cap[fwd], bwd_cap[bwd]])
    pos, neg = np.flatnonzero(excess > 0), np.flatnonzero(excess < 0)
    rows = np.concatenate([src, np.full(pos.size, S), neg])
    cols = np.concatenate([dst, pos, np.full(neg.size, T)])
    caps = np.concatenate([cap, excess[pos], -excess[neg]])
    graph = sp.csr_array((caps.astype(np.int64), (rows, cols)), shape=(V + 2, V + 2))
    graph.sum_duplicates()
    graph.data = np.minimum(graph.data, np.iinfo(np.int32).max).astype(np.int32)
    result = maximum_flow(graph, S, T)
    value = int(result.flow_value)
    if value == 0:
        return 0
    # net flow on every ordered pair (i, j) > 0, spread over the residual edges i -> j in order
    F = sp.coo_array(result.flow)
    keep = F.data > 0
    n = V + 2
    keys = F.row[keep].astype(np.int64) * n + F.col[keep]
    vals = F.data[keep].astype(np.float64)
    order = np.argsort(keys)
    keys, vals = keys[order], vals[order]
    edge_keys = src * n + dst
    by_key = np.argsort(edge_keys, kind="stable")
    ek, ec = edge_keys[by_key], cap[by_key]
    at = np.searchsorted(keys, ek)
    found = (at < keys.size) & (keys[np.minimum(at, keys.size - 1)] == ek)
    phi = np.where(found, vals[np.minimum(at, max(keys.size - 1, 0))], 0.0)
    cum = np.cumsum(ec)
    first = np.ones(ek.size, dtype=bool)
    first[1:] = ek[1:] != ek[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(ek.size), 0))
    before = cum - ec - (cum[group_start] - ec[group_start])
    alloc = np.clip(phi - before, 0.0, ec)
    delta = np.zeros(f.shape[0])
    np.add.at(delta, arcs[by_key], sign[by_key] * alloc)
    f += delta
    return value


def require_integral_data(model) -> None:
    """Raise :class:`InvalidProblemError` unless ``model``'s supplies, lower bounds and finite
    capacities are integers (what :func:`integral_flow` needs; a caller can check before solving)."""
    for name in ("supply", "lower", "capacity"):
        _require_integral(name, getattr(model, name))


def integral_flow(model, flow, potentials=None):
    """Round ``flow`` and repair it into an exactly feasible integral flow of ``model``.

    ``model`` is a :class:`~scotopt.models.MinCostFlow` whose supplies, bounds and finite
    capacities are integers; ``potentials`` (the LP's node duals) make the repair cost-aware and
    give the lower bound. Returns :class:`IntegralFlow`.
    """
    require_integral_data(model)
    f = np.clip(np.round(np.asarray(flow, dtype=np.float64)), model.lower, model.capacity)
    excess = _excess(model, f)
    imbalance = float(excess[excess > 0].sum())
    big = float(max(imbalance, 1.0))
    if imbalance > 2**31 - 1:
        raise InvalidProblemError(f"imbalance {imbalance:g} after rounding exceeds int32; solve more accurately")
    phases = []
    if potentials is not None:
        r = model.cost - model.operator.adjoint(np.asarray(potentials, dtype=np.float64))
        phases.append((r < 0.5, r > -0.5))
    everything = np.ones(model.num_arcs, dtype=bool)
    phases.append((everything, everything))
    for admissible in phases:
        if not (excess != 0).any():
            break
        _augment(model, f, excess, admissible, big)
        excess = _excess(model, f)
    feasible = not (excess != 0).any()
    cost = float(model.cost @ f)
    lower_bound = -math.inf
    if potentials is not None:
        lower_bound = model.lagrangian_bound(potentials)
        if np.isfinite(lower_bound) and np.all(model.cost == np.round(model.cost)):
            lower_bound = math.ceil(lower_bound - 1e-9 * max(1.0, abs(lower_bound)))
    gap = (cost - lower_bound) / max(1.0, abs(lower_bound)) if np.isfinite(lower_bound) else math.inf
    return IntegralFlow(
        flow=f, cost=cost, lower_bound=float(lower_bound), gap=float(gap), imbalance=imbalance, feasible=feasible
    )
