"""The blocked arc order (scotopt.models.arc_order) and MinCostFlow's two arc orders.

References: NumPy's stable lexsort for the permutation; for the models, the DIMACS optimum in
../shared/data/dimacs_mcf/index.csv, and balances, reduced costs and repaired flows checked here
in plain NumPy against the arrays as the test gives them (the input order).
"""

from __future__ import annotations

import bisect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scotopt import InvalidProblemError, Status
from scotopt.io.dimacs import read_dimacs_arrays
from scotopt.kernels.caches import CacheSizes, cache_sizes
from scotopt.models import MinCostFlow, arc_order
from scotopt.models.generators import netgen_min_cost_flow
from scotopt.problem import is_constant_view


@st.composite
def networks(draw):
    V = draw(st.integers(1, 40))
    E = draw(st.integers(0, 200))
    tail = draw(st.lists(st.integers(0, V - 1), min_size=E, max_size=E))
    head = draw(st.lists(st.integers(0, V - 1), min_size=E, max_size=E))
    block = draw(st.integers(1, V + 3))
    groups = draw(st.integers(1, 5))
    return np.array(tail, dtype=np.int32), np.array(head, dtype=np.int32), V, block, groups


def sorted_in_python(tail, head, block, groups):
    """The blocked order stated in plain Python: rank the arcs by (head, input position), cut the
    ranks where the arc loop cuts its chunks (E g // G), then sort by (group, tail block, head,
    input position)."""
    E = len(tail)
    by_head = sorted(range(E), key=lambda a: (int(head[a]), a))
    cuts = [E * g // groups for g in range(1, groups)]
    group = {a: bisect.bisect_right(cuts, rank) for rank, a in enumerate(by_head)}
    return sorted(range(E), key=lambda a: (group[a], int(tail[a]) // block, int(head[a]), a))


@settings(max_examples=60, deadline=None)
@given(networks())
def test_blocked_order_sorts_by_head_group_then_tail_block_then_head(network):
    tail, head, V, block, groups = network
    order = arc_order.blocked_order(tail, head, V, block, groups)
    assert order.dtype == np.int32
    np.testing.assert_array_equal(order, sorted_in_python(tail, head, block, groups))


def test_one_head_group_is_numpys_stable_lexsort_by_tail_block_and_head():
    rng = np.random.default_rng(5)
    tail, head = rng.integers(0, 300, 5000, dtype=np.int32), rng.integers(0, 300, 5000, dtype=np.int32)
    np.testing.assert_array_equal(arc_order.blocked_order(tail, head, 300, 17, 1), np.lexsort((head, tail // 17)))


def test_head_groups_split_the_arcs_evenly_and_by_head():
    """Group g holds the arcs E g / G .. E (g + 1) / G of the order, and its heads lie between
    those of the groups around it: the arc loop's P chunks (``network_fused``) get one group
    each when G = P."""
    rng = np.random.default_rng(7)
    E, V, G = 10_001, 1250, 3
    tail, head = rng.integers(0, V, E, dtype=np.int32), rng.integers(0, V, E, dtype=np.int32)
    order = arc_order.blocked_order(tail, head, V, 64, G)
    np.testing.assert_array_equal(np.sort(order), np.arange(E))
    heads = head[order]
    cuts = [E * g // G for g in range(G + 1)]
    for g in range(G - 1):
        assert heads[cuts[g]:cuts[g + 1]].max() <= heads[cuts[g + 1]:cuts[g + 2]].min()
    for g in range(G):  # within a group: tail blocks ascend, heads ascend within a block
        part = order[cuts[g]:cuts[g + 1]]
        key = (tail[part].astype(np.int64) // 64) * V + head[part]
        assert np.all(np.diff(key) >= 0)


def test_more_head_groups_than_arcs_sort_by_head_alone():
    tail = np.array([3, 0, 2, 1, 0], dtype=np.int32)
    head = np.array([1, 4, 1, 0, 2], dtype=np.int32)
    np.testing.assert_array_equal(arc_order.blocked_order(tail, head, 5, 1, 10**9), [3, 0, 2, 4, 1])


def test_head_groups_must_be_positive_integers():
    tail = head = np.zeros(4, dtype=np.int32)
    for bad in (0, -1, 1.5):
        with pytest.raises(InvalidProblemError, match="head_groups"):
            arc_order.blocked_order(tail, head, 1, 1, bad)


def test_blocked_order_without_numba_is_the_same(monkeypatch):
    rng = np.random.default_rng(3)
    tail, head = rng.integers(0, 500, 4000, dtype=np.int32), rng.integers(0, 500, 4000, dtype=np.int32)
    compiled = {g: arc_order.blocked_order(tail, head, 500, 37, g) for g in (1, 2, 3)}
    monkeypatch.setattr(arc_order, "_sort", None)
    for g, order in compiled.items():
        np.testing.assert_array_equal(arc_order.blocked_order(tail, head, 500, 37, g), order)


def test_default_block_nodes_follows_v_squared_over_2e_within_cache_limits():
    unknown = CacheSizes()  # no cache sizes known: the rule alone
    assert arc_order.default_block_nodes(1_250_000, 10_000_000, unknown) == 1_250_000**2 // 20_000_000
    assert arc_order.default_block_nodes(1000, 8000, unknown) == arc_order.MIN_BLOCK_NODES
    assert arc_order.default_block_nodes(10**8, 10**8, unknown) == arc_order.MAX_BLOCK_NODES


def test_default_block_nodes_keeps_the_tail_slice_in_l2_where_the_tables_fit_in_l3():
    """2 MB of L2 -> at most 2^16 nodes per block (a quarter of the L2 in 8-byte pairs), but only
    while the node-table rows the threads reach at random (threads x V x 8 bytes / head groups)
    fit in the L3; a small V^2 / (2 E) still wins."""
    intel = CacheSizes(l2=2 << 20, l3=260 << 20)
    rule = arc_order.default_block_nodes
    top = arc_order.MAX_BLOCK_NODES
    assert arc_order.default_block_nodes(12_500_000, 10**8, intel, threads=2, head_groups=1) == 1 << 16
    assert arc_order.default_block_nodes(3_750_000, 3 * 10**7, intel, threads=2, head_groups=2) == 1 << 16
    assert arc_order.default_block_nodes(1_250_000, 10**7, intel, threads=2, head_groups=2) == 1 << 16
    assert rule(2**18, 2**21, intel, threads=2, head_groups=2) == 2**14  # V^2 / (2 E) below the cap
    # 12.5 M nodes on 3 threads, one head group: 300 MB of rows outgrow the L3, the rule of memory sweeps holds
    assert rule(12_500_000, 10**8, intel, threads=3, head_groups=1) == top
    # ... and 4 threads with a head group each reach 100 MB at random: the L2 cap again
    assert arc_order.default_block_nodes(12_500_000, 10**8, intel, threads=4, head_groups=4) == 1 << 16
    # 50 M nodes: 400 MB even with the groups
    assert rule(50_000_000, 4 * 10**8, intel, threads=2, head_groups=2) == top
    amd = CacheSizes(l2=1 << 20, l3=32 << 20)
    assert arc_order.default_block_nodes(12_500_000, 10**8, amd, threads=2, head_groups=2) == arc_order.MAX_BLOCK_NODES
    assert arc_order.default_block_nodes(1_250_000, 10**7, amd, threads=2, head_groups=1) == 1 << 15
    assert arc_order.default_block_nodes(1_250_000, 10**7, CacheSizes(l2=2 << 20), threads=2) == 78125


def test_default_block_nodes_reads_this_machines_caches():
    """The default is the rule with this machine's caches and the arc loop's threads (one node
    table each; 1 without numba), with a head group per thread."""
    from scotopt.kernels.network_fused import parallel_chunks

    for nodes, arcs in ((1_250_000, 10**7), (12_500_000, 10**8)):
        assert arc_order.default_head_groups(arcs) == parallel_chunks(arcs)
        assert arc_order.default_block_nodes(nodes, arcs) == arc_order.default_block_nodes(
            nodes, arcs, cache_sizes(), parallel_chunks(arcs), parallel_chunks(arcs))


def test_auto_reorders_only_large_node_sets_and_rejects_unknown_orders():
    assert arc_order.chosen_order("auto", arc_order.AUTO_MIN_NODES - 1) == "given"
    assert arc_order.chosen_order("auto", arc_order.AUTO_MIN_NODES) != "given"
    assert arc_order.chosen_order("blocked", 2) != "given" and arc_order.chosen_order("given", 10**9) == "given"
    with pytest.raises(InvalidProblemError, match="arc_order"):
        MinCostFlow([0], [1], [1.0], [1.0], [1.0, -1.0], arc_order="sorted")
    with pytest.raises(InvalidProblemError, match="block_nodes"):
        MinCostFlow([0, 1], [1, 0], [1.0, 1.0], [1.0, 1.0], [1.0, -1.0], arc_order="blocked", block_nodes=0)


def test_auto_keeps_an_order_that_is_local_already():
    """A grid written row by row sweeps the node table with its heads next to its tails: "auto"
    keeps it. The same arcs shuffled, and arcs sorted by tail with random heads, get blocked."""
    from scotopt.models.generators import grid_arcs

    tail, head, _ = grid_arcs(512, 512)  # 2^18 nodes: auto's threshold
    V = 512 * 512
    assert V >= arc_order.AUTO_MIN_NODES
    assert arc_order.is_local(tail, head, V)
    assert arc_order.chosen_order("auto", V, tail, head) == "given"
    assert arc_order.chosen_order("auto", V) != "given"  # without the arcs: the node count alone decides
    assert arc_order.chosen_order("blocked", V, tail, head) != "given"
    shuffle = np.random.default_rng(0).permutation(tail.shape[0])
    assert arc_order.chosen_order("auto", V, tail[shuffle], head[shuffle]) != "given"
    rng = np.random.default_rng(1)
    sorted_tail = np.sort(rng.integers(0, V, 8 * V, dtype=np.int32))
    random_head = rng.integers(0, V, 8 * V, dtype=np.int32)
    assert arc_order.chosen_order("auto", V, sorted_tail, random_head) != "given"
    # heads a little further than half a block from their tails: not local
    block = arc_order.default_block_nodes(V, tail.shape[0])
    far = (tail + block // 2 + 1) % V
    assert not arc_order.is_local(tail, far, V)


def test_a_grid_model_keeps_its_arcs_and_a_netgen_model_blocks_them():
    from scotopt.models.generators import grid_min_cost_flow

    grid = grid_min_cost_flow(512, 512, seed=0)
    assert grid.input_arc is None
    netgen = netgen_min_cost_flow(arc_order.AUTO_MIN_NODES, 4 * arc_order.AUTO_MIN_NODES, seed=0)
    assert netgen.input_arc is not None


def _dimacs_arrays(shared_data, name="netgen_8_10a"):
    folder = shared_data / "dimacs_mcf"
    if not folder.is_dir():
        pytest.skip("../shared/data/dimacs_mcf not found")
    import csv

    row = {r["name"]: r for r in csv.DictReader(open(folder / "index.csv"))}[name]
    return read_dimacs_arrays(folder / row["file"]), float(row["optimal_objective"] or row["highs_objective"])


def test_blocked_model_answers_in_the_input_order(shared_data):
    (tail, head, lower, capacity, cost, supply), optimum = _dimacs_arrays(shared_data)
    # shuffle the file's arcs so that the blocked order really permutes them
    shuffle = np.random.default_rng(0).permutation(tail.shape[0])
    tail, head, lower, capacity, cost = (v[shuffle] for v in (tail, head, lower, capacity, cost))
    model = MinCostFlow(tail, head, cost, capacity, supply, lower=lower, arc_order="blocked", block_nodes=64,
                        head_groups=3)
    assert model.input_arc is not None
    np.testing.assert_array_equal(model.tail, tail[model.input_arc])  # model order, documented
    sol = model.solve(eps=1e-7)
    assert sol.status == Status.OPTIMAL
    assert abs(sol.objective - optimum) <= 1e-6 * abs(optimum)
    # everything below uses the arrays as given (input order) and nothing of the model's
    f = sol.flow
    assert abs(float(cost @ f) - sol.objective) <= 1e-9 * abs(optimum)
    assert model.objective(f) == pytest.approx(float(cost @ f), rel=1e-12)
    balance = np.bincount(tail, f, supply.size) - np.bincount(head, f, supply.size)
    assert np.max(np.abs(balance - supply)) <= 1e-4 * np.max(np.abs(supply))
    y = sol.potentials
    np.testing.assert_allclose(sol.reduced_costs, cost - y[tail] + y[head], rtol=0, atol=1e-9 * np.abs(cost).max())
    np.testing.assert_array_equal(sol.capacity_prices, np.where(np.isfinite(capacity),
                                                                np.maximum(-sol.reduced_costs, 0.0), 0.0))
    repaired = model.integral_flow(f, y)
    assert repaired.feasible and repaired.cost >= optimum - 1e-9
    g = repaired.flow
    assert np.all(g == np.round(g)) and np.all(g >= lower) and np.all(g <= capacity)
    np.testing.assert_array_equal(np.bincount(tail, g, supply.size) - np.bincount(head, g, supply.size), supply)
    assert float(cost @ g) == repaired.cost


def test_given_and_blocked_orders_solve_alike():
    given_model = netgen_min_cost_flow(3000, 24000, seed=5, arc_order="given")
    blocked = netgen_min_cost_flow(3000, 24000, seed=5, arc_order="blocked")
    assert given_model.input_arc is None and blocked.input_arc is not None
    a, b = given_model.solve(eps=1e-6), blocked.solve(eps=1e-6)
    assert a.status == b.status == Status.OPTIMAL
    assert b.objective == pytest.approx(a.objective, rel=1e-6)
    x = np.arange(blocked.num_arcs, dtype=np.float64)
    np.testing.assert_array_equal(blocked.to_input_order(blocked.to_model_order(x)), x)


def test_generated_models_take_head_groups():
    model = netgen_min_cost_flow(3000, 24000, seed=5, arc_order="blocked", block_nodes=64, head_groups=2)
    half = model.num_arcs // 2
    assert model.head[:half].max() <= model.head[half:].min()
    one_group = netgen_min_cost_flow(3000, 24000, seed=5, arc_order="blocked", block_nodes=64, head_groups=1)
    assert one_group.head[:half].max() > one_group.head[half:].min()


def test_input_already_in_blocked_order_keeps_no_permutation_and_constant_bounds_stay_constant():
    tail = np.array([0, 0, 1, 2, 2], dtype=np.int32)
    head = np.array([1, 2, 2, 0, 1], dtype=np.int32)
    model = MinCostFlow(tail, head, 1.0, 5.0, [1.0, 0.0, -1.0], arc_order="blocked", block_nodes=1)
    assert model.input_arc is None
    shuffled = MinCostFlow(tail[::-1], head[::-1], 1.0, 5.0, [1.0, 0.0, -1.0], arc_order="blocked", block_nodes=1)
    np.testing.assert_array_equal(shuffled.input_arc, [4, 3, 2, 1, 0])
    assert is_constant_view(shuffled.capacity) and is_constant_view(shuffled.lower)  # no per-arc copy


def test_large_networks_keep_tail_and_head_side_by_side(monkeypatch):
    """From PAIR_MIN_NODES nodes on the blocked model keeps each arc's tail and head as the two
    columns of one array; the values are those of the separate permuted vectors."""
    from scotopt.kernels.network_fused import side_by_side

    separate = netgen_min_cost_flow(3000, 24000, seed=5, arc_order="blocked")
    assert not side_by_side(separate.tail, separate.head) and separate.tail.flags.c_contiguous
    monkeypatch.setattr(arc_order, "PAIR_MIN_NODES", 1000)
    paired = netgen_min_cost_flow(3000, 24000, seed=5, arc_order="blocked")
    assert side_by_side(paired.tail, paired.head)
    np.testing.assert_array_equal(paired.tail, separate.tail)
    np.testing.assert_array_equal(paired.head, separate.head)
    np.testing.assert_array_equal(paired.input_arc, separate.input_arc)


def test_paired_arcs_solve_exactly_as_separate_ones(monkeypatch):
    """With tail and head side by side the solver keeps cost and capacity side by side too, and
    the fused float32 iterations are the same bit for bit as with separate vectors (the same
    operations, read through strided views); the answer agrees with OR-Tools."""
    from scotopt.kernels import get_backend
    from scotopt.kernels import network_fused as nf
    from scotopt.options import PDHGOptions
    from tests.test_network_models import ortools_cost

    separate = netgen_min_cost_flow(3000, 24000, seed=5, arc_order="blocked")
    monkeypatch.setattr(arc_order, "PAIR_MIN_NODES", 1000)
    paired = netgen_min_cost_flow(3000, 24000, seed=5, arc_order="blocked")
    op = paired.operator.device_operator(get_backend("numpy"), np.float32)
    assert op.pairs_cost_and_upper
    assert not separate.operator.device_operator(get_backend("numpy"), np.float32).pairs_cost_and_upper
    seen = []
    operands = nf.FusedNetworkStep._operands

    def spy(step, params, data, *vectors):
        seen.append(nf.side_by_side(data.c, data.var_ub))
        return operands(step, params, data, *vectors)

    monkeypatch.setattr(nf.FusedNetworkStep, "_operands", spy)
    a = paired.solve(dtype="float32", eps=1e-4, iteration_limit=300, options=PDHGOptions(screening=False))
    assert seen and all(seen)
    seen.clear()
    b = separate.solve(dtype="float32", eps=1e-4, iteration_limit=300, options=PDHGOptions(screening=False))
    assert seen and not any(seen)
    np.testing.assert_array_equal(a.result.x, b.result.x)
    np.testing.assert_array_equal(a.result.y, b.result.y)
    solved = paired.solve(dtype="float32", eps=1e-4)
    reference = ortools_cost(paired.tail, paired.head, paired.capacity, paired.cost, paired.supply)
    assert solved.status == Status.OPTIMAL
    assert abs(solved.objective - reference) / abs(reference) <= 1e-4
