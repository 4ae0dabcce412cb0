"""The fused (numba) network iteration against the generic NumPy iteration and independent optima.

References: the generic NumPy iteration of ``algorithm.step`` (the same map written as separate
array operations; a different summation order in the scatter-add only), OR-Tools
SimpleMinCostFlow and the optima of ../shared/data/dimacs_mcf/index.csv for full solves.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from scotopt import Status
from scotopt.kernels import get_backend, network_fused
from scotopt.kernels.incidence import NetworkMatrix
from scotopt.models.generators import grid_multicommodity, netgen_min_cost_flow
from scotopt.solvers.pdhg import algorithm as alg
from tests.test_network_models import dimacs_index, ortools_cost, reference_objective

pytest.importorskip("numba")

PARAMS = alg.Params(reflection=1.0, restart_sufficient=0.2, restart_necessary=0.5, restart_artificial=0.36,
                    pid_kp=0.99, pid_ki=0.01, pid_kd=0.0, pid_integral_decay=0.3, check_every=16.0)


def random_problem(seed, dtype, index, d2_per_arc, scalar_lower, row_ranges):
    """A random network (self-loops and isolated nodes included) with random scalings, costs,
    bounds and starting point, as device operator + PDHGData + state on the NumPy backend."""
    rng = np.random.default_rng(seed)
    V, E = 40, 300
    tail, head = rng.integers(0, V - 2, E), rng.integers(0, V - 2, E)  # the last two nodes isolated
    tail[:5] = head[:5]  # self-loops
    d1 = rng.uniform(0.2, 1.5, V)
    d2 = rng.uniform(0.3, 1.2, E) if d2_per_arc else 0.7
    net = NetworkMatrix(tail, head, V, row_scale=d1, col_scale=d2)
    net.tail, net.head = net.tail.astype(index), net.head.astype(index)
    return problem_on(net, rng, dtype, scalar_lower, row_ranges)


def problem_on(net, rng, dtype, scalar_lower, row_ranges):
    """Random costs, bounds and starting point for the network ``net`` (scalings set), as device
    operator + PDHGData + state on the NumPy backend."""
    V, E = net.num_nodes, net.num_arcs
    backend = get_backend("numpy")
    op = net.device_operator(backend, dtype)

    def arr(v):
        return np.asarray(v, dtype=dtype)

    upper = rng.uniform(0.5, 3.0, E)
    lower = arr(0.0) if scalar_lower else arr(np.where(rng.random(E) < 0.3, -np.inf, -rng.uniform(0, 1, E)))
    rhs = rng.normal(size=V)
    con_lb = rhs - (rng.uniform(0, 1, V) if row_ranges else 0.0)
    con_ub = rhs + (np.where(rng.random(V) < 0.2, np.inf, rng.uniform(0, 1, V)) if row_ranges else 0.0)
    eta = 0.9 / net.norm_upper_bound()
    data = alg.PDHGData(c=arr(rng.normal(size=E)), con_lb=arr(con_lb), con_ub=arr(con_ub), var_lb=lower,
                        var_ub=arr(upper), d1=op.params[2], d2=op.params[3], theta_b=1.0, theta_c=1.0, c0=0.0,
                        bound_norm=float(np.linalg.norm(rhs)), cost_norm=1.0, eta=eta)
    x = np.clip(arr(rng.normal(size=E)), lower, arr(upper))
    state = alg.init_state(backend.xp, op, data, x, arr(rng.normal(size=V)), np.dtype(dtype))
    return backend.xp, op, data, state


def run(xp, op, data, state, iterations):
    """``iterations`` steps with an evaluation (restart test) every ``check_every``."""
    for n in range(iterations):
        state = alg.step(xp, op, data, PARAMS, state)
        if (n + 1) % int(PARAMS.check_every) == 0:
            state, _ = alg.evaluate(xp, op, data, PARAMS, state)
    return state


def assert_runs_agree(xp, op, data, start, rtol, names=("x", "y", "ax")):
    """320 iterations (restarts included) with ``op``'s fused path and with the NumPy bodies
    reach the same restarts and the same iterates to ``rtol`` of their largest entry."""
    fused = run(xp, op, data, start, 320)
    plain = run(xp, generic(op), data, start, 320)
    assert float(fused.restarts) == float(plain.restarts) >= 2
    for name in names:
        f, p = getattr(fused, name), getattr(plain, name)
        assert float(np.max(np.abs(f - p))) <= rtol * max(float(np.max(np.abs(p))), 1.0), name


def generic(op):
    """The same operator without its fused step (algorithm.step then runs the NumPy bodies)."""
    plain = op.with_params(op.params)
    plain._fused = None
    return plain


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 2e-3)])
@pytest.mark.parametrize("index", [np.int32, np.int64])
@pytest.mark.parametrize("d2_per_arc, scalar_lower, row_ranges",
                         [(False, True, False), (True, False, True), (True, True, False), (False, False, True)])
def test_fused_iteration_equals_generic(dtype, rtol, index, d2_per_arc, scalar_lower, row_ranges):
    xp, op, data, start = random_problem(7, dtype, index, d2_per_arc, scalar_lower, row_ranges)
    assert op._fused is not None
    tau, sigma, neg_sigma = alg._step_sizes(xp, data.eta, start.omega)
    a, b, anchor, _, _ = alg._halpern_coefficients(xp, 1.0, start.k, start.n)
    assert op.fused_step(data, start, tau, sigma, neg_sigma, a, b, anchor) is not None  # covered: it runs
    fused = run(xp, op, data, start, 320)
    plain = run(xp, generic(op), data, start, 320)
    assert float(fused.restarts) == float(plain.restarts) >= 2  # restarts happened, at the same checks
    for name in ("x", "y", "ax", "x0", "y0", "ax0"):
        f, p = getattr(fused, name), getattr(plain, name)
        assert f.dtype == np.dtype(dtype)
        scale = max(float(np.max(np.abs(p))), 1.0)
        assert float(np.max(np.abs(f - p))) <= rtol * scale, name
    assert float(fused.omega) == pytest.approx(float(plain.omega), rel=rtol)


def test_one_step_matches_generic_closely():
    """A single float64 step: equal up to the scatter-add's summation order (a few ulps)."""
    xp, op, data, start = random_problem(3, "float64", np.int32, True, False, True)
    f = alg.step(xp, op, data, PARAMS, start)
    p = alg.step(xp, generic(op), data, PARAMS, start)
    for name in ("x", "y", "ax"):
        np.testing.assert_allclose(getattr(f, name), getattr(p, name), rtol=1e-13, atol=1e-13)


