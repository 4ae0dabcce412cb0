"""Lagrangian relaxation of multicommodity flow capacities: the best bound equals the LP optimum
(HiGHS on the full arc-commodity LP), and the bound never exceeds it; the restricted master LP's
upper bound comes with a flow that is checked feasible here, from the arrays alone."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from problems import highs_solve

from scotopt import LP, InvalidProblemError, Status
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


def assert_feasible_flow(model: LagrangianMMCF, flow, cost: float):
    """flow: (commodities x arcs); conservation per commodity and node, capacities, cost, all from the arrays."""
    flow = flow.toarray() if sp.issparse(flow) else np.asarray(flow)
    K, E, N = model.origin.size, model.tail.size, model.num_nodes
    assert flow.shape == (K, E)
    assert flow.min(initial=0.0) >= 0
    balance = np.zeros((K, N))  # out - in
    np.add.at(balance, (slice(None), model.tail), flow)
    np.subtract.at(balance, (slice(None), model.head), flow)
    supply = np.zeros((K, N))
    np.add.at(supply, (np.arange(K), model.origin), model.demand)
    np.subtract.at(supply, (np.arange(K), model.destination), model.demand)
    scale = max(1.0, float(model.demand.max(initial=0.0)))
    np.testing.assert_allclose(balance, supply, rtol=0, atol=1e-9 * scale)
    total = flow.sum(axis=0)
    assert np.all(total <= model.capacity + 1e-9 * np.maximum(1.0, model.capacity))
    assert cost == pytest.approx(float(model.cost @ total), rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_master_upper_bound_is_feasible_and_closes_the_gap(seed):
    model = grid_mmcf(seed=seed)
    status, optimum, _, _ = highs_solve(full_lp(model))
    assert status == "optimal"
    result = model.solve(options=LagrangianOptions(gap_tolerance=1e-6, max_iterations=3000))
    assert result.status == Status.OPTIMAL
    assert result.lower_bound <= optimum * (1 + 1e-9) + 1e-9 <= result.upper_bound * (1 + 2e-9) + 2e-9
    assert result.gap <= 1e-6
    assert_feasible_flow(model, result.x_best_feasible, result.upper_bound)


def test_master_with_a_small_column_pool():
    from scotopt.models.mmcf_master import PathMaster

    model = grid_mmcf(side=5, commodities=20, seed=3)
    status, optimum, _, _ = highs_solve(full_lp(model))
    master = PathMaster(model, every=2, max_columns=30)  # 30 paths for 20 commodities: the pool is pruned
    result = model.solve(heuristic=master, options=LagrangianOptions(gap_tolerance=1e-6, max_iterations=2000))
    assert len(master.col_arcs) <= 30 + model.origin.size  # pruned to the cap before each pricing round
    assert status == "optimal" and result.status == Status.OPTIMAL
    assert result.lower_bound <= optimum * (1 + 1e-9) + 1e-9 <= result.upper_bound * (1 + 2e-9) + 2e-9
    assert_feasible_flow(model, result.x_best_feasible, result.upper_bound)


def test_no_heuristic_no_upper_bound():
    result = grid_mmcf().solve(heuristic=None, options=LagrangianOptions(max_iterations=50))
    assert result.upper_bound == np.inf and result.x_best_feasible is None
    with pytest.raises(InvalidProblemError, match="heuristic"):
        grid_mmcf().solve(heuristic="greedy")


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


def _commalab_model(name):
    reader = pytest.importorskip("scotopt.io.commalab", reason="the CommaLAB reader comes with the network models")
    row = _commalab_index().get(name)
    if row is None:
        pytest.skip(f"CommaLAB data not found at {COMMALAB}")
    arrays = reader.read_commalab_arrays(COMMALAB / row["file"])
    model = LagrangianMMCF(arrays["tail"], arrays["head"], arrays["cost"], arrays["capacity"], arrays["origin"],
                           arrays["destination"], arrays["demand"], num_nodes=arrays["num_nodes"])
    return model, float(row["optimal_objective"])


def _check_commalab(name, iterations, heuristic="master"):
    model, optimum = _commalab_model(name)
    result = model.solve(method="volume", heuristic=heuristic, options=LagrangianOptions(max_iterations=iterations))
    assert result.lower_bound <= optimum * (1 + 1e-9)  # bounds never cross
    assert result.lower_bound >= optimum * (1 - 1e-3)
    return model, optimum, result


def _check_commalab_gap(name, time_limit):
    model, optimum = _commalab_model(name)
    result = model.solve(method="volume", options=LagrangianOptions(gap_tolerance=1e-3, time_limit=time_limit))
    assert result.status == Status.OPTIMAL and result.gap <= 1e-3
    # the published optima are not exact to the last digits: planar80's 182438133.402 is 0.6 below
    # HiGHS's 182438134.0 on the full LP (3.3e-9 relative), which the bounds meet
    assert result.lower_bound <= optimum * (1 + 1e-8)
    assert result.upper_bound >= optimum * (1 - 1e-8)
    assert_feasible_flow(model, result.x_best_feasible, result.upper_bound)


@pytest.mark.parametrize("name", ["grid1", "grid2", "planar30"])
def test_commalab_bound_within_1e3_of_lp_optimum(name):
    _check_commalab(name, iterations=600, heuristic=None)


@pytest.mark.parametrize("name", ["grid1", "grid2", "grid3", "planar30", "planar50"])
def test_commalab_gap_closes_with_a_feasible_upper_bound(name):
    _check_commalab_gap(name, time_limit=60)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["grid4", "grid5", "grid6", "grid7", "grid8", "planar80", "planar100", "planar150"])
def test_commalab_gap_closes_larger(name):
    _check_commalab_gap(name, time_limit=300)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["grid3", "grid4", "grid5", "grid6", "grid7", "grid8", "planar100", "planar150"])
def test_commalab_larger(name):
    _check_commalab(name, iterations=3000, heuristic=None)


# -- the incremental restricted master --------------------------------------------------------------
def restricted_master_lp(model: LagrangianMMCF, master) -> LP:
    """The RMP over the master's path columns with a capacity row for EVERY arc, assembled here
    from the arrays and the columns' arc lists (no lazy rows, no overflow: the paths must fit)."""
    n, E = len(master.col_arcs), model.tail.size
    active = np.flatnonzero((model.origin != model.destination) & (model.demand > 0))
    row = {k: i for i, k in enumerate(active.tolist())}
    rows, cols = [], []
    for j, (k, arcs) in enumerate(zip(master.col_commodity, master.col_arcs, strict=True)):
        rows += [row[k]] + [active.size + a for a in arcs.tolist()]
        cols += [j] * (1 + arcs.size)
    A = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(active.size + E, n))
    cost = np.array([model.cost[arcs].sum() for arcs in master.col_arcs])
    lb = np.r_[model.demand[active], np.full(E, -np.inf)]
    ub = np.r_[model.demand[active], model.capacity]
    return LP(cost, A, lb, ub)


