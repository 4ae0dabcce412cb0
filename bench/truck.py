"""Truck loading: scotopt's bounds + plan vs HiGHS's MIP, and a 10^7-shipment run within memory.

Sub-commands (results in ``bench/results/truck_<name>.csv`` / ``.md``):

- ``compare``: one seeded instance (``random_truck_instance``), solved in one process one after
  the other with the same time limit T:
  - ``scotopt``: ``model.solve(...)``: a plan from costs, the LP relaxation by PDHG (at most
    0.35 T, eps 1e-4), the Lagrangian bound warm-started from the LP duals (at most 0.35 T),
    plans from both; the bound is the best of the two;
  - ``highs-mip``: HiGHS 1 thread on the truck-indexed MIP (``scotopt.models.truck_mip``,
    the same problem: every truck's load must fit), time limit T.
  Both plans go through the independent checker (``scotopt.models.truck_check``); the gap is
  given against each solver's own bound and against the best bound either found.
- ``large``: a plan from costs, the Lagrangian bound (one surrogate weight, time limit), a plan
  from its averaged point; no LP (see bench/README.md). Reports the time of each step, the gap
  and the process's peak RSS (``ru_maxrss``).

Usage::

    python bench/truck.py compare --shipments 1e5 --departures 1e4 --time-limit 300
    python bench/truck.py large --shipments 1e7 --departures 1e5 --lagrangian-seconds 300
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from tables import write_csv  # noqa: E402 - bench/ is on the path only after the line above

RESULTS = ROOT / "bench" / "results"


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def plan_row(solver, model, seconds, cost, bound, departure, truck):
    from scotopt.models.truck_check import check_plan

    row = {"solver": solver, "seconds": seconds, "cost": cost, "own_bound": bound,
           "own_gap": (cost - bound) / max(1.0, abs(cost)) if math.isfinite(cost) else math.inf}
    if departure is None:
        row.update(feasible="no plan", trucks=0, fill_weight=math.nan, fill_volume=math.nan, fallback=math.nan)
        return row
    served = np.flatnonzero(departure >= 0)
    check = check_plan(model, served, departure[served], truck[served], np.flatnonzero(departure < 0))
    keys = np.unique(departure[served] * (int(truck.max(initial=0)) + 1) + truck[served])
    used = keys // (int(truck.max(initial=0)) + 1)
    row.update(feasible=check.feasible, checked_cost=check.cost, violations=len(check.violations),
               first_violation=check.violations[0] if check.violations else "", trucks=keys.size,
               fill_weight=float(model.weight[served].sum() / model.weight_capacity[used].sum()) if keys.size else 0,
               fill_volume=float(model.volume[served].sum() / model.volume_capacity[used].sum()) if keys.size else 0,
               fallback=int(np.count_nonzero(departure < 0)))
    return row


def compare(args) -> list[dict]:
    from scotopt.models.truck_generators import random_truck_instance
    from scotopt.models.truck_mip import solve_truck_mip
    from scotopt.solvers.lagrangian import LagrangianOptions

    started = time.perf_counter()
    model = random_truck_instance(int(args.shipments), int(args.departures), seed=args.seed)
    build = time.perf_counter() - started
    print(f"{model}, built in {build:.1f} s, max trucks {model.max_trucks.max()}", flush=True)
    rows = []
    started = time.perf_counter()
    plan = model.solve(lp_eps=1e-4, lp_time_limit=0.35 * args.time_limit,
                       lagrangian_options=LagrangianOptions(max_iterations=10**6, time_limit=0.35 * args.time_limit,
                                                            theta=0.5, stall_iterations=10**6))
    seconds = time.perf_counter() - started
    row = plan_row("scotopt", model, seconds, plan.total_cost, plan.lower_bound, plan.departure, plan.truck)
    row.update({f"bound_{k}": v for k, v in plan.bounds.items()})
    row.update({f"t_{k}": v for k, v in plan.timings.items()})
    row.update(plan.info)
    rows.append(row)
    print(rows[-1], flush=True)
    if "highs" in args.solvers:
        mip = solve_truck_mip(model, time_limit=args.time_limit)
        rows.append(plan_row("highs-mip", model, mip["seconds"], mip["objective"], mip["bound"], mip["departure"],
                             mip["truck"]))
        rows[-1]["status"] = mip["status"]
        rows[-1]["mip_columns"] = mip["columns"]
        print(rows[-1], flush=True)
    best_bound = max(r["own_bound"] for r in rows if math.isfinite(r["own_bound"]))
    for r in rows:
        r.update(instance=f"random n={int(args.shipments)} D={int(args.departures)} seed={args.seed}",
                 shipments=model.num_shipments, departures=model.num_departures, pairs=model.num_pairs,
                 time_limit=args.time_limit, best_bound=best_bound,
                 gap_to_best_bound=(r["cost"] - best_bound) / max(1.0, abs(r["cost"])) if math.isfinite(r["cost"])
                 else math.inf)
    return rows


def large(args) -> list[dict]:
    from scotopt.models.truck_generators import random_truck_instance
    from scotopt.solvers.lagrangian import LagrangianOptions

    rss_start = peak_rss_gib()
    started = time.perf_counter()
    model = random_truck_instance(int(args.shipments), int(args.departures), seed=args.seed)
    build = time.perf_counter() - started
    print(f"{model}, generated and built in {build:.1f} s, peak RSS {peak_rss_gib():.2f} GiB", flush=True)
    started = time.perf_counter()
    plan = model.solve(lp=False, surrogate=(0.5,), verbose=args.verbose,
                       lagrangian_options=LagrangianOptions(max_iterations=10**6, time_limit=args.lagrangian_seconds,
                                                            theta=0.5, stall_iterations=10**6, print_every=1))
    seconds = time.perf_counter() - started
    row = plan_row("scotopt", model, seconds, plan.total_cost, plan.lower_bound, plan.departure, plan.truck)
    row.update(instance=f"random n={int(args.shipments)} D={int(args.departures)} seed={args.seed}",
               shipments=model.num_shipments, departures=model.num_departures, pairs=model.num_pairs,
               build_seconds=build, peak_rss_gib=peak_rss_gib(), rss_before_gib=rss_start)
    row.update({f"bound_{k}": v for k, v in plan.bounds.items()})
    row.update({f"t_{k}": v for k, v in plan.timings.items()})
    row.update(plan.info)
    print(row, flush=True)
    return [row]


def markdown(rows, columns) -> str:
    def fmt(value):
        if isinstance(value, float):
            return f"{value:.4g}" if abs(value) < 1e5 or not math.isfinite(value) else f"{value:.6g}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("compare", "large"))
    parser.add_argument("--shipments", type=float, default=1e5)
    parser.add_argument("--departures", type=float, default=1e4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--lagrangian-seconds", type=float, default=300.0)
    parser.add_argument("--solvers", default="scotopt,highs")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    rows = compare(args) if args.command == "compare" else large(args)
    out = Path(args.out) if args.out else RESULTS / f"truck_{args.command}"
    write_csv(rows, out, columns=sorted({k for r in rows for k in r}, key=lambda k: (k not in rows[0], k)))
    columns = (["solver", "seconds", "cost", "own_bound", "own_gap", "best_bound", "gap_to_best_bound", "feasible",
                "trucks", "fill_weight", "fill_volume", "fallback", "status"] if args.command == "compare" else
               ["instance", "pairs", "build_seconds", "seconds", "cost", "own_bound", "own_gap", "feasible", "trucks",
                "fill_weight", "fill_volume", "fallback", "peak_rss_gib"])
    out.with_suffix(".md").write_text(markdown(rows, columns))
    print(markdown(rows, columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
