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


def inventory_model(scenarios: int):
    """The seeded two-echelon distribution network of the inventory cases."""
    from scotopt.models.inventory_instances import distribution_network

    return distribution_network(2, 3, 2, 6, scenarios, seed=1)


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
    if case.startswith("inventory"):  # "inventory": 8 scenarios; "inventoryS": S scenarios
        return inventory_model(int(case[len("inventory"):] or 8)).to_lp()
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


def sharded_products(case: str, devices: int = 4) -> dict:
    """max |sharded product - host product| of a scaled operator on random vectors, both ways, with
    the padding slots of the input filled with nonzeros (a padding entry must not reach a real one);
    ``padding``: max |value| the products leave in padding slots (they must stay 0)."""
    import jax
    import numpy as np
    import scipy.sparse as sp

    from scotopt.distributed import sharded_placement
    from scotopt.kernels.inventory import InventoryOperator, InventoryStructure

    rng = np.random.default_rng(5)
    if case.startswith("inventory"):  # every row and column kind: storage, lanes, expediting, lead times
        # "inventory_ops": 8 scenarios; "inventoryS_ops": S (padding slots when the devices do not divide S)
        S, T, N, P, L = int(case[len("inventory"):-len("_ops")] or 8), 4, 3, 2, 4
        structure = InventoryStructure(S, T, N, P, rng.integers(0, N, L), rng.integers(0, T + 1, L),
                                       sp.csr_matrix(sp.random(N, L, density=0.5, random_state=1)),
                                       rng.uniform(0.5, 2, P), rng.uniform(0.5, 2, P), True, True, True, True)
        A = InventoryOperator(structure).diagonal_scaling(2, 1.0)[0]
    else:
        A = sp.random(30, 17, density=0.3, random_state=2, format="csr")
    x, y = rng.standard_normal(A.shape[1]), rng.standard_normal(A.shape[0])
    from scotopt.distributed.operator import fetch

    with jax.enable_x64(True):
        placement = sharded_placement(devices)
        op = placement.operator(A, np.float64)
        forward = fetch(op.matvec(placement.columns(x, np.float64, fill=5.0)))
        adjoint = fetch(op.rmatvec(placement.rows(y, np.float64, fill=3.0)))
    rows, columns = placement.partition.rows, placement.partition.columns
    padding = max(np.abs(forward[rows.source < 0]).max(initial=0.0),
                  np.abs(adjoint[columns.source < 0]).max(initial=0.0))
    return {"case": case, "forward": float(np.abs(rows.gather(forward) - A @ x).max()),
            "adjoint": float(np.abs(columns.gather(adjoint) - A.T @ y).max()), "padding": float(padding)}


