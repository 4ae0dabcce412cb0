"""The fused (numba) iteration for an arc-flow multicommodity network: K commodities, coupling rows.

The operator (``incidence.py``) is A~ = D1 [I_K (x) N; 1_K^T (x) I_E] D2: K copies of the V x E
node-arc incidence matrix N (rows k V + v, columns k E + a) and E coupling rows (row K V + a sums
arc a's K flows), so the iteration of ``network_fused.py`` gains, per arc a, the coupling dual
term in the gather and the coupling sum in the scatter:

1. rows:   s_{k,v} = y_{kV+v} d1_{kV+v},  t_{k,v} = 0;   sc_a = y_{KV+a} d1_{KV+a},  tc_a = 0
2. k, a:   e = k E + a
           g_e   = ((s_{k,tail(a)} - s_{k,head(a)}) + sc_a) d2_e                = (A~^T y)_e
           x^_e  = min(max(x_e - tau (c_e - g_e), lv_e), uv_e)
           t_{k,tail(a)} += x^_e d2_e;  t_{k,head(a)} -= x^_e d2_e;  tc_a += x^_e d2_e
           x+_e  = a x^_e + b x_e + anchor x0_e
3. rows:   (A x^)_r = t_r d1_r (t_{k,v} for r = kV + v, tc_a for r = KV + a), then the dual step
           and the Halpern updates of y and A x, as in ``network_fused._dual_row``.

The order of operations is that of ``DeviceNetwork.matvec`` / ``rmatvec`` for several
commodities (d2 applied after the coupling term is added, d1 after the sums), so the one
difference from the NumPy iteration is the summation order of the scatters (NumPy sums each
node's tail arcs, then its head arcs, and the coupling rows pairwise over k): float rounding
only. The commodities run in P contiguous ranges on numba's threads (P as in
``network_fused.parallel_chunks``, at most K), each range with coupling pairs of its own
(P x E x 2), summed in range order by the coupling rows of loop 3; the node tables (K x V x 2
pairs (s, t)) are per commodity already. On the CommaLAB instances (V <= 1000 nodes) the tables
are small next to the K E arc streams, so the loop streams its arc vectors with them in cache.

:class:`FusedMulticommodityStep` offers what :class:`~scotopt.kernels.network_fused.FusedNetworkStep`
offers (step, T for an evaluation, A~ x, A~^T y, the KKT column sums); anything it does not cover
returns None and the NumPy operations run.

Safe screening (``network_screen``) covers these columns too: column e = (k, a) is frozen when
x_e = x0_e = lv_e = 0 and c_e - (s^c_{k,tail} - s^c_{k,head} + sc^c_a + Delta_{k,tail} +
Delta_{k,head} + Delta_a) d2_e exceeds the round-off slack, with a radius per row, the coupling
rows included (:func:`_scan_coupled`). A screened iteration runs loop 2 over the active columns
(short vectors of their three rows, :func:`_active_range`, in commodity ranges on the threads)
and loops 1 and 3 over every row as above. Every row still moves, so a screened iteration costs
the row work plus the active columns' (rows are a quarter of the columns on CommaLAB's grids).
"""

from __future__ import annotations

import numpy as np

from scotopt.kernels import network_fused as single
from scotopt.kernels import network_screen as screening
from scotopt.kernels.network_fused import numba

