"""Matrix-free node-arc incidence operators for network-flow LPs.

Structure
---------
A network with V nodes and E arcs ``a = (tail[a], head[a])`` has the incidence matrix
``N`` (V x E) with ``N[tail[a], a] = +1`` and ``N[head[a], a] = -1`` (a self-loop has an
all-zero column), so ``(N f)_v = outflow_v - inflow_v``. With K commodities laid out
commodity-major (``x[k*E + a]``) and optional bundle (coupling) rows the LP matrix is

    A = [ I_K (x) N        ]    K*V node-balance rows (row k*V + v)
        [ 1_K^T (x) I_E    ]    E coupling rows sum_k x[k, a]   (only when ``coupling``)

and the operator applies ``A~ = D1 A D2`` for diagonal scalings ``d1`` (one per row) and
``d2`` (a scalar, or one per column). Only the two int32 index arrays and the scalings are
stored; no CSR is built:

    (A~ x)_(k,v) = d1_(k,v) [ sum_{a: tail=v} d2_(k,a) x_(k,a) - sum_{a: head=v} d2_(k,a) x_(k,a) ]
    (A~ x)_a     = d1_a sum_k d2_(k,a) x_(k,a)
    (A~^T y)_(k,a) = d2_(k,a) [ d1_(k,tail a) y_(k,tail a) - d1_(k,head a) y_(k,head a) + d1_a y_a ]

Closed-form norms (used by the preconditioner instead of reading entries)
-------------------------------------------------------------------------
Every nonzero of A is +-1, so ``|a~_rc| = d1_r d2_c`` on the nonzero pattern, whose row and
column counts come from node degrees: a node row (k, v) holds deg(v) = outdeg + indeg (loops
excluded) entries, a coupling row K, a column 2 (0 for a loop) + [coupling].
Hence, for p > 0,

    row_abs_max_(k,v)      = d1_(k,v) max_{a incident to v} d2_(k,a)
    row_abs_power_sum_(k,v) = d1_(k,v)^p sum_{a incident to v} d2_(k,a)^p
    col_abs_max_(k,a)      = d2_(k,a) max(d1_(k,tail), d1_(k,head), d1_a)
    col_abs_power_sum_(k,a) = d2_(k,a)^p (d1_(k,tail)^p + d1_(k,head)^p + d1_a^p)

(terms of loops and of absent coupling rows dropped). With d1 = d2 = 1 a Ruiz pass is the
identity (every row and column max is 1) and Pock-Chambolle with any alpha gives
``d1 = deg^-1/2`` (coupling rows ``K^-1/2``) and ``d2 = (2 + [coupling])^-1/2``, a constant
when there are no loops. The spectral norm is bounded by a weighted Schur test
``||A~||_2^2 <= max_r d1_r^2 count_r * max_c d2_c^2 count_c`` (see :meth:`norm_upper_bound`),
which is exactly 1 after that Pock-Chambolle pass; for a single commodity ``||A~||_2^2`` is then
half the largest eigenvalue of the normalised Laplacian, <= 1 with equality on bipartite graphs.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from scotopt.kernels.block_columns import BlockColumns, whole
from scotopt.kernels.params_operator import ParamsOperator


def index_dtype(num_nodes: int):
    """int32 while node ids fit, int64 beyond."""
    return np.int32 if num_nodes < 2**31 else np.int64


def _compress(values):
    """A scalar when every entry is equal (so a constant scaling costs no memory), else the array."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 0:
        return float(values)
    if values.size and np.all(values == values.flat[0]):
        return float(values.flat[0])
    return values


def _segment_max(values, index, size):
    """max of values over equal index (0 where no entry); values >= 0."""
    out = np.zeros(size)
    np.maximum.at(out, index, values)
    return out


_COLUMN_BLOCK = 1 << 16


def _top(values) -> float:
    """The largest entry of a vector (0 if empty), or the value of a scalar."""
    values = np.asarray(values)
    return float(values.max()) if values.size else 0.0