def test_incremental_master_matches_a_cold_solve_of_the_same_columns():
    from scotopt.models.mmcf_master import PathMaster

    model = grid_mmcf(side=5, commodities=20, seed=4)
    master = PathMaster(model, every=5, pricing_rounds=1, settle=np.inf)  # first call at iteration 5
    result = model.solve(heuristic=master, options=LagrangianOptions(gap_tolerance=1e-9, max_iterations=60))
    assert master.solves >= 3  # the same model re-solved several times, columns added in between
    assert master.capacity_rows < model.tail.size  # rows only for arcs the columns could overload
    assert master._highs.getNumCol() == len(master.col_arcs) + master.capacity_rows
    # re-solve the live model from its basis, then cold-solve the same columns with all capacity rows
    master._pending = []
    y, overflow, _, _, optimal = master.solve_master()
    assert optimal and master._highs.getInfo().simplex_iteration_count == 0  # warm: the basis is optimal
    status, objective, _, _ = highs_solve(restricted_master_lp(model, master))
    assert status == "optimal" and overflow.max(initial=0.0) == 0
    assert master.last_objective == pytest.approx(objective, rel=1e-7)
    found = master.feasible_flow(y)
    assert found is not None
    assert_feasible_flow(model, *found)
    assert result.upper_bound <= found[1] * (1 + 1e-9)


def test_master_without_binding_capacities_needs_no_rows():
    from scotopt.models.mmcf_master import PathMaster

    model = grid_mmcf(seed=5)
    model.capacity[:] = 1e6  # nothing binds: the LP optimum routes every commodity on a shortest path
    master = PathMaster(model, every=1)
    result = model.solve(heuristic=master, options=LagrangianOptions(gap_tolerance=1e-9, max_iterations=20))
    status, optimum, _, _ = highs_solve(full_lp(model))
    assert status == "optimal" and result.status == Status.OPTIMAL
    assert master.capacity_rows == 0
    assert result.upper_bound == pytest.approx(optimum, rel=1e-9)
    assert_feasible_flow(model, result.x_best_feasible, result.upper_bound)


