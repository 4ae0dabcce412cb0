"""The network incidence operator split by arcs over the devices of a mesh.

Layout (P devices; V nodes, E arcs, K commodities; ``NetworkMatrix`` in kernels/incidence.py):

- arcs: contiguous blocks of ``E_loc = ceil(E / P)`` arcs in the network's order (the last block
  padded with self-loops, i.e. zero columns); device d owns the columns (k, a) of its arcs for
  every commodity k, so x, c, the bounds and d2 are split by arcs;
- nodes: contiguous blocks of ``V_b = ceil(V / P)`` nodes; device d owns the rows (k, v) of its
  node block and the coupling rows of its own arcs, so y, the row bounds and d1 are split too.

Products (per device, then one collective over the mesh axis)::

    A~ x:    partial_(k,v) = sum_{local a: tail=v} w_(k,a) - sum_{local a: head=v} w_(k,a),  w = d2 x
             node rows     = reduce-scatter of partial (K x P V_b) over the node blocks, times d1
             coupling rows = sum_k w_(k,a) on the owning device (no communication)
    A~^T y:  all nodes     = all-gather of the d1-scaled node rows (K x P V_b)
             (A~^T y)_(k,a) = d2_(k,a) [nodes_(k,tail a) - nodes_(k,head a) + d1_a y_a]

so each iteration (one product each way) moves 2 (P-1)/P K P V_b values per device (ring
reduce-scatter plus all-gather) and nothing proportional to E; memory per device is E/P arcs,
K E/P columns and K V/P + E/P rows, plus one K x P V_b buffer for the partial node sums.
Every vector is sharded (none replicated), so the PDHG vector updates are split P ways as well.
"""

from __future__ import annotations

import jax
import numpy as np

from scotopt.distributed.layout import BlockLayout
from scotopt.distributed.mesh import AXIS
from scotopt.distributed.operator import ShardedOperator, put


class NetworkPartition:
    """Arc blocks and node blocks of a ``NetworkMatrix`` for ``num_shards`` devices (module docstring)."""

    def __init__(self, net, num_shards: int):
        self.num_shards = P = int(num_shards)
        self.V, self.E, self.K, self.coupling = net.num_nodes, net.num_arcs, net.num_commodities, net.coupling
        self.arcs = BlockLayout.contiguous(self.E, P)
        self.E_loc = self.arcs.block
        self.V_b = -(-self.V // P) if self.V else 1
        K, V, E, E_loc, V_b = self.K, self.V, self.E, self.E_loc, self.V_b
        arc = self.arcs.source.reshape(P, 1, E_loc)
        commodity = np.arange(K).reshape(1, K, 1)
        self.columns = BlockLayout(np.where(arc >= 0, commodity * E + arc, -1).reshape(-1), P, K * E)
        node = (np.arange(P) * V_b).reshape(P, 1, 1) + np.arange(V_b).reshape(1, 1, V_b)
        node_rows = np.where(node < V, commodity * V + node, -1).reshape(P, K * V_b)
        blocks = [node_rows]
        if self.coupling:
            blocks.append(np.where(arc[:, 0, :] >= 0, K * V + arc[:, 0, :], -1))
        self.rows = BlockLayout(np.concatenate(blocks, axis=1).reshape(-1), P, K * V + (E if self.coupling else 0))

    def local_arcs(self, net):
        """(tail, head) padded to P * E_loc, padding arcs being self-loops at node 0."""
        return self.arcs.scatter(net.tail, 0, net.tail.dtype), self.arcs.scatter(net.head, 0, net.head.dtype)

    def operator(self, net, mesh, dtype):
        """The sharded A~ of the scaled ``net`` on ``mesh``."""
        tail, head = self.local_arcs(net)
        d1 = self.rows.scatter(net._d1(), 1.0, dtype)
        d2 = np.asarray(net.col_scale, dtype=np.float64)
        d2 = d2.astype(dtype) if d2.ndim == 0 else self.columns.scatter(d2, 1.0, dtype)
        return ShardedNetwork(mesh, (self.V_b, self.E_loc, self.K, self.coupling),
                              (put(mesh, tail), put(mesh, head), put(mesh, d1), put(mesh, d2)))

    def values_moved_per_iteration(self) -> float:
        """Values each device sends per PDHG iteration: ring reduce-scatter + all-gather of K P V_b."""
        P = self.num_shards
        return 2.0 * (P - 1) / P * self.K * P * self.V_b


class ShardedNetwork(ShardedOperator):
    """A~ of a network, split by arcs and node blocks; ``params = (tail, head, d1, d2)``."""

    def __init__(self, mesh, dims, params):
        """``dims = (V_b, E_loc, K, coupling)``: nodes and arcs per shard, commodities, coupling rows."""
        self.mesh = mesh
        self.P = int(np.asarray(mesh.devices).size)
        self.V_b, self.E_loc, self.K, self.coupling = dims
        m_loc = self.K * self.V_b + (self.E_loc if self.coupling else 0)
        self.shape = (self.P * m_loc, self.P * self.K * self.E_loc)
        self.params = params
        self.cache_key = ("sharded-network", self.P, self.V_b, self.E_loc, self.K, self.coupling,
                          int(np.ndim(params[3])), tuple(d.id for d in mesh.devices.reshape(-1)))

    def _local_matvec(self, tail, head, d1, d2, x):
        K, V_b, P = self.K, self.V_b, self.P
        w = (x * d2).reshape(K, self.E_loc)
        partial = (jax.ops.segment_sum(w.T, tail, num_segments=P * V_b)
                   - jax.ops.segment_sum(w.T, head, num_segments=P * V_b)).T
        nodes = jax.lax.psum_scatter(partial, AXIS, scatter_dimension=1, tiled=True)
        out = nodes.reshape(-1)
        if self.coupling:
            out = jax.numpy.concatenate([out, w.sum(axis=0)])
        return out * d1

    def _local_rmatvec(self, tail, head, d1, d2, y):
        jnp = jax.numpy
        K, V_b = self.K, self.V_b
        ys = y * d1
        nodes = jax.lax.all_gather(ys[: K * V_b].reshape(K, V_b), AXIS, axis=1, tiled=True)
        out = jnp.take(nodes, tail, axis=1) - jnp.take(nodes, head, axis=1)
        if self.coupling:
            out = out + ys[K * V_b:][None, :]
        return out.reshape(-1) * d2

    def row_counts(self):
        """Nonzeros per node row (the degree, loops excluded), sharded like the node rows (K = 1)."""
        def local(tail, head, d1, d2, x):
            ones = (tail != head).astype(x.dtype)
            size = self.P * self.V_b
            counts = (jax.ops.segment_sum(ones, tail, num_segments=size)
                      + jax.ops.segment_sum(ones, head, num_segments=size))
            return jax.lax.psum_scatter(counts, AXIS, scatter_dimension=0, tiled=True)

        return self._apply(local, self.params[2])  # d1 only lends its sharding and dtype
