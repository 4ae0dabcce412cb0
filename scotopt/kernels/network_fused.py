"""One r2HPDHG iteration on a single-commodity network as compiled loops (numba, CPU), and the
products and sums an evaluation needs.

The NumPy backend runs an iteration as ~20 whole-vector operations plus two ``ufunc.at``
scatter-adds; each operation reads and writes whole arc vectors. With numba installed (the
``cpu`` extra) and ``SCOTOPT_NUMBA`` not set to ``0``, :class:`FusedNetworkStep` computes the
same iteration (``algorithm.step``: T, then the reflected Halpern updates of x, y and A x) in
three loops, for A~ = D1 N D2 with N the V x E node-arc incidence matrix (no coupling rows,
one commodity; ``incidence.py``):

1. nodes:  s_v = y_v d1_v [d2]      (d2 folded in when it is a scalar, as ``rmatvec`` does)
           t_v = 0
2. arcs:   g_a   = (s_tail(a) - s_head(a)) [d2_a]                     = (A~^T y)_a
           x^_a  = min(max(x_a - tau (c_a - g_a), lv_a), uv_a)
           t_tail(a) += x^_a [d2_a];  t_head(a) -= x^_a [d2_a]        (scatter of N D2 x^)
           x+_a  = a x^_a + b x_a + anchor x0_a                        (Halpern; x^ is not stored)
3. nodes:  (A x^)_v = t_v (d1_v [d2])
           w_v   = y_v - sigma (2 (A x^)_v - (A x)_v)
           y^_v  = w_v - min(max(w_v, -sigma u_v), -sigma l_v)
           y+_v  = a y^_v + b y_v + anchor y0_v
           (A x)+_v = a (A x^)_v + b (A x)_v + anchor (A x0)_v

with tau = eta/omega, sigma = eta omega, a = 2 gamma w, b = (1 - 2 gamma) w, anchor = 1 - w,
w = (k+1)/(k+2) (``algorithm._step_sizes``, ``_halpern_coefficients``). Loop 3 also does the next
step's loop 1 on its rows (s_v = y+_v d1_v [d2], t_v = 0 in every table, while the rows are in
cache), and that step skips loop 1 when its y is this y+ (``FusedNetworkStep.refresh_tables``).
The first step of an epoch (z = z0 after a restart) can also sum ||x^ - x||^2 in loop 2 and
||y^ - y||^2, (y^ - y) @ (A x^ - A x) in loop 3 (:meth:`FusedNetworkStep.measured`): the
epoch's reference residual, which ``algorithm.evaluate`` would otherwise form with a T map of
the anchor (a whole iteration's work at each evaluation after a restart). Each line is the
corresponding NumPy body's operations in its order and in the solve's dtype (no fused
multiply-add: numba does not contract without ``fastmath``), so the one difference from the
NumPy iteration is the order in which the scatter-add sums a node's arcs (NumPy adds all tails,
then subtracts all heads; here they interleave in arc order, chunk by chunk): float rounding only.

Layout and threads. s and t are kept as node pairs (s_v, t_v), so a random head costs one
cache line. From :data:`PARALLEL_MIN_ARCS` arcs on, loops 1-2 run as P contiguous arc chunks on
numba's threads (:func:`parallel_chunks`; ``NUMBA_NUM_THREADS`` or ``numba.set_num_threads``
sets P), chunk p with a node table of its own that its thread fills and adds into, so no cache
line is written by two threads; loop 3 sums the P tables' t over node ranges on the threads.
One solve at a time uses the thread pool (a lock; another caller runs on its own thread).

Propagation-blocked steps. Where the arcs come in the tiled order of ``tile_nodes`` T
(``arc_order.tiled_order``: sorted by (tail // T, head // T), which ``MinCostFlow`` declares
through ``NetworkMatrix.tile_nodes``, and which :meth:`FusedNetworkStep._tiling` checks in one
pass per index pair), a Halpern step runs loops 1-3 as two passes over one shared node table
and an arc vector q (Beamer, Asanovic & Patterson, "Reducing PageRank communication via
propagation blocking", IPDPS 2017, with the bins fixed by the arc order so that only values
move):

- arc pass, the tail blocks cut into one run per thread: g_a = (s_tail(a) - q_a) [d2_a] with
  q_a = s_head(a), x^_a and x+_a as in loop 2, then q_a = x^_a [d2_a] and t_tail(a) += q_a;
- head pass, the head blocks cut into one run per thread, each block in turn: t_head(a) -= q_a
  over the block's tiles, loop 3 on the block's rows (and the next step's loop 1: (s+, 0)),
  then q_a = s+_head(a) over its tiles.

Every node access then falls in a T-node block that stays in L2 (T = a quarter of the L2 in
node pairs), where the blocked order reaches a head table of V / P rows at random; q costs 4 B
per arc of memory and ~16 B per arc of traffic, and one table replaces P. x+ and every node
value are those of the loops above, the same operations in the same order; only the order in
which a node's arcs are summed differs. Measured on the 2-core Xeon VM (bench/README.md, session
34): inside whole solves at 10^8 NETGEN arcs, steps took 331-431 ms against 444-651 ms in the
blocked order with head groups (round medians, alternating in one process); at 10^7 arcs 14 %
slower; so ``arc_order`` "auto" tiles from 2^22 nodes on where no GPU backend is usable.
Evaluations (T without the Halpern step) and screened iterations keep the loops above; the q
vector is dropped with the other kept vectors (:meth:`FusedNetworkStep.release`,
``release_columns``) and made again by the next whole step.

Evaluations (``algorithm.evaluate``) use the same loops for T(z) without the Halpern step
(:meth:`FusedNetworkStep.map`), one-loop products A~ x and A~^T y, and
:meth:`FusedNetworkStep.column_kkt`: the three column sums of the KKT measures computed from
y^ without forming the reduced-cost vector (``algorithm.column_kkt_sums``; sums in float64).

Memory traffic per iteration (float32 values, int32 indices): loop 2 reads tail, head, x, c, x0
and the finite per-arc bounds and writes x+ (7 streams, 28 B/arc with one bound vector, 32 B
counting the cache's fill of the lines x+ is written to; 5 streams, the same bytes, where tail
and head and c and the upper bound come side by side, :func:`side_by_side`, as ``MinCostFlow``
and the solver keep them from 2^21 nodes on), plus the random accesses to the head
node pairs (prefetched ``PREFETCH_DISTANCE`` arcs ahead); loop 3 streams ~10 node values and
reads and writes back each table's row (loop 1, when it runs, reads y and d1 and writes a table
each; done inside loop 3 instead, 10^8 arcs: 14 ms less per step, session 30).
``scotopt.bench.roofline.network_bytes`` counts 48 B/arc + 40 B/node for the unfused iteration
(x^ written and read back), which assumes the node vectors stay in cache; where they do not
(random heads, 10^7 arcs and more), each head costs a line read and a line written back, and
that traffic, not the arc streams, sets the loop's speed (bench/README.md, "Fused numba
kernels"). The blocked arc order that ``MinCostFlow`` uses from 2^18 nodes on
(``scotopt/models/arc_order.py``: arcs sorted by tail block, then head) turns the heads into a
forward sweep and keeps the tails in a cached slice; loop 2 then prefetches tails as well (it
does whenever the tails are not sorted). That order also cuts the arcs by head into one group
per chunk, at the chunks' cuts, so that each thread reaches only its 1/P of its table's rows at
random (arc_order's "Head groups": at 10^8 arcs, 24 % less time per step). x+ goes into an arc
vector this step returned earlier once nothing else holds it (:meth:`FusedNetworkStep._column_output`).

Anything else (several commodities, coupling rows, non-contiguous vectors, another dtype) makes
the methods return None, and the NumPy operations run instead.
"""

from __future__ import annotations

import os
import sys
import threading

import numpy as np

try:
    import numba
except ImportError:  # the ``cpu`` extra is not installed: the NumPy operations run instead
    numba = None

ENV_SWITCH = "SCOTOPT_NUMBA"


def enabled() -> bool:
    """True when numba is importable and the environment variable ``SCOTOPT_NUMBA`` is not
    ``0`` (read when an operator is built, so a process can switch between solves)."""
    return numba is not None and os.environ.get(ENV_SWITCH, "1").strip() != "0"


PREFETCH_DISTANCE = 64  # arcs ahead whose head node entries loop 2 asks the cache for
PARALLEL_MIN_ARCS = 1 << 18  # below this a thread pool's start-up costs more than it saves
MAX_CHUNKS = 16  # each chunk keeps a (V, 2) table: memory grows with the threads
MAX_TILES_PER_ARC = 1  # tiles beyond the arc count (tiny tiles on many nodes): the plain fused step
_PARALLEL_LOCK = threading.Lock()
_parallel_usable = True