def test_unsupported_forms_fall_back():
    xp, op, data, start = random_problem(5, "float64", np.int32, False, True, False)
    tau, sigma, neg_sigma = alg._step_sizes(xp, data.eta, start.omega)
    a, b, anchor, _, _ = alg._halpern_coefficients(xp, 1.0, start.k, start.n)
    strided = start._replace(x=np.repeat(start.x, 3)[::3])  # not contiguous nor a pair's column: generic
    assert op.fused_step(data, strided, tau, sigma, neg_sigma, a, b, anchor) is None
    column = start._replace(x=np.repeat(start.x, 2)[::2])  # a column of an (n, 2) array: fused, same values
    assert op.fused_step(data, column, tau, sigma, neg_sigma, a, b, anchor) is not None
    np.testing.assert_allclose(alg.step(xp, op, data, PARAMS, column).x,
                               alg.step(xp, generic(op), data, PARAMS, column).x, rtol=1e-12)
    np.testing.assert_array_equal(alg.step(xp, op, data, PARAMS, strided).x,
                                  alg.step(xp, generic(op), data, PARAMS, strided).x)
    mixed = data._replace(c=data.c.astype(np.float32))  # another dtype
    assert op.fused_step(data=mixed, s=start, tau=tau, sigma=sigma, neg_sigma=neg_sigma, a=a, b=b,
                         anchor=anchor) is None
    several = NetworkMatrix(np.array([0, 1]), np.array([1, 2]), 3, num_commodities=2)  # no coupling rows
    assert several.device_operator(get_backend("numpy"), np.float64)._fused is None


def test_switch_off(monkeypatch):
    monkeypatch.setenv(network_fused.ENV_SWITCH, "0")
    assert not network_fused.enabled()
    model = netgen_min_cost_flow(60, 480, seed=4)
    assert model.operator.device_operator(get_backend("numpy"), np.float64)._fused is None
    ref = ortools_cost(model.tail, model.head, model.capacity, model.cost, model.supply)
    sol = model.solve(eps=1e-6)
    assert sol.status == Status.OPTIMAL
    assert abs(sol.objective - ref) / abs(ref) <= 1e-5
    monkeypatch.setenv(network_fused.ENV_SWITCH, "1")
    assert network_fused.enabled()
    assert model.operator.device_operator(get_backend("numpy"), np.float64)._fused is not None


@pytest.mark.parametrize("dtype, eps, tol", [("float64", 1e-6, 1e-5), ("float32", 1e-4, 1e-4)])
def test_fused_solve_matches_ortools_and_generic(monkeypatch, dtype, eps, tol):
    model = netgen_min_cost_flow(120, 960, seed=9)
    ref = ortools_cost(model.tail, model.head, model.capacity, model.cost, model.supply)
    assert model.operator.device_operator(get_backend("numpy"), np.float64)._fused is not None
    fused = model.solve(eps=eps, dtype=dtype)
    monkeypatch.setenv(network_fused.ENV_SWITCH, "0")
    plain = model.solve(eps=eps, dtype=dtype)
    for sol in (fused, plain):
        assert sol.status == Status.OPTIMAL
        assert abs(sol.objective - ref) / abs(ref) <= tol
    if dtype == "float64":  # the same iterations: the same number of them and restarts
        assert fused.result.iterations == plain.result.iterations
        assert fused.result.restarts == plain.result.restarts


