"""Network models: ``scotopt.models.MinCostFlow`` (NETGEN-like generator, V = E/8) solved matrix-free
by PDHG at eps 1e-4, per size and backend; objective error against SimpleMinCostFlow's exact optimum."""

from __future__ import annotations

from .common import BACKENDS, SolveTracks, family_instance, flow_optimum


class MinCostFlowPDHG(SolveTracks):
    params = ([10_000, 100_000], BACKENDS)
    param_names = ["arcs", "backend"]

    def setup(self, arcs, backend):
        instance = family_instance("mincostflow", arcs)
        self.problem, self.reference = instance.problem, flow_optimum(instance.model)
        self.kwargs = {"backend": backend, "eps": 1e-4}
        self.result = self.solve()
