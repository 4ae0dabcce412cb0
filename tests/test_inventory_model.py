"""Multi-echelon inventory model: newsvendor oracles, HiGHS/CVXPY on the explicit LP, simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from scotopt.models.inventory import MultiEchelonInventory
from scotopt.models.simulate import simulate
from scotopt.status import InvalidProblemError, Status
from tests.inventory_reference import cvxpy_objective, explicit_lp, highs_objective


def _single_node(demand, h=1.0, b=9.0, **kw):
    d = np.asarray(demand, dtype=float).reshape(-1, 1, 1, 1)
    return MultiEchelonInventory([0], [0], d, holding_cost=h, backorder_cost=b, lane_source=[-1], **kw)


def test_newsvendor_is_the_empirical_quantile_with_its_duals(backend):
    """SAA newsvendor: q* = d_(k), k = ceil(S b/(b+h)); balance duals are h/S (surplus) or -b/S."""
    rng = np.random.default_rng(11)
    S, h, b = 201, 1.0, 9.0  # S b/(b+h) = 180.9 is not an integer, so the optimum is unique
    d = rng.normal(100, 20, S)
    sol = _single_node(d, h, b).solve(eps=1e-8, backend=backend)
    assert sol.status == Status.OPTIMAL
    k = math.ceil(S * b / (b + h))
    q_star = np.sort(d)[k - 1]
    assert sol.orders[0, 0, 0] == pytest.approx(q_star, rel=1e-6)
    y = sol.result.y
    surplus, short = d < q_star - 1e-6, d > q_star + 1e-6
    # PDLP's sign convention: y = dObjective/d(rhs); rhs = -d, so more demand costs b/S when short
    np.testing.assert_allclose(y[surplus], h / S, rtol=1e-5)
    np.testing.assert_allclose(y[short], -b / S, rtol=1e-5)
    expected = np.mean(h * np.maximum(q_star - d, 0) + b * np.maximum(d - q_star, 0))
    assert sol.result.fun == pytest.approx(expected, rel=1e-7)


def test_lead_time_base_stock_is_the_lead_time_demand_quantile():
    """One order at t=0 with lead time L covers periods 0..L: q* = quantile of their total demand."""
    rng = np.random.default_rng(5)
    S, L = 151, 3
    d = rng.gamma(4.0, 5.0, (S, L + 1, 1, 1))
    m = MultiEchelonInventory([0], [L], d, holding_cost=1.0, backorder_cost=4.0, lane_source=[-1])
    sol = m.solve(eps=1e-8)
    assert sol.status == Status.OPTIMAL
    k = math.ceil(S * 4.0 / 5.0)  # 120.8 -> 121
    assert sol.orders[0, 0, 0] == pytest.approx(np.sort(d.sum(axis=1).ravel())[k - 1], rel=1e-6)
    assert np.all(sol.orders[1:] == pytest.approx(0.0, abs=1e-6))  # they would arrive too late


def test_storage_value_is_the_marginal_newsvendor_cost():
    """Space K caps the stock left after demand, so q <= K + min_s d_s; when that binds, one more
    unit of space raises q by one and saves (b #{d > q} - h #{d < q}) / S."""
    rng = np.random.default_rng(2)
    S, h, b, K = 101, 1.0, 9.0, 40.0
    d = rng.normal(100, 20, S)
    sol = _single_node(d, h, b, storage_capacity=K).solve(eps=1e-9)
    assert sol.status == Status.OPTIMAL
    q = K + d.min()
    assert sol.orders[0, 0, 0] == pytest.approx(q, rel=1e-6)
    value = (b * np.sum(d > q) - h * np.sum(d < q)) / S
    assert sol.storage_value[0, 0] == pytest.approx(value, rel=1e-5)


def test_budget_newsvendor_matches_the_published_multiplier():
    """Two items, budget 180 (c = 1, 2 budget units per unit; no purchase cost in the objective, as
    in the published figures): lambda = 3.38067, S = (103.1175, 38.4413), expected cost 166.8930.
    The budget is a lane-capacity row with lane_volume = c. Scenarios are the midpoint quantiles
    F^-1((i - 1/2)/n) of each item (comonotone; each item's expected cost depends on its own
    marginal only). The SAA objective is then a midpoint rule for the expected cost, and its
    optimum moves by about the quantile spacing 1/(n f(S)) < 0.02 units at n = 4000; the
    multiplier is determined up to the same step, so within 2e-3 relative."""
    n = 4000
    u = (np.arange(n) + 0.5) / n
    d = np.zeros((n, 1, 1, 2))
    d[:, 0, 0, 0] = stats.norm.ppf(u, 100, 20)
    d[:, 0, 0, 1] = stats.norm.ppf(u, 50, 10)
    m = MultiEchelonInventory([0], [0], d, holding_cost=[[1.0, 2.0]], backorder_cost=[[9.0, 8.0]],
                              lane_source=[-1], lane_volume=[1.0, 2.0], lane_capacity=180.0)
    sol = m.solve(eps=1e-8, time_limit=120)
    assert sol.status == Status.OPTIMAL
    np.testing.assert_allclose(sol.orders[0, 0], [103.1175, 38.4413], atol=0.05)
    assert sol.lane_capacity_value[0, 0] == pytest.approx(3.38067, rel=2e-3)
    assert sol.result.fun == pytest.approx(166.8930, rel=1e-4)


def _network(lost_sales=False, expediting=True, seed=3):
    """Two parts assembled at a plant that serves two stores; capacities that bind."""
    rng = np.random.default_rng(seed)
    S, T, N, P = 3, 5, 5, 2
    inputs = np.zeros((N, 5))
    inputs[1, 0], inputs[2, 0], inputs[0, 3], inputs[0, 4] = 1.0, 2.0, 1.0, 1.0
    d = np.zeros((S, T, N, P))
    d[:, :, 3:] = rng.uniform(0, 10, (S, T, 2, P))
    expedite = np.where(np.arange(N)[:, None] >= 3, 12.0, np.inf) * np.ones((N, P)) if expediting else None
    return MultiEchelonInventory(
        [0, 1, 2, 3, 4], [1, 2, 0, 1, 2], d, lane_inputs=inputs,
        holding_cost=rng.uniform(0.5, 1.5, (N, P)), backorder_cost=rng.uniform(5, 9, (N, P)),
        lane_cost=rng.uniform(0, 1, (5, P)), expedite_cost=expedite, volume=[1.0, 2.0],
        storage_capacity=[100, 100, 100, 6, 8], lane_capacity=[50, 50, 50, 9, 30], lane_volume=[1.0, 1.0],
        initial_inventory=2.0, lost_sales=lost_sales, probabilities=[0.5, 0.3, 0.2],
    )


@pytest.mark.parametrize("lost_sales", [False, True])
def test_network_objective_matches_highs(lost_sales, backend):
    model = _network(lost_sales)
    sol = model.solve(eps=1e-8, backend=backend)
    assert sol.status == Status.OPTIMAL
    highs, _ = highs_objective(model)
    assert sol.result.fun == pytest.approx(highs, rel=1e-6)
    assert sol.cost["total"] == pytest.approx(sol.result.fun, rel=1e-9)


@pytest.mark.parametrize("lost_sales", [False, True])
def test_network_reference_lp_agrees_with_cvxpy(lost_sales):
    """The LP the HiGHS reference solves has the optimum CVXPY (Clarabel) finds for it."""
    pytest.importorskip("cvxpy", reason="the CVXPY cross-check needs cvxpy (pip install -e '.[test]')")
    model = _network(lost_sales)
    highs, _ = highs_objective(model)
    assert cvxpy_objective(model) == pytest.approx(highs, rel=1e-6)


def test_operator_and_data_equal_the_independent_assembly():
    model = _network()
    c, A, rlb, rub, lb, ub = explicit_lp(model)
    lp = model.to_lp()
    assert abs(lp.A.to_csr() - A).max() == 0.0
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(A.shape[1]), rng.standard_normal(A.shape[0])
    np.testing.assert_allclose(lp.A.matvec(x), A @ x, atol=1e-12)
    np.testing.assert_allclose(lp.A.rmatvec(y), A.T @ y, atol=1e-12)
    np.testing.assert_array_equal(lp.c, c)
    np.testing.assert_array_equal(lp.con_lb, rlb)
    np.testing.assert_array_equal(lp.con_ub, rub)
    np.testing.assert_array_equal(lp.var_ub, ub)


def test_lane_value_is_the_highs_finite_difference():
    model = _network()
    sol = model.solve(eps=1e-9)
    t, l = np.unravel_index(np.argmax(sol.lane_capacity_value), sol.lane_capacity_value.shape)
    assert sol.lane_capacity_value[t, l] > 0.1
    base, _ = highs_objective(model)
    delta = 1e-3
    model.lane_capacity = model.lane_capacity.copy()
    model.lane_capacity[t, l] += delta
    more, _ = highs_objective(model)
    assert (base - more) / delta == pytest.approx(sol.lane_capacity_value[t, l], rel=1e-3)


def test_simulation_in_sample_equals_the_lp_and_runs_out_of_sample(backend):
    """No expediting and slack capacities: the simulated recourse is the LP's, so the costs agree."""
    rng = np.random.default_rng(8)
    S, T, N, P = 40, 6, 3, 2
    d = np.zeros((S, T, N, P))
    d[:, :, 1:] = rng.gamma(3.0, 3.0, (S, T, 2, P))
    model = MultiEchelonInventory([0, 1, 2], [2, 1, 1], d, lane_source=[-1, 0, 0],
                                  holding_cost=[[0.2], [1.0], [1.0]], backorder_cost=[[0.0], [6.0], [6.0]],
                                  lane_cost=0.1, initial_inventory=[[30], [8], [8]])
    sol = model.solve(eps=1e-9)
    assert sol.status == Status.OPTIMAL
    inside = simulate(model, sol, d, backend=backend)
    assert inside.expected_cost == pytest.approx(sol.result.fun, rel=1e-6)
    np.testing.assert_allclose(inside.fill_rate, sol.fill_rate, rtol=1e-6)
    fresh = rng.gamma(3.0, 3.0, (500, T, N, P))
    fresh[:, :, 0] = 0.0
    outside = simulate(model, sol.orders, fresh, backend=backend)
    assert outside.scenario_cost.shape == (500,)
    assert outside.upstream_shortfall == pytest.approx(0.0, abs=1e-6)
    assert np.isnan(outside.fill_rate[0]).all() and (outside.fill_rate[1:] <= 1).all()
    # an optimised plan is no better out of sample than in sample, beyond sampling noise
    assert outside.expected_cost > inside.expected_cost - 3 * outside.cost_std / math.sqrt(500)


def test_simulation_expedites_and_reports_overflow():
    rng = np.random.default_rng(1)
    d = rng.uniform(5, 15, (30, 3, 1, 1))
    model = _single_node(d[:, :1], expedite_cost=2.0, storage_capacity=12.0)
    short = np.full((1, 1, 1), 8.0)  # less than most demands
    report = simulate(model, short, d[:, :1], expedite=True)
    assert report.cost["backorder"] == 0.0 and report.cost["expediting"] > 0
    assert np.all(report.fill_rate == 1.0)  # expedited units arrive in time
    never = simulate(model, short, d[:, :1], expedite=False)
    assert never.cost["expediting"] == 0.0 and never.cost["backorder"] > 0
    too_much = simulate(model, np.full((1, 1, 1), 25.0), d[:, :1])  # leaves 10..20 on 12 of space
    assert too_much.storage_overflow > 0 and 0 < too_much.overflow_frequency < 1


@pytest.mark.parametrize(
    "change, match",
    [
        ({"demand": np.full((2, 1, 1, 1), np.nan)}, "demand"),
        ({"holding_cost": -1.0}, "holding_cost"),
        ({"lane_target": [3]}, "lane_target"),
        ({"lane_lead_time": [1.5]}, "lane_lead_time"),
        ({"lane_source": [7]}, "lane_source"),
        ({"demand": np.ones((2, 1, 1))}, "4-D"),
        ({"backorder_cost": np.ones((3, 2, 2, 2))}, "broadcast"),
        ({"probabilities": [0.5, 0.6]}, "sum"),
        ({"storage_capacity": -1.0}, "storage_capacity"),
    ],
)
def test_bad_input_is_refused_with_its_name(change, match):
    kw = dict(lane_target=[0], lane_lead_time=[0], demand=np.ones((2, 1, 1, 1)), holding_cost=1.0,
              backorder_cost=2.0, lane_source=[-1])
    kw.update(change)
    with pytest.raises(InvalidProblemError, match=match):
        MultiEchelonInventory(**kw)


def test_simulate_refuses_a_plan_of_the_wrong_shape():
    model = _single_node(np.ones(3))
    with pytest.raises(InvalidProblemError, match="orders"):
        simulate(model, np.ones((2, 1, 1)), np.ones((3, 1, 1, 1)))


def test_a_model_too_large_for_memory_is_refused_before_solving(monkeypatch):
    from scotopt.status import InsufficientMemoryError

    model = _single_node(np.ones(1000))
    monkeypatch.setenv("SCOTOPT_MAX_MEMORY", "100K")
    with pytest.raises(InsufficientMemoryError):
        model.solve()
