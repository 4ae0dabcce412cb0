"""A large sparse QP on the CPU: time, iterations and peak memory of scotopt's ADMM (matrix-free PCG).

The instance is a transport problem with quadratic (congestion) costs, generated without a
Python loop over arcs: ``sources`` supply nodes, each joined to ``degree`` random sinks, so
n = sources * degree arcs and m = sources + sinks rows::

    min  sum_a (c_a x_a + q_a / 2 x_a^2)
    s.t. sum_{a out of i} x_a <= supply_i     (every source i)
         sum_{a into j}  x_a  = demand_j      (every sink j)
         0 <= x_a <= u_a

Supplies exceed demands by 50%, so the instance is feasible. Reported per size: setup and
solve time, ADMM and PCG iterations, status, KKT measures, and the peak RSS of the process
(VmHWM) over the interpreter's own. Each size runs in a fresh process.

Usage: ``python bench/qp_large.py --arcs 1e5 1e6 1e7 --eps 1e-3 --time-limit 600``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def transport_qp(arcs: int, degree: int = 10, seed: int = 0):
    import numpy as np
    import scipy.sparse as sp

    from scotopt import QP

    rng = np.random.default_rng(seed)
    sources = max(1, arcs // degree)
    sinks = max(1, sources)
    n = sources * degree
    tail = np.repeat(np.arange(sources, dtype=np.int64), degree)
    head = rng.integers(0, sinks, n)
    rows = np.concatenate([tail, sources + head])
    cols = np.concatenate([np.arange(n), np.arange(n)])
    A = sp.csr_matrix((np.ones(2 * n), (rows, cols)), shape=(sources + sinks, n))
    inflow_capacity = np.bincount(head, minlength=sinks).astype(np.float64)
    demand = rng.uniform(0.2, 0.6, sinks) * np.maximum(inflow_capacity, 1.0)
    demand[inflow_capacity == 0] = 0.0
    supply = np.full(sources, 1.5 * demand.sum() / sources)
    con_lb = np.concatenate([np.full(sources, -np.inf), demand])
    con_ub = np.concatenate([supply, demand])
    P = sp.diags(rng.uniform(0.1, 1.0, n)).tocsr()
    return QP(P, rng.uniform(1.0, 10.0, n), A, con_lb, con_ub, 0.0, np.full(n, 10.0), name=f"transport_qp_{n}")


_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[4])
from qp_large import transport_qp
import scotopt
from scotopt.options import ADMMOptions

def peak_kib():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))

base = peak_kib()
t0 = time.perf_counter()
qp = transport_qp(int(float(sys.argv[1])))
built = time.perf_counter() - t0
result = scotopt.solve(qp, method="admm", eps=float(sys.argv[2]), time_limit=float(sys.argv[3]),
                       options=ADMMOptions(linear_solver="pcg"))
print(json.dumps({"arcs": qp.num_vars, "rows": qp.num_rows, "nonzeros": int(qp.A.nnz), "build_s": built,
                  "setup_s": result.setup_time, "solve_s": result.solve_time, "status": result.status.name,
                  "iterations": result.iterations, "cg_iterations": result.extra["cg_iterations"],
                  "rel_primal": result.rel_primal, "rel_dual": result.rel_dual, "rel_gap": result.rel_gap,
                  "peak_rss_gib": (peak_kib() - base) / 2**20}))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arcs", nargs="+", default=["1e5", "1e6", "1e7"])
    parser.add_argument("--eps", type=float, default=1e-3)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "qp_large.json"))
    args = parser.parse_args(argv)
    results = []
    for arcs in args.arcs:
        started = time.perf_counter()
        child = subprocess.run([sys.executable, "-c", _CHILD, arcs, str(args.eps), str(args.time_limit),
                                str(Path(__file__).resolve().parent)], capture_output=True, text=True, cwd=ROOT)
        if child.returncode != 0:
            print(child.stderr[-2000:], file=sys.stderr)
            continue
        row = json.loads(child.stdout.strip().splitlines()[-1])
        row["wall_s"] = time.perf_counter() - started
        results.append(row)
        print(json.dumps(row), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
