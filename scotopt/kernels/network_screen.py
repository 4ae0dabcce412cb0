"""Safe arc screening: the fused network iteration over the arcs that can move, exactly.

Most arcs of a min-cost flow carry no flow at the optimum, and PDHG finds out early: on a
NETGEN network of 10^6 arcs, after ~250 of its ~2400 iterations, 90-95 % of the arcs sit at
x = x0 = 0 with a reduced cost that keeps them there for the next 64 iterations. Their share of
an iteration (``network_fused.py``, loop 2) is then a fixed point: x^_a = proj(0 - tau (c_a -
g_a)) = 0 while c_a - g_a >= 0, so x+_a = 0 and nothing is added to the node sums. This module
runs chunks of iterations over the other arcs only, with a test that makes the skipping exact.
Several commodities with coupling rows (``network_fused_mmcf``) screen their columns (k, a) the
same way; each meets a third row, the coupling row of arc a, whose term enters the test with its
own radius (:class:`ArcScreening`'s layout methods, overridden there).

The test (safe screening, in the sense of El Ghaoui, Viallon and Rabbani,
"Safe feature elimination in sparse supervised learning", arXiv:1009.3515, 2010: a rule that
provably keeps the iterates unchanged, not a heuristic). At a centre s^c (the node values
``s = y d1 [d2]`` of loop 1, in the solve's dtype) and a radius Delta_v >= 0 per node, arc a is
*frozen* when

    x_a = x0_a = lv_a = 0   and   c_a - (s^c_tail - s^c_head + Delta_tail + Delta_head) d2_a > slack_a,

with d2_a = 1 where a scalar d2 is folded into s, and slack_a = 8 u (|c_a| + (|s^c_tail| +
|s^c_head| + Delta_tail + Delta_head) d2_a), u the unit round-off of the dtype. For every
iterate whose node values stay within their radii (|s_v - s^c_v| <= Delta_v at every node,
checked after each iteration on the values loop 1 will compute), s_tail - s_head <= s^c_tail -
s^c_head + Delta_tail + Delta_head, and the computed g_a = fl(fl(s_tail - s_head) d2_a) is at
most (s_tail - s_head) d2_a + 2.0001 u (|s_tail| + |s_head|) d2_a (each rounding moves a value
by at most u of itself), hence below c_a: fl(c_a - g_a) >= 0, x^_a = clip(-tau (c_a - g_a)) =
0, x+_a = a 0 + b 0 + anchor 0 = 0 (the anchor x0 only changes at a restart, between chunks).
So the screened iteration computes the same x+, y+ and A x+ as the full one, bit for bit up to
the sign of zero and the order in which a node's nonzero terms are summed (the arc chunks split
the active arcs, not all of them).

A chunk (the ``check_every`` iterations between two evaluations, ``algorithm.steps``):

1. centre s^c = s(y); d_v the drift |s_v - s^c_v| of node v at the end of the last chunk (or,
   where a violation moved the centre, at least the radius it had then over 2); none in a
   solve's first chunk, which runs unscreened and measures it. First one radius for all,
   Delta = 2 max_u d_u; if that leaves more than :data:`MAX_ACTIVE_FRACTION` of the arcs active,
   a radius per node, Delta_v = 2 max(d_v, 0.1 max_u d_u), if that leaves at most
   :data:`PER_NODE_MAX_ACTIVE` (5 %) active. The potentials that still move are
   few, and one radius sized to the fastest of them keeps every arc near its threshold active:
   on a NETGEN network of 10^6 arcs (eps 1e-4, float32) more than 10 % until iteration 576,
   against 6 % at iteration 192 with per-node radii. But a node that hardly moved in the last
   chunk and moves now leaves a per-node radius, and each such violation rebuilds the screen,
   so once one radius screens well it is kept (per-node radii throughout lost 10-30 % at
   10^7 arcs: bench/README.md, session 25);
2. two passes over the arcs (count, then fill, on the threads) list the active arcs in order;
   when more than :data:`MAX_ACTIVE_FRACTION` (10 %) of them are active the chunk runs
   unscreened;
3. the active arcs' tail, head, cost, bounds, x and x0 are gathered into short vectors and the
   iterations run ``FusedNetworkStep._iterate`` on them with the whole node vectors;
4. after each iteration the nodes outside their radius are counted; if any is, the screen is
   rebuilt around the current point (the iteration just computed is exact: its y was inside)
   with Delta_v = max(Delta_v, 2 |s_v - s^c_v|) per node, or Delta = max(2 Delta, max_v |s_v -
   s^c_v|) for one radius;
5. at the end x is scattered back into a zeroed column vector (frozen arcs are 0).

Memory: the short vectors cost ~32 bytes per *active* arc (positions, tail, head, cost, upper
bound, x, x0 and the next x) in one block with pages of its own
(:func:`scotopt.kernels.pages.block`); while the screen holds, the step's two kept column outputs
and the chunk's starting x (8 + 4 bytes per arc in float32) are let go, so with at most 10 % of the
arcs active the peak does not grow. The drifts, and per-node radii in their place, take
4 bytes per node (float32 for any dtype: the scan and the test read the same stored values, which
is all the proof needs). The row outputs of a screened iteration are recycled two iterations
later (:meth:`ArcScreening._row_output`).
"""

