"""Seeded, vectorised instance generators for network flows (no Python loop over arcs or nodes).

Two topologies, each single- or multi-commodity, from 10^3 to 10^8 arcs:

- **grid**: an ``rows x cols`` grid, every node joined to its 4 or 8 neighbours in both
  directions (about ``neighbours * rows * cols`` arcs);
- **NETGEN-like**: ``nodes`` nodes, a random Hamiltonian cycle (the *skeleton*) plus
  ``arcs - nodes`` random arcs without self-loops, sorted by tail as NETGEN writes them.
  This follows NETGEN's idea (Klingman, Napier & Stutz 1974: a skeleton that guarantees
  feasibility, random arcs, uniform integer costs and capacities); it does not reproduce
  NETGEN's random stream.

Feasibility is guaranteed by construction: the skeleton arcs (the cycle; for the grid, every
horizontal arc plus the vertical arcs of the first column, a spanning subgraph connected in both
directions) get capacity equal to the total supply (total demand for several commodities), so
every supply pattern can be routed. Skeleton arcs cost the maximum cost (NETGEN's default), so
the optimum prefers the random arcs. Costs and capacities are uniform integers, so single-
commodity instances have integral optima.

Defaults follow the NETGEN-8 family of ``../shared/data/dimacs_mcf`` (sqrt(V) sources and
sinks, total supply 1000 sqrt(V), costs 1..10^4, capacities 1..10^3). Index arrays are int32.
"""

from __future__ import annotations

import numpy as np

from scotopt.kernels import pages
from scotopt.models.flow import MinCostFlow, MultiCommodityFlow
from scotopt.status import InvalidProblemError

_GRID_STEPS = {
    4: ((0, 1), (0, -1), (1, 0), (-1, 0)),
    8: ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1)),
}


def grid_arcs(rows: int, cols: int, neighbours: int = 8):
    """(tail, head, skeleton) of the grid network; node (i, j) has index i * cols + j."""
    if neighbours not in _GRID_STEPS:
        raise InvalidProblemError(f"neighbours must be 4 or 8, got {neighbours}")
    if rows < 1 or cols < 1:
        raise InvalidProblemError(f"rows and cols must be >= 1, got {rows} x {cols}")
    index = np.arange(rows * cols, dtype=np.int32).reshape(rows, cols)
    tails, heads, skeleton = [], [], []
    for di, dj in _GRID_STEPS[neighbours]:
        r0, r1, c0, c1 = max(0, -di), rows - max(0, di), max(0, -dj), cols - max(0, dj)
        src = index[r0:r1, c0:c1]
        dst = index[r0 + di : r1 + di, c0 + dj : c1 + dj]
        tails.append(src.ravel())
        heads.append(dst.ravel())
        if di == 0:  # every horizontal arc
            skeleton.append(np.ones(src.size, dtype=bool))
        elif dj == 0:  # vertical arcs of the first column
            column = np.zeros(src.shape, dtype=bool)
            column[:, 0] = True
            skeleton.append(column.ravel())
        else:
            skeleton.append(np.zeros(src.size, dtype=bool))
    return np.concatenate(tails), np.concatenate(heads), np.concatenate(skeleton)


def netgen_arcs(nodes: int, arcs: int, rng):
    """(tail, head, skeleton): a random Hamiltonian cycle plus random loop-free arcs, by tail."""
    if nodes < 2:
        raise InvalidProblemError(f"need at least 2 nodes, got {nodes}")
    if arcs < nodes:
        raise InvalidProblemError(f"arcs ({arcs}) must be >= nodes ({nodes}): the skeleton cycle has one arc per node")
    perm = rng.permutation(nodes).astype(np.int32)
    extra = arcs - nodes
    counts = np.bincount(rng.integers(0, nodes, extra, dtype=np.int32), minlength=nodes)
    rand_tail = np.repeat(np.arange(nodes, dtype=np.int32), counts)
    del counts
    offset = rng.integers(1, nodes, extra, dtype=np.int32)
    rand_head = rand_tail + offset
    del offset
    rand_head -= np.int32(nodes) * (rand_head >= nodes)
    # merge the skeleton into the tail order: each cycle arc perm[i] -> perm[i+1]
    cyc_tail, cyc_head = perm, np.roll(perm, -1)
    order = np.argsort(cyc_tail, kind="stable")
    cyc_tail, cyc_head = cyc_tail[order], cyc_head[order]
    # position of each node's cycle arc: after that node's random arcs
    starts = np.searchsorted(rand_tail, np.arange(nodes, dtype=np.int32), side="right")
    tail = np.insert(rand_tail, starts, cyc_tail)
    head = np.insert(rand_head, starts, cyc_head)
    del rand_tail, rand_head
    skeleton = np.zeros(arcs, dtype=bool)
    skeleton[starts + np.arange(nodes)] = True
    return tail, head, skeleton


def _split(total: int, parts: int, rng) -> np.ndarray:
    """``total`` split into ``parts`` nonnegative integers (multinomial, equal odds)."""
    return rng.multinomial(total, np.full(parts, 1.0 / parts)).astype(np.float64)


def _supply(num_nodes, sources, sinks, total_supply, rng):
    if sources < 1 or sinks < 1 or sources + sinks > num_nodes:
        raise InvalidProblemError(f"need 1 <= sources, sinks and sources + sinks <= nodes ({num_nodes})")
    chosen = rng.choice(num_nodes, sources + sinks, replace=False)
    supply = np.zeros(num_nodes)
    supply[chosen[:sources]] = _split(total_supply, sources, rng)
    supply[chosen[sources:]] = -_split(total_supply, sinks, rng)
    return supply


