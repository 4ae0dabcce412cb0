"""Tail-block sizes of the blocked arc order (``arc_order.blocked_order``), timed step by step on a
NETGEN solve's own operands, the sizes alternating in blocks of iterations in one process
(bench/README.md, "Tail blocks sized to the caches", session 32).

    python bench/network_block_ab.py ARCS BLOCKS PER_BLOCK SIZES   # e.g. 1e8 6 3 524288,32768 (~6 min)

A 2-iteration float32 solve (``screening=False``) of the model in the blocked order hands over its
fused step and operands (``network_ab.captured_step``). Each size in SIZES (nodes per tail block)
gets the arcs re-sorted to its blocked order (tail and head side by side, cost and capacity side
by side, x and x0 permuted alike) and an iterate of its own: its steps carry (x, y, A x) from one
to the next as the solver does, and every size computes the same iterates up to the order in
which a node's arcs are summed (the script prints how far the sizes' y end apart). Each block
runs PER_BLOCK whole iterations (loops 1-3 on all threads) of one size, the order swapped every
other block; the first step of each block is left out of the medians (it runs loop 1 and checks
the new tail's order). Prints per size the median and minimum time per step and the medians of
loops 1-2 and loop 3 per call.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from network_ab import captured_step, print_step_table, time_kernels  # noqa: E402

from scotopt.kernels import network_fused as nf  # noqa: E402
from scotopt.models import arc_order  # noqa: E402
from scotopt.models.generators import netgen_min_cost_flow  # noqa: E402


def side_by_side_copy(first, second, order):
    pair = np.empty((order.shape[0], 2), dtype=np.result_type(first.dtype, second.dtype))
    pair[:, 0], pair[:, 1] = first[order], second[order]
    return pair[:, 0], pair[:, 1]


def permuted(column, order):
    return column if np.ndim(column) == 0 else column[order]


def variant(captured, size):
    """The step operands in the blocked order of ``size`` nodes per tail block, and outputs."""
    tail, head, columns, rows = captured["tail"], captured["head"], captured["columns"], captured["rows"]
    order = arc_order.blocked_order(np.ascontiguousarray(tail), np.ascontiguousarray(head), captured["step"].V, size)
    new_tail, new_head = side_by_side_copy(tail, head, order)
    c, uv = side_by_side_copy(columns[2], columns[4], order)
    new_columns = [columns[0][order], columns[1][order], c, permuted(columns[3], order), uv,
                   permuted(columns[5], order)]
    new_rows = [r.copy() if np.ndim(r) else r for r in rows]
    return {"tail": new_tail, "head": new_head, "columns": new_columns, "rows": new_rows,
            "outputs": [np.empty_like(new_columns[0]), np.empty_like(rows[0]), np.empty_like(rows[1])]}


def main():
    arcs, blocks, per_block = int(float(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
    sizes = [int(float(s)) for s in sys.argv[4].split(",")]
    model = netgen_min_cost_flow(arcs // 8, arcs, seed=0, arc_order="blocked")
    captured = captured_step(model)
    del model
    step, scalars = captured["step"], captured["scalars"]
    variants = {size: variant(captured, size) for size in sizes}
    del captured
    kernel_times = time_kernels(nf, {"_arc_pass_parallel": "arcs", "_node_pass_parallel": "nodes"})
    chunks = nf.parallel_chunks(step.E)
    results = {size: {"step": [], "arcs": [], "nodes": []} for size in sizes}
    for block in range(blocks):
        for size in sizes if block % 2 == 0 else sizes[::-1]:
            v = variants[size]
            columns, rows, outputs = v["columns"], v["rows"], v["outputs"]
            for k in range(per_block):
                kernel_times["arcs"].clear()
                kernel_times["nodes"].clear()
                started = time.perf_counter()
                step._iterate(chunks, True, v["tail"], v["head"], columns, rows, scalars, tuple(outputs))
                seconds = time.perf_counter() - started
                if k > 0:
                    results[size]["step"].append(seconds)
                    results[size]["arcs"].extend(kernel_times["arcs"])
                    results[size]["nodes"].extend(kernel_times["nodes"])
                # (x, y, A x) of the next step; the old ones are this size's next outputs
                (columns[0], outputs[0]), (rows[0], outputs[1]), (rows[1], outputs[2]) = (
                    (outputs[0], columns[0]), (outputs[1], rows[0]), (outputs[2], rows[1]))
    print(f"{step.E} arcs, {step.V} nodes, {chunks} threads, {blocks} blocks of {per_block} steps per size")
    print_step_table(results, "block nodes")
    first = variants[sizes[0]]["rows"][0]
    print("max |y - y of the first size|:", max(float(np.max(np.abs(variants[s]["rows"][0] - first))) for s in sizes))


if __name__ == "__main__":
    main()