if numba is not None:
    from scotopt.kernels.network_fused import _at, _dual_row, _jit, _kkt_terms, _pjit, _primal

    @_jit
    def _prepare(y, d1, st, coupling, first, stop):
        """Loop 1 for commodities [first, stop): st[k, v] = (y d1 at row kV + v, 0), and this
        chunk's coupling pairs coupling[a] = (y d1 at row KV + a, 0)."""
        K, V = st.shape[0], st.shape[1]
        for k in range(first, stop):
            for m in range(V):
                v = np.uintp(m)
                r = np.uintp(k * V + m)
                st[k, v, 0] = y[r] * d1[r]
                st[k, v, 1] = 0
        for m in range(coupling.shape[0]):
            a = np.uintp(m)
            r = np.uintp(K * V + m)
            coupling[a, 0] = y[r] * d1[r]
            coupling[a, 1] = 0

    @_jit
    def _arc_range(tail, head, st, coupling, first, stop, x, x0, c, lv, uv, d2, tau, a, b, anchor, halpern, x_out):
        """Loop 2 (module docstring) for commodities [first, stop), their coupling sums into this
        chunk's pairs ``coupling``; ``c``, ``lv``, ``uv``, ``d2``: vectors of K E or scalars.
        Without ``halpern`` x_out = x^."""
        E = tail.shape[0]
        for k in range(first, stop):
            table = st[k]
            for m in range(E):
                arc = np.uintp(m)
                e = np.uintp(k * E + m)
                i, j = np.uintp(tail[arc]), np.uintp(head[arc])
                g = table[i, 0] - table[j, 0]
                g = g + coupling[arc, 0]
                g = g * _at(d2, e)
                xh = _primal(e, g, x, x0, c, lv, uv, tau, a, b, anchor, halpern, x_out)
                w = xh * _at(d2, e)
                table[i, 1] += w
                table[j, 1] -= w
                coupling[arc, 1] += w

    @_jit
    def _arc_pass(tail, head, st, sc, y, d1, x, x0, c, lv, uv, d2, tau, a, b, anchor, halpern, x_out):
        """Loops 1 and 2 on this thread (``sc`` of shape (1, E, 2))."""
        _prepare(y, d1, st, sc[0], 0, st.shape[0])
        _arc_range(tail, head, st, sc[0], 0, st.shape[0], x, x0, c, lv, uv, d2, tau, a, b, anchor, halpern, x_out)

    @_pjit
    def _arc_pass_parallel(tail, head, st, sc, y, d1, x, x0, c, lv, uv, d2, tau, a, b, anchor, halpern, x_out):
        """Loops 1 and 2 as P = sc.shape[0] contiguous commodity ranges on P threads, each with
        its own coupling pairs sc[p] (the node tables are per commodity already)."""
        chunks, K = sc.shape[0], st.shape[0]
        for p in numba.prange(chunks):
            first, stop = K * p // chunks, K * (p + 1) // chunks
            _prepare(y, d1, st, sc[p], first, stop)
            _arc_range(tail, head, st, sc[p], first, stop, x, x0, c, lv, uv, d2, tau, a, b, anchor, halpern, x_out)

    @_jit
    def _row_range(st, sc, first, stop, arc_first, arc_stop, d1, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b,
                   anchor, halpern, y_out, ax_out):
        """Loop 3 (module docstring) over the node rows of commodities [first, stop) and the
        coupling rows of arcs [arc_first, arc_stop) (their sums over the chunks, in order)."""
        K, V = st.shape[0], st.shape[1]
        for k in range(first, stop):
            for m in range(V):
                r = np.uintp(k * V + m)
                _dual_row(r, st[k, np.uintp(m), 1] * d1[r], y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor,
                          halpern, y_out, ax_out)
        for m in range(arc_first, arc_stop):
            arc = np.uintp(m)
            t = sc[0, arc, 1]
            for p in range(1, sc.shape[0]):
                t = t + sc[p, arc, 1]
            r = np.uintp(K * V + m)
            _dual_row(r, t * d1[r], y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, halpern, y_out, ax_out)

    @_jit
    def _row_pass(st, sc, d1, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, halpern, y_out, ax_out):
        """Loop 3 on this thread."""
        _row_range(st, sc, 0, st.shape[0], 0, sc.shape[1], d1, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b,
                   anchor, halpern, y_out, ax_out)

    @_pjit
    def _row_pass_parallel(st, sc, d1, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, halpern, y_out,
                           ax_out):
        """Loop 3 on P threads: each its commodities' node rows and a range of coupling rows."""
        chunks, K, E = sc.shape[0], st.shape[0], sc.shape[1]
        for p in numba.prange(chunks):
            _row_range(st, sc, K * p // chunks, K * (p + 1) // chunks, E * p // chunks, E * (p + 1) // chunks, d1,
                       y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, halpern, y_out, ax_out)

    @_jit
    def _scatter(x, d2, tail, head, d1, K, V, out):
        """A~ x: out = (N (d2 x) per commodity, then the coupling sums) * d1."""
        E = tail.shape[0]
        for r in range(out.shape[0]):
            out[r] = 0
        for k in range(K):
            for m in range(E):
                arc = np.uintp(m)
                e = np.uintp(k * E + m)
                w = x[e] * _at(d2, e)
                out[np.uintp(k * V + tail[arc])] += w
                out[np.uintp(k * V + head[arc])] -= w
                out[np.uintp(K * V + m)] += w
        for m in range(out.shape[0]):
            r = np.uintp(m)
            out[r] = out[r] * d1[r]

    @_jit
    def _reduced_term(values, tail, head, d2, K, V, k, m):
        """(A~^T y)_e at e = k E + m from ``values`` = y d1."""
        arc = np.uintp(m)
        e = np.uintp(k * tail.shape[0] + m)
        g = values[np.uintp(k * V + tail[arc])] - values[np.uintp(k * V + head[arc])]
        g = g + values[np.uintp(K * V + m)]
        return g * _at(d2, e)

    @_jit
    def _gather(values, tail, head, d2, K, V, out):
        """A~^T y: ((values[kV + tail] - values[kV + head]) + values[KV + a]) * d2."""
        E = tail.shape[0]
        for k in range(K):
            for m in range(E):
                out[np.uintp(k * E + m)] = _reduced_term(values, tail, head, d2, K, V, k, m)

    @_jit
    def _column_kkt(values, tail, head, d2, K, V, c, x, lv, uv):
        """``network_fused._column_kkt`` for K commodities with coupling rows."""
        E = tail.shape[0]
        pobj = 0.0
        support = 0.0
        dual = 0.0
        for k in range(K):
            for m in range(E):
                e = np.uintp(k * E + m)
                p, s, d = _kkt_terms(e, _reduced_term(values, tail, head, d2, K, V, k, m), c, x, lv, uv, d2)
                pobj += p
                support += s
                dual += d
        return pobj, support, dual


