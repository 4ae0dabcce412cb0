"""An integer load plan from a relaxation: round, pack per truck, repair, improve.

Input: a fractional point of the LP relaxation (from PDHG, or the Lagrangian driver's averaged
oracle points), or nothing. Construction and the first repairs are vectorised over shipments and
departures (their Python loops run over the rank of a shipment within its departure and over
repair rounds); the local-search moves loop over trucks with NumPy inside, within a time budget.

1. **Construction**, one of:
   - *preference*: each shipment orders its candidate departures by x_k (largest first), ties
     by the estimated cost c_k + F_d max(w_i / W_d, v_i / V_d); shipments with z_i >= 1/2 and
     those without candidates start on fallback; then **packing** by first-fit decreasing or
     best-fit decreasing (both tried; Johnson 1974, in the two-dimensional vector form of
     Panigrahy et al. 2011): the shipments bound for a departure, largest share of a truck
     first, go into the first (best-fitting) truck whose remaining weight *and* volume admit
     them, opening at most M_d trucks; all departures advance together, one vectorised step per
     rank; what does not fit tries its next candidate, then falls back;
   - *greedy add* (Kuehn & Hamburger 1963): from all shipments on fallback, every round each
     departure fills one tentative new truck by saving per share (f_i - c_k over the truck share)
     and each lane opens its best one if the savings beat the fixed cost.
2. **Repairs** (vectorised): (a) close every truck whose fixed plus assignment cost exceeds its
   shipments' fallback costs; (b) insert fallback shipments into open trucks where cheaper,
   highest saving per share first; (c) open new trucks for fallback shipments where one
   truck's worth of savings beats the fixed cost; (d) truck elimination: the emptiest truck of
   each departure moves all its shipments into the departure's other trucks if they fit.
3. **Local search** (loops over trucks, time budget), repeated while it improves:
   knapsack exchanges of up to two loaded against up to two fallback shipments per truck (more
   saving carried); *drop*: close a truck when its shipments are cheaper in other open trucks or
   by fallback; *move* (the swap move of facility location): a truck moves to another departure
   of its lane, refilled by saving per share. Then the swap search of
   :mod:`scotopt.models.truck_repack` on departures using more trucks than their load needs,
   and (b) again into the room it made.

Every step keeps the plan feasible and none raises the cost. The result (:class:`TruckPlan`)
names the loads per truck, the fill rates by weight and by volume, the fallback shipments, the
cost breakdown, and the gap to the best lower bound given.
:mod:`scotopt.models.truck_check` checks any plan independently of this module.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from scotopt.models.truck import TruckLoading
from scotopt.models.truck_repack import best_exchange, repack_trucks
from scotopt.status import InvalidOptionError

__all__ = ["TruckPlan", "build_plan", "plan_cost"]

_FIT_TOLERANCE = 1e-9  # in truck units


@dataclasses.dataclass
class TruckPlan:
    """An integer load plan.

    ``departure`` / ``truck`` (n,): the departure and the truck number (0..M_d - 1) of every
    shipment, -1 for fallback. ``cost``: ``trucks`` (fixed costs of the trucks used),
    ``assignment``, ``fallback``, ``total``. ``lower_bound``: the best valid bound supplied
    (-inf if none); ``gap`` = (total - lower_bound) / max(1, |total|).
    ``loads``: one entry per truck used: ``departure``, ``truck``, ``shipments`` (count),
    ``weight``, ``volume``, ``weight_fill``, ``volume_fill`` (arrays). ``fill_rate_weight`` /
    ``fill_rate_volume``: total load over the total capacity of the trucks used.
    """

    departure: np.ndarray
    truck: np.ndarray
    cost: dict
    loads: dict
    fill_rate_weight: float
    fill_rate_volume: float
    lower_bound: float = -math.inf
    bounds: dict = dataclasses.field(default_factory=dict)
    timings: dict = dataclasses.field(default_factory=dict)
    info: dict = dataclasses.field(default_factory=dict)   # statuses and iteration counts of the bounds

    def with_bounds(self, bounds: dict, timings: dict | None = None, info: dict | None = None) -> TruckPlan:
        """This plan with ``lower_bound`` = the largest finite entry of ``bounds``."""
        finite = [b for b in bounds.values() if b is not None and math.isfinite(b)]
        return dataclasses.replace(self, bounds=dict(bounds), lower_bound=max(finite) if finite else -math.inf,
                                   timings=dict(timings or self.timings), info=dict(info or self.info))

    @property
    def total_cost(self) -> float:
        return self.cost["total"]

    @property
    def gap(self) -> float:
        return (self.total_cost - self.lower_bound) / max(1.0, abs(self.total_cost))

    @property
    def trucks_used(self) -> int:
        return int(self.loads["truck"].size)

    @property
    def fallback_shipments(self) -> np.ndarray:
        return np.flatnonzero(self.departure < 0)

    def shipments_of(self, departure: int, truck: int) -> np.ndarray:
        """Shipment ids loaded on one truck."""
        return np.flatnonzero((self.departure == departure) & (self.truck == truck))

    def summary(self) -> str:
        return (f"cost {self.total_cost:.6g} (trucks {self.cost['trucks']:.6g}, assignment "
                f"{self.cost['assignment']:.6g}, fallback {self.cost['fallback']:.6g}); {self.trucks_used} trucks, "
                f"fill {self.fill_rate_weight:.1%} by weight, {self.fill_rate_volume:.1%} by volume; "
                f"{self.fallback_shipments.size} on fallback; lower bound {self.lower_bound:.6g}, gap {self.gap:.2%}")


class _Packing:
    """Mutable state of a plan: chosen pair and truck per shipment, residual capacity per truck."""

    def __init__(self, model: TruckLoading, width: int):
        self.model = model
        D = model.num_departures
        self.pair = np.full(model.num_shipments, -1, dtype=np.int64)   # chosen candidate pair, -1 fallback
        self.truck = np.full(model.num_shipments, -1, dtype=np.int64)
        self.width = width
        self.free_weight = np.ones((D, width))   # remaining capacity, in trucks
        self.free_volume = np.ones((D, width))
        self.count = np.zeros((D, width), dtype=np.int64)
        self.limit = np.minimum(model.max_trucks, width)
        self.weight_share, self.volume_share = model.pair_sizes()

    def pack(self, pairs: np.ndarray, rule: str, allow_open: bool, blocked=None, priority=None,
             commit: bool = True) -> np.ndarray:
        """Place the shipments of ``pairs`` on trucks of the pairs' departures.

        Largest share first (or largest ``priority``) within each departure, all departures
        advancing together. Returns the truck per pair (-1 where none fits); committed into the
        state (one pair per shipment then), or only tried when ``commit`` is False.
        """
        m = self.model
        placed = np.full(pairs.size, -1, dtype=np.int64)
        if pairs.size == 0:
            return placed
        if not commit:
            saved = (self.free_weight.copy(), self.free_volume.copy(), self.count.copy())
        dep = m.pair_departure[pairs].astype(np.int64)
        w, v = self.weight_share[pairs], self.volume_share[pairs]
        order = np.lexsort((-(np.maximum(w, v) if priority is None else priority), dep))
        counts = np.bincount(dep[order], minlength=m.num_departures)
        rank = np.arange(pairs.size) - np.repeat(np.cumsum(counts) - counts, counts)
        by_rank = order[np.argsort(rank, kind="stable")]
        bounds = np.searchsorted(np.sort(rank), np.arange(rank.max() + 2))
        columns = np.arange(self.width)
        for j in range(rank.max() + 1):
            batch = by_rank[bounds[j]:bounds[j + 1]]
            d = dep[batch]
            rest_w = self.free_weight[d] - w[batch, None]
            rest_v = self.free_volume[d] - v[batch, None]
            fits = (rest_w >= -_FIT_TOLERANCE) & (rest_v >= -_FIT_TOLERANCE) & (columns < self.limit[d, None])
            if not allow_open:
                fits &= self.count[d] > 0
            if blocked is not None:
                fits &= ~blocked[d]
            if rule == "first_fit":
                choice = np.argmax(fits, axis=1)
            else:  # best fit: the fitting truck left with the least room
                choice = np.argmin(np.where(fits, np.minimum(rest_w, rest_v), np.inf), axis=1)
            ok = fits[np.arange(batch.size), choice]
            batch, d, choice = batch[ok], d[ok], choice[ok]
            self.free_weight[d, choice] -= w[batch]
            self.free_volume[d, choice] -= v[batch]
            self.count[d, choice] += 1
            placed[batch] = choice
        if not commit:
            self.free_weight, self.free_volume, self.count = saved
            return placed
        ships = m.pair_shipment[pairs]
        ok = placed >= 0
        self.pair[ships[ok]] = pairs[ok]
        self.truck[ships[ok]] = placed[ok]
        return placed

    def load(self, pairs: np.ndarray, d: int, t: int):
        """Put the shipments of ``pairs`` (all of departure ``d``) on its truck ``t``."""
        self.free_weight[d, t] -= self.weight_share[pairs].sum()
        self.free_volume[d, t] -= self.volume_share[pairs].sum()
        self.count[d, t] += pairs.size
        ships = self.model.pair_shipment[pairs]
        self.pair[ships] = pairs
        self.truck[ships] = t

    def remove(self, shipments: np.ndarray):
        """Take ``shipments`` off their trucks (to fallback)."""
        m = self.model
        shipments = shipments[self.pair[shipments] >= 0]
        pairs = self.pair[shipments]
        d, t = m.pair_departure[pairs].astype(np.int64), self.truck[shipments]
        np.add.at(self.free_weight, (d, t), self.weight_share[pairs])
        np.add.at(self.free_volume, (d, t), self.volume_share[pairs])
        np.add.at(self.count, (d, t), -1)
        empty = self.count[d, t] == 0  # exact reset of emptied trucks (no round-off left behind)
        self.free_weight[d[empty], t[empty]] = 1.0
        self.free_volume[d[empty], t[empty]] = 1.0
        self.pair[shipments] = -1
        self.truck[shipments] = -1

    def renumber(self, shipments: np.ndarray, trucks: np.ndarray):
        """Move ``shipments`` (all served ones) to the truck numbers ``trucks``; rebuild the residuals."""
        self.truck[shipments] = trucks
        pairs = self.pair[shipments]
        d = self.model.pair_departure[pairs].astype(np.int64)
        self.free_weight.fill(1.0)
        self.free_volume.fill(1.0)
        self.count.fill(0)
        np.subtract.at(self.free_weight, (d, trucks), self.weight_share[pairs])
        np.subtract.at(self.free_volume, (d, trucks), self.volume_share[pairs])
        np.add.at(self.count, (d, trucks), 1)

    def truck_ids(self, shipments: np.ndarray) -> np.ndarray:
        return self.model.pair_departure[self.pair[shipments]].astype(np.int64) * self.width + self.truck[shipments]


def _preference(model: TruckLoading, x: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs sorted by (shipment, preference) and each pair's rank within its shipment."""
    weight_share, volume_share = model.pair_sizes()
    estimate = model.pair_cost + model.fixed_cost[model.pair_departure] * np.maximum(weight_share, volume_share)
    keys = (estimate,) if x is None else (estimate, -np.round(x, 6))
    order = np.lexsort(keys + (model.pair_shipment,))
    counts = np.bincount(model.pair_shipment, minlength=model.num_shipments)
    rank = np.empty(model.num_pairs, dtype=np.int64)
    rank[order] = np.arange(model.num_pairs) - np.repeat(np.cumsum(counts) - counts, counts)
    return order, rank