from __future__ import annotations

import numpy as np

from scotopt.kernels import network_fused as nf
from scotopt.kernels import pages

# Above this share of active arcs a chunk runs unscreened: early in a solve the gathers would
# cost more than the skipped arcs save, and the short vectors (36 B per active arc) would outgrow
# the whole-column vectors the screen lets go (8-12 B per arc, see the module docstring): at 10^6
# arcs a solve's peak is 63.9 B per arc against a budget of 64. (A limit of 0.5 started the
# screen one or two chunks earlier at 10^6 arcs, within the noise of the solve time.)
MAX_ACTIVE_FRACTION = 0.1
RADIUS_GROWTH = 2.0  # radius = this x the last chunk's drift; after a violation this x the gap
RADIUS_FLOOR = 0.1  # no node's radius below this share of the largest (ArcScreening._first_screen)
PER_NODE_RADII = True  # a radius per node where one radius leaves too many arcs active
PER_NODE_MAX_ACTIVE = 0.05  # ... and at most this share active with them (see ArcScreening._first_screen)
# The same two limits for several commodities with coupling rows (network_fused_mmcf): a screened
# iteration there still updates every row (a quarter as many as columns on CommaLAB's grids), so
# the screen pays later, and CommaLAB grid11 settles at 11-12 % active. Up to 30 % (10 % with
# radii per row) took grid11 from 26 s to 19-23 s, against no screened iteration at 10 % / 5 %
# (bench/README.md, session 26).
COUPLED_MAX_ACTIVE_FRACTION = 0.3
COUPLED_PER_NODE_MAX_ACTIVE = 0.1
ONE_TABLE = True  # see ArcScreening._screened_iteration