if numba is not None:

    @_jit
    def _scan_coupled(first, stop, tail, head, K, V, centre, radii, x, x0, c, lv, d2, unit, offset, active, fill,
                      cap):
        """``network_screen._scan`` for columns e = k E + a in [first, stop), each at rows
        kV + tail(a) (+1), kV + head(a) (-1) and the coupling row KV + a (+1): frozen when x_e =
        x0_e = lv_e = 0 and c_e - (s^c_t - s^c_h + s^c_r + Delta_t + Delta_h + Delta_r) d2_e > slack_e
        (the module docstring of ``network_screen``, with the coupling row's term added: g_e's
        three roundings stay within the same 8 u slack)."""
        E = tail.shape[0]
        j = offset
        k = first // E
        m = first - k * E
        for q in range(first, stop):
            e = np.uintp(q)
            frozen = False
            if x[e] == 0 and x0[e] == 0 and _at(lv, e) == 0:
                arc = np.uintp(m)
                t, h = np.uintp(k * V + tail[arc]), np.uintp(k * V + head[arc])
                r = np.uintp(K * V + m)
                st, sh, sr = np.float64(centre[t]), np.float64(centre[h]), np.float64(centre[r])
                room = np.float64(radii[t]) + np.float64(radii[h]) + np.float64(radii[r])
                scale = np.float64(_at(d2, e))
                ce = np.float64(_at(c, e))
                slack = 8.0 * unit * (abs(ce) + (abs(st) + abs(sh) + abs(sr) + room) * scale)
                frozen = ce - (st - sh + sr + room) * scale > slack  # False for a NaN
            if not frozen:
                if fill:
                    active[j] = q
                j += 1
                if j - offset > cap:
                    break
            m += 1
            if m == E:
                m = 0
                k += 1
        return j - offset

    @_jit
    def _screen_coupled(tail, head, K, V, centre, radii, x, x0, c, lv, d2, unit, offsets, active, fill, cap):
        """:func:`_scan_coupled` over P = offsets.shape[0] contiguous column chunks on this thread."""
        n, chunks = x.shape[0], offsets.shape[0]
        for p in range(chunks):
            count = _scan_coupled(n * p // chunks, n * (p + 1) // chunks, tail, head, K, V, centre, radii, x, x0, c,
                                  lv, d2, unit, offsets[p], active, fill, cap)
            if not fill:
                offsets[p] = count

    @_pjit
    def _screen_coupled_parallel(tail, head, K, V, centre, radii, x, x0, c, lv, d2, unit, offsets, active, fill,
                                 cap):
        """:func:`_screen_coupled` with the chunks on numba's threads."""
        n, chunks = x.shape[0], offsets.shape[0]
        for p in numba.prange(chunks):
            count = _scan_coupled(n * p // chunks, n * (p + 1) // chunks, tail, head, K, V, centre, radii, x, x0, c,
                                  lv, d2, unit, offsets[p], active, fill, cap)
            if not fill:
                offsets[p] = count

    @_jit
    def _coupled_indices(active, tail, head, K, V, rt, rh, rc):
        """The rows of each active column e = k E + a: rt = kV + tail(a), rh = kV + head(a), rc = a
        (its coupling row is KV + a; the kernels index the coupling pairs by a)."""
        E = tail.shape[0]
        for q in range(active.shape[0]):
            j = np.uintp(q)
            e = active[j]
            k = e // E
            m = np.uintp(e - k * E)
            rt[j] = k * V + tail[m]
            rh[j] = k * V + head[m]
            rc[j] = m

    @_jit
    def _active_range(lo, hi, rt, rh, rc, table, coupling, x, x0, c, lv, uv, d2, tau, a, b, anchor, x_out):
        """Loop 2 over the active columns [lo, hi) of a screen (short vectors; ``table``: the node
        tables as one (K V) x 2 array), in the order of the full loop, so each row's sum adds the
        same nonzero terms in the same order."""
        for q in range(lo, hi):
            j = np.uintp(q)
            i, h, r = np.uintp(rt[j]), np.uintp(rh[j]), np.uintp(rc[j])
            g = table[i, 0] - table[h, 0]
            g = g + coupling[r, 0]
            g = g * _at(d2, j)
            xh = _primal(j, g, x, x0, c, lv, uv, tau, a, b, anchor, True, x_out)
            w = xh * _at(d2, j)
            table[i, 1] += w
            table[h, 1] -= w
            coupling[r, 1] += w

    @_jit
    def _active_pass(bounds, rt, rh, rc, st, sc, y, d1, x, x0, c, lv, uv, d2, tau, a, b, anchor, x_out):
        """Loops 1 and 2 of a screened iteration on this thread."""
        K, V = st.shape[0], st.shape[1]
        _prepare(y, d1, st, sc[0], 0, K)
        _active_range(bounds[0], bounds[1], rt, rh, rc, st.reshape((K * V, 2)), sc[0], x, x0, c, lv, uv, d2, tau,
                      a, b, anchor, x_out)

    @_pjit
    def _active_pass_parallel(bounds, rt, rh, rc, st, sc, y, d1, x, x0, c, lv, uv, d2, tau, a, b, anchor, x_out):
        """Loops 1 and 2 of a screened iteration as P = sc.shape[0] commodity ranges on P threads,
        as :func:`_arc_pass_parallel`; ``bounds[p]``: the first active column of range p."""
        chunks, K, V = sc.shape[0], st.shape[0], st.shape[1]
        table = st.reshape((K * V, 2))
        for p in numba.prange(chunks):
            _prepare(y, d1, st, sc[p], K * p // chunks, K * (p + 1) // chunks)
            _active_range(bounds[p], bounds[p + 1], rt, rh, rc, table, sc[p], x, x0, c, lv, uv, d2, tau, a, b,
                          anchor, x_out)


class FusedMulticommodityStep(single.FusedNetworkStep):
    """The fused iteration for a NumPy ``DeviceNetwork`` with K >= 1 commodities and coupling
    rows (V nodes, E arcs: K E columns, K V + E rows). Keeps the node tables and coupling pairs
    between steps and, like the single-commodity step, up to two output column vectors."""

    fold_scalar_d2 = False  # several commodities: rmatvec applies d2 after the coupling term
    measures_residual = False  # the loops below do not form the residual's sums
    pairs_columns = False  # the solver keeps c and the bounds as separate vectors

    def __init__(self, num_nodes: int, num_arcs: int, num_commodities: int, dtype):
        super().__init__(num_nodes, num_arcs * num_commodities, dtype,
                         num_rows=num_commodities * num_nodes + num_arcs)
        self.K, self.arcs = num_commodities, num_arcs

    def _iterate(self, chunks, halpern, tail, head, columns, rows, scalars, outputs, sums=None):
        """The loops on ``chunks`` commodity ranges (at most one per commodity); the operands as
        in ``FusedNetworkStep._iterate``."""
        xv, x0v, c, lv, uv, d2v = columns
        yv, axv, y0v, ax0v, d1v, lb, ub = rows
        tau, sigma, neg_sigma, a, b, anchor = scalars
        x_out, y_out, ax_out = outputs
        chunks = min(chunks, self.K)
        st, sc = self._tables(halpern, chunks, self._make_tables)
        arcs, row_loop = (_arc_pass_parallel, _row_pass_parallel) if chunks > 1 else (_arc_pass, _row_pass)
        arcs(tail, head, st, sc, yv, d1v, xv, x0v, c, lv, uv, d2v, tau, a, b, anchor, halpern, x_out)
        row_loop(st, sc, d1v, yv, y0v, axv, ax0v, lb, ub, sigma, neg_sigma, a, b, anchor, halpern, y_out, ax_out)

    def _make_tables(self, chunks):
        """The node tables (K x V pairs (s, t)) and ``chunks`` sets of coupling pairs (E each)."""
        return (np.empty((self.K, self.V, 2), dtype=self.dtype),
                np.empty((chunks, self.arcs, 2), dtype=self.dtype))

    def _new_screening(self):
        return CouplingScreening(self)

    def _iterate_active(self, screen, rows, scalars, outputs):
        """One iteration over a screen's active columns (``network_screen``; the rows all
        updated); the commodity ranges on the threads as in :meth:`_iterate`. False where the
        kernels failed."""
        xv, x0v, c, lv, uv, d2v = screen.columns
        yv, axv, y0v, ax0v, d1v, lb, ub = rows
        tau, sigma, neg_sigma, a, b, anchor = scalars
        x_out, y_out, ax_out = outputs
        rt, rh, rc = screen.indices

        def run(chunks):
            chunks = min(chunks, self.K)
            st, sc = self._tables(True, chunks, self._make_tables)
            bounds = screen.range_starts.get(chunks)
            if bounds is None:  # once per screen: range p's first active column is the first >= (K p / P) E
                starts = np.array([self.K * p // chunks * self.arcs for p in range(chunks + 1)], dtype=np.int64)
                bounds = screen.range_starts[chunks] = np.searchsorted(screen.active, starts).astype(np.int64)
            arcs, row_loop = ((_active_pass_parallel, _row_pass_parallel) if chunks > 1
                              else (_active_pass, _row_pass))
            arcs(bounds, rt, rh, rc, st, sc, yv, d1v, xv, x0v, c, lv, uv, d2v, tau, a, b, anchor, x_out)
            row_loop(st, sc, d1v, yv, y0v, axv, ax0v, lb, ub, sigma, neg_sigma, a, b, anchor, True, y_out, ax_out)

        return self._launch(run, arcs=max(screen.active.shape[0], self.rows))

    def matvec(self, params, x):
        operands = self._product_operands(params, x, self.E)
        if operands is None:
            return None
        tail, head, d1, xv, d2v = operands
        out = np.empty(self.rows, dtype=self.dtype)
        return out if self._serial(lambda: _scatter(xv, d2v, tail, head, d1, self.K, self.V, out)) else None

    def rmatvec(self, params, y):
        prepared = self._node_values(params, y, self.rows)
        if prepared is None:
            return None
        tail, head, values, d2v = prepared
        out = np.empty(self.E, dtype=self.dtype)
        return out if self._serial(lambda: _gather(values, tail, head, d2v, self.K, self.V, out)) else None

    def dual_ray_columns(self, params, data, y_ray, inv):
        """Not covered for this layout: the ray tests form A~^T y block by block."""
        return None

    def column_kkt(self, params, data, x, y):
        operands = self._kkt_operands(params, data, x, y)
        if operands is None:
            return None
        tail, head, values, d2v, xv, c, lv, uv = operands
        sums = []

        def run():
            sums[:] = _column_kkt(values, tail, head, d2v, self.K, self.V, c, xv, lv, uv)

        return tuple(self.dtype.type(v) for v in sums) if self._serial(run) else None


class CouplingScreening(screening.ArcScreening):
    """Safe screening of the columns (k, a) of a multicommodity network with coupling rows
    (``step``: a :class:`FusedMulticommodityStep`): ``network_screen``'s chunks, test and proof
    with a third row per column (the coupling row KV + a, whose dual enters g_e with a plus sign
    and has a radius of its own)."""

    def _max_active(self):
        return screening.COUPLED_MAX_ACTIVE_FRACTION

    def _per_node_max_active(self):
        return screening.COUPLED_PER_NODE_MAX_ACTIVE

    def _scan(self, tail, head, centre, radii, columns, unit, offsets, active, fill, cap):
        x, x0, c, lv, uv, d2 = columns
        scan = _screen_coupled_parallel if offsets.shape[0] > 1 else _screen_coupled
        scan(tail, head, self.step.K, self.step.V, centre, radii, x, x0, c, lv, d2, unit, offsets, active, fill, cap)

    def _index_types(self, tail, head):
        index = np.int32 if self.step.rows < 2**31 else np.int64
        return [np.dtype(index)] * 3

    def _short_indices(self, tail, head, active, out):
        _coupled_indices(active, tail, head, self.step.K, self.step.V, *out)

    def _run_screened(self, screen, rows, scalars, outputs):
        return self.step._iterate_active(screen, rows, scalars, outputs)
