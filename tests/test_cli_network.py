"""``scotopt solve / info / convert`` on network files: DIMACS min-cost flow and CommaLAB
multicommodity flow, checked against OR-Tools SimpleMinCostFlow, HiGHS and the published
CommaLAB optimum."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from problems import highs_solve

from scotopt.bench.families import explicit_lp
from scotopt.bench.peers import ortools_min_cost_flow_arrays
from scotopt.cli import main
from scotopt.io import file_kind, load
from scotopt.models.generators import netgen_min_cost_flow

pytest.importorskip("ortools.graph.python.min_cost_flow")

COMMALAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "mmcf_commalab"
GRID1 = COMMALAB / "grid" / "grid1"
needs_grid1 = pytest.mark.skipif(not GRID1.exists(), reason=f"shared CommaLAB data not found at {COMMALAB}")


@pytest.fixture(scope="module")
def network():
    """A NETGEN-like network with integral data and lower bounds on some arcs, as plain arrays,
    and OR-Tools' optimum of it."""
    model = netgen_min_cost_flow(300, 2400, seed=3, arc_order="given")
    tail, head = model.tail.astype(np.int64), model.head.astype(np.int64)
    cost, capacity, supply = model.cost.copy(), model.capacity.copy(), model.supply.copy()
    ok, _, flow, *_ = ortools_min_cost_flow_arrays(tail, head, capacity, cost, supply)
    assert ok
    lower = np.where((flow >= 2) & (np.arange(flow.size) % 3 == 0), 1.0, 0.0)  # feasible: that flow keeps them
    ok, optimum, *_ = ortools_min_cost_flow_arrays(tail, head, capacity, cost, supply, lower)
    assert ok
    return dict(tail=tail, head=head, cost=cost, capacity=capacity, supply=supply, lower=lower, optimum=optimum)