def test_master_honours_the_deadline():
    import time

    from scotopt.models.mmcf_master import PathMaster

    model = grid_mmcf(side=5, commodities=20, seed=6)
    master = PathMaster(model, every=1, deadline=time.perf_counter() - 1.0)  # already past
    assert master.heuristic(np.zeros(model.tail.size), None, None) is None
    assert master.solves == 0
    # through the driver: the time limit becomes the master's deadline
    master = PathMaster(model, every=1, pricing_rounds=50)
    result = model.solve(heuristic=master, options=LagrangianOptions(gap_tolerance=0.0, time_limit=0.3,
                                                                     max_iterations=10**6))
    assert master.deadline is not None
    assert result.status in (Status.TIME_LIMIT, Status.OPTIMAL, Status.ITERATION_LIMIT)
    assert result.solve_time < 0.3 + 2.0  # one oracle call and one bound evaluation may follow the deadline


# -- routing on residual capacities ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["grid1", "grid2", "grid3", "planar30", "planar50"])
def test_residual_routing_flow_is_feasible_and_not_below_the_optimum(name):
    from scotopt.models.mmcf_routing import check_flow, rounds_flow, route_on_residual

    model, optimum = _commalab_model(name)
    bound = model.solve(method="volume", heuristic=None, options=LagrangianOptions(max_iterations=100))
    for lam in (bound.multipliers, np.zeros(model.tail.size)):
        rounds = route_on_residual(model, model.cost + lam)
        assert rounds is not None  # cuts of the greedy rounds are repaired (grid2 has them at both)
        flow = rounds_flow(model, rounds)
        cost = check_flow(model, flow)
        assert cost is not None
        assert_feasible_flow(model, flow, cost)  # the test's own check, from the arrays
        assert cost >= optimum * (1 - 1e-9)  # a feasible flow costs at least the published LP optimum


@pytest.mark.parametrize("name, iterations", [("grid2", 1), ("grid2", 20), ("planar80", 1), ("planar150", 1)])
def test_residual_routing_repairs_a_cut(name, iterations):
    """At these multipliers the greedy rounds leave a destination unreachable on the arcs with
    capacity left (the routing gave no flow before the repair); the repaired flow ships every
    demand within every capacity."""
    from scotopt.models.mmcf_routing import check_flow, rounds_flow, route_on_residual

    model, optimum = _commalab_model(name)
    lam = np.zeros(model.tail.size)
    if iterations > 1:
        lam = model.solve(method="volume", heuristic=None,
                          options=LagrangianOptions(max_iterations=iterations)).multipliers
    rounds = route_on_residual(model, model.cost + lam)
    assert rounds is not None and route_on_residual.last_repairs > 0  # a cut happened and was repaired
    flow = rounds_flow(model, rounds)
    cost = check_flow(model, flow)
    assert cost is not None
    assert_feasible_flow(model, flow, cost)
    assert cost >= optimum * (1 - 1e-9)
    for which, _, amount in rounds:  # the paths whose flow a repair took to 0 are left out
        assert np.all(amount[which] > 0)


def test_check_flow_rejects_an_overloaded_or_unbalanced_flow():
    from scotopt.models.mmcf_routing import check_flow, rounds_flow, route_on_residual

    model, _ = _commalab_model("grid1")
    flow = rounds_flow(model, route_on_residual(model, model.cost))
    assert check_flow(model, flow) is not None
    short = flow.tolil()
    short[0, short[0].nonzero()[1][0]] *= 0.5  # breaks conservation of commodity 0
    assert check_flow(model, short) is None
    tight = LagrangianMMCF(model.tail, model.head, model.cost, np.asarray(flow.sum(axis=0)).ravel() * 0.99,
                           model.origin, model.destination, model.demand, num_nodes=model.num_nodes)
    assert check_flow(tight, flow) is None  # every used arc is now 1 % over its capacity


def test_master_routes_first_and_its_upper_bound_is_feasible():
    from scotopt.models.mmcf_master import PathMaster

    model, optimum = _commalab_model("planar30")
    bound = model.solve(method="volume", heuristic=None, options=LagrangianOptions(max_iterations=100))
    master = PathMaster(model)
    assert master.routing > 0 and master._offered.maxlen == 0  # by default: routing, no raw oracle paths
    flow, cost = master.run(lam=bound.multipliers)
    assert master.routed == 1 and master.solves >= 1
    assert_feasible_flow(model, flow, cost)
    assert cost >= optimum * (1 - 1e-9)


def test_master_first_call_waits_for_its_iteration():
    from scotopt.models.mmcf_master import PathMaster

    model = grid_mmcf(side=5, commodities=20, seed=6)
    master = PathMaster(model, every=2, first=5)
    lam = np.zeros(model.tail.size)
    assert all(master.heuristic(lam, None, None) is None for _ in range(4))
    assert master.routed == 0 and master.solves == 0
    found = master.heuristic(lam, None, None)  # the 5th call routes and solves the RMP
    assert master.routed == 1 and master.solves >= 1
    if found is not None and found[0] is not None:
        assert_feasible_flow(model, found[0], found[1])


