"""Sharded PDHG (scotopt.distributed): layouts in this process, solves in subprocesses.

Solves on several devices need ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` before JAX
is imported, so they run in a child (``tests/sharded_cases.py``), or in two children joined by
``jax.distributed`` on localhost (CPU collectives: gloo).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import scotopt
from scotopt.distributed.csr import RowPartition, balanced_row_blocks
from scotopt.distributed.layout import BlockLayout
from scotopt.distributed.network import NetworkPartition
from scotopt.models.generators import grid_multicommodity
from scotopt.models.sharded_grid import assemble_grid, grid_shard
from scotopt.status import InvalidOptionError
from tests.problems import highs_solve
from tests.test_network_operator import explicit

ROOT = Path(__file__).resolve().parents[1]


def _env(devices: int) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def _run_cases(*cases, timeout=600) -> list[dict]:
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "sharded_cases.py"), *cases], env=_env(4),
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _assert_same(out, rel=1e-6):
    assert out["status"] == ["OPTIMAL", "OPTIMAL"], out
    a, b = out["objective"]
    assert abs(a - b) <= rel * (1 + abs(a)), out


# ----------------------------------------------------------------------------- layouts (this process)


def test_block_layout_round_trip():
    layout = BlockLayout.contiguous(10, 4)
    assert layout.block == 3 and layout.padded_size == 12
    v = np.arange(10.0) + 1
    padded = layout.scatter(v, fill=-7.0)
    assert list(padded[-2:]) == [-7.0, -7.0]
    np.testing.assert_array_equal(layout.gather(padded), v)


def test_balanced_row_blocks_split_nonzeros_evenly():
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 50, 200)
    lengths[:5] = 400  # a few long rows at the top
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    bounds = balanced_row_blocks(indptr, 4)
    assert bounds[0] == 0 and bounds[-1] == 200 and np.all(np.diff(bounds) >= 0)
    per_block = np.diff(indptr[bounds])
    assert per_block.max() <= indptr[-1] / 4 + lengths.max()


def test_row_partition_covers_every_row_and_column_once():
    A = sp.random(37, 23, density=0.2, random_state=1, format="csr")
    part = RowPartition(A, 4)
    for layout, size in ((part.rows, 37), (part.columns, 23)):
        real = np.sort(layout.source[layout.source >= 0])
        np.testing.assert_array_equal(real, np.arange(size))


def test_network_partition_layout_covers_every_row_and_column_once():
    net = grid_multicommodity(3, 4, 3, seed=0).operator
    part = NetworkPartition(net, 4)
    m, n = net.shape
    np.testing.assert_array_equal(np.sort(part.rows.source[part.rows.source >= 0]), np.arange(m))
    np.testing.assert_array_equal(np.sort(part.columns.source[part.columns.source >= 0]), np.arange(n))
    assert part.values_moved_per_iteration() == pytest.approx(2 * 3 / 4 * net.num_commodities * 4 * part.V_b)


def test_grid_shards_do_not_depend_on_the_shard_count():
    one, three = assemble_grid(5, 7, 1, seed=4), assemble_grid(5, 7, 3, seed=4)
    key = np.lexsort((one.head, one.tail))
    key3 = np.lexsort((three.head, three.tail))
    for field in ("tail", "head", "cost", "capacity"):
        np.testing.assert_array_equal(getattr(one, field)[key], getattr(three, field)[key3])
    np.testing.assert_array_equal(one.supply, three.supply)
    shard = grid_shard(5, 7, 2, 3, seed=4)
    assert shard.tail.size == 8 * shard.nodes_per_shard and not np.any((shard.tail == shard.head) & shard.real)


def test_sharded_options_are_checked_before_solving():
    lp = assemble_grid(3, 3).lp
    with pytest.raises(InvalidOptionError, match="xla_force_host_platform_device_count"):
        scotopt.solve(lp, backend="jax", devices=64)
    with pytest.raises(InvalidOptionError, match="pdhg"):
        scotopt.solve(lp, method="admm", devices=1)
    with pytest.raises(InvalidOptionError, match="backend='jax'"):
        scotopt.solve(lp, backend="numpy", devices=1)


def test_multihost_arguments_are_checked(monkeypatch):
    from scotopt.distributed.multihost import generated_instance, initialize

    for name in ("SCOTOPT_COORDINATOR", "SCOTOPT_NUM_PROCESSES", "SCOTOPT_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    assert initialize() is False  # nothing asks for a distributed run
    with pytest.raises(InvalidOptionError, match="--num-processes"):
        initialize("127.0.0.1:1234", process_id=0)
    with pytest.raises(InvalidOptionError, match="process-id 2"):
        initialize("127.0.0.1:1234", 2, 2)
    assert generated_instance("afiro.mps") is None
    shard = generated_instance("grid:4x5:7:4")(1, 2)
    assert shard.tail.size == 4 * shard.nodes_per_shard


def test_cli_devices_flag(shared_data, capsys):
    from scotopt.cli import main

    assert main(["solve", str(shared_data / "netlib" / "afiro.mps.gz"), "--devices", "1", "--quiet"]) == 0
    assert "OPTIMAL" in capsys.readouterr().out


def test_one_device_mesh_equals_the_plain_solve():
    lp = assemble_grid(3, 4, seed=2).lp
    plain = scotopt.solve(lp, backend="jax", eps=1e-5)
    sharded = scotopt.solve(lp, backend="jax", eps=1e-5, devices=1)
    assert plain.status == sharded.status == scotopt.Status.OPTIMAL
    assert plain.iterations == sharded.iterations
    np.testing.assert_allclose(sharded.x, plain.x, atol=1e-9)
    assert sharded.extra["shards"] == 1 and sharded.extra["comm_bytes_per_iteration"] == 0.0


def test_sharded_flow_drops_capacities_that_cannot_bind():
    """Capacities of 1e9 on a third of the arcs give the same iterates as +inf there (costs >= 0,
    so they cannot bind), in float64 on the devices; the optimum is SciPy-HiGHS's of the assembled
    instance with the capacities as given."""
    import dataclasses

    from scotopt.distributed.sharded_flow import solve_sharded_flow
    from scotopt.models.sharded_grid import grid_shard

    def shards_with(value):
        def make(d, num):
            shard = grid_shard(6, 8, d, num, seed=1)
            big = shard.real & (np.arange(shard.capacity.size) % 3 == 0)
            return dataclasses.replace(shard, capacity=np.where(big, value, shard.capacity))
        return make

    runs = [solve_sharded_flow(shards_with(value), eps=1e-6) for value in (1e9, np.inf)]
    assert runs[0].status == runs[1].status == scotopt.Status.OPTIMAL
    assert runs[0].iterations == runs[1].iterations
    np.testing.assert_array_equal(runs[0].flow[0], runs[1].flow[0])
    shards = [shards_with(1e9)(d, runs[0].shards) for d in range(runs[0].shards)]
    tail, head, cost, capacity = (np.concatenate([getattr(s, f)[s.real] for s in shards])
                                  for f in ("tail", "head", "cost", "capacity"))
    supply = np.concatenate([s.supply for s in shards])[: 6 * 8]
    incidence = explicit(tail, head, supply.size, 1, coupling=False)
    status, reference, _, _ = highs_solve(scotopt.LP(cost, incidence, supply, supply, 0.0, capacity))
    assert status == "optimal" and capacity.max() == 1e9
    assert abs(runs[0].objective - reference) <= 1e-5 * abs(reference)


# ----------------------------------------------------------------------------- 4 forced host devices


def test_sharded_solves_equal_single_device_solves():
    """Network (arc split) and Netlib afiro (row split), both over a 2 x 2 user mesh: same status,
    objective, iteration count and x as one device."""
    outs = _run_cases("grid", "afiro")
    assert [o["case"] for o in outs] == ["grid", "afiro"]
    for out in outs:
        _assert_same(out)
        assert out["iterations"][0] == out["iterations"][1], out
        assert out["x_diff"] < 1e-6, out
        assert out["extra"]["shards"] == 4 and out["device"] == "4 x cpu"


def test_sharded_products_equal_host_products():
    """The scenario-split inventory operator (storage, lane rows, expediting, lead times; 8
    scenarios on 4 and 2 shards, 7 on 4 and 3, 5 on 4: the last device then holds no real
    scenario) and the row-split CSR (3 shards) against their host products, with nonzeros in the
    inputs' padding slots, which must neither reach a real entry nor leave a nonzero in a padding
    slot; and the Lagrangian oracle's batch axis split over the devices, stacked and built per
    process (see _assert_lagrangian, _assert_lagrangian_factory)."""
    products = ("inventory_ops", "inventory_ops:2", "inventory7_ops", "inventory7_ops:3", "inventory5_ops",
                "csr_ops:3")
    outs = _run_cases(*products, "lagrangian", "lagrangian_factory")
    assert len(outs) == len(products) + 2
    for out in outs[:-2]:
        assert out["forward"] < 1e-12 and out["adjoint"] < 1e-12 and out["padding"] == 0.0, out
    _assert_lagrangian(outs[-2])
    _assert_lagrangian_factory(outs[-1])


def _assert_lagrangian(out):
    """The Lagrangian oracle's batch (10 subproblems, two padded) on 4 devices: the same bounds as
    on one device (run with the product checks to share one child process)."""
    one, four = out["bound"]
    assert out["iterations"][0] == out["iterations"][1]
    assert abs(one - four) <= 1e-9 * (1 + abs(one)), out


def _newsvendor_model(items: int, budget: float):
    """The budget newsvendor of the issue's two items repeated (tests/sharded_cases.py), assembled here."""
    from sharded_cases import newsvendor_items

    from scotopt.models import BudgetNewsvendor

    return BudgetNewsvendor(**newsvendor_items(np.arange(items)), budget=budget)


