"""Lagrangian relaxation of multicommodity flow capacities: the best bound equals the LP optimum
(HiGHS on the full arc-commodity LP), and the bound never exceeds it."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from problems import highs_solve

from scotopt import LP, InvalidProblemError
from scotopt.models.mmcf_lagrangian import LagrangianMMCF
from scotopt.solvers.lagrangian import LagrangianOptions


def grid_mmcf(side=4, commodities=8, seed=0):
    rng = np.random.default_rng(seed)
    node = np.arange(side * side).reshape(side, side)
    pairs = [(node[i, j], node[i, j + 1]) for i in range(side) for j in range(side - 1)]
    pairs += [(node[i, j], node[i + 1, j]) for i in range(side - 1) for j in range(side)]
    tail = np.array([a for a, b in pairs] + [b for a, b in pairs])
    head = np.array([b for a, b in pairs] + [a for a, b in pairs])
    cost = rng.uniform(1, 10, tail.size)
    origin = rng.integers(0, side * side, commodities)
    destination = (origin + rng.integers(1, side * side, commodities)) % (side * side)
    demand = rng.uniform(5, 15, commodities)
    capacity = rng.uniform(10, 30, tail.size)  # tight enough that some capacities bind
    return LagrangianMMCF(tail, head, cost, capacity, origin, destination, demand, num_nodes=side * side)


def full_lp(model: LagrangianMMCF) -> LP:
    """The arc-commodity LP: conservation per (commodity, node), capacity per arc."""
    E, K, N = model.tail.size, model.origin.size, model.num_nodes
    columns = np.arange(E * K).reshape(K, E)  # x[k, a]
    rows, cols, vals = [], [], []
    for k in range(K):
        rows += [k * N + model.tail, k * N + model.head]
        cols += [columns[k], columns[k]]
        vals += [np.ones(E), -np.ones(E)]
    conservation = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                 shape=(K * N, E * K))
    supply = np.zeros((K, N))
    supply[np.arange(K), model.origin] += model.demand
    supply[np.arange(K), model.destination] -= model.demand
    capacity = sp.hstack([sp.eye(E)] * K)
    A = sp.vstack([conservation, capacity]).tocsr()
    lb = np.concatenate([supply.reshape(-1), np.full(E, -np.inf)])
    ub = np.concatenate([supply.reshape(-1), model.capacity])
    return LP(np.tile(model.cost, K), A, lb, ub)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("method", ["volume", "polyak"])
def test_bound_equals_lp_optimum(seed, method):
    model = grid_mmcf(seed=seed)
    status, optimum, _, _ = highs_solve(full_lp(model))
    assert status == "optimal"
    result = model.solve(method=method, upper_bound=None, options=LagrangianOptions(max_iterations=3000))
    assert result.lower_bound <= optimum * (1 + 1e-9) + 1e-9  # a Lagrangian bound never crosses
    assert result.lower_bound >= optimum - 1e-3 * abs(optimum)


def test_bad_network():
    with pytest.raises(InvalidProblemError, match="not a node"):
        LagrangianMMCF([0], [5], [1.0], [1.0], [0], [1], [1.0], num_nodes=2)
    with pytest.raises(InvalidProblemError, match="non-negative"):
        LagrangianMMCF([0], [1], [-1.0], [1.0], [0], [1], [1.0])


COMMALAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "mmcf_commalab"


def _commalab_index():
    if not (COMMALAB / "index.csv").exists():
        return {}
    with open(COMMALAB / "index.csv", newline="") as fh:
        return {row["name"]: row for row in csv.DictReader(fh)}


def _check_commalab(name, iterations):
    reader = pytest.importorskip("scotopt.io.commalab", reason="the CommaLAB reader comes with the network models")
    row = _commalab_index().get(name)
    if row is None:
        pytest.skip(f"CommaLAB data not found at {COMMALAB}")
    arrays = reader.read_commalab_arrays(COMMALAB / row["file"])
    model = LagrangianMMCF(arrays["tail"], arrays["head"], arrays["cost"], arrays["capacity"], arrays["origin"],
                           arrays["destination"], arrays["demand"], num_nodes=arrays["num_nodes"])
    optimum = float(row["optimal_objective"])
    result = model.solve(method="volume", options=LagrangianOptions(max_iterations=iterations))
    assert result.lower_bound <= optimum * (1 + 1e-9)  # bounds never cross
    assert result.lower_bound >= optimum * (1 - 1e-3)


@pytest.mark.parametrize("name", ["grid1", "grid2", "planar30"])
def test_commalab_bound_within_1e3_of_lp_optimum(name):
    _check_commalab(name, iterations=600)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["grid3", "grid4", "grid5", "grid6", "grid7", "grid8", "planar100", "planar150"])
def test_commalab_larger(name):
    _check_commalab(name, iterations=3000)
