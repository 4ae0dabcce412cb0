"""Smoke test of bench/network.py on tiny networks (all sub-commands but mmcf's big instances)."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("bench_network", ROOT / "bench" / "network.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_e2e_memory_periter_tiny(tmp_path):
    pytest.importorskip("ortools.pdlp.python.pdlp")
    bench = _load()
    bench.main(["e2e", "--arcs", "2000", "--time-limit", "30", "--dtypes", "float32", "--out", str(tmp_path / "e2e")])
    rows = list(csv.DictReader(open(tmp_path / "e2e.csv")))
    assert [r["solver"] for r in rows] == [
        "ortools-mincostflow",
        "scotopt-numpy-float32",
        "highs-simplex",
        "highs-ipm",
        "ortools-pdlp",
    ]
    assert all(r["status"] == "OPTIMAL" for r in rows)
    assert all(float(r["obj_rel_error"]) <= 1e-3 for r in rows)
    assert "feasible=True" in rows[1]["note"]
    # lower bounds forced on a third of the arcs: every solver, SimpleMinCostFlow included, finds the
    # same optimum, its flow within the bounds (the e2e check), and it is the one above plus cost@lower
    bench.main(["e2e", "--arcs", "2000", "--time-limit", "30", "--dtypes", "float32", "--forced-lower", "0.3",
                "--skip", "ipm", "pdlp", "--out", str(tmp_path / "lower")])
    lower_rows = list(csv.DictReader(open(tmp_path / "lower.csv")))
    assert [r["status"] for r in lower_rows] == ["OPTIMAL"] * 3
    assert float(lower_rows[0]["kkt_max"]) == 0.0  # SimpleMinCostFlow's flow passed the feasibility check
    assert all(float(r["obj_rel_error"]) <= 1e-3 for r in lower_rows)
    assert float(lower_rows[0]["objective"]) > float(rows[0]["objective"])
    bench.main(["memory", "--arcs", "10000", "--iterations", "64", "--out", str(tmp_path / "mem")])
    mem = list(csv.DictReader(open(tmp_path / "mem.csv")))
    assert int(mem[0]["iterations"]) == 64 and float(mem[0]["solve_peak_B_per_arc"]) > 0
    assert bench.compulsory_bytes(10, 1) == 10 * 48 + 40
    assert bench.stream_triad(n=100_000, reps=1) > 0


def test_periter_fused_tiny(tmp_path):
    pytest.importorskip("numba")
    bench = _load()
    bench.main(["periter", "--fused", "--arcs", "4000", "--repeats", "2", "--seconds", "0.01", "--triad-n", "1e5",
                "--out", str(tmp_path / "periter")])
    rows = list(csv.DictReader(open(tmp_path / "periter.csv")))
    import numba

    expected = ["numpy", "numba-1-thread"] + (["numba"] if numba.get_num_threads() > 1 else [])
    assert [r["mode"] for r in rows] == expected
    # a network this small may converge within the 64 iterations: only the table's form is checked
    assert all(float(r["bound_ms"]) > 0 and float(r["stream_GBs_all_cores"]) > 0 for r in rows)
    assert all(r["repeats"] == "2" and r["ms_median"] not in ("", "nan") for r in rows)


def test_mmcf_tiny(tmp_path, shared_data):
    """The mmcf sub-command on grid1 (4,000 arc-flow variables) with HiGHS IPM on two threads."""
    bench = _load()
    bench.main(["mmcf", "--instances", "grid1", "--data", str(shared_data / "mmcf_commalab"), "--time-limit", "60",
                "--threads", "2", "--out", str(tmp_path / "mmcf")])
    rows = list(csv.DictReader(open(tmp_path / "mmcf.csv")))
    assert [r["solver"] for r in rows] == ["scotopt-float32", "highs-ipm"]
    assert all(r["status"] == "OPTIMAL" for r in rows)
    assert all(float(r["obj_rel_error"]) <= 1e-3 for r in rows)
