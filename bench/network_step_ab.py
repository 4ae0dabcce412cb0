"""Per-iteration time of the fused NETGEN iteration with and without the session-30 changes,
alternating in one process on one model (bench/README.md, "Loop 1 inside loop 3, cheaper
infinity masks").

    python bench/network_step_ab.py ARCS ROUNDS    # e.g. 1e8 3 (~10 min), 1e7 5

Variants:
- ``before``: the code of session 29: loop 1 fills the node tables at the start of every step,
  each evaluation forms the four infinite-bound masks with ``isneginf`` / ``isposinf``, and
  the fused kernels measure no residual (``measures_residual`` off: the evaluation after a
  restart forms T of the anchor, and every evaluation reduces T(z) - z from the vectors);
- ``now``: the code as it is (loop 3 leaves the tables ready for the next step, the masks by
  comparison and only where read, the residuals summed in the kernels).

Each round measures the compiled STREAM triad, then each variant (order reversed every other
round) much as the periter benchmark does (``bench/network.py periter``): a 64- and a
128-iteration float32 solve (eps 1e-4, ``screening=False``), the difference of their loop times
(``driver.iterate``: steps and evaluations; periter subtracts only the setup, and the final
float64 check varied by seconds here) over 64: steps plus one evaluation, amortised as in a
solve that checks every 64 iterations; the kernels of
both solves are timed per call by wrapping them (loops 1-2: ``_arc_pass_parallel``, loop 3:
``_node_pass_parallel``; evaluations' T maps included). Prints each measure, then per variant
the medians and minimum and the ratios to the traffic bound
(``scotopt.bench.roofline.network_bytes`` at the median triad).
"""

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from network_ab import time_kernels, use_session29_code  # noqa: E402

import scotopt  # noqa: E402
from scotopt.bench.machine import compiled_stream_triad  # noqa: E402
from scotopt.bench.roofline import network_bytes  # noqa: E402
from scotopt.kernels import network_fused as nf  # noqa: E402
from scotopt.models.generators import netgen_min_cost_flow  # noqa: E402
from scotopt.options import PDHGOptions  # noqa: E402
from scotopt.solvers.pdhg import driver  # noqa: E402

arcs, rounds = int(float(sys.argv[1])), int(sys.argv[2])
model = netgen_min_cost_flow(arcs // 8, arcs, seed=0)
options = PDHGOptions(screening=False)
VARIANTS = ("before", "now")


def use(variant):
    use_session29_code(variant == "before")


calls = time_kernels(nf, {"_arc_pass_parallel": "arcs", "_node_pass_parallel": "nodes"})


loop_seconds = []
iterate = driver.iterate


def timed_iterate(*args, **kwargs):
    started = time.perf_counter()
    try:
        return iterate(*args, **kwargs)
    finally:
        loop_seconds.append(time.perf_counter() - started)


driver.iterate = timed_iterate


def solve_seconds(iterations):
    """Seconds in the solve's loop (``driver.iterate``: the steps and the evaluations, not the
    setup or the final float64 check, whose time varied by seconds from one solve to the next
    on this machine)."""
    scotopt.solve(model.lp, dtype="float32", eps=1e-4, iteration_limit=iterations, options=options)
    return loop_seconds[-1]


for variant in VARIANTS:  # load the kernels, touch every path
    use(variant)
    solve_seconds(2)
per_iteration = {variant: [] for variant in VARIANTS}
kernels = {variant: {"arcs": [], "nodes": []} for variant in VARIANTS}
triads = []
for r in range(rounds):
    triads.append(compiled_stream_triad())
    for variant in list(VARIANTS) if r % 2 == 0 else list(VARIANTS)[::-1]:
        use(variant)
        calls["arcs"].clear()
        calls["nodes"].clear()
        short, long = solve_seconds(64), solve_seconds(128)
        per_iteration[variant].append((long - short) / 64)
        for key in calls:
            kernels[variant][key].extend(calls[key])
        print(f"round {r} {variant:8s} {1e3 * per_iteration[variant][-1]:.1f} ms/iter, kernels per call (median): "
              f"loops 1-2 {1e3 * np.median(calls['arcs']):.1f} ms, loop 3 {1e3 * np.median(calls['nodes']):.1f} ms "
              f"(triad {triads[-1]:.1f} GB/s)", flush=True)
use("now")
triads.append(compiled_stream_triad())
bandwidth = statistics.median(triads)
bound = network_bytes(model.lp.num_vars, model.num_nodes) / (bandwidth * 1e9)
print(f"{arcs} arcs, {model.num_nodes} nodes: median triad {bandwidth:.2f} GB/s, bound {1e3 * bound:.1f} ms")
print("| variant | ms/iter median | ms/iter min | ratio median | ratio min | loops 1-2 per call | loop 3 per call |")
print("|---|---|---|---|---|---|---|")
for variant, times in per_iteration.items():
    middle, best = statistics.median(times), min(times)
    arcs_ms, nodes_ms = (1e3 * np.median(kernels[variant][key]) for key in ("arcs", "nodes"))
    print(f"| {variant} | {1e3 * middle:.1f} | {1e3 * best:.1f} | {middle / bound:.3f} | {best / bound:.3f} "
          f"| {arcs_ms:.1f} | {nodes_ms:.1f} |")
print("all:", {v: [round(1e3 * t, 1) for t in ts] for v, ts in per_iteration.items()},
      "triads:", np.round(triads, 2).tolist())
