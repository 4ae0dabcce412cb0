"""The volume algorithm's step target on a CommaLAB instance: the bound alone, no master.

Runs ``LagrangianMMCF.solve(method="volume", heuristic=None)`` for a fixed number of
iterations, once per setting, each in a fresh process (run them side by side on an idle
machine, or one after another), and prints when the best bound came within 3e-3, 1e-3, 5e-4
and 2e-4 of the published optimum:

- ``--upper-bound-offset r``: a fixed upper bound r (relative) above the published optimum is
  given to the driver (what the master's UB would be);
- ``--volume-target t``: ``LagrangianOptions.volume_target`` (the step aims max(UB, (1 + t) L)).

The table in bench/README.md (issue 6) ran the code before ``volume_target`` existed, where the
step aimed at the UB when there was one and 5 % above the bound otherwise; the same steps now:
``--upper-bound-offset r --volume-target 1e-12`` (aim at the UB) and ``--volume-target 0.05``.

Usage::

    python bench/lagrangian_target.py --instance planar1000 --iterations 400 --volume-target 0.1
    python bench/lagrangian_target.py --instance planar1000 --iterations 400 --upper-bound-offset 5e-3
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "mmcf_commalab"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default="planar1000")
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--upper-bound-offset", type=float, default=None)
    parser.add_argument("--volume-target", type=float, default=None)
    args = parser.parse_args(argv)

    from scotopt.io.commalab import read_commalab_arrays
    from scotopt.models.mmcf_lagrangian import LagrangianMMCF
    from scotopt.solvers.lagrangian import LagrangianOptions

    with open(DATA / "index.csv", newline="") as fh:
        row = {r["name"]: r for r in csv.DictReader(fh)}[args.instance]
    optimum = float(row["optimal_objective"])
    a = read_commalab_arrays(DATA / row["file"])
    model = LagrangianMMCF(a["tail"], a["head"], a["cost"], a["capacity"], a["origin"], a["destination"],
                           a["demand"], num_nodes=a["num_nodes"])
    extra = {} if args.volume_target is None else {"volume_target": args.volume_target}
    ub = None if args.upper_bound_offset is None else optimum * (1 + args.upper_bound_offset)
    cpu = time.process_time()
    result = model.solve(method="volume", heuristic=None, upper_bound=ub,
                         options=LagrangianOptions(gap_tolerance=1e-12, max_iterations=args.iterations,
                                                   print_every=10, stall_iterations=10**9, **extra))
    cpu = time.process_time() - cpu
    reached = {}
    for iteration, _, best, _, seconds in result.history:
        for level in (3e-3, 1e-3, 5e-4, 2e-4):
            if (optimum - best) / optimum <= level and level not in reached:
                reached[level] = {"iteration": iteration, "seconds": round(seconds, 1)}
    print(json.dumps({"instance": args.instance, "iterations": result.iterations,
                      "upper_bound_offset": args.upper_bound_offset, "volume_target": args.volume_target,
                      "cpu_seconds": round(cpu, 1), "final_lb_rel_error": (optimum - result.lower_bound) / optimum,
                      "reached": {f"{k:g}": v for k, v in reached.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
