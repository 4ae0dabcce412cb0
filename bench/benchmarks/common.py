"""Shared set-up of the asv benchmarks: instances from the bench registry, backends, error measures.

A benchmark whose data or optional package is absent raises ``NotImplementedError`` in ``setup``,
which asv reports as skipped.
"""

from __future__ import annotations

import math

from scotopt.bench import families as fam
from scotopt.bench.kernels import available_backends

BACKENDS = available_backends()


def family_instance(family: str, spec):
    """Build one instance of a registered family, or raise NotImplementedError (asv: skipped)."""
    entry = fam.FAMILIES[family]
    why = entry.unavailable(fam.default_data_dir())
    if why:
        raise NotImplementedError(why)
    return entry.build(spec, fam.default_data_dir())


def flow_optimum(model) -> float:
    """The exact optimal cost of a min-cost-flow model (OR-Tools SimpleMinCostFlow), nan without OR-Tools."""
    try:
        from scotopt.bench.peers import ortools_min_cost_flow
    except ImportError:
        return math.nan
    try:
        ok, cost, *_ = ortools_min_cost_flow(model)
    except ImportError:
        return math.nan
    return cost if ok else math.nan


def objective_error(objective: float, reference: float) -> float:
    """|objective - reference| / max(1, |reference|); nan without a reference."""
    if not math.isfinite(reference):
        return math.nan
    return abs(objective - reference) / max(1.0, abs(reference))


class SolveTracks:
    """``time_solve`` plus ``track_iterations``, ``track_kkt_error``, ``track_objective_error`` of one
    solve made in ``setup`` (``self.problem``, ``self.kwargs``, ``self.reference``, ``self.result``)."""

    timeout = 300

    def solve(self):
        import scotopt

        return scotopt.solve(self.problem, **self.kwargs)

    def time_solve(self, *params):
        self.solve()

    def track_iterations(self, *params):
        return self.result.iterations

    def track_kkt_error(self, *params):
        return self.result.kkt_error

    def track_objective_error(self, *params):
        return objective_error(self.result.primal_objective, self.reference)

    track_iterations.unit = "iterations"
    track_kkt_error.unit = "relative KKT"
    track_objective_error.unit = "relative"
