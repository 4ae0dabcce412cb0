"""The fused arc loop (``network_fused._arc_chunk``) with and without its prefetches, on
synthetic arcs in the blocked order (bench/README.md, "Memory of whole solves", session 24).

    python bench/arc_loop_prefetch.py ARCS ROUNDS     # e.g. 1e7 15, or 1e8 5 (~6 GB, ~1 min)

V = ARCS / 8 nodes, tails uniform and sorted, heads uniform, arcs sorted by (tail block of
``default_block_nodes`` nodes, head) as ``MinCostFlow`` keeps them from 2^18 nodes on; 10 % of x
nonzero. Loops 1-2 on numba's threads, the three variants alternating in one process; median and
minimum per call.
"""

import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scotopt.kernels import network_fused as nf  # noqa: E402
from scotopt.models.arc_order import default_block_nodes  # noqa: E402

E = int(float(sys.argv[1]))
V = E // 8
reps = int(sys.argv[2])
rng = np.random.default_rng(0)
B = default_block_nodes(V, E)
tail = np.sort(rng.integers(0, V, E).astype(np.int32))
head = rng.integers(0, V, E).astype(np.int32)
key = (tail.astype(np.int64) // B) * V + head
order = np.argsort(key, kind="stable")
tail, head = tail[order], head[order]
del key, order
print("blocks of", B, "nodes", flush=True)
f32 = np.float32
x = np.zeros(E, f32)
x[rng.random(E) < 0.1] = 1.0
x0 = x.copy()
c = rng.uniform(1, 100, E).astype(f32)
uv = rng.uniform(1, 100, E).astype(f32)
y = rng.standard_normal(V).astype(f32)
d1 = np.ones(V, f32)
out = np.empty(E, f32)
P = 2
st = np.zeros((P, V, 2), f32)
_arc, _prefetch, _prepare_table = nf._arc, nf._prefetch, nf._prepare_table
D = nf.PREFETCH_DISTANCE

@numba.njit(nogil=True, boundscheck=False)
def chunk_variant(first, stop, st, tail, head, x, x0, c, lv, uv, d2, tau, a, b, anchor, x_out, mode):
    ahead = max(first, stop - D)
    for k in range(first, ahead):
        e = np.uintp(k)
        if mode != 1:
            _prefetch(st, np.uintp(head[e + np.uintp(D)]))
        if mode != 2:
            _prefetch(st, np.uintp(tail[e + np.uintp(D)]))
        _arc(e, st, tail, head, x, x0, c, lv, uv, d2, tau, a, b, anchor, True, x_out)
    for k in range(ahead, stop):
        _arc(np.uintp(k), st, tail, head, x, x0, c, lv, uv, d2, tau, a, b, anchor, True, x_out)

@numba.njit(nogil=True, boundscheck=False, parallel=True)
def pass_variant(tail, head, st, y, d1, x, x0, c, lv, uv, d2, tau, a, b, anchor, x_out, mode):
    chunks, n = st.shape[0], x.shape[0]
    for p in numba.prange(chunks):
        _prepare_table(y, d1, d2, st[p])
        chunk_variant(n * p // chunks, n * (p + 1) // chunks, st[p], tail, head, x, x0, c, lv, uv, d2, tau, a, b,
                      anchor, x_out, mode)



def args(mode):
    return (tail, head, st, y, d1, x, x0, c, f32(0), uv, f32(1), f32(0.1), f32(0.9), f32(0.05), f32(0.05), out, mode)


names = {0: "both", 1: "tail only", 2: "head only"}
times = {m: [] for m in names}
for m in names:
    pass_variant(*args(m))
for _ in range(reps):
    for m in names:
        t = time.perf_counter()
        pass_variant(*args(m))
        times[m].append(time.perf_counter() - t)
for m in names:
    print(f"{names[m]:10s} median {1e3*np.median(times[m]):.1f} ms  min {1e3*min(times[m]):.1f}", flush=True)