def _assert_lagrangian_factory(out):
    """The newsvendor oracle of 7 items on 4 devices (one padded slot) built by make_data: at four
    multipliers the same L(lam), subgradient and orders as the stacked sharded_oracle and the host
    BudgetNewsvendor.oracle (SciPy's special functions); make_data called once, for every item; the
    volume algorithm on it reaches the host oracle's multiplier and SLSQP's optimum; bad make_data
    results and counts are clear errors."""
    from test_lagrangian import primal_optimum

    for values, subgradients, xs in zip(out["values"], out["subgradients"], out["x"], strict=True):
        for other in (1, 2):
            assert abs(values[0] - values[other]) <= 1e-12 * (1 + abs(values[other])), out["values"]
            assert abs(subgradients[0] - subgradients[other]) <= 1e-12 * (1 + abs(subgradients[other]))
            np.testing.assert_allclose(xs[0], xs[other], rtol=1e-12, atol=1e-12)
    assert out["calls"] == [list(range(7))] and out["local_subproblems"] == list(range(7)), out
    assert out["x_layout"] == [[8], "P('shards',)"], out  # padded and split, not gathered
    factory, host = out["multiplier"]
    assert abs(factory - host) <= 1e-4, out["multiplier"]
    optimum = primal_optimum(_newsvendor_model(7, 630.0)).fun
    for bound in out["bound"]:
        assert optimum - 1e-6 * abs(optimum) <= bound <= optimum + 1e-7, (out["bound"], optimum)
    errors = out["errors"]
    assert "every array needs 7 rows, one per index" in errors["rows"] and "shape ()" in errors["scalar"]
    assert errors["raises"] == "no such item"
    assert "positive integer" in errors["count 0"] and "positive integer" in errors["count 2.5"]


