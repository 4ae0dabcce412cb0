"""Scale-out on JAX's SPMD runtime: sharded PDHG over a device mesh, and multi-host runs.

- :func:`sharded_placement` (used by ``scotopt.solve(..., devices=N)`` / ``mesh=``): the LP's
  vectors and operator split over the devices of a mesh (:mod:`.placement`, :mod:`.network`,
  :mod:`.csr`); the PDHG algorithm itself is unchanged.
- :mod:`.multihost`: ``jax.distributed`` initialisation and network instances of which each
  process builds only its own shard.
- :func:`.consensus.solve_consensus_distributed`: consensus ADMM whose scenario blocks each
  process builds only for its own devices (``make_block(s)``), checked without assembling the
  extensive form.
- :func:`.batch.sharded_oracle_from_factory`: the Lagrangian oracle's batch of subproblems, of
  which each process builds only the slots of its own devices (``make_data(indices)``).
"""

from __future__ import annotations

from scotopt.distributed.mesh import AXIS, solver_mesh


def sharded_placement(devices=None, mesh=None):
    """The placement of a solve on ``devices`` (a count or a list) or on ``mesh``."""
    from scotopt.distributed.placement import ShardedPlacement

    return ShardedPlacement(solver_mesh(devices, mesh))


__all__ = ["AXIS", "solver_mesh", "sharded_placement"]
