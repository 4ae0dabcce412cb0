"""Multi-echelon inventory optimisation as a sample-average (scenario) LP.

Formulation
-----------
Nodes ``n`` (N), products ``p`` (P), periods ``t = 0..T-1``, demand scenarios ``s`` (S) with
probabilities ``pi_s``, lanes ``l`` (L). Lane l delivers to ``target_l`` after ``lead_l``
periods and consumes ``C[i, l]`` units at node i per unit shipped: one unit at its source for a
transport lane, the bill of materials for an assembly step (a Willems 2008 stage with several
upstream stages), nothing for an external supplier.

First stage (shared by all scenarios; the plan): ``q[t, l, p] >= 0`` units shipped (ordered,
produced) on lane l in period t. Second stage (per scenario): on-hand inventory
``I[s, t, n, p] >= 0``, backorders ``B >= 0`` (or lost sales, ``B <= d``), and, where allowed,
expedited units ``E >= 0`` that arrive in the same period::

    minimise    sum_{t,l,p} c_tlp q_tlp
              + sum_s pi_s sum_{t,n,p} (h_tnp I_stnp + b_tnp B_stnp + e_tnp E_stnp)

    subject to  I_st - I_s,t-1 - B_st + beta B_s,t-1 - E_st - Arr_t + Dep_t = pipe_t - d_st   (balance)
                sum_p vol_p I_stnp <= cap_tn                                              (storage)
                sum_p lvol_p q_tlp <= lcap_tl                                             (lane)

with ``Arr_tnp = sum_{l: target_l = n, t >= lead_l} q_{t-lead_l, l, p}``, ``Dep_tnp = sum_l
C[n, l] q_tlp``, ``I_s,-1 = I0`` (initial inventory, moved to the right-hand side), ``B_s,-1 =
0``, ``pipe`` the units already in transit, and ``beta = 1`` for backorders (carried to the next
period and charged every period until filled) or 0 for lost sales (``B_st <= d_st``, charged
once). Backorders are allowed only at (node, product) pairs with demand in some scenario;
elsewhere ``B = 0``, so an upstream node never ships stock it does not have. At a node with
both demand and outbound lanes, a backorder covers the shortfall of both.

This is the two-stage SAA of an open-loop plan (Shapiro, Dentcheva & Ruszczynski, *Lectures on
Stochastic Programming*, 2009, ch. 5): for one node and period it reduces to the newsvendor,
whose optimum is the empirical demand quantile at ``b / (b + h)``; with lead time L and one
order, to the quantile of lead-time demand. The constraint operator is matrix-free
(:mod:`scotopt.kernels.inventory`): dense (S, T, N, P) tensors, time shifts and lane-to-node
sums, so 10^8 variables need no sparse matrix.

Dual values: ``-y`` of a storage row (summed over scenarios) is what one more unit of space at
(node, period) saves in expected cost; likewise for lane capacity.

Fill rate (per node and product): the fraction of demand met in the period it arrives, with
backlog served first: ``1 - sum_{s,t} pi_s min(d_st, B_st) / sum_{s,t} pi_s d_st`` (expedited
units count as met).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from scotopt.kernels.inventory import InventoryOperator, InventoryStructure
from scotopt.problem import LP, to_host
from scotopt.result import Result
from scotopt.segments import SegmentVector
from scotopt.status import InvalidProblemError

__all__ = ["MultiEchelonInventory", "InventorySolution"]


def _array(name, value, shape, *, allow_inf=False, nonnegative=True, integer=False):
    """``value`` broadcast to ``shape`` as float64 (int64 with ``integer``), validated."""
    arr = to_host(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) \
            or np.issubdtype(arr.dtype, np.complexfloating):
        raise InvalidProblemError(f"{name} must be real numeric data, got dtype {arr.dtype}")
    arr = np.asarray(arr, dtype=np.float64)
    try:
        arr = np.broadcast_to(arr, shape)
    except ValueError:
        raise InvalidProblemError(f"{name} has shape {arr.shape}, which does not broadcast to {shape}") from None
    bad = np.isnan(arr) | (np.isinf(arr) if not allow_inf else np.isneginf(arr))
    if bad.any():
        idx = np.unravel_index(int(np.flatnonzero(bad)[0]), shape)
        raise InvalidProblemError(f"{name}{list(idx)} is {arr[idx]}; {name} must be finite"
                                  + (" (or +inf)" if allow_inf else ""))
    if nonnegative and (arr < 0).any():
        idx = np.unravel_index(int(np.flatnonzero(arr < 0)[0]), shape)
        raise InvalidProblemError(f"{name}{list(idx)} = {arr[idx]} is negative")
    if integer:
        if (arr != np.round(arr)).any():
            idx = np.unravel_index(int(np.flatnonzero(arr != np.round(arr))[0]), shape)
            raise InvalidProblemError(f"{name}{list(idx)} = {arr[idx]} is not an integer")
        return arr.astype(np.int64)
    return arr


@dataclasses.dataclass
class InventorySolution:
    """Named tensors of a solved (or simulated) plan; axes (scenario, period, node, product)."""

    orders: np.ndarray  # (T, L, P) the plan
    inventory: np.ndarray  # (S, T, N, P)
    backorders: np.ndarray  # (S, T, N, P) backorders or lost sales
    expedited: np.ndarray | None  # (S, T, N, P)
    fill_rate: np.ndarray  # (N, P), NaN where there is no demand
    storage_value: np.ndarray | None  # (T, N): expected cost saved per extra unit of space
    lane_capacity_value: np.ndarray | None  # (T, L)
    cost: dict  # ordering, holding, backorder, expediting, total (expected)
    result: Result | None = None

    @property
    def status(self):
        return None if self.result is None else self.result.status


class MultiEchelonInventory:
    """The scenario LP of the module docstring, built from arrays.

    Parameters
    ----------
    lane_target, lane_lead_time : (L,) int
        Where each lane delivers and after how many periods (>= 0).
    lane_source : (L,) int, optional
        The node each lane draws one unit from per unit shipped, -1 for an external supplier.
        Give this or ``lane_inputs``.
    lane_inputs : (N, L) array or sparse, optional
        Units consumed at each node per unit shipped on each lane (assembly / bill of materials).
    demand : (S, T, N, P) array
        Demand scenarios (see :mod:`scotopt.models.demand` to sample them from forecasts).
    holding_cost, backorder_cost : broadcastable to (T, N, P)
        Per unit and period on hand; per unit backordered per period (or lost, with ``lost_sales``).
    lane_cost : broadcastable to (T, L, P), default 0
        Per unit shipped.
    expedite_cost : broadcastable to (T, N, P), optional
        Per unit expedited (arrives at once); +inf where not allowed; None: no expediting at all.
    volume : (P,), default 1
        Storage volume per unit; ``storage_capacity`` (N,) or (T, N) (+inf: none) adds the rows.
    lane_volume : (P,), default ``volume``
        Capacity use per unit shipped; ``lane_capacity`` (L,) or (T, L) (+inf: none) adds the rows.
    initial_inventory : broadcastable to (N, P), default 0
    in_transit : broadcastable to (T, N, P), default 0
        Units already on their way, arriving at each node in each period.
    probabilities : (S,), default uniform
    lost_sales : bool
        Unmet demand is lost (charged once) instead of backordered.
    """

    def __init__(self, lane_target, lane_lead_time, demand, holding_cost, backorder_cost, *,
                 lane_source=None, lane_inputs=None, lane_cost=0.0, expedite_cost=None,
                 volume=1.0, storage_capacity=None, lane_volume=None, lane_capacity=None,
                 initial_inventory=0.0, in_transit=0.0, probabilities=None, lost_sales=False,
                 num_nodes=None, name="inventory"):
        demand = to_host(demand)
        if np.ndim(demand) != 4:
            raise InvalidProblemError(f"demand must be 4-D (scenario, period, node, product), got shape "
                                      f"{np.shape(demand)}")
        S, T, N, P = np.shape(demand)
        if num_nodes is not None and int(num_nodes) != N:
            raise InvalidProblemError(f"num_nodes={num_nodes} but demand has {N} nodes")
        if min(S, T, N, P) == 0:
            raise InvalidProblemError(f"demand has an empty axis: shape {np.shape(demand)}")
        self.name = name
        self.demand = _array("demand", demand, (S, T, N, P))
        target = to_host(lane_target).reshape(-1)
        L = target.shape[0]
        self.lane_target = _array("lane_target", target, (L,), integer=True)
        self.lane_lead_time = _array("lane_lead_time", lane_lead_time, (L,), integer=True)
        if L and self.lane_target.max() >= N:
            raise InvalidProblemError(f"lane_target[{int(np.argmax(self.lane_target))}] = "
                                      f"{self.lane_target.max()} is not a node (0..{N - 1})")
        self.lane_inputs = self._inputs(lane_source, lane_inputs, N, L)
        self.holding_cost = _array("holding_cost", holding_cost, (T, N, P))
        self.backorder_cost = _array("backorder_cost", backorder_cost, (T, N, P))
        self.lane_cost = _array("lane_cost", lane_cost, (T, L, P))
        self.expedite_cost = None if expedite_cost is None else _array(
            "expedite_cost", expedite_cost, (T, N, P), allow_inf=True)
        self.volume = _array("volume", volume, (P,))
        self.lane_volume = self.volume if lane_volume is None else _array("lane_volume", lane_volume, (P,))
        self.storage_capacity = None if storage_capacity is None else _array(
            "storage_capacity", storage_capacity, (T, N), allow_inf=True)
        self.lane_capacity = None if lane_capacity is None else _array(
            "lane_capacity", lane_capacity, (T, L), allow_inf=True)
        self.initial_inventory = _array("initial_inventory", initial_inventory, (N, P))
        self.in_transit = _array("in_transit", in_transit, (T, N, P))
        if probabilities is None:
            self.probabilities = np.full(S, 1.0 / S)
        else:
            self.probabilities = _array("probabilities", probabilities, (S,))
            if abs(self.probabilities.sum() - 1.0) > 1e-9:
                raise InvalidProblemError(f"probabilities sum to {self.probabilities.sum()}, not 1")
        self.lost_sales = bool(lost_sales)
        self.structure = InventoryStructure(
            scenarios=S, periods=T, nodes=N, products=P, lane_target=self.lane_target,
            lane_lead=self.lane_lead_time, lane_inputs=self.lane_inputs, volume=self.volume,
            lane_volume=self.lane_volume, backorders=not self.lost_sales,
            expediting=self.expedite_cost is not None, storage_rows=self.storage_capacity is not None,
            lane_rows=self.lane_capacity is not None,
        )

    @staticmethod
    def _inputs(lane_source, lane_inputs, N, L) -> sp.csr_matrix:
        if (lane_source is None) == (lane_inputs is None):
            raise InvalidProblemError("give exactly one of lane_source and lane_inputs")
        if lane_inputs is not None:
            M = sp.csr_matrix(lane_inputs, dtype=np.float64) if sp.issparse(lane_inputs) else sp.csr_matrix(
                _array("lane_inputs", lane_inputs, (N, L)))
            if M.shape != (N, L):
                raise InvalidProblemError(f"lane_inputs has shape {M.shape}, expected (nodes, lanes) = {(N, L)}")
            if M.nnz and (not np.isfinite(M.data).all() or (M.data < 0).any()):
                raise InvalidProblemError("lane_inputs must be finite and nonnegative")
            return M
        source = _array("lane_source", lane_source, (L,), nonnegative=False, integer=True)
        if L and (source.min() < -1 or source.max() >= N):
            bad = int(np.flatnonzero((source < -1) | (source >= N))[0])
            raise InvalidProblemError(f"lane_source[{bad}] = {source[bad]} is not a node (0..{N - 1}) or -1")
        real = np.flatnonzero(source >= 0)
        return sp.csr_matrix((np.ones(real.size), (source[real], real)), shape=(N, L))

    # ------------------------------------------------------------------ sizes
    @property
    def shape(self):
        """(S, T, N, P, L)."""
        st = self.structure
        return st.scenarios, st.periods, st.nodes, st.products, st.lanes

    @property
    def num_vars(self) -> int:
        return self.structure.num_vars

    # ------------------------------------------------------------------ the LP
    def expedite_unit_cost(self) -> np.ndarray:
        """(T, N, P) cost per expedited unit, 0 where expediting is not allowed (+inf) or absent;
        those cells get the upper bound E = 0 in the LP."""
        if self.expedite_cost is None:
            return np.zeros(self.holding_cost.shape)
        return np.where(np.isfinite(self.expedite_cost), self.expedite_cost, 0.0)

    def _backorder_allowed(self) -> np.ndarray:
        """(N, P): backorders only where some scenario has demand."""
        return (self.demand > 0).any(axis=(0, 1))

    def to_lp(self) -> LP:
        """The scenario LP. Its cost and variable bounds are
        :class:`~scotopt.segments.SegmentVector` s: a (T, N, P) tensor per block broadcast over the
        scenarios (per scenario only where the data differ: unequal probabilities, lost-sales
        bounds), and the balance rows' right-hand side is one array shared by both row bounds."""
        st = self.structure
        S, T, N, P, L = self.shape
        block = (S, T, N, P)
        pi = self.probabilities
        equal = bool(np.all(pi == pi[0]))

        def expected(cost):  # pi_s * cost[t, n, p], stored once when every pi_s is the same
            return (pi[0] * cost, block) if equal else pi[:, None, None, None] * cost

        inf = np.inf
        allowed = self._backorder_allowed()
        c_parts = [self.lane_cost, expected(self.holding_cost), expected(self.backorder_cost)]
        b_ub = np.where(allowed, self.demand, 0.0) if self.lost_sales else (np.where(allowed, inf, 0.0), block)
        ub_parts = [self._order_upper_bounds(), (inf, block), b_ub]
        if st.expediting:
            c_parts.append(expected(self.expedite_unit_cost()))
            ub_parts.append((np.where(np.isfinite(self.expedite_cost), inf, 0.0), block))
        rhs = self.in_transit[None] - self.demand
        rhs[:, 0] += self.initial_inventory
        lb_parts, ubr_parts = [rhs], [rhs]  # equality rows: one array for both bounds
        if st.storage_rows:
            lb_parts.append((-inf, (S, T, N)))
            ubr_parts.append((self.storage_capacity, (S, T, N)))
        if st.lane_rows:
            lb_parts.append((-inf, (T, L)))
            ubr_parts.append(self.lane_capacity)
        return LP(
            c=SegmentVector(c_parts), A=InventoryOperator(st),
            con_lb=SegmentVector(lb_parts), con_ub=SegmentVector(ubr_parts),
            var_lb=0.0, var_ub=SegmentVector(ub_parts), name=self.name,  # a scalar bound stores one number
        )

    def _order_upper_bounds(self) -> np.ndarray:
        """(T, L, P): 0 for shipments that would arrive after the horizon (they only cost)."""
        T = self.structure.periods
        arrives = np.arange(T)[:, None] + self.lane_lead_time[None, :]
        return np.broadcast_to(np.where(arrives < T, np.inf, 0.0)[:, :, None], self.lane_cost.shape)

    @property
    def lp(self) -> LP:
        """The LP of :meth:`to_lp`, built once (for benchmarks; :meth:`solve` rebuilds it, so it sees
        changes to the model's arrays)."""
        if getattr(self, "_lp", None) is None:
            self._lp = self.to_lp()
        return self._lp

    @classmethod
    def bench_instance(cls, size: int, seed: int = 0) -> MultiEchelonInventory:
        """The ``scotopt bench`` instance of ``size`` thousand variables (a generated distribution
        network, :func:`scotopt.models.inventory_instances.network_with_variables`)."""
        from scotopt.models.inventory_instances import network_with_variables

        return network_with_variables(1000 * size, seed)

    def solve(self, **solve_options) -> InventorySolution:
        """Solve the LP with :func:`scotopt.solve` (default method PDHG) and decode it."""
        from scotopt.solvers.api import solve

        result = solve(self.to_lp(), **solve_options)
        return self.decode(result)

    # ------------------------------------------------------------------ decoding
    def split(self, x) -> tuple:
        """(orders, inventory, backorders, expedited) tensors of a primal vector."""
        S, T, N, P, L = self.shape
        x = np.asarray(x, dtype=np.float64)
        nq, nb = T * L * P, S * T * N * P
        orders = x[:nq].reshape(T, L, P)
        inventory = x[nq:nq + nb].reshape(S, T, N, P)
        backorders = x[nq + nb:nq + 2 * nb].reshape(S, T, N, P)
        expedited = x[nq + 2 * nb:].reshape(S, T, N, P) if self.structure.expediting else None
        return orders, inventory, backorders, expedited

    def decode(self, result: Result) -> InventorySolution:
        orders, inventory, backorders, expedited = self.split(result.x)
        S, T, N, P, L = self.shape
        storage_value = lane_value = None
        if result.y is not None:
            y = np.asarray(result.y)
            offset = S * T * N * P
            if self.structure.storage_rows:
                storage_value = -y[offset:offset + S * T * N].reshape(S, T, N).sum(axis=0)
                offset += S * T * N
            if self.structure.lane_rows:
                lane_value = -y[offset:].reshape(T, L)
        return InventorySolution(
            orders=orders, inventory=inventory, backorders=backorders, expedited=expedited,
            fill_rate=fill_rate(self.demand, backorders, self.probabilities),
            storage_value=storage_value, lane_capacity_value=lane_value,
            cost=self.cost_breakdown(orders, inventory, backorders, expedited), result=result,
        )

    def cost_breakdown(self, orders, inventory, backorders, expedited=None) -> dict:
        """Expected cost by kind of a plan and its second-stage tensors."""
        pi = self.probabilities[:, None, None, None]
        out = {
            "ordering": float(np.sum(self.lane_cost * orders)),
            "holding": float(np.sum(pi * self.holding_cost * inventory)),
            "backorder": float(np.sum(pi * self.backorder_cost * backorders)),
            "expediting": 0.0,
        }
        if expedited is not None:
            out["expediting"] = float(np.sum(pi * self.expedite_unit_cost() * expedited))
        out["total"] = sum(out.values())
        return out

    def __repr__(self) -> str:
        S, T, N, P, L = self.shape
        return (f"MultiEchelonInventory({self.name!r}: {S} scenarios x {T} periods x {N} nodes x {P} products, "
                f"{L} lanes, {self.num_vars} variables)")


def fill_rate(demand, backorders, probabilities, xp=np):
    """(N, P) fill rate of the module docstring; NaN where there is no demand."""
    pi = probabilities[:, None, None, None]
    unmet = xp.sum(pi * xp.minimum(demand, backorders), axis=(0, 1))
    total = xp.sum(pi * demand, axis=(0, 1))
    safe = xp.where(total > 0, total, 1.0)
    return xp.where(total > 0, 1.0 - unmet / safe, xp.nan)
