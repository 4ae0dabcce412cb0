"""Tail with head and cost with capacity side by side (two (E, 2) arrays, ``side_by_side``), or
the four as separate vectors, timed step by step on a NETGEN solve's own operands, the two
layouts alternating in blocks of iterations in one process (bench/README.md, "Tail with head,
cost with capacity", session 31).

    python bench/network_pairs_ab.py ARCS BLOCKS [PER_BLOCK]    # e.g. 1e8 10 (~3 min), 1e7 12 5

A 2-iteration float32 solve (``screening=False``) hands over its fused step and operands (the
last call of ``FusedNetworkStep._iterate``): the model is built in the blocked order with tail
and head side by side at any size (``arc_order.PAIR_MIN_NODES`` set to 0 here; solves block
from 2^18 nodes and pair from 2^21) and the solver then keeps c and the capacities side by side.
The separate layout gets contiguous copies of the four (16 B/arc more memory). Each block runs
PER_BLOCK (default 4) whole iterations (loops 1-3 on all threads) of one layout, the iterate
carried from step to step as the solver does (both layouts compute the same values), the order
swapped every other block; the first step of each block is left out of the medians (it runs
loop 1 and checks the new tail's order). Prints per layout the median and minimum time per step
and the medians of loops 1-2 and loop 3 per call.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from network_ab import alternating_steps, captured_step  # noqa: E402

from scotopt.kernels import network_fused as nf  # noqa: E402
from scotopt.models import arc_order  # noqa: E402
from scotopt.models.generators import netgen_min_cost_flow  # noqa: E402

arcs, blocks = int(float(sys.argv[1])), int(sys.argv[2])
per_block = int(sys.argv[3]) if len(sys.argv) > 3 else 4
arc_order.PAIR_MIN_NODES = 0  # side by side at any size: the layouts are what is compared
model = netgen_min_cost_flow(arcs // 8, arcs, seed=0, arc_order="blocked")
captured = captured_step(model)
columns, rows = captured["columns"], captured["rows"]
paired = {"tail": captured["tail"], "head": captured["head"], "c": columns[2], "uv": columns[4]}
print("side by side:", nf.side_by_side(paired["tail"], paired["head"]), nf.side_by_side(paired["c"], paired["uv"]),
      flush=True)
layouts = {"side by side": paired, "separate": {name: np.ascontiguousarray(v) for name, v in paired.items()}}


def laid_out(layout):
    def set_up():
        columns[2], columns[4] = layout["c"], layout["uv"]
        return layout["tail"], layout["head"]
    return set_up


alternating_steps(captured, {name: laid_out(layout) for name, layout in layouts.items()}, blocks, per_block, "layout")