if nf.numba is not None:
    numba = nf.numba
    _jit, _pjit, _at, _is_vector = nf._jit, nf._pjit, nf._at, nf._is_vector

    _STRIP = 1024

    @_jit
    def _outside_range(first, stop, y, d1, d2s, centre, radii, gaps, limits):
        """How many nodes of [first, stop) have |s_v - centre_v| > radii_v, for s = fl(fl(y d1) d2s)
        as loop 1 computes it and the gap in float64 (see :func:`_outside`); ``gaps``, ``limits``:
        float64 scratch of ``_STRIP`` entries."""
        gap_bits, limit_bits = gaps.view(np.uint64), limits.view(np.uint64)
        count = 0
        for start in range(first, stop, _STRIP):
            end = min(stop, start + _STRIP)
            for k in range(start, end):
                v = np.uintp(k)
                sv = y[v] * d1[v]
                sv = sv * d2s
                gaps[k - start] = abs(np.float64(sv) - np.float64(centre[v]))
                limits[k - start] = abs(np.float64(radii[v]))
            for k in range(end - start):
                count += gap_bits[k] > limit_bits[k]
        return count

    @_jit
    def _outside(y, d1, d2s, centre, radii):
        """The number of nodes outside their radius: |s_v - centre_v| > radii_v.

        The gaps and radii are compared as the bit patterns of non-negative float64s read as
        unsigned integers, which order them as the floats do and put a NaN gap above every
        radius (so a NaN counts as outside), and which LLVM vectorises (the largest gap, taken
        this way before session 25, ran 4.5x faster than as a float maximum with its NaN test).
        Radii are >= 0, never NaN (:meth:`ArcScreening._first_screen`)."""
        return _outside_range(0, y.shape[0], y, d1, d2s, centre, radii, np.empty(_STRIP), np.empty(_STRIP))

    @_pjit
    def _outside_parallel(y, d1, d2s, centre, radii, chunks):
        """:func:`_outside` over ``chunks`` node ranges on numba's threads."""
        n = y.shape[0]
        parts = np.zeros(chunks, dtype=np.int64)
        for p in numba.prange(chunks):
            parts[p] = _outside_range(n * p // chunks, n * (p + 1) // chunks, y, d1, d2s, centre, radii,
                                      np.empty(_STRIP), np.empty(_STRIP))
        return parts.sum()

    @_jit
    def _record_gaps(y, d1, d2s, centre, radii, out, grow, factor):
        """Per node, from the gap g_v = |s_v - centre_v| (float64): with ``grow`` out_v =
        max(radii_v, factor g_v) (after a violation: the nodes that moved get room), else out_v =
        max(g_v, factor radii_v) (a chunk's drift, at least a share of the radius it had).
        ``out`` may be ``radii``. Returns max_v g_v (NaN if any gap is NaN). Once per chunk or
        violation: a plain loop."""
        worst = 0.0
        for k in range(y.shape[0]):
            v = np.uintp(k)
            sv = y[v] * d1[v]
            sv = sv * d2s
            gap = abs(np.float64(sv) - np.float64(centre[v]))
            worst = gap if not gap <= worst else worst  # a NaN sticks
            if grow:
                out[v] = max(np.float64(radii[v]), factor * gap)
            else:
                out[v] = max(gap, factor * np.float64(radii[v]))
        return worst

    @_jit
    def _scan(first, stop, tail, head, centre, radii, x, x0, c, lv, d2, unit, offset, active, fill, cap):
        """The active (not frozen, module docstring) arcs among [first, stop) for node values within
        ``radii`` of ``centre`` (per node): their count (stopping once it passes ``cap``: then the
        screen is not built anyway), and with ``fill`` their positions written to
        ``active[offset:]``. (One loop: with the test in a function of its own returning a bool,
        numba's loop ran 20x slower, 47 against 2.3 ns per arc. Computing every arc's test without
        branches made the counting pass faster and the filling pass slower: bench/README.md,
        session 25.)"""
        j = offset
        for k in range(first, stop):
            e = np.uintp(k)
            frozen = False
            if x[e] == 0 and x0[e] == 0 and _at(lv, e) == 0:
                t, h = np.uintp(tail[e]), np.uintp(head[e])
                st, sh = np.float64(centre[t]), np.float64(centre[h])
                room = np.float64(radii[t]) + np.float64(radii[h])
                scale = np.float64(_at(d2, e)) if _is_vector(d2) else 1.0
                ce = np.float64(_at(c, e))
                slack = 8.0 * unit * (abs(ce) + (abs(st) + abs(sh) + room) * scale)
                frozen = ce - (st - sh + room) * scale > slack  # False for a NaN
            if not frozen:
                if fill:
                    active[j] = k
                j += 1
                if j - offset > cap:
                    break
        return j - offset

    @_jit
    def _screen(tail, head, centre, radii, x, x0, c, lv, d2, unit, offsets, active, fill, cap):
        """:func:`_scan` over P = offsets.shape[0] contiguous arc chunks on this thread: counts in
        ``offsets`` (``fill`` False), or the positions written from ``offsets`` on (``fill``)."""
        n, chunks = x.shape[0], offsets.shape[0]
        for p in range(chunks):
            count = _scan(n * p // chunks, n * (p + 1) // chunks, tail, head, centre, radii, x, x0, c, lv, d2,
                          unit, offsets[p], active, fill, cap)
            if not fill:
                offsets[p] = count

    @_pjit
    def _screen_parallel(tail, head, centre, radii, x, x0, c, lv, d2, unit, offsets, active, fill, cap):
        """:func:`_screen` with the chunks on numba's threads."""
        n, chunks = x.shape[0], offsets.shape[0]
        for p in numba.prange(chunks):
            count = _scan(n * p // chunks, n * (p + 1) // chunks, tail, head, centre, radii, x, x0, c, lv, d2,
                          unit, offsets[p], active, fill, cap)
            if not fill:
                offsets[p] = count

