"""Network-flow models built on the matrix-free incidence operator.

Min-cost flow (single commodity), V nodes, E arcs ``a = (tail_a, head_a)``::

    minimise    sum_a cost_a f_a
    subject to  sum_{a: tail_a = v} f_a - sum_{a: head_a = v} f_a = supply_v     (every node v)
                lower_a <= f_a <= capacity_a

(``supply_v > 0`` is a source, ``< 0`` a sink; supplies must sum to 0). Where some lower bound
is not 0, ``MinCostFlow.lp`` is written in ``x = f - lower``: bounds ``0 <= x <= capacity -
lower``, supplies ``supply - N lower``, objective constant ``c0 = cost@lower``; the same LP up
to that change of variables, with the same optimal value, duals and reduced costs. PDHG's
arc screening (``scotopt.kernels.network_screen``) skips arcs that sit at 0 with a reduced cost
that keeps them there; an arc at a nonzero lower bound would never qualify. The decoder adds
``lower`` back. The dual multiplier
``y_v`` of node v's balance row is its *potential*: the marginal cost of one more unit of supply
at v. The reduced cost of arc a is ``r_a = cost_a - y_tail + y_head``; the *shadow price of the
capacity* of arc a is ``max(0, -r_a)``, the cost saved per extra unit of capacity.

Linear multicommodity flow (CommaLAB's arc-flow model), commodities ``k = (o_k, d_k, demand_k)``::

    minimise    sum_k sum_a cost_a x_ka
    subject to  N x_k = demand_k (e_{o_k} - e_{d_k})       (node balance per commodity)
                sum_k x_ka <= capacity_a                   (bundle / coupling rows)
                x_ka >= 0

The bound x_ka <= capacity_a is implied by the coupling row and x >= 0, so the LP leaves it out:
the same feasible set, and no column is boxed.

Capacities that cannot bind. Where every cost of a min-cost flow is >= 0, its LP drops each
capacity larger than the total supply S (that of the LP, in x = f - lower): removing the cycles of
a feasible flow keeps it feasible and does not raise its cost, and an acyclic flow carries at most
S on any arc, so the optimal value is unchanged, and by complementary slackness (that capacity is
slack at an acyclic optimum) so is the set of optimal duals. The model's ``capacity`` stays the
capacity as given.

Why both matter: the dual objective charges each boxed column's negative reduced cost r with
``r * bound``. The float32 noise of millions of reduced costs (about 1e-3 each) times bounds of
37,000 (CommaLAB grid15's capacities) held the relative gap at 2e-3 however long PDHG ran, and
times 1e9 (a capacity written for "uncapacitated") held a NETGEN network's at 1.0. Unbounded, the
same noise is measured in the dual residual, against the costs (bench/README.md, "Bounds that
cannot bind").

``aggregate="source"`` merges the commodities that share an origin into one (an exact
reformulation for this model: the costs do not depend on the commodity, so any flow of the merged
commodity decomposes into paths from the origin to its destinations); ``"none"`` keeps one
commodity per OD pair. The shadow price of arc a's capacity is ``-y_a >= 0`` of its coupling row.

Every model's LP uses :class:`scotopt.kernels.incidence.NetworkMatrix` (two int32 index arrays,
no CSR) and solves with PDHG on any backend; termination is verified on the host in float64.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from scotopt.kernels.incidence import NetworkMatrix, index_dtype
from scotopt.models.arc_order import blocked_order, chosen_order, default_tile_nodes, permuted_ends, tiled_order
from scotopt.problem import LP, is_constant_view, to_host
from scotopt.result import Result
from scotopt.status import InvalidProblemError, Status

# ----------------------------------------------------------------------------- validation


def _first(mask) -> int:
    return int(np.flatnonzero(mask)[0])


def _real(name, values, length=None):
    arr = to_host(values)
    if (
        arr.dtype == object
        or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_)
        or np.issubdtype(arr.dtype, np.complexfloating)
    ):
        raise InvalidProblemError(f"{name} must be real numeric data, got dtype {arr.dtype}")
    if length is not None and arr.ndim == 0:
        arr = np.broadcast_to(np.float64(arr), (length,))  # one value, no arc-length copy
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 1:
        raise InvalidProblemError(f"{name} must be 1-D, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise InvalidProblemError(f"{name} must have {length} entries (one per arc), got {arr.shape[0]}")
    bad = np.isnan(arr)
    if bad.any():
        raise InvalidProblemError(f"{name}[{_first(bad)}] is NaN")
    return arr


def _node_index(name, values, num_nodes):
    arr = to_host(values)
    if arr.ndim != 1:
        raise InvalidProblemError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating):
            raise InvalidProblemError(f"{name} must hold integer node indices, got dtype {arr.dtype}")
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            i = _first(bad)
            raise InvalidProblemError(f"{name}[{i}] = {arr[i]} is not an integer node index")
    if arr.size:
        bad = (arr < 0) | (arr >= num_nodes)
        if bad.any():
            i = _first(bad)
            raise InvalidProblemError(f"{name}[{i}] = {arr[i]} is out of range: nodes are numbered 0..{num_nodes - 1}")
    return np.asarray(arr, dtype=index_dtype(num_nodes))


def _all_zero(values) -> bool:
    """Whether every entry is 0 (one test for a broadcast scalar)."""
    if values.shape[0] and is_constant_view(values):
        return bool(values[0] == 0)
    return not np.any(values)


def _capacity(values, length):
    cap = _real("capacity", values, length)
    bad = cap < 0
    if bad.any():
        i = _first(bad)
        raise InvalidProblemError(f"capacity[{i}] = {cap[i]} is negative")
    return cap


def _finite(name, arr):
    bad = ~np.isfinite(arr)
    if bad.any():
        i = _first(bad)
        raise InvalidProblemError(f"{name}[{i}] = {arr[i]} must be finite")


def _permuted(values, order):
    """``values[order]``; a constant (stride-0) vector stays one."""
    return values if is_constant_view(values) else values[order]


def _saturated(flow, capacity, tol):
    return np.isfinite(capacity) & (
        capacity - flow <= tol * (1.0 + np.abs(np.where(np.isfinite(capacity), capacity, 0.0)))
    )


# ----------------------------------------------------------------------------- results


@dataclasses.dataclass
class FlowSolution:
    """A decoded min-cost-flow solve: every per-arc array indexed like the arcs given to the
    constructor (their input order, whatever order the model keeps them in), per-node ones like
    the nodes.

    ``flow``: f per arc; ``potentials``: y per node (dual of its balance row); ``reduced_costs``:
    cost - y_tail + y_head; ``capacity_prices``: max(0, -reduced cost) on arcs with a finite
    capacity (0 elsewhere); ``saturated``: f within ``tol (1 + capacity)`` of a finite capacity;
    ``lower_bound``: the Lagrangian bound s@y + sum min_{l<=f<=u} r f, a valid lower bound on the
    optimal cost for ANY y (-inf when an uncapacitated arc has a negative reduced cost).
    """

    status: Status
    objective: float
    flow: np.ndarray
    potentials: np.ndarray
    reduced_costs: np.ndarray
    capacity_prices: np.ndarray
    saturated: np.ndarray
    lower_bound: float
    result: Result


@dataclasses.dataclass
class MultiFlowSolution:
    """A decoded multicommodity solve.

    ``flow``: (K', E) flow per (model) commodity and arc, K' = number of origins with
    ``aggregate="source"`` (``commodity_origin`` gives each one's origin) or the number of OD
    pairs with ``"none"``; ``total_flow``: sum over commodities; ``potentials``: (K', V) node
    duals; ``capacity_prices``: -y of each arc's bundle row (>= 0); ``saturated``: total flow
    within ``tol (1 + capacity)`` of a finite capacity.
    """

    status: Status
    objective: float
    flow: np.ndarray
    total_flow: np.ndarray
    potentials: np.ndarray
    capacity_prices: np.ndarray
    saturated: np.ndarray
    commodity_origin: np.ndarray
    result: Result


# ----------------------------------------------------------------------------- min-cost flow


class MinCostFlow:
    """Single-commodity min-cost flow from arrays (see the module docstring for the LP).

    Parameters
    ----------
    tail, head : (E,) integer arrays of node indices in 0..V-1 (V = len(supply)).
    cost : (E,) array or scalar, finite.
    capacity : (E,) array or scalar, >= lower; +inf for an uncapacitated arc.
    supply : (V,) array, summing to 0 (within 1e-9 relative); positive = source.
    lower : (E,) array or scalar, finite, <= capacity.
    nodes : optional labels of the V nodes (kept for the decoder's users).
    arc_order : "auto" (default), "given", "blocked" or "tiled": the order the model keeps its
        arcs in (:mod:`scotopt.models.arc_order`). "blocked" sorts them by (head group, block of
        tail ids, head), which made an iteration 1.2-1.4x faster at 10^7 NETGEN arcs and 2x at
        10^8 (bench/README.md); "tiled" by (tail block, head block), for the propagation-blocked
        step of ``scotopt.kernels.network_fused`` (a further 20-28 % at 10^8). "auto" keeps the
        given order below 2^18 nodes or where it is local already (a grid written row by row:
        :func:`scotopt.models.arc_order.is_local`), blocks up to 2^22 nodes and tiles from there
        where no GPU backend is usable (on an H100 the tiled order was the slowest, the blocked
        one the fastest: :mod:`scotopt.models.arc_order`, "On a GPU"), else blocks
        (:func:`scotopt.models.arc_order.chosen_order`); "given" keeps the input order.
    block_nodes : nodes per tail block with "blocked" (default
        :func:`scotopt.models.arc_order.default_block_nodes`), nodes per tile side with "tiled"
        (default :func:`scotopt.models.arc_order.default_tile_nodes`); both sized to this
        machine's caches.
    head_groups : with "blocked" / "auto", the arcs are first cut by head into this many groups
        of equal length, each sorted by (tail block, head) (default: one per thread of the arc
        loop, :func:`scotopt.models.arc_order.default_head_groups`), so that each thread reaches
        only its group's heads at random.

    Lower bounds. Where ``lower`` is not all 0, ``model.lp`` is the LP in ``x = f - lower``
    (module docstring): ``scotopt.solve(model.lp)`` returns x, and :meth:`decode` (or
    :meth:`flow_of`) gives f. ``model.capacity``, ``lower`` and ``supply`` are the data as given.

    Arc order. ``model.tail``, ``head``, ``cost``, ``capacity``, ``lower``, ``operator`` and
    ``lp`` (so a ``scotopt.solve(model.lp)`` result's x) are in *model order*: model arc k is
    input arc ``model.input_arc[k]`` (``input_arc`` is None where the two orders agree, as always
    with "given"). The solution-level methods speak the input order: :meth:`decode` (and so
    :meth:`solve`) returns per-arc arrays in input order, and :meth:`objective` and
    :meth:`integral_flow` take and return input-order flows. :meth:`to_input_order` and
    :meth:`to_model_order` convert per-arc arrays. The reordering keeps one index per arc
    (4 B in int32).

    Raises
    ------
    InvalidProblemError
        naming the offending index: tail/head out of range or not integral, NaN anywhere,
        non-finite cost, supply or lower bound, negative capacity, lower > capacity, supplies
        that do not sum to zero (add a dummy node with the balance and free arcs to it if the
        imbalance is meant: that is the modelling decision we do not take silently).
    """

    def __init__(self, tail, head, cost, capacity, supply, lower=0.0, nodes=None, name=None, arc_order="auto",
                 block_nodes=None, head_groups=None):
        supply = _real("supply", supply)
        _finite("supply", supply)
        V = supply.shape[0]
        tail = _node_index("tail", tail, V)
        head = _node_index("head", head, V)
        if tail.shape != head.shape:
            raise InvalidProblemError(
                f"tail and head must have the same length, got {tail.shape[0]} and {head.shape[0]}"
            )
        E = tail.shape[0]
        cost = _real("cost", cost, E)
        _finite("cost", cost)
        capacity = _capacity(capacity, E)
        lower = _real("lower", lower, E)
        _finite("lower", lower)
        bad = lower > capacity
        if bad.any():
            i = _first(bad)
            raise InvalidProblemError(f"lower[{i}] = {lower[i]} > capacity[{i}] = {capacity[i]}")
        total = float(np.sum(supply))
        if abs(total) > 1e-9 * max(1.0, float(np.sum(np.abs(supply)))):
            raise InvalidProblemError(
                f"supplies sum to {total:g}, not 0: every unit supplied must be consumed. Add a dummy node "
                "with supply -sum and zero-cost arcs to it if excess supply (or demand) is allowed"
            )
        self.num_nodes, self.num_arcs = V, E
        self.nodes = nodes
        self.input_arc = None
        order_kind = chosen_order(arc_order, V, tail, head, block_nodes)
        tile_nodes = None
        if order_kind != "given" and E > 1:
            if order_kind == "tiled":
                tile_nodes = default_tile_nodes() if block_nodes is None else block_nodes
                order = tiled_order(tail, head, V, tile_nodes)
            else:
                order = blocked_order(tail, head, V, block_nodes, head_groups)
            if np.any(order[1:] < order[:-1]):  # else the input is in blocked order already
                self.input_arc = order
                # one at a time, so that each input-order copy can go before the next is made
                # (tail and head side by side on large networks: permuted_ends)
                # (apart in the tiled order, whose arc pass reads only tails and head pass only heads)
                tail, head = permuted_ends(tail, head, order, V, paired=False if tile_nodes else None)
                cost = _permuted(cost, order)
                capacity = _permuted(capacity, order)
                lower = _permuted(lower, order)
            del order
        self.operator = NetworkMatrix(tail, head, V, tile_nodes=tile_nodes)
        self._lower = self._supply = None  # kept only where the LP is shifted (class docstring)
        c0 = 0.0
        if not _all_zero(lower):
            self._lower, self._supply = lower, supply
            c0 = float(cost @ lower)
            supply = supply - np.bincount(tail, lower, V) + np.bincount(head, lower, V)
            capacity = capacity - lower
            lower = np.broadcast_to(np.float64(0.0), (E,))
        self._capacity_lp = None  # the LP-form capacities, kept only where some were dropped (module docstring)
        if np.all(cost >= 0):
            slack = np.isfinite(capacity) & (capacity > np.maximum(supply, 0.0).sum())
            if slack.any():
                self._capacity_lp, capacity = capacity, np.where(slack, np.inf, capacity)
            del slack
        self.lp = LP(
            cost, self.operator, con_lb=supply, con_ub=supply, var_lb=lower, var_ub=capacity, c0=c0,
            name=name or "mincostflow",
        )
        del cost, capacity, lower

    # the model keeps its data once, in the LP (float64) and the operator (int32), in model order;
    # with lower bounds the LP holds capacity - lower and the model the lower bounds and supplies;
    # where capacities that cannot bind were dropped (module docstring), the model keeps capacity - lower too
    tail = property(lambda self: self.operator.tail)
    head = property(lambda self: self.operator.head)
    cost = property(lambda self: self.lp.c)
    lower = property(lambda self: self.lp.var_lb if self._lower is None else self._lower)
    _capacity_of_lp = property(lambda self: self.lp.var_ub if self._capacity_lp is None else self._capacity_lp)
    capacity = property(
        lambda self: self._capacity_of_lp if self._lower is None else self._capacity_of_lp + self._lower
    )
    supply = property(lambda self: self.lp.con_lb if self._supply is None else self._supply)

    def flow_of(self, x):
        """The flow f = x + lower of the LP's solution x (model order)."""
        return x if self._lower is None else x + self._lower

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_networkx(cls, graph, demand="demand", capacity="capacity", weight="weight", name=None):
        """From a networkx DiGraph / MultiDiGraph with networkx's conventions.

        Node attribute ``demand`` = inflow - outflow (so supply = -demand; absent = 0); edge
        attributes ``capacity`` (absent = +inf) and ``weight`` (absent = 0). Node labels are kept
        in ``model.nodes`` in ``graph.nodes`` order.
        """
        labels = list(graph.nodes)
        position = {v: i for i, v in enumerate(labels)}
        supply = np.array([-float(graph.nodes[v].get(demand, 0.0)) for v in labels])
        edges = list(graph.edges(data=True))
        tail = np.fromiter((position[u] for u, _, _ in edges), dtype=np.int64, count=len(edges))
        head = np.fromiter((position[v] for _, v, _ in edges), dtype=np.int64, count=len(edges))
        cap = np.array([float(d.get(capacity, np.inf)) for _, _, d in edges])
        cost = np.array([float(d.get(weight, 0.0)) for _, _, d in edges])
        return cls(tail, head, cost, cap, supply, nodes=labels, name=name)

    @classmethod
    def from_edge_list(
        cls, edges, supply, tail="tail", head="head", cost="cost", capacity="capacity", lower=None, name=None
    ):
        """From an edge table: a pandas DataFrame, a dict of arrays or a NumPy structured array.

        ``edges[tail]`` / ``edges[head]`` are node labels: integers 0..V-1 when ``supply`` is an
        array of length V, or any hashable labels when ``supply`` is a dict / pandas Series
        {label: supply} (labels absent from it get supply 0). ``capacity`` absent = +inf,
        ``lower`` absent = 0.
        """

        def column(key, default=None):
            try:
                return to_host(np.asarray(edges[key]))
            except (KeyError, ValueError, IndexError) as exc:
                if default is not None:
                    return default
                raise InvalidProblemError(f"edge list has no column {key!r}") from exc

        t, h = column(tail), column(head)
        n = t.shape[0]
        c = column(cost)
        u = column(capacity, np.full(n, np.inf))
        lo = column(lower, np.zeros(n)) if lower is not None else np.zeros(n)
        if hasattr(supply, "items"):
            labels = np.unique(
                np.concatenate(
                    [
                        np.asarray(t, dtype=object),
                        np.asarray(h, dtype=object),
                        np.asarray(list(supply.keys()), dtype=object),
                    ]
                )
            )
            position = {v: i for i, v in enumerate(labels)}
            s = np.zeros(len(labels))
            for key, value in supply.items():
                s[position[key]] = value
            t = np.fromiter((position[v] for v in t), dtype=np.int64, count=n)
            h = np.fromiter((position[v] for v in h), dtype=np.int64, count=n)
            return cls(t, h, c, u, s, lower=lo, nodes=list(labels), name=name)
        return cls(t, h, c, u, supply, lower=lo, name=name)

    # ------------------------------------------------------------------ solve / decode
    def solve(self, **options) -> FlowSolution:
        """``scotopt.solve(self.lp, **options)`` decoded (options: backend, dtype, eps, ...)."""
        from scotopt.solvers.api import solve

        return self.decode(solve(self.lp, **options))

    def to_input_order(self, values):
        """A per-arc array in model order (the LP's columns) in the input order."""
        values = np.asarray(values)
        if self.input_arc is None:
            return values
        out = np.empty_like(values)
        out[self.input_arc] = values
        return out

    def to_model_order(self, values):
        """A per-arc array in the input order in model order (the LP's columns)."""
        values = np.asarray(values)
        return values if self.input_arc is None else values[self.input_arc]

    def objective(self, flow) -> float:
        """sum cost * flow, ``flow`` in the input order (``FlowSolution.flow``); ``self.lp.objective``
        takes the LP's x, in model order (x = flow - lower where the LP is shifted, class docstring)."""
        return float(self.lp.c @ self.to_model_order(np.asarray(flow, dtype=np.float64)))

    def lagrangian_bound(self, potentials) -> float:
        """min_{l<=f<=u} cost@f - y@(N f - supply): a lower bound on the optimum for any y."""
        y = np.asarray(potentials, dtype=np.float64)
        r = self.lp.c - self.operator.adjoint(y)
        lo, up = self.lp.var_lb, self._capacity_of_lp
        if np.any((r < 0) & np.isinf(up)):
            return -np.inf
        # on the shifted LP (f = x + lower) the same bound is its own plus c0: r@lower = c0 - y@(N lower)
        return float(
            self.lp.con_lb @ y + lo @ np.maximum(r, 0.0) + np.where(np.isinf(up), 0.0, up) @ np.minimum(r, 0.0)
            + self.lp.c0
        )

    def decode(self, result: Result, tol: float | None = None) -> FlowSolution:
        """Named results of a solve of ``self.lp``; ``tol`` for ``saturated`` (default: result.eps)."""
        tol = result.eps if tol is None or not np.isfinite(tol) else tol
        tol = tol if np.isfinite(tol) else 1e-6
        flow = self.flow_of(result.x)  # model order
        y = result.y
        r = self.lp.c - self.operator.adjoint(y)
        prices = np.where(np.isfinite(self.lp.var_ub), np.maximum(-r, 0.0), 0.0)
        saturated = _saturated(flow, self.capacity, tol)
        return FlowSolution(
            status=result.status,
            objective=float(self.lp.c @ flow),
            flow=self.to_input_order(flow),
            potentials=y,
            reduced_costs=self.to_input_order(r),
            capacity_prices=self.to_input_order(prices),
            saturated=self.to_input_order(saturated),
            lower_bound=self.lagrangian_bound(y),
            result=result,
        )

    def integral_flow(self, flow, potentials=None):
        """An exactly feasible integral flow near ``flow`` (see :mod:`scotopt.models.repair`);
        ``flow`` and the returned flow in the input order."""
        from scotopt.models.repair import integral_flow

        repaired = integral_flow(self, self.to_model_order(flow), potentials)
        return dataclasses.replace(repaired, flow=self.to_input_order(repaired.flow))

    def __repr__(self) -> str:
        order = "" if self.input_arc is None else ", arcs blocked"
        return f"MinCostFlow(nodes={self.num_nodes}, arcs={self.num_arcs}{order})"


# ----------------------------------------------------------------------------- multicommodity


class MultiCommodityFlow:
    """Linear multicommodity min-cost flow (arc-flow model, module docstring).

    Parameters
    ----------
    tail, head : (E,) node indices in 0..V-1.
    cost : (E,) finite; capacity : (E,) >= 0 (+inf allowed), shared by all commodities.
    origin, destination : (K,) node indices; demand : (K,) finite, >= 0.
    aggregate : "source" (one commodity per distinct origin) or "none" (one per OD pair).
    num_nodes : V (default: 1 + the largest node index used).
    """

    def __init__(
        self, tail, head, cost, capacity, origin, destination, demand, aggregate="source", num_nodes=None, name=None
    ):
        if aggregate not in ("source", "none"):
            raise InvalidProblemError(f"aggregate must be 'source' or 'none', got {aggregate!r}")
        if num_nodes is None:
            used = [to_host(v) for v in (tail, head, origin, destination)]
            num_nodes = 1 + int(max((np.max(u) for u in used if np.size(u)), default=-1))
        V = int(num_nodes)
        tail = _node_index("tail", tail, V)
        head = _node_index("head", head, V)
        if tail.shape != head.shape:
            raise InvalidProblemError("tail and head must have the same length")
        E = tail.shape[0]
        cost = _real("cost", cost, E)
        _finite("cost", cost)
        capacity = _capacity(capacity, E)
        origin = _node_index("origin", origin, V)
        destination = _node_index("destination", destination, V)
        demand = _real("demand", demand, origin.shape[0])
        _finite("demand", demand)
        bad = demand < 0
        if bad.any():
            i = _first(bad)
            raise InvalidProblemError(f"demand[{i}] = {demand[i]} is negative (swap origin and destination)")
        if destination.shape != origin.shape:
            raise InvalidProblemError("origin, destination and demand must have the same length")
        if aggregate == "source":
            groups, which = np.unique(origin, return_inverse=True)
        else:
            groups, which = origin.copy(), np.arange(origin.shape[0])
        K = groups.shape[0]
        balance = np.zeros((K, V))
        np.add.at(balance, (which, origin), demand)
        np.add.at(balance, (which, destination), -demand)
        self.num_nodes, self.num_arcs, self.num_commodities = V, E, K
        self.aggregate = aggregate
        self.commodity_origin = groups
        self.commodity_of_pair = which
        self.origin, self.destination, self.demand = origin, destination, demand
        self.operator = NetworkMatrix(tail, head, V, num_commodities=K, coupling=True)
        self.lp = LP(
            np.tile(cost, K),
            self.operator,
            con_lb=np.concatenate([balance.reshape(-1), np.full(E, -np.inf)]),
            con_ub=np.concatenate([balance.reshape(-1), capacity]),
            var_lb=0.0,
            var_ub=np.inf,  # x_ka <= capacity_a is implied by the coupling row (module docstring)
            name=name or "mmcf",
        )
        self.cost, self.capacity = cost, capacity

    tail = property(lambda self: self.operator.tail)
    head = property(lambda self: self.operator.head)

    def solve(self, **options) -> MultiFlowSolution:
        from scotopt.solvers.api import solve

        return self.decode(solve(self.lp, **options))

    def decode(self, result: Result, tol: float | None = None) -> MultiFlowSolution:
        tol = result.eps if tol is None else tol
        tol = tol if np.isfinite(tol) else 1e-6
        K, V, E = self.num_commodities, self.num_nodes, self.num_arcs
        flow = result.x.reshape(K, E)
        total = flow.sum(axis=0)
        return MultiFlowSolution(
            status=result.status,
            objective=float(self.lp.c @ result.x),
            flow=flow,
            total_flow=total,
            potentials=result.y[: K * V].reshape(K, V),
            capacity_prices=np.maximum(-result.y[K * V :], 0.0),
            saturated=_saturated(total, self.capacity, tol),
            commodity_origin=self.commodity_origin,
            result=result,
        )

    def __repr__(self) -> str:
        return (
            f"MultiCommodityFlow(nodes={self.num_nodes}, arcs={self.num_arcs}, "
            f"commodities={self.num_commodities}, aggregate={self.aggregate!r})"
        )
