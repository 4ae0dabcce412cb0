"""One float32 Halpern iteration on synthetic NETGEN-like arcs: the fused kernels against a
head-split variant with one shared node table (bench/README.md, session 29).

- **fused**: the solver's kernels (``network_fused._arc_pass_parallel``, then
  ``_node_pass_parallel``): P arc chunks, each thread with a (V, 2) table of its own (s, t); in
  the blocked order every tail block sweeps its thread's whole table.
  Loop 1 runs in every iteration here, as in the solver before session 30 (which does it inside
  loop 3: ``FusedNetworkStep.refresh_tables``).
- **split**: every thread takes, in every tail block, the arcs whose head lies in its 1/P of the
  nodes (heads ascend within a block, so that is one contiguous cut). The head side is one
  shared pair table (s_v, t^head_v), each line written by one thread only; the tails add into a
  thread's own vector t^tail_p. Each tail block then sweeps the table once in all (each thread
  its part), and the two threads share the block's s slice, so blocks can be twice as large for
  the same cache. Loop 1 and loop 3 run over node ranges (t_v = sum_p t^tail_p,v + t^head_v).

    python bench/arc_loop_head_split.py ARCS ROUNDS [SPLIT_BLOCK_LOG2 ...]
    # e.g. 1e7 11, or 1e8 5 19 20 (~8 GB)

V = ARCS / 8 nodes, tails uniform, heads uniform, 10 % of x nonzero. Checks that x+ is the same
(the same operations on each arc) and y+ equal up to the order of the node sums, then alternates
the variants in one process: median and minimum per iteration.
"""

import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scotopt.kernels import network_fused as nf  # noqa: E402
from scotopt.models.arc_order import default_block_nodes  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_arcs import iteration_data  # noqa: E402

E = int(float(sys.argv[1]))
reps = int(sys.argv[2])
SPLIT_LOGS = [int(v) for v in sys.argv[3:]] or [20]
V = E // 8
THREADS = 2
D = nf.PREFETCH_DISTANCE
f32 = np.float32
_prefetch, _primal, _dual_row = nf._prefetch, nf._primal, nf._dual_row
jit = numba.njit(nogil=True, boundscheck=False)
pjit = numba.njit(nogil=True, boundscheck=False, parallel=True)


@jit
def _split_arc(e, table, tt, tail, head, x, x0, c, uv, tau, a, b, anchor, x_out):
    i, j = np.uintp(tail[e]), np.uintp(head[e])
    xh = _primal(e, table[i, 0] - table[j, 0], x, x0, c, f32(0), uv, tau, a, b, anchor, True, x_out)
    tt[i] += xh
    table[j, 1] -= xh


@jit
def split_segment(first, stop, table, tt, tail, head, x, x0, c, uv, tau, a, b, anchor, x_out):
    ahead = max(first, stop - D)
    for k in range(first, ahead):
        e = np.uintp(k)
        _prefetch(table, np.uintp(head[e + np.uintp(D)]))
        _prefetch(table, np.uintp(tail[e + np.uintp(D)]))
        _prefetch(tt, np.uintp(tail[e + np.uintp(D)]))
        _split_arc(e, table, tt, tail, head, x, x0, c, uv, tau, a, b, anchor, x_out)
    for k in range(ahead, stop):
        _split_arc(np.uintp(k), table, tt, tail, head, x, x0, c, uv, tau, a, b, anchor, x_out)