def _place_in_rounds(state: _Packing, shipments: np.ndarray, rank: np.ndarray, rule: str, allow_open: bool,
                     cheaper_only: bool = False):
    """Try each shipment's candidates in preference order; returns those left unplaced."""
    m = state.model
    waiting = np.zeros(m.num_shipments, dtype=bool)
    waiting[shipments] = True
    for r in range(int(rank.max(initial=-1)) + 1):
        pairs = np.flatnonzero((rank == r) & waiting[m.pair_shipment])
        if cheaper_only:
            pairs = pairs[m.pair_cost[pairs] < m.fallback_cost[m.pair_shipment[pairs]]]
        if pairs.size == 0:
            continue
        placed = state.pack(pairs, rule, allow_open, priority=_savings_density(state, pairs) if cheaper_only else None)
        waiting[m.pair_shipment[pairs[placed >= 0]]] = False
    return np.flatnonzero(waiting)


def _savings_density(state: _Packing, pairs: np.ndarray) -> np.ndarray:
    """(fallback cost - assignment cost) per share of a truck: what a unit of room earns."""
    m = state.model
    size = np.maximum(np.maximum(state.weight_share[pairs], state.volume_share[pairs]), 1e-12)
    return (m.fallback_cost[m.pair_shipment[pairs]] - m.pair_cost[pairs]) / size


