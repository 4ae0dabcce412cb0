"""Consensus ADMM's scenario blocks split over a mesh: each device solves its blocks, z by psum.

Progressive hedging (``scotopt.solvers.admm.consensus``) rounds are, for scenarios s = 1..S
with probabilities p_s, shared variables x_s (the first k of block s's variables u_s) and
multipliers w_s,

    u_s <- argmin  p_s [1/2 u'P_s u + c_s'u + w_s'x_s + rho/2 ||x_s - z||^2]
           s.t.    con_lb_s <= A_s u <= con_ub_s,  var_lb_s <= u <= var_ub_s        (every s)
    z   <- sum_s p_s x_s
    w_s <- w_s + rho (x_s - z)

The S subproblems are independent given (w, z), so here, as for the Lagrangian oracle
(:mod:`.batch`), the blocks are stacked along a batch axis and split over the mesh axis
``shards`` (S padded to a multiple of the device count P with copies of the last block, masked
out of every sum): device d holds the data and iterates of S / P blocks and solves them by
``jax.vmap`` of scotopt's OSQP iteration (:func:`scotopt.solvers.admm.algorithm.step`, the PCG
path: the block matrices are padded COO arrays, products are segment sums). The two sums over s
in a round, z and the consensus residual sum_s p_s ||x_s - z||^2, are ``psum`` all-reduces of
k + 2 values; nothing else leaves a device. One round is one ``shard_map`` call, so on one
device (``devices=1``) the same program runs with trivial collectives.

Each block is scaled once (Ruiz and cost scaling of ``P~_s = p_s (P_s + rho [I_k 0; 0 0])``,
``A_s``, the bounds, and the base cost ``p_s c_s``, :func:`scotopt.solvers.admm.scaling.scale_qp`);
the round's cost ``p_s (c_s + [w_s - rho z; 0])`` is scaled with the same ``gamma D``. Within a
round each block runs OSQP iterations warm-started from the last round until its OSQP residuals
(:func:`~scotopt.solvers.admm.algorithm.residuals`, unscaled infinity norms) satisfy
``r_prim <= tol (1 + max(||A u||, ||z||))`` and ``r_dual <= tol (1 + max(||P u||, ||A'y||, ||q||))``
(``tol`` = the inner eps) or ``max_inner`` iterations pass; at every such check its rho follows
OSQP's rule ``rho <- rho sqrt((r_prim / scale_prim) / (r_dual / scale_dual))`` when that changes it
by more than ``adaptive_rho_tolerance``, and the Jacobi preconditioner is rebuilt on the device.
``solve_consensus`` verifies the answer on the assembled extensive form, in float64 on the host.

Across processes (``jax.distributed``), :func:`solve_consensus_distributed` uses the same engine
with each process building, scaling and placing only the blocks of its own devices; the
extensive form's KKT measures are then summed from per-block terms (:func:`extensive_kkt`) and
every stop decision is common to all processes. A round whose z or consensus residual is not
finite (float64 overflow) is discarded: the engine keeps the last finite round's iterates.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from scotopt.distributed.mesh import AXIS, describe_mesh, solver_mesh
from scotopt.distributed.operator import fetch
from scotopt.distributed.sharded_flow import GlobalMeasures, global_array, local_shard_ids
from scotopt.options import ADMMOptions
from scotopt.solvers import kkt
from scotopt.solvers.admm import algorithm as alg
from scotopt.solvers.admm.scaling import scale_qp
from scotopt.status import InvalidOptionError, InvalidProblemError, Status

_CG_TOLERANCE = 1e-7  # PCG's residual relative to its warm start's (alg.pcg_solve)


class _BlockCOO:
    """One block's scaled matrix as padded COO (zero entries pad every block to the same count)."""

    def __init__(self, arrays, shape):
        self.data, self.rows, self.cols = arrays
        self.shape = shape

    def matvec(self, x):
        return jax.ops.segment_sum(self.data * x[self.cols], self.rows, num_segments=self.shape[0])

    def rmatvec(self, y):
        return jax.ops.segment_sum(self.data * y[self.rows], self.cols, num_segments=self.shape[1])