@pjit
def split_iteration(cuts, table, tt, tail, head, x, x0, c, uv, d1, y, y0, ax, ax0, lb, tau, sigma, a, b, anchor,
                    x_out, y_out, ax_out):
    threads = tt.shape[0]
    m = y.shape[0]
    for q in numba.prange(threads):  # loop 1 over node ranges
        for k in range(m * q // threads, m * (q + 1) // threads):
            v = np.uintp(k)
            table[v, 0] = y[v] * d1[v]
            table[v, 1] = 0
            for p in range(threads):
                tt[p, v] = 0
    for p in numba.prange(threads):  # loop 2: thread p's cut of every tail block
        for block in range(cuts.shape[0]):
            split_segment(cuts[block, p], cuts[block, p + 1], table, tt[p], tail, head, x, x0, c, uv, tau, a, b,
                          anchor, x_out)
    for q in numba.prange(threads):  # loop 3 over node ranges
        for k in range(m * q // threads, m * (q + 1) // threads):
            v = np.uintp(k)
            t = table[v, 1]
            for p in range(threads):
                t = t + tt[p, v]
            _dual_row(v, t * d1[v], y, y0, ax, ax0, lb, lb, sigma, -sigma, a, b, anchor, True, y_out, ax_out)


def blocked(tail, head, block):
    key = (tail // block).astype(np.int64) * V + head
    return np.argsort(key, kind="stable")


def head_cuts(tail, head, block, threads):
    """cuts[i, p] = first arc of block i with head >= p V / threads (line-aligned), cuts[i, P] = end."""
    blocks = -(-V // block)
    starts = np.searchsorted(tail // block, np.arange(blocks + 1))
    bounds = [((V * p // threads) + 15) // 16 * 16 for p in range(threads)]
    cuts = np.empty((blocks, threads + 1), np.int64)
    for i in range(blocks):
        segment = head[starts[i]:starts[i + 1]]
        cuts[i, :threads] = starts[i] + np.searchsorted(segment, bounds)
        cuts[i, threads] = starts[i + 1]
    return cuts


data = iteration_data(E)
tail0, head0, x_in, c_in, u_in = (data[k] for k in ("tail", "head", "x", "c", "u"))
y, y0, d1, ax, ax0, lb = (data[k] for k in ("y", "y0", "d1", "ax", "ax0", "lb"))
tau, sigma, a, b, anchor = (data[k] for k in ("tau", "sigma", "a", "b", "anchor"))
del data

variants = {}
FUSED_BLOCK = default_block_nodes(V, E)
order = blocked(tail0, head0, FUSED_BLOCK)
fused = dict(order=order, tail=tail0[order], head=head0[order], x=x_in[order], c=c_in[order], u=u_in[order],
             xo=np.empty(E, f32), yo=np.empty(V, f32), axo=np.empty(V, f32), tables=np.zeros((THREADS, V, 2), f32))
del order


def fused_iteration(f=fused):
    nf._arc_pass_parallel(f["tail"], f["head"], f["tables"], y, d1, f["x"], f["x"], f["c"], f32(0), f["u"], f32(1),
                          tau, a, b, anchor, True, f["xo"], True, True, None)
    nf._node_pass_parallel(f["tables"], d1, f32(1), y, y0, ax, ax0, lb, lb, sigma, -sigma, a, b, anchor, True,
                           f["yo"], f["axo"], False, None)


variants["fused"] = (fused, fused_iteration)
for log in SPLIT_LOGS:
    block = 1 << log
    if block == FUSED_BLOCK:  # the same order: share it
        s = dict(fused, xo=np.empty(E, f32), yo=np.empty(V, f32), axo=np.empty(V, f32))
    else:
        order = blocked(tail0, head0, block)
        s = dict(order=order, tail=tail0[order], head=head0[order], x=x_in[order], c=c_in[order], u=u_in[order],
                 xo=np.empty(E, f32), yo=np.empty(V, f32), axo=np.empty(V, f32))
        del order
    s.update(cuts=head_cuts(s["tail"], s["head"], block, THREADS), table=np.zeros((V, 2), f32),
             tt=np.zeros((THREADS, V), f32))

    def split_run(s=s):
        split_iteration(s["cuts"], s["table"], s["tt"], s["tail"], s["head"], s["x"], s["x"], s["c"], s["u"], d1, y,
                        y0, ax, ax0, lb, tau, sigma, a, b, anchor, s["xo"], s["yo"], s["axo"])

    variants[f"split 2^{log}"] = (s, split_run)
del tail0, head0
print(f"{E:.0e} arcs, {V} nodes; fused blocks of {FUSED_BLOCK} nodes", flush=True)

reference = None
for name, (data, run) in variants.items():
    run()
    x_plus = np.empty(E, f32)
    x_plus[data["order"]] = data["xo"]
    if reference is None:
        reference = (x_plus, data["yo"].copy())
        continue
    assert np.array_equal(x_plus, reference[0]), f"{name}: x+ differs"
    gap = np.abs(data["yo"] - reference[1]).max() / np.abs(reference[1]).max()
    assert gap < 1e-5, f"{name}: y+ differs by {gap:.1e}"
    print(f"{name}: same x+, y+ within {gap:.1e}", flush=True)

times = {name: [] for name in variants}
for _ in range(reps):
    for name, (_, run) in variants.items():
        start = time.perf_counter()
        run()
        times[name].append(time.perf_counter() - start)
for name, values in times.items():
    print(f"{name:12s} median {1e3 * np.median(values):.1f} ms  min {1e3 * min(values):.1f}", flush=True)