def _greedy_add(state: _Packing, rule: str, time_budget: float | None) -> int:
    """Greedy add (Kuehn & Hamburger 1963 for facility location): every round, each departure
    tries one new truck filled greedily by savings density from all fallback shipments that can
    take it; on each lane (lanes share no shipment) the truck with the largest savings minus
    fixed cost is opened if that is positive. Returns the number of trucks opened."""
    m = state.model
    started = time.perf_counter()
    columns = np.arange(state.width)
    lanes = int(m.departure_lane_index.max(initial=-1)) + 1
    opened = 0
    while time_budget is None or time.perf_counter() - started <= time_budget:
        pairs = np.flatnonzero(state.pair[m.pair_shipment] < 0)
        pairs = pairs[m.pair_cost[pairs] < m.fallback_cost[m.pair_shipment[pairs]]]
        unused = (state.count == 0) & (columns < state.limit[:, None])
        pairs = pairs[unused.any(axis=1)[m.pair_departure[pairs]]]
        if pairs.size == 0:
            break
        blocked = columns[None, :] != np.argmax(unused, axis=1)[:, None]
        priority = _savings_density(state, pairs)
        placed = state.pack(pairs, rule, allow_open=True, blocked=blocked, priority=priority, commit=False)
        dep = m.pair_departure[pairs].astype(np.int64)
        net = np.bincount(dep[placed >= 0], (m.fallback_cost[m.pair_shipment[pairs]] - m.pair_cost[pairs])[placed >= 0],
                          m.num_departures) - m.fixed_cost
        lane = m.departure_lane_index
        best_net = np.full(lanes, -np.inf)
        np.maximum.at(best_net, lane, net)
        chosen = (net > 1e-9 * np.maximum(1.0, m.fixed_cost)) & (net == best_net[lane])
        candidates = np.flatnonzero(chosen)
        _, first = np.unique(lane[candidates], return_index=True)  # one departure per lane on ties
        chosen = np.zeros(m.num_departures, dtype=bool)
        chosen[candidates[first]] = True
        if not chosen.any():
            break
        keep = chosen[dep] & (placed >= 0)
        state.pack(pairs[keep], rule, allow_open=True, blocked=blocked, priority=priority[keep])
        opened += int(np.count_nonzero(chosen))
    return opened


