"""ADMM (``scotopt.solve(method="admm")``, eps 1e-4) on small Maros-Meszaros QPs; objective error
against index.csv's published optimum."""

from __future__ import annotations

from .common import SolveTracks, family_instance


class MarosMeszarosADMM(SolveTracks):
    params = ["HS21", "QAFIRO", "CVXQP1_S", "DUAL1"]
    param_names = ["instance"]

    def setup(self, name):
        instance = family_instance("maros_meszaros", name)
        self.problem, self.reference = instance.problem, instance.reference
        self.kwargs = {"method": "admm", "eps": 1e-4}
        self.result = self.solve()
