"""Truck elimination by swaps: a bin-packing local search for the trucks of one departure.

Items have two sizes (weight and volume, as shares of one truck); a truck holds a set whose sums
are both <= 1. The search (the "dominance" local search of Levine & Ducatelle 2004, after
Martello & Toth's dominance criterion, extended to two dimensions) tries to empty one truck:

1. the least-loaded truck is emptied into a *pool*;
2. repeatedly, every other truck takes the best exchange with the pool among: insert one or two
   pool items; swap one (or two) of its items for one or two pool items. An exchange is taken
   only if it keeps the truck within both capacities and strictly increases its load measured
   as weight share + volume share; the pool then holds smaller items. Pool items are also put
   first-fit into any truck with room;
3. if the pool empties, the departure needs one truck less and the search starts again; if
   no exchange helps any more, the pool goes back first-fit decreasing into new trucks; when
   that needs more trucks than were freed, the departure keeps its previous packing.

Departures are searched one after the other (numpy inside: each exchange is chosen from a
vectorised table of subsets), only those whose truck count exceeds the trivial bound
ceil(max(total weight share, total volume share)), and within a time budget.
"""

from __future__ import annotations

import math
import time

import numpy as np

__all__ = ["repack_departure", "repack_trucks", "fill_trucks", "best_exchange"]

_TOL = 1e-9
_MAX_TABLE = 400_000  # largest exchange table (truck subsets x pool subsets) evaluated at once


def _subset_sums(members: np.ndarray, value: np.ndarray) -> np.ndarray:
    valid = members >= 0
    return np.sum(value[np.where(valid, members, 0)] * valid, axis=1)


def _subsets(index: np.ndarray, w: np.ndarray, v: np.ndarray, pairs: bool):
    """Subsets of ``index`` of size 0, 1 (and 2): (members (m, 2) with -1 padding, w sums, v sums)."""
    k = index.size
    members = [np.full((1, 2), -1), np.stack([index, np.full(k, -1)], axis=1)]
    if pairs and k >= 2:
        a, b = np.triu_indices(k, 1)
        members.append(np.stack([index[a], index[b]], axis=1))
    members = np.concatenate(members)
    valid = members >= 0
    safe = np.where(valid, members, 0)
    return members, np.sum(w[safe] * valid, axis=1), np.sum(v[safe] * valid, axis=1)


