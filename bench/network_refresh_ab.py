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

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from network_ab import alternating_steps, captured_step  # noqa: E402

from scotopt.models.generators import netgen_min_cost_flow  # noqa: E402

arcs, blocks = int(float(sys.argv[1])), int(sys.argv[2])
per_block = int(sys.argv[3]) if len(sys.argv) > 3 else 4
model = netgen_min_cost_flow(arcs // 8, arcs, seed=0)
captured = captured_step(model)
step = captured["step"]


def refreshed(on):
    def set_up():
        step.refresh_tables = on
        return captured["tail"], captured["head"]
    return set_up


alternating_steps(captured, {"loop 1 each step": refreshed(False), "refreshed by loop 3": refreshed(True)}, blocks,
                  per_block)
