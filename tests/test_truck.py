"""Truck loading model: candidate set, LP relaxation (against HiGHS on an independently assembled
LP), Lagrangian bound validity, decoding, CSV input, generators and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from scotopt import LP, InvalidProblemError
from scotopt.io.highs import quiet_highs, to_highs_lp
from scotopt.models import TruckLoading
from scotopt.models.truck_csv import read_truck_csv
from scotopt.models.truck_generators import random_truck_instance, random_truck_tables, triplet_weights
from scotopt.models.truck_lagrangian import TruckLagrangian
from scotopt.solvers.lagrangian import LagrangianOptions


def highs_lp_value(lp: LP) -> float:
    h = quiet_highs()
    h.passModel(to_highs_lp(lp))
    h.run()
    assert h.modelStatusToString(h.getModelStatus()) == "Optimal"
    return float(h.getInfo().objective_function_value)


def pair_set(model: TruckLoading) -> set:
    return set(zip(model.pair_shipment.tolist(), model.pair_departure.tolist(), strict=True))


def brute_force_pairs(model: TruckLoading) -> set:
    pairs = set()
    for i in range(model.num_shipments):
        for d in range(model.num_departures):
            if (model.lane[i] == model.departure_lane[d] and model.release[i] <= model.departure_time[d]
                    and model.departure_time[d] + model.transit[d] <= model.due[i]
                    and model.weight[i] <= model.weight_capacity[d] and model.volume[i] <= model.volume_capacity[d]
                    and model.max_trucks[d] >= 1):
                pairs.add((i, d))
    return pairs


def independent_lp(model: TruckLoading) -> LP:
    """The aggregated LP relaxation written out entry by entry from the raw data (loops, unscaled rows)."""
    pairs = sorted(brute_force_pairs(model))
    n, D, K = model.num_shipments, model.num_departures, len(pairs)
    A = sp.lil_matrix((n + 2 * D + K, K + D + n))
    c = np.zeros(K + D + n)
    for k, (i, d) in enumerate(pairs):
        c[k] = model.cost_per_weight[d] * model.weight[i]
        A[i, k] = 1.0
        A[n + d, k] = model.weight[i]
        A[n + D + d, k] = model.volume[i]
        A[n + 2 * D + k, k] = 1.0
        A[n + 2 * D + k, K + d] = -1.0
    for d in range(D):
        c[K + d] = model.fixed_cost[d]
        A[n + d, K + d] = -model.weight_capacity[d]
        A[n + D + d, K + d] = -model.volume_capacity[d]
    for i in range(n):
        c[K + D + i] = model.fallback_cost[i]
        A[i, K + D + i] = 1.0
    rows = A.shape[0]
    upper = np.concatenate([np.ones(K), model.max_trucks.astype(float), np.ones(n)])
    return LP(c, A.tocsr(), np.r_[np.ones(n), np.full(rows - n, -np.inf)], np.r_[np.ones(n), np.zeros(rows - n)],
              np.zeros(K + D + n), upper)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_candidate_set_is_the_brute_force_one(seed):
    model = random_truck_instance(150, 30, seed=seed, departures_per_lane=5)
    ours = pair_set(model)
    assert len(ours) == model.num_pairs  # no duplicates
    assert ours == brute_force_pairs(model)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lp_bound_equals_highs_lp_relaxation(seed):
    model = random_truck_instance(120, 20, seed=seed, departures_per_lane=5)
    reference = highs_lp_value(independent_lp(model))
    assert highs_lp_value(model.lp()) == pytest.approx(reference, rel=1e-9)
    bound, result = model.lp_bound(eps=1e-9, iteration_limit=200_000)
    assert result.status.name == "OPTIMAL"
    assert abs(bound - reference) <= 1e-6 * max(1.0, abs(reference))
    assert bound <= reference + 1e-9 * abs(reference)  # a dual value never exceeds the LP optimum


def test_lp_dual_bound_is_valid_at_loose_accuracy():
    model = random_truck_instance(300, 30, seed=4)
    reference = highs_lp_value(model.lp())
    bound, result = model.lp_bound(eps=1e-2)
    assert bound <= reference + 1e-9 * abs(reference)
    assert bound >= 0.9 * reference


@pytest.mark.parametrize("seed", [0, 3])
def test_lagrangian_bound_is_between_lp_and_relaxation_properties(seed):
    model = random_truck_instance(200, 20, seed=seed, departures_per_lane=5)
    lagrangian = TruckLagrangian(model)
    # every oracle value is a lower bound: check at the start and at the best multipliers
    result = lagrangian.solve(options=LagrangianOptions(max_iterations=300))
    from scotopt.models.truck_mip import solve_truck_mip

    mip = solve_truck_mip(model, time_limit=30)
    assert mip["status"] == "Optimal"
    assert result.lower_bound <= mip["objective"] + 1e-6 * abs(mip["objective"])
    assert lagrangian.oracle(-model.fallback_cost)[1] <= mip["objective"]
    # with integer trucks per departure the bound is at least the LP's here
    assert result.lower_bound >= highs_lp_value(model.lp()) * (1 - 2e-3)


def test_lagrangian_oracle_supergradient_inequality():
    """L(u') <= L(u) + g(u)'(u' - u) for a few random pairs (concavity of each surrogate piece)."""
    model = random_truck_instance(100, 10, seed=5, departures_per_lane=5)
    lagrangian = TruckLagrangian(model, surrogate=(0.5,))
    rng = np.random.default_rng(0)
    for _ in range(20):
        u = -model.fallback_cost * rng.uniform(0.5, 1.5, model.num_shipments)
        v = -model.fallback_cost * rng.uniform(0.5, 1.5, model.num_shipments)
        _, value_u, g = lagrangian.oracle(u)
        _, value_v, _ = lagrangian.oracle(v)
        assert value_v <= value_u + float(np.sum(g * (v - u))) + 1e-6 * abs(value_u)


def test_decode_names_the_parts():
    model = random_truck_instance(300, 30, seed=6)
    _, result = model.lp_bound(eps=1e-6)
    relaxation = model.decode(result.x)
    assert relaxation.cost["total"] == pytest.approx(float(model.cost_vector() @ result.x))
    assert relaxation.trucks.shape == (model.num_departures,)
    open_ = relaxation.trucks > 1e-3
    assert np.all(relaxation.weight_fill[open_] <= 1 + 1e-3)
    assert np.all(np.isnan(relaxation.weight_fill[relaxation.trucks == 0]))
    with pytest.raises(InvalidProblemError):
        model.decode(result.x[:-1])


def test_csv_loader_round_trip(tmp_path):
    shipments, departures = random_truck_tables(60, 12, seed=7, departures_per_lane=4)
    names = [("A", "B"), ("A", "C"), ("B", "C")]
    with open(tmp_path / "departures.csv", "w") as fh:
        fh.write("id,origin,destination,time,transit,fixed_cost,weight_capacity,volume_capacity,max_trucks\n")
        for d in range(12):
            o, t = names[departures["lane"][d]]
            fh.write(f"D{d},{o},{t},{float(departures['time'][d])!r},{float(departures['transit'][d])!r},"
                     f"{float(departures['fixed_cost'][d])!r},{float(departures['weight_capacity'][d])!r},"
                     f"{float(departures['volume_capacity'][d])!r},{departures['max_trucks'][d]}\n")
    with open(tmp_path / "shipments.csv", "w") as fh:
        fh.write("id,weight,volume,release,due,origin,destination,fallback_cost\n")
        for i in range(60):
            o, t = names[shipments["lane"][i]]
            fh.write(f"S{i},{float(shipments['weight'][i])!r},{float(shipments['volume'][i])!r},{float(shipments['release'][i])!r},"
                     f"{float(shipments['due'][i])!r},{o},{t},{float(shipments['fallback_cost'][i])!r}\n")
    model = read_truck_csv(tmp_path / "shipments.csv", tmp_path / "departures.csv")
    reference = TruckLoading(shipments, {k: v for k, v in departures.items() if k != "cost_per_weight"})
    assert model.shipment_ids[3] == "S3" and model.departure_ids[0] == "D0"
    assert pair_set(model) == pair_set(reference)
    assert model.lane_names[model.lane[0]] == names[shipments["lane"][0]]
    (tmp_path / "bad.csv").write_text("weight,fallback_cost\n12,abc\n")
    with pytest.raises(InvalidProblemError, match="bad.csv:2"):
        read_truck_csv(tmp_path / "bad.csv", tmp_path / "departures.csv")


def good_tables():
    shipments = {"weight": [10.0, 20.0], "volume": [1.0, 2.0], "fallback_cost": [5.0, 5.0], "lane": [0, 0],
                 "release": [0.0, 0.0], "due": [10.0, 10.0]}
    departures = {"fixed_cost": [3.0], "weight_capacity": [30.0], "volume_capacity": [5.0], "max_trucks": [2]}
    return shipments, departures


@pytest.mark.parametrize("table, column, value, message", [
    ("shipments", "weight", [np.nan, 1.0], "NaN"),
    ("shipments", "weight", [-1.0, 1.0], "negative"),
    ("shipments", "volume", [1.0], "expected 2"),
    ("shipments", "fallback_cost", [np.inf, 1.0], "inf"),
    ("shipments", "release", [np.nan, 0.0], "NaN"),
    ("shipments", "due", [-1.0, 10.0], "release > due"),
    ("shipments", "lane", [0.5, 0.0], "integer"),
    ("shipments", "weight", ["a", "b"], "numeric"),
    ("departures", "max_trucks", [1.5], "integer"),
    ("departures", "weight_capacity", [0.0], "positive"),
    ("departures", "fixed_cost", [1.0, 2.0], "entries, expected"),
    ("departures", "time", [np.inf], "finite"),
    ("departures", "speed", [1.0], "unknown column"),
])
def test_bad_input_raises(table, column, value, message):
    shipments, departures = good_tables()
    (shipments if table == "shipments" else departures)[column] = np.asarray(value)
    with pytest.raises(InvalidProblemError, match=message):
        TruckLoading(shipments, departures)


def test_missing_column_and_wrong_container():
    shipments, departures = good_tables()
    del shipments["fallback_cost"]
    with pytest.raises(InvalidProblemError, match="fallback_cost"):
        TruckLoading(shipments, departures)
    with pytest.raises(InvalidProblemError, match="mapping"):
        TruckLoading([1, 2], departures)


def test_generators_are_seeded_and_vectorised():
    a, b = random_truck_instance(2000, 200, seed=3), random_truck_instance(2000, 200, seed=3)
    assert np.array_equal(a.weight, b.weight) and np.array_equal(a.pair_departure, b.pair_departure)
    assert not np.array_equal(a.weight, random_truck_instance(2000, 200, seed=4).weight)
    counts = np.bincount(a.pair_shipment, minlength=a.num_shipments)
    assert counts.max() <= 4 and counts.mean() > 1.0
    weights = triplet_weights(40, seed=1)
    assert weights.size == 120 and weights.sum() == 40 * 1000
    assert weights.min() >= 250 and weights.max() < 500


def test_generator_scales_to_a_million_shipments_quickly():
    import time

    started = time.perf_counter()
    model = random_truck_instance(10**6, 10**4, seed=0)
    assert time.perf_counter() - started < 20
    assert model.num_pairs > 10**6


def test_shipments_without_candidates_go_to_fallback():
    model = TruckLoading({"weight": [5.0, 6.0], "fallback_cost": [3.0, 4.0], "lane": [1, 1]},
                         {"fixed_cost": [1.0], "weight_capacity": [10.0], "max_trucks": [2], "lane": [0]})
    assert model.num_pairs == 0
    plan = model.solve(plan_seconds=1)
    assert plan.total_cost == 7.0 and plan.fallback_shipments.tolist() == [0, 1]
    assert plan.lower_bound == pytest.approx(7.0)
