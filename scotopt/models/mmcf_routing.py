"""A feasible multicommodity flow by routing on residual capacities (an upper bound for the Lagrangian MMCF).

Given arc lengths (typically c + lam at the best Lagrangian multipliers, so that the paths are
near-shortest in the reduced-cost sense), the demands are routed in rounds, all commodities of a
round at once:

1. every commodity with demand left takes its shortest path on the arcs with residual capacity
   left (one batched Dijkstra from the origins concerned);
2. whole commodities first, smallest remaining demand first: a commodity ships all it has left
   when every arc of its path has room for it and for all commodities before it on that arc
   (those refused elsewhere count too, so the test is safe and needs no loop);
3. the refused ones share what is left: with L_a their load on arc a and r_a its residual
   capacity, an overloaded arc admits the share s_a = r_a / L_a, and commodity k ships the share
   f_k = min over its path of s_a of its remaining demand, so that no arc takes more than r_a;
4. the residual capacities and remaining demands are updated; an arc with (almost) no residual
   capacity leaves the graph.

Every round saturates at least one arc or ships everything, so without repairs the number of
rounds is at most the number of arcs plus one; ``max_rounds`` caps it. A path none of whose arcs
filled up stays a shortest path (arcs only leave the graph), so Dijkstra runs again only from the
origins of the commodities whose path lost an arc (half the time on planar1000).

Repair of a cut. The greedy rounds can cut a graph that the LP still routes: a commodity's
destination becomes unreachable on the arcs with capacity left (on planar1000 in 3 of 4 calls,
with 1e-6 to 1e-4 of the total demand left, 1-2 commodities). Such a commodity k takes its
shortest path through the full arcs (length + B on them, B more than any path's length, so the
fewest full arcs), and on every arc a of the path where r_a < r_k other commodities' path flows
through a are reduced, largest first, by r_k - r_a in total; what they lose returns to their
remaining demand and is routed again in the next rounds, on the arcs then left. k ships r_k on the
path at once, so nobody else takes the room made for it. Flows are only ever reduced or added
within r_a, so the capacities hold at every step. Routing is against u'_a = u_a - 1e-7 max(1, u_a),
the same margin as the restricted master's, so that rescaling every commodity to exactly v_k stays
within u_a. The result is a list of rounds of path flows (:func:`rounds_flow` makes the
commodity-arc flow of them); :func:`check_flow` verifies any arc-commodity flow
independently (conservation, demands, capacities, non-negativity) and gives its cost.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["route_on_residual", "rounds_flow", "check_flow"]


def route_on_residual(model, length: np.ndarray, max_rounds: int = 400, max_repairs: int = 200, stop=None):
    """Rounds of path flows shipping every demand within the capacities, or None.

    Each round is ``(which, arcs, amount)``: one path per commodity given as (commodity, arc)
    pairs (the form of :meth:`LagrangianMMCF.trace`) and the amount every commodity ships on it
    (an array over all commodities, 0 for those not routed in the round).

    When a commodity's destination becomes unreachable on the arcs with capacity left (the greedy
    rounds cut a graph that the LP could still route), :func:`_repair_cut` makes room on its
    shortest path through the full arcs by taking flow off other commodities, which route it
    again in the next rounds. None only after ``max_repairs`` such repairs, or after
    ``max_rounds`` rounds with demand left, or when a repair cannot make room (``repairs``, the
    counter, is then set on the function: ``route_on_residual.last_repairs``). ``stop``, a callable
    asked before every round, ends it early (None) when it returns True (a deadline, a driver that
    has stopped).
    """
    m = model
    E = m.tail.size
    length = np.asarray(length, dtype=np.float64)
    residual = m.capacity - 1e-7 * np.maximum(1.0, m.capacity)
    tol = 1e-9 * np.maximum(1.0, m.capacity)
    remaining = np.where(m.origin != m.destination, m.demand, 0.0)
    done = 1e-9 * np.maximum(1.0, m.demand)
    paths = []
    repairs = 0
    route_on_residual.last_repairs = 0
    kept_which = kept_arcs = np.zeros(0, dtype=np.int64)  # last round's paths that are still shortest
    for _ in range(max_rounds):
        active = np.flatnonzero(remaining > done)
        if not active.size:
            return _nonzero(paths)
        if stop is not None and stop():
            return None
        usable = residual > tol
        # a path none of whose arcs filled up is still a shortest path (arcs only leave the graph):
        # Dijkstra runs again only from the origins of the commodities whose path lost an arc
        lost = np.zeros(m.origin.size, dtype=bool)
        lost[kept_which[~usable[kept_arcs]]] = True
        has_path = np.zeros(m.origin.size, dtype=bool)
        has_path[kept_which] = True
        stale = active[lost[active] | ~has_path[active]]
        dist, predecessor = m.shortest_paths(np.where(usable, length, np.inf), np.unique(m.source_of[stale]))
        cut = ~np.isfinite(dist[m.source_of[stale], m.destination[stale]])
        if cut.any():
            repairs += 1
            route_on_residual.last_repairs = repairs
            if repairs > max_repairs or not _repair_cut(m, length, usable, residual, remaining, paths, stale[cut]):
                return None
            kept_which = kept_arcs = np.zeros(0, dtype=np.int64)  # capacity came back: all paths anew
            continue
        which, arcs = m.trace(predecessor, stale)
        reuse = np.isin(kept_which, active) & ~lost[kept_which]
        which, arcs = np.r_[which, kept_which[reuse]], np.r_[arcs, kept_arcs[reuse]]
        # first whole commodities, smallest remaining demand first, as long as every arc of the
        # path has room for them and all before them (those refused elsewhere count too: safe)
        rank = np.empty(m.origin.size, dtype=np.int64)
        rank[active[np.argsort(remaining[active], kind="stable")]] = np.arange(active.size)
        order = np.lexsort((rank[which], arcs))
        cumulative = np.cumsum(remaining[which[order]])
        group = np.r_[0, np.flatnonzero(np.diff(arcs[order])) + 1]
        cumulative -= np.repeat(np.r_[0.0, cumulative[group[1:] - 1]], np.diff(np.r_[group, order.size]))
        refused = np.zeros(m.origin.size, dtype=bool)
        refused[which[order][cumulative > residual[arcs[order]]]] = True
        ship = np.where(refused, 0.0, remaining)
        ship[np.setdiff1d(np.arange(m.origin.size), active)] = 0.0
        residual = np.maximum(residual - np.bincount(arcs, weights=ship[which], minlength=E), 0.0)
        # then the refused ones share what is left in proportion (at least one arc fills up)
        load = np.bincount(arcs, weights=np.where(refused, remaining, 0.0)[which], minlength=E)
        share = np.ones(E)
        over = load > residual
        share[over] = residual[over] / load[over]
        fraction = np.ones(m.origin.size)
        np.minimum.at(fraction, which, share[arcs])
        partial = np.where(refused, fraction * remaining, 0.0)
        residual = np.maximum(residual - np.bincount(arcs, weights=partial[which], minlength=E), 0.0)
        ship += partial
        remaining[active] -= ship[active]
        keep = ship[which] > 0
        paths.append((which[keep], arcs[keep], ship))
        kept_which, kept_arcs = which, arcs
    return None if np.any(remaining > done) else _nonzero(paths)


def _nonzero(paths):
    """The rounds without the (commodity, arc) pairs of paths whose flow a repair took to 0."""
    return [(which[amount[which] > 0], arcs[amount[which] > 0], amount) for which, arcs, amount in paths]


def _repair_cut(m, length, usable, residual, remaining, paths, cut) -> bool:
    """Route the commodities ``cut`` (their destination unreachable on the arcs with capacity left)
    through full arcs, taking the room they need off other commodities' path flows.

    Every commodity k of ``cut``, in turn, takes its shortest path under length + B on full arcs
    (B = 1 + sum of lengths, so the path crosses as few full arcs as it can, then is shortest).
    On every arc a of that path with r_a < r_k (r_k: k's remaining demand), the path flows of other
    commodities through a (not those of ``cut``), largest first, are reduced by r_k - r_a in
    total; each reduction returns its amount to that commodity's remaining demand (it is routed
    again in the next rounds) and to the residual capacity of every arc of its path. Then k ships
    r_k on the path. Capacities hold throughout: a path flow is only ever reduced, and k's path
    gets exactly the room it takes. Updates ``residual``, ``remaining`` and ``paths`` in place;
    False when an arc cannot be cleared enough (its capacity is below r_k).
    """
    big = 1.0 + float(np.sum(length))
    _, predecessor = m.shortest_paths(np.where(usable, length, length + big), np.unique(m.source_of[cut]))
    route_which, route_arcs = m.trace(predecessor, cut)
    # every stored path flow as (round, commodity, arc) triples, to find those through an arc
    rid = np.concatenate([np.full(w.size, i) for i, (w, _, _) in enumerate(paths)]) if paths else np.zeros(0, int)
    all_which = np.concatenate([w for w, _, _ in paths]) if paths else np.zeros(0, int)
    all_arcs = np.concatenate([a for _, a, _ in paths]) if paths else np.zeros(0, int)
    in_cut = np.zeros(m.origin.size, dtype=bool)
    in_cut[cut] = True
    for k in cut.tolist():
        path = route_arcs[route_which == k]
        need = remaining[k] - residual[path]
        for a, short in zip(path[need > 0].tolist(), need[need > 0].tolist(), strict=True):
            through = np.flatnonzero((all_arcs == a) & ~in_cut[all_which])
            amount = np.array([paths[r][2][j] for r, j in zip(rid[through].tolist(), all_which[through].tolist(),
                                                               strict=True)])
            if amount.sum() < short * (1 - 1e-12):
                return False
            for t in through[np.argsort(-amount, kind="stable")].tolist():
                if short <= 0:
                    break
                r, j = int(rid[t]), int(all_which[t])
                taken = min(paths[r][2][j], short)
                if taken <= 0:
                    continue
                paths[r][2][j] -= taken
                remaining[j] += taken
                own = paths[r][1][paths[r][0] == j]
                residual[own] += taken
                short -= taken
        ship = np.zeros(m.origin.size)
        ship[k] = min(remaining[k], residual[path].min())
        residual[path] = np.maximum(residual[path] - ship[k], 0.0)
        remaining[k] -= ship[k]
        paths.append((np.full(path.size, k), path, ship))
    return True


def rounds_flow(model, rounds) -> sp.csr_matrix:
    """The (commodities x arcs) flow of :func:`route_on_residual`'s rounds, each commodity rescaled
    to ship exactly v_k."""
    K, E = model.origin.size, model.tail.size
    if not rounds:
        return sp.csr_matrix((K, E))
    shipped = np.sum([amount for _, _, amount in rounds], axis=0)
    scale = np.divide(model.demand, shipped, out=np.zeros(K), where=shipped > 0)
    which = np.concatenate([w for w, _, _ in rounds])
    arcs = np.concatenate([a for _, a, _ in rounds])
    amount = np.concatenate([(amount * scale)[w] for w, _, amount in rounds])
    return sp.csr_matrix((amount, (which, arcs)), shape=(K, E))


def check_flow(model, flow: sp.spmatrix, tol: float = 1e-6):
    """The cost of a (commodities x arcs) flow that ships every demand within every capacity, else None.

    Checked from the model's arrays alone: x >= 0; at every node, outflow - inflow of commodity k
    is v_k at o_k, -v_k at d_k and 0 elsewhere (up to ``tol`` relative to v_k); the total flow of
    every arc is at most u_a (1e-9 relative slack).
    """
    m = model
    K, N = m.origin.size, m.num_nodes
    flow = sp.csr_matrix(flow)
    if flow.shape != (K, m.tail.size) or (flow.nnz and flow.data.min() < 0):
        return None
    E = m.tail.size
    tail = sp.csr_matrix((np.ones(E), (np.arange(E), m.tail)), shape=(E, N))
    head = sp.csr_matrix((np.ones(E), (np.arange(E), m.head)), shape=(E, N))
    commodity = np.r_[np.arange(K), np.arange(K)]
    supply = sp.csr_matrix((np.r_[m.demand, -m.demand], (commodity, np.r_[m.origin, m.destination])), shape=(K, N))
    imbalance = abs(sp.csr_matrix(flow @ tail - flow @ head - supply))
    if imbalance.nnz and np.any(imbalance.max(axis=1).toarray().ravel() > tol * np.maximum(1.0, m.demand)):
        return None
    total = np.asarray(flow.sum(axis=0)).ravel()
    if np.any(total > m.capacity * (1 + 1e-9) + 1e-9):
        return None
    return float(m.cost @ total)
