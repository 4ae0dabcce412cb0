"""PDHG on a min-cost flow that no process holds whole: each process builds only its own shards.

``solve_sharded_flow(make_shard)`` calls ``make_shard(d, P)`` for the shards d whose device
belongs to this process (a :class:`~scotopt.models.sharded_grid.GridShard`: ``V_b`` nodes and
``E_loc`` arc slots with global node ids) and assembles global ``jax.Array`` s from these local
blocks (``jax.make_array_from_single_device_arrays``). Everything after that is the
:class:`~scotopt.distributed.network.ShardedNetwork` layout and the unchanged PDHG
(``algorithm.py``, the loop of ``driver.iterate``), run in SPMD by every process.

What the single-host driver does on the host with the whole LP is done here on the devices:

- preconditioning in closed form: for a +-1 incidence matrix without self-loops Ruiz is the
  identity and Pock-Chambolle (any alpha) gives ``d1 = deg^-1/2`` (the node degree, a
  reduce-scatter of per-shard counts) and ``d2 = 2^-1/2``, exactly what
  ``NetworkMatrix.diagonal_scaling`` computes; theta_b, theta_c, ||b||, ||c|| are global norms;
- the step size uses the Schur bound ``max_r d1_r^2 deg_r * max_c d2_c^2 2`` (= 1), as the
  single-host driver does above 3e5 columns;
- verification of OPTIMAL in float64 on the unscaled problem with the same formulas as
  ``kkt.kkt_report`` (``algorithm.kkt_measures`` with d1 = d2 = theta = 1; for this LP, equality
  rows and x inside its bounds, the two coincide). Infeasibility claims are not verified here
  (the generated instances are feasible): such a claim counts as a rejected one.

Each process returns the flows and potentials of its own shards plus the global measures, which
every process computes identically (replicated reductions), so all processes agree.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from scotopt.distributed.mesh import AXIS, describe_mesh, solver_mesh
from scotopt.distributed.network import ShardedNetwork
from scotopt.kernels import get_backend
from scotopt.options import PDHGOptions, Termination
from scotopt.solvers.pdhg import algorithm as alg
from scotopt.solvers.pdhg.driver import algorithm_params, claims, costs_bounded_by_columns, iterate
from scotopt.status import InvalidProblemError, Status


@dataclasses.dataclass
class GlobalMeasures:
    """The answer's status and measures on the original problem: the same in every process."""

    status: Status
    objective: float
    dual_objective: float
    rel_primal: float
    rel_dual: float
    rel_gap: float

    @property
    def kkt_error(self) -> float:
        return max(self.rel_primal, self.rel_dual, self.rel_gap)


@dataclasses.dataclass
class ShardedFlowResult(GlobalMeasures):
    """Global measures (the same on every process) and this process's shards of the answer.

    ``flow[d]``: flows of the real arcs of local shard d (in that shard's slot order);
    ``potentials[d]``: node duals of shard d's real nodes; ``flow_sum`` / ``flow_norm``: sum and
    2-norm of the whole flow vector (a cross-process checksum).
    """

    iterations: int
    restarts: int
    solve_time: float
    setup_time: float
    flow_sum: float
    flow_norm: float
    shards: int
    processes: int
    device: str
    comm_bytes_per_iteration: float
    bytes_per_device: int
    flow: dict
    potentials: dict


def local_shard_ids(mesh) -> list[int]:
    """The shards (positions on the mesh axis) whose device belongs to this process."""
    me = jax.process_index()
    return [d for d, dev in enumerate(np.asarray(mesh.devices).reshape(-1)) if dev.process_index == me]


def global_array(mesh, blocks: dict, dtype=None):
    """One global array, split along ``shards`` (its first axis), from this process's blocks
    {shard: host array}, every block of the same shape."""
    devices = np.asarray(mesh.devices).reshape(-1)
    block = next(iter(blocks.values()))
    arrays = [jax.device_put(np.asarray(blocks[d], dtype=dtype), devices[d]) for d in sorted(blocks)]
    shape = (devices.size * block.shape[0], *block.shape[1:])
    return jax.make_array_from_single_device_arrays(shape, NamedSharding(mesh, P(AXIS)), arrays)


def replicated(mesh, value, dtype):
    """A 0-d constant on every device of ``mesh``."""
    return jax.device_put(np.asarray(value, dtype=dtype), NamedSharding(mesh, P()))


def scalar(array) -> float:
    """A replicated 0-d result as a Python float (read from this process's own copy)."""
    return float(np.asarray(array.addressable_data(0)))