def node_values(y, d1, d2s):
    """s = fl(fl(y d1) d2s), the node values loop 1 puts in its table (``network_fused``'s
    ``_prepare_rows``; NumPy multiplies element by element, the same two roundings)."""
    values = np.multiply(y, d1)
    values *= d2s
    return values


def _carve(count: int, dtypes) -> list:
    """Vectors of ``count`` entries of each of ``dtypes``, views into one allocation (8-byte aligned)."""
    sizes = [-(-count * np.dtype(t).itemsize // 8) * 8 for t in dtypes]
    block = pages.block(max(sum(sizes), 8))
    parts, start = [], 0
    for t, size in zip(dtypes, sizes, strict=True):
        parts.append(block[start:start + count * np.dtype(t).itemsize].view(t))
        start += size
    return parts


class Screen:
    """The active arcs of one centre and its radii: their positions and short copies of their data."""

    def __init__(self, active, indices, columns):
        self.active = active
        self.indices = indices  # the active arcs' row indices: (tail, head), or the layout's own
        self.columns = columns  # (x, x0, c, lv, uv, d2) of the active arcs (scalars stay scalars)
        self.spare = None  # a short x no iterate holds any more (see ArcScreening._screened_iteration)
        self.range_starts = {}  # threads -> the first active column of each thread's range (network_fused_mmcf)
        self.own_rows = []  # the (y, A x) this screen's last iteration wrote
        self.free_rows = []  # row vectors it wrote before that, which nothing holds any more


class ArcScreening:
    """Chunks of screened iterations for one :class:`~scotopt.kernels.network_fused.FusedNetworkStep`
    (module docstring). Keeps the nodes' radii between chunks; counters for tests and benchmarks.

    ``nodes`` (float32, one per node) holds the drift of the last chunk between chunks; during a
    chunk with per-node radii it holds them (:meth:`_first_screen` turns the one into the other
    in place), during one with one radius it is scratch (:meth:`_grown`); None before the first
    chunk's end."""

    def __init__(self, step):
        self.step = step
        self.nodes = None
        self.per_node_screens = 0  # screens built with a radius per node (:meth:`_first_screen`)
        self.screened_iterations = 0
        self.violations = 0
        self.active_sum = 0.0  # sum over screened iterations of the active share

    def run(self, params, data, vectors, x0, y0, ax0, tau, sigma, neg_sigma, coefficients):
        """``len(coefficients)`` iterations from (x, y, A x) = ``vectors`` (a list, emptied once the
        operands are checked) with the anchor (x0, y0, A x0); ``coefficients`` = the (a, b, anchor)
        of each. Returns (x, y, A x), or None (not of the supported form; ``vectors`` untouched).
        A KeyboardInterrupt leaves with ``partial`` = (x, y, A x, iterations done)."""
        step = self.step
        if nf.numba is None:
            return None
        operands = step._operands(params, data, *vectors, x0, y0, ax0)
        if operands is None:
            return None
        tail, head, columns, rows = operands
        vectors.clear()
        dt = step.dtype
        d2s = columns[5] if np.ndim(columns[5]) == 0 and step.fold_scalar_d2 else dt.type(1)
        d1v = rows[4]
        sizes = tuple(dt.type(v) for v in (tau, sigma, neg_sigma))
        unit = float(np.finfo(dt).eps) / 2.0
        state = [columns[0], rows[0], rows[1]]  # x (whole, or the active arcs' with ``short``), y, A x
        done = 0
        short = False
        try:
            centre = self._centre(rows[0], d1v, d2s)
            screen, radii = self._first_screen(tail, head, columns, centre, unit)
            if screen is not None:
                columns[0] = None  # the screen has the active arcs' x; state[0] holds x until replaced
            violated = False
            for a, b, anchor in coefficients:
                scalars = (*sizes, dt.type(a), dt.type(b), dt.type(anchor))
                if screen is None:
                    state = self._full_iteration(tail, head, columns, rows, scalars)
                else:
                    state = self._screened_iteration(screen, rows, scalars)
                    short = True
                    self.screened_iterations += 1
                    self.active_sum += screen.active.shape[0] / max(step.E, 1)
                done += 1
                rows[0], rows[1] = state[1], state[2]
                # unscreened iterations need no test: the drift at the chunk's end sets the next
                # radii (a grid where the screen never pays spent 3 % of its time testing)
                if screen is not None and self._outside(state[1], d1v, d2s, centre, radii):
                    # the iteration just run was exact (its y was inside); the next one's is not
                    self.violations += 1
                    violated = True
                    state[0], short = self._expand(screen, state[0]), False
                    columns[0] = state[0]
                    radii = self._grown(state[1], d1v, d2s, centre, radii)
                    centre = self._centre(state[1], d1v, d2s)
                    screen = self._build(tail, head, columns, centre, radii, unit)
                    if screen is not None:
                        columns[0] = None
                elif screen is None:
                    columns[0] = state[0]
            if short:
                state[0], short = self._expand(screen, state[0]), False
            self._record_drift(state[1], d1v, d2s, centre, violated, radii)
            return tuple(state)
        except KeyboardInterrupt as interrupt:
            if short:
                state[0] = self._expand(screen, state[0])
            interrupt.partial = (*state, done)
            raise

    def _first_screen(self, tail, head, columns, centre, unit):
        """The chunk's first screen and its radii, from the last chunk's drift d (``nodes``):
        one radius RADIUS_GROWTH max_u d_u at every node (a broadcast view); where that leaves
        too many arcs active, a radius per node, Delta_v = RADIUS_GROWTH max(d_v, RADIUS_FLOOR
        max_u d_u), in place in ``nodes``, if at most PER_NODE_MAX_ACTIVE of the arcs are active
        then (at 10 % the early screens' short vectors raised the peak RSS of a whole 10^6 solve
        from 62-65 to 67 B/arc; at 5 % it stayed at 62-65). (None, None) before the first
        chunk's end or after a drift that is not finite."""
        drift = self.nodes
        if drift is None:
            return None, None
        top = float(drift.max()) if drift.shape[0] else 0.0
        if not np.isfinite(top):
            self.nodes = None
            return None, None
        radii = self._one_radius(RADIUS_GROWTH * top)
        screen = self._build(tail, head, columns, centre, radii, unit)
        if screen is None and PER_NODE_RADII:
            np.maximum(drift, drift.dtype.type(RADIUS_FLOOR * top), out=drift)
            drift *= drift.dtype.type(RADIUS_GROWTH)
            radii = drift
            most = min(self._per_node_max_active(), self._max_active())
            screen = self._build(tail, head, columns, centre, radii, unit, most)
            self.per_node_screens += screen is not None
        return screen, radii

    def _one_radius(self, radius):
        return np.broadcast_to(np.float32(radius), (self.step.rows,))

    def _grown(self, y, d1, d2s, centre, radii):
        """The radii after a violation at ``y``: per node, max(Delta_v, RADIUS_GROWTH g_v) (the
        nodes that moved get room); one radius, max(RADIUS_GROWTH Delta, max_v g_v)."""
        if radii is self.nodes:
            _record_gaps(y, d1, d2s, centre, radii, radii, True, RADIUS_GROWTH)
            return radii
        worst = _record_gaps(y, d1, d2s, centre, radii, self.nodes, False, 0.0)  # ``nodes``: scratch here
        return self._one_radius(max(RADIUS_GROWTH * float(radii[0]), worst))

    def _record_drift(self, y, d1, d2s, centre, violated, radii):
        """``nodes`` = the chunk's drift per node d_v: the gap g_v at its end from the centre, and
        where a violation moved the centre, at least the drift its radius was made of:
        d_v = max(g_v, Delta_v / RADIUS_GROWTH) (:func:`_record_gaps`)."""
        if self.nodes is None:
            self.nodes = np.empty(y.shape[0], dtype=np.float32)
        factor = 1.0 / RADIUS_GROWTH if violated and radii is not None else 0.0
        _record_gaps(y, d1, d2s, centre, self.nodes if radii is None else radii, self.nodes, False, factor)

    def _centre(self, y, d1, d2s):
        return node_values(y, d1, d2s)

    def _build(self, tail, head, columns, centre, radii, unit, most=None):
        """The :class:`Screen` of ``centre`` and ``radii``, or None (no radii yet, more active arcs
        than the share ``most``, default :data:`MAX_ACTIVE_FRACTION`)."""
        if radii is None:
            return None
        step = self.step
        chunks = nf.parallel_chunks(step.E)
        counts = np.zeros(chunks, dtype=np.int64)
        index_type = np.int32 if step.E < 2**31 else np.int64
        cap = int((self._max_active() if most is None else most) * step.E)
        self._scan(tail, head, centre, radii, columns, unit, counts, np.empty(0, index_type), False, cap)
        total = int(counts.sum())
        if total > cap:
            return None
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        # one block for the positions and every short copy (a spare x included): one allocation
        # per screen, none per iteration, so the heap does not fragment over a solve
        vectors = [k for k, v in enumerate(columns) if np.ndim(v) != 0]
        index_types = self._index_types(tail, head)
        parts = _carve(total, [np.dtype(index_type), *index_types]
                       + [columns[k].dtype for k in vectors] + [columns[0].dtype])
        active = parts[0]
        self._scan(tail, head, centre, radii, columns, unit, offsets, active, True, step.E)
        step.release_columns()  # the whole-column outputs are not needed until the chunk ends
        indices = parts[1:1 + len(index_types)]
        self._short_indices(tail, head, active, indices)
        short = list(columns)
        for k, part in zip(vectors, parts[1 + len(index_types):-1], strict=True):
            np.take(columns[k], active, out=part)
            short[k] = part
        screen = Screen(active, indices, short)
        screen.spare = parts[-1]
        return screen

    # The layout: how a column meets the rows. One commodity: arc a at rows tail[a] (+1) and
    # head[a] (-1). Subclasses (``network_fused_mmcf``'s ``CouplingScreening``) override these.

    def _max_active(self):
        """The largest share of active columns a screen may leave (else the chunk runs unscreened)."""
        return MAX_ACTIVE_FRACTION

    def _per_node_max_active(self):
        """The same for a screen with a radius per node (:meth:`_first_screen`)."""
        return PER_NODE_MAX_ACTIVE

    def _scan(self, tail, head, centre, radii, columns, unit, offsets, active, fill, cap):
        """The active arcs' count per chunk into ``offsets`` (``fill`` False), or their positions
        into ``active`` from ``offsets`` on (``fill``): :func:`_screen`."""
        x, x0, c, lv, uv, d2 = columns
        scan = _screen_parallel if offsets.shape[0] > 1 else _screen
        scan(tail, head, centre, radii, x, x0, c, lv, d2, unit, offsets, active, fill, cap)

    def _index_types(self, tail, head):
        """The dtypes of a screen's short index vectors."""
        return [tail.dtype, head.dtype]

    def _short_indices(self, tail, head, active, out):
        """The active arcs' row indices into ``out`` (vectors of :meth:`_index_types`)."""
        np.take(tail, active, out=out[0])
        np.take(head, active, out=out[1])

    def _run_screened(self, screen, rows, scalars, outputs):
        """One iteration over the active arcs into ``outputs``; False where the kernels failed."""
        step = self.step
        n = screen.active.shape[0]
        # one shared node table with the node loops on the threads where the active arcs are
        # fewer than the nodes and the nodes many (NETGEN 10^7: 9.2 against 10.9 s of screened
        # iterations over 2000 iterations, medians of 4 pairs); at 10^6 (125 k nodes) one thread
        one_table = ONE_TABLE and n <= step.V and step.V >= nf.PARALLEL_MIN_ARCS
        tail, head = screen.indices

        def run(chunks):
            step._iterate(chunks, True, tail, head, screen.columns, rows, scalars, outputs, shared_table=one_table)

        return step._launch(run, arcs=step.V if one_table else n)

    def _full_iteration(self, tail, head, columns, rows, scalars):
        """One iteration over every arc: [x+, y+, (A x)+]."""
        outputs = self.step._run_operands(tail, head, columns, rows, scalars, True)
        if outputs is None:
            raise RuntimeError("fused network kernels failed during a screened chunk")
        return list(outputs)

    def _outside(self, y, d1, d2s, centre, radii):
        """The number of nodes outside their radius (:func:`_outside`), on numba's threads from
        2^18 nodes on (falling back to this thread where they are busy or failed)."""
        count = []

        def run(chunks):
            count[:] = [_outside_parallel(y, d1, d2s, centre, radii, chunks) if chunks > 1
                        else _outside(y, d1, d2s, centre, radii)]

        if not self.step._launch(run, arcs=y.shape[0]):
            raise RuntimeError("fused network kernels failed during a screened chunk")
        return int(count[0])

    def _screened_iteration(self, screen, rows, scalars):
        # the x of two iterations ago is free (only the screen holds it): a chunk allocates no
        # short vector per iteration (heap fragmentation: RSS)
        outputs = (screen.spare, self._row_output(screen), self._row_output(screen))
        if not self._run_screened(screen, rows, scalars, outputs):
            raise RuntimeError("fused network kernels failed during a screened chunk")
        screen.spare, screen.columns[0] = screen.columns[0], outputs[0]
        # this iteration's (y, A x) came in as the last one's outputs when the screen made them:
        # nothing else holds them now, so the next iteration writes into them
        screen.free_rows, screen.own_rows = screen.own_rows, [outputs[1], outputs[2]]
        return list(outputs)

    def _row_output(self, screen):
        """A row vector for a screened iteration's output: one the screen made two iterations ago
        (free, see :meth:`_screened_iteration`), else a new one. Node vectors of 0.5-5 MB come
        from the heap; a new pair per iteration left its pages scattered (RSS at 10^6 arcs)."""
        if screen.free_rows:
            return screen.free_rows.pop()
        return np.empty(self.step.rows, dtype=self.step.dtype)

    def _expand(self, screen, x_short):
        """The whole x: zero on the frozen arcs, ``x_short`` on the active ones. Ends ``screen``: its
        short copies go before the whole vector exists (the peak of a screened chunk)."""
        screen.indices = screen.columns = screen.spare = None
        full = self.step._column_output()
        full.fill(0)
        full[screen.active] = x_short
        return full
