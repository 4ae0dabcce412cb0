"""Two parts of an evaluation, each timed against the code before on a NETGEN solve's own state,
the variants alternating in one process (bench/README.md, "Tail with head, cost with capacity
...", session 31):

- the column KKT sums (``FusedNetworkStep.column_kkt``) with the tails prefetched (blocked arc
  order: tails out of order) against heads only (``_tails_unsorted`` answering False);
- the dual Farkas test's column terms (``algorithm.dual_ray_measures``, run twice in every
  ``ray_check_period``-th evaluation) by the compiled pass ``dual_ray_columns`` against A~^T y
  formed block by block and reduced by NumPy.

    python bench/network_evaluation_parts_ab.py ARCS ROUNDS    # e.g. 1e8 6 (~3 min), 1e7 12

A 2-iteration float32 solve (``screening=False``) hands over its operator, data and last state.
Prints per variant the median and minimum seconds per call.
"""

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import scotopt  # noqa: E402
from scotopt.kernels import network_fused as nf  # noqa: E402
from scotopt.models.generators import netgen_min_cost_flow  # noqa: E402
from scotopt.options import PDHGOptions  # noqa: E402
from scotopt.solvers.pdhg import algorithm as alg  # noqa: E402

arcs, rounds = int(float(sys.argv[1])), int(sys.argv[2])
model = netgen_min_cost_flow(arcs // 8, arcs, seed=0)
captured = {}
evaluate = alg.evaluate


def capture(xp, op, data, params, s):
    captured.update(xp=xp, op=op, data=data, state=s)
    return evaluate(xp, op, data, params, s)


alg.evaluate = capture
scotopt.solve(model.lp, dtype="float32", eps=1e-4, iteration_limit=2, options=PDHGOptions(screening=False))
alg.evaluate = evaluate
xp, op, data, s = captured["xp"], captured["op"], captured["data"], captured["state"]
step = op._fused
x_hat, y_hat, _ = alg.pdhg_map(xp, op, data, s.x, s.y, s.ax, s.omega)
inf = alg.infinite_bounds(xp, data)
dy = y_hat - s.y
unsorted = nf.FusedNetworkStep._tails_unsorted


def heads_only(step, tail):
    return False


def column_kkt(prefetch_tails):
    nf.FusedNetworkStep._tails_unsorted = unsorted if prefetch_tails else heads_only
    try:
        return op.fused_column_kkt(data, x_hat, y_hat)
    finally:
        nf.FusedNetworkStep._tails_unsorted = unsorted


def dual_ray(compiled):
    fused = (lambda inv: op.fused_dual_ray_columns(data, dy, inv)) if compiled else None
    return alg.dual_ray_measures(xp, data, dy, lambda: alg._reduced_product(xp, op, dy), inf, fused)


variants = {
    "column KKT sums, heads prefetched": lambda: column_kkt(False),
    "column KKT sums, tails prefetched too": lambda: column_kkt(True),
    "dual ray terms, A^T y by blocks + NumPy": lambda: dual_ray(False),
    "dual ray terms, compiled pass": lambda: dual_ray(True),
}
answers = {name: run() for name, run in variants.items()}
print("dual ray (objective, infeasibility):", [float(v) for v in answers["dual ray terms, A^T y by blocks + NumPy"]],
      [float(v) for v in answers["dual ray terms, compiled pass"]], flush=True)
times = {name: [] for name in variants}
for r in range(rounds):
    for name in (list(variants) if r % 2 == 0 else list(variants)[::-1]):
        started = time.perf_counter()
        variants[name]()
        times[name].append(time.perf_counter() - started)
print(f"{arcs} arcs, {nf.parallel_chunks(step.E)} threads, {rounds} rounds")
print("| part | ms median | ms min |")
print("|---|---|---|")
for name, values in times.items():
    print(f"| {name} | {1e3 * statistics.median(values):.1f} | {1e3 * min(values):.1f} |")
np.testing.assert_allclose([float(v) for v in answers["dual ray terms, compiled pass"]],
                           [float(v) for v in answers["dual ray terms, A^T y by blocks + NumPy"]], rtol=1e-3)
