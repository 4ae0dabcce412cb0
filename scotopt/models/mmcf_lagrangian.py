"""Multicommodity min-cost flow by Lagrangian relaxation of the arc capacities.

Arcs a = (tail_a, head_a) with cost c_a >= 0 and capacity u_a; commodities k send demand v_k from
origin o_k to destination d_k:

    min  sum_a c_a sum_k x_ak   s.t.  flow conservation of every commodity,
                                      sum_k x_ak <= u_a (every arc),  x >= 0.

Relaxing the capacity rows with lam >= 0 leaves, for every commodity, a shortest path from o_k
to d_k under the arc lengths c_a + lam_a, and

    L(lam) = sum_k v_k dist_lam(o_k, d_k) - sum_a lam_a u_a,   subgradient  g_a = x_a(lam) - u_a,

where x_a(lam) is the total flow of the shortest-path solution. The shortest-path subproblem
has the integrality property, so max L(lam) equals the LP optimum (Geoffrion 1974) and the
bound is checkable exactly against published LP optima.

The subproblems are solved in one batch: one call of SciPy's compiled Dijkstra from all distinct
origins (lengths are non-negative), then every commodity's path is traced back through the
predecessor arcs, all commodities at once.
"""

from __future__ import annotations

import os
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from scotopt.solvers.lagrangian import LagrangianOptions, solve_lagrangian
from scotopt.status import InvalidProblemError

__all__ = ["LagrangianMMCF"]

# csgraph drops explicit zeros from a sparse matrix, and with them zero-length arcs; a length
# this small keeps them and is lost in round-off against any other length.
_ZERO_LENGTH = 1e-300
# up to this many nodes, node predecessors are mapped to arc ids through a dense N x N table
# (4 N^2 bytes: 4 MB at 1000 nodes, 25 MB at 2500); above, by binary search in the sorted keys
_DENSE_NODES = 2600


