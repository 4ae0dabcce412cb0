"""Matrix-free constraint operator of the multi-echelon inventory scenario LP.

Layout
------
S scenarios, T periods, N nodes, P products, L lanes. A lane ``l`` delivers to node
``target_l`` after ``lead_l`` periods and consumes ``C[i, l]`` units at node ``i`` per unit
shipped (``C`` is N x L, nonnegative: one unit at the source for a transport lane, the bill of
materials for an assembly step, nothing for an external supplier). Variables, in this order::

    q[t, l, p]          first stage, shared by all scenarios          T*L*P
    I[s, t, n, p]       on-hand inventory                             S*T*N*P
    B[s, t, n, p]       backorders (or lost sales)                    S*T*N*P
    E[s, t, n, p]       expedited units (only with ``expediting``)    S*T*N*P

Rows, in this order (``beta = 1`` with backorders, 0 with lost sales)::

    balance  (s,t,n,p):  I[t] - I[t-1] - B[t] + beta B[t-1] - E[t] - Arr[t] + Dep[t]   (S*T*N*P)
    storage  (s,t,n):    sum_p vol_p I[s,t,n,p]                                       (S*T*N, optional)
    lane     (t,l):      sum_p lvol_p q[t,l,p]                                        (T*L, optional)

with ``Arr[t, n, p] = sum_{l: target_l = n, t >= lead_l} q[t - lead_l, l, p]`` (time shift by
the lead time, segment sum over lanes) and ``Dep[t, n, p] = sum_l C[n, l] q[t, l, p]``.

Every scenario block has the same matrix: scenarios differ only in their right-hand sides. So
``A = [1_S (x) Q, I_S (x) W; Q2, 0]`` with ``Q`` (balance and storage rows x q columns), ``W``
(the same rows x one scenario's I, B, E columns) and ``Q2`` (lane rows x q columns). Two facts
follow and are used here:

- Diagonal preconditioning is symmetric under a permutation of the scenarios, so Ruiz and
  Pock-Chambolle factors are the same in every scenario. They are computed on the explicit
  single-scenario matrix ``[Q W; Q2 0]`` (small), with the q columns' Pock-Chambolle sums
  counting the S copies of ``Q``; the factors of the scenario blocks are stored once, (T, N, P),
  and broadcast over S.
- ``||A||_2 = ||[sqrt(S) Q, W; Q2, 0]||_2``: on vectors whose scenario parts are equal,
  ``w_s = w / sqrt(S)``, A acts as that reduced matrix; on those whose scenario parts sum to 0
  (q = 0) it acts as ``I_S (x) W``, whose norm ``||W||`` the reduced matrix's norm bounds. So the
  step size comes from Lanczos on a matrix the size of one scenario (an upper estimate, residual 1e-8).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from scotopt.kernels.params_operator import ParamsOperator


@dataclasses.dataclass(frozen=True)
class InventoryStructure:
    """Sizes and lane data of the operator (host NumPy)."""

    scenarios: int
    periods: int
    nodes: int
    products: int
    lane_target: np.ndarray  # (L,) int
    lane_lead: np.ndarray  # (L,) int
    lane_inputs: sp.csr_matrix  # (N, L) units consumed at node i per unit on lane l
    volume: np.ndarray  # (P,) storage volume per unit
    lane_volume: np.ndarray  # (P,) lane-capacity volume per unit
    backorders: bool = True  # False: lost sales (no carry-over of B)
    expediting: bool = False
    storage_rows: bool = False
    lane_rows: bool = False

    @property
    def lanes(self) -> int:
        return int(self.lane_target.shape[0])

    @property
    def block(self) -> int:
        """Entries of one second-stage tensor (S*T*N*P)."""
        return self.scenarios * self.periods * self.nodes * self.products

    @property
    def num_first_stage(self) -> int:
        return self.periods * self.lanes * self.products

    @property
    def second_stage_blocks(self) -> int:
        return 3 if self.expediting else 2

    @property
    def num_vars(self) -> int:
        return self.num_first_stage + self.second_stage_blocks * self.block

    @property
    def num_rows(self) -> int:
        S, T, N = self.scenarios, self.periods, self.nodes
        return self.block + (S * T * N if self.storage_rows else 0) + (T * self.lanes if self.lane_rows else 0)

    def with_scenarios(self, scenarios: int) -> InventoryStructure:
        return dataclasses.replace(self, scenarios=int(scenarios))


@dataclasses.dataclass(frozen=True)
class InventoryScaling:
    """Diagonal factors, stored once per scenario-invariant position."""

    balance: np.ndarray  # d1 of balance rows, (T, N, P)
    storage: np.ndarray  # d1 of storage rows, (T, N) (empty without storage rows)
    lane: np.ndarray  # d1 of lane rows, (T, L) (empty without lane rows)
    q: np.ndarray  # d2 of q, (T, L, P)
    second: np.ndarray  # d2 of I, B[, E], (blocks, T, N, P)

    @staticmethod
    def identity(st: InventoryStructure) -> InventoryScaling:
        T, N, P, L = st.periods, st.nodes, st.products, st.lanes
        return InventoryScaling(
            balance=np.ones((T, N, P)), storage=np.ones((T, N) if st.storage_rows else (0, 0)),
            lane=np.ones((T, L) if st.lane_rows else (0, 0)), q=np.ones((T, L, P)),
            second=np.ones((st.second_stage_blocks, T, N, P)),
        )

    def row_vector(self, st: InventoryStructure) -> np.ndarray:
        """d1 as a full-length vector (the driver's unscaling needs it)."""
        S = st.scenarios
        parts = [np.broadcast_to(self.balance, (S, *self.balance.shape)).reshape(-1)]
        if st.storage_rows:
            parts.append(np.broadcast_to(self.storage, (S, *self.storage.shape)).reshape(-1))
        if st.lane_rows:
            parts.append(self.lane.reshape(-1))
        return np.concatenate(parts)

    def col_segments(self, st: InventoryStructure):
        """d2 as a :class:`~scotopt.segments.SegmentVector` laid out as the model's LP vectors
        (q, then each second-stage block broadcast over the scenarios): what the scaling of the
        cost and bounds and the NumPy iteration use, one (T, N, P) tensor per block."""
        from scotopt.segments import SegmentVector

        S = st.scenarios
        return SegmentVector([self.q] + [(blk[None], (S, *blk.shape)) for blk in self.second])

    def col_vector(self, st: InventoryStructure) -> np.ndarray:
        S = st.scenarios
        parts = [self.q.reshape(-1)]
        parts += [np.broadcast_to(blk, (S, *blk.shape)).reshape(-1) for blk in self.second]
        return np.concatenate(parts)


# ----------------------------------------------------------------------------- explicit form
def single_scenario_matrix(st: InventoryStructure) -> tuple[sp.csr_matrix, int, int]:
    """The unscaled ``[Q W; Q2 0]`` of one scenario as CSR, with the number of scenario rows and
    of first-stage columns (tests, scaling and the norm; size T*N*P, independent of S)."""
    T, N, P, L = st.periods, st.nodes, st.products, st.lanes
    nq = T * L * P
    nb = T * N * P

    def sec(block, t, n, p):  # column of a second-stage variable
        return nq + block * nb + (t * N + n) * P + p

    rows, cols, vals = [], [], []

    def add(r, c, v):
        rows.append(np.asarray(r).reshape(-1))
        cols.append(np.asarray(c).reshape(-1))
        vals.append(np.broadcast_to(np.asarray(v, dtype=np.float64), np.shape(r)).reshape(-1))

    t, n, p = np.meshgrid(np.arange(T), np.arange(N), np.arange(P), indexing="ij")
    bal = (t * N + n) * P + p
    add(bal, sec(0, t, n, p), 1.0)
    add(bal, sec(1, t, n, p), -1.0)
    if st.expediting:
        add(bal, sec(2, t, n, p), -1.0)
    later = t >= 1
    add(bal[later], sec(0, t[later] - 1, n[later], p[later]), -1.0)
    if st.backorders:
        add(bal[later], sec(1, t[later] - 1, n[later], p[later]), 1.0)
    # q[t, l, p]: +C[i, l] in balance row (t, i, p), -1 in (t + lead, target, p)
    C = sp.coo_matrix(st.lane_inputs)
    tt, pp = np.arange(T)[:, None, None], np.arange(P)[None, None, :]
    add((tt * N + C.row[None, :, None]) * P + pp, (tt * L + C.col[None, :, None]) * P + pp,
        np.broadcast_to(C.data[None, :, None], (T, C.nnz, P)))
    arrive = tt + st.lane_lead[None, :, None]  # (T, L, 1)
    lanes = np.arange(L)[None, :, None]
    ok = np.broadcast_to(arrive < T, (T, L, P))
    rows_arr = np.broadcast_to((arrive * N + st.lane_target[None, :, None]) * P + pp, (T, L, P))
    cols_arr = np.broadcast_to((tt * L + lanes) * P + pp, (T, L, P))
    add(rows_arr[ok], cols_arr[ok], -1.0)
    num_scenario_rows = nb
    if st.storage_rows:
        add(nb + t * N + n, sec(0, t, n, p), st.volume[p])
        num_scenario_rows += T * N
    if st.lane_rows:
        tl, ll, pl = np.meshgrid(np.arange(T), np.arange(L), np.arange(P), indexing="ij")
        add(num_scenario_rows + tl * L + ll, (tl * L + ll) * P + pl, st.lane_volume[pl])
    m = num_scenario_rows + (T * L if st.lane_rows else 0)
    M = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(m, nq + st.second_stage_blocks * nb),
    ).tocsr()
    M.sum_duplicates()
    M.eliminate_zeros()
    return M, num_scenario_rows, nq


