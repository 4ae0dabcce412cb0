"""An independent, loop-by-loop assembly of the inventory scenario LP, for tests only.

Written from the formulation in scotopt/models/inventory.py's docstring, one row at a time, with
no code shared with scotopt.kernels.inventory, so that the matrix-free operator, its scaling and
the model's right-hand sides are checked against something they could disagree with.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def explicit_lp(model):
    """(c, A, row_lb, row_ub, var_lb, var_ub) as dense vectors and a CSR matrix."""
    S, T, N, P, L = model.shape
    C = sp.csr_matrix(model.lane_inputs).toarray()
    expediting = model.expedite_cost is not None
    columns = {}

    def column(key):
        columns.setdefault(key, len(columns))
        return columns[key]

    # column order of the model: q[t, l, p], then I, B, E over (s, t, n, p)
    for t in range(T):
        for l in range(L):
            for p in range(P):
                column(("q", t, l, p))
    kinds = ["I", "B"] + (["E"] if expediting else [])
    for kind in kinds:
        for s in range(S):
            for t in range(T):
                for n in range(N):
                    for p in range(P):
                        column((kind, s, t, n, p))
    nvar = len(columns)
    c = np.zeros(nvar)
    lb = np.zeros(nvar)
    ub = np.full(nvar, np.inf)
    has_demand = (model.demand > 0).any(axis=(0, 1))
    for (kind, *idx), j in columns.items():
        if kind == "q":
            t, l, p = idx
            c[j] = model.lane_cost[t, l, p]
            if t + model.lane_lead_time[l] >= T:
                ub[j] = 0.0
            continue
        s, t, n, p = idx
        pi = model.probabilities[s]
        if kind == "I":
            c[j] = pi * model.holding_cost[t, n, p]
        elif kind == "B":
            c[j] = pi * model.backorder_cost[t, n, p]
            if not has_demand[n, p]:
                ub[j] = 0.0
            elif model.lost_sales:
                ub[j] = model.demand[s, t, n, p]
        else:
            e = model.expedite_cost[t, n, p]
            if np.isfinite(e):
                c[j] = pi * e
            else:
                ub[j] = 0.0

    rows, cols, vals, rlb, rub = [], [], [], [], []

    def row(entries, lo, hi):
        r = len(rlb)
        for j, v in entries:
            rows.append(r)
            cols.append(j)
            vals.append(v)
        rlb.append(lo)
        rub.append(hi)

    for s in range(S):
        for t in range(T):
            for n in range(N):
                for p in range(P):
                    e = [(columns[("I", s, t, n, p)], 1.0), (columns[("B", s, t, n, p)], -1.0)]
                    if expediting:
                        e.append((columns[("E", s, t, n, p)], -1.0))
                    if t > 0:
                        e.append((columns[("I", s, t - 1, n, p)], -1.0))
                        if not model.lost_sales:
                            e.append((columns[("B", s, t - 1, n, p)], 1.0))
                    for l in range(L):
                        if C[n, l] != 0:
                            e.append((columns[("q", t, l, p)], C[n, l]))
                        tau = t - model.lane_lead_time[l]
                        if model.lane_target[l] == n and tau >= 0:
                            e.append((columns[("q", tau, l, p)], -1.0))
                    rhs = model.in_transit[t, n, p] - model.demand[s, t, n, p]
                    if t == 0:
                        rhs += model.initial_inventory[n, p]
                    row(e, rhs, rhs)
    if model.storage_capacity is not None:
        for s in range(S):
            for t in range(T):
                for n in range(N):
                    row([(columns[("I", s, t, n, p)], model.volume[p]) for p in range(P)],
                        -np.inf, model.storage_capacity[t, n])
    if model.lane_capacity is not None:
        for t in range(T):
            for l in range(L):
                row([(columns[("q", t, l, p)], model.lane_volume[p]) for p in range(P)],
                    -np.inf, model.lane_capacity[t, l])
    A = sp.csr_matrix((vals, (rows, cols)), shape=(len(rlb), nvar))
    A.sum_duplicates()
    return c, A, np.array(rlb), np.array(rub), lb, ub


def highs_objective(model):
    """Optimal objective and row duals of :func:`explicit_lp` by HiGHS (scipy's linprog)."""
    from scipy.optimize import linprog

    c, A, rlb, rub, lb, ub = explicit_lp(model)
    eq = rlb == rub
    A_eq, b_eq = A[eq], rlb[eq]
    upper = ~eq & np.isfinite(rub)
    res = linprog(c, A_ub=A[upper], b_ub=rub[upper], A_eq=A_eq, b_eq=b_eq,
                  bounds=list(zip(lb, ub, strict=True)), method="highs")
    assert res.status == 0, res.message
    return res.fun, res


def cvxpy_objective(model):
    """Optimal objective of :func:`explicit_lp` by CVXPY's default LP solver (Clarabel)."""
    import cvxpy as cp

    c, A, rlb, rub, lb, ub = explicit_lp(model)
    x = cp.Variable(c.size)
    eq = rlb == rub
    upper = ~eq & np.isfinite(rub)
    cons = [A[eq] @ x == rlb[eq], x >= lb]
    if upper.any():
        cons.append(A[upper] @ x <= rub[upper])
    fin = np.isfinite(ub)
    if fin.any():
        cons.append(x[np.flatnonzero(fin)] <= ub[fin])
    problem = cp.Problem(cp.Minimize(c @ x), cons)
    problem.solve(solver=cp.CLARABEL)
    return problem.value