def _exchange_with_fallback(state: _Packing, time_budget: float | None, max_rounds: int = 5) -> int:
    """Knapsack exchanges per open truck: up to two of its shipments go to fallback and up to two
    fallback shipments that may travel on its departure come in, when the saving (fallback cost
    minus assignment cost) carried rises and both capacities hold. Returns the exchanges made."""
    m = state.model
    started = time.perf_counter()
    by_departure = np.argsort(m.pair_departure, kind="stable")
    dep_start = np.searchsorted(m.pair_departure[by_departure], np.arange(m.num_departures + 1))
    savings = m.fallback_cost[m.pair_shipment] - m.pair_cost
    made = 0
    for d, t in zip(*np.nonzero(state.count > 0), strict=True):
        for _ in range(max_rounds):
            if time_budget is not None and time.perf_counter() - started > time_budget:
                return made
            pairs_here = by_departure[dep_start[d]:dep_start[d + 1]]
            ships = m.pair_shipment[pairs_here]
            pool = pairs_here[(state.pair[ships] < 0) & (savings[pairs_here] > 0)]
            if pool.size == 0:
                break
            loaded = pairs_here[(state.pair[ships] == pairs_here) & (state.truck[ships] == t)]
            exchange = best_exchange(loaded, pool, state.weight_share, state.volume_share,
                                     state.free_weight[d, t], state.free_volume[d, t], value=savings)
            if exchange is None:
                break
            out, into = exchange
            state.remove(m.pair_shipment[out])
            state.load(into, d, t)
            made += 1
    return made