def test_sharded_inventory_with_scenarios_not_divisible_by_the_devices():
    """The inventory scenario LP with 5 scenarios over a 2 x 2 mesh (scenario slots 2, 2, 1 and
    0 real per device): the padding scenarios are inert, so the solve equals the single-device one
    (same iterations, x within 1e-6) and HiGHS on the same LP."""
    from inventory_reference import highs_objective
    from sharded_cases import inventory_model

    (out,) = _run_cases("inventory5")
    _assert_same(out)
    assert out["iterations"][0] == out["iterations"][1] and out["x_diff"] < 1e-6, out
    assert out["extra"]["shards"] == 4, out
    objective, _ = highs_objective(inventory_model(5))  # HiGHS on an independently assembled LP
    for value in out["objective"]:
        assert abs(value - objective) <= 1e-5 * (1 + abs(objective)), (out, objective)


def test_sharded_consensus_equals_one_device_and_the_reference():
    """Consensus ADMM's scenario blocks split over 4 devices (7 LP blocks, one padded; 6 QP blocks
    over a 2 x 2 mesh) against the same solve on one device, and both against HiGHS (LP) /
    CVXPY-Clarabel (QP) on the extensive form."""
    pytest.importorskip("cvxpy")
    (out,) = _run_cases("consensus")
    for name in ("lp", "qp"):
        case = out[name]
        assert case["status"] == ["OPTIMAL", "OPTIMAL"], case
        assert case["shards"] == [1, 4] and case["device"] == "4 x cpu", case
        assert case["blocks_per_device"] == 2, case
        assert case["rounds"][0] == case["rounds"][1], case
        assert case["z_diff"] < 1e-8 and case["x_diff"] < 1e-8, case
        for objective in case["objective"]:
            assert abs(objective - case["reference"]) <= 1e-5 * (1 + abs(case["reference"])), case
        assert max(case["kkt"]) <= 1e-6, case