class NetworkMatrix(spla.LinearOperator):
    """``D1 [I_K (x) N; 1_K^T (x) I_E] D2`` for a network (tail, head) -- see the module docstring.

    A ``scipy.sparse.linalg.LinearOperator`` (host, float64) so that :class:`scotopt.LP` takes
    it as its constraint matrix; the backends turn it into a device operator
    (:meth:`device_operator`) and the preconditioner reads its norms in closed form
    (:meth:`diagonal_scaling`).
    """

    def __init__(
        self,
        tail,
        head,
        num_nodes: int,
        num_commodities: int = 1,
        coupling: bool = False,
        row_scale=None,
        col_scale=1.0,
        tile_nodes: int | None = None,
    ):
        idx = index_dtype(num_nodes)
        # arcs sorted by (tail // T, head // T), T = tile_nodes (``arc_order.tiled_order``): the
        # fused step then runs propagation-blocked (``network_fused``, checked there)
        self.tile_nodes = None if tile_nodes is None else int(tile_nodes)
        self.tail = np.asarray(tail, dtype=idx).reshape(-1)
        self.head = np.asarray(head, dtype=idx).reshape(-1)
        self.num_nodes = int(num_nodes)
        self.num_arcs = int(self.tail.shape[0])
        self.num_commodities = int(num_commodities)
        self.coupling = bool(coupling)
        V, E, K = self.num_nodes, self.num_arcs, self.num_commodities
        m = K * V + (E if self.coupling else 0)
        super().__init__(dtype=np.float64, shape=(m, K * E))
        self.row_scale = None if row_scale is None else _compress(row_scale)
        self.col_scale = _compress(col_scale)
        loops = self.tail == self.head
        self.has_loops = bool(loops.any())
        # kept only when there are loops: a byte per arc of the model otherwise
        self._loops = loops if self.has_loops else None
        del loops
        self._degree_memo = []  # [(tail, head, degrees)], shared with scaled() / unscaled() copies

    @property
    def loops(self) -> np.ndarray:
        """Boolean mask of the self-loop arcs (a read-only all-False view when there are none)."""
        return self._loops if self._loops is not None else np.broadcast_to(False, (self.num_arcs,))

    # ------------------------------------------------------------------ scalings
    def _d1(self):
        return (
            np.ones(self.shape[0])
            if self.row_scale is None
            else np.broadcast_to(np.asarray(self.row_scale, dtype=np.float64), (self.shape[0],))
        )

    def _d2(self):
        return np.broadcast_to(np.asarray(self.col_scale, dtype=np.float64), (self.shape[1],))

    def unscaled(self) -> NetworkMatrix:
        """The same network with d1 = d2 = 1 (same index arrays, no copy)."""
        out = NetworkMatrix.__new__(NetworkMatrix)
        out.__dict__.update(self.__dict__)
        out.row_scale, out.col_scale = None, 1.0
        return out

    def scaled(self, d1, d2) -> NetworkMatrix:
        """The operator ``diag(d1) self diag(d2)`` (same index arrays, no copy)."""
        out = NetworkMatrix.__new__(NetworkMatrix)
        out.__dict__.update(self.__dict__)
        out.row_scale = _compress(self._d1() * d1)
        out.col_scale = _compress(np.asarray(self.col_scale) * np.asarray(d2))
        return out

    # ------------------------------------------------------------------ host products (float64)
    # The host products read a float32 x as it is (every float32 is a float64, so the products
    # are the same): the float64 check of a float32 solve then holds no float64 copy of x.
    reads_float32 = True

    def _matvec(self, x):
        x = np.asarray(x)
        return self.forward((x if x.dtype == np.float32 else x.astype(np.float64, copy=False)).reshape(-1))

    def _rmatvec(self, y):
        return self.adjoint(np.asarray(y, dtype=np.float64).reshape(-1))

    def _adjoint(self):
        return _Adjoint(self)

    def _compiled(self):
        """network_fused's compiled float64 loops for one commodity without coupling rows (numba
        on), else None. They make the host products 10-30x faster than ``np.add.at`` and
        ``take``; Lanczos (``pdhg/norm.py``) runs a few hundred of them for the step size."""
        if self.num_commodities != 1 or self.coupling or self.tail.dtype not in (np.int32, np.int64):
            return None
        from scotopt.kernels import network_fused

        return network_fused if network_fused.enabled() else None

    def _compiled_d2(self):
        d2 = self.col_scale
        return np.float64(d2) if np.ndim(d2) == 0 else np.ascontiguousarray(d2, dtype=np.float64)

    def forward(self, x):
        """A~ x on the host in float64."""
        V, E, K = self.num_nodes, self.num_arcs, self.num_commodities
        compiled = self._compiled()
        if compiled is not None:
            d2 = self._compiled_d2()
            scalar = d2 if np.ndim(d2) == 0 else np.float64(1.0)
            nodes = np.empty(V)
            x = np.asarray(x)
            x = np.ascontiguousarray(x, dtype=x.dtype if x.dtype == np.float32 else np.float64)
            compiled.host_scatter_difference(x.reshape(-1), d2,
                                             self.tail, self.head, np.ascontiguousarray(self._d1()), scalar, nodes)
            return nodes
        if np.ndim(self.col_scale) == 0 and self.col_scale == 1.0:
            w = np.asarray(x, dtype=np.float64).reshape(K, E)  # no arc-length copy when unscaled
        else:
            w = np.multiply(x, self.col_scale, dtype=np.float64).reshape(K, E)
        nodes = np.empty((K, V))
        for k in range(K):  # host products serve verification only; one commodity at a time
            nodes[k] = 0.0  # scatter-adds in float64 with the int32 indices as they are (see _degrees)
            np.add.at(nodes[k], self.tail, w[k])
            np.subtract.at(nodes[k], self.head, w[k])
        out = nodes.reshape(-1)
        if self.coupling:
            out = np.concatenate([out, w.sum(axis=0)])
        if self.row_scale is not None:
            out *= self.row_scale
        return out

    def adjoint(self, y):
        """A~^T y on the host in float64 (one commodity without coupling rows: the one block of
        :meth:`adjoint_columns`)."""
        columns = self.adjoint_columns(y)
        if columns is not None:
            return whole(columns)
        V, E, K = self.num_nodes, self.num_arcs, self.num_commodities
        ys = y if self.row_scale is None else y * self.row_scale
        out = np.empty((K, E))
        nodes = ys[: K * V].reshape(K, V)
        for k in range(K):
            _gather_difference(nodes[k], self.tail, self.head, out=out[k])
        if self.coupling:
            out += ys[K * V :][None, :]
        out = out.reshape(-1)
        if not (np.ndim(self.col_scale) == 0 and self.col_scale == 1.0):
            out *= self.col_scale
        return out

    def adjoint_columns(self, y):
        """A~^T y on the host in float64 as a :class:`~scotopt.kernels.block_columns.BlockColumns`
        formed block by block where it is read (``kkt.kkt_report``; :meth:`adjoint` forms it
        whole), or None (several commodities or coupling rows)."""
        if self.num_commodities != 1 or self.coupling:
            return None
        ys = np.asarray(y, dtype=np.float64).reshape(-1)
        ys = ys if self.row_scale is None else ys * self.row_scale
        compiled = self._compiled()
        d2 = self._compiled_d2() if compiled is not None else None
        values = np.multiply(ys, d2 if d2 is not None and np.ndim(d2) == 0 else 1.0, dtype=np.float64)
        unit = np.ndim(self.col_scale) == 0 and self.col_scale == 1.0

        def block(start, stop):
            tail, head = self.tail[start:stop], self.head[start:stop]
            if compiled is not None:
                out = np.empty(stop - start)
                compiled.host_gather_difference(values, tail, head, d2 if np.ndim(d2) == 0 else d2[start:stop], out)
                return out
            out = _gather_difference(values, tail, head)
            if not unit:
                out *= self.col_scale if np.ndim(self.col_scale) == 0 else self.col_scale[start:stop]
            return out

        return BlockColumns(self.num_arcs * self.num_commodities, block, np.dtype(np.float64))

    # ------------------------------------------------------------------ closed-form norms
    def _degrees(self):
        """Arcs at each node, self-loops excluded (int64, length V; read-only: shared). ``np.add.at``
        takes the int32 index arrays as they are; ``np.bincount`` would first copy them to intp
        (8 B per arc). Counted once for this network and the copies that :meth:`scaled` and
        :meth:`unscaled` make of it (they share the memo): the setup's Ruiz passes asked four
        times, 0.9 s each at 10^8 arcs (session 31)."""
        memo = self._degree_memo
        if memo and memo[0][0] is self.tail and memo[0][1] is self.head:
            return memo[0][2]
        deg = np.zeros(self.num_nodes, dtype=np.int64)
        np.add.at(deg, self._kept(self.tail), 1)
        np.add.at(deg, self._kept(self.head), 1)
        deg.flags.writeable = False
        memo[:] = [(self.tail, self.head, deg)]
        return deg

    def _kept(self, index):
        """``index`` over the arcs that are not self-loops (no copy when there are none)."""
        return index[~self.loops] if self.has_loops else index

    def _single_commodity_columns(self, per_arc):
        """A per-column quantity of a single-commodity operator, ``per_arc(start, stop)`` built
        in blocks of 2^16 arcs: a float when every column has the same value (the common case
        after scaling, which then costs no memory per arc), else the float64 vector. Setup at 10^8
        arcs otherwise held several arc-length float64 temporaries at once."""
        E = self.num_arcs
        if E == 0:
            return np.zeros(0)
        first, out = None, None
        for start in range(0, E, _COLUMN_BLOCK):
            stop = min(start + _COLUMN_BLOCK, E)
            values = np.broadcast_to(np.asarray(per_arc(start, stop), dtype=np.float64), (stop - start,))
            if out is None:
                if first is None:
                    first = float(values[0])
                if np.all(values == first):
                    continue
                out = np.full(E, first)
            out[start:stop] = values
        return first if out is None else out

    def _single_commodity_column_max(self, per_arc) -> float:
        """max over columns of ``per_arc(start, stop)`` (0 with no arcs), block by block."""
        return max((_top(per_arc(start, min(start + _COLUMN_BLOCK, self.num_arcs)))
                    for start in range(0, self.num_arcs, _COLUMN_BLOCK)), default=0.0)

    def _d2_slice(self, start, stop):
        d2 = self.col_scale
        return d2 if np.ndim(d2) == 0 else np.asarray(d2)[start:stop]

    def _endpoint_columns(self, node_values, combine, start, stop):
        """combine(v[tail], v[head]) over arcs start:stop (0 on self-loops)."""
        tail, head = self.tail[start:stop], self.head[start:stop]
        values = combine(node_values[tail], node_values[head])
        if self.has_loops:
            values[tail == head] = 0.0
        return values

    def row_abs_max(self):
        """max_c |a~_rc| per row (0 for an empty row), in closed form."""
        V, E, K = self.num_nodes, self.num_arcs, self.num_commodities
        d1, d2 = self._d1(), self.col_scale
        keep = ~self.loops
        out = np.zeros(self.shape[0])
        if np.ndim(d2) == 0:
            deg = self._degrees()
            out[: K * V] = np.tile(np.where(deg > 0, d2, 0.0), K)
            if self.coupling:
                out[K * V :] = d2 if K > 0 else 0.0
        else:
            d2 = np.asarray(d2).reshape(K, E)
            for k in range(K):
                seg = _segment_max(d2[k][keep], self.tail[keep], V)
                out[k * V : (k + 1) * V] = np.maximum(seg, _segment_max(d2[k][keep], self.head[keep], V))
            if self.coupling:
                out[K * V :] = d2.max(axis=0) if K > 0 else 0.0
        return d1 * out

    def col_abs_max(self):
        """max_r |a~_rc| per column (0 for an empty column), in closed form."""
        V, K = self.num_nodes, self.num_commodities
        d1 = self._d1()
        if K == 1:
            def per_arc(start, stop):
                best = self._endpoint_columns(d1, np.maximum, start, stop)
                if self.coupling:
                    best = np.maximum(best, d1[V + start : V + stop])
                return best * self._d2_slice(start, stop)

            return self._single_commodity_columns(per_arc)
        nodes = d1[: K * V].reshape(K, V)
        best = np.maximum(nodes[:, self.tail], nodes[:, self.head])
        best[:, self.loops] = 0.0
        if self.coupling:
            best = np.maximum(best, d1[K * V :][None, :])
        return best.reshape(-1) * self._d2()

    def row_abs_power_sum(self, p: float):
        """sum_c |a~_rc|^p per row over the nonzeros (p = 0 counts them), in closed form."""
        V, E, K = self.num_nodes, self.num_arcs, self.num_commodities
        if np.ndim(self.col_scale) == 0:  # every column's |a|^p is d2^p: node degrees times it
            deg = self._degrees()
            d2p = float(self.col_scale) ** p if E else 0.0
            out = np.zeros(self.shape[0])
            out[: K * V] = np.tile(deg * d2p, K)
            if self.coupling:
                out[K * V :] = K * d2p
            return self._d1() ** p * out
        keep = ~self.loops
        d2p = self._d2().reshape(K, E) ** p
        out = np.zeros(self.shape[0])
        for k in range(K):
            out[k * V : (k + 1) * V] = np.bincount(self.tail[keep], d2p[k][keep], V) + np.bincount(
                self.head[keep], d2p[k][keep], V
            )
        if self.coupling:
            out[K * V :] = d2p.sum(axis=0)
        return self._d1() ** p * out

    def col_abs_power_sum(self, p: float, largest_only: bool = False):
        """sum_r |a~_rc|^p per column over the nonzeros (p = 0 counts them), in closed form; with
        ``largest_only``, only its largest value (no column vector built, single commodity)."""
        V, K = self.num_nodes, self.num_commodities
        d1p = self._d1() ** p
        if K == 1:
            def per_arc(start, stop):
                total = self._endpoint_columns(d1p, np.add, start, stop)
                if self.coupling:
                    total = total + d1p[V + start : V + stop]
                return total * self._d2_slice(start, stop) ** p

            if largest_only:
                return self._single_commodity_column_max(per_arc)
            return self._single_commodity_columns(per_arc)
        nodes = d1p[: K * V].reshape(K, V)
        total = nodes[:, self.tail] + nodes[:, self.head]
        total[:, self.loops] = 0.0
        if self.coupling:
            total = total + d1p[K * V :][None, :]
        return total.reshape(-1) * self._d2() ** p

    def norm_upper_bound(self) -> float:
        """An upper bound on ||A~||_2 from two Schur tests (the smaller is returned).

        Schur: if sum_c |b_rc| q_c <= l1 p_r and sum_r |b_rc| p_r <= l2 q_c for positive p, q,
        then ||B||_2^2 <= l1 l2. With p = q = 1 this is max row abs sum * max column abs sum;
        with p_r = 1/d1_r, q_c = 1/d2_c and |a_rc| in {0, 1} it is
        max_r d1_r^2 count_r * max_c d2_c^2 count_c, which is exactly 1 after a
        Pock-Chambolle pass (d1 = count^-1/2, d2 = count^-1/2).
        """
        plain = _top(self.row_abs_power_sum(1.0)) * _top(self.col_abs_power_sum(1.0, largest_only=True))
        if self.num_commodities == 1:
            column_term = self._single_commodity_column_max(
                lambda start, stop: self._d2_slice(start, stop) ** 2 * self._column_counts(start, stop))
        else:
            column_term = _top(self._d2() ** 2 * self.col_counts())
        weighted = _top(self._d1() ** 2 * self.row_counts()) * column_term
        return float(np.sqrt(min(plain, weighted)))

    def _column_counts(self, start, stop):
        """Nonzeros of the single-commodity columns start:stop."""
        counts = np.full(stop - start, 2.0 + self.coupling)
        if self.has_loops:
            counts[self.loops[start:stop]] -= 2.0
        return counts

    def diagonal_scaling(
        self, ruiz_iterations: int, pock_chambolle_alpha: float | None, geometric_mean_iterations: int = 0
    ):
        """(A~, d1, d2) as :func:`scotopt.solvers.pdhg.scaling.diagonal_scaling` computes them,
        from the closed-form norms (geometric-mean passes are the identity on +-1 entries)."""
        base = self.unscaled()
        d1 = np.ones(self.shape[0])
        d2 = 1.0
        op = base
        for _ in range(ruiz_iterations):
            r = _inverse_sqrt(op.row_abs_max())
            s = _compress(_inverse_sqrt(op.col_abs_max()))
            if np.all(r == 1.0) and np.ndim(s) == 0 and s == 1.0:
                break  # a fixed point: every further pass is the identity too
            d1, d2 = d1 * r, _compress(np.asarray(d2) * np.asarray(s))
            op = base.scaled(d1, d2)
        if pock_chambolle_alpha is not None:
            alpha = pock_chambolle_alpha
            r = _inverse_sqrt(op.row_abs_power_sum(alpha))
            s = _compress(_inverse_sqrt(op.col_abs_power_sum(2.0 - alpha)))
            d1, d2 = d1 * r, _compress(np.asarray(d2) * np.asarray(s))
            op = base.scaled(d1, d2)
        return op, d1, d2

    def row_counts(self):
        """Nonzeros per row: node degree (loops excluded) per commodity, K per coupling row."""
        K = self.num_commodities
        deg = self._degrees()
        out = np.tile(deg.astype(np.float64), K)
        if self.coupling:
            out = np.concatenate([out, np.full(self.num_arcs, float(K))])
        return out

    def col_counts(self):
        """Nonzeros per column: 2 (0 for a loop) plus 1 with coupling rows."""
        per_arc = np.where(self.loops, 0.0, 2.0) + (1.0 if self.coupling else 0.0)
        return np.tile(per_arc, self.num_commodities)

    # ------------------------------------------------------------------ explicit form, for tests
    def to_csr(self) -> sp.csr_matrix:
        """The explicit matrix A~ (tests and small problems only)."""
        V, E, K = self.num_nodes, self.num_arcs, self.num_commodities
        cols = np.arange(K * E)
        k_of = cols // E
        a_of = cols % E
        rows = [k_of * V + self.tail[a_of], k_of * V + self.head[a_of]]
        vals = [np.ones(K * E), -np.ones(K * E)]
        cc = [cols, cols]
        if self.coupling:
            rows.append(K * V + a_of)
            vals.append(np.ones(K * E))
            cc.append(cols)
        M = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cc))), shape=self.shape)
        M.sum_duplicates()
        M.eliminate_zeros()
        return sp.csr_matrix(sp.diags(self._d1()) @ M @ sp.diags(self._d2()))

    # ------------------------------------------------------------------ device operators
    def device_operator(self, backend, dtype):
        """This operator on ``backend`` (a scotopt.kernels backend object) in ``dtype``."""
        return DeviceNetwork.build(self, backend, dtype)


