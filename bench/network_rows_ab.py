"""The fused step's row outputs reused (as it does now) or new every iteration (as before
session 29), alternating in one process on one NETGEN model (bench/README.md, "Where a 10^8
iteration's time goes").

    python bench/network_rows_ab.py ARCS ROUNDS [ITERATIONS]    # e.g. 1e8 4 (~8 min), 1e7 6

Each round solves (float32, eps 1e-4, ``screening=False``, ITERATIONS iterations, default 128)
once per variant, the order swapped every round, and records the solve's seconds after setup and
the median per call of loop 2 (``_arc_pass_parallel``) and loop 3 (``_node_pass_parallel``),
timed by wrapping the kernels. Prints each solve and the medians over the rounds.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from network_ab import time_kernels  # noqa: E402

import scotopt  # noqa: E402
from scotopt.kernels import network_fused as nf  # noqa: E402
from scotopt.models.generators import netgen_min_cost_flow  # noqa: E402
from scotopt.options import PDHGOptions  # noqa: E402

arcs, rounds = int(float(sys.argv[1])), int(sys.argv[2])
iterations = int(sys.argv[3]) if len(sys.argv) > 3 else 128
model = netgen_min_cost_flow(arcs // 8, arcs, seed=0)
options = PDHGOptions(screening=False)
calls = time_kernels(nf, {"_arc_pass_parallel": "arc", "_node_pass_parallel": "node"})
reused = nf.FusedNetworkStep._row_outputs


def new_rows(step):
    return np.empty(step.rows, dtype=step.dtype), np.empty(step.rows, dtype=step.dtype)


scotopt.solve(model.lp, dtype="float32", eps=1e-4, iteration_limit=2, options=options)  # load the kernels
results = {"reused": [], "new": []}
for r in range(rounds):
    for variant in ("reused", "new") if r % 2 == 0 else ("new", "reused"):
        nf.FusedNetworkStep._row_outputs = reused if variant == "reused" else new_rows
        calls["arc"].clear()
        calls["node"].clear()
        started = time.perf_counter()
        result = scotopt.solve(model.lp, dtype="float32", eps=1e-4, iteration_limit=iterations, options=options)
        seconds = time.perf_counter() - started - result.setup_time
        row = (seconds, np.median(calls["arc"]) if calls["arc"] else np.nan,
               np.median(calls["node"]) if calls["node"] else np.nan)
        results[variant].append(row)
        print(f"{variant:6s} solve {row[0]:.2f} s, loop 2 {1e3 * row[1]:.1f} ms, loop 3 {1e3 * row[2]:.1f} ms",
              flush=True)
nf.FusedNetworkStep._row_outputs = reused
for variant, rows in results.items():
    solve, arc, node = np.median(np.array(rows), axis=0)
    print(f"{variant:6s} medians: solve {solve:.2f} s, loop 2 {1e3 * arc:.1f} ms, loop 3 {1e3 * node:.1f} ms")