def write_min(path: Path, net: dict) -> Path:
    """The DIMACS text written here, not by scotopt's writer (1-based ids); gzip for .gz."""
    lines = ["c written by test_cli_network", f"p min {net['supply'].size} {net['tail'].size}"]
    lines += [f"n {v + 1} {int(s)}" for v, s in enumerate(net["supply"]) if s != 0]
    arcs = zip(net["tail"], net["head"], net["lower"], net["capacity"], net["cost"], strict=True)
    lines += [f"a {t + 1} {h + 1} {int(lo)} {int(u)} {int(c)}" for t, h, lo, u, c in arcs]
    text = "\n".join(lines) + "\n"
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def run_main(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_solve_dimacs_file_with_integral_repair(tmp_path, capsys, network):
    path = write_min(tmp_path / "net.min.gz", network)
    code, out, err = run_main(capsys, "solve", path, "--eps", "1e-7", "--integral", "--out", tmp_path / "out",
                              "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "OPTIMAL"
    optimum = network["optimum"]
    assert abs(summary["primal_objective"] - optimum) <= 1e-6 * abs(optimum)
    assert summary["network"]["model"] == "MinCostFlow"
    assert (summary["network"]["nodes"], summary["network"]["arcs"]) == (300, 2400)
    assert summary["network"]["lagrangian_bound"] <= optimum + 1e-6 * abs(optimum)
    assert json.loads((tmp_path / "out" / "net_summary.json").read_text()) == summary

    arrays = np.load(tmp_path / "out" / "net_flow.npz")
    tail, head, lower, capacity = network["tail"], network["head"], network["lower"], network["capacity"]
    assert np.array_equal(arrays["tail"], tail) and np.array_equal(arrays["head"], head)  # the file's arc order
    V = network["supply"].size

    def excess(f):
        return network["supply"] - np.bincount(tail, f, V) + np.bincount(head, f, V)

    flow = arrays["flow"]  # the LP's flow: feasible to the tolerance, in the file's order
    assert np.all(flow >= lower - 1e-4) and np.all(flow <= capacity + 1e-4)
    assert np.abs(excess(flow)).max() <= 1e-4 * np.abs(network["supply"]).max()
    assert network["cost"] @ flow == pytest.approx(summary["primal_objective"], rel=1e-9)

    integral = arrays["integral_flow"]  # exactly feasible and integral, checked here from the arrays
    assert np.array_equal(integral, np.round(integral))
    assert np.all(integral >= lower) and np.all(integral <= capacity)
    assert not excess(integral).any()
    repaired = summary["network"]["integral_flow"]
    assert repaired["feasible"] and repaired["cost"] == network["cost"] @ integral
    assert repaired["cost"] >= optimum  # no feasible flow beats the optimum
    assert repaired["lower_bound"] <= optimum
    assert repaired["gap"] == pytest.approx((repaired["cost"] - repaired["lower_bound"]) / abs(repaired["lower_bound"]))
    assert arrays["saturated"].sum() == summary["network"]["saturated_arcs"]


def test_network_summary_table_and_quiet_line(tmp_path, capsys, network):
    path = write_min(tmp_path / "net.min", network)
    code, out, err = run_main(capsys, "solve", path, "--integral", "--dtype", "float32")
    assert code == 0, err
    keys = [line.split("  ")[0] for line in out.splitlines() if "  " in line]
    for key in ("status", "network", "saturated arcs", "lower bound", "integral flow"):
        assert key in keys
    assert "MinCostFlow(nodes=300, arcs=2400), read in " in out
    code, out, err = run_main(capsys, "solve", path, "--quiet", "--integral")
    assert code == 0, err
    assert out.count("\n") == 1 and "integral flow cost" in out


@needs_grid1
def test_solve_commalab_file_against_published_optimum(tmp_path, capsys):
    with open(COMMALAB / "index.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["name"] == "grid1")
    code, out, err = run_main(capsys, "solve", GRID1, "--eps", "1e-6", "--json", "--out", tmp_path)
    assert code == 0, err
    summary = json.loads(out)
    optimum = float(row["optimal_objective"])
    assert summary["status"] == "OPTIMAL"
    assert abs(summary["primal_objective"] - optimum) <= 1e-5 * abs(optimum)
    network = summary["network"]
    assert (network["model"], network["nodes"], network["arcs"]) == ("MultiCommodityFlow", int(row["nodes"]),
                                                                      int(row["arcs"]))
    arrays = np.load(tmp_path / "grid1_flow.npz")
    assert arrays["flow"].shape == (network["commodities"], network["arcs"])
    assert np.allclose(arrays["total_flow"], arrays["flow"].sum(axis=0))
    assert np.all(arrays["capacity_prices"] >= 0)
    code, _, err = run_main(capsys, "solve", GRID1, "--integral")
    assert code == 2 and "--integral applies to single-commodity" in err
    code, out, err = run_main(capsys, "solve", GRID1, "--eps", "1e-6", "--json", "--aggregate", "none")
    assert code == 0, err
    per_pair = json.loads(out)
    assert per_pair["network"]["commodities"] == int(row["commodities"])  # one per OD pair
    assert abs(per_pair["primal_objective"] - optimum) <= 1e-5 * abs(optimum)


def test_network_files_recognised_without_their_suffix(tmp_path, network):
    dimacs = write_min(tmp_path / "net.min", network)
    assert file_kind(dimacs) == "dimacs"
    assert file_kind(shutil.copy(dimacs, tmp_path / "net_without_suffix")) == "dimacs"
    assert file_kind(write_min(tmp_path / "net.gz", network)) == "dimacs"  # gzip read through
    commalab = tmp_path / "tiny_commalab"
    commalab.write_text("3\n2\n1\n1 2 4 10\n2 3 5 10\n1 3 7\n")
    assert file_kind(commalab) == "commalab"
    mps = tmp_path / "model"
    mps.write_text("NAME tiny\nROWS\n N obj\n")
    assert file_kind(mps) == "mps"
    lp = explicit_lp(load(commalab))  # the CommaLAB reader's LP: 7 units 1 -> 2 -> 3 at cost 4 + 5
    assert highs_solve(lp)[1] == pytest.approx(63.0)


def test_info_and_convert_network_file(tmp_path, capsys, network):
    path = write_min(tmp_path / "net.min", network)
    code, out, err = run_main(capsys, "info", path, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert (info["rows"], info["columns"], info["nonzeros"]) == (300, 2400, 2 * 2400 - np.sum(
        network["tail"] == network["head"]) * 2)
    assert info["network"].startswith("MinCostFlow(nodes=300, arcs=2400")
    code, out, err = run_main(capsys, "convert", path, tmp_path / "net.mps")
    assert code == 0, err
    status, objective, _, _ = highs_solve(load(tmp_path / "net.mps"))  # the explicit LP, solved by HiGHS
    assert status == "optimal"
    assert objective == pytest.approx(network["optimum"], rel=1e-9)


def test_bad_network_files_exit_2_with_the_line(tmp_path, capsys):
    bad = tmp_path / "bad.min"
    bad.write_text("c x\np min 2 1\nn 1 1\nn 2 -1\na 1 2 0 1 3\nbogus\n")
    code, _, err = run_main(capsys, "solve", bad)
    assert code == 2 and f"{bad}:6:" in err and "bogus" in err
    fractional = tmp_path / "fractional.min"
    fractional.write_text("c x\np min 2 1\nn 1 1\nn 2 -1\na 1 2 0 1.5 3\n")
    code, out, err = run_main(capsys, "solve", fractional, "--integral")
    assert code == 2 and str(fractional) in err and "capacity must be integral" in err
    assert "rel_primal" not in out  # refused before the solve
    code, _, err = run_main(capsys, "solve", fractional, "--aggregate", "none")
    assert code == 2 and "--aggregate applies to CommaLAB" in err
    from scotopt.io import save

    mps = save(explicit_lp(load(fractional)), tmp_path / "fractional.mps")  # an LP file: no network flags
    code, _, err = run_main(capsys, "solve", mps, "--integral")
    assert code == 2 and "--integral applies to network files" in err
    huge = tmp_path / "huge.min"
    huge.write_text("p min 10 100000000000\n")  # 4 TB of arcs announced: refused before allocating
    code, _, err = run_main(capsys, "solve", huge)
    assert code == 2 and f"{huge}:1:" in err and "needs an estimated" in err


def test_solve_network_file_in_a_subprocess(tmp_path, network):
    """The console entry point end to end (exit code, stdout) on a DIMACS file."""
    path = write_min(tmp_path / "net.min", network)
    run = subprocess.run([sys.executable, "-m", "scotopt", "solve", str(path), "--quiet"], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("net: OPTIMAL objective")