def test_fused_dimacs_netgen(shared_data):
    """netgen_8_10a (1024 nodes, 8192 arcs) through the fused path, against the index's optimum
    and SimpleMinCostFlow."""
    folder, index = dimacs_index(shared_data)
    from scotopt.io.dimacs import read_dimacs

    model = read_dimacs(folder / index["netgen_8_10a"]["file"])
    assert model.operator.device_operator(get_backend("numpy"), np.float64)._fused is not None
    ref = reference_objective(index["netgen_8_10a"])
    assert ortools_cost(model.tail, model.head, model.capacity, model.cost, model.supply, model.lower) == ref
    sol = model.solve(eps=1e-7)
    assert sol.status == Status.OPTIMAL
    assert abs(sol.objective - ref) / abs(ref) <= 1e-6


def test_output_vectors_are_reused_only_when_unreferenced():
    step = network_fused.FusedNetworkStep(3, 5, np.float32)
    first = step._column_output()
    first_id = id(first)
    second = step._column_output()
    assert second is not first  # first is still held here
    view = first[1:]  # a view keeps its base alive: still not free
    del first
    third = step._column_output()
    assert id(third) != first_id and third is not second
    del view
    fourth = step._column_output()
    assert id(fourth) == first_id  # nothing holds it any more: recycled
    assert len(step._columns) == 2


def test_row_outputs_are_two_distinct_vectors_reused_once_the_state_lets_go():
    step = network_fused.FusedNetworkStep(3, 5, np.float32)
    y1, ax1 = step._row_outputs()
    assert y1 is not ax1 and y1.shape == (3,)
    y2, ax2 = step._row_outputs()  # the first pair is still held: two new ones
    assert len({id(v) for v in (y1, ax1, y2, ax2)}) == 4
    ids = {id(y1), id(ax1)}
    del y1, ax1  # the state took the second pair and let go of the first
    y3, ax3 = step._row_outputs()
    assert {id(y3), id(ax3)} == ids and y3 is not ax3
    assert len(step._rows) == 4


def test_steps_reuse_row_outputs_and_give_the_same_iterates():
    """Recycled row outputs change nothing: the same iterates as steps whose outputs are all new."""
    xp, op, data, start = random_problem(11, "float32", np.int32, False, True, False)
    state = start
    for _ in range(6):
        state = alg.step(xp, op, data, PARAMS, state)
    kept = {id(v) for v in op._fused._rows}
    assert len(kept) == 4 and {id(state.y)} <= kept  # this step's y+ is one of the kept vectors
    fresh = start
    for _ in range(6):
        op._fused.release_columns()  # nothing kept: every output new
        fresh = alg.step(xp, op, data, PARAMS, fresh)
    np.testing.assert_array_equal(state.y, fresh.y)
    np.testing.assert_array_equal(state.x, fresh.x)


def steps_without_refresh(xp, op, data, state, count):
    """``count`` steps whose loop 1 fills the tables (loop 3 does not leave them ready)."""
    op._fused.refresh_tables = False
    try:
        for _ in range(count):
            state = alg.step(xp, op, data, PARAMS, state)
    finally:
        del op._fused.refresh_tables
    return state


def assert_refreshed_steps_equal_plain_steps(d2_per_arc, chunks):
    xp, op, data, start = random_problem(17, "float32", np.int32, d2_per_arc, False, True)
    state = start
    for _ in range(6):
        state = alg.step(xp, op, data, PARAMS, state)
        tables, y_out = op._fused._prepared[:2]
        assert y_out is state.y and tables.shape[0] == chunks  # loop 3 left the tables ready ...
        d2s = np.float32(1) if d2_per_arc else op.params[3][()]
        np.testing.assert_array_equal(tables[:, :, 0], np.broadcast_to((state.y * op.params[2]) * d2s,
                                                                       tables.shape[:2]))
        assert not tables[:, :, 1].any()  # ... at (s, 0)
    plain = steps_without_refresh(xp, op, data, start, 6)
    for name in ("x", "y", "ax"):
        np.testing.assert_array_equal(getattr(state, name), getattr(plain, name), err_msg=name)
    # a step from another state's y runs loop 1 again: the same as a step with loop 1
    other = alg.step(xp, op, data, PARAMS, start)
    np.testing.assert_array_equal(other.x, steps_without_refresh(xp, op, data, start, 1).x)