def _without_slack_capacities(cost, capacity, supply):
    """+inf for the capacities above the total supply where every cost is >= 0: they cannot bind
    (an acyclic optimal flow carries at most the supply), and left in the LP they charge each
    negative reduced cost with the capacity in the dual objective (scotopt.models.flow's module
    docstring; MinCostFlow drops them the same way)."""
    total = jnp.sum(jnp.maximum(supply, 0.0))
    slack = jnp.all(cost >= 0) & jnp.isfinite(capacity) & (capacity > total)
    return jnp.where(slack, jnp.inf, capacity)


# one jitted function for every solve (a lambda made per solve compiled again each time)
_costs_bounded_by_columns = jax.jit(functools.partial(costs_bounded_by_columns, jnp))


def _scaled_problem(cost, capacity, supply, degree, dtype, alpha):
    """Closed-form scaling (module docstring) and the scaled/unscaled data, as global arrays."""
    d1 = jnp.where(degree > 0, 1.0 / jnp.sqrt(jnp.where(degree > 0, degree, 1.0)), 1.0) if alpha else degree * 0 + 1
    d2 = jnp.asarray(2.0 ** -0.5 if alpha else 1.0, dtype=dtype)
    b = jnp.abs(d1 * supply)
    theta_b = 1.0 / (1.0 + jnp.sqrt(jnp.sum(b * b)))
    theta_c = 1.0 / (1.0 + jnp.sqrt(jnp.sum((d2 * cost) ** 2)))
    norm = jnp.sqrt(jnp.max(d1 * d1 * degree) * d2 * d2 * 2.0)
    measures = (theta_b, theta_c, jnp.sqrt(jnp.sum(supply * supply)), jnp.sqrt(jnp.sum(cost * cost)), norm)
    return d1, d2, measures


def solve_sharded_flow(make_shard, mesh=None, eps: float = 1e-4, iteration_limit: int | None = None,
                       time_limit: float | None = None, options: PDHGOptions | None = None,
                       verbose: bool = False) -> ShardedFlowResult:
    """Solve the min-cost flow whose shard d is ``make_shard(d, P)`` on ``mesh`` (default: every
    device of every process), in float64; see the module docstring."""
    start = time.perf_counter()
    options = options or PDHGOptions()
    termination = Termination(eps=eps, time_limit=time_limit, iteration_limit=iteration_limit)
    mesh = mesh or solver_mesh()
    backend = get_backend("jax")
    with backend.precision(np.float64):
        return _solve(make_shard, mesh, termination, options, verbose and jax.process_index() == 0, backend, start)


def _solve(make_shard, mesh, termination, options, verbose, backend, start):
    dtype = np.float64
    num_shards = int(np.asarray(mesh.devices).size)
    mine = local_shard_ids(mesh)
    shards = {d: make_shard(d, num_shards) for d in mine}
    first = shards[mine[0]]
    V_b, E_loc = first.nodes_per_shard, first.tail.size
    for s in shards.values():
        if s.nodes_per_shard != V_b or s.tail.size != E_loc:
            raise InvalidProblemError("every shard must have the same numbers of node and arc slots")
        if np.any((s.tail == s.head) & s.real):
            raise InvalidProblemError("sharded flows take no self-loops (their closed-form scaling assumes none)")

    def gather(field, kind=dtype):
        return global_array(mesh, {d: getattr(s, field) for d, s in shards.items()}, kind)

    tail, head = gather("tail", first.tail.dtype), gather("head", first.head.dtype)
    cost, capacity, supply = gather("cost"), gather("capacity"), gather("supply")
    capacity = jax.jit(_without_slack_capacities)(cost, capacity, supply)
    ones = global_array(mesh, {d: np.ones(V_b) for d in mine}, dtype)
    dims = (V_b, E_loc, 1, False)
    raw = ShardedNetwork(mesh, dims, (tail, head, ones, replicated(mesh, 1.0, dtype)))
    degree = raw.row_counts()
    d1, d2, measures = jax.jit(_scaled_problem, static_argnums=(4, 5))(
        cost, capacity, supply, degree, dtype, options.pock_chambolle_alpha is not None)
    theta_b, theta_c, bound_norm, cost_norm, norm = (scalar(v) for v in measures)
    if not options.bound_objective_rescaling:
        theta_b = theta_c = 1.0
    norm = max(norm * (1.0 + 1e-6), 1e-6)
    op = ShardedNetwork(mesh, dims, (tail, head, d1, d2))
    zero = replicated(mesh, 0.0, dtype)
    scale = jax.jit(lambda a, b: a * b)
    data = alg.PDHGData(
        c=scale(cost, d2 * theta_c), con_lb=scale(supply, d1 * theta_b), con_ub=scale(supply, d1 * theta_b),
        var_lb=zero, var_ub=scale(capacity, theta_b / d2), d1=d1, d2=d2,
        theta_b=theta_b, theta_c=theta_c, c0=0.0, bound_norm=bound_norm, cost_norm=cost_norm,
        eta=options.step_size_safety / norm,
    )
    original = data._replace(c=cost, con_lb=supply, con_ub=supply, var_ub=capacity, d1=ones,
                             d2=replicated(mesh, 1.0, dtype), theta_b=1.0, theta_c=1.0)
    x0 = global_array(mesh, {d: np.zeros(E_loc) for d in mine}, dtype)
    y0 = global_array(mesh, {d: np.zeros(V_b) for d in mine}, dtype)
    state = alg.init_state(jnp, op, data, x0, y0, dtype)
    setup_time = time.perf_counter() - start
    loop, measured, x, y = verified_iterations(backend, op, raw, data, original, state, termination, options,
                                               verbose, start)
    rel_p, rel_d, gap, pobj, dobj, flow_sum, flow_norm = measured
    flow, potentials = _local_blocks(mesh, x, E_loc, shards, "flow"), _local_blocks(mesh, y, V_b, shards, "nodes")
    item = np.dtype(dtype).itemsize
    return ShardedFlowResult(
        status=loop.status, objective=pobj, dual_objective=dobj, rel_primal=rel_p, rel_dual=rel_d, rel_gap=gap,
        iterations=loop.iterations, restarts=int(scalar(loop.answer_state.restarts)),
        solve_time=time.perf_counter() - start, setup_time=setup_time, flow_sum=flow_sum, flow_norm=flow_norm,
        shards=num_shards, processes=jax.process_count(), device=describe_mesh(mesh),
        comm_bytes_per_iteration=2.0 * (num_shards - 1) * V_b * item,
        bytes_per_device=_bytes_per_device((loop.answer_state, data, original, op.params, raw.params)),
        flow=flow, potentials=potentials,
    )