def best_exchange(truck_items, pool, w, v, free_w, free_v, value=None):
    """Best (out members, in members) for one truck, or None when no exchange helps.

    Up to two items leave the truck and up to two pool items enter it, within the room
    (``free_w``, ``free_v``); the gain is the entering minus the leaving ``value`` (default:
    weight + volume share, i.e. the truck gets fuller)."""
    pairs = (truck_items.size * (truck_items.size - 1) // 2 + 1) * (pool.size * (pool.size - 1) // 2 + 1) \
        <= _MAX_TABLE
    out, out_w, out_v = _subsets(truck_items, w, v, pairs)
    into, in_w, in_v = _subsets(pool, w, v, pairs)
    if out.shape[0] * into.shape[0] > _MAX_TABLE * 4:  # even singles too many: insertions and 1-1 swaps only
        out, out_w, out_v = out[: truck_items.size + 1], out_w[: truck_items.size + 1], out_v[: truck_items.size + 1]
        into, in_w, in_v = into[: pool.size + 1], in_w[: pool.size + 1], in_v[: pool.size + 1]
    if value is None:
        gain = (in_w + in_v)[None, :] - (out_w + out_v)[:, None]
    else:
        gain = _subset_sums(into, value)[None, :] - _subset_sums(out, value)[:, None]
    fits = ((free_w + out_w[:, None] - in_w[None, :] >= -_TOL) & (free_v + out_v[:, None] - in_v[None, :] >= -_TOL)
            & (gain > 1e-12))
    if not fits.any():
        return None
    flat = np.argmax(np.where(fits, gain, -np.inf))
    i, j = np.unravel_index(flat, fits.shape)
    return out[i][out[i] >= 0], into[j][into[j] >= 0]


def _first_fit(items, w, v, free_w, free_v, truck_of, allowed):
    """Put ``items`` (largest first) into the first allowed truck with room; returns the unplaced."""
    left = []
    for item in items[np.argsort(-(w[items] + v[items]), kind="stable")]:
        room = allowed & (free_w >= w[item] - _TOL) & (free_v >= v[item] - _TOL)
        if room.any():
            t = int(np.argmax(room))
            free_w[t] -= w[item]
            free_v[t] -= v[item]
            truck_of[item] = t
        else:
            left.append(item)
    return np.array(left, dtype=np.int64)


def _pack_new_trucks(items, w, v, truck_of, first_label):
    """First-fit decreasing of ``items`` into new trucks labelled from ``first_label``; returns the count."""
    free_w, free_v = np.empty(0), np.empty(0)
    for item in items[np.argsort(-(w[items] + v[items]), kind="stable")]:
        room = (free_w >= w[item] - _TOL) & (free_v >= v[item] - _TOL)
        t = int(np.argmax(room)) if room.any() else free_w.size
        if t == free_w.size:
            free_w, free_v = np.append(free_w, 1.0), np.append(free_v, 1.0)
        free_w[t] -= w[item]
        free_v[t] -= v[item]
        truck_of[item] = first_label + t
    return free_w.size


def _reduce(w, v, truck_of, trucks, victims, max_passes):
    """Empty the ``victims`` least-loaded trucks into a pool, improve the others by exchanges with
    the pool, repack what is left into new trucks; the new assignment if it uses fewer trucks."""
    truck_of = truck_of.copy()
    free_w = 1.0 - np.bincount(truck_of, w, trucks)
    free_v = 1.0 - np.bincount(truck_of, v, trucks)
    emptied = np.argsort(2.0 - free_w - free_v, kind="stable")[:victims]
    pool = np.flatnonzero(np.isin(truck_of, emptied))
    truck_of[pool] = -1
    allowed = np.ones(trucks, dtype=bool)
    allowed[emptied] = False
    free_w[emptied] = free_v[emptied] = -np.inf
    for _ in range(max_passes):
        pool = _first_fit(pool, w, v, free_w, free_v, truck_of, allowed)
        if pool.size == 0:
            break
        changed = False
        for t in np.flatnonzero(allowed):
            exchange = best_exchange(np.flatnonzero(truck_of == t), pool, w, v, free_w[t], free_v[t])
            if exchange is None:
                continue
            out, into = exchange
            truck_of[out] = -1
            truck_of[into] = t
            free_w[t] += w[out].sum() - w[into].sum()
            free_v[t] += v[out].sum() - v[into].sum()
            pool = np.concatenate([np.setdiff1d(pool, into), out])
            changed = True
            if pool.size == 0:
                break
        if not changed:
            break
    if pool.size and _pack_new_trucks(pool, w, v, truck_of, trucks) >= victims:
        return None
    remaining = np.unique(truck_of)  # relabel 0..T'-1
    return np.searchsorted(remaining, truck_of)


def fill_trucks(w, v, max_pairs: int = 200_000) -> np.ndarray:
    """Minimum-slack construction (Gupta & Ho 1999, with a two-item lookahead): each new truck
    takes the largest item left, then the one or two further items that fill it most (weight +
    volume share, both capacities kept), then first fit of the rest by decreasing size."""
    w, v = np.asarray(w, dtype=np.float64), np.asarray(v, dtype=np.float64)
    truck_of = np.full(w.size, -1, dtype=np.int64)
    left = np.argsort(-(w + v), kind="stable")
    label = 0
    while left.size:
        first, rest = left[0], left[1:]
        free_w, free_v = 1.0 - w[first], 1.0 - v[first]
        truck_of[first] = label
        if rest.size:
            pairs = rest.size * (rest.size - 1) // 2 <= max_pairs
            members, sum_w, sum_v = _subsets(rest, w, v, pairs)
            fits = (sum_w <= free_w + _TOL) & (sum_v <= free_v + _TOL)
            best = int(np.argmax(np.where(fits, sum_w + sum_v, -np.inf)))
            chosen = members[best][members[best] >= 0]
            truck_of[chosen] = label
            free_w -= w[chosen].sum()
            free_v -= v[chosen].sum()
            for item in rest[truck_of[rest] < 0]:  # rest is sorted largest first
                if w[item] <= free_w + _TOL and v[item] <= free_v + _TOL:
                    truck_of[item] = label
                    free_w -= w[item]
                    free_v -= v[item]
        left = left[truck_of[left] < 0]
        label += 1
    return truck_of


def repack_departure(w, v, truck_of, max_passes: int = 30, max_victims: int = 3) -> np.ndarray:
    """Fewer trucks for one departure's items (shares ``w``, ``v``; trucks ``truck_of``) if the
    search finds them; the input assignment (relabelled 0..T-1) otherwise."""
    w, v = np.asarray(w, dtype=np.float64), np.asarray(v, dtype=np.float64)
    used, truck_of = np.unique(truck_of, return_inverse=True)
    truck_of = truck_of.reshape(-1)
    trucks = used.size
    bound = max(1, math.ceil(max(w.sum(), v.sum()) - 1e-9))
    if trucks > bound:
        filled = fill_trucks(w, v)
        if int(filled.max()) + 1 < trucks:
            truck_of, trucks = filled, int(filled.max()) + 1
    while trucks > bound:
        for victims in range(1, min(max_victims, trucks) + 1):
            fewer = _reduce(w, v, truck_of, trucks, victims, max_passes)
            if fewer is not None:
                break
        if fewer is None:
            break
        truck_of, trucks = fewer, int(fewer.max()) + 1
    return truck_of


def repack_trucks(departure_of_item, truck_of_item, w, v, num_departures: int, time_budget: float | None = 30.0):
    """Run :func:`repack_departure` on every departure that may lose a truck (worst first) until
    ``time_budget`` seconds are spent. Returns the new truck numbers (departures unchanged)."""
    started = time.perf_counter()
    truck = np.array(truck_of_item, dtype=np.int64)
    D = int(num_departures)
    order = np.argsort(departure_of_item, kind="stable")
    counts = np.bincount(departure_of_item, minlength=D)
    starts = np.cumsum(counts) - counts
    distinct = np.unique(departure_of_item * (int(truck.max(initial=0)) + 1) + truck) // (int(truck.max(initial=0)) + 1)
    used = np.bincount(distinct, minlength=D)
    need = np.ceil(np.maximum(np.bincount(departure_of_item, w, D), np.bincount(departure_of_item, v, D)) - 1e-9)
    excess = used - np.maximum(need, 1)
    for d in np.argsort(-excess, kind="stable"):
        if excess[d] <= 0 or (time_budget is not None and time.perf_counter() - started > time_budget):
            break
        items = order[starts[d]:starts[d] + counts[d]]
        truck[items] = repack_departure(w[items], v[items], truck[items])
    return truck
