"""Safe arc screening (``scotopt/kernels/network_screen.py``) against the unscreened iteration.

References: the same chunks run one ``algorithm.step`` at a time over every arc (the fused
step, itself tested against the NumPy bodies in test_network_fused.py), and OR-Tools
SimpleMinCostFlow and DIMACS optima for whole solves.
"""

from __future__ import annotations

import numpy as np
import pytest

from scotopt import Status
from scotopt.kernels import get_backend, network_fused, network_fused_mmcf, network_screen
from scotopt.kernels.numpy_backend import host_repeat
from scotopt.models.flow import MinCostFlow
from scotopt.models.generators import (
    grid_min_cost_flow,
    grid_multicommodity,
    netgen_min_cost_flow,
    netgen_multicommodity,
)
from scotopt.options import PDHGOptions
from scotopt.solvers.pdhg import algorithm as alg
from tests.test_network_fused import PARAMS, random_problem, two_chunks  # noqa: F401 - a fixture
from tests.test_network_models import ortools_cost

pytest.importorskip("numba")

SCREENED = PARAMS._replace(screening=1.0)
UNSCREENED = PARAMS._replace(screening=0.0)


def chunks(xp, op, data, params, state, count):
    """``count`` chunks of ``check_every`` iterations through ``algorithm.steps``, an evaluation
    (restart test) after each."""
    size = int(params.check_every)
    for _ in range(count):
        state = alg.steps(xp, op, data, params, [state], size, host_repeat)
        state, _ = alg.evaluate(xp, op, data, params, state)
    return state


def network_problem(dtype, loops, nodes=300, arcs=2400):
    """A NETGEN min-cost flow's LP scaled and set up as a solve does (``scotopt.bench.kernels``'
    StepKernel): (xp, op, data, state at x = 0, y = 0) on NumPy. With ``loops`` ten arcs are
    self-loops, which gives d2 per arc (a loop's column is empty)."""
    base = netgen_min_cost_flow(nodes, arcs, seed=7)
    head = base.head.copy()
    if loops:
        head[:10] = base.tail[:10]
    return problem_of(MinCostFlow(base.tail, head, base.cost, base.capacity, base.supply, arc_order="given").lp,
                      dtype)


def problem_of(lp, dtype):
    """``lp`` scaled and set up as a solve does: (xp, op, data, state at x = 0, y = 0) on NumPy."""
    from scotopt.kernels.numpy_backend import NumpyBackend  # noqa: F401 - the backend get_backend returns
    from scotopt.solvers.pdhg import driver
    from scotopt.solvers.pdhg.placement import SingleDevice
    from scotopt.solvers.pdhg.scaling import scale_lp

    options = PDHGOptions()
    scaled = scale_lp(lp, options.ruiz_iterations, options.pock_chambolle_alpha, options.bound_objective_rescaling,
                      options.geometric_mean_iterations)
    x0, y0 = driver._starting_point(lp, scaled, None)
    backend = get_backend("numpy")
    op = backend.operator(scaled.A, dtype)
    eta = options.step_size_safety / driver._operator_norm(scaled.A)
    data = driver._make_data(SingleDevice(backend), scaled, lp, dtype, eta)
    state = alg.init_state(backend.xp, op, data, backend.asarray(np.broadcast_to(x0, lp.shape[1]), dtype),
                           backend.asarray(y0, dtype), np.dtype(dtype))
    return backend.xp, op, data, state


def screening_of(op):
    return op._fused._screening


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("d2_per_arc", [False, True])
@pytest.mark.parametrize("growth", [2.0, 1e-3])  # 1e-3: radii too small, the screen is rebuilt often
@pytest.mark.parametrize("per_node", [False, True])
def test_screened_chunks_equal_unscreened(monkeypatch, dtype, rtol, d2_per_arc, growth, per_node):
    """20 chunks with restarts on a NETGEN LP: the screened and the unscreened iterations reach the same restarts
    and iterates, with arcs skipped (every share of active arcs allowed) and, with tiny radii,
    the screen rebuilt after violations. ``per_node``: the one radius made infinite (every arc
    active, more than the 99 % allowed), so that every screen has a radius per node."""
    allow_every_screen(monkeypatch, per_node, growth, "")
    xp, op, data, start = network_problem(dtype, d2_per_arc)
    assert np.ndim(op.params[3]) == int(d2_per_arc)
    assert_screened_equals_plain(xp, op, data, start, rtol, per_node, growth)