class LagrangianMMCF:
    """The model above from arrays; ``solve()`` returns a :class:`LagrangianResult`."""

    def __init__(self, tail, head, cost, capacity, origin, destination, demand, num_nodes: int | None = None):
        self.tail = np.asarray(tail, dtype=np.int64).reshape(-1)
        self.head = np.asarray(head, dtype=np.int64).reshape(-1)
        self.cost = np.asarray(cost, dtype=np.float64).reshape(-1)
        self.capacity = np.asarray(capacity, dtype=np.float64).reshape(-1)
        self.origin = np.asarray(origin, dtype=np.int64).reshape(-1)
        self.destination = np.asarray(destination, dtype=np.int64).reshape(-1)
        self.demand = np.asarray(demand, dtype=np.float64).reshape(-1)
        arcs, commodities = self.tail.size, self.origin.size
        for name, arr, size in (("head", self.head, arcs), ("cost", self.cost, arcs), ("capacity", self.capacity, arcs),
                                ("destination", self.destination, commodities), ("demand", self.demand, commodities)):
            if arr.size != size:
                raise InvalidProblemError(f"{name} has {arr.size} entries, expected {size}")
        self.num_nodes = int(num_nodes if num_nodes is not None else
                             1 + max(self.tail.max(initial=-1), self.head.max(initial=-1),
                                     self.origin.max(initial=-1), self.destination.max(initial=-1)))
        for name, arr in (("tail", self.tail), ("head", self.head), ("origin", self.origin),
                          ("destination", self.destination)):
            bad = np.flatnonzero((arr < 0) | (arr >= self.num_nodes))
            if bad.size:
                raise InvalidProblemError(f"{name}[{bad[0]}] = {arr[bad[0]]} is not a node in [0, {self.num_nodes})")
        if np.any(self.cost < 0) or not np.all(np.isfinite(self.cost)):
            raise InvalidProblemError("arc costs must be finite and non-negative (shortest paths by Bellman-Ford)")
        if np.any(self.capacity < 0) or np.any(self.demand < 0):
            raise InvalidProblemError("capacities and demands must be non-negative")
        self.sources, self.source_of = np.unique(self.origin, return_inverse=True)

    def shortest_paths(self, length: np.ndarray, rows: np.ndarray | None = None):
        """Distances (sources x nodes) and a predecessor arc per (source, node) under ``length``.

        ``rows`` (indices into ``sources``) limits the search to those origins; the other rows
        are then inf / -1.

        Lengths are non-negative (costs >= 0, lam >= 0), so SciPy's compiled Dijkstra runs from
        all origins in one call on the graph that keeps the shortest of parallel arcs; its
        node predecessors are mapped back to arc ids (a dense table up to ``_DENSE_NODES`` nodes:
        one oracle call 0.27 -> 0.22 CPU s on planar1000). Arcs of infinite length are left out.
        """
        N = self.num_nodes
        order = np.lexsort((length, self.head, self.tail))  # per (tail, head): shortest first
        order = order[np.isfinite(length[order])]
        key = self.tail[order] * N + self.head[order]
        first = np.r_[True, key[1:] != key[:-1]]
        arcs = order[first]
        graph = sp.csr_matrix((length[arcs] + _ZERO_LENGTH, (self.tail[arcs], self.head[arcs])), shape=(N, N))
        indices = self.sources if rows is None else self.sources[rows]
        dist, previous = dijkstra(graph, directed=True, indices=indices, return_predecessors=True)
        keys = key[first]  # sorted, one per kept arc
        if N <= _DENSE_NODES:  # arc of a node pair from a dense (tail, head) table: a gather, no search
            if getattr(self, "_arc_table", None) is None:
                self._arc_table = np.zeros(N * N, dtype=np.int32 if self.tail.size < 2**31 else np.int64)
            self._arc_table[keys] = arcs  # every pair a predecessor can name is overwritten here
            pair = previous.astype(np.int64) * N + np.arange(N)
            predecessor = np.where(previous >= 0, self._arc_table[np.maximum(pair, 0)].astype(np.int64), -1)
        else:
            has = previous >= 0
            lookup = np.searchsorted(keys, previous[has] * N + np.nonzero(has)[1])
            predecessor = np.full(previous.shape, -1, dtype=np.int64)
            predecessor[has] = arcs[lookup]
        if rows is not None:  # back to one row per source
            dist_part, predecessor_part = dist, predecessor
            dist = np.full((self.sources.size, N), np.inf)
            predecessor = np.full((self.sources.size, N), -1, dtype=np.int64)
            dist[rows], predecessor[rows] = dist_part, predecessor_part
        return dist, predecessor

    def trace(self, predecessor: np.ndarray, commodities: np.ndarray | None = None):
        """Every commodity's (or those of ``commodities``) predecessor path as pairs (commodity, arc), all at once."""
        node = self.destination.copy()
        active = np.flatnonzero(node != self.origin)
        if commodities is not None:
            active = np.intersect1d(active, commodities)
        which, arcs_used = [], []
        for _ in range(self.num_nodes):
            if not active.size:
                break
            arcs = predecessor[self.source_of[active], node[active]]
            if np.any(arcs < 0):
                raise InvalidProblemError("a destination cannot be reached from its origin")
            which.append(active)
            arcs_used.append(arcs)
            node[active] = self.tail[arcs]
            active = active[node[active] != self.origin[active]]
        if not which:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(which), np.concatenate(arcs_used)

    def route(self, predecessor: np.ndarray) -> np.ndarray:
        """Total arc flow when every commodity follows its predecessor path (all at once)."""
        which, arcs = self.trace(predecessor)
        self.last_paths = (which, arcs)
        return np.bincount(arcs, weights=self.demand[which], minlength=self.tail.size)

    def oracle(self, lam):
        length = self.cost + lam
        dist, predecessor = self.shortest_paths(length)
        reach = dist[self.source_of, self.destination]
        if not np.all(np.isfinite(reach)):
            raise InvalidProblemError("a destination cannot be reached from its origin")
        flow = self.route(predecessor)
        value = float(self.demand @ reach - lam @ self.capacity)
        return flow, value, flow - self.capacity

    def solve(self, method="volume", upper_bound: float | None = None, options: LagrangianOptions | None = None,
              verbose: bool = False, heuristic="master"):
        """Maximise the Lagrangian bound; ``x_average`` is the averaged total arc flow.

        ``heuristic``: ``"master"`` (default) gives upper bounds from routing on residual
        capacities at the current multipliers and a restricted master LP over those paths and
        the priced ones (:class:`~scotopt.models.mmcf_master.PathMaster` with its defaults, in a
        background thread when the machine has two or more cores),
        ``x_best_feasible`` is then a (commodities x arcs) CSR matrix of a feasible flow; a
        ``PathMaster`` instance uses that one (its ``deadline`` is set from ``options.time_limit``);
        a callable is the driver's hook as is; None: no upper bound (the gap stays infinite unless
        ``upper_bound`` is given).
        """
        from scotopt.models.mmcf_master import PathMaster

        model = self
        automatic = isinstance(heuristic, str) and heuristic == "master"
        master = PathMaster(self, background=(os.cpu_count() or 1) >= 2) if automatic else heuristic
        if isinstance(heuristic, str) and heuristic != "master":
            raise InvalidProblemError(f"heuristic must be 'master', a PathMaster, a callable or None, "
                                      f"got {heuristic!r}")
        pool = master if isinstance(master, PathMaster) else None
        self.last_master = pool

        def oracle(lam):
            result = model.oracle(lam)
            if pool is not None:
                pool.offer(*model.last_paths)
                pool.note_bound(result[1], lam)
            return result

        if pool is not None and options is not None and options.time_limit is not None:
            # the master checks this instant inside its pricing rounds and hands the rest to HiGHS
            pool.deadline = time.perf_counter() + options.time_limit

        oracle.residual = lambda flow: flow - model.capacity
        hook = master.heuristic if pool is not None else master
        try:
            return solve_lagrangian(oracle, "<=", self.tail.size, method=method, upper_bound=upper_bound,
                                    options=options, heuristic=hook, verbose=verbose)
        finally:
            if pool is not None:
                pool.close()  # a background master run stops with the driver
