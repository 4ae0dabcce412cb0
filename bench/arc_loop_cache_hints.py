"""The fused arc loop (loops 1-2 of ``network_fused``) on synthetic blocked arcs with cache hints
that might keep the tail slices in L3: the head-table prefetch non-temporal, bigger tail blocks,
and head sweeps that alternate direction from block to block.

    python bench/arc_loop_cache_hints.py ARCS ROUNDS     # e.g. 1e8 5 (~8 GB, ~3 min)

Variants (alternating in one process, numba's threads, one table per thread as in a solve):
- ``now``: blocks of ``default_block_nodes``, heads prefetched with high locality (the kernel);
- ``head nta``: the same arcs, the head prefetch non-temporal (locality 0);
- ``2B``, ``2B head nta``: blocks twice as large;
- ``zigzag``: blocks of ``default_block_nodes``, heads descending in odd blocks (the end of one
  sweep is the start of the next, still in cache).
"""

import sys
import time
from pathlib import Path

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scotopt.kernels import network_fused as nf  # noqa: E402
from scotopt.models.arc_order import default_block_nodes  # noqa: E402


def _prefetch_with(locality):
    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        indices = [args[1]] + [ir.Constant(args[1].type, 0)] * (array_type.ndim - 1)
        pointer = cgutils.get_item_pointer(context, builder, array_type, ary, indices, wraparound=False,
                                           boundscheck=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(pointer, i8p), ir.Constant(i32, 0), ir.Constant(i32, locality),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    @intrinsic
    def prefetch(typingctx, array, index):
        return types.void(array, index), codegen
    return prefetch


prefetch_nta = _prefetch_with(0)
prefetch_keep = nf._prefetch
_arc, _prepare_table = nf._arc, nf._prepare_table
D = nf.PREFETCH_DISTANCE


@numba.njit(nogil=True, boundscheck=False)
def chunk_variant(first, stop, st, tail, head, x, x0, c, lv, uv, d2, tau, a, b, anchor, x_out, nta):
    ahead = max(first, stop - D)
    for k in range(first, ahead):
        e = np.uintp(k)
        if nta:
            prefetch_nta(st, np.uintp(head[e + np.uintp(D)]))
        else:
            prefetch_keep(st, np.uintp(head[e + np.uintp(D)]))
        prefetch_keep(st, np.uintp(tail[e + np.uintp(D)]))
        _arc(e, st, tail, head, x, x0, c, lv, uv, d2, tau, a, b, anchor, True, x_out)
    for k in range(ahead, stop):
        _arc(np.uintp(k), st, tail, head, x, x0, c, lv, uv, d2, tau, a, b, anchor, True, x_out)


@numba.njit(nogil=True, boundscheck=False, parallel=True)
def pass_variant(tail, head, st, y, d1, x, x0, c, lv, uv, d2, tau, a, b, anchor, x_out, nta):
    chunks, n = st.shape[0], x.shape[0]
    for p in numba.prange(chunks):
        _prepare_table(y, d1, d2, st[p])
        chunk_variant(n * p // chunks, n * (p + 1) // chunks, st[p], tail, head, x, x0, c, lv, uv, d2, tau, a, b,
                      anchor, x_out, nta)


def blocked(tail, head, V, B, zigzag=False):
    block = tail.astype(np.int64) // B
    h = head.astype(np.int64)
    if zigzag:
        h = np.where(block % 2 == 1, V - 1 - h, h)
    order = np.argsort(block * V + h, kind="stable")
    return tail[order], head[order]


def main():
    E = int(float(sys.argv[1]))
    reps = int(sys.argv[2])
    V = E // 8
    rng = np.random.default_rng(0)
    B = default_block_nodes(V, E)
    tail0 = np.sort(rng.integers(0, V, E).astype(np.int32))
    head0 = rng.integers(0, V, E).astype(np.int32)
    orders = {"B": blocked(tail0, head0, V, B), "2B": blocked(tail0, head0, V, 2 * B),
              "zigzag": blocked(tail0, head0, V, B, zigzag=True)}
    del tail0, head0
    print(f"E = {E}, V = {V}, blocks of {B} nodes, {numba.get_num_threads()} threads", flush=True)
    f32 = np.float32
    x = np.zeros(E, f32)
    x[rng.random(E) < 0.1] = 1.0
    x0 = x.copy()
    c = rng.uniform(1, 100, E).astype(f32)
    uv = rng.uniform(1, 100, E).astype(f32)
    y = rng.standard_normal(V).astype(f32)
    d1 = np.ones(V, f32)
    out = np.empty(E, f32)
    st = np.zeros((numba.get_num_threads(), V, 2), f32)
    variants = {"now": ("B", False), "head nta": ("B", True), "2B": ("2B", False), "2B head nta": ("2B", True),
                "zigzag": ("zigzag", False)}
    times = {name: [] for name in variants}

    def run(name):
        order, nta = variants[name]
        tail, head = orders[order]
        t = time.perf_counter()
        pass_variant(tail, head, st, y, d1, x, x0, c, f32(0), uv, f32(1), f32(0.1), f32(0.9), f32(0.05), f32(0.05),
                     out, nta)
        return time.perf_counter() - t

    for name in variants:
        run(name)
    for _ in range(reps):
        for name in variants:
            times[name].append(run(name))
    for name in variants:
        print(f"{name:12s} median {1e3 * np.median(times[name]):7.1f} ms  min {1e3 * min(times[name]):7.1f}",
              flush=True)


if __name__ == "__main__":
    main()
