"""What an evaluation after a restart costs before and after session 30, and what the measured
first step of an epoch costs over a plain one, alternating in one process on a NETGEN solve's
own state (bench/README.md, "Loop 1 inside loop 3 ...", session 30).

    python bench/network_evaluation_ab.py ARCS ROUNDS    # e.g. 1e8 5 (~4 min), 1e7 15

A 64-iteration float32 solve (``screening=False``) hands over its first evaluation's arguments
(``algorithm.evaluate``). Each round then times, the order swapped every other round:
- ``evaluation before``: the evaluation with r0 pending (NaN, as after a restart), so it forms
  T of the anchor and its residual, the residual of T(z) from the vectors
  (``measures_residual`` off) and the four infinite-bound masks by ``isneginf`` /
  ``isposinf`` (the code of session 29);
- ``evaluation now``: r0 already measured by the epoch's first step, the masks as now;
- ``plain step`` and ``measured step``: one fused step without and with the residual's sums
  (``FusedNetworkStep.measured``; its loops accumulate in float64).
Prints the medians and minima in ms.
"""

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from network_ab import use_session29_code  # noqa: E402

import scotopt  # noqa: E402
from scotopt.models.generators import netgen_min_cost_flow  # noqa: E402
from scotopt.options import PDHGOptions  # noqa: E402
from scotopt.solvers.pdhg import algorithm as alg  # noqa: E402

arcs, rounds = int(float(sys.argv[1])), int(sys.argv[2])
model = netgen_min_cost_flow(arcs // 8, arcs, seed=0)
captured = {}
evaluate = alg.evaluate


def capture(xp, op, data, params, s):
    captured.setdefault("args", (xp, op, data, params, s))
    return evaluate(xp, op, data, params, s)


alg.evaluate = capture
scotopt.solve(model.lp, dtype="float32", eps=1e-4, iteration_limit=64, options=PDHGOptions(screening=False))
alg.evaluate = evaluate
xp, op, data, params, state = captured.pop("args")
pending = state._replace(r0=np.asarray(np.nan, dtype=state.r0.dtype))
measured_r0 = state._replace(r0=np.asarray(1.0, dtype=state.r0.dtype))
tau, sigma, neg_sigma = alg._step_sizes(xp, data.eta, state.omega)
a, b, anchor, _, _ = alg._halpern_coefficients(xp, params.reflection, state.k, state.n)


def run_evaluation(s, session29):
    use_session29_code(session29)
    try:
        evaluate(xp, op, data, params, s)
    finally:
        use_session29_code(False)


cases = {
    "evaluation before": lambda: run_evaluation(pending, True),
    "evaluation now": lambda: run_evaluation(measured_r0, False),
    "plain step": lambda: op.fused_step(data, state, tau, sigma, neg_sigma, a, b, anchor),
    "measured step": lambda: op.fused_step(data, state, tau, sigma, neg_sigma, a, b, anchor, measure=True),
}
times = {name: [] for name in cases}
for r in range(rounds):
    for name in list(cases) if r % 2 == 0 else list(cases)[::-1]:
        started = time.perf_counter()
        cases[name]()
        times[name].append(time.perf_counter() - started)
        op.release_scratch()  # an evaluation starts so; a step keeps nothing from another case
print(f"{arcs} arcs, {rounds} rounds")
print("| case | ms median | ms min |")
print("|---|---|---|")
for name, values in times.items():
    print(f"| {name} | {1e3 * statistics.median(values):.1f} | {1e3 * min(values):.1f} |")
