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
The answer is verified by the caller on the extensive form, in float64 on the host.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from scotopt.distributed.mesh import AXIS, describe_mesh, solver_mesh
from scotopt.distributed.operator import fetch, put
from scotopt.options import ADMMOptions
from scotopt.solvers.admm import algorithm as alg
from scotopt.solvers.admm.scaling import scale_qp
from scotopt.status import Status

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


def _coo(matrices):
    """(S, nnz_max) data / rows / cols of equal-shape sparse matrices, zero-padded."""
    coos = [m.tocoo() for m in matrices]
    width = max(1, max(c.nnz for c in coos))
    data = np.zeros((len(coos), width))
    rows = np.zeros((len(coos), width), dtype=np.int32)
    cols = np.zeros((len(coos), width), dtype=np.int32)
    for s, c in enumerate(coos):
        data[s, :c.nnz], rows[s, :c.nnz], cols[s, :c.nnz] = c.data, c.row, c.col
    return data, rows, cols


def _pad_blocks(array, padded: int):
    """``array`` (S, ...) with rows appended (copies of the last) up to ``padded`` rows."""
    extra = padded - array.shape[0]
    return np.concatenate([array, np.repeat(array[-1:], extra, axis=0)]) if extra else array


class ShardedConsensus:
    """The per-round engine of :func:`scotopt.solvers.admm.consensus.solve_consensus` on a mesh.

    ``quadratics`` are the blocks' P_s (sparse, n x n); ``round()`` runs one progressive hedging
    round on the devices and returns (z, consensus residual, inner iterations of the round);
    ``point()`` gives the blocks' (x_s, v_s) and row duals on the host (module docstring).
    """

    def __init__(self, blocks, quadratics, p, k: int, rho: float, inner_eps: float, options: ADMMOptions,
                 devices=None, mesh=None, max_inner: int = 20_000):
        self.mesh = solver_mesh(devices, mesh)
        self.num_shards = int(np.asarray(self.mesh.devices).size)
        self.device = describe_mesh(self.mesh)
        S = len(blocks)
        m, n = blocks[0].shape
        self.S, self.m, self.n, self.k = S, m, n, k
        padded = -(-S // self.num_shards) * self.num_shards
        self.padded = padded

        penalty = np.r_[np.full(k, rho), np.zeros(n - k)]
        scaled, pattern, free = [], [], []
        for s, block in enumerate(blocks):
            H = p[s] * (quadratics[s] + sp.diags(penalty))
            lower = np.concatenate([block.con_lb, block.var_lb])
            upper = np.concatenate([block.con_ub, block.var_ub])
            sc = scale_qp(H, p[s] * block.c, block.A, lower, upper, options.ruiz_iterations)
            scaled.append(sc)
            equality = sc.lower == sc.upper
            pattern.append(np.where(equality, options.rho_equality_scale, 1.0))
            free.append(np.isinf(sc.lower) & np.isinf(sc.upper))
        a_data, a_rows, a_cols = _coo([sc.A for sc in scaled])
        p_data, p_rows, p_cols = _coo([sc.P for sc in scaled])
        host = {
            "a_data": a_data, "a_rows": a_rows, "a_cols": a_cols,
            "p_data": p_data, "p_rows": p_rows, "p_cols": p_cols,
            "p_diagonal": np.stack([sc.P.diagonal() for sc in scaled]),
            "q_base": np.stack([sc.q for sc in scaled]),
            "lower": np.stack([sc.lower for sc in scaled]), "upper": np.stack([sc.upper for sc in scaled]),
            "bound_diag": np.stack([sc.bound_diag for sc in scaled]),
            "D": np.stack([sc.D for sc in scaled]), "E": np.stack([sc.E for sc in scaled]),
            "gamma": np.array([sc.gamma for sc in scaled]),
            "rho_pattern": np.stack(pattern), "free": np.stack(free),
            "probability": np.asarray(p, dtype=np.float64),
            "real": np.ones(S, dtype=bool),
        }
        host = {name: _pad_blocks(v, padded) for name, v in host.items()}
        host["real"][S:] = False
        self.data = {name: put(self.mesh, v) for name, v in host.items()}
        zeros = np.zeros
        self.state = {
            "admm": alg.ADMMState(x=zeros((padded, n)), z=zeros((padded, m + n)), y=zeros((padded, m + n)),
                                  xt=zeros((padded, n)), dx=zeros((padded, n)), dy=zeros((padded, m + n)),
                                  cg_iterations=zeros(padded, dtype=np.int32)),
            "rho": np.full(padded, float(options.rho)),
            "w": zeros((padded, k)),
        }
        self.state = jax.tree_util.tree_map(lambda v: put(self.mesh, v), self.state)
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
