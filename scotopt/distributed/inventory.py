"""The multi-echelon inventory operator split by scenarios over the devices of a mesh.

Layout (P devices, S scenarios, S_b = ceil(S / P) scenario slots per device; kernels/inventory.py):

- columns of device d: a block of ``ceil(nq / P)`` first-stage entries q (nq = T L P_products;
  the last block padded with zero columns), then the I, B (and E) tensors of scenarios
  d S_b .. (d+1) S_b - 1;
- rows of device d: the balance (and storage) rows of its scenarios, then a block of
  ``ceil(T L / P)`` lane rows (padded with rows [0, 0]).

Every scenario block has the same matrix, so each device applies the single-host operator for
S_b scenarios (``DeviceInventory`` of ``structure.with_scenarios(S_b)``, the scaling factors
replicated: they do not depend on the scenario) to its local tensors plus the shared q::

    A~ x:    q = all-gather of the q blocks (nq values); local rows = M_d A_local [q; I_d; B_d; E_d];
             the lane rows (functions of q only) are computed by every device, each keeps its block
    A~^T y:  u = all-gather of the lane blocks (T L values), added on device 0 only;
             [g_q; g_d] = A_local^T [M_d y_d; u]; the q gradient (a sum over scenarios) is the
             reduce-scatter of g_q over the devices, the second-stage blocks g_d stay local

so each iteration moves about 2 (P-1)/P (nq + T L) values per device, independent of S: the
scenario tensors (the bulk: 2-3 S T N P_products entries) never leave their device.

S need not be a multiple of P: the slots of scenarios S .. P S_b - 1 (on the last devices) are
padding. Their columns are zero-cost padding columns and their rows padding rows [0, 0] of the
layouts; ``M_d`` (the identity when P divides S) zeroes the rows of padding slots, both in A~ x
and in the y entering A~^T y. So the sharded A~ is exactly the original A~ with zero rows and
columns added: a padding row's value is 0 = its bounds, its dual stays at its start 0, a padding
column meets no nonzero and has no cost, so it stays at 0; no real row sees a padding column (a
scenario's I, B, E appear only in its own rows) and the q gradient sums only real scenarios. The
iterates on the real entries, every norm, and the KKT measures (computed on the gathered,
unpadded vectors of the original LP) are those of the unsharded solve up to summation order.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from scotopt.distributed.layout import BlockLayout
from scotopt.distributed.mesh import AXIS
from scotopt.distributed.operator import ShardedOperator


class ScenarioPartition:
    """Scenario blocks, q blocks and lane-row blocks of an ``InventoryOperator`` (module docstring)."""

    def __init__(self, op, num_shards: int):
        st = op.structure
        self.num_shards = Pn = int(num_shards)
        self.structure = st
        S, T, N, Pp, L = st.scenarios, st.periods, st.nodes, st.products, st.lanes
        self.S_b = -(-S // Pn)  # the last devices hold padding slots when P does not divide S
        self.uneven = self.S_b * Pn != S
        self.nq, self.nb = T * L * Pp, st.block
        self.q_b = -(-self.nq // Pn)
        self.lanes_total = T * L if st.lane_rows else 0
        self.lane_b = -(-self.lanes_total // Pn) if self.lanes_total else 0
        d = np.arange(Pn)[:, None]
        per_scenario = T * N * Pp
        local = self.S_b * per_scenario

        def blocks(start, count, size, block):
            index = d * block + np.arange(block)[None, :]
            return np.where(index < size, start + index, -1)

        columns = [blocks(0, self.nq, self.nq, self.q_b)]
        for b in range(st.second_stage_blocks):
            columns.append(blocks(self.nq + b * self.nb, local, self.nb, local))
        self.columns = BlockLayout(np.concatenate(columns, axis=1).reshape(-1), Pn, op.shape[1])
        rows = [blocks(0, local, self.nb, local)]
        offset = self.nb
        if st.storage_rows:
            rows.append(blocks(offset, self.S_b * T * N, S * T * N, self.S_b * T * N))
            offset += S * T * N
        if self.lanes_total:
            rows.append(blocks(offset, self.lane_b, self.lanes_total, self.lane_b))
        self.rows = BlockLayout(np.concatenate(rows, axis=1).reshape(-1), Pn, op.shape[0])

    def operator(self, op, mesh, dtype):
        """The sharded A~ of the scaled inventory operator ``op`` on ``mesh``."""
        from scotopt.kernels import get_backend
        from scotopt.kernels.inventory import DeviceInventory, InventoryOperator

        local_host = InventoryOperator(self.structure.with_scenarios(self.S_b), op.scaling)
        local = DeviceInventory.build(local_host, get_backend("jax"), dtype)
        replicate = NamedSharding(mesh, P())
        params = tuple(jax.device_put(p, replicate) for p in local.params)
        return ShardedInventory(mesh, self, local, params)

    def values_moved_per_iteration(self) -> float:
        """All-gather of q and of the lane rows, reduce-scatter of the q gradient, per device."""
        Pn = self.num_shards
        return (Pn - 1) / Pn * (2 * Pn * self.q_b + Pn * self.lane_b)


class ShardedInventory(ShardedOperator):
    """A~ split by scenarios; ``params`` are the single-host operator's, replicated."""

    def __init__(self, mesh, partition: ScenarioPartition, local, params):
        self.mesh = mesh
        self.part = partition
        self.local = local
        self.params = params
        self.shape = (partition.rows.padded_size, partition.columns.padded_size)
        # the mapped products close over the partition: the scenario count (not only the local
        # S_b) decides which slots are padding
        self.cache_key = ("sharded-inventory", local.cache_key, partition.num_shards, partition.structure.scenarios,
                          tuple(dev.id for dev in mesh.devices.reshape(-1)))

    def param_specs(self):
        return tuple(P() for _ in self.params)

    def _split(self, v, sizes):
        out, start = [], 0
        for size in sizes:
            out.append(v[start:start + size])
            start += size
        return out

    def _real_rows(self, scenario_rows):
        """``scenario_rows`` (this device's balance, then storage rows) with the rows of padding
        scenario slots set to 0: the mask M_d of the module docstring."""
        jnp = jax.numpy
        part = self.part
        if not part.uneven:
            return scenario_rows
        st = part.structure
        real = jnp.clip(st.scenarios - jax.lax.axis_index(AXIS) * part.S_b, 0, part.S_b)
        slot_real = jnp.arange(part.S_b) < real
        masks = [jnp.repeat(slot_real, st.periods * st.nodes * st.products)]
        if st.storage_rows:
            masks.append(jnp.repeat(slot_real, st.periods * st.nodes))
        mask = jnp.concatenate(masks) if len(masks) > 1 else masks[0]
        return jnp.where(mask, scenario_rows, 0)

    def _local_matvec(self, *args):
        jnp = jax.numpy
        params, x = args[:-1], args[-1]
        part, op = self.part, self.local.with_params(params)
        q = jax.lax.all_gather(x[: part.q_b], AXIS, tiled=True)[: part.nq]
        rows = op.matvec(jnp.concatenate([q, x[part.q_b:]]))
        if not part.lanes_total:
            return self._real_rows(rows)
        scenario_rows = self._real_rows(rows[: rows.shape[0] - part.lanes_total])
        lanes = jnp.pad(rows[rows.shape[0] - part.lanes_total:], (0, part.num_shards * part.lane_b - part.lanes_total))
        mine = jax.lax.dynamic_slice(lanes, (jax.lax.axis_index(AXIS) * part.lane_b,), (part.lane_b,))
        return jnp.concatenate([scenario_rows, mine])

    def _local_rmatvec(self, *args):
        jnp = jax.numpy
        params, y = args[:-1], args[-1]
        part, op = self.part, self.local.with_params(params)
        if part.lanes_total:
            scenario_rows = self._real_rows(y[: y.shape[0] - part.lane_b])
            lanes = jax.lax.all_gather(y[y.shape[0] - part.lane_b:], AXIS, tiled=True)[: part.lanes_total]
            lanes = lanes * (jax.lax.axis_index(AXIS) == 0)  # counted once in the sum over devices
            y = jnp.concatenate([scenario_rows, lanes])
        else:
            y = self._real_rows(y)
        g = op.rmatvec(y)
        g_q = jnp.pad(g[: part.nq], (0, part.num_shards * part.q_b - part.nq))
        g_q = jax.lax.psum_scatter(g_q, AXIS, scatter_dimension=0, tiled=True)
        return jnp.concatenate([g_q, g[part.nq:]])
