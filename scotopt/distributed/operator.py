"""What every sharded operator shares: static structure, device arrays in ``params``, shard_map.

A sharded operator's ``matvec`` / ``rmatvec`` take and return global ``jax.Array`` vectors split in
equal blocks over the mesh axis ``shards``; inside, :func:`jax.shard_map` runs the per-device
product on the local blocks and the collectives named by each subclass. ``params`` (a tuple of
device arrays) are arguments of the compiled programs, as for the single-device operators; a 0-d
parameter (a constant scaling) is replicated.
"""

from __future__ import annotations

import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from scotopt.distributed.mesh import AXIS
from scotopt.kernels.params_operator import ParamsOperator


def spec_of(array):
    """Sharded along ``shards`` unless 0-d (replicated)."""
    return P() if getattr(array, "ndim", 0) == 0 else P(AXIS)


def put(mesh, host_array, dtype=None):
    """A host array onto ``mesh``: split in equal blocks along its first axis, or replicated if 0-d."""
    import numpy as np

    host_array = np.asarray(host_array) if dtype is None else np.asarray(host_array, dtype=dtype)
    sharding = NamedSharding(mesh, spec_of(host_array))
    # every process holds the same host array; each places the blocks of its own devices
    return jax.make_array_from_callback(host_array.shape, sharding, lambda index: host_array[index])


_MAPPED: dict = {}


class ShardedOperator(ParamsOperator):
    """Base class: subclasses set ``shape``, ``params``, ``cache_key`` and define ``_local_matvec``
    / ``_local_rmatvec`` (per-device functions of (params..., vector block))."""

    mesh = None

    def param_specs(self):
        """How each parameter is laid out: split along ``shards`` unless 0-d."""
        return tuple(spec_of(p) for p in self.params)

    def _apply(self, local, v):
        specs = self.param_specs()
        key = (self.cache_key, local.__name__, specs)
        mapped = _MAPPED.get(key)
        if mapped is None:
            # one mapped function per structure: eager calls (the first products, the answer) then
            # reuse its compiled program instead of compiling a new one per solve
            mapped = jax.jit(jax.shard_map(local, mesh=self.mesh, in_specs=(*specs, P(AXIS)), out_specs=P(AXIS)))
            _MAPPED[key] = mapped
        return mapped(*self.params, v)

    def matvec(self, x):
        return self._apply(self._local_matvec, x)

    def rmatvec(self, y):
        return self._apply(self._local_rmatvec, y)


def fetch(array):
    """A global array as one host array, also when other processes hold some of its blocks."""
    import numpy as np

    if array.is_fully_addressable:
        return np.asarray(jax.device_get(array))
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(array, tiled=True))
