"""Solved counts and shifted geometric means per collection from compare_lp.py CSV files.

Usage: ``python bench/summarize.py bench/results/lp_1e-4.csv [more.csv ...]``. An unsolved
instance counts at its time limit; the shift is 10 s (as in compare_lp.py).
"""

from __future__ import annotations

import csv
import math
import sys
from collections import defaultdict

SHIFT = 10.0


def summarize(path: str) -> list[str]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    groups: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        solved = row["solved"] in ("True", "true", "1")
        seconds = float(row["seconds"]) if solved else float(row["time_limit"])
        for collection in ("all", row["collection"]):
            groups[collection][row["solver"]].append((solved, seconds))
    lines = [f"| collection | solver | solved | SGM seconds (shift {SHIFT:g} s) |", "|---|---|---|---|"]
    for collection, by_solver in groups.items():
        for solver, results in by_solver.items():
            sgm = math.exp(sum(math.log(s + SHIFT) for _, s in results) / len(results)) - SHIFT
            lines.append(f"| {collection} | {solver} | {sum(ok for ok, _ in results)}/{len(results)} | {sgm:.3f} |")
    return lines


if __name__ == "__main__":
    for csv_path in sys.argv[1:]:
        print(f"\n{csv_path}\n")
        print("\n".join(summarize(csv_path)))
