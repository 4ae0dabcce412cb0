"""An explicit sparse matrix split by rows over a mesh, blocks balanced by nonzeros.

Layout (P devices, m x n matrix with nnz nonzeros):

- rows: P contiguous row blocks whose boundaries split the nonzeros evenly (the first row with
  at least d nnz / P nonzeros before it starts block d), each padded to the longest block with
  empty rows (bounds [0, 0]); y, the row bounds and d1 are split the same way;
- columns: P contiguous blocks of ceil(n / P) (padded with zero columns); x, c, the bounds and
  d2 are split by these blocks;
- nonzeros: device d stores the (value, global column, local row) triples of its row block,
  padded to the largest block with zeros.

Products::

    A~ x   = per device: all-gather x (n values), then the local rows' segment sums
    A~^T y = per device: partial A_d^T y_d over all n columns, then reduce-scatter to the owners

so each iteration moves 2 (P-1)/P n values per device; the nonzeros (the bulk of the memory and
of the flops) are split evenly whatever the row lengths.
"""

from __future__ import annotations

import jax
import numpy as np
import scipy.sparse as sp

from scotopt.distributed.layout import BlockLayout
from scotopt.distributed.mesh import AXIS
from scotopt.distributed.operator import ShardedOperator, put


def balanced_row_blocks(indptr, num_shards: int) -> np.ndarray:
    """Row boundaries b_0 = 0 <= ... <= b_P = m with about nnz / P nonzeros in each block."""
    indptr = np.asarray(indptr)
    targets = np.arange(1, num_shards) * (indptr[-1] / num_shards)
    inner = np.searchsorted(indptr, targets, side="left")
    return np.concatenate([[0], np.clip(inner, 0, indptr.size - 1), [indptr.size - 1]]).astype(np.int64)


class RowPartition:
    """Nonzero-balanced row blocks and contiguous column blocks of a CSR matrix (module docstring)."""

    def __init__(self, A, num_shards: int):
        A = sp.csr_matrix(A)
        self.num_shards = P = int(num_shards)
        m, n = A.shape
        self.bounds = balanced_row_blocks(A.indptr, P)
        self.m_loc = max(1, int(np.diff(self.bounds).max(initial=0)))
        source = np.full((P, self.m_loc), -1, dtype=np.int64)
        for d in range(P):
            count = self.bounds[d + 1] - self.bounds[d]
            source[d, :count] = np.arange(self.bounds[d], self.bounds[d + 1])
        self.rows = BlockLayout(source.reshape(-1), P, m)
        self.columns = BlockLayout.contiguous(n, P)
        self.nnz_per_shard = np.diff(A.indptr[self.bounds])

    def nonzeros_per_shard(self, A) -> int:
        """The padded nonzero count of every shard (the largest block's, at least 1)."""
        return max(1, int(np.diff(sp.csr_matrix(A).indptr[self.bounds]).max(initial=0)))

    def shard_nonzeros(self, A, shard: int, width: int, dtype=np.float64):
        """(values, global columns, local rows) of row block ``shard`` of the CSR matrix ``A``, padded
        to ``width`` with zeros in the block's last row (so the rows stay sorted)."""
        lo, hi = A.indptr[self.bounds[shard]], A.indptr[self.bounds[shard + 1]]
        data = np.zeros(width, dtype=dtype)
        cols = np.zeros(width, dtype=np.int32)
        rows = np.full(width, self.m_loc - 1, dtype=np.int32)
        data[: hi - lo] = A.data[lo:hi]
        cols[: hi - lo] = A.indices[lo:hi]
        counts = np.diff(A.indptr[self.bounds[shard]: self.bounds[shard + 1] + 1])
        rows[: hi - lo] = np.repeat(np.arange(counts.size), counts)
        return data, cols, rows

    def operator(self, A, mesh, dtype):
        """The sharded A~ (the scaled CSR matrix) on ``mesh``."""
        A = sp.csr_matrix(A)
        width = self.nonzeros_per_shard(A)
        blocks = [self.shard_nonzeros(A, d, width, dtype) for d in range(self.num_shards)]
        params = tuple(put(mesh, np.concatenate([b[i] for b in blocks])) for i in range(3))
        return ShardedCSR(mesh, self.num_shards, self.m_loc, self.columns.padded_size, params)

    def values_moved_per_iteration(self) -> float:
        """Values each device sends per PDHG iteration: ring all-gather + reduce-scatter of n."""
        P = self.num_shards
        return 2.0 * (P - 1) / P * self.columns.padded_size


class ShardedCSR(ShardedOperator):
    """A~ split by nonzero-balanced row blocks; ``params = (values, global columns, local rows)``."""

    def __init__(self, mesh, num_shards, m_loc, n_padded, params):
        self.mesh, self.P, self.m_loc, self.n_padded = mesh, num_shards, m_loc, n_padded
        self.shape = (num_shards * m_loc, n_padded)
        self.params = params
        self.cache_key = ("sharded-csr", num_shards, m_loc, n_padded, tuple(d.id for d in mesh.devices.reshape(-1)))

    def _local_matvec(self, data, cols, rows, x):
        x_all = jax.lax.all_gather(x, AXIS, tiled=True)
        return jax.ops.segment_sum(data * x_all[cols], rows, num_segments=self.m_loc, indices_are_sorted=True)

    def _local_rmatvec(self, data, cols, rows, y):
        partial = jax.ops.segment_sum(data * y[rows], cols, num_segments=self.n_padded)
        return jax.lax.psum_scatter(partial, AXIS, scatter_dimension=0, tiled=True)