def allow_every_screen(monkeypatch, per_node, growth, prefix):
    """Caps that let every screen through (``prefix`` "COUPLED_" for coupling rows), radii grown by
    ``growth``; with ``per_node`` the one radius made infinite, so that every screen has a radius
    per node."""
    monkeypatch.setattr(network_screen, prefix + "MAX_ACTIVE_FRACTION", 0.99 if per_node else 1.0)
    monkeypatch.setattr(network_screen, "RADIUS_GROWTH", growth)
    if per_node:
        monkeypatch.setattr(network_screen, prefix + "PER_NODE_MAX_ACTIVE", 0.99)
        monkeypatch.setattr(network_screen.ArcScreening, "_one_radius",
                            lambda self, radius: np.broadcast_to(np.float32(np.inf), (self.step.rows,)))


def assert_screened_equals_plain(xp, op, data, start, rtol, per_node=None, growth=2.0):
    """20 chunks screened (on ``op``) and unscreened (on a copy) from ``start``: columns skipped,
    the same restarts and iterates to ``rtol``; per-node screens as ``per_node`` says (None: not
    checked) and violations where ``growth`` < 1."""
    screened = chunks(xp, op, data, SCREENED, start, 20)
    plain = chunks(xp, op.with_params(op.params), data, UNSCREENED, start, 20)
    screening = screening_of(op)
    assert screening.screened_iterations > 0
    assert screening.active_sum / screening.screened_iterations < 0.9
    if per_node is not None:
        assert (screening.per_node_screens > 0) == per_node
    if growth < 1:
        assert screening.violations > 0
    assert float(screened.restarts) == float(plain.restarts) >= 2
    assert float(screened.n) == float(plain.n) == 320
    for name in ("x", "y", "ax"):
        s, p = getattr(screened, name), getattr(plain, name)
        assert s.shape == p.shape
        assert float(np.max(np.abs(s - p))) <= rtol * max(float(np.max(np.abs(p))), 1.0), name


@pytest.mark.usefixtures("two_chunks")
@pytest.mark.parametrize("one_table", [True, False])
def test_screened_chunks_on_two_threads_equal_unscreened(monkeypatch, one_table):
    """The same on numba's threads: one shared node table with the node loops on the threads
    (``network_fused._shared_table_pass``: fewer active arcs than nodes, here at most half of 2000 arcs on 1000
    nodes), or one table per arc chunk."""
    monkeypatch.setattr(network_screen, "MAX_ACTIVE_FRACTION", 0.5)
    monkeypatch.setattr(network_screen, "ONE_TABLE", one_table)
    calls = []
    kernel = network_fused._shared_table_pass
    monkeypatch.setattr(network_fused, "_shared_table_pass", lambda *args: calls.append(1) or kernel(*args))
    xp, op, data, start = network_problem(np.float64, False, nodes=1000, arcs=2000)
    assert_screened_equals_plain(xp, op, data, start, 1e-10)
    assert bool(calls) == one_table