@pytest.mark.parametrize("d2_per_arc", [False, True])
def test_steps_that_skip_loop_1_give_the_same_iterates(d2_per_arc):
    """Loop 3 sets the tables to (s, 0) for y+ and the next step skips loop 1: bit for bit the
    iterates of steps that fill the tables in loop 1 (one thread)."""
    assert_refreshed_steps_equal_plain_steps(d2_per_arc, 1)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("d2_per_arc", [False, True])
def test_a_measured_step_sums_its_residual(dtype, rtol, d2_per_arc):
    """The measured step's outputs are the plain step's, bit for bit, and its three sums are
    those of T(z) - z formed from the generic map (NumPy bodies) and reduced in float64."""
    assert_measured_step_sums_its_residual(*random_problem(19, dtype, np.int32, d2_per_arc, False, True), rtol)


def assert_measured_step_sums_its_residual(xp, op, data, start, rtol):
    tau, sigma, neg_sigma = alg._step_sizes(xp, data.eta, start.omega)
    a, b, anchor, _, _ = alg._halpern_coefficients(xp, 1.0, start.k, start.n)
    measured = op.fused_step(data, start, tau, sigma, neg_sigma, a, b, anchor, measure=True)
    plain = op.fused_step(data, start, tau, sigma, neg_sigma, a, b, anchor)
    for got, expected in zip(measured[:3], plain, strict=True):
        np.testing.assert_array_equal(got, expected)
    x_hat, y_hat, ax_hat = alg.pdhg_map(xp, generic(op), data, start.x, start.y, start.ax, start.omega)

    def f64(v):
        return np.asarray(v, dtype=np.float64)

    expected = (np.sum((f64(x_hat) - f64(start.x)) ** 2), np.sum((f64(y_hat) - f64(start.y)) ** 2),
                np.dot(f64(y_hat) - f64(start.y), f64(ax_hat) - f64(start.ax)))
    for got, want in zip(measured[3], expected, strict=True):
        assert got == pytest.approx(want, rel=rtol * 10, abs=rtol * 1e-3)


def restarted_state(xp, op, data, state):
    """A state just after an evaluation that restarted: z = z0 (the same arrays), r0 pending."""
    for _ in range(40):
        state = alg.step(xp, op, data, PARAMS, state)
        new, stats = alg.evaluate(xp, op, data, PARAMS, state)
        if stats[alg.STAT["restarted"]]:
            return new
        state = new
    raise AssertionError("no restart in 40 evaluations")


def test_the_first_step_after_a_restart_measures_the_reference_residual():
    """After a restart the first fused step sets r0 (the evaluation then needs no T map of the
    anchor), equal to the residual the evaluation forms from the generic map; later steps and
    layouts that do not measure leave r0 pending."""
    xp, op, data, start = random_problem(23, "float64", np.int32, False, False, True)
    state = restarted_state(xp, op, data, start)
    assert np.isnan(state.r0) and state.x is state.x0
    assert alg.anchor_residual_pending(xp, op, state)
    stepped = alg.step(xp, op, data, PARAMS, state)
    x_hat, y_hat, ax_hat = alg.pdhg_map(xp, generic(op), data, state.x0, state.y0, state.ax0, state.omega)
    expected = alg._residual_between(xp, data, state.omega, state.x0, state.y0, state.ax0, x_hat, y_hat, ax_hat)
    assert float(stepped.r0) == pytest.approx(float(expected), rel=1e-10)
    assert stepped.r0.dtype == state.r0.dtype
    assert not alg.anchor_residual_pending(xp, op, stepped)  # z moved away from the anchor
    assert not alg.anchor_residual_pending(xp, generic(op), state)  # no fused step: evaluate measures


def test_a_screened_chunk_measures_its_first_step_after_a_restart():
    """With screening on, a chunk that starts at a restarted state runs its first step through
    the measured fused step (r0 set, the same value as :func:`alg.step` gives), then screens."""
    xp, op, data, start = random_problem(23, "float64", np.int32, False, False, True)
    state = restarted_state(xp, op, data, start)
    screened = PARAMS._replace(screening=1.0)
    assert op.screens
    chunk = alg.steps(xp, op, data, screened, state, 5, get_backend("numpy").repeat)
    assert float(chunk.r0) == float(alg.step(xp, op, data, PARAMS, state).r0)
    assert float(chunk.k) == float(state.k) + 5


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-5)])
def test_the_evaluation_map_measures_its_residual(dtype, rtol):
    """``map_and_residual`` with the fused map's sums: the generic map's T(z) (to rounding) and
    the residual formed from the vectors."""
    xp, op, data, start = random_problem(29, dtype, np.int32, True, False, True)
    fused = alg.map_and_residual(xp, op, data, start.x, start.y, start.ax, start.omega)
    plain = alg.map_and_residual(xp, generic(op), data, start.x, start.y, start.ax, start.omega)
    for got, expected in zip(fused[:3], plain[:3], strict=True):
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol)
    assert fused[3].dtype == plain[3].dtype == np.dtype(dtype)
    assert float(fused[3]) == pytest.approx(float(plain[3]), rel=rtol * 10)