def full_matrix(st: InventoryStructure, scaling: InventoryScaling | None = None) -> sp.csr_matrix:
    """The explicit (scaled) S-scenario matrix, assembled from the single-scenario one (tests)."""
    M, ms, nq = single_scenario_matrix(st)
    S = st.scenarios
    Q, W, Q2 = M[:ms, :nq], M[:ms, nq:], M[ms:, :nq]
    nb = W.shape[1] // st.second_stage_blocks
    # second-stage columns are block-major (I for all scenarios, then B, ...)
    blocks = [sp.kron(sp.identity(S), W[:, b * nb:(b + 1) * nb]) for b in range(st.second_stage_blocks)]
    top = sp.hstack([sp.kron(np.ones((S, 1)), Q)] + blocks)
    bottom = sp.hstack([Q2, sp.csr_matrix((Q2.shape[0], top.shape[1] - nq))])
    A = sp.vstack([top, bottom]).tocsr()
    A = _reorder_rows(A, st)
    if scaling is not None:
        A = sp.diags(scaling.row_vector(st)) @ A @ sp.diags(scaling.col_vector(st))
    return sp.csr_matrix(A)


def _reorder_rows(A, st: InventoryStructure):
    """kron puts all of scenario s's rows (balance then storage) together; the operator orders
    all balance rows first, then all storage rows, then lane rows."""
    if not st.storage_rows:
        return A
    S, T, N, P = st.scenarios, st.periods, st.nodes, st.products
    per = T * N * P + T * N
    s = np.arange(S)[:, None]
    balance = (s * per + np.arange(T * N * P)[None, :]).reshape(-1)
    storage = (s * per + T * N * P + np.arange(T * N)[None, :]).reshape(-1)
    lanes = np.arange(S * per, A.shape[0])
    return A[np.concatenate([balance, storage, lanes])]


