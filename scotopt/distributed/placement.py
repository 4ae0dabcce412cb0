"""The sharded placement: the PDHG vectors permuted, padded and split over a device mesh.

It implements the placement interface of :mod:`scotopt.solvers.pdhg.placement` for the driver:
column vectors (x, c, variable bounds, d2) follow the partition's column layout, row vectors
(y, row bounds, d1) its row layout, 0-d constants are replicated. Padding entries are zero
columns with zero cost and rows with bounds [0, 0]: they start where they stay (the driver passes
the fill) and add nothing to any norm, objective or product, so the iterates on the real entries
are those of the single-device solve up to the order of floating-point sums.

Reductions in the algorithm (norms, objectives, max-norms) are plain ``xp.sum`` / ``xp.max`` on
global arrays: under ``jit`` XLA's SPMD partitioner turns them into all-reduces, so the algorithm
is the same code on one device or many.
"""

from __future__ import annotations

import numpy as np

from scotopt.distributed.mesh import describe_mesh
from scotopt.distributed.operator import fetch, put
from scotopt.distributed.partition import partition_for


class ShardedPlacement:
    """Vectors and operator of one LP on ``mesh`` (a 1-D mesh from :func:`scotopt.distributed.solver_mesh`)."""

    def __init__(self, mesh):
        self.mesh = mesh
        self.num_shards = int(np.asarray(mesh.devices).size)
        self.device = describe_mesh(mesh)
        self.partition = None
        self.itemsize = 8

    def operator(self, A, dtype):
        self.partition = partition_for(A, self.num_shards)
        self.itemsize = np.dtype(dtype).itemsize
        self.op = self.partition.operator(A, self.mesh, np.dtype(dtype))
        return self.op

    def _put(self, layout, v, dtype, fill):
        v = np.asarray(v, dtype=np.float64)
        if v.ndim == 0:
            return put(self.mesh, v, dtype)
        return put(self.mesh, layout.scatter(v, fill, np.dtype(dtype)))

    def columns(self, v, dtype, fill=0.0):
        return self._put(self.partition.columns, v, dtype, fill)

    def rows(self, v, dtype, fill=0.0):
        return self._put(self.partition.rows, v, dtype, fill)

    def columns_to_host(self, a, keep_dtype=False):
        return self.partition.columns.gather(fetch(a))

    def rows_to_host(self, a):
        return self.partition.rows.gather(fetch(a))

    def describe(self) -> dict:
        """Result.extra fields: shards, bytes sent per device per iteration, operator bytes per device."""
        operator_bytes = sum(int(p.addressable_shards[0].data.nbytes) for p in self.op.params)
        vector_bytes = (self.partition.columns.block + self.partition.rows.block) * self.itemsize
        return {
            "shards": self.num_shards,
            "comm_bytes_per_iteration": float(self.partition.values_moved_per_iteration() * self.itemsize),
            "operator_bytes_per_device": operator_bytes,
            "vector_bytes_per_device": vector_bytes,
        }
