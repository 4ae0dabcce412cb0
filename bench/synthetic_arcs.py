"""Synthetic NETGEN-like data for the arc-loop prototypes (``arc_loop_*.py``): E arcs on
V = E / 8 nodes, tails and heads uniform (tails sorted), 10 % of x nonzero, float32 costs and
capacities in [1, 100), one float32 node state, and the step's scalars."""

from __future__ import annotations

import numpy as np

f32 = np.float32


def iteration_data(arcs: int, seed: int = 0) -> dict:
    """tail, head (int32), x, c, u (per arc), y, y0, d1, ax, ax0, lb (per node) and tau, sigma,
    a, b, anchor (float32 scalars)."""
    nodes = arcs // 8
    rng = np.random.default_rng(seed)
    data = {"tail": np.sort(rng.integers(0, nodes, arcs).astype(np.int32)),
            "head": rng.integers(0, nodes, arcs).astype(np.int32)}
    x = np.zeros(arcs, f32)
    x[rng.random(arcs) < 0.1] = 1.0
    data.update(x=x, c=rng.uniform(1, 100, arcs).astype(f32), u=rng.uniform(1, 100, arcs).astype(f32))
    y = rng.standard_normal(nodes).astype(f32)
    data.update(y=y, y0=y.copy(), d1=np.ones(nodes, f32), ax=np.zeros(nodes, f32), ax0=np.zeros(nodes, f32),
                lb=rng.standard_normal(nodes).astype(f32))
    data.update(tau=f32(0.1), sigma=f32(0.1), a=f32(0.9), b=f32(0.05), anchor=f32(0.05))
    return data
