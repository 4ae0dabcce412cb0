"""Tail-block sizes and head groups of the blocked arc order timed inside whole solves: one NETGEN
model per variant (``netgen_min_cost_flow(..., arc_order="blocked", block_nodes=N,
head_groups=G)``), float32 solves of ITERATIONS iterations (``screening=False``) alternating
between the variants in one process, the order swapped every other round (bench/README.md, "Tail
blocks sized to the caches", session 32, and "Head groups", session 33).

    python bench/network_block_solve_ab.py ARCS ITERATIONS ROUNDS VARIANTS
    # VARIANTS: N or N:G, comma-separated; N = 0 for the default block size, G left out for the
    # default groups; "tiled" (or tiled:T) for the tiled order and its propagation-blocked steps;
    # e.g. 3e7 96 6 234375,32768 (~5 min), 1e8 64 4 0:1,0:2 (~15 min), 1e8 64 3 0,tiled

Where ``network_block_ab.py`` times steps on the operands of a solve's second iteration, this
times the steps a solve runs: per size the median over every solve's fused steps (its first
left out) of the step (``FusedNetworkStep._run``), loops 1-2 and loop 3, and the median over
the solves of (solve time - setup time) / ITERATIONS, which also counts the evaluation and the
final float64 check.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from network_ab import time_kernels  # noqa: E402

import scotopt  # noqa: E402
from scotopt.kernels import network_fused as nf  # noqa: E402
from scotopt.models.generators import netgen_min_cost_flow  # noqa: E402
from scotopt.options import PDHGOptions  # noqa: E402


def main():
    arcs, iterations, rounds = int(float(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
    sizes = sys.argv[4].split(",")
    models = {}
    for size in sizes:
        block, _, groups = size.partition(":")
        if block == "tiled":  # the tiled order (propagation-blocked steps); tiled:T for tiles of T nodes
            models[size] = netgen_min_cost_flow(arcs // 8, arcs, seed=0, arc_order="tiled",
                                                block_nodes=int(float(groups)) if groups else None)
            continue
        models[size] = netgen_min_cost_flow(arcs // 8, arcs, seed=0, arc_order="blocked",
                                            block_nodes=int(float(block)) or None,
                                            head_groups=int(groups) if groups else None)
    kernel_times = time_kernels(nf, {"_arc_pass_parallel": "arcs", "_node_pass_parallel": "nodes"})
    steps = time_kernels(nf.FusedNetworkStep, {"_run": "step"})["step"]
    results = {size: {"step": [], "arcs": [], "nodes": [], "per_iteration": []} for size in sizes}
    for round_ in range(rounds):
        for size in sizes if round_ % 2 == 0 else sizes[::-1]:
            steps.clear()
            kernel_times["arcs"].clear()
            kernel_times["nodes"].clear()
            started = time.perf_counter()
            result = scotopt.solve(models[size].lp, dtype="float32", eps=1e-4, iteration_limit=iterations,
                                   options=PDHGOptions(screening=False))
            seconds = time.perf_counter() - started
            kept = results[size]
            kept["step"].extend(steps[1:])
            if size.startswith("tiled"):  # its steps run neither loop; the calls are evaluations' T maps
                kept["arcs"].append(float("nan"))
                kept["nodes"].append(float("nan"))
            else:
                kept["arcs"].extend(kernel_times["arcs"][1:])
                kept["nodes"].extend(kernel_times["nodes"][1:])
            kept["per_iteration"].append((seconds - result.setup_time) / iterations)
            print(f"round {round_}, variant {size}: {seconds:.1f} s (setup {result.setup_time:.1f} s), "
                  f"step median {1e3 * statistics.median(steps[1:]):.1f} ms", flush=True)
    print(f"{arcs} arcs, {arcs // 8} nodes, {rounds} rounds of {iterations}-iteration solves per size")
    print("| block nodes[:head groups] | step ms median | loops 1-2 ms median | loop 3 ms median "
          "| (solve - setup) / iterations ms |")
    print("|---|---|---|---|---|")
    for size, kept in results.items():
        medians = [1e3 * statistics.median(kept[key]) for key in ("step", "arcs", "nodes", "per_iteration")]
        print(f"| {size} | " + " | ".join(f"{ms:.1f}" for ms in medians) + " |")


if __name__ == "__main__":
    main()
