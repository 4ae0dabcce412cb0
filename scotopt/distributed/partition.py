"""Which partition an operator gets: the hook through which an operator declares how it splits.

An operator that knows its own structure (the inventory tensors, say, split by scenarios)
provides ``shard_partition(num_shards)`` returning an object with

- ``columns`` / ``rows``: :class:`~scotopt.distributed.layout.BlockLayout` of x and of y;
- ``operator(A_scaled, mesh, dtype)``: the sharded A~ (a :class:`~scotopt.distributed.operator.ShardedOperator`);
- ``values_moved_per_iteration()``: values each device sends per PDHG iteration.

The network incidence operator is split by arcs (:mod:`scotopt.distributed.network`), the
inventory operator by scenarios (:mod:`scotopt.distributed.inventory`), any explicit sparse
matrix by nonzero-balanced rows (:mod:`scotopt.distributed.csr`).
"""

from __future__ import annotations

import scipy.sparse as sp

from scotopt.status import InvalidProblemError


def partition_for(A, num_shards: int):
    """The partition of ``A`` (scaled or not: only its structure is read) into ``num_shards`` shards."""
    from scotopt.kernels.incidence import NetworkMatrix

    if hasattr(A, "shard_partition"):
        return A.shard_partition(num_shards)
    from scotopt.kernels.inventory import InventoryOperator

    if isinstance(A, InventoryOperator):
        from scotopt.distributed.inventory import ScenarioPartition

        return ScenarioPartition(A, num_shards)
    if isinstance(A, NetworkMatrix):
        from scotopt.distributed.network import NetworkPartition

        return NetworkPartition(A, num_shards)
    if sp.issparse(A):
        from scotopt.distributed.csr import RowPartition

        return RowPartition(A, num_shards)
    raise InvalidProblemError(
        f"a sharded solve needs an explicit sparse matrix or an operator with shard_partition(); got {type(A).__name__}"
    )
