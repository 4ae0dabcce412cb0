"""The truck-indexed MIP of a truck-loading instance, for HiGHS (the reference in tests and benchmarks).

Unlike the aggregated model of :mod:`scotopt.models.truck` (capacity per departure, y_d integer),
this one names every truck, so its optimum is the optimum of the real problem, in which each
truck's own load must fit. Binaries x_kt (pair k = (i, d) on truck t < M_d), y_dt (truck t of
departure d used), z_i (fallback):

    min   sum F_d y_dt + sum c_k x_kt + sum f_i z_i
    s.t.  sum_{k=(i,.), t} x_kt + z_i = 1,
          sum_{k=(.,d)} (w_i / W_d) x_kt <= y_dt,   sum_{k=(.,d)} (v_i / V_d) x_kt <= y_dt,
          x_kt <= y_dt,   y_dt >= y_d,t+1  (trucks used in order: breaks the symmetry).

Its LP relaxation equals the aggregated LP's (sum the truck copies). Sizes grow with
K * M_d, so this is for instances up to about 10^5 shipments with few trucks per departure.
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp

from scotopt.io.highs import quiet_highs, to_highs_lp
from scotopt.models.truck import TruckLoading
from scotopt.problem import LP

__all__ = ["truck_indexed_mip", "solve_truck_mip"]


def truck_indexed_mip(model: TruckLoading, max_trucks: np.ndarray | None = None):
    """(LP of the MIP's relaxation, column labels) with columns [x_kt, y_dt, z_i].

    Labels: ``pair`` and ``truck`` of every x column, ``departure`` and ``truck`` of every y
    column. ``max_trucks`` caps M_d (fewer truck copies; a restriction, not a relaxation).
    """
    n, D = model.num_shipments, model.num_departures
    M = np.minimum(model.max_trucks, model.max_trucks if max_trucks is None else max_trucks).astype(np.int64)
    trucks_of_pair = M[model.pair_departure]
    x_pair = np.repeat(np.arange(model.num_pairs), trucks_of_pair)
    x_truck = np.arange(x_pair.size) - np.repeat(np.cumsum(trucks_of_pair) - trucks_of_pair, trucks_of_pair)
    y_dep = np.repeat(np.arange(D), M)
    y_first = np.cumsum(M) - M                     # column offset (within y) of truck 0 of each departure
    y_truck = np.arange(y_dep.size) - np.repeat(y_first, M)
    X, Y = x_pair.size, y_dep.size
    y_of_x = X + y_first[model.pair_departure[x_pair]] + x_truck
    weight_share, volume_share = model.pair_sizes()
    cols = np.arange(X)
    rows, cols_all, vals = [model.pair_shipment[x_pair].astype(np.int64), np.arange(n)], [cols, X + Y + np.arange(n)], \
        [np.ones(X), np.ones(n)]
    r = n
    for share in (weight_share, volume_share):
        y_row = r + (y_of_x - X)
        rows += [y_row, r + np.arange(Y)]
        cols_all += [cols, X + np.arange(Y)]
        vals += [share[x_pair], -np.ones(Y)]
        r += Y
    rows += [r + cols, r + cols]
    cols_all += [cols, y_of_x]
    vals += [np.ones(X), -np.ones(X)]
    r += X
    later = np.flatnonzero(y_truck > 0)  # y_{d,t} - y_{d,t-1} <= 0
    rows += [r + np.arange(later.size), r + np.arange(later.size)]
    cols_all += [X + later, X + later - 1]
    vals += [np.ones(later.size), -np.ones(later.size)]
    r += later.size
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols_all))),
                      shape=(r, X + Y + n))
    c = np.concatenate([model.pair_cost[x_pair], model.fixed_cost[y_dep], model.fallback_cost])
    lp = LP(c, A, np.concatenate([np.ones(n), np.full(r - n, -np.inf)]),
            np.concatenate([np.ones(n), np.zeros(r - n)]), np.zeros(X + Y + n), np.ones(X + Y + n),
            name="truck_mip")
    return lp, {"pair": x_pair, "truck": x_truck, "departure": y_dep, "y_truck": y_truck}


def solve_truck_mip(model: TruckLoading, time_limit: float | None = None, relax: bool = False,
                    max_trucks=None, threads: int = 1, mip_rel_gap: float = 1e-6) -> dict:
    """Solve the truck-indexed MIP (or its LP relaxation) with HiGHS.

    Returns ``objective`` (incumbent, nan if none), ``bound`` (HiGHS's dual bound), ``gap``
    ((objective - bound) / max(1, |objective|)), ``status``, ``seconds``, and the plan as
    ``departure`` / ``truck`` arrays (n,), -1 for fallback, when an incumbent exists.
    """
    import highspy

    lp, labels = truck_indexed_mip(model, max_trucks)
    highspy.Highs.resetGlobalScheduler(True)
    h = quiet_highs()
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    hlp = to_highs_lp(lp)
    if not relax:
        hlp.integrality_ = [highspy.HighsVarType.kInteger] * lp.num_vars
    h.passModel(hlp)
    started = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - started
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    solution = h.getSolution()
    out = {"status": status, "seconds": seconds, "objective": math.nan, "bound": math.nan, "gap": math.inf,
           "departure": None, "truck": None, "columns": lp.num_vars, "rows": lp.num_rows}
    if relax:
        out["objective"] = out["bound"] = float(info.objective_function_value)
        out["gap"] = 0.0
        return out
    out["bound"] = float(info.mip_dual_bound)
    if solution.value_valid:
        value = np.asarray(solution.col_value)
        out["objective"] = float(info.objective_function_value)
        out["gap"] = (out["objective"] - out["bound"]) / max(1.0, abs(out["objective"]))
        on = np.flatnonzero(value[:labels["pair"].size] > 0.5)
        departure = np.full(model.num_shipments, -1, dtype=np.int64)
        truck = np.full(model.num_shipments, -1, dtype=np.int64)
        pairs = labels["pair"][on]
        departure[model.pair_shipment[pairs]] = model.pair_departure[pairs]
        truck[model.pair_shipment[pairs]] = labels["truck"][on]
        out["departure"], out["truck"] = departure, truck
    return out
