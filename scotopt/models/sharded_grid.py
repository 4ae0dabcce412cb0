"""A grid min-cost flow generated shard by shard: shard d of P holds only its own nodes and arcs.

The ``rows x cols`` grid (4 or 8 neighbours, node (i, j) = i * cols + j) is cut into P blocks of
``V_b = ceil(V / P)`` consecutive nodes; shard d owns the nodes of its block and every arc whose
TAIL is one of them, ``neighbours`` slots per node (a slot whose neighbour falls off the grid is a
padding self-loop: a zero column with bounds [0, 0]). So every shard has exactly
``E_loc = neighbours * V_b`` arc slots and builds them without seeing any other shard.

Data are counter-based: the cost and capacity of arc (v, direction) and the supply of grid row i
are hashes (splitmix64) of (seed, stream, id), so the instance does not depend on P and any shard
can be regenerated alone. Supplies: grid row i sends ``s_i`` (1..max_supply) from its first to its
last column; horizontal arcs (the skeleton) have capacity >= max_supply and the highest cost, so
the instance is feasible (row i can route s_i along itself) and the optimum prefers other arcs.

:func:`assemble_grid` concatenates all shards into one :class:`~scotopt.models.flow.MinCostFlow`
(tests and benchmarks only: that is the whole problem in one process).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from scotopt.models.generators import _GRID_STEPS
from scotopt.status import InvalidProblemError

_COST, _CAPACITY, _SUPPLY = 1, 2, 3  # hash streams


def _splitmix64(values) -> np.ndarray:
    """The splitmix64 finaliser, elementwise on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = np.asarray(values, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def hashed_integers(seed: int, stream: int, ids, low: int, high: int) -> np.ndarray:
    """Integers in [low, high] that depend only on (seed, stream, id): the same on every shard."""
    key = _splitmix64(np.uint64(seed) * np.uint64(4) + np.uint64(stream))
    mixed = _splitmix64(np.asarray(ids, dtype=np.uint64) ^ key)
    return (low + (mixed % np.uint64(high - low + 1)).astype(np.int64)).astype(np.int64)


@dataclasses.dataclass
class GridShard:
    """Shard ``shard`` of ``num_shards``: nodes ``node_start .. node_start + V_b - 1`` (those < V are
    real) and their ``E_loc`` arc slots; ``real`` marks the arcs that exist (the rest pad)."""

    shard: int
    num_shards: int
    num_nodes: int
    nodes_per_shard: int
    tail: np.ndarray
    head: np.ndarray
    real: np.ndarray
    cost: np.ndarray
    capacity: np.ndarray
    supply: np.ndarray

    @property
    def node_start(self) -> int:
        return self.shard * self.nodes_per_shard


def grid_shard(rows: int, cols: int, shard: int, num_shards: int, neighbours: int = 8, seed: int = 0,
               cost=(1, 100), capacity=(1, 1000), max_supply: int = 1000) -> GridShard:
    """The nodes and arcs of shard ``shard`` (module docstring); costs, capacities integral."""
    if neighbours not in _GRID_STEPS:
        raise InvalidProblemError(f"neighbours must be 4 or 8, got {neighbours}")
    if rows < 1 or cols < 2:
        raise InvalidProblemError(f"need rows >= 1 and cols >= 2, got {rows} x {cols}")
    if not 0 <= shard < num_shards:
        raise InvalidProblemError(f"shard {shard} is not in 0..{num_shards - 1}")
    V = rows * cols
    V_b = -(-V // num_shards)
    v = shard * V_b + np.arange(V_b, dtype=np.int64)
    steps = np.asarray(_GRID_STEPS[neighbours])
    i, j = (v // cols)[:, None], (v % cols)[:, None]
    ni, nj = i + steps[:, 0], j + steps[:, 1]
    real = (v[:, None] < V) & (ni >= 0) & (ni < rows) & (nj >= 0) & (nj < cols)
    tail = np.broadcast_to(v[:, None], real.shape)
    head = np.where(real, ni * cols + nj, tail)
    tail = np.where(real, tail, 0).reshape(-1)
    head = np.where(real, head, 0).reshape(-1)
    real = real.reshape(-1)
    arc_id = (v[:, None] * neighbours + np.arange(neighbours)).reshape(-1)
    skeleton = np.broadcast_to(steps[:, 0] == 0, (V_b, neighbours)).reshape(-1)
    c = hashed_integers(seed, _COST, arc_id, *cost).astype(np.float64)
    u = hashed_integers(seed, _CAPACITY, arc_id, *capacity).astype(np.float64)
    c[skeleton] = cost[1]
    u[skeleton] = np.maximum(u[skeleton], max_supply)
    c[~real], u[~real] = 0.0, 0.0
    row_supply = hashed_integers(seed, _SUPPLY, v // cols, 1, max_supply).astype(np.float64)
    supply = np.where(v % cols == 0, row_supply, 0.0) - np.where(v % cols == cols - 1, row_supply, 0.0)
    supply[v >= V] = 0.0
    index = np.int32 if V < 2**31 else np.int64
    return GridShard(shard, num_shards, V, V_b, tail.astype(index), head.astype(index), real, c, u, supply)


def assemble_grid(rows: int, cols: int, num_shards: int = 1, **kwargs):
    """All shards as one MinCostFlow (real arcs only, in shard order): the whole problem, for checks."""
    from scotopt.models.flow import MinCostFlow

    shards = [grid_shard(rows, cols, d, num_shards, **kwargs) for d in range(num_shards)]
    def real(field):
        return np.concatenate([getattr(s, field)[s.real] for s in shards])

    tail, head, cost, cap = real("tail"), real("head"), real("cost"), real("capacity")
    supply = np.concatenate([s.supply for s in shards])[: rows * cols]
    return MinCostFlow(tail, head, cost, cap, supply, name=f"shardedgrid{rows}x{cols}", arc_order="given")
