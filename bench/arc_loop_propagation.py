"""One float32 Halpern iteration on synthetic NETGEN-like arcs, two ways (bench/README.md,
"Propagation blocking", session 25):

- **fused**: the solver's kernels, ``network_fused._arc_pass_parallel`` (loops 1-2, a (V, 2)
  node table per thread, arcs in the blocked order of ``scotopt/models/arc_order.py`` with its
  default blocks and head groups since session 34: every tail block sweeps the head side of its
  thread's table) then ``_node_pass_parallel`` (loop 3);
  Loop 1 runs in every iteration here, as in the solver before session 30 (which does it inside
  loop 3: ``FusedNetworkStep.refresh_tables``).
- **propagation-blocked**: the arcs cut into tiles (tail block, head block); one shared node
  table; an arc buffer q holds s_head(a) going into the arc pass and x^_a coming out of it:

  1. arc pass, tail blocks on the threads:  g_a = s_tail(a) - q_a,  x^_a and x+_a as in loop 2,
     q_a = x^_a,  t_tail(a) += x^_a;
  2. head pass, head blocks on the threads: t_head(a) -= q_a over the block's tiles, loop 3's row
     for the block's nodes (y+, (A x)+, s = y+ d1, t = 0), then q_a = s_head(a) over the tiles.

  No thread sweeps a node table: the head side is touched one cache-sized head block at a time,
  at the price of q (4 B/arc of memory, ~12 B/arc of traffic) and a second pass over the heads.
  This is propagation blocking (Beamer, Asanovic & Patterson, "Reducing PageRank communication
  via propagation blocking", IPDPS 2017) with the bins fixed by the arc order, so only values move.
  Since session 34 the library runs it (``network_fused``'s propagation-blocked step, on arcs in
  ``arc_order.tiled_order``); this prototype stays as the measurement that led there.

    python bench/arc_loop_propagation.py ARCS ROUNDS [HEAD_BLOCK_LOG2 [TAIL_BLOCK_LOG2]]
    # e.g. 1e7 15, or 1e8 5 (~6 GB, ~80 s); blocks default to 2^16 head and the fused order's tail blocks

V = ARCS / 8 nodes, tails uniform and sorted, heads uniform; the same arcs and data in both
orders, 10 % of x nonzero. Checks that both give the same x+ (the same operations on each arc)
and y+ up to the order of the node sums; then alternates the two in one process and prints the
median and minimum per iteration.
"""

import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scotopt.kernels import network_fused as nf  # noqa: E402
from scotopt.models.arc_order import blocked_order, default_block_nodes  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_arcs import iteration_data  # noqa: E402

E = int(float(sys.argv[1]))
reps = int(sys.argv[2])
V = E // 8
HEAD_BLOCK = 1 << (int(sys.argv[3]) if len(sys.argv) > 3 else 16)
TAIL_BLOCK = 1 << int(sys.argv[4]) if len(sys.argv) > 4 else default_block_nodes(V, E)
FUSED_BLOCK = default_block_nodes(V, E)
THREADS = 2
f32 = np.float32
D = nf.PREFETCH_DISTANCE
_prefetch, _primal, _dual_row = nf._prefetch, nf._primal, nf._dual_row
jit = numba.njit(nogil=True, boundscheck=False)
pjit = numba.njit(nogil=True, boundscheck=False, parallel=True)


@jit
def tail_block_arcs(first, stop, table, tail, q, x, x0, c, lv, uv, tau, a, b, anchor, x_out):
    """Step 1 over arcs [first, stop) (one or more whole tail blocks), tails prefetched."""
    ahead = max(first, stop - D)
    for k in range(first, stop):
        e = np.uintp(k)
        if k < ahead:
            _prefetch(table, np.uintp(tail[e + np.uintp(D)]))
        i = np.uintp(tail[e])
        xh = _primal(e, table[i, 0] - q[e], x, x0, c, lv, uv, tau, a, b, anchor, True, x_out)
        q[e] = xh
        table[i, 1] += xh


@pjit
def arc_pass(tiles, tail, table, q, x, x0, c, lv, uv, tau, a, b, anchor, x_out, threads):
    tail_blocks, head_blocks = tiles.shape[0], tiles.shape[1] - 1
    for p in numba.prange(threads):
        first, stop = tail_blocks * p // threads, tail_blocks * (p + 1) // threads
        if stop > first:
            tail_block_arcs(tiles[first, 0], tiles[stop - 1, head_blocks], table, tail, q, x, x0, c, lv, uv,
                            tau, a, b, anchor, x_out)


@jit
def head_block_rows(j, tiles, head, table, q, d1, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor,
                    y_out, ax_out, block):
    """Step 2 for head block j: its arcs' x^ out of the table, its nodes' rows, s back into q."""
    for i in range(tiles.shape[0]):
        for k in range(tiles[i, j], tiles[i, j + 1]):
            e = np.uintp(k)
            table[np.uintp(head[e]), 1] -= q[e]
    for k in range(j * block, min((j + 1) * block, y.shape[0])):
        v = np.uintp(k)
        _dual_row(v, table[v, 1] * d1[v], y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, True,
                  y_out, ax_out)
        table[v, 0] = y_out[v] * d1[v]
        table[v, 1] = 0
    for i in range(tiles.shape[0]):
        for k in range(tiles[i, j], tiles[i, j + 1]):
            e = np.uintp(k)
            q[e] = table[np.uintp(head[e]), 0]


