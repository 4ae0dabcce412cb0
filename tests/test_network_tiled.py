"""The tiled arc order (``arc_order.tiled_order``) and the propagation-blocked fused step it
enables (``network_fused``: an arc pass over tail blocks, a head pass over head blocks).

References: a plain-Python statement of the order and NumPy's stable lexsort; for the step, the
NumPy bodies of ``algorithm.step`` (the generic path) on the same data, restarts included; for
models, OR-Tools SimpleMinCostFlow and the DIMACS optimum in ../shared/data/dimacs_mcf/index.csv.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from scotopt import InvalidProblemError, Status
from scotopt.kernels import get_backend, gpu_available
from scotopt.kernels.caches import CacheSizes
from scotopt.kernels.incidence import NetworkMatrix
from scotopt.models import MinCostFlow, arc_order
from scotopt.models.generators import netgen_min_cost_flow
from scotopt.solvers.pdhg import algorithm as alg
from tests.test_arc_order import networks
from tests.test_network_fused import (
    PARAMS,
    assert_measured_step_sums_its_residual,
    generic,
    kernel_threads,
    problem_on,
    run,
)
from tests.test_network_models import dimacs_index, ortools_cost

pytest.importorskip("numba")


@settings(max_examples=60, deadline=None)
@given(networks())
def test_tiled_order_sorts_by_tail_block_then_head_keeping_input_order(network):
    tail, head, V, tile, _ = network  # the blocked order's networks: their block size as tile size
    expected = sorted(range(len(tail)), key=lambda a: (int(tail[a]) // tile, int(head[a]), a))
    order = arc_order.tiled_order(tail, head, V, tile)
    assert order.dtype == np.int32
    np.testing.assert_array_equal(order, expected)


def test_tiled_order_without_numba_is_the_same(monkeypatch):
    rng = np.random.default_rng(4)
    tail, head = rng.integers(0, 500, 3000).astype(np.int32), rng.integers(0, 500, 3000).astype(np.int32)
    compiled = arc_order.tiled_order(tail, head, 500, 64)
    monkeypatch.setattr(arc_order, "_sort", None)
    np.testing.assert_array_equal(arc_order.tiled_order(tail, head, 500, 64), compiled)


def test_tile_nodes_must_be_positive_integers():
    tail = head = np.zeros(3, dtype=np.int32)
    for bad in (0, -4, 2.5):
        with pytest.raises(InvalidProblemError, match="tile_nodes"):
            arc_order.tiled_order(tail, head, 1, bad)


def test_default_tile_nodes_is_a_quarter_of_the_l2_in_node_pairs():
    assert arc_order.default_tile_nodes(CacheSizes(l2=2 << 20, l3=260 << 20)) == 1 << 16
    assert arc_order.default_tile_nodes(CacheSizes(l2=1280 << 10, l3=0)) == 1 << 15  # 40 960 -> 2^15
    assert arc_order.default_tile_nodes(CacheSizes(l2=0, l3=0)) == 1 << 16  # unknown
    assert arc_order.default_tile_nodes(CacheSizes(l2=1 << 10, l3=0)) == arc_order.MIN_TILE_NODES
    assert arc_order.default_tile_nodes(CacheSizes(l2=1 << 40, l3=0)) == arc_order.MAX_TILE_NODES


def test_auto_tiles_only_the_largest_node_sets():
    rng = np.random.default_rng(0)
    V = arc_order.TILED_MIN_NODES
    tail, head = np.sort(rng.integers(0, V, 1000)), rng.integers(0, V, 1000)  # heads far from tails
    assert arc_order.chosen_order("auto", V, tail, head, gpu=False) == "tiled"
    assert arc_order.chosen_order("auto", V - 1, tail, head, gpu=False) == "blocked"
    # on a GPU the tiled order was the slowest (arc_order module docstring, "On a GPU")
    assert arc_order.chosen_order("auto", V, tail, head, gpu=True) == "blocked"
    assert arc_order.chosen_order("tiled", V, tail, head, gpu=True) == "tiled"
    expected = "blocked" if gpu_available() else "tiled"  # None: asks this machine
    assert arc_order.chosen_order("auto", V, tail, head) == expected
    assert arc_order.chosen_order("auto", arc_order.AUTO_MIN_NODES - 1) == "given"
    assert arc_order.chosen_order("tiled", 10) == "tiled"
    local = np.arange(1000)
    assert arc_order.chosen_order("auto", V, local, local + 1) == "given"
    with pytest.raises(InvalidProblemError, match="arc_order"):
        arc_order.chosen_order("tiles", 10)


def tiled_problem(seed, dtype, d2_per_arc, scalar_lower, row_ranges, tile=8, shuffle=False, heads_ascending=True):
    """A random network (self-loops, isolated nodes) with arcs in the tiled order of ``tile``
    nodes (or shuffled out of it, with the tile size still declared), random scalings, costs,
    bounds and start, as device operator + PDHGData + state on the NumPy backend."""
    rng = np.random.default_rng(seed)
    V, E = 43, 400
    tail, head = rng.integers(0, V - 2, E), rng.integers(0, V - 2, E)
    tail[:5] = head[:5]
    order = arc_order.tiled_order(tail, head, V, tile)
    if not heads_ascending:  # tiles in order, each in input order: the step needs no more
        order = np.lexsort((head // tile, tail // tile))
    if shuffle:
        order = rng.permutation(E)
    tail, head = tail[order], head[order]
    d1 = rng.uniform(0.2, 1.5, V)
    d2 = rng.uniform(0.3, 1.2, E) if d2_per_arc else 0.7
    net = NetworkMatrix(tail, head, V, row_scale=d1, col_scale=d2, tile_nodes=tile)
    return problem_on(net, rng, dtype, scalar_lower, row_ranges)


def assert_tiled_runs_equal_generic(seed, dtype, rtol, d2_per_arc, scalar_lower, row_ranges, tile=8,
                                    heads_ascending=True):
    xp, op, data, start = tiled_problem(seed, dtype, d2_per_arc, scalar_lower, row_ranges, tile,
                                        heads_ascending=heads_ascending)
    alg.step(xp, op, data, PARAMS, start)
    assert op._fused._q is not None  # the propagation-blocked step ran
    fused = run(xp, op, data, start, 320)
    plain = run(xp, generic(op), data, start, 320)
    assert float(fused.restarts) == float(plain.restarts) >= 2
    for name in ("x", "y", "ax", "x0", "y0", "ax0"):
        f, p = getattr(fused, name), getattr(plain, name)
        assert f.dtype == np.dtype(dtype)
        assert float(np.max(np.abs(f - p))) <= rtol * max(float(np.max(np.abs(p))), 1.0), name


# each (dtype, operand form) compiles the step anew (seconds): three forms, not all pairs
@pytest.mark.parametrize("dtype, rtol, d2_per_arc, scalar_lower, row_ranges",
                         [("float64", 1e-10, False, True, False), ("float32", 2e-3, True, False, True),
                          ("float64", 1e-10, True, True, False)])
@pytest.mark.parametrize("tile", [3, 8, 64])
def test_tiled_steps_equal_generic(dtype, rtol, d2_per_arc, scalar_lower, row_ranges, tile):
    """One thread, tiles of 3 nodes (225 tiles) to one tile for all (64 > 43 nodes): the NumPy
    iteration up to the order in which a node's arcs are summed (320 iterations, restarts
    included)."""
    assert_tiled_runs_equal_generic(29, dtype, rtol, d2_per_arc, scalar_lower, row_ranges, tile)


def test_tiles_in_any_inner_order_step_alike():
    """The step needs the tiles in order, not the arcs within a tile: tiles in input order."""
    assert_tiled_runs_equal_generic(29, "float64", 1e-10, False, True, False, heads_ascending=False)


@pytest.fixture
def three_threads(monkeypatch):
    """Three threads where numba has them, else two."""
    import numba

    count = max(2, min(3, numba.config.NUMBA_NUM_THREADS))
    with kernel_threads(monkeypatch, count):
        yield count


def test_parallel_tiled_steps_equal_generic(three_threads):
    """Tail blocks and head blocks cut into runs on the threads: the same iterates."""
    assert_tiled_runs_equal_generic(31, "float64", 1e-10, True, False, True)
    xp, op, data, start = tiled_problem(31, "float64", True, False, True)
    alg.step(xp, op, data, PARAMS, start)
    _, _, _, _, cuts = op._fused._tiles
    tail_cuts, head_cuts = cuts[three_threads]
    assert len(tail_cuts) == len(head_cuts) == three_threads + 1 and tail_cuts[-1] == head_cuts[-1] == 6


@pytest.mark.parametrize("threads", [1, 2])
def test_tiled_steps_that_keep_their_table_and_q_equal_steps_that_prepare_them(monkeypatch, threads):
    """The head pass leaves the table at (s+, 0) and q = s+_head for the next step, which skips
    loop 1: bit for bit the iterates of steps that prepare both afresh."""
    with kernel_threads(monkeypatch, threads):
        xp, op, data, start = tiled_problem(37, "float32", True, False, True)
        state = start
        for _ in range(6):
            state = alg.step(xp, op, data, PARAMS, state)
            st, y_out = op._fused._prepared[:2]
            assert y_out is state.y and st.shape[0] == 1
            np.testing.assert_array_equal(st[0, :, 0], state.y * op.params[2])
            assert not st[0, :, 1].any()
            np.testing.assert_array_equal(op._fused._q, st[0, op.params[1], 0])
        fresh = start
        for _ in range(6):
            op._fused._prepared = None
            fresh = alg.step(xp, op, data, PARAMS, fresh)
        for name in ("x", "y", "ax"):
            np.testing.assert_array_equal(getattr(state, name), getattr(fresh, name), err_msg=name)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_a_measured_tiled_step_sums_its_residual(dtype, rtol):
    """As for the plain fused step: outputs bit for bit those of the unmeasured step, sums those
    of T(z) - z from the generic map."""
    xp, op, data, start = tiled_problem(41, dtype, True, False, True)
    alg.step(xp, op, data, PARAMS, start)
    assert op._fused._q is not None
    assert_measured_step_sums_its_residual(xp, op, data, start, rtol)


def test_arcs_out_of_the_declared_tiles_run_the_plain_fused_step():
    """A tile size declared for arcs that are not in its order: the check finds it, and the step
    that runs (one table per thread) is still the NumPy iteration."""
    xp, op, data, start = tiled_problem(43, "float64", False, True, False, shuffle=True)
    state = alg.step(xp, op, data, PARAMS, start)
    assert op._fused._q is None and op._fused._tiles[2] is None
    np.testing.assert_allclose(state.x, alg.step(xp, generic(op), data, PARAMS, start).x, rtol=1e-13, atol=1e-13)


def test_more_tiles_than_arcs_run_the_plain_fused_step():
    """Tiles of one node on 43 nodes: 1849 tile starts for 400 arcs, more than the step keeps
    (``MAX_TILES_PER_ARC``): the plain fused step runs, and it is still the NumPy iteration."""
    xp, op, data, start = tiled_problem(43, "float64", False, True, False, tile=1)
    state = alg.step(xp, op, data, PARAMS, start)
    assert op._fused._q is None and op._fused._tiles[2] is None
    np.testing.assert_allclose(state.x, alg.step(xp, generic(op), data, PARAMS, start).x, rtol=1e-13, atol=1e-13)


def test_evaluation_and_screens_drop_the_arc_vector():
    xp, op, data, start = tiled_problem(47, "float32", False, True, False)
    state = alg.step(xp, op, data, PARAMS, alg.step(xp, op, data, PARAMS, start))
    assert op._fused._q is not None
    alg.evaluate(xp, op, data, PARAMS, state)
    assert op._fused._q is None and op._fused._prepared is None
    after = alg.step(xp, op, data, PARAMS, state)
    assert op._fused._q is not None
    op._fused.release_columns()  # what a screen does when it starts
    assert op._fused._q is None and op._fused._prepared is None
    np.testing.assert_array_equal(alg.step(xp, op, data, PARAMS, state).x, after.x)


def test_a_tiled_netgen_model_solves_to_the_ortools_optimum():
    """Tiles of 512 nodes on 5000 nodes (100 tiles), screening on and off: the optimum of
    OR-Tools SimpleMinCostFlow on the same arcs (input order)."""
    from scotopt.options import PDHGOptions

    model = netgen_min_cost_flow(5000, 40000, seed=3, arc_order="tiled", block_nodes=512)
    assert model.operator.tile_nodes == 512 and model.input_arc is not None
    tail, head = model.to_input_order(model.tail), model.to_input_order(model.head)
    capacity, cost = model.to_input_order(model.capacity), model.to_input_order(model.cost)
    reference = ortools_cost(tail, head, capacity, cost, model.supply)
    for screening in (False, True):
        result = model.solve(dtype="float32", eps=1e-4, options=PDHGOptions(screening=screening))
        assert result.status == Status.OPTIMAL
        assert abs(result.objective - reference) <= 1e-4 * abs(reference)


def test_a_tiled_dimacs_instance_reaches_its_optimum(shared_data):
    """netgen_8_10a shuffled, then tiled (tiles of 64 nodes): its optimum at eps 1e-7, the flow
    in input order."""
    from scotopt.io.dimacs import read_dimacs_arrays

    folder, index = dimacs_index(shared_data)
    row = index["netgen_8_10a"]
    optimum = float(row["optimal_objective"] or row["highs_objective"])
    tail, head, lower, capacity, cost, supply = read_dimacs_arrays(folder / row["file"])
    shuffle = np.random.default_rng(0).permutation(tail.shape[0])
    tail, head, lower, capacity, cost = (v[shuffle] for v in (tail, head, lower, capacity, cost))
    model = MinCostFlow(tail, head, cost, capacity, supply, lower=lower, arc_order="tiled", block_nodes=64)
    assert model.operator.tile_nodes == 64 and model.input_arc is not None
    sol = model.solve(eps=1e-7)
    assert sol.status == Status.OPTIMAL
    assert abs(sol.objective - optimum) <= 1e-6 * abs(optimum)
    assert abs(float(cost @ sol.flow) - sol.objective) <= 1e-9 * abs(optimum)


def test_a_tiled_model_keeps_tail_and_head_apart_and_cost_with_capacity(monkeypatch):
    """Each pass of the tiled step reads tails or heads, not both: a tiled model keeps them as
    separate vectors even where a blocked one pairs them, while the solver keeps cost and
    capacity side by side (the arc pass reads both)."""
    from scotopt.kernels.network_fused import side_by_side

    monkeypatch.setattr(arc_order, "PAIR_MIN_NODES", 1000)
    blocked = netgen_min_cost_flow(3000, 24000, seed=5, arc_order="blocked")
    tiled = netgen_min_cost_flow(3000, 24000, seed=5, arc_order="tiled", block_nodes=256)
    assert side_by_side(blocked.tail, blocked.head) and not side_by_side(tiled.tail, tiled.head)
    assert tiled.tail.flags.c_contiguous and tiled.head.flags.c_contiguous
    np.testing.assert_array_equal(tiled.tail, tiled.to_model_order(blocked.to_input_order(blocked.tail)))
    assert tiled.operator.device_operator(get_backend("numpy"), np.float32).pairs_cost_and_upper