@pytest.mark.slow
def test_sharded_solves_equal_single_device_solves_more():
    """The inventory scenario LP, multicommodity with coupling rows on 3 shards, DIMACS gridgen,
    float32, and the shard-by-shard generated grid on one process."""
    outs = _run_cases("inventory", "mmcf:3", "dimacs", "grid32", "sharded_flow")
    assert len(outs) == 5
    for out in outs:
        _assert_same(out, rel=1e-4 if out.get("dtype") == "float32" else 1e-5)


# ----------------------------------------------------------------------------- two processes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_processes(command, timeout=300) -> list[dict]:
    """Run ``command + [process id]`` (or ``command(process id)``) as processes 0 and 1 (2 forced CPU
    devices each) and return the last JSON line of each one's stdout."""
    def argv(i):
        return command(i) if callable(command) else command + [str(i)]

    children = [subprocess.Popen(argv(i), env=_env(2), cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for i in range(2)]
    outputs = []
    try:
        for child in children:
            out, err = child.communicate(timeout=timeout)
            assert child.returncode == 0, err[-3000:]
            outputs.append(json.loads([line for line in out.splitlines() if line.startswith("{")][-1]))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    return outputs


def test_two_process_run_agrees_and_matches_one_device():
    """Two processes x 2 CPU devices joined by jax.distributed (gloo); each builds only its shards
    of grid:8x10:3. Both report the same verified optimum, equal to the assembled instance's."""
    command = [sys.executable, "-m", "scotopt", "solve", "grid:8x10:3", "--json", "--eps", "1e-4",
               "--coordinator", f"127.0.0.1:{_free_port()}", "--num-processes", "2", "--process-id"]
    first, second = _two_processes(command)
    assert first["local_shards"] == [0, 1] and second["local_shards"] == [2, 3]
    for key in ("status", "objective", "iterations", "flow_sum", "flow_norm", "rel_primal", "rel_gap"):
        assert first[key] == second[key], key
    assert first["status"] == "OPTIMAL" and first["processes"] == 2 and first["shards"] == 4
    whole = assemble_grid(8, 10, seed=3).solve(backend="jax", eps=1e-4)
    assert abs(whole.objective - first["objective"]) <= 2e-4 * abs(whole.objective)


def test_two_process_consensus_agrees_and_matches_one_process_and_highs():
    """Consensus ADMM on two processes x 2 CPU devices (gloo): 7 scenario LP blocks on 4 shards,
    process 0 builds blocks 0-3 and process 1 blocks 4-6 (the padding slot copies block 6), and
    neither builds the extensive form (its KKT check is summed over the processes' blocks). Both
    report the same status, rounds, z and measures; z and every v_s equal the single-process
    sharded solve's, and the objective HiGHS's on the extensive form."""
    from problems import highs_solve
    from test_consensus import scenario_inventory

    from scotopt.solvers.admm.consensus import extensive_form, solve_consensus

    command = [sys.executable, str(ROOT / "tests" / "sharded_cases.py"), "multihost", "consensus",
               f"127.0.0.1:{_free_port()}", "2"]
    first, second = _two_processes(command)
    assert first["built"] == [0, 1, 2, 3] and second["built"] == [4, 5, 6]
    assert sorted(first["blocks"]) == ["0", "1", "2", "3"] and sorted(second["blocks"]) == ["4", "5", "6"]
    for key in ("status", "objective", "dual_objective", "kkt", "rounds", "z", "shards", "processes"):
        assert first[key] == second[key], key
    assert first["status"] == "OPTIMAL" and first["shards"] == 4 and first["processes"] == 2
    assert first["kkt"] <= 1e-6 and first["y_finite"] and second["y_finite"]

    blocks, p, k = scenario_inventory(7)
    one = solve_consensus(blocks, p, k, eps=1e-6, time_limit=120, backend="jax", devices=1)
    assert one.status == scotopt.Status.OPTIMAL and one.extra["rounds"] == first["rounds"]
    np.testing.assert_allclose(first["z"], one.extra["z"], atol=1e-8)
    v = one.x[k:].reshape(7, -1)
    for out in (first, second):
        for s, values in out["blocks"].items():
            np.testing.assert_allclose(values, v[int(s)], atol=1e-8)
    assert abs(first["objective"] - one.fun) <= 1e-9 * (1 + abs(one.fun))
    assert abs(first["kkt"] - one.kkt_error) <= 1e-9
    status, objective, _, _ = highs_solve(extensive_form(blocks, p, k))
    assert status == "optimal"
    assert abs(first["objective"] - objective) <= 1e-5 * (1 + abs(objective)), (first["objective"], objective)


def test_two_process_lagrangian_agrees_and_matches_the_issue_multiplier():
    """The budget newsvendor's Lagrangian dual on two processes x 2 CPU devices (gloo): 6 items (the
    issue's two, three times; budget 3 x 180) in 4 x 2 batch slots, process 0 builds items 0-3,
    process 1 items 4-5 (its last device holds only padding copies of item 5), and the driver runs
    unchanged on the oracle in both. Both return the same status, iterations, multiplier and bound;
    the multiplier is the issue's 3.38067, the bound SLSQP's optimum of the assembled primal, and
    each process's orders at that multiplier the host critical fractiles (SciPy)."""
    from test_lagrangian import primal_optimum

    command = [sys.executable, str(ROOT / "tests" / "sharded_cases.py"), "multihost", "lagrangian",
               f"127.0.0.1:{_free_port()}", "2"]
    first, second = _two_processes(command)
    assert first["built"] == [0, 1, 2, 3] and second["built"] == [4, 5]
    assert first["local_subproblems"] == [0, 1, 2, 3] and second["local_subproblems"] == [4, 5]
    for key in ("status", "iterations", "multipliers", "lower_bound", "processes", "devices"):
        assert first[key] == second[key], key
    assert first["processes"] == 2 and first["devices"] == 4
    assert first["multipliers"][0] == pytest.approx(3.38067, abs=1e-3)
    model = _newsvendor_model(6, 540.0)
    optimum = primal_optimum(model).fun
    assert optimum - 1e-6 * abs(optimum) <= first["lower_bound"] <= optimum + 1e-7, (first["lower_bound"], optimum)
    orders = model.orders(first["multipliers"][0])
    assert sorted(first["q"]) == ["0", "1", "2", "3"] and sorted(second["q"]) == ["4", "5"]
    for out in (first, second):
        for k, q in out["q"].items():
            assert q == pytest.approx(orders[int(k)], rel=1e-12), (k, q, orders)


def _highs_objective_of_file(path) -> float:
    """HiGHS's own reader and solver on the original file: the independent reference."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(h.getInfo().objective_function_value)


def test_lp_shards_one_process_equals_the_plain_solve(shared_data, tmp_path, capsys):
    """`scotopt partition` then `scotopt solve DIR` on one device: the same iterations and objective as
    the plain solve of the file, OPTIMAL at HiGHS's objective; bad uses are clear errors."""
    from scotopt.cli import main
    from scotopt.io import load

    path = shared_data / "netlib" / "afiro.mps.gz"
    shards = tmp_path / "afiro"
    assert main(["partition", str(path), "--parts", "1", "--out", str(shards), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["parts"] == 1 and meta["nonzeros"] == 83 and (shards / "shard_0000.npz").is_file()
    assert main(["solve", str(shards), "--json", "--eps", "1e-6"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    plain = scotopt.solve(load(path), backend="jax", eps=1e-6)
    assert summary["status"] == "OPTIMAL" and summary["iterations"] == plain.iterations
    assert abs(summary["objective"] - plain.fun) <= 1e-9 * abs(plain.fun)
    reference = _highs_objective_of_file(path)
    assert abs(summary["objective"] - reference) <= 1e-5 * abs(reference)

    assert main(["partition", str(path), "--parts", "2", "--out", str(tmp_path / "two")]) == 0
    capsys.readouterr()
    assert main(["solve", str(tmp_path / "two"), "--quiet"]) == 2
    assert "holds 2 shards but the mesh has 1 devices" in capsys.readouterr().err
    assert main(["partition", str(path), "--parts", "0", "--out", str(tmp_path / "zero")]) == 2
    assert "--parts must be a positive integer" in capsys.readouterr().err
    assert main(["solve", str(shards), "--method", "admm"]) == 2
    assert "--method pdhg" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["afiro", pytest.param("sc50a", marks=pytest.mark.slow),
                                  pytest.param("adlittle", marks=pytest.mark.slow)])
def test_two_process_lp_shards_agree_and_match_highs(shared_data, tmp_path, name):
    """A Netlib LP (afiro; sc50a and adlittle under ``slow``) partitioned once into 4 shards; two
    processes x 2 CPU devices (gloo), each given a folder with shards.json and only its own 2 shard
    files. Both report the same verified optimum; the x and y entries they write, put together,
    pass kkt_report on the original LP, and the objective is HiGHS's on the original MPS file."""
    from scotopt.cli import main
    from scotopt.io import load
    from scotopt.solvers import kkt

    path = shared_data / "netlib" / f"{name}.mps.gz"
    shards, out = tmp_path / "shards", tmp_path / "out"
    assert main(["partition", str(path), "--parts", "4", "--out", str(shards)]) == 0
    for i in range(2):  # process i sees shards 2i and 2i + 1 only
        (tmp_path / f"process{i}").mkdir()
        for name in ("shards.json", f"shard_{2 * i:04d}.npz", f"shard_{2 * i + 1:04d}.npz"):
            (tmp_path / f"process{i}" / name).write_bytes((shards / name).read_bytes())
    port = _free_port()

    def command(i):
        return [sys.executable, "-m", "scotopt", "solve", str(tmp_path / f"process{i}"), "--json", "--eps", "1e-6",
                "--out", str(out), "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2", "--process-id",
                str(i)]

    first, second = _two_processes(command)
    assert first["local_shards"] == [0, 1] and second["local_shards"] == [2, 3]
    for key in ("status", "objective", "dual_objective", "iterations", "x_sum", "x_norm", "rel_primal", "rel_dual",
                "rel_gap", "shards", "processes"):
        assert first[key] == second[key], key
    assert first["status"] == "OPTIMAL" and first["processes"] == 2 and first["shards"] == 4
    lp = load(path)
    x, y = np.full(lp.num_vars, np.nan), np.full(lp.num_rows, np.nan)
    for part in (first, second):
        with np.load(part["solution"]) as solution:
            x[solution["column_ids"]], y[solution["row_ids"]] = solution["x"], solution["y"]
    assert np.isfinite(x).all() and np.isfinite(y).all()  # every entry written by exactly one process
    report = kkt.kkt_report(lp, x, y)
    assert report.is_optimal(1e-6), report
    assert abs(report.primal_objective - first["objective"]) <= 1e-9 * abs(first["objective"])
    reference = _highs_objective_of_file(path)
    assert abs(first["objective"] - reference) <= 1e-5 * abs(reference), (first["objective"], reference)


def test_lp_shard_folders_are_checked(shared_data, tmp_path, capsys):
    """A damaged or mismatched shard folder, and a problem that cannot be split, are clear errors
    (exit code 2) before any solve."""
    from scotopt.cli import main

    shards = tmp_path / "afiro"
    assert main(["partition", str(shared_data / "netlib" / "afiro.mps.gz"), "--parts", "1", "--out", str(shards)]) == 0
    capsys.readouterr()
    assert main(["solve", str(shards), "--ruiz-iterations", "3", "--quiet"]) == 2
    assert "partition again with those options" in capsys.readouterr().err
    (shards / "shard_0000.npz").rename(tmp_path / "kept.npz")
    assert main(["solve", str(shards), "--quiet"]) == 2
    assert "shard_0000.npz: no such file" in capsys.readouterr().err
    meta = json.loads((shards / "shards.json").read_text())
    del meta["norm"]
    (shards / "shards.json").write_text(json.dumps(meta))
    assert main(["solve", str(shards), "--quiet"]) == 2
    assert "lacks norm" in capsys.readouterr().err
    (shards / "shards.json").write_text("{not json")
    assert main(["solve", str(shards), "--quiet"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    qp_file = tmp_path / "qp.npz"
    from test_consensus import scenario_qp

    from scotopt.io import save_npz
    save_npz(scenario_qp(1)[0][0], qp_file)
    assert main(["partition", str(qp_file), "--parts", "1", "--out", str(tmp_path / "qp")]) == 2
    assert "a QP cannot be split" in capsys.readouterr().err