def _move_trucks(state: _Packing, time_budget: float | None) -> int:
    """Swap move of facility location: a truck of departure d moves to a free truck of another
    departure d' of its lane. The new truck is filled by savings density (prefix that fits) from
    its shipments that may take d' and the fallback shipments that may; its other shipments go to
    fallback. Taken when the total cost falls; returns the trucks moved."""
    m = state.model
    started = time.perf_counter()
    by_departure = np.argsort(m.pair_departure, kind="stable")
    dep_start = np.searchsorted(m.pair_departure[by_departure], np.arange(m.num_departures + 1))
    lane_order = np.argsort(m.departure_lane_index, kind="stable")
    lane_start = np.searchsorted(m.departure_lane_index[lane_order], np.arange(m.departure_lane_index.max() + 2))
    savings = m.fallback_cost[m.pair_shipment] - m.pair_cost
    columns = np.arange(state.width)
    moved = 0
    for d, t in zip(*np.nonzero(state.count > 0), strict=True):
        if time_budget is not None and time.perf_counter() - started > time_budget:
            break
        if state.count[d, t] == 0:
            continue
        lane = m.departure_lane_index[d]
        loaded_pairs = by_departure[dep_start[d]:dep_start[d + 1]]
        ships = m.pair_shipment[loaded_pairs]
        loaded_pairs = loaded_pairs[(state.pair[ships] == loaded_pairs) & (state.truck[ships] == t)]
        loaded = m.pair_shipment[loaded_pairs]
        old_cost = m.fixed_cost[d] + m.pair_cost[loaded_pairs].sum()
        best = (0.0, None)
        for d2 in lane_order[lane_start[lane]:lane_start[lane + 1]]:
            free = np.flatnonzero((state.count[d2] == 0) & (columns < state.limit[d2]))
            if d2 == d or free.size == 0:
                continue
            pairs = by_departure[dep_start[d2]:dep_start[d2 + 1]]
            ships = m.pair_shipment[pairs]
            mine = np.isin(ships, loaded)
            pairs = pairs[mine | ((state.pair[ships] < 0) & (savings[pairs] > 0))]
            if pairs.size == 0:
                continue
            size = np.maximum(np.maximum(state.weight_share[pairs], state.volume_share[pairs]), 1e-12)
            pairs = pairs[np.argsort(-savings[pairs] / size, kind="stable")]
            fits = ((np.cumsum(state.weight_share[pairs]) <= 1 + _FIT_TOLERANCE)
                    & (np.cumsum(state.volume_share[pairs]) <= 1 + _FIT_TOLERANCE))
            taken = pairs[:int(np.argmin(fits)) if not fits.all() else pairs.size]
            # new cost - old cost over the shipments touched: the loaded ones and the taken ones
            kept = np.isin(loaded, m.pair_shipment[taken])
            delta = (m.fixed_cost[d2] + m.pair_cost[taken].sum() + m.fallback_cost[loaded[~kept]].sum()
                     - m.fallback_cost[np.setdiff1d(m.pair_shipment[taken], loaded)].sum() - old_cost)
            if delta < best[0] - 1e-9 * max(1.0, old_cost):
                best = (delta, (d2, int(free[0]), taken))
        if best[1] is None:
            continue
        d2, t2, taken = best[1]
        state.remove(loaded)
        state.load(taken, d2, t2)
        moved += 1
    return moved


