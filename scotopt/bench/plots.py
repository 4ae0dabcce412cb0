"""PNG plots of a benchmark run (matplotlib, Agg backend; imported only when plotting).

- ``time_vs_size_<family>.png``: solve seconds against instance size (nonzeros of A), log-log,
  one line per solver; filled markers solved, hollow markers not solved (at the time spent).
- ``profile_<family>.png``: Dolan-More performance profile: for each solver the fraction of the
  family's instances it solved within tau times the fastest verified time, tau on a log2 axis.
- ``convergence_<family>.png``: scotopt's max(rel_primal, rel_dual, rel_gap) at each check
  against the iteration, one line per (instance, scotopt solver), from the verbose history.
"""

from __future__ import annotations

import math
from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def time_vs_size(rows, family, path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for solver in dict.fromkeys(r["solver"] for r in rows):
        mine = [r for r in rows if r["solver"] == solver and math.isfinite(r["seconds"])]
        mine.sort(key=lambda r: r["nnz"])
        if not mine:
            continue
        (line,) = ax.plot([r["nnz"] for r in mine], [r["seconds"] for r in mine], "-", label=solver, alpha=0.8)
        ax.scatter([r["nnz"] for r in mine if r["solved"]], [r["seconds"] for r in mine if r["solved"]],
                   color=line.get_color(), s=18)
        ax.scatter([r["nnz"] for r in mine if not r["solved"]], [r["seconds"] for r in mine if not r["solved"]],
                   facecolors="none", edgecolors=line.get_color(), s=30)
    ax.set(xscale="log", yscale="log", xlabel="nonzeros of A", ylabel="seconds", title=f"{family}: time vs size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def profile_ratios(rows) -> dict[str, list[float]]:
    """Per solver, time / best verified time on each instance (inf where not solved or not run)."""
    instances = list(dict.fromkeys(r["instance"] for r in rows))
    solvers = list(dict.fromkeys(r["solver"] for r in rows))
    by = {(r["instance"], r["solver"]): r for r in rows}
    out = {s: [] for s in solvers}
    for inst in instances:
        solved = [by[(inst, s)]["seconds"] for s in solvers if (inst, s) in by and by[(inst, s)]["solved"]]
        best = min(solved) if solved else math.inf
        for s in solvers:
            r = by.get((inst, s))
            ok = r is not None and r["solved"] and math.isfinite(best)
            out[s].append(max(r["seconds"], 1e-9) / max(best, 1e-9) if ok else math.inf)
    return out


def performance_profile(rows, family, path) -> Path:
    plt = _pyplot()
    ratios = profile_ratios(rows)
    finite = [v for vs in ratios.values() for v in vs if math.isfinite(v)]
    top = max(2.0, 2 * max(finite, default=2.0))
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for solver, values in ratios.items():
        xs = sorted(v for v in values if math.isfinite(v))
        n = len(values)
        steps_x = [1.0] + xs + [top]
        steps_y = [0.0] + [(i + 1) / n for i in range(len(xs))] + [len(xs) / n]
        ax.step(steps_x, steps_y, where="post", label=solver)
    ax.set(xscale="log", xlabel="tau (time / fastest verified time)", ylabel="fraction solved within tau",
           title=f"{family}: performance profile", ylim=(0, 1.02))
    ax.set_xscale("log", base=2)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def convergence(histories: dict, family, path) -> Path | None:
    """``histories``: {(instance, solver): [(iteration, rel_p, rel_d, rel_gap, seconds), ...]}."""
    if not any(histories.values()):
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for (instance, solver), hist in histories.items():
        if hist:
            ax.plot([h[0] for h in hist], [max(h[1], h[2], h[3]) for h in hist], label=f"{instance} ({solver})")
    ax.set(yscale="log", xlabel="iteration", ylabel="max relative KKT error", title=f"{family}: convergence")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