def test_evaluation_releases_what_the_fused_step_keeps():
    xp, op, data, start = random_problem(11, "float32", np.int32, False, True, False)
    state = alg.step(xp, op, data, PARAMS, alg.step(xp, op, data, PARAMS, start))
    assert op._fused._columns and op._fused._scratch is not None
    alg.evaluate(xp, op, data, PARAMS, state)
    assert op._fused._columns == [] and op._fused._rows == [] and op._fused._scratch is None
    assert alg.step(xp, op, data, PARAMS, state).x.dtype == np.float32  # and steps on afterwards


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("d2_per_arc", [False, True])
def test_evaluation_kernels_equal_the_explicit_matrix_and_numpy_sums(dtype, rtol, d2_per_arc):
    """The compiled A~ x, A~^T y, T(z) and KKT column sums that an evaluation uses, against the
    explicit scipy matrix and the NumPy bodies (infinite bounds of both signs included)."""
    xp, op, data, start = random_problem(13, dtype, np.int32, d2_per_arc, False, True)
    net_csr = NetworkMatrix(op.params[0], op.params[1], op.V, row_scale=np.asarray(op.params[2], np.float64),
                            col_scale=np.asarray(op.params[3], np.float64)).to_csr()
    x, y = start.x, start.y
    np.testing.assert_allclose(op.matvec(x), net_csr @ x.astype(np.float64), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(op.rmatvec(y), net_csr.T @ y.astype(np.float64), rtol=rtol, atol=rtol)
    plain = generic(op)
    np.testing.assert_array_equal(op.rmatvec(y), plain.rmatvec(y))  # the same operations: equal
    tau, sigma, neg_sigma = alg._step_sizes(xp, data.eta, start.omega)
    for fused_hat, plain_hat in zip(op.fused_map(data, x, y, start.ax, tau, sigma, neg_sigma),
                                    alg.pdhg_map(xp, plain, data, x, y, start.ax, start.omega), strict=True):
        np.testing.assert_allclose(fused_hat, plain_hat, rtol=rtol, atol=rtol)
    upper = data.var_ub.copy()
    upper[::7] = np.inf
    data = data._replace(var_ub=upper)
    inf = alg.infinite_bounds(xp, data)
    assert inf.col_lower.any() and inf.col_upper.any()
    expected = alg.column_kkt_sums(xp, data, x, alg._reduced_costs(xp, plain, data, y), inf)
    got = op.fused_column_kkt(data, x, y)
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == np.dtype(dtype)
        assert float(g) == pytest.approx(float(e), rel=rtol * 10, abs=rtol)
    with np.errstate(invalid="ignore"):
        nan_y = y.copy()
        nan_y[0] = np.nan
        assert np.isnan(float(op.fused_column_kkt(data, x, nan_y)[2]))  # NaN is reported, not hidden


@contextlib.contextmanager
def kernel_threads(monkeypatch, threads):
    """The parallel kernels on small problems (every size qualifies) on ``threads`` of numba's
    threads; skips where numba has fewer."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < threads:
        pytest.skip(f"numba has fewer than {threads} threads here (NUMBA_NUM_THREADS)")
    monkeypatch.setattr(network_fused, "PARALLEL_MIN_ARCS", 0)
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


@pytest.fixture
def two_chunks(monkeypatch):
    """The parallel kernels on small problems: every size qualifies, two threads."""
    with kernel_threads(monkeypatch, 2):
        assert network_fused.parallel_chunks(300) == 2
        yield


@pytest.mark.parametrize("d2_per_arc, scalar_lower, row_ranges", [(False, True, False), (True, False, True)])
def test_parallel_kernels_equal_generic(two_chunks, d2_per_arc, scalar_lower, row_ranges):
    """Two arc chunks on two threads, each with its own node table: the same iteration as the
    NumPy bodies up to the order of the scatter's sums (float64, restarts included)."""
    xp, op, data, start = random_problem(21, "float64", np.int32, d2_per_arc, scalar_lower, row_ranges)
    alg.step(xp, op, data, PARAMS, start)
    assert op._fused._scratch.shape[0] == 2  # the two-chunk tables are used
    assert_runs_agree(xp, op, data, start, 1e-10)
    got = op.fused_column_kkt(data, start.x, start.y)
    expected = alg.column_kkt_sums(xp, data, start.x, alg._reduced_costs(xp, generic(op), data, start.y),
                                   alg.infinite_bounds(xp, data))
    for g, e in zip(got, expected, strict=True):
        assert float(g) == pytest.approx(float(e), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("d2_per_arc", [False, True])
def test_parallel_steps_that_skip_loop_1_give_the_same_iterates(two_chunks, d2_per_arc):
    """As the one-thread test: each thread's loop 3 sets both tables' rows of its node range."""
    assert_refreshed_steps_equal_plain_steps(d2_per_arc, 2)


def test_concurrent_solves_share_the_parallel_kernels_safely(two_chunks):
    """Two solves in two threads: one holds the parallel kernels, the other runs on one thread
    (numba's thread pool takes one caller at a time); both answers match SimpleMinCostFlow."""
    from concurrent.futures import ThreadPoolExecutor

    models = [netgen_min_cost_flow(120, 960, seed=s) for s in (31, 32)]
    with ThreadPoolExecutor(2) as pool:
        solutions = list(pool.map(lambda m: m.solve(eps=1e-6), models))
    for model, sol in zip(models, solutions, strict=True):
        ref = ortools_cost(model.tail, model.head, model.capacity, model.cost, model.supply)
        assert sol.status == Status.OPTIMAL
        assert abs(sol.objective - ref) / abs(ref) <= 1e-5


def random_multicommodity(seed, dtype, d2_per_column):
    """A random 3-commodity network with coupling rows (self-loops included), random scalings,
    costs, bounds and starting point, on the NumPy backend."""
    rng = np.random.default_rng(seed)
    V, E, K = 30, 200, 3
    tail, head = rng.integers(0, V, E), rng.integers(0, V, E)
    tail[:3] = head[:3]
    d1 = rng.uniform(0.2, 1.5, K * V + E)
    d2 = rng.uniform(0.3, 1.2, K * E) if d2_per_column else 0.6
    net = NetworkMatrix(tail, head, V, num_commodities=K, coupling=True, row_scale=d1, col_scale=d2)
    net.tail, net.head = net.tail.astype(np.int32), net.head.astype(np.int32)
    backend = get_backend("numpy")
    op = net.device_operator(backend, dtype)

    def arr(v):
        return np.asarray(v, dtype=dtype)

    upper = np.where(rng.random(K * E) < 0.2, np.inf, rng.uniform(0.5, 3.0, K * E))
    lower = np.where(rng.random(K * E) < 0.2, -np.inf, -rng.uniform(0, 1, K * E))
    rhs = rng.normal(size=K * V)
    con_lb = np.concatenate([rhs, np.full(E, -np.inf)])
    con_ub = np.concatenate([rhs, rng.uniform(1, 4, E)])
    eta = 0.9 / net.norm_upper_bound()
    data = alg.PDHGData(c=arr(rng.normal(size=K * E)), con_lb=arr(con_lb), con_ub=arr(con_ub), var_lb=arr(lower),
                        var_ub=arr(upper), d1=op.params[2], d2=op.params[3], theta_b=1.0, theta_c=1.0, c0=0.0,
                        bound_norm=float(np.linalg.norm(rhs)), cost_norm=1.0, eta=eta)
    x = np.clip(arr(rng.normal(size=K * E)), arr(lower), arr(upper))
    state = alg.init_state(backend.xp, op, data, x, arr(rng.normal(size=K * V + E)), np.dtype(dtype))
    return backend.xp, op, data, state, net


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 2e-3)])
@pytest.mark.parametrize("d2_per_column", [False, True])
def test_multicommodity_fused_iteration_equals_generic(dtype, rtol, d2_per_column):
    """K commodities with coupling rows: the fused loops against the NumPy bodies over 320
    iterations with restarts, and their products against the explicit matrix."""
    from scotopt.kernels.network_fused_mmcf import FusedMulticommodityStep

    xp, op, data, start, net = random_multicommodity(5, dtype, d2_per_column)
    assert isinstance(op._fused, FusedMulticommodityStep)
    csr = net.to_csr()
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(op.matvec(start.x), csr @ start.x.astype(np.float64), rtol=tol, atol=tol)
    np.testing.assert_allclose(op.rmatvec(start.y), csr.T @ start.y.astype(np.float64), rtol=tol, atol=tol)
    expected = alg.column_kkt_sums(xp, data, start.x, alg._reduced_costs(xp, generic(op), data, start.y),
                                   alg.infinite_bounds(xp, data))
    for g, e in zip(op.fused_column_kkt(data, start.x, start.y), expected, strict=True):
        assert float(g) == pytest.approx(float(e), rel=10 * tol, abs=tol)
    assert_runs_agree(xp, op, data, start, rtol, ("x", "y", "ax", "x0", "y0", "ax0"))


