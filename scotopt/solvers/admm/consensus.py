"""Consensus ADMM (progressive hedging) for scenario problems sharing first-stage variables.

A two-stage problem with scenarios s = 1..S of probability p_s, each block s an LP or QP over
``[x_s; v_s]`` (the first ``num_shared`` variables are the shared first-stage decisions x, the rest
the scenario's own v_s), is

    min  sum_s p_s f_s(x, v_s)   s.t.  (x, v_s) feasible for block s, for every s.

Progressive hedging (Rockafellar & Wets 1991; consensus ADMM, Boyd et al. 2011, section 7.1)
gives each block its own copy x_s and enforces x_s = z:

    (x_s, v_s) <- argmin f_s(x_s, v_s) + w_s'x_s + rho/2 ||x_s - z||^2   (all s, one batched solve)
    z          <- sum_s p_s x_s
    w_s        <- w_s + rho (x_s - z)

The S block problems are assembled once into one block-diagonal QP (``P_s + rho I`` on the
shared part) and solved together by scotopt's ADMM, warm-started; only the linear term changes
from one round to the next. The rounds stop when the consensus residual
``sqrt(sum_s p_s ||x_s - z||^2)`` and the change ``rho ||z - z_prev||`` fall below eps (relative
to 1 + ||z||) AND the answer passes the check every scotopt answer passes: on the extensive
form (the monolithic LP/QP, :func:`extensive_form`), (x, y) = ((z, v_1..v_S), (p_s y_s)) has
KKT measures within eps in float64. Until both hold the rounds go on (to ``max_rounds`` or the
time limit); a round whose inner solve fails ends the solve with the inner status, and a round
whose z or consensus residual is not finite (float64 overflow: data of magnitude ~1e155 and up)
with NUMERICAL_ERROR and the last finite round's point.

With ``devices=`` / ``mesh=`` the blocks are not assembled: they are split over the devices of a
JAX mesh, each device solves its own blocks (OSQP iterations vmapped over them), and the one
coupling sum, z = sum_s p_s x_s, is an all-reduce (:mod:`scotopt.distributed.consensus`); the
outer rounds, the stopping rule and the extensive-form check are this module's, unchanged.
Across processes, where no process should hold every block,
:func:`scotopt.distributed.consensus.solve_consensus_distributed` runs the same rounds from a
block factory.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import scipy.sparse as sp

from scotopt.options import ADMMOptions
from scotopt.problem import LP, QP
from scotopt.result import Result
from scotopt.solvers import kkt
from scotopt.solvers.answer import measured_result
from scotopt.status import InvalidOptionError, InvalidProblemError, Status

__all__ = ["extensive_form", "solve_consensus"]


def _check_block(s: int, block, shape) -> None:
    if not isinstance(block, LP):
        raise InvalidProblemError(f"block {s} is a {type(block).__name__}, not an LP or QP")
    if block.shape != shape:
        raise InvalidProblemError(f"block {s} has shape {block.shape}; every block must have shape {shape}")
    if block.is_matrix_free:
        raise InvalidProblemError(f"block {s} is matrix-free; consensus ADMM needs explicit blocks")


def _check_probabilities(probabilities, num_blocks: int, num_shared: int, num_vars: int):
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if p.shape != (num_blocks,) or not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise InvalidProblemError(f"probabilities must be {num_blocks} positive numbers, got {probabilities!r}")
    if abs(p.sum() - 1.0) > 1e-9:
        raise InvalidProblemError(f"probabilities must sum to 1, they sum to {p.sum()!r}")
    if not 0 < num_shared <= num_vars:
        raise InvalidProblemError(f"num_shared must be in [1, {num_vars}], got {num_shared}")
    return p


def _check_blocks(blocks, probabilities, num_shared: int):
    if not blocks:
        raise InvalidProblemError("consensus ADMM needs at least one scenario block")
    shape = blocks[0].shape
    for s, block in enumerate(blocks):
        _check_block(s, block, shape)
    return _check_probabilities(probabilities, len(blocks), num_shared, shape[1])


def _quadratic(block) -> sp.csr_matrix:
    n = block.num_vars
    return sp.csr_matrix(block.P) if isinstance(block, QP) else sp.csr_matrix((n, n))


def extensive_form(blocks, probabilities, num_shared: int):
    """The monolithic problem over (x, v_1, ..., v_S): objective sum_s p_s f_s, all block rows.

    Bounds of x are the intersection of the blocks' bounds on x. Returns an LP, or a QP if a
    block has a quadratic term.
    """
    p = _check_blocks(blocks, probabilities, num_shared)
    k = num_shared
    n_own = blocks[0].num_vars - k
    columns_shared, columns_own, c_shared, c_own = [], [], np.zeros(k), []
    has_quadratic = any(isinstance(b, QP) for b in blocks)
    P_shared = sp.csr_matrix((k, k))
    P_cross, P_own = [], []
    for s, block in enumerate(blocks):
        A = sp.csc_matrix(block.A)
        columns_shared.append(A[:, :k])
        columns_own.append(A[:, k:])
        c_shared += p[s] * block.c[:k]
        c_own.append(p[s] * block.c[k:])
        if has_quadratic:
            Q = p[s] * _quadratic(block)
            P_shared = P_shared + Q[:k, :k]
            P_cross.append(Q[:k, k:])
            P_own.append(Q[k:, k:])
    A = sp.hstack([sp.vstack(columns_shared), sp.block_diag(columns_own, format="csr")]).tocsr()
    c = np.concatenate([c_shared] + c_own)
    var_lb = np.concatenate([np.max([b.var_lb[:k] for b in blocks], axis=0)] + [b.var_lb[k:] for b in blocks])
    var_ub = np.concatenate([np.min([b.var_ub[:k] for b in blocks], axis=0)] + [b.var_ub[k:] for b in blocks])
    con_lb = np.concatenate([b.con_lb for b in blocks])
    con_ub = np.concatenate([b.con_ub for b in blocks])
    c0 = float(sum(p[s] * b.c0 for s, b in enumerate(blocks)))
    if np.any(var_lb > var_ub):
        raise InvalidProblemError("the blocks' bounds on the shared variables do not intersect")
    if not has_quadratic:
        return LP(c, A, con_lb, con_ub, var_lb, var_ub, c0=c0, name="extensive_form")
    top = sp.hstack([P_shared, sp.hstack(P_cross)]) if n_own else P_shared
    if n_own:
        lower = sp.hstack([sp.vstack([Q.T for Q in P_cross]), sp.block_diag(P_own)])
        P = sp.vstack([top, lower])
    else:
        P = top
    return QP(sp.csr_matrix(P), c, A, con_lb, con_ub, var_lb, var_ub, c0=c0, name="extensive_form")


class _HostBatch:
    """The S block problems as one block-diagonal QP solved by scotopt's ADMM (``backend``), warm-started.

    Block s is weighted by p_s (objective p_s [f_s + w_s'x_s + rho/2 ||x_s - z||^2]) so the row
    duals come out on the extensive form's scale; only the linear term changes between rounds.
    """

    device = None

    def __init__(self, blocks, p, k: int, rho: float, inner_eps: float, backend: str, inner_options):
        import scotopt

        self._solve = scotopt.solve
        S, self.k, self.p, self.rho = len(blocks), k, p, rho
        m, n = blocks[0].shape
        penalty = sp.diags(np.r_[np.full(k, rho), np.zeros(n - k)])
        self.P = sp.block_diag([p[s] * (_quadratic(b) + penalty) for s, b in enumerate(blocks)], format="csr")
        self.A = sp.block_diag([b.A for b in blocks], format="csr")
        self.base_c = np.concatenate([p[s] * b.c for s, b in enumerate(blocks)])
        self.shared = np.arange(S)[:, None] * n + np.arange(k)[None, :]  # positions of x_s in the stacked vector
        self.bounds = [np.concatenate([getattr(b, name) for b in blocks])
                       for name in ("con_lb", "con_ub", "var_lb", "var_ub")]
        self.inner_eps, self.backend, self.inner_options = inner_eps, backend, inner_options
        self.w, self.z = np.zeros((S, k)), np.zeros(k)
        self.x_all = self.y_all = None

    def round(self):
        """One round: returns (z, residual, inner iterations, failure): the inner status if not OPTIMAL,
        NUMERICAL_ERROR if z or the consensus residual overflows (z then stays the last finite one),
        else None."""
        c = self.base_c.copy()
        c[self.shared] += self.p[:, None] * (self.w - self.rho * self.z)
        batch = QP(self.P, c, self.A, *self.bounds, name="consensus_batch")
        warm = (self.x_all, self.y_all) if self.x_all is not None else None
        inner = self._solve(batch, method="admm", backend=self.backend, eps=self.inner_eps, warm_start=warm,
                            options=self.inner_options)
        self.x_all, self.y_all = inner.x, inner.y  # the inner solve's last finite iterate whatever its status
        if inner.status != Status.OPTIMAL:
            return self.z, np.inf, inner.iterations, inner.status
        xs = self.x_all[self.shared]
        with np.errstate(over="ignore", invalid="ignore"):
            z = self.p @ xs
            residual = float(np.sqrt(self.p @ np.sum((xs - z) ** 2, axis=1)))
        if not (np.isfinite(z).all() and np.isfinite(residual)):  # as on the devices: keep the last finite z
            return self.z, np.inf, inner.iterations, Status.NUMERICAL_ERROR
        self.z = z
        self.w = self.w + self.rho * (xs - self.z)
        return self.z, residual, inner.iterations, None

    def point(self):
        return self.x_all, self.y_all

    def describe(self) -> dict:
        return {}


def solve_consensus(blocks, probabilities, num_shared: int, rho: float = 1.0, eps: float = 1e-4,
                    max_rounds: int = 10_000, time_limit: float | None = None, inner_options: ADMMOptions | None = None,
                    backend: str = "numpy", verbose: bool = False, devices=None, mesh=None) -> Result:
    """Progressive hedging over scenario ``blocks`` (LP or QP, equal shapes); see the module docstring.

    Returns a :class:`Result` in the coordinates of :func:`extensive_form` (x = (z, v_1..v_S),
    y = the blocks' row duals times their probabilities), its status decided by the KKT check
    of the extensive form. ``extra`` holds ``rounds``, ``consensus_residual``, ``z`` and
    ``inner_iterations``.

    ``devices`` (a count or a list of JAX devices) or ``mesh`` (a ``jax.sharding.Mesh``, flattened)
    split the scenario blocks over those devices with ``backend='jax'``: each device solves its
    S / P blocks (S padded to a multiple of P) and z is averaged by an all-reduce
    (:mod:`scotopt.distributed.consensus`); ``extra`` then also holds ``shards``,
    ``blocks_per_device``, ``comm_bytes_per_round`` and ``block_bytes_per_device``. The rounds,
    stopping rule and extensive-form check are the same as on the host.
    """
    started = time.perf_counter()
    p = _check_blocks(blocks, probabilities, num_shared)
    if not (np.isfinite(rho) and rho > 0):
        raise InvalidOptionError(f"rho must be a positive number, got {rho!r}")
    S, k = len(blocks), num_shared
    m, n = blocks[0].shape
    monolithic = extensive_form(blocks, p, k)
    inner_eps = max(eps * 1e-2, 1e-10)
    sharded = devices is not None or mesh is not None
    if sharded:
        if backend != "jax":
            raise InvalidOptionError(f"devices= / mesh= run on JAX's runtime: use backend='jax', not {backend!r}")
        engine, precision = _sharded_engine(blocks, p, k, rho, inner_eps, inner_options, devices, mesh)
    else:
        engine, precision = _HostBatch(blocks, p, k, rho, inner_eps, backend, inner_options), _no_precision()

    def extensive_point(z, x_all, y_all):
        return np.concatenate([z, x_all.reshape(S, n)[:, k:].reshape(-1)]), y_all

    def verified(z):
        return kkt.kkt_report(monolithic, *extensive_point(z, *engine.point())).is_optimal(eps)

    with precision:
        z, residual, rounds, inner_iterations, status = _run_rounds(
            engine, k, verified, rho, eps, max_rounds, time_limit, verbose, started)
        x_all, y_all = engine.point()

    if x_all is None:
        x_all, y_all = np.zeros(S * n), np.zeros(S * m)
    x, y = extensive_point(z, x_all, y_all)  # y is on the extensive form's scale (blocks weighted by p_s)
    return measured_result(
        monolithic, x, y, status, iterations=inner_iterations, solve_time=time.perf_counter() - started,
        backend=backend,
        device=engine.device or ("cpu" if backend == "numpy" else backend), dtype="float64", method="consensus-admm",
        eps=eps,
        extra={"rounds": rounds, "consensus_residual": residual, "z": z, "inner_iterations": inner_iterations,
               **engine.describe()},
    )


def _run_rounds(engine, k: int, verified, rho: float, eps: float, max_rounds: int, time_limit, verbose: bool,
                started: float, agree=bool):
    """The outer rounds (module docstring) until ``verified(z)`` accepts a point that passes the
    consensus test, a limit, or a failed round: (z, residual, rounds, inner iterations, status).
    ``agree(flag)`` makes a time-limit decision common to every process (the identity on one)."""
    z = np.zeros(k)
    inner_iterations, rounds, residual = 0, 0, np.inf
    status = Status.ITERATION_LIMIT
    try:
        while rounds < max_rounds:
            rounds += 1
            z_prev = z
            z, residual, iterations, failed = engine.round()
            inner_iterations += iterations
            if failed is not None:
                status = failed
                break
            change = rho * float(np.linalg.norm(z - z_prev))
            scale = 1.0 + float(np.linalg.norm(z))
            if verbose:
                print(f"{rounds:>6d} consensus {residual:.2e} change {change:.2e} inner {iterations} "
                      f"{time.perf_counter() - started:.2f}s", flush=True)
            if residual <= eps * scale and change <= eps * scale and verified(z):
                status = Status.OPTIMAL
                break
            if time_limit is not None and agree(time.perf_counter() - started >= time_limit):
                status = Status.TIME_LIMIT
                break
    except KeyboardInterrupt:
        status = Status.INTERRUPTED
    return z, residual, rounds, inner_iterations, status


def _no_precision():
    return contextlib.nullcontext()


def _sharded_engine(blocks, p, k, rho, inner_eps, inner_options, devices, mesh):
    """The sharded per-round engine (built in float64) and the float64 context its rounds run in."""
    import jax

    from scotopt.distributed.consensus import ShardedConsensus

    options = inner_options if inner_options is not None else ADMMOptions()
    with jax.enable_x64(True):
        engine = ShardedConsensus(lambda s: (blocks[s], _quadratic(blocks[s])), len(blocks), blocks[0].shape, p, k,
                                  rho, inner_eps, options, devices=devices, mesh=mesh)
    return engine, jax.enable_x64(True)