def _open_trucks(state: _Packing, rank: np.ndarray, rule: str, max_passes: int = 20) -> int:
    """Open new trucks for fallback shipments where they pay: per departure, one new truck filled
    greedily by savings density from the fallback shipments that prefer it (rank by rank), kept
    only if the savings exceed the truck's fixed cost. Returns the number of trucks opened."""
    m = state.model
    columns = np.arange(state.width)
    opened = 0
    for _ in range(max_passes):
        opened_now = 0
        for r in range(int(rank.max(initial=-1)) + 1):
            pairs = np.flatnonzero((rank == r) & (state.pair[m.pair_shipment] < 0))
            pairs = pairs[m.pair_cost[pairs] < m.fallback_cost[m.pair_shipment[pairs]]]
            if pairs.size == 0:
                continue
            unused = (state.count == 0) & (columns < state.limit[:, None])
            has_room = unused.any(axis=1)
            pairs = pairs[has_room[m.pair_departure[pairs]]]
            if pairs.size == 0:
                continue
            blocked = columns[None, :] != np.argmax(unused, axis=1)[:, None]  # only the first unused truck
            placed = state.pack(pairs, rule, allow_open=True, blocked=blocked, priority=_savings_density(state, pairs))
            taken = pairs[placed >= 0]
            dep = m.pair_departure[taken].astype(np.int64)
            savings = np.bincount(dep, m.fallback_cost[m.pair_shipment[taken]] - m.pair_cost[taken], m.num_departures)
            losing = savings <= m.fixed_cost + 1e-9 * np.maximum(1.0, m.fixed_cost)
            state.remove(m.pair_shipment[taken[losing[dep]]])
            opened_now += int(np.count_nonzero(~losing & (np.bincount(dep, None, m.num_departures) > 0)))
        opened += opened_now
        if opened_now == 0:
            break
    return opened


def _close_unprofitable(state: _Packing) -> int:
    """Close the trucks whose fixed + assignment cost exceeds their shipments' fallback cost."""
    m = state.model
    served = np.flatnonzero(state.pair >= 0)
    if served.size == 0:
        return 0
    ids = state.truck_ids(served)
    size = m.num_departures * state.width
    pairs = state.pair[served]
    keep_cost = np.bincount(ids, m.pair_cost[pairs], size) + np.repeat(m.fixed_cost, state.width)
    fallback_cost = np.bincount(ids, m.fallback_cost[served], size)
    losing = (keep_cost > fallback_cost + 1e-9 * np.maximum(1.0, fallback_cost)) & (np.bincount(ids, None, size) > 0)
    movers = served[losing[ids]]
    state.remove(movers)
    return int(np.count_nonzero(losing))


def _eliminate_trucks(state: _Packing, rule: str) -> int:
    """Empty the least-loaded truck of each departure into its other open trucks where all fits."""
    m = state.model
    used = state.count > 0
    multi = used.sum(axis=1) >= 2
    if not multi.any():
        return 0
    load = np.maximum(1.0 - state.free_weight, 1.0 - state.free_volume)
    victim = np.argmin(np.where(used, load, np.inf), axis=1)
    served = np.flatnonzero(state.pair >= 0)
    dep = m.pair_departure[state.pair[served]].astype(np.int64)
    movers = served[multi[dep] & (state.truck[served] == victim[dep])]
    if movers.size == 0:
        return 0
    saved = (state.free_weight.copy(), state.free_volume.copy(), state.count.copy(), state.truck[movers].copy())
    pairs = state.pair[movers]
    blocked = np.zeros_like(used)
    blocked[np.flatnonzero(multi), victim[multi]] = True
    state.remove(movers)
    placed = state.pack(pairs, rule, allow_open=False, blocked=blocked)
    mover_dep = m.pair_departure[pairs].astype(np.int64)
    failed_dep = np.zeros(m.num_departures, dtype=bool)
    failed_dep[mover_dep[placed < 0]] = True
    if failed_dep.any():  # undo those departures: their victim keeps its shipments
        state.free_weight[failed_dep] = saved[0][failed_dep]
        state.free_volume[failed_dep] = saved[1][failed_dep]
        state.count[failed_dep] = saved[2][failed_dep]
        back = failed_dep[mover_dep]
        state.pair[movers[back]] = pairs[back]
        state.truck[movers[back]] = saved[3][back]
    return int(np.count_nonzero(multi & ~failed_dep & np.isin(np.arange(m.num_departures), mover_dep)))


