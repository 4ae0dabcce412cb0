"""Loop 1 in every step, or done by the previous step's loop 3 (``FusedNetworkStep.refresh_tables``),
timed step by step on a NETGEN solve's own operands, the two variants alternating in blocks of
iterations in one process (bench/README.md, "Loop 1 inside loop 3 ...", session 30).

    python bench/network_refresh_ab.py ARCS BLOCKS [PER_BLOCK]    # e.g. 1e8 8 (~2 min), 1e6 40 8

A 2-iteration float32 solve (``screening=False``) hands over its fused step and operands (the
last call of ``FusedNetworkStep._iterate``); then each block runs PER_BLOCK (default 4) whole
iterations (loops 1-3 on all threads) of one variant, the iterate carried from step to step as
the solver does, and the variants alternate (order swapped every other block). The first step of
each refresh block runs loop 1 (its y is not the last y+): it is timed but left out of the
medians, as is the first step of each block without refresh. Prints per variant the median and
minimum time per step and the medians of loops 1-2 and loop 3 per call.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from network_ab import captured_step, time_kernels  # noqa: E402

from scotopt.kernels import network_fused as nf  # noqa: E402
from scotopt.models.generators import netgen_min_cost_flow  # noqa: E402

arcs, blocks = int(float(sys.argv[1])), int(sys.argv[2])
per_block = int(sys.argv[3]) if len(sys.argv) > 3 else 4
model = netgen_min_cost_flow(arcs // 8, arcs, seed=0)
captured = captured_step(model)
step = captured["step"]
kernel_times = time_kernels(nf, {"_arc_pass_parallel": "arcs", "_node_pass_parallel": "nodes"})
chunks = nf.parallel_chunks(step.E)
columns, rows = captured["columns"], captured["rows"]
results = {"loop 1 each step": {"step": [], "arcs": [], "nodes": []},
           "refreshed by loop 3": {"step": [], "arcs": [], "nodes": []}}
for block in range(blocks):
    order = list(results) if block % 2 == 0 else list(results)[::-1]
    for variant in order:
        step.refresh_tables = variant == "refreshed by loop 3"
        for k in range(per_block):
            outputs = (step._column_output(), *step._row_outputs())
            kernel_times["arcs"].clear()
            kernel_times["nodes"].clear()
            started = time.perf_counter()
            step._iterate(chunks, True, captured["tail"], captured["head"], columns, rows, captured["scalars"],
                          outputs)
            seconds = time.perf_counter() - started
            if k > 0:  # the block's first step runs loop 1 in both variants
                results[variant]["step"].append(seconds)
                results[variant]["arcs"].extend(kernel_times["arcs"])
                results[variant]["nodes"].extend(kernel_times["nodes"])
            columns[0], rows[0], rows[1] = outputs  # x, y, A x of the next step
print(f"{arcs} arcs, {chunks} threads, {blocks} blocks of {per_block} steps per variant")
print("| variant | step ms median | step ms min | loops 1-2 ms median | loop 3 ms median |")
print("|---|---|---|---|---|")
for variant, times in results.items():
    print(f"| {variant} | {1e3 * statistics.median(times['step']):.2f} | {1e3 * min(times['step']):.2f} "
          f"| {1e3 * statistics.median(times['arcs']):.2f} | {1e3 * statistics.median(times['nodes']):.2f} |")
