"""Upper bounds for the Lagrangian MMCF: a restricted master LP over generated path columns.

The Lagrangian oracle of :class:`~scotopt.models.mmcf_lagrangian.LagrangianMMCF` routes every
commodity k on one shortest path per call. Those paths are the columns of the Dantzig-Wolfe
(path-flow) form of the arc-flow LP. With P_k the paths of commodity k in the master, cost(p) =
sum_{a in p} c_a, y_p the flow on path p and s_a >= 0 an overflow on arc a, the restricted master
(RMP) is

    min  sum_k sum_{p in P_k} cost(p) y_p + M sum_{a in R} s_a
    s.t. sum_{p in P_k} y_p = v_k                          (every commodity k: convexity, sigma_k)
         sum_k sum_{p in P_k, p owns a} y_p - s_a <= u'_a   (every arc a in R: capacity, mu_a <= 0)
         y, s >= 0,

with u'_a = u_a - 1e-7 max(1, u_a) (a margin for the LP solver's feasibility tolerance) and
M = 1 + sum_a c_a (more than any simple path costs). The RMP is always feasible.

Capacity rows are added only when needed: R holds the arcs whose capacity the master's columns
could exceed, that is, where sum_k v_k [some path of k in the master owns a] > u'_a. An arc outside
R carries at most that much in every solution of the RMP, so its capacity holds without a row.
R only grows (a row stays when the columns that required it are dropped).

When the optimum has s = 0, the arc flows x_ka = sum_{p in P_k, p owns a} y_p conserve flow exactly
(every path carries v_k's share from o_k to d_k; y is rescaled per commodity so that sum_p y_p = v_k
in floating point). The flow is then checked against the original capacities u (every arc, not
only R) and non-negativity, and only a flow that passes gives an upper bound, its cost
sum_a c_a sum_k x_ka.

The master is incremental: one ``highspy.Highs`` model lives as long as the ``PathMaster``. New
paths are appended with ``addCols``, new capacity rows (with their overflow columns) with
``addRows``, dropped paths are removed with ``deleteCols`` (only non-basic ones), and a re-solve
starts from the previous basis (new columns enter non-basic at zero, new rows with a basic slack).
A warm start pays when few columns come in: after a large batch (more than ``cold_fraction`` of the
paths already in the model) the basis of the previous RMP, often one that still needed overflow,
was measured to be a worse start than none, so such a batch is solved from scratch on the same
model (``clearSolver``; HiGHS's presolve then applies). Measured on grid14 (HiGHS 1.16, CPU s):
11.7k new paths on 36.6k after a basis with overflow, cold 19.6 s, warm unfinished after 95 s;
6.8k new on 48.4k after an overflow-free optimum, cold 27.2 s (24.9k pivots), warm 54.0 s (32.3k);
3.7k new on 55.2k, warm 38.5 s (23.1k pivots).

Pricing (column generation): the RMP's duals give arc lengths c_a - mu_a >= 0 (mu_a = 0 off R); a
shortest path of commodity k with length below sigma_k has negative reduced cost. ``pricing_rounds``
rounds of "solve the RMP, add every commodity's shortest path under its duals" per call drive the
RMP towards the LP optimum (Dantzig-Wolfe; with no negative reduced cost left, the RMP optimum is
the LP optimum). Smoothing (``smoothing`` = alpha, default 0.5): with lam_c the best Lagrangian
multipliers so far (the stability centre, :meth:`PathMaster.note_bound`, fed by
``LagrangianMMCF.solve``), the paths are shortest under c + alpha lam_c + (1 - alpha)(-mu) and enter
when their reduced cost at the RMP's duals is negative; when none does, pricing falls back to the
RMP's duals (Wentges 1997). The RMP's duals jump between rounds (L(-mu) was 3.6e-2 to 8e-2 below
the optimum on planar1000, L(lam_c) 1.5e-3): one round from the RMP over the routed paths at the
multipliers of 200 iterations reached 4.0e-3 above the optimum smoothed, 5.5e-3 without.

Seeding (``routing``): each of the first ``routing`` calls (by default every call) first routes the
demands on residual capacities under the lengths c + lam at the stability centre (the driver's
current multipliers when there is none; :func:`~scotopt.models.mmcf_routing.route_on_residual`,
which repairs the cuts of its greedy rounds, so it gives a flow in every call on the CommaLAB
instances measured). That flow, checked independently by
:func:`~scotopt.models.mmcf_routing.check_flow`, is an upper bound at once, and its paths enter the
master as columns, so the RMP has a solution without overflow from the first solve. The raw
oracle paths are then left out (``recent`` = 0 by default): the early ones are poor and many
(planar1000: about 89k after 10 calls), and their RMP needed 36k-118k pivots per pricing round
before its overflow reached 0, whereas the RMP over the routed paths is solved in a few thousand
(grid15 at the multipliers of 100 iterations, 41k paths: 3.9k pivots, 2.6 CPU s, UB 1.2e-3 above
the optimum, 3.2e-4 after one pricing round; the routed flow alone 1.4e-3). With ``routing=0`` the
paths of the latest ``recent`` (default ``every``) oracle calls enter the master instead.

Time: the first call comes at driver iteration ``first`` (default ``every``) or later, at the
first of every ``every`` iterations where the best bound gained at most ``settle`` (default 1e-3,
relative) over the last ``every`` iterations, at the latest ``settle_wait`` (default 20 ``every``)
iterations after ``first``; then one every ``every`` iterations while the master's share of the
elapsed time is at most ``time_share`` (the first call always runs). Early multipliers make a poor
and slow first RMP: on planar1000 its first cold solve over the paths routed at the multipliers
of 10 / 30 / 60 / 200 iterations took 43 / 18 / 10 / 5 CPU s and was 2.6e-2 / 1.6e-2 / 1.5e-2 /
1.2e-2 above the optimum. Within a call, a pricing round whose re-solve would be cold stops the
call when the latest cold solve took longer than the call has left (the paths wait in the queue
for the next call). On grid15 ``first=40`` and the default certified 1e-3 in the same
CPU time when run side by side (69.6 and 68.5 s; one earlier run of ``first=40`` took 38.6).
The deadline (``deadline``, a ``time.perf_counter()`` instant, set by ``LagrangianMMCF.solve``
from the driver's time limit) is checked before routing and before every pricing round and
passed to HiGHS as its time limit. A warm HiGHS run is further limited to the share not used yet
(at least ``min_slice`` seconds); stopped there, it keeps its basis and the next call goes on
from it. A cold solve uses HiGHS's presolve, which leaves no basis when stopped early, so only
the deadline bounds it. A solution of a stopped run is used only when it passes the feasibility
check above. The
RMP's capacity duals, lam = -mu >= 0, are handed back to the driver as multipliers to evaluate: with
no improving column left, L(-mu) equals the RMP optimum and the gap closes. The master keeps at
most ``max_columns`` paths (default 20 per commodity, 1.5 in the background): beyond that, non-basic paths with no flow,
least recently used first, are deleted from the model after an optimal solve (and may come back
when generated again). 1.5 per commodity made the re-solves on planar1000 3x faster offline (one
RMP with pricing rounds at fixed multipliers), but not in a 720 s run on planar1000 (gap 4.6e-3
against 3.0e-3 for the code before it, side by side; 12 of its 14 HiGHS runs were stopped at a
slice or the deadline, and paths are pruned only after an optimal solve: 362k paths at the end).

In the background (``background=True``; ``LagrangianMMCF.solve`` sets it when the machine has two
or more cores) the hook starts :meth:`PathMaster.run` in a thread of its own, with no limit on the
pricing rounds, and returns at once; what each round found (a checked feasible flow, the RMP's
duals) is handed to the driver at its next call, and a new run starts ``every`` calls after the
previous start at the earliest once one has ended. HiGHS releases the GIL while it solves, so the
RMP runs on a second core beside the driver's oracle calls (SciPy's Dijkstra holds the GIL: the
master's own pricing and routing take turns with the oracle). ``time_share`` does not apply, a
run is limited only by the deadline, and every RMP solve runs to its end, so the pool is pruned
after each one: the default ``max_columns`` is then 1.5 paths per commodity (planar1000 was
certified in 204 s with it, and not in 240 s with 20). :meth:`PathMaster.close` stops a running
solve (by setting HiGHS's time limit to 0) when the driver stops.
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np
import scipy.sparse as sp

__all__ = ["PathMaster"]


class PathMaster:
    """Path columns and the incremental restricted master LP of a :class:`LagrangianMMCF`.

    ``heuristic(lam, x, x_average)`` is the driver's upper-bound hook: it returns
    ``(commodity_flow, cost, multipliers)``, commodity_flow a (commodities x arcs) CSR matrix of a
    feasible arc-commodity flow (None with cost inf while the RMP still needs overflow) and
    multipliers = -mu, the RMP's capacity duals, for the driver to evaluate as a Lagrangian
    bound; or None when not due.

    Counters for reports: ``routed`` (calls of :meth:`route`), ``route_failures`` (those that gave no
    flow), ``route_repairs`` (cuts repaired in them), ``route_cpu_seconds`` (their process time),
    ``solves`` (HiGHS runs), ``seconds`` / ``cpu_seconds`` (wall and process time inside the master,
    pricing included), ``simplex_iterations``, ``timed_out`` (runs that HiGHS stopped at the
    deadline or at the end of the call's slice), ``cold_solves`` (runs from scratch, see the
    module text).
    """

    def __init__(self, model, every: int = 10, pricing_rounds: int = 3, time_share: float = 0.5,
                 max_columns: int | None = None, recent: int | None = None, deadline: float | None = None,
                 cold_fraction: float = 0.05, seed: int = 0, routing: int | None = None, first: int | None = None,
                 smoothing: float = 0.5, settle: float = 1e-3, settle_wait: int | None = None,
                 background: bool = False):
        self.model = model
        self.background = bool(background)  # run() in a thread of its own, beside the driver's iterations
        self._thread = None
        self._finished = None  # (best, multipliers) published by the background run, not yet handed over
        self._lock = threading.Lock()  # guards _finished between the two threads
        self._stopping = False
        self._last_start = None  # the driver call at which the latest background run started
        self.error = None  # an exception a background run ended with (it then gave no bound)
        self._warned = False  # whether close() has reported ``error``
        self.settle = float(settle)  # the first call waits until the bound gains at most this per `every` calls
        self.settle_wait = int(settle_wait if settle_wait is not None else 20 * (every or 10))
        self._bounds: list[float] = []  # the best bound at every driver call (from note_bound)
        self._start_call = None  # the driver call of the master's first run
        self.smoothing = float(smoothing)  # weight of the stability centre in the pricing duals
        self.center = None  # the best Lagrangian multipliers seen (set by note_bound)
        self.center_value = -np.inf
        self.mispriced = 0  # smoothed pricing rounds that found nothing, priced again at the RMP's duals
        self._cold_seconds = 0.0  # wall seconds of the latest cold solve (to gate the next one)
        self.first = int(first or every)  # the driver iteration of the first call
        self.routing = 2**62 if routing is None else int(routing)  # calls that first route on residual capacities
        self.routed = 0
        self.route_failures = 0  # routings that gave no flow (see route_on_residual)
        self.route_repairs = 0  # cuts of the greedy rounds repaired, over all routings
        self.route_cpu_seconds = 0.0
        self.every = int(every)
        self.pricing_rounds = int(pricing_rounds)
        self.time_share = float(time_share)
        self.deadline = deadline
        self.min_slice = 0.5  # seconds a warm HiGHS run may always take
        self.cold_fraction = float(cold_fraction)
        self.active = np.flatnonzero((model.origin != model.destination) & (model.demand > 0))
        # in the background every RMP solve runs to the end, so the pool is pruned after each one:
        # 1.5 paths per commodity certified planar1000 in 204 s, 20 per commodity did not in 240 s
        per_commodity = 1.5 if self.background else 20
        self.max_columns = int(max_columns or max(2000, per_commodity * self.active.size))
        if recent is None:
            recent = 0 if self.routing else self.every
        self._offered = collections.deque(maxlen=int(recent))  # the latest oracle paths
        rng = np.random.default_rng(seed)
        self._arc_hash = rng.integers(1, 2**62, model.tail.size, dtype=np.int64).astype(np.uint64)
        self._seen: set = set()
        # the master's path columns, in the order of the model's path columns
        self.col_commodity: list[int] = []
        self.col_arcs: list[np.ndarray] = []
        self.col_key: list[tuple] = []
        self.col_used: list[int] = []  # the RMP solve that last gave the column flow (or added it)
        self._pending: list[tuple[int, np.ndarray, tuple]] = []  # paths not yet in the model
        self.solves = 0
        self.statuses = collections.Counter()  # HiGHS model status of every run, for reports
        self.run_ends = collections.Counter()  # why each run() ended, for reports
        self.calls = 0
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.simplex_iterations = 0
        self.timed_out = 0
        self.cold_solves = 0
        self.started = None
        self.last_objective = np.inf
        self.last_overflow = np.inf
        self.multipliers = None  # -mu of the latest RMP: Lagrangian multipliers for the driver to try
        self.capacity_rhs = model.capacity - 1e-7 * np.maximum(1.0, model.capacity)
        self.penalty = 1.0 + float(model.cost.sum())
        self._highs = None
        self._row_of = np.full(model.origin.size, -1, dtype=np.int64)  # convexity row of a commodity
        self._row_of[self.active] = np.arange(self.active.size)
        self._capacity_row = np.full(model.tail.size, -1, dtype=np.int64)  # model row of an arc in R
        self._row_arc: list[int] = []
        self._is_path = np.zeros(0, dtype=bool)  # per model column: a path (True) or an overflow
        self._overflow_arc = np.zeros(0, dtype=np.int64)  # per model column: its arc, -1 for paths
        self._pair_keys = np.zeros(0, dtype=np.int64)  # distinct commodity * E + arc over the columns
        self._reach = np.zeros(model.tail.size)  # sum_k v_k [a path of k in the model owns a]

    @property
    def capacity_rows(self) -> int:
        """How many arcs have a capacity row in the master (the set R)."""
        return len(self._row_arc)

    # -- the column pool -------------------------------------------------------------------------
    def offer(self, which: np.ndarray, arcs: np.ndarray):
        """Remember one oracle call's paths (commodity, arc) pairs; the latest ``recent`` calls enter the master."""
        self._offered.append((which, arcs))

    def note_bound(self, value: float, lam: np.ndarray):
        """Remember lam as the stability centre when L(lam) = ``value`` is the best bound so far."""
        if value > self.center_value:
            self.center_value, self.center = float(value), np.array(lam, dtype=np.float64)

    def add_paths(self, which: np.ndarray, arcs: np.ndarray) -> int:
        """Queue the paths given as (commodity, arc) pairs, one path per commodity; returns the new ones."""
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
            if ident in self._seen or self._row_of[k] < 0:
                continue
            self._seen.add(ident)
            self._pending.append((k, arcs[lo:hi].copy(), ident))
            added += 1
        return added

    # -- the incremental model -------------------------------------------------------------------
    def _new_model(self):
        import highspy

        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        demand = self.model.demand[self.active]
        empty = np.zeros(0, dtype=np.int32)
        h.addRows(self.active.size, demand, demand, 0, empty, empty, np.zeros(0))
        self._inf = highspy.kHighsInf
        self._optimal = highspy.HighsModelStatus.kOptimal
        self._time_limit = highspy.HighsModelStatus.kTimeLimit
        self._basic = highspy.HighsBasisStatus.kBasic
        return h

    def _add_rows(self, arcs: np.ndarray):
        """Capacity rows (with their overflow columns) for ``arcs``, entries from every path column."""
        h = self._highs
        first = h.getNumRow()
        self._capacity_row[arcs] = first + np.arange(arcs.size)
        self._row_arc.extend(arcs.tolist())
        n = len(self.col_arcs)
        if n:
            lengths = np.fromiter((a.size for a in self.col_arcs), dtype=np.int64, count=n)
            owner = np.concatenate(self.col_arcs)
            column = np.flatnonzero(self._is_path)[np.repeat(np.arange(n), lengths)]
            keep = np.isin(owner, arcs)
            rows = sp.csr_matrix((np.ones(int(keep.sum())), (self._capacity_row[owner[keep]] - first, column[keep])),
                                 shape=(arcs.size, h.getNumCol()))
        else:
            rows = sp.csr_matrix((arcs.size, h.getNumCol()))
        h.addRows(arcs.size, np.full(arcs.size, -self._inf), self.capacity_rhs[arcs], rows.nnz,
                  rows.indptr[:-1].astype(np.int32), rows.indices.astype(np.int32), rows.data)
        rows_now = (first + np.arange(arcs.size)).astype(np.int32)
        h.addCols(arcs.size, np.full(arcs.size, self.penalty), np.zeros(arcs.size), np.full(arcs.size, self._inf),
                  arcs.size, np.arange(arcs.size, dtype=np.int32), rows_now, -np.ones(arcs.size))
        self._is_path = np.r_[self._is_path, np.zeros(arcs.size, dtype=bool)]
        self._overflow_arc = np.r_[self._overflow_arc, arcs]

    def _add_columns(self, new: list):
        """Append queued paths as model columns; first the capacity rows they make necessary."""
        m = self.model
        E = m.tail.size
        commodity = np.fromiter((k for k, _, _ in new), dtype=np.int64, count=len(new))
        lengths = np.fromiter((a.size for _, a, _ in new), dtype=np.int64, count=len(new))
        arcs = np.concatenate([a for _, a, _ in new])
        owner = np.repeat(commodity, lengths)
        pairs = np.setdiff1d(np.unique(owner * E + arcs), self._pair_keys, assume_unique=True)
        if pairs.size:
            self._pair_keys = np.union1d(self._pair_keys, pairs)
            self._reach += np.bincount(pairs % E, weights=m.demand[pairs // E], minlength=E)
        needed = np.flatnonzero((self._reach > self.capacity_rhs) & (self._capacity_row < 0))
        if needed.size:
            self._add_rows(needed)
        # one column per path: its convexity row, then the capacity rows of its arcs in R
        row = self._capacity_row[arcs]
        in_r = row >= 0
        count = np.bincount(np.repeat(np.arange(len(new)), lengths)[in_r], minlength=len(new)) + 1
        starts = np.r_[0, np.cumsum(count)[:-1]]
        index = np.empty(int(count.sum()), dtype=np.int32)
        index[starts] = self._row_of[commodity]
        offset = np.arange(in_r.sum()) - np.repeat(np.r_[0, np.cumsum(count - 1)[:-1]], count - 1)
        index[np.repeat(starts + 1, count - 1) + offset] = row[in_r]
        cost = np.bincount(np.repeat(np.arange(len(new)), lengths), weights=m.cost[arcs], minlength=len(new))
        self._highs.addCols(len(new), cost, np.zeros(len(new)), np.full(len(new), self._inf), index.size,
                            starts.astype(np.int32), index, np.ones(index.size))
        self._is_path = np.r_[self._is_path, np.ones(len(new), dtype=bool)]
        self._overflow_arc = np.r_[self._overflow_arc, np.full(len(new), -1, dtype=np.int64)]
        for k, a, ident in new:
            self.col_commodity.append(k)
            self.col_arcs.append(a)
            self.col_key.append(ident)
            self.col_used.append(self.solves)

    def _prune(self, y: np.ndarray):
        """Delete idle non-basic paths, least recently used first, down to ``max_columns``."""
        excess = len(self.col_arcs) - self.max_columns
        if excess <= 0:
            return
        columns = np.flatnonzero(self._is_path)
        status = self._highs.getBasis().col_status
        basic = np.fromiter((status[j] == self._basic for j in columns.tolist()), dtype=bool, count=columns.size)
        idle = np.flatnonzero((y <= 0) & ~basic)
        drop = idle[np.argsort(np.asarray(self.col_used)[idle], kind="stable")[:excess]]
        if not drop.size:
            return
        self._highs.deleteCols(drop.size, np.sort(columns[drop]).astype(np.int32))
        keep_model = np.ones(self._is_path.size, dtype=bool)
        keep_model[columns[drop]] = False
        self._is_path, self._overflow_arc = self._is_path[keep_model], self._overflow_arc[keep_model]
        keep = np.ones(len(self.col_arcs), dtype=bool)
        keep[drop] = False
        for j in drop.tolist():
            self._seen.discard(self.col_key[j])
        for name in ("col_commodity", "col_arcs", "col_key", "col_used"):
            values = getattr(self, name)
            setattr(self, name, [v for v, kept in zip(values, keep, strict=True) if kept])

    # -- the restricted master -------------------------------------------------------------------
    def solve_master(self, until: float | None = None):
        """Re-solve the RMP from the previous basis after adding the queued paths, by ``until`` (a
        ``time.perf_counter()`` instant; the deadline as well).

        Returns (y per path column, overflow per arc in R, mu per arc (0 off R), sigma per active
        commodity, optimal) or None when HiGHS gave no solution.
        """
        if self._highs is None:
            self._highs = self._new_model()
        h = self._highs
        cold = not h.getBasis().valid or len(self._pending) > self.cold_fraction * len(self.col_arcs)
        if self._pending:
            self._add_columns(self._pending)
            self._pending = []
        if cold:  # from scratch, with presolve, on the same model
            h.clearSolver()
            self.cold_solves += 1
        # a cold solve (HiGHS's presolve) leaves no basis when stopped early: only the deadline bounds
        # it; a warm solve (no presolve) stopped at its slice keeps its basis for the next call
        until = self.deadline if cold or until is None else min(until, self.deadline or np.inf)
        limit = np.inf if until is None else max(until - time.perf_counter(), 1e-3)
        # HiGHS's run clock adds up over all runs of one Highs object, and its time limit is read
        # against that total: a limit of "seconds left" stopped later runs at once (measured: 0
        # pivots, kTimeLimit, on the second run of a model whose first took 1.4 s)
        h.setOptionValue("time_limit", float(min(h.getRunTime() + limit, 1e30)))
        if self._stopping:  # close() may have set the limit to 0 just before the line above
            return None
        ran = time.perf_counter()
        h.run()
        if cold:
            self._cold_seconds = time.perf_counter() - ran
        self.solves += 1
        status = h.getModelStatus()
        self.statuses[str(status).rsplit(".", 1)[-1]] += 1
        self.simplex_iterations += int(h.getInfo().simplex_iteration_count)
        if status == self._time_limit:
            self.timed_out += 1
        solution = h.getSolution()
        if status not in (self._optimal, self._time_limit) or not solution.value_valid:
            return None
        x = np.asarray(solution.col_value)
        y = np.maximum(x[self._is_path], 0.0)
        optimal = status == self._optimal
        used = self.col_used
        for j in np.flatnonzero(y > 0).tolist():
            used[j] = self.solves
        mu = np.zeros(self.model.tail.size)
        sigma = np.zeros(self.active.size)
        if optimal and solution.dual_valid:
            dual = np.asarray(solution.row_dual)
            sigma = dual[:self.active.size]
            mu[self._row_arc] = dual[self.active.size:]
            self.last_objective = float(h.getInfo().objective_function_value)
        return y, np.maximum(x[~self._is_path], 0.0), mu, sigma, optimal

    def price(self, mu: np.ndarray, sigma: np.ndarray) -> int:
        """Queue improving shortest paths; returns how many commodities priced out.

        With a stability centre lam_c (:meth:`note_bound`) and ``smoothing`` = alpha > 0, the paths
        are shortest under c + alpha lam_c + (1 - alpha)(-mu) (Wentges' smoothing: the RMP's duals
        mu jump from round to round, the best Lagrangian multipliers are near an optimal dual), and a
        path of commodity k enters when its reduced cost at the RMP's duals, sum_{a in p} (c_a - mu_a)
        - sigma_k, is negative. When none is (a mis-pricing), the paths shortest under c - mu are
        taken: with no improving column left there, the RMP optimum is the LP optimum.
        """
        m = self.model
        dual_length = m.cost - np.minimum(mu, 0.0)
        lengths = [dual_length]
        if self.center is not None and self.smoothing > 0:
            lengths.insert(0, m.cost + self.smoothing * np.maximum(self.center, 0.0)
                           + (1 - self.smoothing) * (-np.minimum(mu, 0.0)))
        for number, length in enumerate(lengths):
            _, predecessor = m.shortest_paths(length)
            which, arcs = m.trace(predecessor, self.active)
            reduced = np.bincount(which, weights=dual_length[arcs], minlength=m.origin.size)[self.active]
            improving = reduced < sigma - 1e-9 * np.maximum(1.0, np.abs(sigma))
            if improving.any():
                keep = np.isin(which, self.active[improving])
                self.add_paths(which[keep], arcs[keep])
                return int(improving.sum())
            if number + 1 < len(lengths):
                self.mispriced += 1
        return 0

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

    def feasible_flow(self, y: np.ndarray):
        """(flow, cost) when the rescaled path flows y meet every demand and every original capacity, else None."""
        m = self.model
        commodity = np.asarray(self.col_commodity, dtype=np.int64)
        shipped = np.bincount(commodity, weights=y, minlength=m.origin.size)[self.active]
        target = m.demand[self.active]
        if np.any(np.abs(shipped - target) > 1e-6 * np.maximum(1.0, target)):
            return None  # a commodity is not shipped (an interrupted solve): rescaling would not fix it
        flow = self.flow_of(y)
        total = np.asarray(flow.sum(axis=0)).ravel()
        if flow.nnz and flow.data.min() < 0:
            return None
        if np.any(total > m.capacity * (1 + 1e-9) + 1e-9):
            return None
        return flow, float(m.cost @ total)

    def _settled(self) -> bool:
        """Whether the best bound gained at most ``settle`` (relative) over the last ``every`` calls
        (True without bounds from :meth:`note_bound`)."""
        if len(self._bounds) <= self.every or not np.isfinite(self._bounds[-1 - self.every]):
            return self.center is None
        now, before = self._bounds[-1], self._bounds[-1 - self.every]
        return now - before <= self.settle * max(1.0, abs(now))

    def _cold_next(self) -> bool:
        """Whether :meth:`solve_master` would now solve from scratch."""
        return self._highs is None or not self._highs.getBasis().valid or \
            len(self._pending) > self.cold_fraction * len(self.col_arcs)

    def _time_left(self, until: float | None = None) -> bool:
        if self._stopping:
            return False
        now = time.perf_counter()
        return (self.deadline is None or now < self.deadline) and (until is None or now < until)

    def route(self, lam: np.ndarray):
        """Route on residual capacities under lengths c + lam
        (:func:`~scotopt.models.mmcf_routing.route_on_residual`); its paths join the master as
        columns, so the RMP has a solution without overflow. Returns (commodity_flow, cost) when
        :func:`~scotopt.models.mmcf_routing.check_flow` accepts the flow, else None."""
        from scotopt.models.mmcf_routing import check_flow, rounds_flow, route_on_residual

        m = self.model
        self.routed += 1
        cpu = time.thread_time()
        try:
            rounds = route_on_residual(m, m.cost + np.maximum(np.asarray(lam, dtype=np.float64), 0.0),
                                       stop=lambda: not self._time_left())
            self.route_repairs += route_on_residual.last_repairs
            if rounds is None:
                self.route_failures += 1
                return None
            for which, arcs, _ in rounds:
                self.add_paths(which, arcs)
            flow = rounds_flow(m, rounds)
            cost = check_flow(m, flow)
            return None if cost is None else (flow, cost)
        finally:
            self.route_cpu_seconds += time.thread_time() - cpu

    def run(self, allowance: float | None = None, lam: np.ndarray | None = None, rounds: int | None = None):
        """RMP with up to ``rounds`` (default ``pricing_rounds``) pricing rounds until the deadline;
        a warm HiGHS run stops after ``allowance`` seconds (None: no limit but the deadline); in the
        first ``routing`` calls with multipliers ``lam``, :meth:`route` comes first. Returns
        (commodity_flow, cost) or None. In the background, what each round found is published for
        the driver's next call (:meth:`_background_hook`) as it comes."""
        started, cpu = time.perf_counter(), time.thread_time()
        until = None if allowance is None else started + allowance
        best = None
        if self.active.size == 0:  # nothing to ship: the zero flow
            return sp.csr_matrix((self.model.origin.size, self.model.tail.size)), 0.0
        try:
            if lam is not None and self.routed < self.routing and self._time_left():
                best = self.route(lam if self.center is None else self.center)
                self._publish(best)
            while self._offered:
                self.add_paths(*self._offered.popleft())
            ended = "rounds"
            for round_ in range(max(1, self.pricing_rounds if rounds is None else rounds)):
                if not self._time_left():
                    ended = "time"
                    break
                left = np.inf if until is None else until - time.perf_counter()
                if round_ and self._cold_next() and self._cold_seconds > left:
                    ended = "slice"
                    break  # the last cold solve took longer than the call has left: the paths wait for the next
                solved = self.solve_master(until)
                if solved is None:
                    ended = "no solution"
                    break
                y, overflow, mu, sigma, optimal = solved
                self.last_overflow = float(overflow.max(initial=0.0))
                if self.last_overflow <= 0:
                    found = self.feasible_flow(y)
                    if found is not None and (best is None or found[1] < best[1]):
                        best = found
                if not optimal:
                    ended = "stopped solve"
                    break
                self._prune(y)
                self.multipliers = -np.minimum(mu, 0.0)
                self._publish(best)
                if not self._time_left():
                    ended = "time"
                    break
                if self.price(mu, sigma) == 0:
                    ended = "priced out"  # no improving path: the RMP optimum is the LP optimum
                    break
            self.run_ends[ended] += 1
            return best
        finally:
            self.seconds += time.perf_counter() - started
            self.cpu_seconds += time.thread_time() - cpu

    def _due_first(self) -> bool:
        """Whether the first call is due (the schedule of the module text); sets ``_start_call``."""
        if self.calls < self.first or (self.calls - self.first) % self.every:
            return False
        if not self._settled() and self.calls < self.first + self.settle_wait:
            return False
        self._start_call = self.calls
        return True

    def _background_hook(self, lam):
        """The hook with ``background``: hands over what a finished run found, or starts the next
        run (at most one at a time, at least ``every`` calls after the previous start, the first one
        on the module text's schedule) in a thread and returns None at once."""
        if self._thread is not None:
            with self._lock:
                finished, self._finished = self._finished, None
            if not self._thread.is_alive():
                self._thread.join()
                self._thread = None
            if finished is not None:
                best, multipliers = finished
                if best is not None:
                    return best[0], best[1], multipliers
                return None, np.inf, multipliers
            return None
        if self._start_call is None and not self._due_first():
            return None
        if self._last_start is not None and self.calls - self._last_start < self.every:
            return None
        if not self._time_left():
            return None
        self._last_start = self.calls
        start_lam = np.array(lam, dtype=np.float64)
        self._thread = threading.Thread(target=self._background_run, args=(start_lam,), daemon=True,
                                        name="scotopt-path-master")
        self._thread.start()
        return None

    def _publish(self, best):
        """In the background: offer (best flow so far, latest multipliers) to the driver's next call."""
        if self.background and (best is not None or self.multipliers is not None):
            with self._lock:
                self._finished = (best, self.multipliers)

    def _background_run(self, lam):
        """Pricing rounds one after another (no round limit: a round's result is handed over as it
        comes) until no path improves, the deadline, or :meth:`close`."""
        try:
            self.multipliers = None
            self.run(None, lam, rounds=2**62)
        except Exception as exc:  # noqa: BLE001 - a failed master run costs an upper bound, never the solve
            self.error = exc

    def close(self):
        """Stop a background run (HiGHS's time limit set to 0 while it runs, and no further pricing
        round or routing round) and wait for it; the driver calls this when it stops. Does nothing in
        the foreground."""
        thread = self._thread
        if thread is None:
            self._warn_error()
            return
        self._stopping = True
        while thread.is_alive():
            # HiGHS reads its time limit while it runs: 0 stops the solve within milliseconds. (Its
            # interrupt callback is no way: a Python callback waits for the GIL, which the driver's
            # Dijkstra holds; one RMP solve took 216 s instead of 1.3 s beside an oracle loop.)
            if self._highs is not None:
                self._highs.setOptionValue("time_limit", 0.0)
            thread.join(0.05)
        self._thread = None
        self._stopping = False
        self._warn_error()

    def _warn_error(self):
        """Say once that a background run failed (its exception is kept in ``error``): the solve
        went on without the master's upper bounds from then on."""
        if self.error is not None and not self._warned:
            import warnings

            self._warned = True
            warnings.warn(f"the MMCF path master stopped with {type(self.error).__name__}: {self.error}; "
                          "no upper bounds came from it after that", RuntimeWarning, stacklevel=3)

    def heuristic(self, lam, x, x_average):
        """The driver's hook: :meth:`run` (routing at ``lam`` first, then the RMP) every ``every``
        calls while it takes <= ``time_share`` of the time."""
        now = time.perf_counter()
        if self.started is None:
            self.started = now
        self.calls += 1
        self._bounds.append(self.center_value)
        if self.background:
            return self._background_hook(lam)
        if self._start_call is None:
            if not self._due_first():
                return None
        elif (self.calls - self._start_call) % self.every:
            return None
        allowance = self.time_share * (now - self.started) - self.seconds  # the master's share not used yet
        if self.calls > self._start_call and allowance < 0:
            return None
        if not self._time_left():
            return None
        self.multipliers = None
        best = self.run(max(allowance, self.min_slice), lam)
        if best is None:
            return None if self.multipliers is None else (None, np.inf, self.multipliers)
        return best[0], best[1], self.multipliers