class _Adjoint(spla.LinearOperator):
    def __init__(self, net: NetworkMatrix):
        self.net = net
        super().__init__(dtype=np.float64, shape=(net.shape[1], net.shape[0]))

    def _matvec(self, y):
        return self.net._rmatvec(y)

    def _rmatvec(self, x):
        return self.net._matvec(x)


def _inverse_sqrt(values):
    from scotopt.solvers.pdhg.scaling import safe_inverse_sqrt

    return safe_inverse_sqrt(np.asarray(values, dtype=np.float64))


class DeviceNetwork(ParamsOperator):
    """A~ on a backend: ``matvec`` / ``rmatvec`` on device arrays, written against ``xp``.

    ``params = (tail, head, d1, d2)`` are the device arrays (``d2`` may be 0-d); the structure
    (V, E, K, coupling) is static. Scatter-adds: NumPy ``bincount`` (single commodity) or
    ``add.reduceat`` over arcs sorted by endpoint (several commodities); JAX ``segment_sum``;
    CuPy ``bincount`` / ``scatter_add``.
    """

    @classmethod
    def build(cls, net: NetworkMatrix, backend, dtype):
        op = cls.__new__(cls)
        op.kind = backend.name
        op.xp = backend.xp
        op.dtype = np.dtype(dtype)
        op.V, op.E, op.K, op.coupling = net.num_nodes, net.num_arcs, net.num_commodities, net.coupling
        op.shape = net.shape
        if op.kind == "numpy":
            tail, head = net.tail, net.head  # shared with the host operator, no copy
        else:
            tail, head = backend.xp.asarray(net.tail), backend.xp.asarray(net.head)
        d1 = backend.asarray(net._d1(), dtype)
        d2 = backend.asarray(np.asarray(net.col_scale, dtype=np.float64), dtype)
        op.params = (tail, head, d1, d2)
        op.cache_key = ("network", op.V, op.E, op.K, op.coupling, int(np.ndim(net.col_scale)))
        op._sorted = None
        if op.kind == "numpy" and op.K > 1:
            op._sorted = (_sorted_segments(net.tail, op.V), _sorted_segments(net.head, op.V))
        op._fused = None
        if op.kind == "numpy":
            from scotopt.kernels.network_fused import fused_step_for

            op._fused = fused_step_for(op, getattr(net, "tile_nodes", None))
        return op

    def release_scratch(self):
        """Free what the fused step keeps between iterations (``algorithm.evaluate`` calls it)."""
        if self._fused is not None:
            self._fused.release()

    def fused_step(self, data, s, tau, sigma, neg_sigma, a, b, anchor, measure=False):
        """One whole PDHG iteration (x+, y+, (A x)+) as compiled loops (``algorithm.step``'s hook;
        ``network_fused.py``; with coupling rows ``network_fused_mmcf.py``), or None: not NumPy,
        several commodities without coupling rows, numba absent or switched off
        (``SCOTOPT_NUMBA=0``), or data the kernels do not cover. With ``measure`` the three
        sums of the step's fixed-point residual follow (``FusedNetworkStep.measured``; None
        where the layout does not measure, :attr:`measures_residual`)."""
        if self._fused is None:
            return None
        run = self._fused.measured if measure else self._fused
        return run(self.params, data, s.x, s.y, s.ax, s.x0, s.y0, s.ax0, tau, sigma, neg_sigma, a, b, anchor)

    @property
    def measures_residual(self) -> bool:
        """Whether :meth:`fused_step` can measure its residual (one commodity, no coupling rows)."""
        fused = getattr(self, "_fused", None)
        return fused is not None and fused.measures_residual

    @property
    def pairs_cost_and_upper(self) -> bool:
        """Whether the solver should keep c and the upper bounds as the two columns of one (E, 2)
        array (``driver._make_data``): a single-commodity fused step whose arcs' tails and heads
        are side by side too (``network_fused.side_by_side``; ``MinCostFlow`` keeps them so in its
        blocked order, the large networks where one stream instead of two pays), or whose arcs
        are declared tiled (``NetworkMatrix.tile_nodes``: the propagation-blocked arc pass reads
        c and the upper bound at every arc, tails and heads in passes of their own)."""
        fused = getattr(self, "_fused", None)
        if fused is None or not fused.pairs_columns:
            return False
        from scotopt.kernels.network_fused import side_by_side

        return bool(fused.tile_nodes) or side_by_side(self.params[0], self.params[1])

    @property
    def screens(self) -> bool:
        """Whether :meth:`fused_steps` may run (a NumPy operator with a fused step: one commodity,
        or several with coupling rows)."""
        fused = getattr(self, "_fused", None)
        return fused is not None and fused.screens

    def fused_steps(self, data, vectors, s, tau, sigma, neg_sigma, coefficients):
        """``len(coefficients)`` PDHG iterations with safe arc screening (``algorithm.steps``'s
        hook; ``network_screen.py``): (x, y, A x) after them from ``vectors`` = [x, y, A x] and
        the anchor of ``s``, or None where :meth:`fused_step` would be None. Several commodities
        with coupling rows screen their columns (k, a) with a third row each
        (``network_fused_mmcf``)."""
        if self._fused is None:
            return None
        return self._fused.steps(self.params, data, vectors, s.x0, s.y0, s.ax0, tau, sigma, neg_sigma, coefficients)

    def fused_map(self, data, x, y, ax, tau, sigma, neg_sigma, measure=False):
        """(x^, y^, A x^) = T(x, y) by the fused step's loops (``algorithm.pdhg_map``'s hook), or
        None where :meth:`fused_step` would be None; with ``measure`` the three sums of the
        residual ||T(z) - z||_P follow (None where :attr:`measures_residual` is False)."""
        if self._fused is None:
            return None
        return self._fused.map(self.params, data, x, y, ax, tau, sigma, neg_sigma, measure)

    def fused_column_kkt(self, data, x_hat, y_hat):
        """``algorithm.column_kkt_sums`` without forming the reduced costs (``evaluate``'s hook),
        or None where :meth:`fused_step` would be None."""
        if self._fused is None:
            return None
        return self._fused.column_kkt(self.params, data, x_hat, y_hat)

    def fused_dual_ray_columns(self, data, y_ray, inv):
        """The column terms of ``algorithm.dual_ray_measures`` in one compiled pass (its hook), or
        None where :meth:`fused_step` would be None (or the fused step does not cover them)."""
        run = getattr(self._fused, "dual_ray_columns", None)
        return None if run is None else run(self.params, data, y_ray, inv)

    def rmatvec_blocks(self, y):
        """A~^T y as a :class:`~scotopt.kernels.block_columns.BlockColumns` whose blocks are formed
        where they are read (``algorithm._reduced_product``: the ray tests only reduce it;
        :meth:`rmatvec` forms it whole where the fused kernels do not), or None: not NumPy,
        several commodities or coupling rows."""
        if self.kind != "numpy" or self.K != 1 or self.coupling:
            return None
        tail, head, d1, d2 = self.params
        values = y * d1
        if d2.ndim == 0:
            values = values * d2  # the scalar d2 folded into the V values, as the fused loop does
        compiled = None
        fused = self._fused
        if fused is not None and not fused.failed and values.dtype == self.dtype and values.flags.c_contiguous:
            from scotopt.kernels import network_fused as compiled  # numba's loop: 3-4x np.take's speed

            unsorted = fused._tails_unsorted(tail)  # checked once per tail vector

        def block(start, stop):
            if compiled is not None:
                out = np.empty(stop - start, dtype=values.dtype)
                scale = d2[start:stop] if d2.ndim else values.dtype.type(1)  # a scalar: not multiplied
                compiled.host_gather_difference(values, tail[start:stop], head[start:stop], scale, out, unsorted)
                return out
            out = _gather_difference(values, tail[start:stop], head[start:stop])
            if d2.ndim:
                out *= d2[start:stop]
            return out

        return BlockColumns(self.E, block, values.dtype)

    # forward: A~ x
    def matvec(self, x):
        tail, head, d1, d2 = self.params
        V, E, K = self.V, self.E, self.K
        xp = self.xp
        if self._fused is not None:  # numba: one compiled loop (network_fused.py)
            out = self._fused.matvec(self.params, x)
            if out is not None:
                return out
        if self.kind == "numpy":
            if K == 1:
                # ufunc.at in the solve's dtype: NumPy >= 1.25 runs it as a tight loop, 1.5x faster
                # than bincount at 10^6-10^7 arcs, and bincount would first copy the weights to
                # float64 (8 bytes per arc of temporary). A scalar d2 commutes with N: it scales the
                # V node sums, not the E arc values.
                scalar = d2 if d2.ndim == 0 else 1.0
                w = x if d2.ndim == 0 else x * d2
                nodes = np.zeros(V, dtype=self.dtype)
                np.add.at(nodes, tail, w)
                np.subtract.at(nodes, head, w)
                nodes *= d1[:V] * scalar
                if self.coupling:
                    return np.concatenate([nodes, w * (d1[V:] * scalar)])
                return nodes
            w = (x * d2).reshape(K, E)
            nodes = _reduce_segments(w, self._sorted[0], V) - _reduce_segments(w, self._sorted[1], V)
        elif self.kind == "jax":
            import jax

            w = (x * d2).reshape(K, E)
            nodes = (jax.ops.segment_sum(w.T, tail, num_segments=V) - jax.ops.segment_sum(w.T, head, num_segments=V)).T
        else:  # pragma: no cover - cupy, needs a GPU
            from scotopt.kernels.cupy_backend import scatter_add

            w = (x * d2).reshape(K, E)
            nodes = xp.zeros((K, V), dtype=w.dtype)
            scatter_add(nodes, (slice(None), tail), w)
            scatter_add(nodes, (slice(None), head), -w)
        out = nodes.reshape(-1)
        if self.coupling:
            out = xp.concatenate([out, w.sum(axis=0)])
        return out * d1

    # adjoint: A~^T y
    def rmatvec(self, y):
        tail, head, d1, d2 = self.params
        V, K = self.V, self.K
        xp = self.xp
        if self._fused is not None:  # numba: one compiled loop (network_fused.py)
            out = self._fused.rmatvec(self.params, y)
            if out is not None:
                return out
        columns = self.rmatvec_blocks(y)  # NumPy, one commodity, no coupling rows: one block
        if columns is not None:
            return whole(columns)
        ys = y * d1
        nodes = ys[: K * V].reshape(K, V)
        if self.kind == "numpy" and K == 1:
            out = _gather_difference(nodes[0], tail, head)
            if self.coupling:
                out += ys[V:]
            out *= d2
            return out
        out = xp.take(nodes, tail, axis=1) - xp.take(nodes, head, axis=1)
        if self.coupling:
            out = out + ys[K * V :][None, :]
        return out.reshape(-1) * d2