def rng_costs(size):
    return np.random.default_rng(1).uniform(0.0, 1.0, size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d2_per_arc", [False, True])
def test_frozen_arcs_stay_at_zero_for_any_point_within_the_radii(dtype, d2_per_arc):
    """The rule itself, with a radius of its own per node (5e-4 to 2e-3, a tenth of them 0): half
    the costs right at the frozen threshold (a few round-offs above it), half spread around it;
    node values pushed to the edge of their radii (each +-radius at random): T gives x^ = 0 on
    every arc the scan calls frozen, and no arc below the threshold is frozen. The count of
    nodes outside their radii agrees with a float64 NumPy count."""
    xp, op, data, start = random_problem(11, dtype, np.int32, d2_per_arc, True, False)
    tail, head, d1, d2 = op.params
    E, V = tail.shape[0], d1.shape[0]
    d2s = d2 if np.ndim(d2) == 0 else dtype(1)
    centre = network_screen.node_values(start.y, d1, d2s)
    rng = np.random.default_rng(0)
    radii = (rng.uniform(5e-4, 2e-3, V) * (rng.random(V) > 0.1)).astype(np.float32)
    room = radii[tail].astype(np.float64) + radii[head]
    unit = float(np.finfo(dtype).eps) / 2
    scale = np.asarray(d2, dtype=np.float64) if np.ndim(d2) else 1.0
    st, sh = centre[tail].astype(np.float64), centre[head].astype(np.float64)
    threshold = (st - sh + room) * scale
    slack = 8 * unit * (np.abs(threshold) + (np.abs(st) + np.abs(sh) + room) * scale)
    spread = (st - sh + rng_costs(E) * 2 * room) * scale  # around the threshold
    lv = network_fused._operand(data.var_lb, E, np.dtype(dtype))
    d2 = network_fused._operand(d2, E, np.dtype(dtype))

    def scan(c, zero, offsets, active, fill):
        network_screen._screen(tail, head, centre, radii, zero, zero, c, lv, d2, unit, offsets, active, fill, E)

    assert_frozen_columns_stay_at_zero(op, data, scan, threshold, slack, spread, centre, radii, d2s, start.y,
                                       start.ax, rng, dtype)


def assert_frozen_columns_stay_at_zero(op, data, scan, threshold, slack, spread, centre, radii, d2s, y_centre, ax,
                                       rng, dtype):
    """Costs: every other column a few round-offs above its frozen ``threshold`` (2.5 ``slack``),
    the rest at ``spread``. ``scan(c, zero, offsets, active, fill)`` (two passes, as a screen's
    build) must freeze 90 % of the former and none below its threshold; then for row values
    pushed to the edge of ``radii`` around ``centre`` (``y_centre`` where a radius is 0) the
    count outside agrees with NumPy's and T gives x^ = 0 on every frozen column."""
    n = threshold.shape[0]
    at_edge = np.arange(n) % 2 == 0
    c = np.where(at_edge, threshold + 2.5 * slack, spread).astype(dtype)
    below = ~at_edge & (c.astype(np.float64) < threshold)
    zero = np.zeros(n, dtype=dtype)
    counts = np.zeros(1, dtype=np.int64)
    scan(c, zero, counts, np.empty(0, np.int32), False)
    active = np.empty(int(counts[0]), np.int32)
    scan(c, zero, np.zeros(1, np.int64), active, True)
    frozen = np.ones(n, bool)
    frozen[active] = False
    assert frozen[at_edge].mean() > 0.9 and below.sum() > 50 and not frozen[below].any()
    d1 = op.params[2]
    data = data._replace(c=c)
    tau, sigma, neg_sigma = (dtype(v) for v in (0.5, 0.5, -0.5))
    checked = 0
    for _ in range(20):
        shift = rng.choice([-1.0, 1.0], radii.shape[0]) * radii * (1 - 1e-3)  # at the edge, inside after rounding
        y = ((centre + shift) / (d1.astype(np.float64) * float(d2s))).astype(dtype)
        y = np.where(radii > 0, y, y_centre)  # radius 0: the centre itself
        s = network_screen.node_values(y, d1, d2s).astype(np.float64)
        outside = int(np.sum(np.abs(s - centre) > radii))
        assert network_screen._outside(y, d1, d2s, centre, radii) == outside
        if outside:
            continue  # rounding pushed a value out: not a point the rule covers
        x_hat, _, _ = op.fused_map(data, zero, y, ax, tau, sigma, neg_sigma)
        assert np.all(x_hat[frozen] == 0)
        checked += 1
    assert checked >= 10


def test_outside_counts_nan_and_agrees_on_threads():
    """The count of nodes outside their radii: a NaN value is outside, a gap equal to the radius
    inside, and the threaded count equals the serial one."""
    rng = np.random.default_rng(3)
    V = 5000
    centre = rng.standard_normal(V).astype(np.float32)
    radii = rng.uniform(0, 1e-2, V).astype(np.float32)
    d1 = np.ones(V, np.float32)
    y = centre + np.where(rng.random(V) < 0.3, 2.0, 0.5).astype(np.float32) * radii
    y[7] = np.nan
    y[8] = centre[8] + radii[8]  # exactly on the radius (both float32: the float64 gap is exact)
    expected = int(np.sum(~(np.abs(y.astype(np.float64) - centre) <= radii)))
    assert network_screen._outside(y, d1, np.float32(1), centre, radii) == expected
    assert network_screen._outside_parallel(y, d1, np.float32(1), centre, radii, 2) == expected
    assert ~(np.abs(np.float64(y[8]) - centre[8]) > radii[8])


def test_interrupt_inside_a_screened_chunk_returns_the_last_iterate(monkeypatch):
    """Ctrl-C during a screened chunk: INTERRUPTED with a whole, finite x and the iterations done."""
    model = netgen_min_cost_flow(400, 3200, seed=4)
    calls = {"n": 0}
    original = network_screen.ArcScreening._screened_iteration

    def interrupting(self, *args):
        calls["n"] += 1
        if calls["n"] == 100:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(network_screen.ArcScreening, "_screened_iteration", interrupting)
    monkeypatch.setattr(network_screen, "MAX_ACTIVE_FRACTION", 1.0)
    sol = model.solve(eps=1e-8, dtype="float64", iteration_limit=5000)
    assert calls["n"] == 100
    assert sol.status == Status.INTERRUPTED
    assert sol.flow.shape == (model.num_arcs,) and np.all(np.isfinite(sol.flow))
    # the first chunk runs unscreened (it measures the drift), the interrupted iteration is not done
    assert 64 + 99 <= sol.result.iterations < 5000


def solve_watching_the_screen(model):
    """``model.solve(eps=1e-7, dtype="float64")`` with up to half the arcs (columns) active (so
    that small instances screen) and the solve's :class:`ArcScreening` objects, for their counters."""
    seen = []
    original = network_screen.ArcScreening.__init__

    def spy(self, step):
        original(self, step)
        seen.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(network_screen.ArcScreening, "__init__", spy)
        patch.setattr(network_screen, "MAX_ACTIVE_FRACTION", 0.5)
        patch.setattr(network_screen, "COUPLED_MAX_ACTIVE_FRACTION", 0.5)
        sol = model.solve(eps=1e-7, dtype="float64")
    return sol, seen


@pytest.mark.parametrize("make", [lambda: netgen_min_cost_flow(500, 4000, seed=2),
                                  lambda: grid_min_cost_flow(20, 20, seed=1)])
def test_screened_solve_matches_ortools_and_the_unscreened_solve(make):
    """Default options (up to half the arcs active, so that these small instances screen): arcs
    are skipped, the answer is OR-Tools' optimum, and the solve takes the same iterations as one
    without screening (float64)."""
    model = make()
    ref = ortools_cost(model.tail, model.head, model.capacity, model.cost, model.supply)
    screened, seen = solve_watching_the_screen(model)
    plain = model.solve(eps=1e-7, dtype="float64", options=PDHGOptions(screening=False))
    for sol in (screened, plain):
        assert sol.status == Status.OPTIMAL
        assert abs(sol.objective - ref) <= 1e-6 * abs(ref)
    assert seen and seen[0].screened_iterations > 0
    assert screened.result.iterations == plain.result.iterations


def test_jax_and_unsupported_operators_ignore_the_option():
    """Screening is a NumPy/numba hook: the JAX operator has no screen and steps as before."""
    pytest.importorskip("jax")
    model = netgen_min_cost_flow(60, 480, seed=1)
    op = model.operator.device_operator(get_backend("jax"), np.float32)
    assert not op.screens
    assert model.solve(eps=1e-4, backend="jax", dtype="float32").status == Status.OPTIMAL


def test_arcs_at_nonzero_lower_bounds_are_screened():
    """A network where 30 % of the arcs have a lower bound of 3 and sit there at the optimum
    (the NETGEN instance with those flows forced on top: its optimum plus cost@lower, which
    OR-Tools confirms). ``MinCostFlow`` writes the LP in f - lower, so those arcs sit at 0 and
    the screen skips them: fewer than 30 % of the arcs active on average (with the bounds kept
    in the LP no arc with lower > 0 could be skipped), and the answer is OR-Tools' optimum."""
    base = netgen_min_cost_flow(500, 4000, seed=2)
    lower = np.where(np.random.default_rng(5).random(base.num_arcs) < 0.3, 3.0, 0.0)
    forced = np.bincount(base.tail, lower, base.num_nodes) - np.bincount(base.head, lower, base.num_nodes)
    model = MinCostFlow(base.tail, base.head, base.cost, base.capacity + lower, base.supply + forced, lower=lower)
    ref = ortools_cost(model.tail, model.head, model.capacity, model.cost, model.supply, model.lower)
    base_ref = ortools_cost(base.tail, base.head, base.capacity, base.cost, base.supply)
    assert ref == base_ref + float(base.cost @ lower)
    assert np.all(model.lp.var_lb == 0) and model.lp.c0 == float(model.cost @ model.lower)
    np.testing.assert_array_equal(model.capacity, base.capacity + lower)
    sol, seen = solve_watching_the_screen(model)
    assert sol.status == Status.OPTIMAL
    assert abs(sol.objective - ref) <= 1e-6 * abs(ref)
    assert np.all(sol.flow >= model.lower - 1e-6) and np.all(sol.flow <= model.capacity + 1e-6)
    assert abs(model.lagrangian_bound(sol.potentials) - ref) <= 1e-6 * abs(ref)
    screening = seen[0]
    assert screening.screened_iterations > 0
    assert screening.active_sum / screening.screened_iterations < 0.3


# Several commodities with coupling rows (network_fused_mmcf.CouplingScreening): each column (k, a)
# meets a third row, the coupling row of arc a, whose dual has a radius of its own.


def mmcf_problem(dtype):
    """A 4 x 5 grid with 6 commodities, aggregated by origin, set up as a solve does."""
    model = grid_multicommodity(4, 5, 6, capacity=(5, 40), demand=(20, 60), seed=3)
    assert model.num_commodities > 1 and model.lp.num_rows == model.num_commodities * 20 + model.num_arcs
    return problem_of(model.lp, dtype)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("growth", [2.0, 1e-3])
@pytest.mark.parametrize("per_node", [False, True])
def test_multicommodity_screened_chunks_equal_unscreened(monkeypatch, dtype, rtol, growth, per_node):
    """As :func:`test_screened_chunks_equal_unscreened`, on a multicommodity LP with coupling rows."""
    allow_every_screen(monkeypatch, per_node, growth, "COUPLED_")
    xp, op, data, start = mmcf_problem(dtype)
    assert type(op._fused).__name__ == "FusedMulticommodityStep"
    assert_screened_equals_plain(xp, op, data, start, rtol, per_node, growth)


@pytest.mark.usefixtures("two_chunks")
def test_multicommodity_screened_chunks_on_two_threads_equal_unscreened(monkeypatch):
    """The same with the commodities in two ranges on numba's threads (each range's active
    columns found in the screen's sorted positions)."""
    monkeypatch.setattr(network_screen, "COUPLED_MAX_ACTIVE_FRACTION", 0.5)
    ranges = []
    kernel = network_fused_mmcf._active_pass_parallel
    monkeypatch.setattr(network_fused_mmcf, "_active_pass_parallel",
                        lambda bounds, *args: ranges.append(bounds.shape[0] - 1) or kernel(bounds, *args))
    xp, op, data, start = mmcf_problem(np.float64)
    assert_screened_equals_plain(xp, op, data, start, 1e-10)
    assert ranges and set(ranges) == {2}


def test_multicommodity_screened_solve_matches_highs():
    """A NETGEN-like multicommodity flow solved with screening (up to half the columns active):
    columns are skipped, the objective is HiGHS's optimum of the explicit LP, and the solve
    takes the same iterations as one without screening (float64)."""
    from scipy.optimize import linprog

    model = netgen_multicommodity(40, 240, 8, seed=5)
    lp = model.lp
    A = model.operator.to_csr()
    equal = lp.con_lb == lp.con_ub
    upper = ~equal & np.isfinite(lp.con_ub)
    assert np.all(equal | upper) and np.all(~upper | np.isneginf(lp.con_lb))
    ref = linprog(lp.c, A_ub=A[upper], b_ub=lp.con_ub[upper], A_eq=A[equal], b_eq=lp.con_ub[equal],
                  bounds=np.column_stack([np.broadcast_to(lp.var_lb, lp.num_vars),
                                          np.broadcast_to(lp.var_ub, lp.num_vars)]), method="highs")
    assert ref.status == 0
    optimum = ref.fun + lp.c0
    screened, seen = solve_watching_the_screen(model)
    plain = model.solve(eps=1e-7, dtype="float64", options=PDHGOptions(screening=False))
    for sol in (screened, plain):
        assert sol.status == Status.OPTIMAL
        assert abs(sol.objective - optimum) <= 1e-6 * abs(optimum)
    assert seen and seen[0].screened_iterations > 0
    assert screened.result.iterations == plain.result.iterations


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_frozen_columns_stay_at_zero_with_coupling_rows_at_the_edge_of_their_radii(dtype):
    """The multicommodity rule itself (``network_fused_mmcf._scan_coupled``), as
    :func:`test_frozen_arcs_stay_at_zero_for_any_point_within_the_radii`: every row, the coupling
    rows included, gets a radius of its own; costs sit a few round-offs above the frozen threshold
    or spread around it; row values pushed to the edge of their radii: T gives x^ = 0 on every
    column the scan calls frozen, and no column below its threshold is frozen."""
    xp, op, data, start = mmcf_problem(dtype)
    fused = op._fused
    tail, head, d1, d2 = op.params
    K, V, E, n = fused.K, fused.V, fused.arcs, fused.E
    rng = np.random.default_rng(0)
    y_centre = (rng.standard_normal(fused.rows) * 1e-2).astype(dtype)  # coupling terms of both signs
    centre = network_screen.node_values(y_centre, d1, dtype(1))
    radii = (rng.uniform(5e-4, 2e-3, fused.rows) * (rng.random(fused.rows) > 0.1)).astype(np.float32)
    k, a = np.divmod(np.arange(n), E)
    rt, rh, rr = k * V + tail[a], k * V + head[a], K * V + a
    room = radii[rt].astype(np.float64) + radii[rh] + radii[rr]
    unit = float(np.finfo(dtype).eps) / 2
    scale = np.broadcast_to(np.asarray(d2, dtype=np.float64), (n,))
    st, sh, sr = (centre[r].astype(np.float64) for r in (rt, rh, rr))
    threshold = (st - sh + sr + room) * scale
    slack = 8 * unit * (np.abs(threshold) + (np.abs(st) + np.abs(sh) + np.abs(sr) + room) * scale)
    spread = (st - sh + sr + rng_costs(n) * 2 * room) * scale
    lv = network_fused._operand(data.var_lb, n, np.dtype(dtype))
    d2v = network_fused._operand(d2, n, np.dtype(dtype))

    def scan(c, zero, offsets, active, fill):
        network_fused_mmcf._screen_coupled(tail, head, K, V, centre, radii, zero, zero, c, lv, d2v, unit, offsets,
                                           active, fill, n)

    assert_frozen_columns_stay_at_zero(op, data, scan, threshold, slack, spread, centre, radii, dtype(1), y_centre,
                                       start.ax, rng, dtype)