def lagrangian(devices: int = 4) -> dict:
    """Resource sharing, K boxes coupled by sum_k x_k <= b: the bound of the batch split over the
    devices against the same oracle on one device (same multipliers path, same bound)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from scotopt.distributed.batch import sharded_oracle
    from scotopt.solvers.lagrangian import LagrangianOptions, solve_lagrangian

    rng = np.random.default_rng(0)
    K, n = 10, 6  # 10 subproblems on 4 devices: two padded rows
    data = {"c": -rng.uniform(1, 5, (K, n)), "u": rng.uniform(1, 3, (K, n))}
    b = 0.3 * data["u"].sum(axis=0)

    def solve_one(item, lam):  # min (c + lam) x over 0 <= x <= u
        reduced = item["c"] + lam
        x = jnp.where(reduced < 0, item["u"], 0.0)
        return x, reduced @ x, x

    options = LagrangianOptions(max_iterations=200)
    with jax.enable_x64(True):
        results = [solve_lagrangian(sharded_oracle(solve_one, data, b, devices=d), "<=", n, method="polyak",
                                    options=options, multipliers=jnp.zeros(n)) for d in (1, devices)]
    return {"case": "lagrangian", "bound": [r.lower_bound for r in results],
            "iterations": [r.iterations for r in results]}


# the two newsvendor items (N(100, 20^2), h=1, p=9, c=1; N(50, 10^2), h=2, p=8, c=2), repeated
_NEWSVENDOR_ITEMS = {"mean": [100.0, 50.0], "std": [20.0, 10.0], "cost": [1.0, 2.0], "holding": [1.0, 2.0],
                     "penalty": [9.0, 8.0], "purchase_cost": [0.0, 0.0]}


def newsvendor_items(indices) -> dict:
    """``make_data``: items ``indices`` of the issue's two items repeated (item i is item i mod 2), each
    built from its index alone. With 3 copies and budget 3 x 180 the budget's price is the issue's."""
    import numpy as np

    return {name: np.asarray(values)[np.asarray(indices) % 2] for name, values in _NEWSVENDOR_ITEMS.items()}


def lagrangian_factory(devices: int = 4) -> dict:
    """The newsvendor oracle of items built per process (``sharded_oracle_from_factory``), the stacked
    ``sharded_oracle`` and the host ``BudgetNewsvendor.oracle`` at the same multipliers (7 items: one
    padded slot on 4 devices), the indices make_data was given, the volume algorithm's multiplier on
    the factory oracle, and the errors of bad make_data results."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from scotopt.distributed.batch import sharded_oracle, sharded_oracle_from_factory
    from scotopt.models.newsvendor import BudgetNewsvendor, newsvendor_item
    from scotopt.solvers.lagrangian import LagrangianOptions, solve_lagrangian
    from scotopt.status import InvalidProblemError

    K = 7
    calls = []

    def make_data(indices):
        calls.append(indices.tolist())
        return newsvendor_items(indices)

    model = BudgetNewsvendor(**newsvendor_items(np.arange(K)), budget=630.0)
    out = {"case": "lagrangian_factory", "values": [], "subgradients": [], "x": []}
    with jax.enable_x64(True):
        factory = sharded_oracle_from_factory(newsvendor_item, make_data, K, [model.budget], devices=devices)
        stacked = sharded_oracle(newsvendor_item, model.items(np.arange(K)), [model.budget], devices=devices)
        for lam in (0.0, 1.5, 3.38067, 7.0):
            results = [factory(jnp.array([lam])), stacked(jnp.array([lam])), model.oracle(np.array([lam]))]
            out["values"].append([float(r[1]) for r in results])
            out["subgradients"].append([float(np.asarray(r[2])[0]) for r in results])
            local = factory.local_rows(results[0][0])
            out["x"].append([[float(local[k]) for k in range(K)]] + [np.asarray(r[0]).tolist() for r in results[1:]])
        x = factory(jnp.array([1.0]))[0]
        out["calls"], out["local_subproblems"] = calls, factory.local_subproblems
        out["x_layout"] = [list(x.shape), str(x.sharding.spec)]
        results = [solve_lagrangian(oracle, "<=", 1, method="volume", options=LagrangianOptions(max_iterations=1000),
                                    multipliers=start)
                   for oracle, start in ((factory, jnp.zeros(1)), (model.oracle, np.zeros(1)))]
        out["multiplier"] = [float(r.multipliers[0]) for r in results]
        out["bound"] = [r.lower_bound for r in results]
        errors = {}
        for name, bad in (("rows", lambda idx: {"mean": np.zeros(len(idx) + 1)}), ("scalar", lambda idx: 1.0),
                          ("raises", lambda idx: (_ for _ in ()).throw(InvalidProblemError("no such item")))):
            try:
                sharded_oracle_from_factory(newsvendor_item, bad, K, [1.0], devices=devices)
            except InvalidProblemError as exc:
                errors[name] = str(exc)
        for count in (0, 2.5):
            try:
                sharded_oracle_from_factory(newsvendor_item, make_data, count, [1.0], devices=devices)
            except InvalidProblemError as exc:
                errors[f"count {count}"] = str(exc)
        out["errors"] = errors
    return out


def consensus(devices: int = 4) -> dict:
    """Consensus ADMM with the scenario blocks on one device and split over ``devices`` (7 LP blocks:
    one padded block on 4 devices; 6 QP blocks over a 2 x 2 user mesh), and each problem's
    extensive form solved by an independent solver (HiGHS for the LP, CVXPY/Clarabel for the QP)."""
    import jax
    import numpy as np
    from problems import highs_solve
    from test_admm import cvxpy_solve
    from test_consensus import scenario_inventory, scenario_qp

    from scotopt.solvers.admm.consensus import extensive_form, solve_consensus

    out = {"case": "consensus", "devices": devices}
    for name, (blocks, p, k) in (("lp", scenario_inventory(7)), ("qp", scenario_qp(6))):
        extensive = extensive_form(blocks, p, k)
        reference = highs_solve(extensive)[1] if name == "lp" else cvxpy_solve(extensive)
        where = {"devices": devices}
        if name == "qp" and devices == 4:
            where = {"mesh": jax.sharding.Mesh(np.asarray(jax.devices()[:4]).reshape(2, 2), ("a", "b"))}
        results = [solve_consensus(blocks, p, k, eps=1e-6, time_limit=120, backend="jax", **w)
                   for w in ({"devices": 1}, where)]
        out[name] = {
            "status": [r.status.name for r in results], "objective": [r.fun for r in results],
            "reference": reference, "rounds": [r.extra["rounds"] for r in results],
            "z_diff": float(np.max(np.abs(results[0].extra["z"] - results[1].extra["z"]))),
            "x_diff": float(np.max(np.abs(results[0].x - results[1].x))),
            "kkt": [r.kkt_error for r in results], "shards": [r.extra["shards"] for r in results],
            "blocks_per_device": results[1].extra["blocks_per_device"], "device": results[1].device,
        }
    return out