def _coo(matrices, width: int):
    """(B, width) data / rows / cols of equal-shape sparse matrices, zero-padded to ``width``."""
    coos = [m.tocoo() for m in matrices]
    data = np.zeros((len(coos), width))
    rows = np.zeros((len(coos), width), dtype=np.int32)
    cols = np.zeros((len(coos), width), dtype=np.int32)
    for s, c in enumerate(coos):
        data[s, :c.nnz], rows[s, :c.nnz], cols[s, :c.nnz] = c.data, c.row, c.col
    return data, rows, cols


def all_processes(values) -> np.ndarray:
    """``values`` (a host array, the same shape in every process) of every process, stacked in process
    order: (processes, ...), in the values' own dtype. With one process, no communication."""
    values = np.asarray(values)
    if jax.process_count() == 1:
        return values[None]
    from jax.experimental import multihost_utils

    with jax.enable_x64(True):  # float64 stays float64 (without x64 JAX would gather float32)
        return np.asarray(multihost_utils.process_allgather(values))


class ShardedConsensus:
    """The per-round engine of :func:`scotopt.solvers.admm.consensus.solve_consensus` on a mesh.

    ``block_of(s)`` returns block s (an LP or QP) and its P_s (sparse, n x n; zero for an LP); it
    is called only for the blocks of this process's devices, so with several processes
    (``jax.distributed``) no process builds, scales or holds another's blocks. Slot t of the
    ``padded`` slots (S rounded up to a multiple of the device count) lives on device t // b
    (b slots per device) and holds block min(t, S - 1): slots past S are masked copies of the last
    block. ``round()`` runs one progressive hedging round on the devices and returns (z, consensus
    residual, inner iterations of the round, failure); ``point()`` gives every block's (x_s, v_s)
    and row duals on the host (all processes' blocks), ``local_point()`` this process's blocks only.
    """

    def __init__(self, block_of, num_blocks: int, shape, p, k: int, rho: float, inner_eps: float,
                 options: ADMMOptions, devices=None, mesh=None, max_inner: int = 20_000):
        self.mesh = solver_mesh(devices, mesh)
        self.num_shards = int(np.asarray(self.mesh.devices).size)
        self.device = describe_mesh(self.mesh)
        S = int(num_blocks)
        m, n = shape
        self.S, self.m, self.n, self.k = S, m, n, k
        padded = -(-S // self.num_shards) * self.num_shards
        self.padded, self.per_device = padded, padded // self.num_shards
        self.local_devices = local_shard_ids(self.mesh)
        slots = {d: device_slots(S, self.num_shards, d) for d in self.local_devices}
        self.local_blocks = [t for d in self.local_devices
                             for t in range(d * self.per_device, (d + 1) * self.per_device) if t < S]

        penalty = np.r_[np.full(k, rho), np.zeros(n - k)]
        scaled = {}
        for s in sorted({s for d in slots for s in slots[d]}):
            block, quadratic = block_of(s)
            H = p[s] * (quadratic + sp.diags(penalty))
            lower = np.concatenate([block.con_lb, block.var_lb])
            upper = np.concatenate([block.con_ub, block.var_ub])
            scaled[s] = scale_qp(H, p[s] * block.c, block.A, lower, upper, options.ruiz_iterations)
        # every device pads its blocks' nonzeros to the same count, agreed by all processes
        width = int(all_processes(np.array([max(max(sc.A.nnz, sc.P.nnz) for sc in scaled.values()), 1])).max())

        def device_arrays(d):
            blocks = [scaled[s] for s in slots[d]]
            a_data, a_rows, a_cols = _coo([sc.A for sc in blocks], width)
            p_data, p_rows, p_cols = _coo([sc.P for sc in blocks], width)
            return {
                "a_data": a_data, "a_rows": a_rows, "a_cols": a_cols,
                "p_data": p_data, "p_rows": p_rows, "p_cols": p_cols,
                "p_diagonal": np.stack([sc.P.diagonal() for sc in blocks]),
                "q_base": np.stack([sc.q for sc in blocks]),
                "lower": np.stack([sc.lower for sc in blocks]), "upper": np.stack([sc.upper for sc in blocks]),
                "bound_diag": np.stack([sc.bound_diag for sc in blocks]),
                "D": np.stack([sc.D for sc in blocks]), "E": np.stack([sc.E for sc in blocks]),
                "gamma": np.array([sc.gamma for sc in blocks]),
                "rho_pattern": np.stack([np.where(sc.lower == sc.upper, options.rho_equality_scale, 1.0)
                                         for sc in blocks]),
                "free": np.stack([np.isinf(sc.lower) & np.isinf(sc.upper) for sc in blocks]),
                "probability": np.asarray(p, dtype=np.float64)[slots[d]],
                "real": np.arange(d * self.per_device, (d + 1) * self.per_device) < S,
            }

        local = {d: device_arrays(d) for d in self.local_devices}
        scaled.clear()
        self.data = {name: global_array(self.mesh, {d: arrays[name] for d, arrays in local.items()})
                     for name in local[self.local_devices[0]]}
        del local

        def filled(value, *tail, dtype=np.float64):
            return global_array(self.mesh, {d: np.full((self.per_device, *tail), value, dtype=dtype)
                                            for d in self.local_devices})

        self.state = {
            "admm": alg.ADMMState(x=filled(0.0, n), z=filled(0.0, m + n), y=filled(0.0, m + n), xt=filled(0.0, n),
                                  dx=filled(0.0, n), dy=filled(0.0, m + n), cg_iterations=filled(0, dtype=np.int32)),
            "rho": filled(float(options.rho)),
            "w": filled(0.0, k),
        }
        zero = np.zeros(k)
        self.z = jax.make_array_from_callback((k,), NamedSharding(self.mesh, P()), lambda index: zero[index])
        self._round = _round_program(self.mesh, m, n, k, float(rho), float(inner_eps), options, int(max_inner))

    def round(self):
        """One round on the devices: returns (z, residual, inner iterations of the slowest block,
        failure) on the host; failure is NUMERICAL_ERROR when z or the residual is not finite (the
        blocks' iterates and z then stay those of the last finite round, which the caller returns),
        else None (a block that reaches ``max_inner`` iterations goes on from there in the next round)."""
        state, z_dev, stats = self._round(self.data, self.state, self.z)
        stats = np.asarray(jax.device_get(stats))
        z = np.asarray(fetch(z_dev), dtype=np.float64)
        residual = float(np.sqrt(max(stats[0], 0.0))) if np.isfinite(stats[0]) else np.inf
        if not (np.isfinite(z).all() and np.isfinite(residual)):
            return np.asarray(fetch(self.z), dtype=np.float64), np.inf, int(stats[1]), Status.NUMERICAL_ERROR
        self.state, self.z = state, z_dev
        return z, residual, int(stats[1]), None

    def point(self):
        """(x_all, y_all): the blocks' unscaled primal vectors (S n) and row duals (S m), scotopt signs."""
        D, E, gamma = (fetch(self.data[name])[: self.S] for name in ("D", "E", "gamma"))
        x = fetch(self.state["admm"].x)[: self.S]
        y = fetch(self.state["admm"].y)[: self.S]
        y_rows = -(E[:, : self.m] * y[:, : self.m]) / gamma[:, None]
        return (D * x).reshape(-1), y_rows.reshape(-1)

    def _local_rows(self, array) -> dict:
        """{block: host row} of this process's real slots of a (padded, ...) global array."""
        devices = list(np.asarray(self.mesh.devices).reshape(-1))
        out = {}
        for piece in array.addressable_shards:
            first = devices.index(piece.device) * self.per_device
            values = np.asarray(piece.data, dtype=np.float64)
            out.update({first + i: values[i] for i in range(self.per_device) if first + i < self.S})
        return out

    def local_point(self) -> dict:
        """{s: (u_s, y_s)} for this process's blocks: block s's unscaled primal vector (x_s, v_s) and
        its row duals on the extensive form's scale (times p_s), scotopt signs; nothing is fetched
        from another process."""
        D, E, gamma, x, y = (self._local_rows(a) for a in (self.data["D"], self.data["E"], self.data["gamma"],
                                                           self.state["admm"].x, self.state["admm"].y))
        return {s: (D[s] * x[s], -(E[s][: self.m] * y[s][: self.m]) / gamma[s]) for s in sorted(D)}

    def describe(self) -> dict:
        """Result.extra fields: shards, blocks per device, bytes all-reduced per device per round (a ring
        all-reduce of k + 2 float64 values) and the bytes of block data and iterates on one device."""
        values = self.k + 2
        arrays = jax.tree_util.tree_leaves((self.data, self.state))
        return {"shards": self.num_shards, "blocks_per_device": self.padded // self.num_shards,
                "comm_bytes_per_round": float(2 * (self.num_shards - 1) / self.num_shards * values * 8),
                "block_bytes_per_device": sum(int(a.addressable_shards[0].data.nbytes) for a in arrays)}


_PROGRAMS: dict = {}


def _round_program(mesh, m: int, n: int, k: int, rho: float, inner_eps: float, options: ADMMOptions,
                   max_inner: int):
    """The jitted shard_map of one round (module docstring) for blocks of shape (m, n), one per
    (devices, shape, rho, tolerance, options): a later solve of the same kind reuses its compiled
    program (the block data are arguments, not constants)."""
    key = (tuple(d.id for d in np.asarray(mesh.devices).reshape(-1)), m, n, k, rho, inner_eps, options, max_inner)
    if key not in _PROGRAMS:
        _PROGRAMS[key] = _build_round_program(mesh, m, n, k, rho, inner_eps, options, max_inner)
    return _PROGRAMS[key]


def _build_round_program(mesh, m: int, n: int, k: int, rho: float, inner_eps: float, options: ADMMOptions,
                         max_inner: int):
    sigma, alpha = float(options.sigma), float(options.alpha)
    check_every = int(options.check_every)
    rho_min, rho_max = float(options.rho_min), float(options.rho_max)
    rho_tolerance = float(options.adaptive_rho_tolerance)
    adaptive = bool(options.adaptive_rho)
    max_cg = int(options.cg_max_iterations)
    while_loop = jax.lax.while_loop

    def row_rhos(b, rho_b):
        # OSQP's per-row rho (scotopt.solvers.admm.driver.row_rhos) for one block
        return jnp.where(b["free"], rho_min, jnp.clip(rho_b * b["rho_pattern"], rho_min,
                                                      rho_max * options.rho_equality_scale))

    def precond_inverse(b, rhos):
        squared = jax.ops.segment_sum(b["a_data"] ** 2 * rhos[:m][b["a_rows"]], b["a_cols"], num_segments=n)
        diagonal = b["p_diagonal"] + sigma + squared + b["bound_diag"] ** 2 * rhos[m:]
        return 1.0 / jnp.maximum(diagonal, 1e-30)

    def solve_block(b, state, rho_b, q):
        opA = _BlockCOO((b["a_data"], b["a_rows"], b["a_cols"]), (m, n))
        opP = _BlockCOO((b["p_data"], b["p_rows"], b["p_cols"]), (n, n))

        def admm_data(rho_now):
            rhos = row_rhos(b, rho_now)
            return alg.ADMMData(q=q, lower=b["lower"], upper=b["upper"], bound_diag=b["bound_diag"], rho=rhos,
                                precond_inverse=precond_inverse(b, rhos), D=b["D"], E_inverse=1.0 / b["E"],
                                sigma=sigma, alpha=alpha, gamma_inverse=1.0 / b["gamma"],
                                cg_tolerance=jnp.asarray(_CG_TOLERANCE))

        def converged(stats):
            r_prim, scale_prim, r_dual, scale_dual = stats
            return (r_prim <= inner_eps * (1 + scale_prim)) & (r_dual <= inner_eps * (1 + scale_dual))

        def cond(carry):
            _, _, iterations, done = carry
            return (~done) & (iterations < max_inner)

        def body(carry):
            s, rho_now, iterations, _ = carry
            data = admm_data(rho_now)
            s = jax.lax.fori_loop(0, check_every, lambda _, t: alg.step(jnp, while_loop, opA, opP, data, t, None,
                                                                        max_cg), s)
            stats = alg.residuals(jnp, opA, opP, data, s)
            done = converged(stats)
            if adaptive:
                r_prim, scale_prim, r_dual, scale_dual = stats
                tiny = 1e-30
                ratio = (r_prim / jnp.maximum(scale_prim, tiny)) / jnp.maximum(r_dual / jnp.maximum(scale_dual, tiny),
                                                                               tiny)
                factor = jnp.sqrt(jnp.where(jnp.isfinite(ratio) & (ratio > 0), ratio, 1.0))
                move = (~done) & ((factor > rho_tolerance) | (factor < 1.0 / rho_tolerance))
                rho_now = jnp.where(move, jnp.clip(rho_now * factor, rho_min, rho_max), rho_now)
            return s, rho_now, iterations + check_every, done

        data0 = admm_data(rho_b)
        done0 = converged(alg.residuals(jnp, opA, opP, data0, state))
        state, rho_b, iterations, _ = while_loop(cond, body, (state, rho_b, jnp.asarray(0), done0))
        return state, rho_b, iterations

    def local_round(data, state, z):
        p, real = data["probability"], data["real"]
        weight = jnp.where(real, p, 0.0)
        shift = p[:, None] * (state["w"] - rho * z[None, :])
        q = data["q_base"].at[:, :k].add(data["gamma"][:, None] * data["D"][:, :k] * shift)
        admm, rho_b, iterations = jax.vmap(solve_block)(data, state["admm"], state["rho"], q)
        xs = data["D"][:, :k] * admm.x[:, :k]
        z_new = jax.lax.psum(jnp.sum(weight[:, None] * xs, axis=0), AXIS)
        w = state["w"] + rho * (xs - z_new[None, :])
        spread = jnp.sum(weight * jnp.sum((xs - z_new[None, :]) ** 2, axis=1))
        longest = jax.lax.pmax(jnp.max(jnp.where(real, iterations, 0)), AXIS)
        stats = jnp.stack([jax.lax.psum(spread, AXIS), longest.astype(spread.dtype)])
        return {"admm": admm, "rho": rho_b, "w": w}, z_new, stats

    batched = P(AXIS)
    mapped = jax.shard_map(local_round, mesh=mesh, in_specs=(batched, batched, P()),
                           out_specs=(batched, P(), P()))
    return jax.jit(mapped)


# ----------------------------------------------------------------------------- multi-host


def device_slots(num_blocks: int, num_shards: int, shard: int) -> list[int]:
    """The blocks held by the slots of device ``shard``: min(t, S - 1) for its slots t."""
    per_device = -(-num_blocks // num_shards)
    return [min(t, num_blocks - 1) for t in range(shard * per_device, (shard + 1) * per_device)]


@dataclasses.dataclass
class DistributedConsensusResult(GlobalMeasures):
    """What :func:`solve_consensus_distributed` returns: global measures (the same in every process)
    and this process's blocks of the answer.

    ``blocks[s] = (v_s, y_s)``: the scenario variables of block s and its row duals on the
    extensive form's scale (times p_s), for the blocks s of this process's devices only; the
    extensive form's x is (z, v_1, ..., v_S). The KKT measures are those of
    :func:`scotopt.solvers.kkt.kkt_report` on :func:`~scotopt.solvers.admm.consensus.extensive_form`,
    assembled from per-block sums without building it (:func:`extensive_kkt`).
    """

    rounds: int
    consensus_residual: float
    z: np.ndarray
    inner_iterations: int
    solve_time: float
    blocks: dict
    shards: int
    processes: int
    device: str
    extra: dict


def _shared_bounds(own: dict, k: int):
    """The intersection of every block's bounds on the shared variables (all processes' blocks)."""
    lower = np.max([block.var_lb[:k] for block, _ in own.values()], axis=0)
    upper = np.min([block.var_ub[:k] for block, _ in own.values()], axis=0)
    stacked = all_processes(np.stack([lower, upper]))
    return stacked[:, 0].max(axis=0), stacked[:, 1].min(axis=0)


def extensive_kkt(own: dict, point: dict, p, k: int, z, shared_bounds):
    """The relative KKT measures of :func:`scotopt.solvers.kkt.kkt_report` for the extensive form's
    point x = (z, v_1..v_S), y = (y_1..y_S), from sums over each process's own blocks.

    ``own[s] = (block, P_s)`` and ``point[s] = (u_s, y_s)`` for this process's blocks s. Each
    block contributes its rows' residuals, its v_s's bound residuals and dual residuals, its terms
    of both objectives and norms, and a k-vector, the z part of P x + c - A^T y; one all-gather
    of 9 + 2k values sums them (in process order, so every process gets the same numbers), and
    the shared variables' own residual and bound terms are evaluated on the summed vector.
    Returns (rel_primal, rel_dual, rel_gap, primal objective, dual objective).
    """
    sums = np.zeros(9)  # primal^2, dual^2, ||b~||^2, ||c_v||^2, p'(c u + c0), 1/2 u'Pu, rows' and bounds' support, c0
    g_z, c_z = np.zeros(k), np.zeros(k)
    for s, (u_s, y_s) in point.items():
        block, quadratic = own[s]
        u = np.concatenate([z, u_s[k:]])
        row_res = kkt._distance_to_box(block.A @ u, block.con_lb, block.con_ub)
        col_res = kkt._distance_to_box(u[k:], block.var_lb[k:], block.var_ub[k:])
        y_proj = kkt.project_row_duals(block, y_s)
        pu = quadratic @ u
        g = p[s] * (block.c + pu) - block.A.T @ y_proj
        r = kkt._reduced_part(g[k:], block.var_lb[k:], block.var_ub[k:])
        b = np.maximum(np.abs(kkt._finite_or_zero(block.con_lb)), np.abs(kkt._finite_or_zero(block.con_ub)))
        sums += [row_res @ row_res + col_res @ col_res, (g[k:] - r) @ (g[k:] - r) + (y_s - y_proj) @ (y_s - y_proj),
                 b @ b, p[s] ** 2 * (block.c[k:] @ block.c[k:]), p[s] * (block.c @ u + block.c0),
                 0.5 * p[s] * (u @ pu), kkt._support(block.con_lb, block.con_ub, y_proj),
                 kkt._support(block.var_lb[k:], block.var_ub[k:], r), p[s] * block.c0]
        g_z += g[:k]
        c_z += p[s] * block.c[:k]
    total = all_processes(np.concatenate([sums, g_z, c_z])).sum(axis=0)
    primal_sq, dual_sq, bound_sq, cost_sq, objective, quadratic, rows, bounds, c0 = total[:9]
    g_z, c_z = total[9: 9 + k], total[9 + k:]
    lower, upper = shared_bounds
    col_res = kkt._distance_to_box(z, lower, upper)
    r = kkt._reduced_part(g_z, lower, upper)
    primal = objective + quadratic
    dual = c0 - quadratic + rows + bounds + kkt._support(lower, upper, r)
    with np.errstate(invalid="ignore", over="ignore"):
        rel_primal = float(np.sqrt(primal_sq + col_res @ col_res) / (1.0 + np.sqrt(bound_sq)))
        rel_dual = float(np.sqrt(dual_sq + (g_z - r) @ (g_z - r)) / (1.0 + np.sqrt(cost_sq + c_z @ c_z)))
        rel_gap = float(abs(primal - dual) / (1.0 + abs(primal) + abs(dual)))
    return rel_primal, rel_dual, rel_gap, float(primal), float(dual)


def _agree_on_blocks(build, what: str = "blocks"):
    """Run ``build()`` (this process's ``make_block`` calls and block checks); if it fails in any
    process, raise in every process: the failing ones their own exception, the others an
    InvalidProblemError naming them (a process that raised alone would leave the others waiting in
    a collective)."""
    error = None
    try:
        build()
    except Exception as exc:  # noqa: BLE001 -- re-raised below, after the other processes know
        error = exc
    flags = all_processes(np.array([error is not None]))
    if error is not None:
        raise error
    if flags.any():
        raise InvalidProblemError(f"process(es) {np.flatnonzero(flags).tolist()} could not build their {what}")


def solve_consensus_distributed(make_block, num_blocks: int, probabilities, num_shared: int, rho: float = 1.0,
                                eps: float = 1e-4, max_rounds: int = 10_000, time_limit: float | None = None,
                                inner_options: ADMMOptions | None = None, devices=None, mesh=None,
                                verbose: bool = False) -> DistributedConsensusResult:
    """Consensus ADMM over ``num_blocks`` scenario blocks of which each process builds only its own.

    Every process of a ``jax.distributed`` job (:func:`scotopt.distributed.multihost.initialize`)
    calls this with the same arguments; ``make_block(s)`` returns block s (an LP or QP, all of
    one shape) and is called only for the blocks of this process's devices (the slots of
    :func:`device_slots`) on ``mesh`` (default: every device of every process). The rounds are
    those of :func:`scotopt.solvers.admm.consensus.solve_consensus` with ``devices=`` (the same
    engine, :class:`ShardedConsensus`); what differs is the answer's check: the extensive form is
    never assembled, its KKT measures come from per-block sums (:func:`extensive_kkt`), and
    every decision (stop, time limit) is taken on values every process shares, so all processes
    return the same status, z and measures. ``probabilities`` (S numbers) are given in full.
    In one process this is the sharded ``solve_consensus`` without the assembled extensive form.
    """
    from scotopt.solvers.admm.consensus import _check_block, _check_probabilities, _quadratic, _run_rounds

    started = time.perf_counter()
    S = int(num_blocks)
    if S < 1:
        raise InvalidProblemError("consensus ADMM needs at least one scenario block")
    if not (np.isfinite(rho) and rho > 0):
        raise InvalidOptionError(f"rho must be a positive number, got {rho!r}")
    mesh = solver_mesh(devices, mesh)
    shards = int(np.asarray(mesh.devices).size)
    needed = sorted({s for d in local_shard_ids(mesh) for s in device_slots(S, shards, d)})
    own = {}

    def build():
        for s in needed:
            block = make_block(s)
            _check_block(s, block, own[needed[0]][0].shape if own else getattr(block, "shape", None))
            own[s] = (block, _quadratic(block))

    _agree_on_blocks(build)
    shape = next(iter(own.values()))[0].shape
    shapes = all_processes(np.array(shape))
    if np.any(shapes != shapes[0]):
        raise InvalidProblemError(f"the processes' blocks have different shapes: {sorted({tuple(x) for x in shapes})}")
    p = _check_probabilities(probabilities, S, num_shared, shape[1])
    k = num_shared
    shared_bounds = _shared_bounds(own, k)
    if np.any(shared_bounds[0] > shared_bounds[1]):
        raise InvalidProblemError("the blocks' bounds on the shared variables do not intersect")
    options = inner_options if inner_options is not None else ADMMOptions()
    many = jax.process_count() > 1

    def agree(flag):
        return bool(all_processes(np.array([flag])).any()) if many else flag

    with jax.enable_x64(True):
        engine = ShardedConsensus(lambda s: own[s], S, shape, p, k, rho, max(eps * 1e-2, 1e-10), options,
                                  mesh=mesh)
        for s in set(own) - set(engine.local_blocks):  # padding copies: the engine has them on its devices
            del own[s]

        def verified(z):
            return max(extensive_kkt(own, engine.local_point(), p, k, z, shared_bounds)[:3]) <= eps

        z, residual, rounds, inner_iterations, status = _run_rounds(
            engine, k, verified, rho, eps, max_rounds, time_limit, verbose and jax.process_index() == 0, started,
            agree)
        point = engine.local_point()
    with np.errstate(over="ignore", invalid="ignore"):
        rel_primal, rel_dual, rel_gap, primal, dual = extensive_kkt(own, point, p, k, z, shared_bounds)
    return DistributedConsensusResult(
        status=status, objective=primal, dual_objective=dual, rel_primal=rel_primal, rel_dual=rel_dual,
        rel_gap=rel_gap, rounds=rounds, consensus_residual=residual, z=z, inner_iterations=inner_iterations,
        solve_time=time.perf_counter() - started, blocks={s: (u[k:], y) for s, (u, y) in point.items()},
        shards=engine.num_shards, processes=jax.process_count(), device=engine.device, extra=engine.describe(),
    )