_GATHER_BLOCK = 1 << 16


def _gather_difference(values, tail, head, out=None):
    """values[tail] - values[head] (NumPy) in blocks of 2^16 arcs. Whole-array ``np.take`` with
    int32 indices first converts them to intp: an 8-byte-per-arc temporary (plus the head
    gather's 4), and 1.5x slower at 10^7 arcs than these blocks, whose buffers stay in cache."""
    if out is None:
        out = np.empty(tail.shape[0], dtype=values.dtype)
    for start in range(0, tail.shape[0], _GATHER_BLOCK):
        stop = start + _GATHER_BLOCK
        block = out[start:stop]
        np.take(values, tail[start:stop], out=block)
        block -= np.take(values, head[start:stop])
    return out


def _sorted_segments(index, size):
    """(order, starts, present): arcs sorted by ``index`` and where each non-empty segment starts."""
    order = np.argsort(index, kind="stable").astype(index.dtype)
    counts = np.bincount(index, minlength=size)
    present = np.flatnonzero(counts)
    starts = np.concatenate([[0], np.cumsum(counts[present])[:-1]]).astype(np.intp)
    return order, starts, present


def _reduce_segments(w, segments, size):
    """Row-wise segment sums of the K x E array ``w`` (NumPy, several commodities)."""
    order, starts, present = segments
    out = np.zeros((w.shape[0], size), dtype=w.dtype)
    if present.size:
        out[:, present] = np.add.reduceat(w[:, order], starts, axis=1)
    return out
