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
over k are taken as one sum of the stacked (value_k, contribution_k), one all-reduce. Each device
thus solves K / P subproblems; per oracle call the devices exchange ``rows + 1`` values. L(lam)
and g come back to the driver as host values (a float and a NumPy array, read from this
process's replica), so its arithmetic on the multipliers stays off the mesh.

Across processes (``jax.distributed``), :func:`sharded_oracle_from_factory` builds the same oracle
from ``make_data(indices)``, called in each process only for the subproblems of its own devices'
batch slots, so no process holds the whole batch; the relaxed rows' right-hand side h (``rows``
values) is given in full to every process. The driver runs unchanged in every process: ``lam``
is replicated and every process reads the same L(lam) and g from its replica of the all-reduced
sums, so every process takes the same steps and returns the same bounds and multipliers.

Consensus ADMM (``scotopt.solvers.admm.consensus``) has the same structure: its S scenario
blocks are independent given (w_s, z), and z = sum_s p_s x_s is the one reduction; with
``devices=`` / ``mesh=`` its blocks are split over the mesh the same way (padded, masked) and z is
averaged by a psum (:mod:`scotopt.distributed.consensus`).
"""

from __future__ import annotations

import hashlib

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from scotopt.distributed.mesh import AXIS, solver_mesh
from scotopt.status import InvalidOptionError, InvalidProblemError


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
    as a (K, ...) global array (padding rows dropped, which gathers it on every device), L(lam)
    as a float and g as a host array (the driver's arithmetic on the multipliers then stays on
    the host). Every process passes the whole stacked ``data``;
    :func:`sharded_oracle_from_factory` builds only its own."""
    mesh = solver_mesh(devices, mesh)
    sharded, mask = shard_batch(data, mesh)
    size = int(jax.tree_util.tree_leaves(data)[0].shape[0])
    return _batched_oracle(solve_one, sharded, mask, rhs, size, mesh)