def test_master_first_call_waits_for_the_bound_to_settle():
    from scotopt.models.mmcf_master import PathMaster

    model = grid_mmcf(side=5, commodities=20, seed=6)
    master = PathMaster(model, every=2, first=2, settle=1e-3, settle_wait=8)
    lam = np.zeros(model.tail.size)
    for value in (100.0, 120.0, 140.0, 160.0, 180.0):  # the bound gains 2e-1 per 2 calls: not settled
        master.note_bound(value, lam)
        assert master.heuristic(lam, None, None) is None
    assert master.routed == 0 and master.solves == 0
    for value in (180.01, 180.02):  # call 6 compares with call 4 (160): waits; call 7 is off the schedule
        master.note_bound(value, lam)
        assert master.heuristic(lam, None, None) is None
    master.note_bound(180.03, lam)  # call 8: +2e-2 since call 6, 1.1e-4 relative <= 1e-3
    master.heuristic(lam, None, None)
    assert master.routed == 1 and master.solves >= 1
    # without settling, the first call comes at first + settle_wait at the latest
    late = PathMaster(model, every=2, first=2, settle=1e-3, settle_wait=4)
    calls = 0
    while late.solves == 0 and calls < 20:
        late.note_bound(100.0 * (calls + 1), lam)
        late.heuristic(lam, None, None)
        calls += 1
    assert calls == 6  # calls 2 and 4 wait, call 6 = first + settle_wait runs


# -- the master in a background thread ---------------------------------------------------------------
def test_background_master_certifies_a_feasible_upper_bound():
    from scotopt.models.mmcf_master import PathMaster

    model = grid_mmcf(side=5, commodities=20, seed=3)
    status, optimum, _, _ = highs_solve(full_lp(model))
    master = PathMaster(model, every=2, background=True)
    result = model.solve(heuristic=master, options=LagrangianOptions(gap_tolerance=1e-6, max_iterations=5000,
                                                                     time_limit=60.0))
    assert master._thread is None  # the driver's stop closed the master
    assert status == "optimal" and result.status == Status.OPTIMAL
    assert result.lower_bound <= optimum * (1 + 1e-9) + 1e-9 <= result.upper_bound * (1 + 2e-9) + 2e-9
    assert_feasible_flow(model, result.x_best_feasible, result.upper_bound)


def test_background_master_stops_with_the_driver():
    import time

    from scotopt.models.mmcf_master import PathMaster

    model, _ = _commalab_model("planar150")
    master = PathMaster(model, every=1, first=1, settle=np.inf, background=True)
    started = time.perf_counter()
    result = model.solve(heuristic=master, options=LagrangianOptions(gap_tolerance=0.0, max_iterations=3))
    waited = time.perf_counter() - started
    assert result.status == Status.ITERATION_LIMIT and master._thread is None
    assert master.calls <= 4 and waited < 30.0  # close() cancelled the routing / HiGHS run, no full solve


def test_volume_target_must_be_positive():
    from scotopt.status import InvalidOptionError

    with pytest.raises(InvalidOptionError, match="volume_target"):
        LagrangianOptions(volume_target=0.0)


def test_master_time_limit_counts_from_the_run_not_from_the_model():
    """HiGHS's run clock adds up over the runs of one model and its time limit is read against
    that total, so the master's limit is the clock so far plus the seconds it allows."""
    import time

    from scotopt.models.mmcf_master import PathMaster

    model = grid_mmcf(side=5, commodities=20, seed=4)
    master = PathMaster(model, every=5, pricing_rounds=2, settle=np.inf)
    model.solve(heuristic=master, options=LagrangianOptions(gap_tolerance=1e-9, max_iterations=30))
    h = master._highs
    while h.getRunTime() < 0.3:  # runs add up on HiGHS's clock
        h.clearSolver()
        h.run()
    clock = h.getRunTime()
    master._pending = []
    solved = master.solve_master(until=time.perf_counter() + 5.0)
    assert solved is not None and solved[4]  # optimal: not stopped by the clock of earlier runs
    assert h.getOptionValue("time_limit")[1] >= clock + 4.9


def test_background_master_failure_is_reported_and_the_bound_goes_on():
    from scotopt.models.mmcf_master import PathMaster

    model = grid_mmcf(side=5, commodities=20, seed=3)
    master = PathMaster(model, every=2, first=2, settle=np.inf, background=True)

    def broken(*args, **kwargs):
        raise RuntimeError("HiGHS went away")

    master.run = broken
    with pytest.warns(RuntimeWarning, match="HiGHS went away"):
        result = model.solve(heuristic=master, options=LagrangianOptions(max_iterations=40))
    assert result.upper_bound == np.inf and result.iterations == 40
    assert isinstance(master.error, RuntimeError)
