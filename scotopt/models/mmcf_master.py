"""Upper bounds for the Lagrangian MMCF: a restricted master LP over generated path columns.

The Lagrangian oracle of :class:`~scotopt.models.mmcf_lagrangian.LagrangianMMCF` routes every
commodity k on one shortest path per call. Those paths are the columns of the Dantzig-Wolfe
(path-flow) form of the arc-flow LP. With P_k the paths of commodity k seen so far, cost(p) =
sum_{a in p} c_a, y_p the flow on path p and s_a >= 0 an overflow on arc a, the restricted master
(RMP) is

    min  sum_k sum_{p in P_k} cost(p) y_p + M sum_a s_a
    s.t. sum_{p in P_k} y_p = v_k                          (every commodity k: convexity, sigma_k)
         sum_k sum_{p in P_k, p owns a} y_p - s_a <= u'_a   (every arc a: capacity, mu_a <= 0)
         y, s >= 0,

with u'_a = u_a - 1e-7 max(1, u_a) (a margin for the LP solver's feasibility tolerance) and
M = 1 + sum_a c_a (more than any simple path costs). The RMP is always feasible. When its
optimum has s = 0, the arc flows x_ka = sum_{p in P_k, p owns a} y_p conserve flow exactly (every
path carries v_k's share from o_k to d_k; y is rescaled per commodity so that sum_p y_p = v_k in
floating point), respect the capacities, and their cost sum_a c_a sum_k x_ka is an upper bound
on the LP optimum. Adding columns can only lower the RMP optimum.

Pricing (column generation): the RMP's duals give arc lengths c_a - mu_a >= 0; a shortest path
of commodity k with length below sigma_k has negative reduced cost. ``pricing_rounds`` rounds of
"solve the RMP, add every commodity's shortest path under its duals" per call drive the RMP
towards the LP optimum (Dantzig-Wolfe; with no negative reduced cost left, the RMP optimum
is the LP optimum). The Lagrangian iterations supply most columns for free; the RMP is
solved by HiGHS (SciPy ``linprog(method="highs")``) only every few iterations, and at most
``time_share`` of the run's time goes to it (checked when a call starts). The RMP's capacity duals,
lam = -mu >= 0, are handed back to the driver as multipliers to evaluate: with no improving
column left, L(-mu) equals the RMP optimum and the gap closes. The pool keeps at most ``max_columns`` paths:
beyond that, the paths with no flow in the latest RMP, least recently used first, are dropped.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

__all__ = ["PathMaster"]


class PathMaster:
    """Path-column pool and restricted master LP of a :class:`LagrangianMMCF` (see the module text).

    ``heuristic(lam, x, x_average)`` is the driver's upper-bound hook: it returns
    ``(commodity_flow, cost, multipliers)``, commodity_flow a (commodities x arcs) CSR matrix of a
    feasible arc-commodity flow (None with cost inf while the RMP still needs overflow) and
    multipliers = -mu, the RMP's capacity duals, for the driver to evaluate as a Lagrangian
    bound; or None when not due.
    """

    def __init__(self, model, every: int = 10, pricing_rounds: int = 3, time_share: float = 0.5,
                 max_columns: int | None = None, seed: int = 0):
        self.model = model
        self.every = int(every)
        self.pricing_rounds = int(pricing_rounds)
        self.time_share = float(time_share)
        self.active = np.flatnonzero((model.origin != model.destination) & (model.demand > 0))
        self.max_columns = int(max_columns or max(2000, 20 * self.active.size))
        rng = np.random.default_rng(seed)
        self._arc_hash = rng.integers(1, 2**62, model.tail.size, dtype=np.int64).astype(np.uint64)
        self._seen: set = set()
        self.col_commodity: list[int] = []
        self.col_arcs: list[np.ndarray] = []
        self.col_key: list[tuple] = []
        self.col_used: list[int] = []  # the RMP solve that last gave the column flow (or added it)
        self.solves = 0
        self.calls = 0
        self.seconds = 0.0
        self.started = None
        self.last_objective = np.inf
        self.last_overflow = np.inf
        self.multipliers = None  # -mu of the latest RMP: Lagrangian multipliers for the driver to try
        self.capacity_rhs = model.capacity - 1e-7 * np.maximum(1.0, model.capacity)
        self.penalty = 1.0 + float(model.cost.sum())

    # -- the column pool -------------------------------------------------------------------------
    def add_paths(self, which: np.ndarray, arcs: np.ndarray) -> int:
        """Add the paths given as (commodity, arc) pairs, one path per commodity; returns the new ones."""
        if which.size == 0:
            return 0
        order = np.argsort(which, kind="stable")
        which, arcs = which[order], arcs[order]
        starts = np.flatnonzero(np.r_[True, which[1:] != which[:-1]])
        ends = np.r_[starts[1:], which.size]
        keys = np.add.reduceat(self._arc_hash[arcs], starts)  # uint64: wraps around, a hash of the arc set
        added = 0
        for k, key, lo, hi in zip(which[starts].tolist(), keys.tolist(), starts.tolist(), ends.tolist(), strict=True):
            ident = (k, key, hi - lo)
            if ident in self._seen:
                continue
            self._seen.add(ident)
            self.col_commodity.append(k)
            self.col_arcs.append(arcs[lo:hi].copy())
            self.col_key.append(ident)
            self.col_used.append(self.solves)
            added += 1
        return added

    def _prune(self, flow: np.ndarray):
        excess = len(self.col_arcs) - self.max_columns
        if excess <= 0:
            return
        idle = np.flatnonzero(flow <= 0)
        drop = idle[np.argsort(np.asarray(self.col_used)[idle], kind="stable")[:excess]]
        keep = np.ones(len(self.col_arcs), dtype=bool)
        keep[drop] = False
        for j in drop.tolist():
            self._seen.discard(self.col_key[j])
        for name in ("col_commodity", "col_arcs", "col_key", "col_used"):
            values = getattr(self, name)
            setattr(self, name, [v for v, kept in zip(values, keep, strict=True) if kept])

    # -- the restricted master -------------------------------------------------------------------
    def solve_master(self):
        """Solve the RMP; returns (y per column, overflow per arc, mu, sigma) or None on failure."""
        m = self.model
        E, K = m.tail.size, m.origin.size
        n = len(self.col_arcs)
        lengths = np.fromiter((a.size for a in self.col_arcs), dtype=np.int64, count=n)
        arcs = np.concatenate(self.col_arcs) if n else np.zeros(0, dtype=np.int64)
        cols = np.repeat(np.arange(n), lengths)
        commodity = np.asarray(self.col_commodity, dtype=np.int64)
        path_cost = np.bincount(cols, weights=m.cost[arcs], minlength=n)
        capacity = sp.hstack([sp.csr_matrix((np.ones(arcs.size), (arcs, cols)), shape=(E, n)),
                              -sp.eye(E, format="csr")], format="csr")
        row_of = np.full(K, -1, dtype=np.int64)
        row_of[self.active] = np.arange(self.active.size)
        convexity = sp.csr_matrix((np.ones(n), (row_of[commodity], np.arange(n))), shape=(self.active.size, n + E))
        c = np.r_[path_cost, np.full(E, self.penalty)]
        res = linprog(c, A_ub=capacity, b_ub=self.capacity_rhs, A_eq=convexity, b_eq=m.demand[self.active],
                      bounds=(0, None), method="highs")
        self.solves += 1
        if res.status != 0:
            return None
        y = np.maximum(res.x[:n], 0.0)
        used = self.col_used
        for j in np.flatnonzero(y > 0).tolist():
            used[j] = self.solves
        self.last_objective = float(res.fun)
        return y, np.maximum(res.x[n:], 0.0), res.ineqlin.marginals, res.eqlin.marginals

    def price(self, mu: np.ndarray, sigma: np.ndarray) -> int:
        """Add every commodity's shortest path under lengths c - mu; returns how many priced out."""
        m = self.model
        dist, predecessor = m.shortest_paths(m.cost - np.minimum(mu, 0.0))
        reach = dist[m.source_of[self.active], m.destination[self.active]]
        improving = reach < sigma - 1e-9 * np.maximum(1.0, np.abs(sigma))
        if not improving.any():
            return 0
        which, arcs = m.trace(predecessor)
        keep = np.isin(which, self.active[improving])
        self.add_paths(which[keep], arcs[keep])
        return int(improving.sum())

    def flow_of(self, y: np.ndarray) -> sp.csr_matrix:
        """Commodity-arc flows of the path flows y, rescaled so that every commodity ships exactly v_k."""
        m = self.model
        commodity = np.asarray(self.col_commodity, dtype=np.int64)
        shipped = np.bincount(commodity, weights=y, minlength=m.origin.size)
        scale = np.divide(m.demand, shipped, out=np.zeros_like(shipped), where=shipped > 0)
        y = y * scale[commodity]
        lengths = np.fromiter((a.size for a in self.col_arcs), dtype=np.int64, count=len(self.col_arcs))
        return sp.csr_matrix((np.repeat(y, lengths), (np.repeat(commodity, lengths), np.concatenate(self.col_arcs))),
                             shape=(m.origin.size, m.tail.size))

    def run(self):
        """RMP with up to ``pricing_rounds`` pricing rounds; returns (commodity_flow, cost) or None."""
        started = time.perf_counter()
        best = None
        if self.active.size == 0:  # nothing to ship: the zero flow
            return sp.csr_matrix((self.model.origin.size, self.model.tail.size)), 0.0
        try:
            for _ in range(max(1, self.pricing_rounds)):
                solved = self.solve_master()
                if solved is None:
                    return best
                y, overflow, mu, sigma = solved
                self.last_overflow = float(overflow.max(initial=0.0))
                if self.last_overflow <= 0:
                    flow = self.flow_of(y)
                    total = np.asarray(flow.sum(axis=0)).ravel()
                    if np.all(total <= self.model.capacity * (1 + 1e-9) + 1e-9):
                        cost = float(self.model.cost @ total)
                        if best is None or cost < best[1]:
                            best = (flow, cost)
                self._prune(y)
                self.multipliers = -np.minimum(mu, 0.0)
                if self.price(mu, sigma) == 0:
                    break
            return best
        finally:
            self.seconds += time.perf_counter() - started

    def heuristic(self, lam, x, x_average):
        """The driver's hook: the RMP every ``every`` calls while it takes <= ``time_share`` of the time."""
        now = time.perf_counter()
        if self.started is None:
            self.started = now
        self.calls += 1
        if self.calls % self.every:
            return None
        if self.calls > self.every and self.seconds > self.time_share * (now - self.started):
            return None
        self.multipliers = None
        best = self.run()
        if best is None:
            return None if self.multipliers is None else (None, np.inf, self.multipliers)
        return best[0], best[1], self.multipliers
