"""The device mesh a sharded solve runs on: one axis, ``shards``, over every chosen device.

Every sharded vector is split along this one axis in equal blocks (one per device); a user's
multi-axis ``jax.sharding.Mesh`` is flattened in its device order, so a 2 x 4 mesh gives 8 shards.
Across hosts (after ``jax.distributed.initialize``) ``jax.devices()`` lists every process's
devices, so the same mesh spans the cluster.
"""

from __future__ import annotations

import numpy as np

from scotopt.status import InvalidOptionError

AXIS = "shards"


def solver_mesh(devices=None, mesh=None):
    """A 1-D ``Mesh`` over ``devices`` (an int: the first N of ``jax.devices()``; or a list of
    devices) or over the devices of ``mesh``; all devices when both are None."""
    import jax
    from jax.sharding import Mesh

    if mesh is not None:
        if devices is not None:
            raise InvalidOptionError("give devices= or mesh=, not both")
        return Mesh(np.asarray(mesh.devices).reshape(-1), (AXIS,))
    available = jax.devices()
    if devices is None:
        chosen = available
    elif isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        if not 1 <= devices <= len(available):
            raise InvalidOptionError(
                f"devices={devices} but JAX sees {len(available)} device(s) ({available[0].platform}); on CPU set "
                f"XLA_FLAGS=--xla_force_host_platform_device_count={devices} before importing jax"
            )
        chosen = available[:devices]
    else:
        chosen = list(devices)
        if not chosen:
            raise InvalidOptionError("devices= is an empty list")
    return Mesh(np.asarray(chosen), (AXIS,))


def describe_mesh(mesh) -> str:
    """'4 x cpu' for the Result's ``device`` field."""
    devices = np.asarray(mesh.devices).reshape(-1)
    kinds = sorted({str(d.device_kind).lower() for d in devices})
    return f"{devices.size} x {'/'.join(kinds)}"
