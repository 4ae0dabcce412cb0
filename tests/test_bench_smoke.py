"""Smoke test of bench/compare_lp.py: in-process run on afiro with HiGHS simplex and PDLP."""

from __future__ import annotations

import csv
import importlib.util
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

pytestmark = pytest.mark.skipif(
    not (DATA / "netlib" / "afiro.mps.gz").exists(),
    reason=f"shared Netlib data not found at {DATA / 'netlib'} (the `shared` folder beside the repository root)",
)


def _load_compare_lp():
    spec = importlib.util.spec_from_file_location("compare_lp", ROOT / "bench" / "compare_lp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_lp_afiro(tmp_path):
    pytest.importorskip("highspy")
    pytest.importorskip("ortools.pdlp.python.pdlp")
    cmp = _load_compare_lp()
    instances = cmp.select_instances(["netlib"], DATA, names=["afiro"])
    assert [i["name"] for i in instances] == ["afiro"]
    out = tmp_path / "afiro.csv"
    solvers = ["highs-simplex", "pdlp"]
    rows = cmp.compare(instances, solvers, eps=1e-4, time_limit=30.0, isolate=False, out=out, log=None)
    assert [r["solver"] for r in rows] == solvers

    with open(out, newline="") as fh:
        written = list(csv.DictReader(fh))
    assert [r["solver"] for r in written] == solvers
    for r in written:
        assert r["instance"] == "afiro"
        assert (int(r["rows"]), int(r["cols"]), int(r["nnz"])) == (27, 32, 83)
        assert r["status"] == "OPTIMAL"
        assert r["solved"] == "True"
        assert float(r["kkt_max"]) <= 1e-4
        assert float(r["ref_objective"]) == pytest.approx(-464.75314286)
        assert float(r["obj_rel_error"]) <= 1e-3
        assert float(r["seconds"]) > 0 and int(r["iterations"]) >= 0
    simplex = written[0]
    assert float(simplex["obj_rel_error"]) <= 1e-8

    md = cmp.summarize(rows, solvers, eps=1e-4, time_limit=30.0)
    assert "| highs-simplex | 1 |" in md and "| pdlp | 1 |" in md
    assert "machine:" in md
    assert math.isfinite(cmp.shifted_geometric_mean([1.0, 2.0]))
