"""The remaining bench/ scripts (backend_periter, spmv_cpu, summarize, io_read, io_dimacs, gpu, scaling,
arc_loop_prefetch, arc_loop_propagation, arc_loop_head_split, arc_loop_cache_hints, network_rows_ab,
network_refresh_ab, network_evaluation_ab, network_step_ab, network_pairs_ab, network_evaluation_parts_ab,
network_block_ab, network_block_solve_ab)
run at a tiny size, so they never rot; compare_lp, network, compare_qp, qp_large and lagrangian_mmcf have
their own smoke tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def _run(*args, timeout=240):
    run = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.mark.skipif(not (DATA / "netlib" / "afiro.mps.gz").exists(), reason="shared Netlib data not found")
def test_backend_periter_afiro():
    out = _run("bench/backend_periter.py", DATA / "netlib" / "afiro.mps.gz", "--backends", "numpy",
               "--iterations", "64", "--repeats", "1")
    assert "| afiro | 27 | 32 | 83 |" in out


def test_spmv_cpu_tiny():
    pytest.importorskip("jax")
    out = _run("bench/spmv_cpu.py", "--sizes", "1e3", "--repeats", "2")
    rows = [line for line in out.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 1 and rows[0].count("|") == 6  # nnz, rows, three kernels


def test_summarize_existing_results():
    out = _run("bench/summarize.py", ROOT / "bench" / "results" / "lp_1e-4.csv")
    assert "| all | scotopt-numpy |" in out


def test_io_dimacs_tiny(tmp_path):
    out = _run("bench/io_dimacs.py", "--arcs", "4000", "--repeat", "1", "--gzip", "--out", tmp_path / "io")
    rows = [line for line in out.splitlines() if line.startswith("| netgen4000")]
    assert len(rows) == 4 and (tmp_path / "io.csv").exists()  # two files x two readers, the arrays equal


@pytest.mark.skipif(not (DATA / "kennington" / "ken-07.mps.gz").exists(), reason="Kennington data not found")
def test_io_read_ken07(tmp_path):
    pytest.importorskip("highspy")
    _run("bench/io_read.py", "--files", "ken-07", "--repeat", "1", "--out", tmp_path / "io")
    assert (tmp_path / "io.csv").exists()


def test_gpu_script_runs_its_sections_without_a_gpu(tmp_path):
    """bench/gpu.py on the CPU: the device triad fails into its section record (no CuPy GPU), the
    rest runs on NumPy at a tiny size, and HiGHS and PDLP answer from their background processes."""
    pytest.importorskip("highspy")
    pytest.importorskip("ortools")
    _run("bench/gpu.py", "run", "--out", tmp_path, "--budget", "120", "--backends", "numpy",
         "--network-sizes", "2e3", "--inventory-sizes", "2e3", "--e2e-size", "2e3", "--sections", "periter,e2e,peers",
         "--peers", "highs-simplex,pdlp,mincostflow", "--peer-time-limit", "30")
    import json

    results = json.loads((tmp_path / "gpu_results.json").read_text())
    rows = results["rows"]
    assert {r["section"] for r in rows} == {"periter", "e2e", "peer"}
    assert all("error" not in r for r in rows), [r for r in rows if "error" in r]
    scotopt_objective = {r["kind"]: r["objective"] for r in rows if r["section"] == "e2e"}
    for solver in ("highs-simplex", "pdlp", "mincostflow"):
        peer = {r["kind"]: r["objective"] for r in rows if r.get("solver") == solver}
        assert set(peer) == ({"network"} if solver == "mincostflow" else {"network", "inventory"})
        for kind, objective in peer.items():  # scotopt in float32 at eps 1e-4 vs each peer's answer
            assert abs(scotopt_objective[kind] - objective) <= 1e-3 * abs(objective), (solver, kind)


@pytest.mark.skipif(not (DATA / "mmcf_commalab" / "index.csv").exists(), reason="shared CommaLAB data not found")
def test_gpu_script_mmcf_section_without_a_gpu(tmp_path):
    """bench/gpu.py's mmcf section on NumPy: scotopt and the background HiGHS IPM both reach
    index.csv's published optimum of CommaLAB grid1 and planar30."""
    pytest.importorskip("highspy")
    _run("bench/gpu.py", "run", "--out", tmp_path, "--budget", "120", "--sections", "mmcf", "--mmcf-backends",
         "numpy", "--mmcf-data", DATA / "mmcf_commalab", "--mmcf-instances", "grid1,planar30", "--mmcf-peers",
         "grid1,planar30", "--mmcf-peer-threads", "1", "--mmcf-time-limit", "60", "--peer-time-limit", "60")
    import json

    rows = [r for r in json.loads((tmp_path / "gpu_results.json").read_text())["rows"] if "instance" in r]
    assert all("error" not in r for r in rows), [r for r in rows if "error" in r]
    for instance in ("grid1", "planar30"):
        ours = [r for r in rows if r["instance"] == instance and r["section"] == "mmcf"]
        highs = [r for r in rows if r["instance"] == instance and r["section"] == "peer"]
        assert [r["status"] for r in ours] == ["OPTIMAL"] and [r["status"] for r in highs] == ["OPTIMAL"]
        assert ours[0]["obj_rel_error"] <= 1e-3 and ours[0]["kkt_max"] <= 1e-4
        assert highs[0]["obj_rel_error"] <= 1e-6


