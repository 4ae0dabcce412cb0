"""The ``scotopt`` command line end to end, in subprocesses: solve, info, convert, demo, Ctrl-C."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from problems import highs_solve

from scotopt import LP
from scotopt.io import load, load_solution, save_npz

NETLIB = Path(__file__).resolve().parents[2] / "shared" / "data" / "netlib"
AFIRO = NETLIB / "afiro.mps.gz"
needs_afiro = pytest.mark.skipif(not AFIRO.exists(), reason=f"shared Netlib data not found at {NETLIB}")


def scotopt_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "scotopt", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@needs_afiro
def test_solve_afiro_json_and_files(tmp_path):
    run = scotopt_cli("solve", AFIRO, "--eps", "1e-6", "--out", tmp_path / "out", "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)  # stdout holds the JSON only; progress went to stderr
    assert "rel_primal" in run.stderr.splitlines()[0]
    assert summary["status"] == "OPTIMAL" and summary["success"] is True
    assert (summary["rows"], summary["columns"]) == (27, 32)
    lp = load(AFIRO)
    status, reference, _, _ = highs_solve(lp)
    assert status == "optimal"
    assert abs(summary["primal_objective"] - reference) <= 1e-5 * abs(reference)
    assert json.loads((tmp_path / "out" / "afiro_summary.json").read_text()) == summary
    solution = load_solution(tmp_path / "out" / "afiro_solution.npz")
    assert solution["status"] == "OPTIMAL" and solution["summary"] == summary
    x = solution["x"]
    assert x.shape == (32,) and solution["y"].shape == (27,) and solution["reduced_costs"].shape == (32,)
    assert lp.objective(x) == pytest.approx(summary["primal_objective"], rel=1e-12)
    Ax = lp.A @ x
    row_bounds = np.concatenate([lp.con_lb, lp.con_ub])
    scale = 1 + np.abs(row_bounds[np.isfinite(row_bounds)]).max()
    assert np.all(Ax >= lp.con_lb - 1e-5 * scale) and np.all(Ax <= lp.con_ub + 1e-5 * scale)
    assert solution["col_names"] == lp.col_names


@needs_afiro
def test_solve_prints_progress_and_summary_table():
    run = scotopt_cli("solve", AFIRO, "--iteration-limit", "128", "--check-every", "32", "--eps", "1e-10")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "rel_primal" in line)
    progress = [line for line in lines[header + 1:] if line.strip() and line.split()[0].isdigit()]
    assert [int(line.split()[0]) for line in progress] == [32, 64, 96, 128]  # one line per check
    assert any(line.startswith("status") and "ITERATION_LIMIT" in line for line in lines)
    assert any(line.startswith("iterations") and line.split()[1] == "128" for line in lines)


def test_solve_infeasible_lp(tmp_path):
    # x1 + x2 <= -1 with x >= 0 has no solution; HiGHS agrees
    lp = LP(np.array([1.0, 1.0]), sp.csr_matrix([[1.0, 1.0], [1.0, -1.0]]), [-np.inf, -5.0], [-1.0, 5.0],
            name="tiny_infeasible")
    assert highs_solve(lp)[0] == "primal_infeasible"
    save_npz(lp, tmp_path / "tiny_infeasible.npz")
    run = scotopt_cli("solve", tmp_path / "tiny_infeasible.npz", "--out", tmp_path, "--quiet")
    assert run.returncode == 0, run.stderr
    assert "PRIMAL_INFEASIBLE" in run.stdout
    summary = json.loads((tmp_path / "tiny_infeasible_summary.json").read_text())
    assert summary["status"] == "PRIMAL_INFEASIBLE" and summary["success"] is False
    # the Farkas ray y certifies infeasibility: A^T y = 0 on free directions, and here
    # y1 <= 0 multiplies a <= row; y^T A >= 0 with y^T b_upper < 0 proves x >= 0 cannot satisfy it
    y = load_solution(tmp_path / "tiny_infeasible_solution.npz")["y"]
    assert y[0] < 0
    assert np.all(lp.A.T @ y <= 1e-8 * np.abs(y).max())


@needs_afiro
def test_info_and_convert_round_trip(tmp_path):
    run = scotopt_cli("info", AFIRO, "--json")
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)
    with open(NETLIB / "index.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["name"] == "afiro")
    assert (info["rows"], info["columns"], info["nonzeros"]) == (int(row["rows"]), int(row["cols"]),
                                                                 int(row["nonzeros"]))
    assert info["row_types"]["equality"] + info["row_types"]["<="] + info["row_types"][">="] == 27
    assert set(info["memory"]) >= {"numpy/float64", "numpy/float32"}
    text = scotopt_cli("info", AFIRO)
    assert text.returncode == 0 and "27 rows, 32 columns, 83 nonzeros" in text.stdout
    assert scotopt_cli("convert", AFIRO, tmp_path / "afiro.npz").returncode == 0
    assert scotopt_cli("convert", tmp_path / "afiro.npz", tmp_path / "again.mps").returncode == 0
    original, back = load(AFIRO), load(tmp_path / "again.mps")
    assert (original.A != back.A).nnz == 0
    for key in ("c", "con_lb", "con_ub", "var_lb", "var_ub"):
        np.testing.assert_array_equal(getattr(original, key), getattr(back, key))


def test_bad_options_exit_2(tmp_path):
    lp = LP(np.ones(2), sp.csr_matrix(np.ones((1, 2))), 1.0, 1.0)
    save_npz(lp, tmp_path / "p.npz")
    for args in (["--eps", "-1"], ["--backend", "tpu"], ["--check-every", "0"], ["--eps", "abc"]):
        run = scotopt_cli("solve", tmp_path / "p.npz", *args)
        assert run.returncode == 2, (args, run.stderr)
        assert "Traceback" not in run.stderr
    missing = scotopt_cli("solve", tmp_path / "nope.mps")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    convert = scotopt_cli("convert", tmp_path / "p.npz", tmp_path / "p.xyz")
    assert convert.returncode == 2 and "cannot tell the format" in convert.stderr


def test_demo_runs():
    run = scotopt_cli("demo", "--quiet")
    assert run.returncode == 0, run.stderr
    assert "OPTIMAL" in run.stdout and "HiGHS objective" in run.stdout


def _transport_lp(sources: int, sinks: int, seed: int = 0) -> LP:
    """A balanced transportation LP big enough that a tight tolerance takes many seconds."""
    rng = np.random.default_rng(seed)
    n = sources * sinks
    supply = rng.uniform(50, 100, sources)
    demand = rng.uniform(1, 10, sinks)
    demand *= supply.sum() / demand.sum()
    rows = np.concatenate([np.repeat(np.arange(sources), sinks), sources + np.tile(np.arange(sinks), sources)])
    A = sp.csr_matrix((np.ones(2 * n), (rows, np.concatenate([np.arange(n), np.arange(n)]))),
                      shape=(sources + sinks, n))
    bounds = np.concatenate([supply, demand])
    return LP(rng.uniform(1, 100, n), A, bounds, bounds, name="transport")


def test_ctrl_c_writes_best_iterate_and_exits_130(tmp_path):
    lp = _transport_lp(150, 150)
    save_npz(lp, tmp_path / "transport.npz")
    process = subprocess.Popen([sys.executable, "-m", "scotopt", "solve", str(tmp_path / "transport.npz"), "--eps",
                                "1e-12", "--check-every", "16", "--out", str(tmp_path / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               # a shell that starts jobs in the background (CI runners, nohup ... &)
                               # leaves SIGINT ignored, and Python then never turns it into
                               # KeyboardInterrupt: give the child the default disposition, as a terminal does
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        seen = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait for the first progress lines
            line = process.stdout.readline()
            seen.append(line)
            if line.split() and line.split()[0].isdigit() and int(line.split()[0]) >= 32:
                break
        else:
            pytest.fail(f"no progress line in time: {seen}")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    summary = json.loads((tmp_path / "out" / "transport_summary.json").read_text())
    assert summary["status"] == "INTERRUPTED"
    solution = load_solution(tmp_path / "out" / "transport_solution.npz")
    assert solution["x"].shape == (lp.num_vars,) and np.isfinite(solution["x"]).all()
    assert summary["iterations"] >= 32


MM = NETLIB.parent / "maros_meszaros"


@pytest.mark.skipif(not (MM / "DPKLO1.QPS.gz").exists(), reason=f"Maros-Meszaros data not found at {MM}")
def test_solve_qps_with_admm(tmp_path):
    run = scotopt_cli("solve", MM / "DPKLO1.QPS.gz", "--method", "admm", "--eps", "1e-7", "--rho", "0.5", "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["status"] == "OPTIMAL" and summary["method"] == "admm"
    with open(MM / "index.csv", newline="") as fh:
        published = float(next(r for r in csv.DictReader(fh) if r["name"] == "DPKLO1")["optimal_objective"])
    assert summary["primal_objective"] == pytest.approx(published, rel=1e-6)
    refused = scotopt_cli("solve", MM / "DPKLO1.QPS.gz", "--method", "pdhg")
    assert refused.returncode == 2 and "method='admm'" in refused.stderr
    foreign = scotopt_cli("solve", MM / "DPKLO1.QPS.gz", "--method", "admm", "--pid-kp", "0.5")
    assert foreign.returncode == 2 and "--pid-kp" in foreign.stderr