def _finish_arcs(tail, head, skeleton, bound, cost, capacity, rng):
    lo_c, hi_c = cost
    lo_u, hi_u = capacity
    c = rng.integers(lo_c, hi_c + 1, tail.shape[0], dtype=np.int32)
    c[skeleton] = hi_c
    u = rng.integers(lo_u, hi_u + 1, tail.shape[0], dtype=np.int64).astype(np.float64)
    u[skeleton] = np.maximum(u[skeleton], bound)
    return c, u


def _single_commodity(network, V, sources, sinks, total_supply, cost, capacity, rng, name, arc_order,
                      block_nodes=None, head_groups=None) -> MinCostFlow:
    """Costs, capacities and supplies (NETGEN-8 defaults) on the arcs ``network = (tail, head, skeleton)``."""
    sources = sources or max(1, round(V**0.5))
    sinks = sinks or max(1, round(V**0.5))
    total_supply = int(total_supply if total_supply is not None else round(1000 * V**0.5))
    tail, head, skeleton = network
    del network
    c, u = _finish_arcs(tail, head, skeleton, total_supply, cost, capacity, rng)
    del skeleton
    supply = _supply(V, sources, sinks, total_supply, rng)
    model = MinCostFlow(tail, head, c, u, supply, name=name, arc_order=arc_order, block_nodes=block_nodes,
                        head_groups=head_groups)
    del tail, head, c, u
    return _returned_pages(model)


def _returned_pages(model):
    """``model``, after the heap's free pages went back to the system: the generator's
    temporaries (~22 B/arc at 10^6 NETGEN arcs) otherwise stay resident, and a solve that follows
    reuses only part of them (``scotopt.kernels.pages``)."""
    pages.return_free_pages()
    return model


def grid_min_cost_flow(
    rows, cols, neighbours=8, sources=None, sinks=None, total_supply=None, cost=(1, 100), capacity=(1, 1000), seed=0,
    arc_order="auto", block_nodes=None, head_groups=None,
) -> MinCostFlow:
    """A feasible grid min-cost flow with integral data (see the module docstring); ``arc_order``,
    ``block_nodes`` and ``head_groups`` as for :class:`~scotopt.models.MinCostFlow`."""
    rng = np.random.default_rng(seed)
    return _single_commodity(
        grid_arcs(rows, cols, neighbours),
        rows * cols,
        sources,
        sinks,
        total_supply,
        cost,
        capacity,
        rng,
        f"grid{rows}x{cols}",
        arc_order,
        block_nodes,
        head_groups,
    )


def netgen_min_cost_flow(
    nodes, arcs, sources=None, sinks=None, total_supply=None, cost=(1, 10000), capacity=(1, 1000), seed=0,
    arc_order="auto", block_nodes=None, head_groups=None,
) -> MinCostFlow:
    """A feasible NETGEN-like min-cost flow with integral data (see the module docstring); the arcs
    are generated sorted by tail, and ``arc_order``, ``block_nodes`` and ``head_groups`` (as for
    :class:`~scotopt.models.MinCostFlow`) say whether and how the model reorders them."""
    rng = np.random.default_rng(seed)
    network = netgen_arcs(nodes, arcs, rng)
    return _single_commodity(network, nodes, sources, sinks, total_supply, cost, capacity, rng, f"netgen{nodes}_{arcs}",
                             arc_order, block_nodes, head_groups)


def _od_pairs(num_nodes, commodities, demand, rng):
    origin = rng.integers(0, num_nodes, commodities)
    destination = (origin + rng.integers(1, num_nodes, commodities)) % num_nodes
    lo, hi = demand
    return origin, destination, rng.integers(lo, hi + 1, commodities).astype(np.float64)


def _multicommodity(tail, head, skeleton, num_nodes, commodities, cost, capacity, demand, aggregate, rng, name):
    origin, destination, dem = _od_pairs(num_nodes, commodities, demand, rng)
    c, u = _finish_arcs(tail, head, skeleton, float(dem.sum()), cost, capacity, rng)
    model = MultiCommodityFlow(
        tail, head, c, u, origin, destination, dem, aggregate=aggregate, num_nodes=num_nodes, name=name
    )
    del tail, head, skeleton, c, u
    return _returned_pages(model)


def grid_multicommodity(
    rows,
    cols,
    commodities,
    neighbours=4,
    cost=(1, 100),
    capacity=(50, 500),
    demand=(1, 100),
    aggregate="source",
    seed=0,
) -> MultiCommodityFlow:
    """A feasible grid multicommodity flow: random OD pairs, integral data."""
    rng = np.random.default_rng(seed)
    tail, head, skeleton = grid_arcs(rows, cols, neighbours)
    return _multicommodity(
        tail,
        head,
        skeleton,
        rows * cols,
        commodities,
        cost,
        capacity,
        demand,
        aggregate,
        rng,
        f"mmcf-grid{rows}x{cols}-k{commodities}",
    )


def netgen_multicommodity(
    nodes, arcs, commodities, cost=(1, 100), capacity=(50, 500), demand=(1, 100), aggregate="source", seed=0
) -> MultiCommodityFlow:
    """A feasible NETGEN-like multicommodity flow: random OD pairs, integral data."""
    rng = np.random.default_rng(seed)
    tail, head, skeleton = netgen_arcs(nodes, arcs, rng)
    return _multicommodity(
        tail,
        head,
        skeleton,
        nodes,
        commodities,
        cost,
        capacity,
        demand,
        aggregate,
        rng,
        f"mmcf-netgen{nodes}_{arcs}-k{commodities}",
    )