def test_multicommodity_fused_solve_matches_highs(monkeypatch):
    """A grid multicommodity LP through the fused path against HiGHS on the explicit LP, and the
    NumPy path (``SCOTOPT_NUMBA=0``) reaching the same optimum."""
    import scipy.optimize

    model = grid_multicommodity(4, 5, 6, seed=3)
    assert model.operator.device_operator(get_backend("numpy"), np.float64)._fused is not None
    lp = model.lp
    A = model.operator.to_csr()
    equal = lp.con_lb == lp.con_ub
    ref = scipy.optimize.linprog(lp.c, A_ub=A[~equal], b_ub=lp.con_ub[~equal], A_eq=A[equal], b_eq=lp.con_ub[equal],
                                 bounds=np.column_stack([np.broadcast_to(lp.var_lb, lp.c.shape),
                                                         np.broadcast_to(lp.var_ub, lp.c.shape)]), method="highs")
    assert ref.status == 0
    fused = model.solve(eps=1e-7)
    monkeypatch.setenv(network_fused.ENV_SWITCH, "0")
    plain = model.solve(eps=1e-7)
    for sol in (fused, plain):
        assert sol.status == Status.OPTIMAL
        assert abs(sol.objective - ref.fun) <= 1e-6 * max(1.0, abs(ref.fun))


