"""Sharded-versus-single-device solves, run as a script in a subprocess with forced host devices.

``XLA_FLAGS=--xla_force_host_platform_device_count=4`` must be set before JAX is imported, and
the pytest process has imported it with one device, so ``tests/test_sharded.py`` runs
``python tests/sharded_cases.py CASE...`` and reads one JSON line per case from stdout.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def _lp(case: str):
    from scotopt.io import load
    from scotopt.io.dimacs import read_dimacs
    from scotopt.models.generators import grid_min_cost_flow, grid_multicommodity

    if case == "grid":
        return grid_min_cost_flow(10, 12, seed=1).lp
    if case == "mmcf":
        return grid_multicommodity(5, 6, 4, seed=2).lp
    if case == "afiro":
        return load(SHARED_DATA / "netlib" / "afiro.mps.gz")
    if case == "dimacs":
        return read_dimacs(SHARED_DATA / "dimacs_mcf" / "gridgen_frangio_Network3.min.gz").lp
    raise ValueError(case)


def compare(case: str, devices: int = 4, dtype: str = "float64", eps: float = 1e-6) -> dict:
    """Single-device and sharded JAX solves of one case: statuses, objectives, iterations, layout."""
    import jax
    import numpy as np

    import scotopt

    lp = _lp(case)
    single = scotopt.solve(lp, backend="jax", dtype=dtype, eps=eps)
    where = {"devices": devices}
    if devices == 4:  # a user's 2 x 2 mesh, flattened to 4 shards
        where = {"mesh": jax.sharding.Mesh(np.asarray(jax.devices()[:4]).reshape(2, 2), ("a", "b"))}
    sharded = scotopt.solve(lp, backend="jax", dtype=dtype, eps=eps, **where)
    return {
        "case": case, "devices": devices, "dtype": dtype,
        "status": [single.status.name, sharded.status.name],
        "objective": [single.primal_objective, sharded.primal_objective],
        "iterations": [single.iterations, sharded.iterations],
        "x_diff": float(np.max(np.abs(single.x - sharded.x), initial=0.0)),
        "device": sharded.device, "extra": {k: v for k, v in sharded.extra.items() if k != "step_size"},
    }


def sharded_flow(rows: int = 12, cols: int = 15, seed: int = 3) -> dict:
    """The shard-by-shard grid on every device against the same instance assembled on one device."""
    from scotopt.distributed.sharded_flow import solve_sharded_flow
    from scotopt.models.sharded_grid import assemble_grid, grid_shard

    sharded = solve_sharded_flow(lambda d, P: grid_shard(rows, cols, d, P, seed=seed), eps=1e-6)
    whole = assemble_grid(rows, cols, seed=seed).solve(backend="jax", eps=1e-6)
    return {"case": "sharded_flow", "status": [whole.status.name, sharded.status.name],
            "objective": [whole.objective, sharded.objective], "shards": sharded.shards}


def main(cases) -> None:
    for case in cases:
        name, _, devices = case.partition(":")
        if name == "sharded_flow":
            out = sharded_flow()
        elif name.endswith("32"):
            out = compare(name[:-2], int(devices or 4), "float32", 1e-4)
        else:
            out = compare(name, int(devices or 4))
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