def _serial_after_fork():
    """A forked child runs the kernels on one thread: numba's OpenMP thread pool (GNU OpenMP) is
    not fork-safe, and a child that launches it after its parent did can hang."""
    global _parallel_usable
    _parallel_usable = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_serial_after_fork)


def parallel_chunks(num_arcs: int) -> int:
    """Threads (= arc chunks) for a kernel over ``num_arcs`` arcs: numba's thread count
    (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``) up to :data:`MAX_CHUNKS`, 1 below
    :data:`PARALLEL_MIN_ARCS`, once the parallel kernels have failed, and in a forked child."""
    if numba is None or not _parallel_usable or num_arcs < PARALLEL_MIN_ARCS:
        return 1
    return max(1, min(numba.get_num_threads(), MAX_CHUNKS))


if numba is not None:
    from llvmlite import ir as _ir
    from numba.core import cgutils as _cgutils
    from numba.core import types as _types
    from numba.extending import intrinsic as _intrinsic
    from numba.extending import overload as _overload

    _jit = numba.njit(cache=True, nogil=True, boundscheck=False)
    _pjit = numba.njit(cache=True, nogil=True, boundscheck=False, parallel=True)

    def _at(v, e):
        """v[e] for a vector, v for a scalar (a 0-d operand broadcast)."""
        return v[e] if np.ndim(v) else v

    def _is_vector(v):
        return np.ndim(v) == 1

    @_overload(_at, jit_options={"cache": True})
    def _at_compiled(v, e):  # resolved at compile time: no per-element test
        if isinstance(v, _types.Array):
            return lambda v, e: v[e]
        return lambda v, e: v

    @_overload(_is_vector, jit_options={"cache": True})
    def _is_vector_compiled(v):
        if isinstance(v, _types.Array):
            return lambda v: True
        return lambda v: False

    def _add_square(sums, total, a, b):
        """total + (a - b)^2 in float64 where ``sums`` is an array (a step that measures its
        residual, :meth:`FusedNetworkStep.measured`), else total."""
        if sums is None:
            return total
        d = float(a) - float(b)
        return total + d * d

    def _add_product(sums, total, a, b, c, d):
        """total + (a - b) (c - d) in float64 where ``sums`` is an array, else total."""
        if sums is None:
            return total
        return total + (float(a) - float(b)) * (float(c) - float(d))

    def _add_to(sums, row, column, value):
        """sums[row, column] += value where ``sums`` is an array (made zero by the caller, so a
        slot that one loop fills gets its sum, and one that several fill, theirs)."""
        if sums is not None:
            sums[row, column] += value

    def _measuring(sums):
        return isinstance(sums, _types.Array)

    # Resolved at compile time from the type of ``sums`` (None or an array): a step that does not
    # measure compiles without the accumulations (a float64 add per arc, carried from one arc to
    # the next, would cost the arc loop a few cycles per arc).
    @_overload(_add_square, jit_options={"cache": True})
    def _add_square_compiled(sums, total, a, b):
        if not _measuring(sums):
            return lambda sums, total, a, b: total

        def add(sums, total, a, b):
            gap = np.float64(a) - np.float64(b)
            return total + gap * gap
        return add

    @_overload(_add_product, jit_options={"cache": True})
    def _add_product_compiled(sums, total, a, b, c, d):
        if not _measuring(sums):
            return lambda sums, total, a, b, c, d: total
        return lambda sums, total, a, b, c, d: total + (np.float64(a) - np.float64(b)) * (np.float64(c) - np.float64(d))

    @_overload(_add_to, jit_options={"cache": True})
    def _add_to_compiled(sums, row, column, value):
        if not _measuring(sums):
            return lambda sums, row, column, value: None

        def add(sums, row, column, value):
            sums[row, column] += value
        return add

    def _prefetch_codegen(context, builder, signature, args):
        """LLVM's prefetch (read, high locality, data) of ``array[index, 0, ...]``."""
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        indices = [args[1]] + [_ir.Constant(args[1].type, 0)] * (array_type.ndim - 1)  # row start
        pointer = _cgutils.get_item_pointer(context, builder, array_type, ary, indices,
                                            wraparound=False, boundscheck=False)
        byte_pointer = _ir.IntType(8).as_pointer()
        i32 = _ir.IntType(32)
        fn = _cgutils.get_or_insert_function(
            builder.module, _ir.FunctionType(_ir.VoidType(), [byte_pointer, i32, i32, i32]), "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(pointer, byte_pointer), _ir.Constant(i32, 0), _ir.Constant(i32, 3),
                          _ir.Constant(i32, 1)])
        return context.get_dummy_value()

    @_intrinsic
    def _prefetch(typingctx, array, index):
        """Ask the cache for ``array[index]`` (row ``index`` of a 2-D array). Heads are random:
        without it the loop waits on one cache miss after another (2.5x slower at 10^7 arcs,
        where the node vectors outgrow L2)."""
        return _types.void(array, index), _prefetch_codegen

    @_jit
    def _prepare_rows(first, stop, y, d1, d2, table):
        """Loop 1 over the nodes [first, stop): table[v] = (s_v, 0), s = y d1 (times d2 when it is
        a scalar)."""
        for k in range(first, stop):
            v = np.uintp(k)
            sv = y[v] * d1[v]
            if not _is_vector(d2):
                sv = sv * _at(d2, 0)
            table[v, 0] = sv
            table[v, 1] = 0

    @_jit
    def _prepare_table(y, d1, d2, table):
        """Loop 1 for one arc chunk over every node."""
        _prepare_rows(0, y.shape[0], y, d1, d2, table)

    @_jit
    def _primal(e, g, x, x0, c, lv, uv, tau, a, b, anchor, halpern, x_out):
        """Column e of loop 2 given g = (A~^T y)_e: x^_e (returned) and x_out[e] = x+_e (or x^_e
        without ``halpern``); ``e`` unsigned."""
        step = _at(c, e) - g
        step = tau * step
        xh = x[e] - step
        lower = _at(lv, e)
        xh = lower if xh < lower else xh  # np.maximum, NaN kept: a comparison with NaN is False
        upper = _at(uv, e)
        xh = upper if xh > upper else xh
        if halpern:
            h = a * xh
            h = h + b * x[e]
            x_out[e] = h + anchor * x0[e]
        else:
            x_out[e] = xh
        return xh

    @_jit
    def _arc(e, st, tail, head, x, x0, c, lv, uv, d2, tau, a, b, anchor, halpern, x_out):
        """Loop 2's body at arc e (unsigned): the gather, x^ and x+ (:func:`_primal`), the scatter;
        returns x^_e."""
        i, j = np.uintp(tail[e]), np.uintp(head[e])
        g = st[i, 0] - st[j, 0]
        if _is_vector(d2):
            g = g * _at(d2, e)
        xh = _primal(e, g, x, x0, c, lv, uv, tau, a, b, anchor, halpern, x_out)
        w = xh * _at(d2, e) if _is_vector(d2) else xh
        st[i, 1] += w
        st[j, 1] -= w
        return xh

    @_jit
    def _arc_chunk(first, stop, st, tail, head, x, x0, c, lv, uv, d2, tau, a, b, anchor, halpern, x_out,
                   prefetch_tail, sums, slot):
        """Loop 2 (module docstring) over the arcs [first, stop) with the node pairs ``st``
        (s_v, t_v) of this chunk. ``c``, ``lv``, ``uv``, ``d2``: vectors or scalars. Without
        ``halpern`` x_out = x^ (T alone, ``x0``, ``a``, ``b``, ``anchor`` unread). Node ids are
        read as unsigned (valid ids are >= 0), which spares numba's negative-index test. Heads
        are prefetched ``PREFETCH_DISTANCE`` arcs ahead, tails too with ``prefetch_tail`` (tails
        out of order: the blocked arc order of ``scotopt/models/arc_order.py``, in which they
        fall anywhere in their block; without the prefetch, blocks of 78k nodes gained nothing
        at 10^7 arcs, with it 1.3x).

        Summing the tail's share in a register over each run of equal tails (arcs come sorted
        by tail) was tried: faster on synthetic data, 11 % slower on NETGEN states (a
        mispredicted branch per run), so every arc adds to t[tail] in memory.

        The last ``PREFETCH_DISTANCE`` arcs run in a loop of their own, so that the main loop
        tests no bound before its prefetch: on two threads 7-12 % faster (NETGEN states at 10^6
        and 10^7 arcs, bit-identical output), on one thread the same. Splitting the loop into
        strips (gather, then the arithmetic vectorised, then the scatter) was 1.4-1.7x slower.

        ``sums``: None, or a zeroed float64 array whose entry [slot, 0] gets sum (x^ - x)^2 over
        the chunk added (a step that measures its fixed-point residual)."""
        ahead = max(first, stop - PREFETCH_DISTANCE)  # arcs [first, ahead) have one to prefetch
        gap = 0.0
        for k in range(first, ahead):
            # an unsigned index: numba wraps negative indices, and unless the loop provably starts
            # at 0 LLVM keeps that test on every array read (1.5x slower over a chunk)
            e = np.uintp(k)
            _prefetch(st, np.uintp(head[e + np.uintp(PREFETCH_DISTANCE)]))  # s and t: one cache line
            if prefetch_tail:
                _prefetch(st, np.uintp(tail[e + np.uintp(PREFETCH_DISTANCE)]))
            xh = _arc(e, st, tail, head, x, x0, c, lv, uv, d2, tau, a, b, anchor, halpern, x_out)
            gap = _add_square(sums, gap, xh, x[e])
        for k in range(ahead, stop):
            e = np.uintp(k)
            xh = _arc(e, st, tail, head, x, x0, c, lv, uv, d2, tau, a, b, anchor, halpern, x_out)
            gap = _add_square(sums, gap, xh, x[e])
        _add_to(sums, slot, 0, gap)

    @_jit
    def _arc_pass(tail, head, st, y, d1, x, x0, c, lv, uv, d2, tau, a, b, anchor, halpern, x_out, prefetch_tail,
                  prepare, sums):
        """Loops 1 and 2 on this thread, ``st`` of shape (1, V, 2); loop 1 only with ``prepare``
        (otherwise the last step's loop 3 left the table at (s, 0) for ``y``)."""
        if prepare:
            _prepare_table(y, d1, d2, st[0])
        _arc_chunk(0, x.shape[0], st[0], tail, head, x, x0, c, lv, uv, d2, tau, a, b, anchor, halpern, x_out,
                   prefetch_tail, sums, 0)

    @_pjit
    def _arc_pass_parallel(tail, head, st, y, d1, x, x0, c, lv, uv, d2, tau, a, b, anchor, halpern, x_out,
                           prefetch_tail, prepare, sums):
        """Loops 1 and 2 as P = st.shape[0] contiguous arc chunks on P threads. Chunk p's thread
        fills its own node table st[p] = (s, 0) (with ``prepare``; else the last step's loop 3
        did) and adds its arcs' x^ into it: a random head costs it one cache line, and no line
        is written by two threads within the loop (a line first written by another core made the
        arc loop wait on cross-core transfers)."""
        chunks = st.shape[0]
        n = x.shape[0]
        for p in numba.prange(chunks):
            if prepare:
                _prepare_table(y, d1, d2, st[p])
            _arc_chunk(n * p // chunks, n * (p + 1) // chunks, st[p], tail, head, x, x0, c, lv, uv, d2,
                       tau, a, b, anchor, halpern, x_out, prefetch_tail, sums, p)

    @_jit
    def _nondecreasing(values):
        for k in range(1, values.shape[0]):
            if values[k] < values[k - 1]:
                return False
        return True

    @_jit
    def _dual_row(v, axh, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, halpern, y_out, ax_out):
        """Loop 3's row v given (A x^)_v = ``axh``: the dual step and the Halpern updates of y and
        A x (module docstring); ``v`` unsigned. Returns y^_v."""
        w = axh + axh
        w = w - ax[v]
        w = sigma * w
        w = y[v] - w
        lower = neg_sigma * _at(ub, v)
        upper = neg_sigma * _at(lb, v)
        clipped = lower if w < lower else w
        clipped = upper if clipped > upper else clipped
        yh = w - clipped
        if halpern:
            h = a * yh
            h = h + b * y[v]
            y_out[v] = h + anchor * y0[v]
            h = a * axh
            h = h + b * ax[v]
            ax_out[v] = h + anchor * ax0[v]
        else:
            y_out[v] = yh
            ax_out[v] = axh
        return yh

    @_jit
    def _refresh_tables(v, st, chunks, y_out, d1, d2s):
        """Every chunk table's row v set to (s_v, 0) for the next step, s = y+ d1 [d2]: what loop 1
        of that step computes from y+ (the same two roundings; a vector d2 comes as d2s = 1,
        an exact product)."""
        sv = y_out[v] * d1[v]
        sv = sv * d2s
        for p in range(chunks):
            st[p, v, 0] = sv
            st[p, v, 1] = 0

    @_jit
    def _node_rows(first, stop, st, d1, d2s, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, halpern,
                   y_out, ax_out, refresh, sums, slot):
        """Loop 3 over the nodes [first, stop): t_v = the chunks' tables summed at v, in chunk
        order, then :func:`_dual_row`; with ``refresh`` also loop 1 of the next step on these
        rows (:func:`_refresh_tables`). ``sums``: None, or a zeroed float64 array whose entries
        [slot, 1] and [slot, 2] get sum (y^ - y)^2 and sum (y^ - y)(A x^ - A x) over the rows
        added (the propagation-blocked head pass calls it once per head block of a run).
        One and two chunks get loops of their own: with the chunk count the run-time bound of an
        inner loop, LLVM compiled the rows into a loop of 8-19 ns per node (two tables, one
        thread, 125 k to 1.25 M nodes) against 1.1-4.3 ns spelled out, the same sums in the same
        order (bench/README.md, "The node loop"). The row's body is written out in each loop: as
        a helper returning the two sums as a tuple, loop 3 took 10.7 instead of 2.9 ms at 10^7
        arcs (session 30)."""
        chunks = st.shape[0]
        dy_squared = 0.0
        dy_adx = 0.0
        if chunks == 2:
            for k in range(first, stop):
                v = np.uintp(k)  # no negative-index test on the reads (see _arc_chunk)
                tv = st[0, v, 1] + st[1, v, 1]
                axh = tv * (d1[v] * d2s)
                yh = _dual_row(v, axh, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, halpern, y_out,
                               ax_out)
                dy_squared = _add_square(sums, dy_squared, yh, y[v])
                dy_adx = _add_product(sums, dy_adx, yh, y[v], axh, ax[v])
                if refresh:
                    _refresh_tables(v, st, 2, y_out, d1, d2s)
        elif chunks == 1:
            for k in range(first, stop):
                v = np.uintp(k)
                axh = st[0, v, 1] * (d1[v] * d2s)
                yh = _dual_row(v, axh, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, halpern, y_out,
                               ax_out)
                dy_squared = _add_square(sums, dy_squared, yh, y[v])
                dy_adx = _add_product(sums, dy_adx, yh, y[v], axh, ax[v])
                if refresh:
                    _refresh_tables(v, st, 1, y_out, d1, d2s)
        else:
            for k in range(first, stop):
                v = np.uintp(k)
                tv = st[0, v, 1]
                for p in range(1, chunks):
                    tv = tv + st[p, v, 1]
                axh = tv * (d1[v] * d2s)
                yh = _dual_row(v, axh, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, halpern, y_out,
                               ax_out)
                dy_squared = _add_square(sums, dy_squared, yh, y[v])
                dy_adx = _add_product(sums, dy_adx, yh, y[v], axh, ax[v])
                if refresh:
                    _refresh_tables(v, st, chunks, y_out, d1, d2s)
        _add_to(sums, slot, 1, dy_squared)
        _add_to(sums, slot, 2, dy_adx)

    @_jit
    def _node_pass(st, d1, d2s, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, halpern, y_out, ax_out,
                   refresh, sums):
        """Loop 3 (module docstring), t_v the sum of the chunks' tables at v; ``d2s`` is the scalar
        d2, or 1 with a per-arc d2; ``lb``, ``ub``: vectors or scalars. Without ``halpern``:
        y_out = y^, ax_out = A x^. With ``refresh`` the tables are left at (s, 0) for y_out (the
        next step's loop 1, done here while the rows are in cache); ``sums``: see
        :func:`_node_rows` (row 0)."""
        _node_rows(0, y.shape[0], st, d1, d2s, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, halpern,
                   y_out, ax_out, refresh, sums, 0)

    @_pjit
    def _node_pass_parallel(st, d1, d2s, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, halpern, y_out,
                            ax_out, refresh, sums):
        """Loop 3 over P = st.shape[0] contiguous node ranges on P threads. Each thread reads
        the other chunks' tables for its nodes, lines another core wrote; still faster than one
        thread over all of them (at 1.25 M nodes and two chunks, 2.1-2.6 against 3.1-4.3 ns per node).
        ``refresh``: as :func:`_node_pass`, each thread on its rows of every table; ``sums``:
        range q's sums in row q."""
        chunks = st.shape[0]
        m = y.shape[0]
        for q in numba.prange(chunks):
            _node_rows(m * q // chunks, m * (q + 1) // chunks, st, d1, d2s, y, y0, ax, ax0, lb, ub, sigma,
                       neg_sigma, a, b, anchor, halpern, y_out, ax_out, refresh, sums, q)

    @_pjit
    def _shared_table_pass(tail, head, st, y, d1, x, x0, c, lv, uv, d2, tau, a, b, anchor, x_out, prefetch_tail,
                           d2s, y0, ax, ax0, lb, ub, sigma, neg_sigma, y_out, ax_out, threads):
        """One Halpern iteration with a single node table (st of shape (1, V, 2)): loop 1 over node
        ranges on ``threads`` threads, loop 2 over all arcs on this one, loop 3 over node ranges on
        the threads. For few arcs on many nodes (``network_screen.py``'s active arcs), where the
        node loops are most of the work and a table per arc chunk would fill every table whole."""
        m = y.shape[0]
        table = st[0]
        for q in numba.prange(threads):
            _prepare_rows(m * q // threads, m * (q + 1) // threads, y, d1, d2, table)
        _arc_chunk(0, x.shape[0], table, tail, head, x, x0, c, lv, uv, d2, tau, a, b, anchor, True, x_out,
                   prefetch_tail, None, 0)
        for q in numba.prange(threads):
            _node_rows(m * q // threads, m * (q + 1) // threads, st, d1, d2s, y, y0, ax, ax0, lb, ub, sigma,
                       neg_sigma, a, b, anchor, True, y_out, ax_out, False, None, q)

    @_jit
    def _tile_starts(tail, head, tile, tail_blocks, head_blocks, starts):
        """Whether the arcs are sorted by (tail // tile, head // tile) (``arc_order.tiled_order``);
        if so ``starts`` (length tail_blocks x head_blocks + 1) gets the first arc of each tile,
        tile (i, j) = arcs [starts[i H + j], starts[i H + j + 1]). A node id out of range also
        gives False."""
        previous = 0
        for k in range(starts.shape[0]):
            starts[k] = 0
        for e in range(tail.shape[0]):
            i, j = tail[e] // tile, head[e] // tile
            if tail[e] < 0 or head[e] < 0 or i >= tail_blocks or j >= head_blocks:
                return False
            key = i * head_blocks + j
            if key < previous:
                return False
            previous = key
            starts[key + 1] += 1
        for k in range(1, starts.shape[0]):
            starts[k] += starts[k - 1]
        return True

    @_jit
    def _tile_arcs(first, stop, table, tail, q, x, x0, c, lv, uv, d2, tau, a, b, anchor, x_out, sums, slot):
        """The arc pass of the propagation-blocked step over the arcs [first, stop) (whole tail
        blocks): g_e = (s_tail - q_e) [d2_e] with q_e = s_head, x^ and x+ (:func:`_primal`),
        then q_e = x^_e [d2_e] and t_tail += q_e (``sums``: [slot, 0] += (x^ - x)^2)."""
        ahead = max(first, stop - PREFETCH_DISTANCE)
        gap = 0.0
        for k in range(first, stop):
            e = np.uintp(k)
            if k < ahead:
                _prefetch(table, np.uintp(tail[e + np.uintp(PREFETCH_DISTANCE)]))
            i = np.uintp(tail[e])
            g = table[i, 0] - q[e]
            if _is_vector(d2):
                g = g * _at(d2, e)
            xh = _primal(e, g, x, x0, c, lv, uv, tau, a, b, anchor, True, x_out)
            w = xh * _at(d2, e) if _is_vector(d2) else xh
            q[e] = w
            table[i, 1] += w
            gap = _add_square(sums, gap, xh, x[e])
        _add_to(sums, slot, 0, gap)

    @_jit
    def _tile_heads(j, starts, head_blocks, table, head, q, subtract):
        """Over head block j's tiles: t_head -= q_e (``subtract``), else q_e = s_head."""
        for i in range((starts.shape[0] - 1) // head_blocks):
            for k in range(starts[i * head_blocks + j], starts[i * head_blocks + j + 1]):
                e = np.uintp(k)
                v = np.uintp(head[e])
                if subtract:
                    table[v, 1] -= q[e]
                else:
                    q[e] = table[v, 0]

    @_jit
    def _tile_arc_run(p, starts, tail_cuts, head_blocks, table, tail, q, x, x0, c, lv, uv, d2, tau, a, b, anchor,
                      x_out, sums):
        """Run p of the arc pass: the tail blocks [tail_cuts[p], tail_cuts[p + 1]), whose table
        rows no other run writes."""
        _tile_arcs(starts[tail_cuts[p] * head_blocks], starts[tail_cuts[p + 1] * head_blocks], table, tail, q, x,
                   x0, c, lv, uv, d2, tau, a, b, anchor, x_out, sums, p)

    @_jit
    def _tile_head_run(p, starts, head_cuts, head_blocks, tile, st, head, q, d1, d2s, y, y0, ax, ax0, lb, ub,
                       sigma, neg_sigma, a, b, anchor, y_out, ax_out, sums):
        """Run p of the head pass over the one table ``st`` (shape (1, V, 2)): the head blocks
        [head_cuts[p], head_cuts[p + 1]), each in turn: its tiles' q subtracted from the heads'
        t, loop 3 on its rows with the next step's loop 1 (:func:`_node_rows`, adding into
        ``sums`` row p), then q = s+_head over its tiles."""
        m = y.shape[0]
        table = st[0]
        for j in range(head_cuts[p], head_cuts[p + 1]):
            _tile_heads(j, starts, head_blocks, table, head, q, True)
            _node_rows(j * tile, min((j + 1) * tile, m), st, d1, d2s, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b,
                       anchor, True, y_out, ax_out, True, sums, p)
            _tile_heads(j, starts, head_blocks, table, head, q, False)

    @_jit
    def _tile_prepare_run(p, starts, head_cuts, head_blocks, tile, table, head, q, y, d1, d2):
        """Run p of loop 1 for the propagation-blocked step: over its head blocks,
        table[v] = (s_v, 0) with s = y d1 [d2 scalar], then q_e = s_head(e) over their tiles."""
        m = y.shape[0]
        for j in range(head_cuts[p], head_cuts[p + 1]):
            _prepare_rows(j * tile, min((j + 1) * tile, m), y, d1, d2, table)
            _tile_heads(j, starts, head_blocks, table, head, q, False)

    @_jit
    def _tiled_step_serial(starts, tail_cuts, head_cuts, head_blocks, tile, st, tail, head, q, prepare, y, d1,
                           d2, d2s, x, x0, c, lv, uv, tau, sigma, neg_sigma, a, b, anchor, y0, ax, ax0, lb, ub,
                           x_out, y_out, ax_out, sums):
        """The propagation-blocked Halpern step (module docstring) on this thread: loop 1 (with
        ``prepare``), the arc pass, the head pass; ``st``: the one node table, shape (1, V, 2)."""
        table = st[0]
        if prepare:
            _tile_prepare_run(0, starts, head_cuts, head_blocks, tile, table, head, q, y, d1, d2)
        _tile_arc_run(0, starts, tail_cuts, head_blocks, table, tail, q, x, x0, c, lv, uv, d2, tau, a, b, anchor,
                      x_out, sums)
        _tile_head_run(0, starts, head_cuts, head_blocks, tile, st, head, q, d1, d2s, y, y0, ax, ax0, lb, ub,
                       sigma, neg_sigma, a, b, anchor, y_out, ax_out, sums)

    @_pjit
    def _tiled_step_parallel(starts, tail_cuts, head_cuts, head_blocks, tile, st, tail, head, q, prepare, y, d1,
                             d2, d2s, x, x0, c, lv, uv, tau, sigma, neg_sigma, a, b, anchor, y0, ax, ax0, lb, ub,
                             x_out, y_out, ax_out, sums):
        """:func:`_tiled_step_serial` with each pass as P = len(tail_cuts) - 1 runs on P
        threads: tail blocks in the arc pass, head blocks in loop 1 and the head pass (a pass
        starts once the last one has ended on every thread)."""
        table = st[0]
        runs = tail_cuts.shape[0] - 1
        if prepare:
            for p in numba.prange(runs):
                _tile_prepare_run(p, starts, head_cuts, head_blocks, tile, table, head, q, y, d1, d2)
        for p in numba.prange(runs):
            _tile_arc_run(p, starts, tail_cuts, head_blocks, table, tail, q, x, x0, c, lv, uv, d2, tau, a, b,
                          anchor, x_out, sums)
        for p in numba.prange(runs):
            _tile_head_run(p, starts, head_cuts, head_blocks, tile, st, head, q, d1, d2s, y, y0, ax, ax0, lb,
                           ub, sigma, neg_sigma, a, b, anchor, y_out, ax_out, sums)

    @_jit
    def _scatter_difference(x, d2, tail, head, d1, scalar, nodes):
        """A~ x for one commodity without coupling rows: nodes = (N (d2 x)) * (d1 scalar), the
        operations of ``DeviceNetwork.matvec``'s NumPy branch in its order (the scatter's tail
        and head terms interleaved in arc order instead of all tails, then all heads)."""
        for v in range(nodes.shape[0]):
            nodes[v] = 0
        n = x.shape[0]
        for e in range(n):
            if e + PREFETCH_DISTANCE < n:
                _prefetch(nodes, np.uintp(head[e + PREFETCH_DISTANCE]))
            w = x[e] * _at(d2, e) if _is_vector(d2) else x[e]
            nodes[np.uintp(tail[e])] += w
            nodes[np.uintp(head[e])] -= w
        for v in range(nodes.shape[0]):
            nodes[v] = nodes[v] * (d1[v] * scalar)

    @_jit
    def _difference(values, tail, head, d2, e, prefetch_tail):
        """(values[tail] - values[head]) [* d2 per arc] at arc e, prefetching the head's entry
        ``PREFETCH_DISTANCE`` arcs ahead, and the tail's with ``prefetch_tail`` (tails out of order,
        as in ``_arc_chunk``: the column KKT sums at 10^7 / 10^8 blocked NETGEN arcs took 33.6 /
        447 instead of 40.1 / 585 ms, medians of 30 / 12 alternating calls; with sorted tails at
        10^6 the extra prefetch cost 7 %, session 31). An arc past the end reads nothing:
        prefetches of a valid index only."""
        if e + PREFETCH_DISTANCE < head.shape[0]:
            _prefetch(values, np.uintp(head[e + PREFETCH_DISTANCE]))
            if prefetch_tail:
                _prefetch(values, np.uintp(tail[e + PREFETCH_DISTANCE]))
        e = np.uintp(e)  # no negative-index test on the reads (see _arc_chunk)
        g = values[np.uintp(tail[e])] - values[np.uintp(head[e])]
        if _is_vector(d2):
            g = g * _at(d2, e)
        return g

    @_jit
    def _gather_difference(values, tail, head, d2, out, prefetch_tail):
        """out = (values[tail] - values[head]) [* d2 per arc]: ``DeviceNetwork.rmatvec``'s NumPy
        branch (the same operations, so the same result), node entries prefetched
        (:func:`_difference`)."""
        for e in range(out.shape[0]):
            out[e] = _difference(values, tail, head, d2, e, prefetch_tail)

    @_pjit
    def _gather_difference_parallel(values, tail, head, d2, out, prefetch_tail):
        for e in numba.prange(out.shape[0]):
            out[e] = _difference(values, tail, head, d2, e, prefetch_tail)

    @_jit
    def _bound_terms(e, g, lv, uv, d2):
        """Column e's bound terms for a scaled reduced cost g: (lv~ g^+ + uv~ g^- over the finite
        bounds, (g - proj g) / d2), the infeasibility g^+ where lv = -inf and g^- where uv = +inf;
        ``e`` unsigned. Dividing after the projection gives what dividing before gives (d2 > 0
        keeps the sign; 0 / d2 = 0)."""
        positive = g * 0 if g < 0 else g  # g * 0 keeps the dtype (and NaN stays NaN)
        negative = g * 0 if g > 0 else g
        lower, upper = _at(lv, e), _at(uv, e)
        infeasible = g * 0
        support = g * 0
        if lower == -np.inf:
            infeasible = infeasible + positive
        else:
            support = support + lower * positive
        if upper == np.inf:
            infeasible = infeasible + negative
        else:
            support = support + upper * negative
        return support, infeasible / _at(d2, e)

    @_jit
    def _kkt_terms(e, aty, c, x, lv, uv, d2):
        """Column e's terms of the KKT column sums given (A~^T y)_e = ``aty``: (c x, the bound term
        of g = c - aty, the squared infeasibility of g); ``e`` unsigned."""
        ce = _at(c, e)
        support, r = _bound_terms(e, ce - aty, lv, uv, d2)
        return ce * x[e], support, r * r

    @_jit
    def _column_kkt(values, tail, head, d2, c, x, lv, uv, prefetch_tail):
        """(sum c x, sum lv~ g^+ + uv~ g^-, sum ((g - proj g) / d2)^2) over the arcs, with
        g = c - (values[tail] - values[head]) [d2] the scaled reduced cost (``values`` = y d1
        [d2 scalar], as in :func:`_gather_difference`): ``algorithm.column_kkt_sums`` without the
        reduced-cost vector. Infinite bounds count 0 in the bound term; g^+ is the dual
        infeasibility where lv = -inf, g^- where uv = +inf. NaN propagates (a comparison with NaN
        is False). Terms in the solve's dtype, sums in float64. ``prefetch_tail``: see
        :func:`_difference`.

        The two calls sit in the loop itself: through a third function that made them (arc e's
        terms) the loop ran 17x slower (86 against 5 ms at 10^6 arcs, one thread, Xeon VM,
        session 33), as numba did not inline the nested calls' tuple returns."""
        pobj = 0.0
        support = 0.0
        dual = 0.0
        for e in range(x.shape[0]):
            p, s, d = _kkt_terms(np.uintp(e), _difference(values, tail, head, d2, e, prefetch_tail), c, x, lv, uv,
                                 d2)
            pobj += p
            support += s
            dual += d
        return pobj, support, dual

    @_pjit
    def _column_kkt_parallel(values, tail, head, d2, c, x, lv, uv, prefetch_tail):
        pobj = 0.0
        support = 0.0
        dual = 0.0
        for e in numba.prange(x.shape[0]):
            p, s, d = _kkt_terms(np.uintp(e), _difference(values, tail, head, d2, e, prefetch_tail), c, x, lv, uv,
                                 d2)
            pobj += p
            support += s
            dual += d
        return pobj, support, dual

    @_jit
    def _ray_columns(first, stop, values, tail, head, d2, lv, uv, neg_inv, prefetch_tail, out, slot):
        """Over the arcs [first, stop): out[slot] = (sum of the bound terms, max of the
        infeasibilities) of ``algorithm.dual_ray_measures`` for g = (values[tail] - values[head])
        [d2] (-inv), without the vector A~^T y: :func:`_bound_terms` (the infeasibility taken
        absolute). Terms in the solve's dtype, the sum in float64; NaN propagates into both."""
        support = 0.0
        worst = 0.0
        for k in range(first, stop):
            g = _difference(values, tail, head, d2, k, prefetch_tail) * neg_inv
            term, r = _bound_terms(np.uintp(k), g, lv, uv, d2)
            support += term
            infeasible = abs(r)
            if infeasible > worst or infeasible != infeasible:
                if worst == worst:  # a NaN, once found, stays
                    worst = infeasible
        out[slot, 0] = support
        out[slot, 1] = worst

    @_pjit
    def _ray_columns_parallel(values, tail, head, d2, lv, uv, neg_inv, prefetch_tail, out):
        """:func:`_ray_columns` over P = out.shape[0] contiguous arc ranges on P threads."""
        chunks = out.shape[0]
        n = tail.shape[0]
        for p in numba.prange(chunks):
            _ray_columns(n * p // chunks, n * (p + 1) // chunks, values, tail, head, d2, lv, uv, neg_inv,
                         prefetch_tail, out, p)


def host_scatter_difference(x, d2, tail, head, d1, scalar, nodes):
    """nodes = (N (d2 x)) * (d1 scalar) in one loop on this thread (``NetworkMatrix.forward``,
    float64; ``d2`` a vector or a scalar)."""
    _scatter_difference(x, d2, tail, head, d1, scalar, nodes)


def host_gather_difference(values, tail, head, d2, out, prefetch_tail=False):
    """out = (values[tail] - values[head]) [* d2 per arc] in one loop on this thread, in the
    dtype of ``values``: the blocks of ``NetworkMatrix.adjoint_columns`` (float64) and of
    ``DeviceNetwork.rmatvec_blocks`` (the solve's dtype). Not on numba's threads: between
    Lanczos products NumPy's BLAS threads run, and the two pools took turns on the cores (5.3 ms
    per parallel call at 2^18 arcs inside Lanczos, 0.5 ms alone). ``prefetch_tail``: tails out
    of order (:func:`_difference`)."""
    _gather_difference(values, tail, head, d2, out, prefetch_tail)


def _operand(v, length, dtype):
    """A kernel operand: a 1-D array of ``length``, contiguous or one column of an (n, 2) array
    (:func:`side_by_side`), or a 0-d value as a scalar of ``dtype``; None for anything else (the
    generic path runs)."""
    if type(v) is not np.ndarray or v.dtype != dtype:
        return None
    if v.ndim == 0:
        return v[()]
    if v.ndim == 1 and v.shape[0] == length and (v.flags.c_contiguous or v.strides[0] == 2 * v.itemsize):
        return v
    return None


def side_by_side(first, second) -> bool:
    """Whether the 1-D arrays ``first`` and ``second`` are columns 0 and 1 of one (n, 2) array:
    entry e of both in one cache line, so that a loop over e reads them as one memory stream.
    The arc loop reads tail, head, c and the upper bound at every arc; with each pair side by
    side (``arc_order.permuted_ends``, ``driver._make_data``) it reads five streams instead of
    seven: at 10^8 NETGEN arcs, where the streams and the head sweeps share the memory bus,
    366 against 424 and 283 against 305 ms per arc loop (medians, two in-process runs;
    bench/README.md, session 31)."""
    if type(first) is not np.ndarray or type(second) is not np.ndarray:
        return False
    if first.ndim != 1 or second.ndim != 1 or first.dtype != second.dtype or first.shape != second.shape:
        return False
    width = first.itemsize
    start = first.__array_interface__["data"][0]
    return (first.strides[0] == second.strides[0] == 2 * width
            and second.__array_interface__["data"][0] == start + width)


def _references(items, k):
    """The reference count of ``items[k]`` as seen from here."""
    return sys.getrefcount(items[k])


# The count of an object that only a list holds, measured the way _column_output measures (not
# assumed: how an interpreter counts the call's own references is its business).
_UNSHARED = _references([object()], 0)


class FusedNetworkStep:
    """The fused iteration for a single-commodity network operator (``DeviceNetwork`` on NumPy
    with one commodity and no coupling rows) of V nodes and E arcs. Holds the node tables
    (P x V x 2, P arc chunks), reused by every step (one solve steps one state at a time).

    Subclasses for other layouts (``network_fused_mmcf``) pass their column and row counts and
    override :meth:`_iterate` and the products; validation, outputs and threads are shared."""

    fold_scalar_d2 = True  # rmatvec folds a scalar d2 into the node values (one commodity)
    # Reads c and the upper bounds as the columns of one (E, 2) array where the solver keeps them
    # so (``DeviceNetwork.pairs_cost_and_upper``, ``side_by_side``).
    pairs_columns = True
    # Loop 3 of a step also does loop 1 of the next one (the tables' rows set to (s, 0) for y+
    # while they are in cache); the next step skips loop 1 when its y is that y+.
    refresh_tables = True
    measures_residual = True  # :meth:`measured` covers this layout
    screens = True  # runs chunks of iterations with safe arc screening (:meth:`steps`)

    def __init__(self, num_nodes: int, num_columns: int, dtype, num_rows: int | None = None,
                 tile_nodes: int | None = None):
        self.V, self.E = num_nodes, num_columns
        # with the arcs in the tiled order of this tile size, Halpern steps run propagation-blocked
        self.tile_nodes = tile_nodes
        self._tiles = None  # (tail, head, tile starts or None, blocks, {threads: (tail cuts, head cuts)})
        self._q = None  # the propagation-blocked step's arc vector (s_head in, x^ out)
        self.rows = num_nodes if num_rows is None else num_rows
        self.dtype = np.dtype(dtype)
        self._scratch = None
        self._scratch_chunks = 0
        self._columns = []  # x+ vectors this step has returned (see _column_output)
        self._rows = []  # y+ and (A x)+ vectors likewise (_row_outputs)
        self._tail_checked, self._tails_out_of_order = None, True
        self._screening = None
        self._prepared = None  # (tables, y+, d1, d2) when loop 3 left the tables ready for y+
        self.failed = False

    def release_columns(self):
        """Drop the kept column and row outputs (those in use stay alive where they are used) and
        the propagation-blocked step's arc vector (made again by the next whole step)."""
        self._columns = []
        self._rows = []
        if self._q is not None:
            self._q = None
            self._prepared = None

    def steps(self, params, data, vectors, x0, y0, ax0, tau, sigma, neg_sigma, coefficients):
        """``len(coefficients)`` iterations with safe arc screening (``network_screen.py``):
        (x, y, A x) after them from ``vectors`` = [x, y, A x] (emptied once the operands are
        checked), or None where the kernels do not cover the data."""
        if not self.screens:
            return None
        if self._screening is None:
            self._screening = self._new_screening()
        return self._screening.run(params, data, vectors, x0, y0, ax0, tau, sigma, neg_sigma, coefficients)

    def _new_screening(self):
        from scotopt.kernels.network_screen import ArcScreening

        return ArcScreening(self)

    def release(self):
        """Drop the node tables and the kept outputs (those in use stay alive where they are
        used): called before an evaluation, whose column temporaries set the solve's peak memory,
        so that the fused path holds nothing extra there (two column vectors, 8 B/arc in float32,
        and the tables otherwise)."""
        self._scratch = None
        self._prepared = None
        self.release_columns()

    def _kept_output(self, kept, length, limit):
        """A vector of ``length`` from ``kept`` that nothing else holds any more, else a fresh one,
        kept while ``kept`` has fewer than ``limit``."""
        for k in range(len(kept)):
            if _references(kept, k) <= _UNSHARED:
                return kept[k]
        vector = np.empty(length, dtype=self.dtype)
        if len(kept) < limit:
            kept.append(vector)
        return vector

    def _column_output(self):
        """An arc-length output vector: one this step returned before and nothing else holds any
        more (its reference count is that of an object only a list holds, ``_UNSHARED``; a view
        or a state that holds it adds to the count), else a fresh one. A fresh 40 MB vector costs
        its page faults in the arc loop, ~10 ms of CPU at 10^7 arcs in float32 (glibc maps blocks
        over 32 MB afresh each time); at most two are kept, and :meth:`release` drops them. (They come
        from the heap: with pages of their own, mapped again after each screen, a 10^6-arc solve
        took 10-20 % longer for no lower peak, bench/README.md session 26.)"""
        return self._kept_output(self._columns, self.E, 2)

    def _row_outputs(self):
        """Two distinct row vectors for a step's y+ and (A x)+, as :meth:`_column_output` gives
        columns: at most four are kept (this step's pair and the last one's, which the state
        lets go when it takes this pair). A fresh pair per iteration cost its page faults: at
        10^8 arcs (two 50 MB vectors, over glibc's mmap threshold, so mapped afresh each time)
        loop 3 took 41.5 ms against 22.5 ms with reused outputs (median of 7, synthetic NETGEN
        arcs, bench/README.md session 29)."""
        first = self._kept_output(self._rows, self.rows, 4)
        return first, self._kept_output(self._rows, self.rows, 4)  # ``first`` is held here: not given twice

    def _tables(self, halpern, chunks, make):
        """``make(chunks)``'s node tables: kept between steps (made again when the thread count
        changes); fresh for an evaluation's T, which keeps nothing (release() has just run)."""
        if not halpern:
            return make(chunks)
        if self._scratch is None or self._scratch_chunks != chunks:
            self._scratch, self._scratch_chunks = make(chunks), chunks
        return self._scratch

    def __call__(self, params, data, x, y, ax, x0, y0, ax0, tau, sigma, neg_sigma, a, b, anchor):
        """(x+, y+, (A x)+) of one iteration (module docstring), or None where the vectors are not
        of the supported form. ``params`` = the operator's (tail, head, d1, d2); the scalars are
        0-d arrays of the solve's dtype."""
        return self._run(params, data, x, y, ax, x0, y0, ax0, tau, sigma, neg_sigma, a, b, anchor, True)

    def measured(self, params, data, x, y, ax, x0, y0, ax0, tau, sigma, neg_sigma, a, b, anchor):
        """As :meth:`__call__`, plus the reductions of the fixed-point residual of this step's T
        (``algorithm.fixed_point_residual``): (x+, y+, (A x)+, (||x^ - x||^2, ||y^ - y||^2,
        (y^ - y) @ (A x^ - A x))), the sums in float64 over the values the loops compute; None
        where :meth:`__call__` would be, or where this layout does not measure."""
        if not self.measures_residual:
            return None
        return self._run(params, data, x, y, ax, x0, y0, ax0, tau, sigma, neg_sigma, a, b, anchor, True, measure=True)

    def map(self, params, data, x, y, ax, tau, sigma, neg_sigma, measure=False):
        """(x^, y^, A x^) = T(x, y) (``algorithm.pdhg_map``) by the same loops, or None; with
        ``measure`` the residual's three sums follow (as :meth:`measured`; None where this
        layout does not measure)."""
        if measure and not self.measures_residual:
            return None
        return self._run(params, data, x, y, ax, x, y, ax, tau, sigma, neg_sigma, tau, tau, tau, False, measure)

    def _run(self, params, data, x, y, ax, x0, y0, ax0, tau, sigma, neg_sigma, a, b, anchor, halpern, measure=False):
        operands = self._operands(params, data, x, y, ax, x0, y0, ax0)
        if operands is None:
            return None
        scalars = tuple(self.dtype.type(v) for v in (tau, sigma, neg_sigma, a, b, anchor))
        return self._run_operands(*operands, scalars, halpern, measure)

    def _operands(self, params, data, x, y, ax, x0, y0, ax0):
        """(tail, head, columns, rows) as :meth:`_iterate` takes them, or None: failed before, or
        not of the supported form (the generic path runs)."""
        if self.failed:
            return None
        dt = self.dtype
        tail, head, d1, d2 = params
        if not _index_pair(tail, head):
            return None
        columns = [_operand(v, self.E, dt) for v in (x, x0, data.c, data.var_lb, data.var_ub, d2)]
        rows = [_operand(v, self.rows, dt) for v in (y, ax, y0, ax0, d1, data.con_lb, data.con_ub)]
        if any(p is None for p in columns) or any(p is None for p in rows):
            return None
        if any(np.ndim(p) == 0 for p in columns[:2] + rows[:5]):
            return None  # the iterates and d1 must be whole vectors
        return tail, head, columns, rows

    def _run_operands(self, tail, head, columns, rows, scalars, halpern, measure=False):
        """(x+, y+, (A x)+), or T's (x^, y^, A x^) without ``halpern``, from checked operands
        (with ``measure`` the residual's three sums after them, :meth:`measured`); None where
        the kernels failed."""
        dt = self.dtype
        # T's (x^, y^, A x^) may become the state (a restart): fresh vectors, not ones the step reuses
        if halpern:
            outputs = (self._column_output(), *self._row_outputs())
        else:
            outputs = (np.empty(self.E, dtype=dt), np.empty(self.rows, dtype=dt), np.empty(self.rows, dtype=dt))

        measures = []

        def run(chunks):  # the outputs are fresh or unshared: a failure leaves the state untouched
            sums = np.zeros((chunks, 3)) if measure else None
            self._iterate(chunks, halpern, tail, head, columns, rows, scalars, outputs, sums=sums)
            measures.append(sums)

        if not self._launch(run):
            return None
        if measure:
            return (*outputs, tuple(float(v) for v in measures[-1].sum(axis=0)))
        return outputs

    def _iterate(self, chunks, halpern, tail, head, columns, rows, scalars, outputs, shared_table=False, sums=None):
        """The iteration's loops on ``chunks`` threads: ``columns`` = (x, x0, c, lv, uv, d2),
        ``rows`` = (y, A x, y0, A x0, d1, l, u) as kernel operands, ``scalars`` = (tau, sigma,
        -sigma, a, b, anchor), ``outputs`` = (x+, y+, (A x)+) written in place. With
        ``shared_table`` (a Halpern step on several threads) one node table serves all arcs,
        the node loops on the threads and the arcs on one (:func:`_shared_table_pass`).
        ``sums``: None, or a float64 array (chunks, 3) that gets the residual's partial sums
        (:func:`_arc_chunk`, :func:`_node_rows`; not with ``shared_table``)."""
        xv, x0v, c, lv, uv, d2v = columns
        yv, axv, y0v, ax0v, d1v, lb, ub = rows
        tau, sigma, neg_sigma, a, b, anchor = scalars
        x_out, y_out, ax_out = outputs
        d2s = d2v if np.ndim(d2v) == 0 else self.dtype.type(1)
        prepared, self._prepared = self._prepared, None  # set again once this step has run through
        tiles = self._tiling(tail, head, chunks) if halpern and not shared_table else None
        if tiles is not None:
            self._tiled_step(tiles, prepared, tail, head, columns, rows, scalars, outputs, sums)
            return
        if shared_table and halpern and chunks > 1 and sums is None:
            st = self._tables(True, 1, lambda n: np.empty((n, self.V, 2), dtype=self.dtype))
            _shared_table_pass(tail, head, st, yv, d1v, xv, x0v, c, lv, uv, d2v, tau, a, b, anchor, x_out,
                               self._tails_unsorted(tail), d2s, y0v, axv, ax0v, lb, ub, sigma, neg_sigma, y_out,
                               ax_out, chunks)
            return
        st = self._tables(halpern, chunks, lambda n: np.empty((n, self.V, 2), dtype=self.dtype))
        prepared = halpern and self._tables_ready(prepared, st, yv, d1v, d2v)
        refresh = halpern and self.refresh_tables
        arcs, nodes = (_arc_pass_parallel, _node_pass_parallel) if chunks > 1 else (_arc_pass, _node_pass)
        arcs(tail, head, st, yv, d1v, xv, x0v, c, lv, uv, d2v, tau, a, b, anchor, halpern, x_out,
             self._tails_unsorted(tail), not prepared, sums)
        nodes(st, d1v, d2s, yv, y0v, axv, ax0v, lb, ub, sigma, neg_sigma, a, b, anchor, halpern, y_out, ax_out,
              refresh, sums)
        if refresh:
            self._prepared = (st, y_out, d1v, d2v)

    def _tiling(self, tail, head, chunks):
        """(starts, tail cuts, head cuts, head blocks) of the propagation-blocked step where
        ``tail`` and ``head`` are all E arcs in the tiled order of ``tile_nodes``
        (``arc_order.tiled_order``, checked by one pass per index pair), else None. Tail cuts
        split the tail blocks, head cuts the head blocks, into ``chunks`` runs of about equal
        arc counts."""
        if not self.tile_nodes or tail.shape[0] != self.E or self.rows != self.V or self.E == 0:
            return None
        known = self._tiles
        if known is None or known[0] is not tail or known[1] is not head:
            tile = int(self.tile_nodes)
            blocks = -(-self.V // tile)
            ok = blocks * blocks <= MAX_TILES_PER_ARC * self.E  # else the tile starts outweigh the arcs
            starts = np.empty(blocks * blocks + 1 if ok else 1, dtype=np.int64)
            ok = ok and _tile_starts(tail, head, tile, blocks, blocks, starts)
            known = self._tiles = (tail, head, starts if ok else None, blocks, {})
        _, _, starts, blocks, cuts = known
        if starts is None:
            return None
        if chunks not in cuts:
            per_tail_block = np.diff(starts[::blocks])
            per_head_block = np.diff(starts).reshape(blocks, blocks).sum(axis=0)
            cuts[chunks] = tuple(_even_cuts(counts, chunks) for counts in (per_tail_block, per_head_block))
        return starts, *cuts[chunks], blocks

    def _tiled_step(self, tiles, prepared, tail, head, columns, rows, scalars, outputs, sums):
        """A Halpern step propagation-blocked (module docstring): one node table and the arc
        vector q; loop 1 (the table and q for y) only where the last step did not leave them."""
        starts, tail_cuts, head_cuts, blocks = tiles
        xv, x0v, c, lv, uv, d2v = columns
        yv, axv, y0v, ax0v, d1v, lb, ub = rows
        tau, sigma, neg_sigma, a, b, anchor = scalars
        x_out, y_out, ax_out = outputs
        d2s = d2v if np.ndim(d2v) == 0 else self.dtype.type(1)
        tile = int(self.tile_nodes)
        st = self._tables(True, 1, lambda n: np.empty((n, self.V, 2), dtype=self.dtype))
        if self._q is None:
            self._q = np.empty(self.E, dtype=self.dtype)
            prepared = None
        prepare = not self._tables_ready(prepared, st, yv, d1v, d2v)
        run = _tiled_step_parallel if len(tail_cuts) > 2 else _tiled_step_serial
        run(starts, tail_cuts, head_cuts, blocks, tile, st, tail, head, self._q, prepare, yv, d1v, d2v, d2s, xv,
            x0v, c, lv, uv, tau, sigma, neg_sigma, a, b, anchor, y0v, axv, ax0v, lb, ub, x_out, y_out, ax_out, sums)
        self._prepared = (st, y_out, d1v, d2v)

    @staticmethod
    def _tables_ready(prepared, st, y, d1, d2) -> bool:
        """Whether the last step's loop 3 left the tables ``st`` at (s, 0) for this ``y`` (the
        vector it wrote as y+, handed back as this step's y), ``d1`` and ``d2`` (``prepared``:
        what it recorded, or None): then loop 1 is skipped."""
        if prepared is None:
            return False
        tables, y_out, d1_out, d2_out = prepared
        same_d2 = d2 is d2_out or (np.ndim(d2) == 0 and np.ndim(d2_out) == 0 and d2 == d2_out)
        return tables is st and y_out is y and d1_out is d1 and bool(same_d2)

    def _tails_unsorted(self, tail):
        """Whether ``tail`` is out of order (then loop 2 prefetches tails too), checked once per
        tail array."""
        if self._tail_checked is not tail:
            self._tail_checked, self._tails_out_of_order = tail, not _nondecreasing(tail)
        return self._tails_out_of_order

    def _launch(self, run, arcs: int | None = None):
        """``run(chunks)`` on :func:`parallel_chunks` threads when the parallel kernels are free
        (one solve at a time uses them: numba's default thread pool does not take two callers),
        else on this thread. A parallel kernel that fails switches the parallel kernels off for
        the process (a warning) and the call reruns on one thread; a serial one that fails
        switches this step off (:meth:`_serial`). Returns whether it ran. ``arcs``: the arcs the
        loops run over when not all E (screened iterations)."""
        global _parallel_usable
        chunks = parallel_chunks(self.E if arcs is None else arcs)
        locked = chunks > 1 and _PARALLEL_LOCK.acquire(blocking=False)
        try:
            if locked:
                try:
                    run(chunks)
                    return True
                except Exception as exc:  # noqa: BLE001 - no thread pool costs speed, never a result
                    import warnings

                    _parallel_usable = False
                    warnings.warn(f"parallel network kernels unavailable ({type(exc).__name__}: {exc}); "
                                  "using one thread", stacklevel=4)
        finally:
            if locked:
                _PARALLEL_LOCK.release()
        return self._serial(lambda: run(1))

    def _serial(self, run):
        """``run()`` on this thread; a failure switches this step off with a warning (the NumPy
        operations run from then on). Returns whether it ran."""
        try:
            run()
            return True
        except Exception as exc:  # noqa: BLE001 - a kernel that numba cannot compile costs speed, never a result
            import warnings

            self.failed = True
            warnings.warn(f"fused network kernels unavailable ({type(exc).__name__}: {exc}); using NumPy",
                          stacklevel=5)
            return False

    def _product_operands(self, params, vector, length):
        """(tail, head, d1, ``vector`` and d2 as kernel operands) for a product with a vector of
        ``length``, or None (failed before, or not of the supported form)."""
        if self.failed:
            return None
        tail, head, d1, d2 = params
        v = _operand(vector, length, self.dtype)
        d2v = _operand(d2, self.E, self.dtype)
        if not _index_pair(tail, head) or v is None or np.ndim(v) == 0 or d2v is None:
            return None
        return tail, head, d1, v, d2v

    def _node_values(self, params, y, rows):
        """(tail, head, y d1 [d2 when scalar, folded in as ``rmatvec`` does], d2), or None."""
        operands = self._product_operands(params, y, rows)
        if operands is None:
            return None
        tail, head, d1, yv, d2v = operands
        values = yv * d1
        if np.ndim(d2v) == 0 and self.fold_scalar_d2:
            values *= d2v
        return tail, head, values, d2v

    def matvec(self, params, x):
        """A~ x (``DeviceNetwork.matvec``) as one compiled loop, or None (not of the supported form)."""
        operands = self._product_operands(params, x, self.E)
        if operands is None:
            return None
        tail, head, d1, xv, d2v = operands
        scalar = d2v if np.ndim(d2v) == 0 else self.dtype.type(1)
        nodes = np.empty(self.V, dtype=self.dtype)
        # one thread: the scatter runs only in infeasibility tests and at the start
        return nodes if self._serial(lambda: _scatter_difference(xv, d2v, tail, head, d1, scalar, nodes)) else None

    def rmatvec(self, params, y):
        """A~^T y (``DeviceNetwork.rmatvec``) as one compiled loop, or None."""
        prepared = self._node_values(params, y, self.rows)
        if prepared is None:
            return None
        tail, head, values, d2v = prepared
        out = np.empty(self.E, dtype=self.dtype)

        def run(chunks):
            (_gather_difference_parallel if chunks > 1 else _gather_difference)(values, tail, head, d2v, out,
                                                                                  self._tails_unsorted(tail))

        return out if self._launch(run) else None

    def column_kkt(self, params, data, x, y):
        """``algorithm.column_kkt_sums`` at (x^, y^) = (``x``, ``y``) in one compiled loop, as
        0-d values of the solve's dtype, or None."""
        operands = self._kkt_operands(params, data, x, y)
        if operands is None:
            return None
        tail, head, values, d2v, xv, c, lv, uv = operands
        sums = []

        def run(chunks):
            sums[:] = (_column_kkt_parallel if chunks > 1 else _column_kkt)(values, tail, head, d2v, c, xv, lv, uv,
                                                                            self._tails_unsorted(tail))

        return tuple(self.dtype.type(v) for v in sums) if self._launch(run) else None

    def dual_ray_columns(self, params, data, y_ray, inv):
        """The column terms of ``algorithm.dual_ray_measures`` for the dual direction ``y_ray``
        scaled by ``inv`` (a 0-d value): (sum of the bound terms, max of the infeasibilities) as
        0-d values of the solve's dtype, in one compiled pass without forming A~^T y_ray; None
        where the operands are not of the supported form."""
        prepared = self._node_values(params, y_ray, self.rows)
        lv, uv = (_operand(v, self.E, self.dtype) for v in (data.var_lb, data.var_ub))
        if prepared is None or lv is None or uv is None or np.ndim(inv) != 0:
            return None
        tail, head, values, d2v = prepared
        neg_inv = self.dtype.type(-np.asarray(inv, dtype=self.dtype))
        result = []

        unsorted = self._tails_unsorted(tail)

        def run(chunks):
            out = np.zeros((chunks, 2))
            if chunks > 1:
                _ray_columns_parallel(values, tail, head, d2v, lv, uv, neg_inv, unsorted, out)
            else:
                _ray_columns(0, self.E, values, tail, head, d2v, lv, uv, neg_inv, unsorted, out, 0)
            worst = out[:, 1]
            result[:] = [out[:, 0].sum(), np.nan if np.isnan(worst).any() else worst.max()]

        return tuple(self.dtype.type(v) for v in result) if self._launch(run) else None

    def _kkt_operands(self, params, data, x, y):
        """:meth:`_node_values` at y^ and (x^, c, lv, uv) as kernel operands, or None."""
        prepared = self._node_values(params, y, self.rows)
        xv, c, lv, uv = (_operand(v, self.E, self.dtype) for v in (x, data.c, data.var_lb, data.var_ub))
        if prepared is None or any(v is None for v in (xv, c, lv, uv)) or np.ndim(xv) == 0:
            return None
        return (*prepared, xv, c, lv, uv)


def _even_cuts(counts, parts: int) -> np.ndarray:
    """Block indices 0 = k_0 <= ... <= k_parts = len(counts) that cut the blocks (``counts``
    arcs each) into ``parts`` runs of about equal arc counts (int64)."""
    total = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
    wanted = total[-1] * np.arange(parts + 1, dtype=np.int64) // max(parts, 1)
    cuts = np.searchsorted(total, wanted, side="left").astype(np.int64)
    cuts[0], cuts[-1] = 0, len(counts)
    return np.maximum.accumulate(cuts)


def _index_pair(tail, head):
    return type(tail) is np.ndarray and type(head) is np.ndarray and tail.dtype == head.dtype


def fused_step_for(op, tile_nodes: int | None = None):
    """A fused step for a NumPy ``DeviceNetwork`` it covers, else None: :class:`FusedNetworkStep`
    for one commodity without coupling rows, ``network_fused_mmcf.FusedMulticommodityStep`` for
    coupling rows (K >= 1 commodities)."""
    if not enabled() or op.kind != "numpy" or (op.K != 1 and not op.coupling):
        return None
    tail = op.params[0]
    if tail.dtype not in (np.int32, np.int64) or op.dtype not in (np.float32, np.float64):
        return None
    if op.coupling:
        from scotopt.kernels.network_fused_mmcf import FusedMulticommodityStep

        return FusedMulticommodityStep(op.V, op.E, op.K, op.dtype)
    return FusedNetworkStep(op.V, op.E, op.dtype, tile_nodes=tile_nodes)