def _child_solve(queue):
    model = netgen_min_cost_flow(120, 960, seed=9)
    sol = model.solve(eps=1e-6)
    queue.put((network_fused.parallel_chunks(1 << 20), sol.status.name, float(sol.objective)))


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # JAX's threads: the child never uses JAX
def test_a_forked_child_solves_on_one_thread(two_chunks):
    """After the parent used the thread pool, a forked child solves on one thread (numba's
    OpenMP pool is not fork-safe) and gets the same answer."""
    import multiprocessing

    model = netgen_min_cost_flow(120, 960, seed=9)
    parent = model.solve(eps=1e-6)  # the pool has run in this process (two_chunks: every size)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_solve, args=(queue,))
    child.start()
    try:
        chunks, status, objective = queue.get(timeout=120)  # a hung child fails the test
    finally:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
    assert chunks == 1 and status == "OPTIMAL"
    assert objective == pytest.approx(parent.objective, rel=1e-6)


def test_multicommodity_two_threads_equal_generic(two_chunks):
    """The commodities in two chunks on two threads, each chunk with its own coupling sums:
    the same iteration as the NumPy bodies (float64, restarts included)."""
    xp, op, data, start, _ = random_multicommodity(8, "float64", True)
    alg.step(xp, op, data, PARAMS, start)
    assert op._fused._scratch[1].shape[0] == 2  # two chunks' coupling pairs
    assert_runs_agree(xp, op, data, start, 1e-10)


