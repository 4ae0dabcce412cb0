"""Smoke tests of the ADMM, large-QP and Lagrangian benchmarks on tiny sizes, so they never rot."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _run(*args, timeout=300):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.skipif(not (DATA / "maros_meszaros" / "index.csv").exists(), reason="Maros-Meszaros data not found")
def test_compare_qp_smoke(tmp_path):
    pytest.importorskip("osqp")
    run = _run("bench/compare_qp.py", "--names", "HS21", "QAFIRO", "--eps", "1e-3", "--time-limit", "10",
               "--out", tmp_path / "qp")
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(open(tmp_path / "qp.csv")))
    expected = {(name, solver) for name in ("HS21", "QAFIRO") for solver in ("scotopt", "osqp")}
    assert {(r["instance"], r["solver"]) for r in rows} == expected
    assert all(r["solved"] == "True" for r in rows if r["solver"] == "scotopt")


def test_qp_large_smoke(tmp_path):
    run = _run("bench/qp_large.py", "--arcs", "2000", "--time-limit", "60", "--out", tmp_path / "large.json")
    assert run.returncode == 0, run.stderr
    (row,) = json.loads((tmp_path / "large.json").read_text())
    assert row["arcs"] == 2000 and row["status"] == "OPTIMAL" and row["peak_rss_gib"] >= 0


@pytest.mark.skipif(not (DATA / "mmcf_commalab" / "index.csv").exists(), reason="CommaLAB data not found")
def test_lagrangian_mmcf_smoke(tmp_path):
    run = _run("bench/lagrangian_mmcf.py", "--instances", "planar30", "--time-limit", "20", "--solvers",
               "lagrangian,pdhg", "--out", tmp_path / "lag")
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(open(tmp_path / "lag.csv")))
    assert [r["solver"] for r in rows] == ["lagrangian-volume+master", "pdhg-full-lp"]
    assert rows[0]["status"] == "OPTIMAL" and float(rows[0]["gap"]) <= 1e-3
    assert 0 <= float(rows[0]["final_rel_error"]) <= 1e-3  # the UB against the published optimum