def verified_iterations(backend, op, raw, data, original, state, termination, options, verbose, start):
    """PDHG (``driver.iterate``) on global arrays, OPTIMAL verified on the devices in float64 on the
    unscaled problem: ``raw`` is the unscaled operator and ``original`` the unscaled data (d1 = d2 =
    theta = 1). Infeasibility claims are not verified here and count as rejected ones. Returns
    (loop outcome, (rel_primal, rel_dual, rel_gap, primal objective, dual objective, sum x, ||x||)
    of the answer as floats, and its unscaled x, y as global arrays)."""
    measure = jax.jit(lambda params, raw_params, data, original, s: _original_measures(
        op.with_params(params), raw.with_params(raw_params), data, original, s))

    def check(params, s):  # global arrays are arguments, never constants closed over
        return measure(params, raw.params, data, original, s)

    def verify(s, stats):
        optimal, primal_inf, dual_inf = claims(stats, termination)
        if not (optimal or primal_inf or dual_inf):
            return None
        measured = [scalar(v) for v in check(op.params, s)[0]]
        if optimal and max(measured[:3]) <= termination.eps:
            return Status.OPTIMAL, None, 0
        return None, None, 0

    # c@x bounded below on the column bounds (on a flow: x >= 0 and every arc of negative cost
    # capped): no primal ray exists (driver.objective_bounded_on_box), the evaluations skip that test
    bounded = scalar(_costs_bounded_by_columns(original.c, original.var_lb, original.var_ub))
    params = algorithm_params(options)._replace(primal_rays=0.0 if bounded else 1.0)
    loop = iterate(backend, op, data, params, state, termination, options, verify, verbose, start)
    measured, (x, y) = check(op.params, loop.answer_state)
    return loop, tuple(scalar(v) for v in measured), x, y


def _original_measures(op, raw, data, original, s):
    """KKT measures of T(s) on the original problem (float64), plus the flow's sum and norm."""
    x, y, _, _ = alg.candidate(jnp, op, data, s)
    rel_p, rel_d, gap, pobj, dobj = alg.kkt_measures(jnp, original, x, y, raw.matvec(x), original.c - raw.rmatvec(y))
    return (rel_p, rel_d, gap, pobj, dobj, jnp.sum(x), jnp.sqrt(jnp.sum(x * x))), (x, y)


def _bytes_per_device(trees) -> int:
    """Bytes of every distinct device array in ``trees`` held by one device (its first shard)."""
    seen, total = set(), 0
    for leaf in jax.tree_util.tree_leaves(trees):
        if isinstance(leaf, jax.Array) and id(leaf) not in seen:
            seen.add(id(leaf))
            total += int(leaf.addressable_shards[0].data.nbytes)
    return total


def _local_blocks(mesh, array, block, shards, what):
    """{shard: host block} of this process's shards, real entries only."""
    devices = list(np.asarray(mesh.devices).reshape(-1))
    out = {}
    for piece in array.addressable_shards:
        d = devices.index(piece.device)
        values = np.asarray(piece.data, dtype=np.float64)
        s = shards[d]
        if what == "flow":
            out[d] = values[s.real]
        else:
            out[d] = values[: max(0, min(block, s.num_nodes - s.node_start))]
    return out
