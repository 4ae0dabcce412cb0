"""Truck fill and load consolidation: the model, its candidate set and its LP relaxation.

Data. Shipments i = 1..n: weight w_i, volume v_i, release time r_i, due time e_i, lane l_i
(an origin-destination pair) and a fallback cost f_i (parcel / less-than-truckload). Candidate
departures d = 1..D: lane L_d, departure time t_d, transit time T_d, fixed cost F_d per truck,
weight and volume capacity W_d, V_d per truck, at most M_d trucks, and a cost a_d per unit of
weight carried (so that assigning i to d costs c_id = a_d w_i).

Candidate set. Shipment i may travel on departure d iff the lanes agree, it is released before
the truck leaves and arrives on time, and it fits one truck:

    K = {(i, d): l_i = L_d,  r_i <= t_d,  t_d + T_d <= e_i,  w_i <= W_d,  v_i <= V_d}.

It is built without a Python loop: departures sorted by (lane, time), two merged sorts give each
shipment its range of departures with r_i <= t_d <= e_i - min_lane T, expanded with ``repeat``,
then filtered by arrival and size.

Integer model (x_k = 1 if pair k = (i, d) is used, y_d trucks on departure d, z_i = 1 if i goes
by fallback):

    min   sum_d F_d y_d + sum_k c_k x_k + sum_i f_i z_i
    s.t.  sum_{k=(i,.)} x_k + z_i = 1                    (each shipment once, or fallback)
          sum_{k=(.,d)} (w_i / W_d) x_k <= y_d           (weight, in trucks)
          sum_{k=(.,d)} (v_i / V_d) x_k <= y_d           (volume, in trucks)
          x_k <= y_d                                     (strong linking)
          x, z in {0, 1},  y_d in {0, .., M_d}.

The weight and volume rows of the integer model only bound the *departure's* load; the load of
every single truck is the packing that :mod:`scotopt.models.truck_plan` builds (the LP above is
the usual aggregated relaxation of the truck-indexed model, whose columns are symmetric). Its LP
relaxation (x, z in [0, 1], y in [0, M]) is what :meth:`TruckLoading.lp` builds, as one SciPy
CSR matrix (rows scaled to truck units so that PDHG sees coefficients of order one). Every
variable is boxed, so for *any* row duals the Lagrangian value ``kkt_report(lp, x, y).dual_
objective`` is a valid lower bound; :meth:`TruckLoading.lp_bound` reports that number, not the
primal objective of an approximate solve.

References: the strong linking inequalities x_id <= y_d of capacitated facility location
(Cornuejols, Sridharan & Thizy 1991); service network design with consolidation (Crainic 2000).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from scotopt.problem import LP
from scotopt.status import InvalidProblemError

__all__ = ["TruckLoading", "TruckRelaxation", "SHIPMENT_FIELDS", "DEPARTURE_FIELDS"]

# name: default (None = required)
SHIPMENT_FIELDS = {"weight": None, "volume": 0.0, "release": -np.inf, "due": np.inf, "lane": 0,
                   "fallback_cost": None}
DEPARTURE_FIELDS = {"lane": 0, "time": 0.0, "transit": 0.0, "fixed_cost": None, "weight_capacity": None,
                    "volume_capacity": 1.0, "max_trucks": None, "cost_per_weight": 0.0}
_TIME_FIELDS = {"release", "due", "time"}  # infinite values allowed (no window)


def _column(table: Mapping, name: str, default, size: int | None, owner: str) -> np.ndarray:
    if name not in table:
        if default is None:
            raise InvalidProblemError(f"{owner} needs a '{name}' array")
        if size is None:
            raise InvalidProblemError(f"{owner}: cannot size the default of '{name}'")
        return np.full(size, default, dtype=np.int64 if name == "lane" else np.float64)
    raw = np.asarray(table[name])
    if raw.dtype.kind not in "biuf":
        raise InvalidProblemError(f"{owner}['{name}'] must be numeric, got dtype {raw.dtype}")
    arr = raw.astype(np.float64 if name != "lane" else raw.dtype, copy=False).reshape(-1)
    if size is not None and arr.shape[0] != size:
        raise InvalidProblemError(f"{owner}['{name}'] has {arr.shape[0]} entries, expected {size} "
                                  f"(like {owner}'s first array)")
    if arr.dtype.kind == "f":
        bad = np.isnan(arr) if name in _TIME_FIELDS else ~np.isfinite(arr)
        if bad.any():
            raise InvalidProblemError(f"{owner}['{name}'][{int(np.flatnonzero(bad)[0])}] is "
                                      f"{arr[bad][0]}: NaN{'' if name in _TIME_FIELDS else ' or inf'} not allowed")
    if name == "lane":
        if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
            raise InvalidProblemError(f"{owner}['lane'] must hold integer lane ids")
        arr = arr.astype(np.int64)
    return arr


def _table(table: Mapping, fields: dict, owner: str) -> dict:
    if not isinstance(table, Mapping):
        raise InvalidProblemError(f"{owner} must be a mapping of column name -> array, got {type(table).__name__}")
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise InvalidProblemError(f"{owner}: unknown column(s) {unknown}; known: {sorted(fields)}")
    present = [name for name in fields if name in table]
    size = None
    out = {}
    for name in present + [n for n in fields if n not in table]:
        out[name] = _column(table, name, fields[name], size, owner)
        size = out[name].shape[0] if size is None else size
    return out


def _require(condition: np.ndarray, message: str):
    bad = np.flatnonzero(~condition)
    if bad.size:
        raise InvalidProblemError(message.format(index=int(bad[0])))


def _ranks_before(dep_lane, dep_time, query_lane, query_time, ties_count: bool) -> np.ndarray:
    """Number of departures that sort before each query in (lane, time) order.

    With ``ties_count`` a departure at the query's own time counts as before (time <= q),
    otherwise not (time < q). One merged lexsort, no Python loop.
    """
    D = dep_lane.size
    lane = np.concatenate([dep_lane, query_lane])
    time = np.concatenate([dep_time, query_time])
    # at equal (lane, time): kind 0 sorts first
    kind = np.concatenate([np.full(D, 0 if ties_count else 1, np.int8), np.full(query_lane.size, 1 if ties_count
                                                                                    else 0, np.int8)])
    order = np.lexsort((kind, time, lane))
    is_departure = order < D
    before = np.cumsum(is_departure)
    ranks = np.empty(query_lane.size, dtype=np.int64)
    query_positions = np.flatnonzero(~is_departure)
    ranks[order[query_positions] - D] = before[query_positions]
    return ranks


@dataclasses.dataclass
class TruckRelaxation:
    """A (fractional) point of the LP relaxation, decoded by name.

    ``trucks`` (D,): y; ``assignment`` (K,): x per candidate pair; ``fallback`` (n,): z;
    ``weight_fill`` / ``volume_fill`` (D,): load / (capacity * trucks) where trucks > 0 (nan
    elsewhere); ``cost``: dict with ``trucks``, ``assignment``, ``fallback`` and ``total``.
    """

    trucks: np.ndarray
    assignment: np.ndarray
    fallback: np.ndarray
    weight_fill: np.ndarray
    volume_fill: np.ndarray
    cost: dict


class TruckLoading:
    """The model of the module docstring from two tables of arrays.

    Parameters
    ----------
    shipments : mapping
        ``weight``, ``fallback_cost`` (required); ``volume`` (0), ``release`` (-inf),
        ``due`` (+inf), ``lane`` (0): one entry per shipment.
    departures : mapping
        ``fixed_cost``, ``weight_capacity``, ``max_trucks`` (required); ``lane`` (0), ``time``
        (0), ``transit`` (0), ``volume_capacity`` (1), ``cost_per_weight`` (0).
    strong_linking : bool
        Add the rows x_k <= y_d to the LP (default True; without them the LP bound is weaker).
    """

    def __init__(self, shipments: Mapping, departures: Mapping, strong_linking: bool = True):
        s = _table(shipments, SHIPMENT_FIELDS, "shipments")
        d = _table(departures, DEPARTURE_FIELDS, "departures")
        self.weight, self.volume = s["weight"], s["volume"]
        self.release, self.due, self.lane, self.fallback_cost = s["release"], s["due"], s["lane"], s["fallback_cost"]
        self.departure_lane, self.departure_time, self.transit = d["lane"], d["time"], d["transit"]
        self.fixed_cost, self.weight_capacity = d["fixed_cost"], d["weight_capacity"]
        self.volume_capacity, self.cost_per_weight = d["volume_capacity"], d["cost_per_weight"]
        self.max_trucks = d["max_trucks"]
        _require(self.weight >= 0, "shipments['weight'][{index}] is negative")
        _require(self.volume >= 0, "shipments['volume'][{index}] is negative")
        _require(self.fallback_cost >= 0, "shipments['fallback_cost'][{index}] is negative")
        _require(self.release <= self.due, "shipments: release > due for shipment {index}")
        _require(np.isfinite(self.departure_time), "departures['time'][{index}] must be finite")
        _require(self.transit >= 0, "departures['transit'][{index}] is negative")
        _require(self.fixed_cost >= 0, "departures['fixed_cost'][{index}] is negative")
        _require(self.cost_per_weight >= 0, "departures['cost_per_weight'][{index}] is negative")
        _require(self.weight_capacity > 0, "departures['weight_capacity'][{index}] must be positive")
        _require(self.volume_capacity > 0, "departures['volume_capacity'][{index}] must be positive")
        _require((self.max_trucks >= 0) & (self.max_trucks == np.round(self.max_trucks)),
                 "departures['max_trucks'][{index}] must be a non-negative integer")
        self.max_trucks = self.max_trucks.astype(np.int64)
        self.strong_linking = bool(strong_linking)
        self.num_shipments, self.num_departures = self.weight.size, self.fixed_cost.size
        self._build_candidates()

    # ------------------------------------------------------------------ candidate set
    def _build_candidates(self):
        D = self.num_departures
        order = np.lexsort((self.departure_time, self.departure_lane))
        lanes, lane_index = np.unique(np.concatenate([self.departure_lane, self.lane]), return_inverse=True)
        dep_lane, ship_lane = lane_index[:D], lane_index[D:]
        self.departure_lane_index = dep_lane  # dense lane ids 0..lanes-1 (lanes are independent subproblems)
        min_transit = np.full(lanes.size, np.inf)
        np.minimum.at(min_transit, dep_lane, self.transit)
        min_transit[~np.isfinite(min_transit)] = 0.0  # lanes without departures (no candidates anyway)
        first = _ranks_before(dep_lane, self.departure_time, ship_lane, self.release, ties_count=False)
        last = _ranks_before(dep_lane, self.departure_time, ship_lane, self.due - min_transit[ship_lane],
                             ties_count=True)
        counts = np.maximum(last - first, 0)
        total = int(counts.sum())
        index_type = np.int32 if max(self.num_shipments, D) < 2**31 - 1 else np.int64
        shipment = np.repeat(np.arange(self.num_shipments, dtype=index_type), counts)
        offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        departure = order[np.repeat(first, counts) + offsets].astype(index_type)
        del offsets
        keep = ((self.departure_time[departure] + self.transit[departure] <= self.due[shipment])
                & (self.weight[shipment] <= self.weight_capacity[departure])
                & (self.volume[shipment] <= self.volume_capacity[departure])
                & (self.max_trucks[departure] >= 1))
        self.pair_shipment, self.pair_departure = shipment[keep], departure[keep]
        self.pair_cost = self.cost_per_weight[self.pair_departure] * self.weight[self.pair_shipment]
        self.num_pairs = self.pair_shipment.size

    def pair_sizes(self):
        """(w_i / W_d, v_i / V_d) of every candidate pair: the shipment's share of one truck."""
        return (self.weight[self.pair_shipment] / self.weight_capacity[self.pair_departure],
                self.volume[self.pair_shipment] / self.volume_capacity[self.pair_departure])

    # ------------------------------------------------------------------ the LP relaxation
    @property
    def num_variables(self) -> int:
        return self.num_pairs + self.num_departures + self.num_shipments

    def cost_vector(self) -> np.ndarray:
        """Objective of the LP columns [x (pairs), y (departures), z (shipments)]."""
        return np.concatenate([self.pair_cost, self.fixed_cost, self.fallback_cost])

    def lp(self) -> LP:
        """The LP relaxation of the module docstring (columns x, y, z; rows: assignment, weight,
        volume, then linking when ``strong_linking``)."""
        n, D, K = self.num_shipments, self.num_departures, self.num_pairs
        pairs = np.arange(K)
        y_col = K + self.pair_departure.astype(np.int64)
        weight_share, volume_share = self.pair_sizes()
        blocks_row = [self.pair_shipment.astype(np.int64), np.arange(n)]
        blocks_col = [pairs, K + D + np.arange(n)]
        blocks_val = [np.ones(K), np.ones(n)]
        for offset, share in ((n, weight_share), (n + D, volume_share)):
            blocks_row += [offset + self.pair_departure.astype(np.int64), offset + np.arange(D)]
            blocks_col += [pairs, K + np.arange(D)]
            blocks_val += [share, -np.ones(D)]
        rows = n + 2 * D
        if self.strong_linking:
            blocks_row += [rows + pairs, rows + pairs]
            blocks_col += [pairs, y_col]
            blocks_val += [np.ones(K), -np.ones(K)]
            rows += K
        A = sp.csr_matrix((np.concatenate(blocks_val), (np.concatenate(blocks_row), np.concatenate(blocks_col))),
                          shape=(rows, self.num_variables))
        con_lb = np.concatenate([np.ones(n), np.full(rows - n, -np.inf)])
        con_ub = np.concatenate([np.ones(n), np.zeros(rows - n)])
        var_ub = np.concatenate([np.ones(K), self.max_trucks.astype(np.float64), np.ones(n)])
        return LP(self.cost_vector(), A, con_lb, con_ub, np.zeros(self.num_variables), var_ub, name="truck_lp")

    @classmethod
    def bench_instance(cls, size: int, seed: int = 0) -> TruckLoading:
        """The ``scotopt bench`` instance of ``size``: 50 size shipments on 5 size departures of
        the random family (:func:`scotopt.models.truck_generators.random_truck_instance`)."""
        from scotopt.models.truck_generators import random_truck_instance

        return random_truck_instance(50 * int(size), 5 * int(size), seed=seed)

    def lp_bound(self, eps: float = 1e-6, **solve_options):
        """Solve the LP relaxation by PDHG; return ``(bound, result)``.

        ``bound`` is the Lagrangian (dual) value of the returned row duals, valid whatever the
        solve's accuracy because every column is boxed (see the module docstring).
        """
        from scotopt.solvers.api import solve
        from scotopt.solvers.kkt import kkt_report

        lp = self.lp()
        result = solve(lp, method="pdhg", eps=eps, **solve_options)
        return float(kkt_report(lp, result.x, result.y).dual_objective), result

    def split(self, vector) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, z) views of an LP column vector."""
        vector = np.asarray(vector, dtype=np.float64)
        if vector.shape != (self.num_variables,):
            raise InvalidProblemError(f"expected a vector of {self.num_variables} LP columns, got {vector.shape}")
        K, D = self.num_pairs, self.num_departures
        return vector[:K], vector[K:K + D], vector[K + D:]

    def decode(self, vector) -> TruckRelaxation:
        """Name the parts of an LP point: trucks, assignment, fallback, fill rates, costs."""
        x, y, z = self.split(vector)
        D = self.num_departures
        load_w = np.bincount(self.pair_departure, x * self.weight[self.pair_shipment], D)
        load_v = np.bincount(self.pair_departure, x * self.volume[self.pair_shipment], D)
        with np.errstate(invalid="ignore", divide="ignore"):
            weight_fill = np.where(y > 0, load_w / (self.weight_capacity * y), np.nan)
            volume_fill = np.where(y > 0, load_v / (self.volume_capacity * y), np.nan)
        cost = {"trucks": float(np.sum(self.fixed_cost * y)), "assignment": float(np.sum(self.pair_cost * x)),
                "fallback": float(np.sum(self.fallback_cost * z))}
        cost["total"] = cost["trucks"] + cost["assignment"] + cost["fallback"]
        return TruckRelaxation(y.copy(), x.copy(), z.copy(), weight_fill, volume_fill, cost)

    def __repr__(self) -> str:
        return (f"TruckLoading(shipments={self.num_shipments}, departures={self.num_departures}, "
                f"candidate pairs={self.num_pairs})")

    def solve(self, **options):
        """Bounds and an integer plan: :func:`scotopt.models.truck_solve.solve_truck_loading`."""
        from scotopt.models.truck_solve import solve_truck_loading

        return solve_truck_loading(self, **options)