def batch_slots(num_subproblems: int, num_shards: int, shard: int) -> list[int]:
    """The subproblems in the batch slots of device ``shard``: slot t (ceil(K / P) slots per device)
    holds subproblem min(t, K - 1), so the slots past K repeat the last one (masked out)."""
    per_device = -(-num_subproblems // num_shards)
    return [min(t, num_subproblems - 1) for t in range(shard * per_device, (shard + 1) * per_device)]


def sharded_oracle_from_factory(solve_one, make_data, num_subproblems: int, rhs, devices=None, mesh=None):
    """:func:`sharded_oracle` with each process building only the subproblems of its own devices.

    Every process of a ``jax.distributed`` job (:func:`scotopt.distributed.multihost.initialize`)
    calls this with the same arguments. ``make_data(indices)`` gets a sorted int64 array of the
    distinct subproblems held by this process's batch slots on ``mesh`` (default: every device
    of every process; device d of P holds subproblems d ceil(K/P) ... of :func:`batch_slots`,
    the padding slots repeating subproblem K - 1) and returns their data: a pytree of arrays
    with ``len(indices)`` rows, row i for subproblem ``indices[i]``, of one structure, trailing
    shape and dtype in every process. It is called once per process, never for another
    process's subproblems; a failure in any process is raised in all of them. ``rhs`` (h, one
    value per relaxed row) is given in full. In one process this equals
    ``sharded_oracle(solve_one, make_data(np.arange(K)), rhs, ...)``.

    The oracle returns L(lam) (a float) and g (a host array), read from this process's replica of
    the all-reduced sums, so the same numbers in every process, and ``x`` as the padded
    (P ceil(K/P), ...) global array split along the batch axis, as the devices hold it (rows past
    K repeat subproblem K - 1's answer; ``x[:K]`` would gather every row onto every device).
    ``oracle.local_rows(x)`` reads this process's real rows, {k: row}, without communication;
    ``oracle.local_subproblems`` lists them.
    """
    from scotopt.distributed.consensus import _agree_on_blocks, all_processes
    from scotopt.distributed.sharded_flow import global_array, local_shard_ids

    size = int(num_subproblems) if isinstance(num_subproblems, (int, np.integer)) else -1
    if size < 1:
        raise InvalidProblemError(f"num_subproblems must be a positive integer, got {num_subproblems!r}")
    if not callable(make_data) or not callable(solve_one):
        raise InvalidOptionError("solve_one and make_data must be callables")
    mesh = solver_mesh(devices, mesh)
    shards = int(np.asarray(mesh.devices).size)
    local = local_shard_ids(mesh)
    if not local:
        raise InvalidOptionError(f"process {jax.process_index()} has no device on the mesh")
    slots = {d: batch_slots(size, shards, d) for d in local}
    needed = np.array(sorted({k for d in local for k in slots[d]}), dtype=np.int64)
    built = {}

    def build():
        data = make_data(needed.copy())
        leaves, treedef = jax.tree_util.tree_flatten(data)
        if not leaves:
            raise InvalidProblemError("make_data returned no arrays")
        leaves = [np.asarray(leaf) for leaf in leaves]
        for leaf in leaves:
            if leaf.ndim == 0 or leaf.shape[0] != needed.size:
                raise InvalidProblemError(f"make_data({needed.tolist()}) returned an array of shape {leaf.shape}; "
                                          f"every array needs {needed.size} rows, one per index")
        built["leaves"], built["treedef"] = leaves, treedef

    _agree_on_blocks(build, "subproblems")
    leaves, treedef = built.pop("leaves"), built.pop("treedef")
    layout = repr((treedef, [(leaf.shape[1:], leaf.dtype.str) for leaf in leaves])).encode()
    digests = all_processes(np.frombuffer(hashlib.sha256(layout).digest(), dtype=np.uint8))
    if np.any(digests != digests[0]):
        raise InvalidProblemError("the processes' make_data returned different structures, trailing shapes or "
                                  "dtypes")
    row_of = {int(k): i for i, k in enumerate(needed)}
    rows = {d: [row_of[k] for k in slots[d]] for d in local}
    per_device = len(slots[local[0]])
    batch = jax.tree_util.tree_unflatten(
        treedef, [global_array(mesh, {d: leaf[rows[d]] for d in local}) for leaf in leaves])
    mask = global_array(mesh, {d: np.arange(d * per_device, (d + 1) * per_device) < size for d in local})
    oracle = _batched_oracle(solve_one, batch, mask, rhs, None, mesh)
    oracle.local_subproblems = [t for d in local for t in range(d * per_device, (d + 1) * per_device) if t < size]
    devices = list(np.asarray(mesh.devices).reshape(-1))

    def local_rows(x) -> dict:
        out = {}
        for piece in x.addressable_shards:
            first = devices.index(piece.device) * per_device
            values = np.asarray(piece.data)
            out.update({first + i: values[i] for i in range(per_device) if first + i < size})
        return out

    oracle.local_rows = local_rows
    return oracle


def _replicated(mesh, value):
    """``value`` (host, local or global array; the same in every process) replicated on ``mesh``."""
    sharding = NamedSharding(mesh, P())
    if isinstance(value, jax.Array) and value.sharding.is_equivalent_to(sharding, value.ndim):
        return value
    host = np.asarray(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def _batched_oracle(solve_one, batch, mask, rhs, size, mesh):
    """The oracle of :func:`sharded_oracle` on placed data (``batch``: padded, split along ``shards``);
    ``x`` comes back cut to ``size`` rows, or padded as placed when ``size`` is None."""
    h = _replicated(mesh, jnp.asarray(np.asarray(rhs)))

    @jax.jit
    def evaluate(lam, batch, real, h):
        x, value, contribution = jax.vmap(solve_one, in_axes=(0, None))(batch, lam)
        # one reduction over the batch (one all-reduce): [value_k, contribution_k] summed over real k
        terms = jnp.concatenate([value[:, None], contribution.reshape(contribution.shape[0], -1)], axis=1)
        sums = jnp.sum(jnp.where(real[:, None], terms, 0.0), axis=0)
        return x, sums[0] - lam @ h, sums[1:].reshape(contribution.shape[1:]) - h

    def oracle(lam):
        x, total, g = evaluate(_replicated(mesh, jnp.asarray(lam)), batch, mask, h)
        # L and g are replicated: every process reads its own copy, the same numbers everywhere
        return (x if size is None else x[:size]), float(total), np.asarray(g)

    return oracle