def sharded_flow(rows: int = 12, cols: int = 15, seed: int = 3) -> dict:
    """The shard-by-shard grid on every device against the same instance assembled on one device."""
    from scotopt.distributed.sharded_flow import solve_sharded_flow
    from scotopt.models.sharded_grid import assemble_grid, grid_shard

    sharded = solve_sharded_flow(lambda d, P: grid_shard(rows, cols, d, P, seed=seed), eps=1e-6)
    whole = assemble_grid(rows, cols, seed=seed).solve(backend="jax", eps=1e-6)
    return {"case": "sharded_flow", "status": [whole.status.name, sharded.status.name],
            "objective": [whole.objective, sharded.objective], "shards": sharded.shards}


def multihost_lagrangian(process_id: int) -> dict:
    """The budget newsvendor's Lagrangian dual over 6 items (the issue's two, three times; budget 540)
    on the processes' devices, each process building only the items of its own batch slots."""
    import jax
    import jax.numpy as jnp

    from scotopt.distributed.batch import sharded_oracle_from_factory
    from scotopt.models.newsvendor import newsvendor_item
    from scotopt.solvers.lagrangian import LagrangianOptions, solve_lagrangian

    built = []

    def make_data(indices):
        built.extend(indices.tolist())
        return newsvendor_items(indices)

    with jax.enable_x64(True):
        oracle = sharded_oracle_from_factory(newsvendor_item, make_data, 6, [540.0])
        result = solve_lagrangian(oracle, "<=", 1, method="volume", options=LagrangianOptions(max_iterations=1000),
                                  multipliers=jnp.zeros(1))
        q = oracle.local_rows(oracle(jnp.asarray(result.multipliers))[0])  # this process's items' orders
    return {"case": "lagrangian", "process": process_id, "built": sorted(built),
            "local_subproblems": oracle.local_subproblems, "status": result.status.name,
            "multipliers": result.multipliers.tolist(), "lower_bound": result.lower_bound,
            "iterations": result.iterations, "solve_time": result.solve_time,
            "q": {k: float(v) for k, v in q.items()}, "processes": jax.process_count(),
            "devices": len(jax.devices())}


def multihost(kind: str, coordinator: str, num_processes: int, process_id: int) -> dict:
    """One process of a ``jax.distributed`` job on localhost (``tests/test_sharded.py`` starts them):
    ``consensus``: 7 scenario LP blocks of which this process builds only its own; ``lagrangian``:
    :func:`multihost_lagrangian`."""
    import numpy as np

    from scotopt.distributed.consensus import solve_consensus_distributed
    from scotopt.distributed.multihost import initialize
    from scotopt.models.newsvendor import scenario_newsvendor_factory

    initialize(coordinator, num_processes, process_id)
    if kind == "lagrangian":
        return multihost_lagrangian(process_id)
    make_block, p, k = scenario_newsvendor_factory(7)
    built = []

    def tracked(s):
        built.append(s)
        return make_block(s)

    result = solve_consensus_distributed(tracked, 7, p, k, eps=1e-6, time_limit=120)
    return {"case": kind, "process": process_id, "status": result.status.name, "objective": result.objective,
            "dual_objective": result.dual_objective, "kkt": result.kkt_error, "rounds": result.rounds,
            "z": result.z.tolist(), "built": sorted(built), "blocks": {s: v.tolist() for s, (v, _) in
                                                                        result.blocks.items()},
            "shards": result.shards, "processes": result.processes,
            "y_finite": bool(all(np.isfinite(y).all() for _, y in result.blocks.values()))}


def main(cases) -> None:
    if cases and cases[0] == "multihost":  # multihost KIND HOST:PORT PROCESSES ID
        print(json.dumps(multihost(cases[1], cases[2], int(cases[3]), int(cases[4]))), flush=True)
        return
    for case in cases:
        name, _, devices = case.partition(":")
        if name == "sharded_flow":
            out = sharded_flow()
        elif name == "consensus":
            out = consensus(int(devices or 4))
        elif name == "lagrangian_factory":
            out = lagrangian_factory(int(devices or 4))
        elif name == "lagrangian":
            out = lagrangian(int(devices or 4))
        elif name.endswith("_ops"):
            out = sharded_products(name, int(devices or 4))
        elif name.endswith("32"):
            out = compare(name[:-2], int(devices or 4), "float32", 1e-4)
        else:
            out = compare(name, int(devices or 4))
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