# ----------------------------------------------------------------------------- host operator
class InventoryOperator(spla.LinearOperator):
    """``D1 A D2`` of the inventory LP (host, float64), a ``scipy.sparse.linalg.LinearOperator``
    that :class:`scotopt.LP` takes; the PDHG driver reads its scaling and norm from the structure
    (:meth:`diagonal_scaling`, :meth:`operator_norm`) and runs it on a backend through
    :meth:`device_operator`."""

    def __init__(self, structure: InventoryStructure, scaling: InventoryScaling | None = None):
        self.structure = structure
        self.scaling = scaling or InventoryScaling.identity(structure)
        super().__init__(dtype=np.float64, shape=(structure.num_rows, structure.num_vars))
        self._host = None

    def _host_kernel(self):
        if self._host is None:
            from scotopt.kernels.numpy_backend import NumpyBackend

            self._host = DeviceInventory.build(self, NumpyBackend(), np.float64)
        return self._host

    def _matvec(self, x):
        return self._host_kernel().matvec(np.asarray(x, dtype=np.float64).reshape(-1))

    def _rmatvec(self, y):
        return self._host_kernel().rmatvec(np.asarray(y, dtype=np.float64).reshape(-1))

    def lane_flow(self, q) -> np.ndarray:
        """(T, N, P) ``Dep - Arr`` of shipments ``q`` (T, L, P), host float64 (the q part of every
        balance row; :meth:`DeviceInventory.lane_flow`)."""
        st = self.structure
        q = np.asarray(q, dtype=np.float64).reshape(st.periods, st.lanes, st.products)
        return self._host_kernel().lane_flow(q)

    def scaled(self, scaling: InventoryScaling) -> InventoryOperator:
        return InventoryOperator(self.structure, scaling)

    def to_csr(self) -> sp.csr_matrix:
        """The explicit scaled matrix (tests and small instances only)."""
        return full_matrix(self.structure, self.scaling)

    # ------------------------------------------------------------------ preconditioning
    def diagonal_scaling(self, ruiz_iterations: int, pock_chambolle_alpha: float | None,
                         geometric_mean_iterations: int = 0):
        """(A~, d1, d2) as :func:`scotopt.solvers.pdhg.scaling.diagonal_scaling` would compute them
        on the full matrix, computed on one scenario (see the module docstring). Geometric-mean
        passes are not applied (the entries are 1 and the volumes)."""
        from scotopt.solvers.pdhg.scaling import abs_max, safe_inverse_sqrt

        st = self.structure
        M, ms, nq = single_scenario_matrix(st)
        M = abs(M)
        S = st.scenarios
        r = np.ones(M.shape[0])
        c = np.ones(M.shape[1])
        for _ in range(ruiz_iterations):
            scaled = sp.diags(r) @ M @ sp.diags(c)
            row_max = abs_max(scaled, 1)
            col_max = abs_max(scaled, 0)
            r *= safe_inverse_sqrt(row_max)
            c *= safe_inverse_sqrt(col_max)
        if pock_chambolle_alpha is not None:
            alpha = pock_chambolle_alpha
            scaled = sp.csr_matrix(sp.diags(r) @ M @ sp.diags(c))
            row_sum = _power_sum(scaled, alpha, axis=1)
            col_power = scaled.copy()
            col_power.data = col_power.data ** (2.0 - alpha)
            col_sum = np.asarray(col_power.sum(axis=0)).ravel()
            # the q columns meet S copies of the scenario rows
            col_sum[:nq] += (S - 1) * np.asarray(col_power[:ms, :nq].sum(axis=0)).ravel()
            r *= safe_inverse_sqrt(row_sum)
            c *= safe_inverse_sqrt(col_sum)
        scaling = _split_factors(st, r, c, ms, nq)
        op = self.scaled(scaling)
        return op, scaling.row_vector(st), scaling.col_segments(st)

    def reduced_matrix(self) -> sp.csr_matrix:
        """``[sqrt(S) Q~, W~; Q2~, 0]``: the same 2-norm as the full scaled operator."""
        st = self.structure
        M, ms, nq = single_scenario_matrix(st)
        one = dataclasses.replace(st, scenarios=1)
        M = sp.csr_matrix(sp.diags(self.scaling.row_vector(one)) @ M @ sp.diags(self.scaling.col_vector(one)))
        top = [M[:ms, :nq] * np.sqrt(st.scenarios), M[:ms, nq:]]
        if M.shape[0] == ms:
            return sp.hstack(top).tocsr()
        return sp.bmat([top, [M[ms:, :nq], None]], format="csr")

    def operator_norm(self) -> float:
        """||A~||_2 from above, within 1e-6 (Lanczos on :meth:`reduced_matrix`, which has the
        same singular values as the whole operator)."""
        from scotopt.solvers.pdhg.norm import estimate_norm

        return estimate_norm(self.reduced_matrix())

    def device_operator(self, backend, dtype):
        return DeviceInventory.build(self, backend, dtype)