def _drop_trucks(state: _Packing, time_budget: float | None, max_fill: float = 0.75) -> int:
    """Close trucks one by one (emptiest first, fill <= ``max_fill``) when their shipments are
    cheaper elsewhere: each, largest first, into the cheapest open truck of another candidate
    departure with room, or to fallback. Returns the number of trucks closed."""
    m = state.model
    started = time.perf_counter()
    pair_start = np.searchsorted(m.pair_shipment, np.arange(m.num_shipments + 1))  # pairs are sorted by shipment
    fill = np.maximum(1.0 - state.free_weight, 1.0 - state.free_volume)
    open_d, open_t = np.nonzero((state.count > 0) & (fill <= max_fill))
    closed = 0
    for position in np.argsort(fill[open_d, open_t], kind="stable"):
        if time_budget is not None and time.perf_counter() - started > time_budget:
            break
        d, t = int(open_d[position]), int(open_t[position])
        if state.count[d, t] == 0:
            continue
        items = np.flatnonzero((state.pair >= 0) & (m.pair_departure[np.maximum(state.pair, 0)] == d)
                               & (state.truck == t))
        items = items[np.argsort(-np.maximum(state.weight_share[state.pair[items]],
                                             state.volume_share[state.pair[items]]), kind="stable")]
        free_w, free_v = state.free_weight.copy(), state.free_volume.copy()
        free_w[d, t] = free_v[d, t] = -np.inf  # this truck is being closed
        moves, new_cost = [], 0.0
        for i in items:
            pairs = np.arange(pair_start[i], pair_start[i + 1])
            best = (float(m.fallback_cost[i]), -1, -1)
            for k in pairs:
                dk = int(m.pair_departure[k])
                room = ((state.count[dk] > 0) & (free_w[dk] >= state.weight_share[k] - _FIT_TOLERANCE)
                        & (free_v[dk] >= state.volume_share[k] - _FIT_TOLERANCE))
                if room.any() and m.pair_cost[k] < best[0]:
                    best = (float(m.pair_cost[k]), int(k), int(np.argmax(room)))
            cost, k, tk = best
            if k >= 0:
                dk = int(m.pair_departure[k])
                free_w[dk, tk] -= state.weight_share[k]
                free_v[dk, tk] -= state.volume_share[k]
            moves.append((i, k, tk))
            new_cost += cost
        if new_cost >= m.fixed_cost[d] + float(np.sum(m.pair_cost[state.pair[items]])) - 1e-9:
            continue
        state.remove(items)
        for _, k, tk in moves:
            if k >= 0:
                state.load(np.array([k]), int(m.pair_departure[k]), tk)
        closed += 1
    return closed


def plan_cost(model: TruckLoading, departure: np.ndarray, truck: np.ndarray, pair_cost_of) -> dict:
    """Cost breakdown of a plan given each served shipment's assignment cost."""
    served = departure >= 0
    ids = np.unique(departure[served].astype(np.int64) * (int(model.max_trucks.max(initial=0)) + 1) + truck[served])
    used_departure = ids // (int(model.max_trucks.max(initial=0)) + 1)
    cost = {"trucks": float(np.sum(model.fixed_cost[used_departure])), "assignment": float(np.sum(pair_cost_of)),
            "fallback": float(np.sum(model.fallback_cost[~served]))}
    cost["total"] = cost["trucks"] + cost["assignment"] + cost["fallback"]
    return cost


def _finish(state: _Packing, bounds: dict) -> TruckPlan:
    m = state.model
    served = np.flatnonzero(state.pair >= 0)
    departure = np.full(m.num_shipments, -1, dtype=np.int64)
    departure[served] = m.pair_departure[state.pair[served]]
    truck = state.truck.copy()
    cost = plan_cost(m, departure, truck, m.pair_cost[state.pair[served]])
    ids, inverse = np.unique(state.truck_ids(served), return_inverse=True)
    dep_of, truck_of = ids // state.width, ids % state.width
    weight = np.bincount(inverse, m.weight[served], ids.size)
    volume = np.bincount(inverse, m.volume[served], ids.size)
    loads = {"departure": dep_of, "truck": truck_of, "shipments": np.bincount(inverse, None, ids.size),
             "weight": weight, "volume": volume, "weight_fill": weight / m.weight_capacity[dep_of],
             "volume_fill": volume / m.volume_capacity[dep_of]}
    capacity_w, capacity_v = m.weight_capacity[dep_of].sum(), m.volume_capacity[dep_of].sum()
    plan = TruckPlan(departure, truck, cost, loads, float(weight.sum() / capacity_w) if ids.size else math.nan,
                     float(volume.sum() / capacity_v) if ids.size else math.nan)
    return plan.with_bounds(bounds)


