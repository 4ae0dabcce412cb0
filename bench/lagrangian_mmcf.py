"""MMCF (CommaLAB): Lagrangian relaxation of the capacities vs the full LP by PDHG and by HiGHS.

For each instance, in one process one after the other with the same time limit:

- ``lagrangian``: ``LagrangianMMCF(...).solve(method="volume")`` (batched Dijkstra oracle; upper
  bounds from routing on residual capacities and a restricted master LP over those paths and the
  priced ones, stopping at ``--gap``);
  reported: the time to a ``--gap`` relative gap between its own bounds (LB from the Lagrangian,
  UB from a feasible flow; no published optimum used), the time at which the bound first came within
  ``--gap`` of the published optimum, and LB, UB, gap and their errors against the published optimum;
- ``pdhg``: the arc-flow LP with the matrix-free incidence operator (``read_commalab`` ->
  ``MultiCommodityFlow.solve(eps=gap)``, float32 iterations, float64 check);
- ``highs-ipm``: HiGHS's interior point on the same LP as an explicit sparse matrix.

Usage: ``python bench/lagrangian_mmcf.py --instances grid10,planar300 --gap 1e-3 --time-limit 240``
(``--full-lp-time-limit`` caps PDHG and HiGHS separately).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tables import write_csv  # noqa: E402 - bench/ is on the path only after the line above

DATA = ROOT.parent / "shared" / "data" / "mmcf_commalab"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="grid10,planar300")
    parser.add_argument("--gap", type=float, default=1e-3)
    parser.add_argument("--time-limit", type=float, default=240.0)
    parser.add_argument("--full-lp-time-limit", type=float, default=None,
                        help="PDHG / HiGHS limit (default: --time-limit)")
    parser.add_argument("--solvers", default="lagrangian,pdhg,highs-ipm")
    parser.add_argument("--master-first", type=int, default=None,
                        help="driver iteration of the master's first call (default: PathMaster's)")
    parser.add_argument("--master-background", choices=("auto", "on", "off"), default="auto",
                        help="run the master LP in a thread beside the driver (auto: with 2+ cores)")
    parser.add_argument("--master-columns", type=float, default=None,
                        help="paths kept in the master per commodity (PathMaster.max_columns; default 20)")
    parser.add_argument("--master-routing", type=int, default=None,
                        help="master runs that route on residual capacities first (PathMaster.routing; default all)")
    parser.add_argument("--pdhg-backend", default="numpy",
                        help="backend of the full-LP PDHG solve (cupy / jax on a GPU)")
    parser.add_argument("--pdhg-eps", default=None,
                        help="comma-separated eps of the full-LP PDHG solves (default: --gap)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "lagrangian_mmcf"))
    args = parser.parse_args(argv)
    lp_limit = args.full_lp_time_limit or args.time_limit
    pdhg_eps = [float(e) for e in args.pdhg_eps.split(",")] if args.pdhg_eps else [args.gap]

    from scotopt import LP
    from scotopt.io.commalab import read_commalab, read_commalab_arrays
    from scotopt.models.mmcf_lagrangian import LagrangianMMCF
    from scotopt.models.mmcf_master import PathMaster
    from scotopt.solvers.lagrangian import LagrangianOptions

    with open(DATA / "index.csv", newline="") as fh:
        index = {row["name"]: row for row in csv.DictReader(fh)}
    solvers = args.solvers.split(",")
    rows = []
    for name in args.instances.split(","):
        optimum = float(index[name]["optimal_objective"])
        path = DATA / index[name]["file"]
        if "lagrangian" in solvers:
            arrays = read_commalab_arrays(path)
            load_before = os.getloadavg()[0]
            started, cpu = time.perf_counter(), time.process_time()
            model = LagrangianMMCF(arrays["tail"], arrays["head"], arrays["cost"], arrays["capacity"],
                                   arrays["origin"], arrays["destination"], arrays["demand"],
                                   num_nodes=arrays["num_nodes"])
            background = (os.cpu_count() or 1) >= 2 if args.master_background == "auto" else \
                args.master_background == "on"
            cap = None if args.master_columns is None else int(args.master_columns * model.origin.size)
            master = PathMaster(model, first=args.master_first, background=background, max_columns=cap,
                                routing=args.master_routing)
            result = model.solve(method="volume", heuristic=master,
                                 options=LagrangianOptions(gap_tolerance=args.gap, max_iterations=10**9,
                                                           time_limit=args.time_limit, print_every=5,
                                                           stall_iterations=10**9))
            total, cpu = time.perf_counter() - started, time.process_time() - cpu
            reached = [t for (_, _, best, _, t) in result.history if best >= optimum * (1 - args.gap)]
            master = model.last_master
            rows.append({"instance": name, "solver": "lagrangian-volume+master",
                         "seconds_to_gap": total if result.status.name == "OPTIMAL" else float("nan"),
                         "seconds_lb_to_published": reached[0] if reached else float("nan"),
                         "total_seconds": total, "cpu_seconds": cpu, "iterations": result.iterations,
                         "lower_bound": result.lower_bound, "upper_bound": result.upper_bound, "gap": result.gap,
                         "lb_rel_error": (optimum - result.lower_bound) / optimum,
                         "final_rel_error": (result.upper_bound - optimum) / optimum,
                         "master_solves": master.solves, "master_seconds": master.seconds,
                         "master_cpu_seconds": master.cpu_seconds,
                         "routings": master.routed, "route_cpu_seconds": master.route_cpu_seconds,
                         "route_failures": getattr(master, "route_failures", float("nan")),
                         "route_repairs": getattr(master, "route_repairs", float("nan")),
                         "master_share": master.seconds / total,
                         "simplex_iterations": master.simplex_iterations, "master_timed_out": master.timed_out,
                         "columns": len(master.col_arcs), "capacity_rows": master.capacity_rows,
                         "load_before": load_before, "load_after": os.getloadavg()[0],
                         "master_background": background, "highs_statuses": dict(master.statuses),
                         "runs_ended_by": dict(master.run_ends), "status": result.status.name})
            print(rows[-1], flush=True)
            Path(f"{args.out}_{name}_history.json").write_text(json.dumps(
                [{"iteration": it, "bound": best, "upper_bound": ub, "seconds": round(t, 2)}
                 for it, _, best, ub, t in result.history]))
        if "pdhg" in solvers or "highs-ipm" in solvers:
            flow = read_commalab(path)
        for eps in pdhg_eps if "pdhg" in solvers else ():
            started = time.perf_counter()
            solution = flow.solve(eps=eps, dtype="float32", time_limit=lp_limit, backend=args.pdhg_backend)
            seconds = time.perf_counter() - started
            rows.append({"instance": name, "solver": "pdhg-full-lp", "backend": args.pdhg_backend, "eps": eps,
                         "seconds_to_gap": seconds if solution.status.name == "OPTIMAL" else float("nan"),
                         "total_seconds": seconds, "iterations": solution.result.iterations,
                         "final_rel_error": abs(solution.objective - optimum) / optimum,
                         "status": solution.status.name})
            print(rows[-1], flush=True)
        if "highs-ipm" in solvers:
            from scotopt.bench.peers import solve_highs

            lp = LP(flow.lp.c, flow.operator.to_csr(), flow.lp.con_lb, flow.lp.con_ub, flow.lp.var_lb,
                    flow.lp.var_ub)
            res = solve_highs(lp, method="ipm", time_limit=lp_limit)
            error = abs(res["objective"] - optimum) / optimum if res["x"] is not None else float("nan")
            rows.append({"instance": name, "solver": "highs-ipm",
                         "seconds_to_gap": res["seconds"] if error <= args.gap else float("nan"),
                         "total_seconds": res["seconds"], "iterations": res["iterations"],
                         "final_rel_error": error, "status": res["status"]})
            print(rows[-1], flush=True)
            del lp
    out = Path(args.out)
    write_csv(rows, out)
    lines = [f"| instance | solver | s to a {args.gap:g} gap (own bounds; full LP: eps) | s until LB within "
             f"{args.gap:g} of the published optimum | total s | iterations | LB rel. error | final rel. error "
             "(UB / objective) | gap | status |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        label = r["solver"] + (f" ({r['backend']}, eps {r['eps']:g})" if "backend" in r else "")
        lines.append(f"| {r['instance']} | {label} | {r['seconds_to_gap']:.1f} | "
                     f"{r.get('seconds_lb_to_published', float('nan')):.1f} | {r['total_seconds']:.1f} | "
                     f"{r['iterations']} | {r.get('lb_rel_error', float('nan')):.2e} | {r['final_rel_error']:.2e} | "
                     f"{r.get('gap', float('nan')):.2e} | {r['status']} |")
    details = [r for r in rows if "master_seconds" in r]
    if details:
        lines += ["", "| instance | wall s | CPU s | master wall s (share) | master CPU s (routing: calls, CPU s) "
                  "| routings without a flow / cuts repaired "
                  "| HiGHS runs (stopped early: deadline or slice) | simplex iterations | path columns | capacity rows "
                  "| load before / after |",
                  "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|"]
        for r in details:
            lines.append(f"| {r['instance']} | {r['total_seconds']:.1f} | {r['cpu_seconds']:.1f} | "
                         f"{r['master_seconds']:.1f} ({100 * r['master_share']:.0f} %) | "
                         f"{r['master_cpu_seconds']:.1f} ({r['routings']}, {r['route_cpu_seconds']:.1f}) | "
                         f"{r['route_failures']} / {r['route_repairs']} | "
                         f"{r['master_solves']} ({r['master_timed_out']}) | "
                         f"{r['simplex_iterations']} | {r['columns']} | {r['capacity_rows']} | "
                         f"{r['load_before']:.1f} / {r['load_after']:.1f} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
