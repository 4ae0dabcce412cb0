"""``scotopt bench`` and its registry on the smallest instances, so the harness never rots."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from scotopt import LP
from scotopt.bench import families as fam
from scotopt.bench import roofline, verify
from scotopt.bench.solvers import SOLVERS, parse_history
from scotopt.cli import main

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HAVE_DATA = (DATA / "netlib" / "index.csv").exists() and (DATA / "maros_meszaros" / "index.csv").exists()
CPU_PEERS = "scotopt-numpy,scotopt-admm,highs-simplex,highs-ipm,pdlp,mincostflow,osqp"


@pytest.mark.skipif(not HAVE_DATA, reason=f"shared data not found at {DATA}")
def test_cli_bench_smoke_suite(tmp_path, capsys):
    pytest.importorskip("ortools")
    pytest.importorskip("osqp")
    pytest.importorskip("matplotlib")
    families = "netlib,transport,mincostflow,maros_meszaros,truck_loading"
    code = main(["bench", "--suite", "smoke", "--solvers", CPU_PEERS, "--families", families, "--data", str(DATA),
                 "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    rows = list(csv.DictReader(open(tmp_path / "results.csv")))
    ran = [r for r in rows if r["status"] != "SKIPPED"]
    assert {r["family"] for r in ran} - {"truck_loading"} == {"netlib", "transport", "mincostflow", "maros_meszaros"}
    assert all(r["solved"] == "True" for r in ran), [(r["instance"], r["solver"], r["kkt_max"]) for r in ran]
    flow = [r for r in ran if r["solver"] == "mincostflow"]
    assert flow and all(float(r["kkt_max"]) <= 1e-9 for r in flow)  # exact flow, exact recovered duals
    pdhg = [r for r in ran if r["solver"] in ("scotopt-numpy", "pdlp")]
    assert all(float(r["iter_over_bound"]) > 0 for r in pdhg)
    md = (tmp_path / "results.md").read_text()
    assert "STREAM triad" in md and "## netlib" in md and "truck_loading" in md  # a section, or skipped with why
    for name in ("time_vs_size_netlib.png", "profile_transport.png", "convergence_mincostflow.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_cli_bench_without_data_fails_clearly(tmp_path, capsys):
    code = main(["bench", "--families", "netlib", "--data", str(tmp_path / "none"), "--out", str(tmp_path),
                 "--no-plots"])
    assert code == 2
    err = capsys.readouterr().err
    assert "family netlib" in err and "not found" in err


def test_mpax_matches_our_sign_convention():
    pytest.importorskip("mpax")
    from scotopt.bench.peers import solve_mpax

    # an equality row, a ranged row active at its upper bound, a >= row active at its lower bound
    A = sp.csr_matrix(np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 0.0], [0.0, 1.0, 2.0]]))
    lp = LP(np.array([1.0, 2.0, 3.0]), A, [3.0, -1.0, 2.0], [3.0, 0.5, np.inf], np.zeros(3), np.full(3, 10.0))
    res = solve_mpax(lp, eps=1e-8, iteration_limit=20_000)
    report = verify.check(lp, res["x"], res["y"], 1e-6)
    assert report["solved"], report


def test_registry_skips_families_with_reasons(tmp_path):
    for name in ("multi_echelon_inventory", "truck_loading"):  # registered; skipped with a reason until the hook exists
        why = fam.FAMILIES[name].unavailable(tmp_path)
        assert why is None or "bench_instance does not exist yet" in why
    assert "not found" in fam.FAMILIES["maros_meszaros"].unavailable(tmp_path / "none")
    assert fam.FAMILIES["transport"].unavailable(tmp_path) is None
    entry = fam.Family("demo", "lp", "test family", lambda spec, d: None, quick=(1, 2), full=(1, 2, 3),
                       requires=("scotopt:LP.no_such_hook",))
    assert "LP.no_such_hook does not exist yet" in entry.unavailable(tmp_path)
    assert entry.specs("smoke") == (1,) and entry.specs("full") == (1, 2, 3)
    with pytest.raises(ValueError):
        fam.register(fam.Family("bad", "mip", "", lambda s, d: None, (), ()))
    # SimpleMinCostFlow only takes instances whose model is a single-commodity flow
    lp = fam.explicit_lp(fam.transport_model(2, 2))
    assert not SOLVERS["mincostflow"].takes(fam.Instance("x", "x", "lp", lp, 4, model=object()))
    assert SOLVERS["mincostflow"].takes(fam.Instance("x", "x", "lp", lp, 4, model=fam.transport_model(2, 2)))
    assert not SOLVERS["osqp"].takes(fam.Instance("x", "x", "lp", lp, 4))


def test_transport_model_is_balanced_and_solved_by_every_lp_solver():
    model = fam.transport_model(4, 6)
    assert model.num_arcs == 24 and abs(model.supply.sum()) < 1e-9
    lp = fam.explicit_lp(model)
    inst = fam.Instance("transport", lp.name, "lp", lp, 24, model=model)
    answers = {name: SOLVERS[name].run(inst, 1e-6, 10.0, {}) for name in ("scotopt-numpy", "highs-simplex")}
    exact = SOLVERS["mincostflow"].run(inst, 1e-6, 10.0, {})
    for res in answers.values():
        assert verify.check(lp, res["x"], res["y"], 1e-6)["solved"]
    assert verify.check(lp, exact["x"], exact["y"], 1e-12)["solved"]  # duals recovered by flow_potentials
    assert verify.check(lp, None, None, 1e-6)["check"] == "no primal answer"


def test_roofline_model_counts():
    # 2 nnz (8 + 4) + (m + n + 2) 4 + 16 (m + n) 8
    assert roofline.csr_bytes(2, 3, 4) == 96 + 28 + (10 * 3 + 14 * 2) * 8
    assert roofline.network_bytes(10, 1) == 10 * 48 + 40
    assert math.isclose(roofline.bound_seconds(22e9, 22.0), 1.0)


def test_parse_history_reads_verbose_lines():
    text = ("     iter rel_primal ...\n       64   1.00e-01   2.00e-02   3.00e-03  -4.6e+02  1.0e+00    0.01s\n"
            "      128   1.00e-05   2.00e-06   3.00e-07  -4.6e+02  1.0e+00    0.02s  restart\n")
    hist = parse_history(text)
    assert [h[0] for h in hist] == [64.0, 128.0] and hist[1][1:] == (1e-5, 2e-6, 3e-7, 0.02)


def test_run_isolated_returns_the_answer_or_kills():
    from scotopt.bench.suite import run_isolated

    model = fam.transport_model(3, 4)
    lp = fam.explicit_lp(model)
    inst = fam.Instance("transport", lp.name, "lp", lp, 12, model=model)
    answer = run_isolated("highs-simplex", inst, 1e-6, 30.0, {})
    assert verify.check(lp, answer["x"], answer["y"], 1e-6)["solved"]
    killed = run_isolated("highs-simplex", inst, 1e-6, 0.0, {}, margin=0.0)
    assert killed["status"] == "KILLED" and killed["x"] is None


def test_flow_potentials_certify_optimal_flows_only():
    pytest.importorskip("ortools")
    from scotopt.bench.peers import flow_potentials, ortools_min_cost_flow
    from scotopt.models.generators import netgen_min_cost_flow

    model = netgen_min_cost_flow(50, 400, seed=3)
    ok, _, flow, _, _ = ortools_min_cost_flow(model)
    assert ok
    y = flow_potentials(model, flow)
    assert verify.check(model.lp, flow, y, 1e-12)["solved"]
    # two parallel arcs 0 -> 1 of cost 1 and 5: the unit on the dear arc is feasible, not optimal
    # (the residual cycle cheap forward, dear backward costs -4), so no potentials exist
    from scotopt.models import MinCostFlow

    pair = MinCostFlow([0, 0], [1, 1], [1.0, 5.0], [1.0, 1.0], [1.0, -1.0])
    assert verify.check(pair.lp, np.array([1.0, 0.0]), flow_potentials(pair, np.array([1.0, 0.0])), 1e-12)["solved"]
    assert flow_potentials(pair, np.array([0.0, 1.0]), max_seconds=5.0) is None