@pytest.mark.parametrize("chunks", [2, 3, 5])
@pytest.mark.parametrize("halpern", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_node_loop_sums_the_chunk_tables_in_order(chunks, halpern, dtype):
    """Loop 3 over P chunk tables (two chunks and three or more take different compiled loops)
    equals loop 3 over one table holding their sums added in chunk order, bit for bit, serial
    and parallel, and equals the dual step and Halpern updates written out in NumPy."""
    rng = np.random.default_rng(chunks)
    f = np.dtype(dtype).type
    V = 1001
    st = rng.normal(size=(chunks, V, 2)).astype(dtype)
    summed = st[:1].copy()
    for p in range(1, chunks):
        summed[0, :, 1] = summed[0, :, 1] + st[p, :, 1]
    d1, y, y0, ax, ax0 = (rng.uniform(0.5, 1.5, V).astype(dtype) for _ in range(5))
    lb = -rng.uniform(0, 1, V).astype(dtype)
    lb[:10] = -np.inf
    ub = lb + rng.uniform(0, 1, V).astype(dtype)
    scalars = tuple(f(v) for v in (0.7, 0.3, -0.3, 1.2, -0.1, 0.1 if halpern else 0.0))
    d2s, sigma, neg_sigma, a, b, anchor = scalars

    def loop3(kernel, tables):
        y_out, ax_out = np.empty(V, dtype), np.empty(V, dtype)
        kernel(tables, d1, d2s, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, halpern, y_out, ax_out,
               False, None)  # no refresh, no residual sums
        return y_out, ax_out

    expected = loop3(network_fused._node_pass, summed)
    for kernel in (network_fused._node_pass, network_fused._node_pass_parallel):
        got = loop3(kernel, st)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
    # the same rows in NumPy (operations in the kernel's order)
    axh = summed[0, :, 1] * (d1 * d2s)
    w = y - sigma * ((axh + axh) - ax)
    yh = w - np.minimum(np.maximum(w, neg_sigma * ub), neg_sigma * lb)
    if halpern:
        yh, axh = a * yh + b * y + anchor * y0, a * axh + b * ax + anchor * ax0
    np.testing.assert_allclose(expected[0], yh, rtol=1e-5 if dtype == "float32" else 1e-13)
    np.testing.assert_allclose(expected[1], axh, rtol=1e-5 if dtype == "float32" else 1e-13)


def test_side_by_side_recognises_the_two_columns_of_one_array_only():
    both = np.zeros((10, 2), np.float32)
    assert network_fused.side_by_side(both[:, 0], both[:, 1])
    assert not network_fused.side_by_side(both[:, 1], both[:, 0])
    three = np.zeros((10, 3), np.float32)
    assert not network_fused.side_by_side(three[:, 0], three[:, 1])
    assert not network_fused.side_by_side(np.zeros(10, np.float32), np.zeros(10, np.float32))
    assert not network_fused.side_by_side(both[:, 0], both[:, 1].astype(np.float64))
    assert network_fused._operand(both[:, 1], 10, np.dtype(np.float32)) is not None
    assert network_fused._operand(three[:, 1], 10, np.dtype(np.float32)) is None


def assert_dual_ray_columns_match_numpy(seed, dtype, rtol, d2_per_arc, scalar_lower):
    """The compiled column terms of the Farkas test against dual_ray_measures' NumPy body (bounds
    of both infinite signs; both directions an evaluation tests), and NaN reported, not hidden."""
    xp, op, data, start = random_problem(seed, dtype, np.int32, d2_per_arc, scalar_lower, True)
    upper = data.var_ub.copy()
    upper[::7] = np.inf
    data = data._replace(var_ub=upper)
    inf = alg.infinite_bounds(xp, data)
    plain = generic(op)
    rng = np.random.default_rng(seed)
    for dy in (start.y - rng.normal(size=start.y.shape).astype(dtype), rng.normal(size=start.y.shape).astype(dtype)):
        expected = alg.dual_ray_measures(xp, data, dy, plain.rmatvec(dy), inf)
        calls = []

        def fused(inv, dy=dy, calls=calls):
            calls.append(op.fused_dual_ray_columns(data, dy, inv))
            return calls[-1]

        got = alg.dual_ray_measures(xp, data, dy, lambda: pytest.fail("formed A^T y"), inf, fused)
        assert calls and calls[0] is not None
        for g, e in zip(got, expected, strict=True):
            assert float(g) == pytest.approx(float(e), rel=rtol, abs=rtol)
    with np.errstate(invalid="ignore"):
        nan_y = start.y.copy()
        nan_y[3] = np.nan
        support, worst = op.fused_dual_ray_columns(data, nan_y, np.asarray(1.0, dtype))
        assert np.isnan(float(support)) and np.isnan(float(worst))


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("d2_per_arc, scalar_lower", [(False, True), (True, False)])
def test_dual_ray_columns_equal_the_numpy_farkas_terms(dtype, rtol, d2_per_arc, scalar_lower):
    assert_dual_ray_columns_match_numpy(17, dtype, rtol, d2_per_arc, scalar_lower)


def test_parallel_dual_ray_columns_equal_the_numpy_farkas_terms(two_chunks):
    assert_dual_ray_columns_match_numpy(19, "float64", 1e-12, True, False)


def test_an_infeasible_network_is_certified_with_the_fused_ray_terms(monkeypatch):
    """Supplies that cannot reach the demands: the solve reports PRIMAL_INFEASIBLE through the
    compiled Farkas terms (and the float64 check), as HiGHS does."""
    from scipy.optimize import linprog

    from scotopt.models import MinCostFlow

    calls = []
    dual_ray_columns = network_fused.FusedNetworkStep.dual_ray_columns

    def counted(step, *args):
        calls.append(1)
        return dual_ray_columns(step, *args)

    monkeypatch.setattr(network_fused.FusedNetworkStep, "dual_ray_columns", counted)
    # nodes 0-1 supply 3 each, nodes 2-3 demand 3 each, but only 2 units fit through arc 1 -> 2
    tail = np.array([0, 1, 2], dtype=np.int32)
    head = np.array([1, 2, 3], dtype=np.int32)
    model = MinCostFlow(tail, head, [1.0, 1.0, 1.0], [10.0, 2.0, 10.0], [3.0, 3.0, -3.0, -3.0])
    reference = linprog(model.cost, A_eq=model.operator.to_csr().toarray(), b_eq=model.supply,
                        bounds=list(zip(model.lower, model.capacity, strict=True)), method="highs")
    assert reference.status == 2  # infeasible
    solution = model.solve(eps=1e-6)
    assert solution.status == Status.PRIMAL_INFEASIBLE
    assert calls