@pjit
def head_pass(tiles, head, table, q, d1, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor, y_out, ax_out,
              block, threads):
    head_blocks = tiles.shape[1] - 1
    for p in numba.prange(threads):
        for j in range(head_blocks * p // threads, head_blocks * (p + 1) // threads):
            head_block_rows(j, tiles, head, table, q, d1, y, y0, ax, ax0, lb, ub, sigma, neg_sigma, a, b, anchor,
                            y_out, ax_out, block)


def blocked(tail, head, tail_block, head_block):
    """Stable order by (tail // tail_block, head // head_block) and the tile starts:
    tiles[i, j] = first arc of tile (i, j)."""
    tail_blocks, head_blocks = -(-V // tail_block), -(-V // head_block)
    key = (tail // tail_block).astype(np.int64) * head_blocks + head // head_block
    order = np.argsort(key, kind="stable")
    counts = np.bincount(key, minlength=tail_blocks * head_blocks).reshape(tail_blocks, head_blocks)
    tiles = np.zeros((tail_blocks, head_blocks + 1), np.int64)
    np.cumsum(counts, axis=1, out=tiles[:, 1:])
    tiles += np.concatenate([[0], np.cumsum(counts.sum(axis=1))[:-1]])[:, None]
    return order, tiles


data = iteration_data(E)
tail, head, x_in, c_in, u_in = (data[k] for k in ("tail", "head", "x", "c", "u"))
y, y0, d1, ax, ax0, lb = (data[k] for k in ("y", "y0", "d1", "ax", "ax0", "lb"))
tau, sigma, a, b, anchor = (data[k] for k in ("tau", "sigma", "a", "b", "anchor"))
del data

fused_order = blocked_order(tail, head, V)  # the library's blocked order: head groups, default blocks
fused = {k: v[fused_order] for k, v in dict(tail=tail, head=head, x=x_in, c=c_in, u=u_in).items()}
fused_out = dict(x=np.empty(E, f32), y=np.empty(V, f32), ax=np.empty(V, f32))
node_tables = np.zeros((THREADS, V, 2), f32)
prop_order, tiles = blocked(tail, head, TAIL_BLOCK, HEAD_BLOCK)
prop = {k: v[prop_order] for k, v in dict(tail=tail, head=head, x=x_in, c=c_in, u=u_in).items()}
prop_out = dict(x=np.empty(E, f32), y=np.empty(V, f32), ax=np.empty(V, f32))
table = np.zeros((V, 2), f32)
q = np.empty(E, f32)
print(f"{E:.0e} arcs, {V} nodes; fused: tail blocks of {FUSED_BLOCK} nodes; propagation: tiles of "
      f"{TAIL_BLOCK} x {HEAD_BLOCK} nodes ({tiles.shape[0]} x {tiles.shape[1] - 1})", flush=True)


def fused_iteration():
    f, o = fused, fused_out
    nf._arc_pass_parallel(f["tail"], f["head"], node_tables, y, d1, f["x"], f["x"], f["c"], f32(0), f["u"],
                          f32(1), tau, a, b, anchor, True, o["x"], True, True, None)
    nf._node_pass_parallel(node_tables, d1, f32(1), y, y0, ax, ax0, lb, lb, sigma, -sigma, a, b, anchor, True,
                           o["y"], o["ax"], False, None)


def prepare_propagation():
    """q = s_head (what the head pass of the previous iteration leaves), t = 0."""
    table[:, 0] = y * d1
    table[:, 1] = 0
    np.take(table[:, 0], prop["head"], out=q)


def propagation_iteration():
    p, o = prop, prop_out
    arc_pass(tiles, p["tail"], table, q, p["x"], p["x"], p["c"], f32(0), p["u"], tau, a, b, anchor, o["x"],
             THREADS)
    head_pass(tiles, p["head"], table, q, d1, y, y0, ax, ax0, lb, lb, sigma, -sigma, a, b, anchor, o["y"],
              o["ax"], HEAD_BLOCK, THREADS)


fused_iteration()
prepare_propagation()
propagation_iteration()
x_fused = np.empty(E, f32)
x_fused[fused_order] = fused_out["x"]
x_prop = np.empty(E, f32)
x_prop[prop_order] = prop_out["x"]
assert np.array_equal(x_fused, x_prop), "x+ differs"
scale = np.abs(fused_out["y"]).max()
y_gap = np.abs(fused_out["y"] - prop_out["y"]).max() / scale
assert y_gap < 1e-5, f"y+ differs by {y_gap:.1e}"
print(f"same x+; y+ within {y_gap:.1e} (order of the node sums)", flush=True)

times = {"fused": [], "propagation": []}
for _ in range(reps):
    for name, run in (("fused", fused_iteration), ("propagation", propagation_iteration)):
        start = time.perf_counter()
        run()
        times[name].append(time.perf_counter() - start)
for name, values in times.items():
    print(f"{name:12s} median {1e3 * np.median(values):.1f} ms  min {1e3 * min(values):.1f}", flush=True)
