"""CSV and Markdown tables of a benchmark run.

Conventions of the tables: **solved** is our KKT check (``verify.py``), never the solver's claim.
SGM is the shifted geometric mean of the solve times with shift 1 s, an unsolved instance (or a
solver that failed) counting at the time limit, over the instances of the family; a solver
skipped on some of them (a size cap of the suite) gets its SGM over the instances it ran,
marked * in the table. ``x STATUS (kkt)`` marks an answer that failed the check.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

SGM_SHIFT = 1.0

COLUMNS = [
    "family", "instance", "size", "rows", "cols", "nnz", "solver", "eps", "time_limit", "solved", "status",
    "raw_status", "seconds", "cold_seconds", "iterations", "kkt_max", "rel_primal", "rel_dual", "rel_gap",
    "primal_objective", "dual_objective", "reference", "obj_rel_error", "check", "ms_per_iter", "MB_per_iter",
    "bound_ms", "iter_over_bound", "error",
]


def write_csv(rows: list[dict], prefix, columns=None) -> Path:
    """Write ``rows`` to ``prefix`` with suffix .csv (folders made as needed); missing keys are ''."""
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    columns = columns or list(rows[0].keys())
    path = prefix.with_suffix(".csv")
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows({key: row.get(key, "") for key in columns} for row in rows)
    return path


def sgm(times, shift: float = SGM_SHIFT) -> float:
    times = list(times)
    if not times:
        return math.nan
    return math.exp(sum(math.log(t + shift) for t in times) / len(times)) - shift


def _g(v, digits=3) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.{digits}g}"
    return str(v)


def ran(rows):
    return [r for r in rows if r["status"] != "SKIPPED"]


def family_summary(rows: list[dict], solvers: list[str]) -> list[str]:
    """| solver | solved / ran | SGM |: the SGM over the instances every solver without a size cap ran;
    a solver skipped on some of them (size cap) gets its SGM over its own instances, marked *."""
    done = ran(rows)
    by = {(r["instance"], r["solver"]): r for r in done}
    instances = list(dict.fromkeys(r["instance"] for r in done))
    active = [s for s in solvers if any(key[1] == s for key in by)]
    full = [s for s in active if all((i, s) in by for i in instances)]
    common = [i for i in instances if all((i, s) in by for s in full)]
    lines = [f"| solver | solved / ran | SGM s (shift {SGM_SHIFT:g}; unsolved = time limit) |", "|---|---|---|"]
    for s in active:
        mine = [i for i in (common if s in full else instances) if (i, s) in by]
        times = [by[(i, s)]["seconds"] if by[(i, s)]["solved"] else by[(i, s)]["time_limit"] for i in mine]
        mark = "" if s in full else f" * ({len(mine)} instances)"
        lines.append(f"| {s} | {sum(by[(i, s)]['solved'] for i in mine)} / {len(mine)} | {_g(sgm(times))}{mark} |")
    return lines


def instance_table(rows: list[dict], solvers: list[str]) -> list[str]:
    """Seconds per instance and solver: the time if solved, else ``x STATUS (kkt)``."""
    by = {(r["instance"], r["solver"]): r for r in rows}
    active = [s for s in solvers if any(key[1] == s and by[key]["status"] != "SKIPPED" for key in by)]
    lines = ["| instance | size | nnz | " + " | ".join(active) + " |", "|---|---|---" + "|---" * len(active) + "|"]
    for inst in dict.fromkeys(r["instance"] for r in rows):
        first = next(r for r in rows if r["instance"] == inst)
        cells = []
        for s in active:
            r = by.get((inst, s))
            if r is None or r["status"] == "SKIPPED":
                cells.append("-")
            elif r["solved"]:
                cells.append(_g(r["seconds"]))
            else:
                cells.append(f"x {r['status']} ({_g(r['kkt_max'], 2)})")
        lines.append(f"| {inst} | {first['size']} | {first['nnz']} | " + " | ".join(cells) + " |")
    return lines


def roofline_table(rows: list[dict]) -> list[str]:
    lines = ["| instance | solver | ms / iter | bytes / iter (MB) | bound ms | iter / bound |",
             "|---|---|---|---|---|---|"]
    for r in ran(rows):
        if isinstance(r.get("iter_over_bound"), float) and math.isfinite(r["iter_over_bound"]):
            lines.append(f"| {r['instance']} | {r['solver']} | {_g(r['ms_per_iter'])} | {_g(r['MB_per_iter'])} | "
                         f"{_g(r['bound_ms'])} | {_g(r['iter_over_bound'])} |")
    return lines


def markdown(rows: list[dict], meta: dict, solvers: list[str], skipped: list[tuple[str, str]]) -> str:
    """The whole report: header, then per family the summary, the per-instance and the roofline tables."""
    lines = [f"# scotopt bench --suite {meta['suite']}", ""]
    for key in ("date", "machine", "software", "bandwidth", "settings", "wall time"):
        if key in meta:
            lines.append(f"- {key}: {meta[key]}")
    lines += ["", "Solved = scotopt's KKT check on the original problem within eps (never the solver's claim). "
              "Seconds: wall time of the solve call, in this one process, one after the other "
              "(MPAX: warm, compilation excluded; scotopt-jax: compilation included).", ""]
    for family in dict.fromkeys(r["family"] for r in rows):
        mine = [r for r in rows if r["family"] == family]
        if not ran(mine):
            continue
        lines += [f"## {family}", ""] + family_summary(mine, solvers) + [""] + instance_table(mine, solvers) + [""]
        roof = roofline_table(mine)
        if len(roof) > 2:
            lines += ["Roofline (first-order solvers; model in `scotopt/bench/roofline.py`; iter / bound < 1: the "
                      "working set fits in the caches, so the DRAM bound does not bind):", ""] + roof + [""]
    if skipped:
        lines += ["## Skipped", ""] + [f"- {what}: {why}" for what, why in skipped] + [""]
    return "\n".join(lines)