def _repack(state: _Packing, time_budget: float | None):
    served = np.flatnonzero(state.pair >= 0)
    pairs = state.pair[served]
    trucks = repack_trucks(state.model.pair_departure[pairs].astype(np.int64), state.truck[served],
                           state.weight_share[pairs], state.volume_share[pairs], state.model.num_departures,
                           time_budget)
    state.renumber(served, trucks)


class _Deadline:
    """Seconds left of a budget (None: unlimited)."""

    def __init__(self, seconds: float | None):
        self.end = None if seconds is None else time.perf_counter() + seconds

    def left(self) -> float | None:
        return None if self.end is None else max(0.0, self.end - time.perf_counter())

    def over(self) -> bool:
        return self.end is not None and time.perf_counter() >= self.end


def _one_plan(model: TruckLoading, x, z, rule: str, width: int, improve: bool, seconds: float | None,
              construction: str) -> _Packing:
    """One construction + rule, its improvement steps sharing ``seconds`` (None: no limit)."""
    deadline = _Deadline(seconds)
    state = _Packing(model, width)
    _, rank = _preference(model, x)
    if construction == "greedy":
        _greedy_add(state, rule, deadline.left())
    else:
        start = np.ones(model.num_shipments, dtype=bool)
        if z is not None:
            start &= np.asarray(z) < 0.5
        _place_in_rounds(state, np.flatnonzero(start), rank, rule, allow_open=True)
    if not improve:
        return state
    _close_unprofitable(state)
    _place_in_rounds(state, np.flatnonzero(state.pair < 0), rank, rule, False, cheaper_only=True)
    _open_trucks(state, rank, rule)
    for _ in range(50):
        if _eliminate_trucks(state, rule) == 0:
            break
    for _ in range(10):
        if deadline.over():
            break
        changes = (_exchange_with_fallback(state, deadline.left()) + _drop_trucks(state, deadline.left())
                   + _move_trucks(state, deadline.left()))
        if changes == 0:
            break
    if not deadline.over():
        _repack(state, deadline.left())
        _place_in_rounds(state, np.flatnonzero(state.pair < 0), rank, rule, False, cheaper_only=True)
    return state


def build_plan(model: TruckLoading, point=None, rules=("first_fit", "best_fit"), improve: bool = True,
               bounds: dict | None = None, time_budget: float | None = 60.0,
               constructions=("preference", "greedy")) -> TruckPlan:
    """A feasible integer plan from an LP-space ``point`` ([x, y, z], e.g. ``result.x`` of the LP
    relaxation or a Lagrangian average) or from costs alone (``point=None``); the cheapest over
    ``rules``. ``bounds``: named lower bounds, the largest is the plan's ``lower_bound``.
    ``time_budget``: seconds for the greedy construction and the time-limited improvement steps
    of all (construction, rule) runs together, split evenly (None: no limit; the vectorised
    packing steps always run). ``constructions``: "preference" (step 1 of the module docstring)
    and/or "greedy" (greedy add from an all-fallback start)."""
    for construction in constructions:
        if construction not in ("preference", "greedy"):
            raise InvalidOptionError(f"constructions must be 'preference' and/or 'greedy', got {construction!r}")
    for rule in rules:
        if rule not in ("first_fit", "best_fit"):
            raise InvalidOptionError(f"rules must be 'first_fit' and/or 'best_fit', got {rule!r}")
    x = z = None
    if point is not None:
        x, _, z = model.split(point)
    pairs_per_departure = np.bincount(model.pair_departure, minlength=model.num_departures)
    width = max(1, int(np.minimum(model.max_trucks, pairs_per_departure).max(initial=1)))
    best = None
    runs = len(constructions) * len(rules)
    for construction in constructions:
        for rule in rules:
            seconds = None if time_budget is None else time_budget / runs
            plan = _finish(_one_plan(model, x, z, rule, width, improve, seconds, construction), bounds or {})
            if best is None or plan.total_cost < best.total_cost:
                best = plan
    return best
