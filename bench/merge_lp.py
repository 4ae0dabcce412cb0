"""Merge runs of ``bench/compare_lp.py`` into one table under one time limit.

A run with a long time limit need only repeat the instances that some solver did not solve
under a shorter one: a solve that finished within the short limit finishes the same way under
the long one. This script takes CSVs in order (a later file's row replaces an earlier one for
the same instance and solver), counts as unsolved every row not solved within ``--time-limit``,
judges the rows of HiGHS runs made at another eps again at ``--eps`` from their KKT measure
(HiGHS is given no eps, so its answer is the same; any other solver's row at another eps is an
error), and writes the summary of ``compare_lp.summarize`` (solved counts, shifted geometric means with
unsolved = the limit, the per-instance table).

Usage: ``python bench/merge_lp.py --time-limit 600 --eps 1e-4 --out merged.md A.csv B.csv TAIL.csv``
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_lp import summarize  # noqa: E402

_FLOATS = ("seconds", "solver_seconds", "kkt_max", "obj_rel_error", "cpu_seconds", "time_limit")


def read_rows(path: Path) -> list[dict]:
    rows = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            for key in _FLOATS:
                text = row.get(key)
                row[key] = float(text) if text not in (None, "") else math.nan
            row["nnz"] = int(row["nnz"])
            row["solved"] = row["solved"] == "True"
            rows.append(row)
    return rows


# Solvers whose run does not depend on eps (compare_lp passes eps only to scotopt and PDLP):
# a row of theirs from a run at another eps is the same answer, judged again at this one.
EPS_FREE_SOLVERS = ("highs-simplex", "highs-ipm")


def merge(paths, time_limit: float, eps: float | None = None) -> tuple[list[dict], list[str]]:
    merged: dict = {}
    solvers: list[str] = []
    for path in paths:
        for row in read_rows(Path(path)):
            if eps is not None and not math.isclose(float(row["eps"]), eps):
                if row["solver"] not in EPS_FREE_SOLVERS:
                    raise SystemExit(f"{path}: {row['solver']} on {row['instance']} ran at eps {row['eps']}, "
                                     f"not {eps}; only {', '.join(EPS_FREE_SOLVERS)} can be judged again")
                row["solved"] = bool(math.isfinite(row["kkt_max"]) and row["kkt_max"] <= eps)
                row["eps"] = eps
            merged[(row["instance"], row["solver"])] = row
            if row["solver"] not in solvers:
                solvers.append(row["solver"])
    for row in merged.values():
        if row["solved"] and row["seconds"] > time_limit:
            row["solved"] = False
    return list(merged.values()), solvers


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="+")
    parser.add_argument("--time-limit", type=float, required=True)
    parser.add_argument("--eps", type=float, required=True)
    parser.add_argument("--title", default="LP comparison, merged runs")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    rows, solvers = merge(args.csv, args.time_limit, args.eps)
    text = summarize(rows, solvers, args.eps, args.time_limit, title=args.title)
    text += "\nMerged from: " + ", ".join(Path(p).name for p in args.csv) + " (later files override).\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
