"""Maros-Meszaros QPs: scotopt's ADMM vs OSQP side by side in one run, every answer KKT-checked.

For each instance of ../shared/data/maros_meszaros and each tolerance, both solvers run in this
process one after the other with the same time limit:

- ``scotopt``: ``scotopt.solve(qp, method="admm", eps=eps)`` (NumPy, direct KKT solves);
- ``osqp``: OSQP (the pip package) at default settings with eps_abs = eps_rel = eps, the
  variable bounds passed as identity rows, ``time_limit`` set.

**Solved** iff scotopt's own KKT check (``scotopt.solvers.kkt.kkt_report``, float64, ORIGINAL
problem, relative L2 measures of ARCHITECTURE.md section 5) gives max(rel_primal, rel_dual,
rel_gap) <= eps for the returned (x, y), whatever the solver claimed; OSQP's y is negated to
scotopt's sign convention. SGM is the shifted geometric mean of the times with shift 1 s, an
unsolved instance counting at the time limit. The objective error is against index.csv's
published optimum.

Usage: ``python bench/compare_qp.py --eps 1e-3 1e-6 --time-limit 30 --out bench/results/qp_mm``
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from tables import write_csv  # noqa: E402 - bench/ is on the path only after the line above

from scotopt.bench.peers import solve_osqp  # noqa: E402

MM = ROOT.parent / "shared" / "data" / "maros_meszaros"


def run_scotopt(qp, eps, time_limit):
    import scotopt

    started = time.perf_counter()
    result = scotopt.solve(qp, method="admm", eps=eps, time_limit=time_limit)
    return result.x, result.y, time.perf_counter() - started, result.status.name, result.iterations


def run_osqp(qp, eps, time_limit):
    res = solve_osqp(qp, eps, time_limit)
    x = res["x"] if res["x"] is not None else np.full(qp.num_vars, np.nan)
    y = res["y"] if res["y"] is not None else np.zeros(qp.num_rows)
    return x, y, res["seconds"], res["raw_status"], res["iterations"]


def sgm(times, shift=1.0):
    return math.exp(sum(math.log(t + shift) for t in times) / len(times)) - shift


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eps", type=float, nargs="+", default=[1e-3, 1e-6])
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--names", nargs="*", default=None)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "qp_mm"))
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    # warm-up outside the timings: imports, first-call costs
    from scotopt import QP
    from scotopt.io import read_mps
    from scotopt.solvers.kkt import kkt_report

    tiny = QP(sp.eye(2), np.ones(2), sp.csr_matrix([[1.0, 1.0]]), [1.0], [1.0])
    run_scotopt(tiny, 1e-6, 10.0)
    run_osqp(tiny, 1e-6, 10.0)
    with open(MM / "index.csv", newline="") as fh:
        index = [row for row in csv.DictReader(fh) if args.names is None or row["name"] in args.names]
    rows = []
    for entry in index:
        qp = read_mps(MM / entry["file"])
        published = float(entry["optimal_objective"])
        for eps in args.eps:
            for solver, run in (("scotopt", run_scotopt), ("osqp", run_osqp)):
                x, y, elapsed, claimed, iterations = run(qp, eps, args.time_limit)
                if np.isfinite(x).all():
                    report = kkt_report(qp, x, y)
                    kkt, objective = report.max_relative, report.primal_objective
                else:
                    kkt, objective = math.inf, math.nan
                solved = bool(kkt <= eps and elapsed <= args.time_limit * 1.05)
                rows.append({
                    "instance": entry["name"], "rows": qp.num_rows, "cols": qp.num_vars, "eps": eps, "solver": solver,
                    "solved": solved, "claimed": claimed, "time_s": elapsed, "iterations": iterations,
                    "kkt": kkt, "objective": objective,
                    "objective_error": abs(objective - published) / max(1.0, abs(published)),
                })
                print(f"{entry['name']:10s} eps={eps:g} {solver:8s} {'SOLVED' if solved else 'no':6s} "
                      f"{elapsed:7.2f}s kkt={kkt:.1e} claimed={claimed}", flush=True)
    out = Path(args.out)
    write_csv(rows, out)
    lines = ["| eps | solver | verified solves | SGM time (s, shift 1) |", "|---|---|---:|---:|"]
    for eps in args.eps:
        for solver in ("scotopt", "osqp"):
            mine = [r for r in rows if r["eps"] == eps and r["solver"] == solver]
            solved = sum(r["solved"] for r in mine)
            times = [r["time_s"] if r["solved"] else args.time_limit for r in mine]
            lines.append(f"| {eps:g} | {solver} | {solved} / {len(mine)} | {sgm(times):.3f} |")
    lines += ["", "| instance | eps | scotopt s | scotopt KKT | osqp s | osqp KKT |", "|---|---|---:|---:|---:|---:|"]
    for entry in index:
        for eps in args.eps:
            pair = {r["solver"]: r for r in rows if r["instance"] == entry["name"] and r["eps"] == eps}
            cells = []
            for solver in ("scotopt", "osqp"):
                r = pair[solver]
                cells += [f"{r['time_s']:.3f}" + ("" if r["solved"] else " (no)"), f"{r['kkt']:.1e}"]
            lines.append(f"| {entry['name']} | {eps:g} | " + " | ".join(cells) + " |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[: 2 + 2 * len(args.eps)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
