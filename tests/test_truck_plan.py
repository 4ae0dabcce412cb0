"""Integer load plans: triplet instances (known optimum n/3), small random instances against
HiGHS's truck-indexed MIP, and the independent feasibility check (which also checks HiGHS)."""

from __future__ import annotations

import numpy as np
import pytest

from scotopt.models import TruckLoading
from scotopt.models.truck_check import check_plan, check_truck_plan
from scotopt.models.truck_generators import random_truck_instance, triplet_instance
from scotopt.models.truck_mip import solve_truck_mip
from scotopt.models.truck_plan import build_plan
from scotopt.solvers.lagrangian import LagrangianOptions


def assert_checked(model, plan):
    check = check_truck_plan(model, plan)
    assert check.feasible, check.violations
    assert check.cost == pytest.approx(plan.total_cost, rel=1e-12)
    assert plan.cost["total"] == pytest.approx(plan.cost["trucks"] + plan.cost["assignment"] + plan.cost["fallback"])
    assert plan.lower_bound <= plan.total_cost + 1e-9 * abs(plan.total_cost)


@pytest.mark.parametrize("num_triplets, seed", [(20, 0), (20, 1), (40, 0), (40, 2)])  # t60 and t120 sizes
def test_triplets_reach_the_optimum_or_report_the_gap(num_triplets, seed):
    model = triplet_instance(num_triplets, seed=seed)
    plan = model.solve(lagrangian_options=LagrangianOptions(max_iterations=100))
    assert_checked(model, plan)
    optimum = num_triplets  # n / 3 full trucks
    assert plan.lower_bound == pytest.approx(optimum, rel=1e-4)
    assert plan.total_cost >= optimum
    assert plan.fallback_shipments.size == 0
    assert plan.gap == pytest.approx((plan.total_cost - plan.lower_bound) / plan.total_cost)
    if plan.total_cost == optimum:
        assert plan.gap <= 1e-4
    else:  # honest: the reported gap covers the distance to the known optimum
        assert plan.gap >= (plan.total_cost - optimum) / plan.total_cost - 1e-4
    assert plan.total_cost <= 1.15 * optimum


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_small_random_against_highs_mip(seed):
    model = random_truck_instance(80, 16, seed=seed, departures_per_lane=4)
    mip = solve_truck_mip(model, time_limit=30)
    assert mip["status"] == "Optimal"
    optimum = mip["objective"]
    highs_relaxation = solve_truck_mip(model, relax=True)["objective"]
    plan = model.solve(lp_eps=1e-9, iteration_limit=200_000)
    assert_checked(model, plan)
    assert abs(plan.bounds["lp"] - highs_relaxation) <= 1e-6 * max(1.0, abs(highs_relaxation))
    assert plan.lower_bound <= optimum * (1 + 1e-9)
    assert plan.total_cost >= optimum * (1 - 1e-9)
    true_gap = (plan.total_cost - optimum) / plan.total_cost
    assert plan.gap >= true_gap - 1e-9
    assert plan.total_cost <= 1.15 * optimum
    # HiGHS's own plan passes the independent check with the cost it reports
    served = np.flatnonzero(mip["departure"] >= 0)
    check = check_plan(model, served, mip["departure"][served], mip["truck"][served],
                       np.flatnonzero(mip["departure"] < 0))
    assert check.feasible, check.violations
    assert check.cost == pytest.approx(optimum, rel=1e-9)


def test_plan_without_relaxation_and_every_rule():
    model = random_truck_instance(800, 80, seed=5)
    for rules in (("first_fit",), ("best_fit",)):
        for improve in (False, True):
            plan = build_plan(model, rules=rules, improve=improve, time_budget=2)
            assert_checked(model, plan)
    loads = plan.loads
    assert loads["truck"].size == plan.trucks_used
    assert np.all(loads["weight_fill"] <= 1 + 1e-9) and np.all(loads["volume_fill"] <= 1 + 1e-9)
    d, t = int(loads["departure"][0]), int(loads["truck"][0])
    assert plan.shipments_of(d, t).size == loads["shipments"][0]
    assert 0 < plan.fill_rate_weight <= 1 and 0 < plan.fill_rate_volume <= 1
    assert "gap" in plan.summary()


def test_improvement_never_raises_the_cost():
    for seed in range(3):
        model = random_truck_instance(500, 50, seed=seed)
        raw = build_plan(model, improve=False)
        better = build_plan(model, improve=True, time_budget=2)
        assert better.total_cost <= raw.total_cost + 1e-9


def tiny_model():
    shipments = {"weight": [6.0, 5.0, 4.0], "volume": [1.0, 1.0, 1.0], "fallback_cost": [9.0, 9.0, 9.0],
                 "lane": [0, 0, 1], "release": [0.0, 0.0, 0.0], "due": [10.0, 10.0, 10.0]}
    departures = {"lane": [0, 1], "time": [1.0, 2.0], "transit": [5.0, 9.0], "fixed_cost": [4.0, 4.0],
                  "weight_capacity": [10.0, 10.0], "volume_capacity": [5.0, 5.0], "max_trucks": [2, 1]}
    return TruckLoading(shipments, departures)


def test_checker_catches_each_violation():
    model = tiny_model()
    ok = check_plan(model, [0, 1], [0, 0], [0, 1], [2])
    assert ok.feasible and ok.cost == 4 + 4 + 9
    cases = {
        "weight": ([0, 1], [0, 0], [0, 0], [2]),            # 6 + 5 > 10 on one truck
        "exactly once": ([0, 1, 1], [0, 0, 0], [0, 1, 1], [2]),
        "lane": ([0, 1, 2], [0, 0, 0], [0, 1, 1], []),       # shipment 2 is on lane 1
        "due": ([2], [1], [0], [0, 1]),                      # 2 + 9 > 10
        "max_trucks": ([0, 1], [0, 0], [0, 2], [2]),
    }
    for name, (ship, dep, truck, fallback) in cases.items():
        check = check_plan(model, ship, dep, truck, fallback)
        assert not check.feasible, name
    assert any("exactly once" in v for v in check_plan(model, *cases["exactly once"]).violations)
    assert any("arrives after" in v for v in check_plan(model, *cases["due"]).violations)


@pytest.mark.slow
def test_larger_instance_end_to_end():
    model = random_truck_instance(20_000, 2_000, seed=1)
    plan = model.solve(lp_time_limit=60, lagrangian_options=LagrangianOptions(max_iterations=300))
    assert_checked(model, plan)
    assert plan.gap < 0.2
