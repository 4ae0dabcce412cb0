"""Seeded, vectorised truck-loading instances (no Python loop over shipments or departures).

- :func:`random_truck_instance`: 10^3..10^7 shipments on 10^2..10^5 departures. Lanes carry
  ``departures_per_lane`` daily departures (hour 0..6 of each day, transit 6..48 h, fixed cost
  400 + 15 per transit hour, 24 t and 80 m^3 per truck). Shipments pick a lane at random,
  a release time over the horizon and a due time ``release + transit + slack`` with slack
  uniform in [12, 72] h, so that each has 0 to 3 candidate departures; weights are
  log-normal (median 900 kg, clipped to [20, 12000]), densities uniform in [150, 400] kg/m^3;
  fallback (LTL) costs 40 + 0.12 per kg. ``max_trucks`` is twice the expected load of a
  departure in trucks, at least 2.
- :func:`triplet_instance`: Falkenauer's (1996) "triplet" bin-packing instances, the OR-Library's
  t60/t120/t249/t501 family: capacity 1000, each triple is a in [380, 490], b in
  [250, (1000 - a) / 2), c = 1000 - a - b, so the triples exactly fill one truck and the optimum
  is n / 3 completely full trucks. One departure, fixed cost 1, no assignment cost, fallback
  cost 2 per item (never worth it: an item fills less than half a truck), room for n trucks.
  The LP bound is n / 3 too, so any plan's gap is exact.
"""

from __future__ import annotations

import numpy as np

from scotopt.models.truck import TruckLoading
from scotopt.status import InvalidProblemError

__all__ = ["random_truck_instance", "triplet_instance", "random_truck_tables"]


def random_truck_tables(num_shipments: int, num_departures: int, seed: int = 0, departures_per_lane: int = 10,
                        max_truck_factor: float = 2.0) -> tuple[dict, dict]:
    """(shipments, departures) tables of the random family in the module docstring."""
    num_shipments, num_departures = int(num_shipments), int(num_departures)
    if num_shipments < 1 or num_departures < 1 or departures_per_lane < 1:
        raise InvalidProblemError("num_shipments, num_departures and departures_per_lane must be >= 1")
    rng = np.random.default_rng(seed)
    lanes = max(1, num_departures // departures_per_lane)
    index = np.arange(num_departures)
    dep_lane = (index % lanes).astype(np.int32)
    day = index // lanes
    days = int(day.max()) + 1
    lane_transit = rng.uniform(6.0, 48.0, lanes)
    departures = {
        "lane": dep_lane,
        "time": day * 24.0 + rng.uniform(0.0, 6.0, num_departures),
        "transit": lane_transit[dep_lane],
        "fixed_cost": 400.0 + 15.0 * lane_transit[dep_lane],
        "weight_capacity": np.full(num_departures, 24_000.0),
        "volume_capacity": np.full(num_departures, 80.0),
        "cost_per_weight": np.full(num_departures, 0.002),
    }
    ship_lane = rng.integers(0, lanes, num_shipments).astype(np.int32)
    weight = np.clip(rng.lognormal(np.log(900.0), 1.0, num_shipments), 20.0, 12_000.0)
    volume = weight / rng.uniform(150.0, 400.0, num_shipments)
    release = rng.uniform(-24.0, days * 24.0 - 12.0, num_shipments)
    due = release + lane_transit[ship_lane] + rng.uniform(12.0, 72.0, num_shipments)
    shipments = {"weight": weight, "volume": volume, "release": release, "due": due, "lane": ship_lane,
                 "fallback_cost": 40.0 + 0.12 * weight}
    # expected load of one departure in trucks: shipments per departure x ~2 candidates x mean size
    per_departure = num_shipments / num_departures * 2.0 * max(weight.mean() / 24_000.0, volume.mean() / 80.0)
    departures["max_trucks"] = np.full(num_departures, max(2, int(np.ceil(max_truck_factor * per_departure))))
    return shipments, departures


def random_truck_instance(num_shipments: int, num_departures: int, seed: int = 0, departures_per_lane: int = 10,
                          max_truck_factor: float = 2.0, strong_linking: bool = True) -> TruckLoading:
    """A :class:`TruckLoading` of the random family (see the module docstring)."""
    shipments, departures = random_truck_tables(num_shipments, num_departures, seed, departures_per_lane,
                                                max_truck_factor)
    return TruckLoading(shipments, departures, strong_linking=strong_linking)


def triplet_weights(num_triplets: int, seed: int = 0) -> np.ndarray:
    """3 * num_triplets integer item weights, shuffled; every triple (a, b, c) sums to 1000."""
    if num_triplets < 1:
        raise InvalidProblemError(f"num_triplets must be >= 1, got {num_triplets}")
    rng = np.random.default_rng(seed)
    a = rng.integers(380, 491, num_triplets)
    b = 250 + np.floor(rng.random(num_triplets) * ((1000 - a) / 2 - 250)).astype(np.int64)
    c = 1000 - a - b
    weights = np.concatenate([a, b, c]).astype(np.float64)
    return weights[rng.permutation(weights.size)]


def triplet_instance(num_triplets: int, seed: int = 0) -> TruckLoading:
    """Falkenauer's triplet instance with ``num_triplets`` triples (t60: 20, t120: 40, t249: 83)."""
    weights = triplet_weights(num_triplets, seed)
    n = weights.size
    shipments = {"weight": weights, "fallback_cost": np.full(n, 2.0)}
    departures = {"fixed_cost": [1.0], "weight_capacity": [1000.0], "max_trucks": [n]}
    return TruckLoading(shipments, departures)
