"""Every answer, scotopt's or a peer's, re-checked with scotopt's KKT evaluation on the ORIGINAL problem.

``check`` runs :func:`scotopt.solvers.kkt.kkt_report` (float64, relative L2 measures of
ARCHITECTURE.md section 5) on the solver's (x, y) and the problem it was given before any
conversion: **solved** iff max(rel_primal, rel_dual, rel_gap) <= eps, whatever the solver said.

A solver that returns no duals (OR-Tools SimpleMinCostFlow) gets them recovered from its primal
answer by the benchmark (``peers.flow_potentials``: shortest paths in the residual network), and
the pair is checked like any other; without duals an answer counts as unsolved.

The objective error is ``|p - ref| / max(1, |ref|)`` with p = c@x + c0 in the problem's own sense
and ref the instance's reference optimum (index.csv's published value, or none).
"""

from __future__ import annotations

import math

import numpy as np

from scotopt.solvers.kkt import kkt_report

NAN = math.nan
FIELDS = ("kkt_max", "rel_primal", "rel_dual", "rel_gap", "primal_objective", "dual_objective", "obj_rel_error",
          "solved", "check")


def _usable(v, length) -> bool:
    return v is not None and np.shape(v) == (length,) and bool(np.all(np.isfinite(v)))


def check(problem, x, y, eps: float, reference: float = NAN) -> dict:
    """The KKT fields of a benchmark row for the answer (x, y) of ``problem``."""
    out = {k: NAN for k in FIELDS}
    out["solved"] = False
    if not _usable(x, problem.num_vars):
        out["check"] = "no primal answer"
        return out
    if not _usable(y, problem.num_rows):
        out["check"] = "no dual answer"
        return out
    rep = kkt_report(problem, np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    sign = getattr(problem, "objective_sign", 1)
    out.update(kkt_max=rep.max_relative, rel_primal=rep.rel_primal, rel_dual=rep.rel_dual, rel_gap=rep.rel_gap,
               primal_objective=sign * rep.primal_objective, dual_objective=sign * rep.dual_objective)
    p = out["primal_objective"]
    if math.isfinite(reference) and math.isfinite(p):
        out["obj_rel_error"] = abs(p - reference) / max(1.0, abs(reference))
    out["solved"] = rep.is_optimal(eps)
    out["check"] = "kkt_report"
    return out