@pytest.mark.slow
def test_scaling_consensus_tiny(tmp_path):
    """bench/scaling.py's consensus study (host batch and 1, 2, 4 forced devices) at a tiny size."""
    pytest.importorskip("jax")
    _run("bench/scaling.py", "consensus", "--scenarios", "4", "--products", "3", "--rounds", "2", "--repeats", "1",
         "--out", tmp_path / "scaling")
    table = (tmp_path / "scaling_consensus.md").read_text()
    assert [line.split("|")[2].strip() for line in table.splitlines() if line.startswith("| newsvendor")] == \
        ["host", "1", "2", "4"]


@pytest.mark.slow
def test_scaling_multihost_tiny(tmp_path):
    """bench/scaling.py's multihost study (1 x 1, 1 x 2 and 2 processes x 1 device) at a tiny size:
    every configuration runs the same rounds to the same objective."""
    pytest.importorskip("jax")
    _run("bench/scaling.py", "multihost", "--scenarios", "4", "--products", "3", "--rounds", "2", "--repeats", "1",
         "--out", tmp_path / "scaling")
    rows = [line.split("|") for line in (tmp_path / "scaling_multihost.md").read_text().splitlines()
            if line.startswith("| newsvendor")]
    assert [row[2].strip() for row in rows] == ["1 x 1", "1 x 2", "2 x 1"]
    objectives = [float(row[7]) for row in rows]
    assert max(objectives) - min(objectives) <= 1e-9 * (1 + abs(objectives[0]))


@pytest.mark.slow
def test_arc_loop_prefetch_tiny():
    pytest.importorskip("numba")
    out = _run("bench/arc_loop_prefetch.py", "3e5", "1")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["both", "tail", "head"]


@pytest.mark.slow
def test_arc_loop_propagation_tiny():
    """The propagation-blocked iteration gives the fused kernels' x+ and y+ (the script asserts it)."""
    pytest.importorskip("numba")
    out = _run("bench/arc_loop_propagation.py", "3e5", "1", "12", "12")
    assert "same x+" in out
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["fused", "propagation"]


@pytest.mark.slow
def test_arc_loop_head_split_tiny():
    """The head-split iteration gives the fused kernels' x+ and y+ (the script asserts it)."""
    pytest.importorskip("numba")
    out = _run("bench/arc_loop_head_split.py", "3e5", "1", "13")
    assert "split 2^13: same x+" in out
    assert [line.split()[0] for line in out.splitlines()[-2:]] == ["fused", "split"]


@pytest.mark.slow
def test_arc_loop_cache_hints_tiny():
    pytest.importorskip("numba")
    out = _run("bench/arc_loop_cache_hints.py", "3e5", "1")
    assert [line.split("median")[0].strip() for line in out.splitlines()[-5:]] == [
        "now", "head nta", "2B", "2B head nta", "zigzag"]


def test_network_pairs_ab_tiny():
    pytest.importorskip("numba")
    out = _run("bench/network_pairs_ab.py", "3e5", "2", "3")
    assert "side by side: True True" in out
    assert [line.split("|")[1].strip() for line in out.splitlines()[-2:]] == ["side by side", "separate"]


def test_network_block_ab_tiny():
    pytest.importorskip("numba")
    out = _run("bench/network_block_ab.py", "3e5", "2", "2", "8192,32768")
    lines = out.splitlines()
    assert [line.split("|")[1].strip() for line in lines[-3:-1]] == ["8192", "32768"]
    assert float(lines[-1].split(":")[1]) < 1e-3  # the same iterates up to summation order


def test_network_block_solve_ab_tiny():
    pytest.importorskip("numba")
    out = _run("bench/network_block_solve_ab.py", "3e5", "8", "2", "8192,32768:2")
    assert [line.split("|")[1].strip() for line in out.splitlines()[-2:]] == ["8192", "32768:2"]


def test_network_rows_ab_tiny():
    pytest.importorskip("numba")
    out = _run("bench/network_rows_ab.py", "3e5", "2", "64")
    assert [line.split()[0] for line in out.splitlines()[-2:]] == ["reused", "new"]


def test_network_refresh_ab_tiny():
    pytest.importorskip("numba")
    out = _run("bench/network_refresh_ab.py", "3e5", "2", "3")
    assert [line.split("|")[1].strip() for line in out.splitlines()[-2:]] == ["loop 1 each step",
                                                                             "refreshed by loop 3"]


def test_network_evaluation_ab_tiny():
    pytest.importorskip("numba")
    out = _run("bench/network_evaluation_ab.py", "3e5", "2")
    assert [line.split("|")[1].strip() for line in out.splitlines()[-4:]] == [
        "evaluation before", "evaluation now", "plain step", "measured step"]


@pytest.mark.slow
def test_network_step_ab_tiny():
    pytest.importorskip("numba")
    out = _run("bench/network_step_ab.py", "3e5", "1")
    assert [line.split("|")[1].strip() for line in out.splitlines()[-3:-1]] == ["before", "now"]


def test_network_evaluation_parts_ab_tiny():
    pytest.importorskip("numba")
    out = _run("bench/network_evaluation_parts_ab.py", "3e5", "2")
    assert [line.split("|")[1].strip() for line in out.splitlines()[-4:]] == [
        "column KKT sums, heads prefetched", "column KKT sums, tails prefetched too",
        "dual ray terms, A^T y by blocks + NumPy", "dual ray terms, compiled pass"]
