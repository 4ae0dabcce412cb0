"""PDHG (``scotopt.solve``, eps 1e-4) on a Netlib subset and on generated transportation LPs, per backend.

``time_solve``: one solve (JAX: compiled in setup, so warm). ``track_*``: iterations, the final
relative KKT error and the objective error against index.csv (Netlib) or the exact min-cost-flow
optimum (transport), from the solve made in setup.
"""

from __future__ import annotations

from .common import BACKENDS, SolveTracks, family_instance, flow_optimum


class NetlibPDHG(SolveTracks):
    params = (["afiro", "sc105", "blend", "adlittle"], BACKENDS)
    param_names = ["instance", "backend"]

    def setup(self, name, backend):
        instance = family_instance("netlib", name)
        self.problem, self.reference = instance.problem, instance.reference
        self.kwargs = {"backend": backend, "eps": 1e-4}
        self.result = self.solve()


class TransportPDHG(SolveTracks):
    params = (["20x50", "100x100", "200x250"], BACKENDS)
    param_names = ["sources x sinks", "backend"]

    def setup(self, size, backend):
        instance = family_instance("transport", tuple(int(v) for v in size.split("x")))
        self.problem, self.reference = instance.problem, flow_optimum(instance.model)
        self.kwargs = {"backend": backend, "eps": 1e-4}
        self.result = self.solve()
