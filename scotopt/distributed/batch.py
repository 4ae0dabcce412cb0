"""Batched subproblems split over a mesh: the Lagrangian oracle's batch axis.

A Lagrangian relaxation (``scotopt.solvers.lagrangian``) of K independent subproblems coupled
only by the relaxed rows ``sum_k G_k x_k (sense) h`` has the oracle

    x_k(lam) = argmin_{x in X_k} f_k(x) + lam' G_k x        (k = 1..K, independent)
    L(lam)   = sum_k [f_k(x_k) + lam' G_k x_k] - lam' h,    g = sum_k G_k x_k - h

:func:`sharded_oracle` takes the per-subproblem solver ``solve_one(data_k, lam) -> (x_k, value_k,
contribution_k)`` (value_k = f_k + lam' G_k x_k, contribution_k = G_k x_k, plain JAX code for ONE
subproblem) and the subproblem data stacked along axis 0 (a pytree of arrays with K rows). The
data are placed split along that axis over the mesh (``NamedSharding``, K padded to a multiple
of the device count with copies of the last subproblem, whose results are masked out), ``lam``
is replicated, ``jax.vmap`` maps ``solve_one`` over the batch inside ``jit``, and the two sums
over k become all-reduces. Each device thus solves K / P subproblems; per oracle call the
devices exchange one vector of ``rows`` values (the subgradient) and a scalar.

Consensus ADMM (``scotopt.solvers.admm.consensus``) has the same structure: its S scenario
blocks are independent given (w_s, z), and z = sum_s p_s x_s is the one reduction; with
``devices=`` / ``mesh=`` its blocks are split over the mesh the same way (padded, masked) and z is
averaged by a psum (:mod:`scotopt.distributed.consensus`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from scotopt.distributed.mesh import AXIS, solver_mesh


def shard_batch(data, mesh):
    """The pytree ``data`` (arrays with the batch on axis 0) split along ``shards``; padded rows repeat
    the last subproblem. Returns (sharded data, mask of real rows)."""
    leaves = jax.tree_util.tree_leaves(data)
    size = int(leaves[0].shape[0])
    devices = int(np.asarray(mesh.devices).size)
    padded = -(-size // devices) * devices
    sharding = NamedSharding(mesh, P(AXIS))

    def place(leaf):
        leaf = np.asarray(leaf)
        if padded > size:
            leaf = np.concatenate([leaf, np.repeat(leaf[-1:], padded - size, axis=0)])
        return jax.device_put(leaf, sharding)

    mask = jax.device_put(np.arange(padded) < size, sharding)
    return jax.tree_util.tree_map(place, data), mask


def sharded_oracle(solve_one, data, rhs, devices=None, mesh=None):
    """``oracle(lam) -> (x, L(lam), g)`` for :func:`scotopt.solvers.lagrangian.solve_lagrangian`, the
    batch of subproblems split over the devices (module docstring). ``rhs`` is h; ``x`` comes back
    as a (K, ...) global array split along the batch axis (padding rows dropped)."""
    mesh = solver_mesh(devices, mesh)
    sharded, mask = shard_batch(data, mesh)
    size = int(jax.tree_util.tree_leaves(data)[0].shape[0])
    rhs = jax.device_put(np.asarray(rhs), NamedSharding(mesh, P()))

    @jax.jit
    def evaluate(lam, batch, real, h):
        x, value, contribution = jax.vmap(solve_one, in_axes=(0, None))(batch, lam)
        keep = real.reshape((-1,) + (1,) * (contribution.ndim - 1))
        g = jnp.sum(jnp.where(keep, contribution, 0.0), axis=0) - h
        total = jnp.sum(jnp.where(real, value, 0.0)) - lam @ h
        return x, total, g

    def oracle(lam):
        lam = jax.device_put(jnp.asarray(lam), NamedSharding(mesh, P()))
        x, total, g = evaluate(lam, sharded, mask, rhs)
        return x[:size], total, g

    return oracle