def _power_sum(M, power, axis):
    P = abs(M).tocsr()
    P.data = P.data ** power
    return np.asarray(P.sum(axis=axis)).ravel()


def _split_factors(st: InventoryStructure, r, c, ms, nq) -> InventoryScaling:
    T, N, P, L = st.periods, st.nodes, st.products, st.lanes
    nb = T * N * P
    storage = r[nb:ms].reshape(T, N) if st.storage_rows else np.ones((0, 0))
    lane = r[ms:].reshape(T, L) if st.lane_rows else np.ones((0, 0))
    return InventoryScaling(
        balance=r[:nb].reshape(T, N, P), storage=storage, lane=lane,
        q=c[:nq].reshape(T, L, P), second=c[nq:].reshape(st.second_stage_blocks, T, N, P),
    )


# ----------------------------------------------------------------------------- device operator
class DeviceInventory(ParamsOperator):
    """A~ on a backend, written once against ``xp`` (dense tensor arithmetic over the scenario,
    period, node and product axes; lane-to-node sums through a small sparse product on NumPy and
    CuPy and ``segment_sum`` on JAX).

    ``params`` (a pytree of device arrays) holds the scaling factors and the lane index arrays;
    the sizes are static, so a jitted solve of another instance of the same shape reuses the
    compiled program.
    """

    @classmethod
    def build(cls, host: InventoryOperator, backend, dtype):
        st = host.structure
        op = cls.__new__(cls)
        op.kind = backend.name
        op.xp = backend.xp
        op.dtype = np.dtype(dtype)
        op.st = st
        op.shape = host.shape
        sc = host.scaling
        C = sp.coo_matrix(st.lane_inputs)
        T = st.periods
        src_t = np.arange(T)[:, None] - st.lane_lead[None, :]
        arrive_mask = (src_t >= 0).astype(np.float64)
        op._sparse = None
        if op.kind in ("numpy", "cupy"):
            C_csr = sp.csr_matrix(st.lane_inputs, dtype=dtype)
            M_csr = sp.csr_matrix(
                (np.ones(st.lanes, dtype=dtype), (st.lane_target, np.arange(st.lanes))), shape=(st.nodes, st.lanes)
            )
            mats = (C_csr, sp.csr_matrix(C_csr.T), M_csr, sp.csr_matrix(M_csr.T))
            if op.kind == "cupy":  # pragma: no cover - needs a GPU
                import cupyx.scipy.sparse as csp

                mats = tuple(csp.csr_matrix(m) for m in mats)
            op._sparse = mats
        asarr = backend.asarray
        xp = backend.xp
        op.params = (
            asarr(sc.balance, dtype), asarr(sc.storage, dtype), asarr(sc.lane, dtype),
            asarr(sc.q, dtype), asarr(sc.second, dtype),
            asarr(st.volume, dtype), asarr(st.lane_volume, dtype),
            xp.asarray(np.clip(src_t, 0, None).astype(np.int32)), asarr(arrive_mask, dtype),
            xp.asarray(C.row.astype(np.int32)), xp.asarray(C.col.astype(np.int32)), asarr(C.data, dtype),
            xp.asarray(st.lane_target.astype(np.int32)),
        )
        op.cache_key = ("inventory", st.scenarios, st.periods, st.nodes, st.products, st.lanes, C.nnz,
                        st.backorders, st.expediting, st.storage_rows, st.lane_rows)
        return op

    # ------------------------------------------------------------------ lane <-> node sums
    def _lanes_to_nodes(self, values, which):
        """(T, L, P) -> (T, N, P): sum over lanes of C[n, l] v (which=0) or [target_l = n] v (1)."""
        st, xp = self.st, self.xp
        T, L, P, N = st.periods, st.lanes, st.products, st.nodes
        if self._sparse is not None:
            M = self._sparse[2 * which]
            flat = xp.moveaxis(values, 1, 0).reshape(L, T * P)
            return xp.moveaxis((M @ flat).reshape(N, T, P), 0, 1)
        import jax

        c_row, c_col, c_val, target = self.params[9], self.params[10], self.params[11], self.params[12]
        by_lane = xp.moveaxis(values, 1, 0)  # (L, T, P)
        if which == 0:
            out = jax.ops.segment_sum(by_lane[c_col] * c_val[:, None, None], c_row, num_segments=N)
        else:
            out = jax.ops.segment_sum(by_lane, target, num_segments=N)
        return xp.moveaxis(out, 0, 1)

    def _nodes_to_lanes(self, values, which):
        """(T, N, P) -> (T, L, P): the adjoint of :meth:`_lanes_to_nodes`."""
        st, xp = self.st, self.xp
        T, L, P, N = st.periods, st.lanes, st.products, st.nodes
        if self._sparse is not None:
            Mt = self._sparse[2 * which + 1]
            flat = xp.moveaxis(values, 1, 0).reshape(N, T * P)
            return xp.moveaxis((Mt @ flat).reshape(L, T, P), 0, 1)
        import jax

        c_row, c_col, c_val, target = self.params[9], self.params[10], self.params[11], self.params[12]
        by_node = xp.moveaxis(values, 1, 0)  # (N, T, P)
        if which == 0:
            out = jax.ops.segment_sum(by_node[c_row] * c_val[:, None, None], c_col, num_segments=L)
        else:
            out = by_node[target]
        return xp.moveaxis(out, 0, 1)

    def lane_flow(self, q):
        """(T, N, P) ``Dep - Arr`` of shipments ``q`` (T, L, P): units each lane consumes at its
        inputs in period t, minus the units arriving at its target, shipped ``lead`` periods earlier."""
        src_t, mask = self.params[7], self.params[8]
        shifted = q[src_t, self.xp.arange(self.st.lanes)[None, :], :] * mask[:, :, None]  # q[t - lead_l, l]
        return self._lanes_to_nodes(q, 0) - self._lanes_to_nodes(shifted, 1)

    def _lane_flow_adjoint(self, z):
        """(T, L, P) adjoint of :meth:`lane_flow` applied to node values ``z`` (T, N, P)."""
        src_t, mask = self.params[7], self.params[8]
        at_target = self._nodes_to_lanes(z, 1) * mask[:, :, None]  # z[t + lead_l, target_l] at q[t, l]
        return self._nodes_to_lanes(z, 0) - _unshift(self.xp, at_target, src_t, self.st.lanes)

    # ------------------------------------------------------------------ products
    def matvec(self, x):
        if self.kind == "numpy":
            return self._matvec_numpy(x)
        st, xp = self.st, self.xp
        S, T, N, P, L = st.scenarios, st.periods, st.nodes, st.products, st.lanes
        d_bal, d_sto, d_lane, d_q, d_sec, vol, lvol, src_t, mask = self.params[:9]
        nq, nb = T * L * P, st.block
        q = x[:nq].reshape(T, L, P) * d_q
        inv = x[nq:nq + nb].reshape(S, T, N, P) * d_sec[0]
        back = x[nq + nb:nq + 2 * nb].reshape(S, T, N, P) * d_sec[1]
        flow = self.lane_flow(q)  # Dep - Arr, (T, N, P)
        bal = inv - back + flow
        if st.expediting:
            bal = bal - x[nq + 2 * nb:].reshape(S, T, N, P) * d_sec[2]
        carried = -inv + back if st.backorders else -inv
        bal = _add_shifted_forward(xp, bal, carried)
        parts = [(bal * d_bal).reshape(-1)]
        if st.storage_rows:
            parts.append((xp.sum(inv * vol, axis=-1) * d_sto).reshape(-1))
        if st.lane_rows:
            parts.append((xp.sum(q * lvol, axis=-1) * d_lane).reshape(-1))
        return xp.concatenate(parts) if len(parts) > 1 else parts[0]

    def rmatvec(self, y):
        if self.kind == "numpy":
            return self._rmatvec_numpy(y)
        st, xp = self.st, self.xp
        S, T, N, P, L = st.scenarios, st.periods, st.nodes, st.products, st.lanes
        d_bal, d_sto, d_lane, d_q, d_sec, vol, lvol, src_t, mask = self.params[:9]
        nb = st.block
        z = y[:nb].reshape(S, T, N, P) * d_bal
        z_next = _shift_backward(xp, z)  # z[s, t + 1], 0 at the last period
        g_inv = z - z_next
        offset = nb
        if st.storage_rows:
            w = y[offset:offset + S * T * N].reshape(S, T, N) * d_sto
            g_inv = g_inv + w[..., None] * vol
            offset += S * T * N
        g_back = (z_next - z) if st.backorders else -z
        blocks = [g_inv * d_sec[0], g_back * d_sec[1]]
        if st.expediting:
            blocks.append(-z * d_sec[2])
        g_q = self._lane_flow_adjoint(xp.sum(z, axis=0))
        if st.lane_rows:
            u = y[offset:].reshape(T, L) * d_lane
            g_q = g_q + u[..., None] * lvol
        parts = [(g_q * d_q).reshape(-1)] + [b.reshape(-1) for b in blocks]
        return xp.concatenate(parts)


    # ------------------------------------------------------------------ NumPy: in place, small temporaries
    # The generic versions above allocate a fresh S*T*N*P array per operation; on NumPy that
    # costs page faults and cache misses (a 10^6-variable matvec took 10 ms against 1.5 ms for
    # its arithmetic). These write into the output, and reduce the short product axis with einsum
    # (numpy's sum over a trailing axis of 10 was 5x slower). Scenarios are independent in the
    # balance and storage rows (the time shift stays within a scenario), so the product works a
    # few scenarios at a time, their scaled blocks in two chunk-sized arrays made per product:
    # no block-sized work array is kept (at 10^8 variables those were 2 x 130 MB in float32,
    # and the float64 host check made its own).
    chunk_values = 1 << 18

    def _scenario_step(self) -> int:
        st = self.st
        return max(1, min(st.scenarios, self.chunk_values // max(1, st.periods * st.nodes * st.products)))

    def _matvec_numpy(self, x):
        st = self.st
        S, T, N, P, L = st.scenarios, st.periods, st.nodes, st.products, st.lanes
        d_bal, d_sto, d_lane, d_q, d_sec, vol, lvol, src_t, mask = self.params[:9]
        nq, nb = T * L * P, st.block
        shape = (S, T, N, P)
        out = np.empty(self.shape[0], dtype=self.dtype)
        q = x[:nq].reshape(T, L, P) * d_q
        flow = self.lane_flow(q)
        x_inv = x[nq:nq + nb].reshape(shape)
        x_back = x[nq + nb:nq + 2 * nb].reshape(shape)
        x_exp = x[nq + 2 * nb:].reshape(shape) if st.expediting else None
        bal_all = out[:nb].reshape(shape)
        sto_all = out[nb:nb + S * T * N].reshape(S, T, N) if st.storage_rows else None
        step = self._scenario_step()
        inv_buf = np.empty((step, T, N, P), dtype=self.dtype)
        back_buf = np.empty((step, T, N, P), dtype=self.dtype)
        for s0 in range(0, S, step):
            s1 = min(s0 + step, S)
            inv = np.multiply(x_inv[s0:s1], d_sec[0], out=inv_buf[:s1 - s0])
            back = np.multiply(x_back[s0:s1], d_sec[1], out=back_buf[:s1 - s0])
            bal = np.subtract(inv, back, out=bal_all[s0:s1])
            bal += flow
            bal[:, 1:] -= inv[:, :-1]
            if st.backorders:
                bal[:, 1:] += back[:, :-1]
            if x_exp is not None:
                np.multiply(x_exp[s0:s1], d_sec[2], out=back)
                bal -= back
            bal *= d_bal
            if sto_all is not None:
                sto = sto_all[s0:s1]
                np.einsum("stnp,p->stn", inv, vol, out=sto)
                sto *= d_sto
        offset = nb + (S * T * N if st.storage_rows else 0)
        if st.lane_rows:
            out[offset:] = (np.einsum("tlp,p->tl", q, lvol) * d_lane).reshape(-1)
        return out

    def _rmatvec_numpy(self, y):
        st = self.st
        S, T, N, P, L = st.scenarios, st.periods, st.nodes, st.products, st.lanes
        d_bal, d_sto, d_lane, d_q, d_sec, vol, lvol, src_t, mask = self.params[:9]
        nq, nb = T * L * P, st.block
        shape = (S, T, N, P)
        out = np.empty(self.shape[1], dtype=self.dtype)
        g_inv = out[nq:nq + nb].reshape(shape)
        g_back = out[nq + nb:nq + 2 * nb].reshape(shape)
        # z = D_bal y lives in g_back's part of the output until g_back is written: no work array
        z = np.multiply(y[:nb].reshape(shape), d_bal, out=g_back)
        np.subtract(z[:, :-1], z[:, 1:], out=g_inv[:, :-1])  # z_t - z_{t+1}
        g_inv[:, -1] = z[:, -1]
        if st.expediting:
            g_exp = out[nq + 2 * nb:].reshape(shape)
            np.multiply(z, d_sec[2], out=g_exp)
            np.negative(g_exp, out=g_exp)
        z_total = z.sum(axis=0)  # over scenarios, for the lanes
        if st.backorders:
            np.negative(g_inv, out=g_back)  # z is not needed any more
        else:
            np.negative(z, out=g_back)
        g_back *= d_sec[1]
        offset = nb
        if st.storage_rows:
            w = y[offset:offset + S * T * N].reshape(S, T, N) * d_sto
            # volume-weighted storage duals, a few scenarios at a time: the (S, T, N, P) product
            # is never formed whole
            step = self._scenario_step()
            for s0 in range(0, S, step):
                g_inv[s0:s0 + step] += w[s0:s0 + step, ..., None] * vol
            offset += S * T * N
        g_inv *= d_sec[0]
        g_q = self._lane_flow_adjoint(z_total)
        if st.lane_rows:
            g_q += (y[offset:].reshape(T, L) * d_lane)[..., None] * lvol
        out[:nq] = (g_q * d_q).reshape(-1)
        return out


def _add_shifted_forward(xp, out, v):
    """out[:, t] += v[:, t - 1] for t >= 1 (the previous period's term); JAX or CuPy arrays (the
    NumPy path writes in place in ``_matvec_numpy``)."""
    return out.at[:, 1:].add(v[:, :-1]) if hasattr(out, "at") else _cupy_add(out, v)


def _cupy_add(out, v):  # pragma: no cover - needs a GPU
    out[:, 1:] += v[:, :-1]
    return out


def _shift_backward(xp, z):
    """z[:, t + 1] with 0 after the last period."""
    return xp.concatenate([z[:, 1:], xp.zeros_like(z[:, :1])], axis=1)


def _unshift(xp, values, src_t, L):
    """Adjoint of ``v -> v[src_t, l]`` on (T, L, P): scatter values[t, l] to [src_t[t, l], l]."""
    lanes = np.arange(L)
    if isinstance(values, np.ndarray):
        out = np.zeros_like(values)
        np.add.at(out, (np.asarray(src_t), lanes[None, :]), values)
        return out
    if hasattr(values, "at"):
        return xp.zeros_like(values).at[src_t, xp.arange(L)[None, :]].add(values)
    from scotopt.kernels.cupy_backend import scatter_add  # pragma: no cover - needs a GPU

    out = xp.zeros_like(values)
    scatter_add(out, (src_t, xp.arange(L)[None, :]), values)
    return out
