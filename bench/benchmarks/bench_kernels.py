"""Kernel microbenchmarks by size and backend (fixtures in ``scotopt/bench/kernels.py``):

- ``CSRMatvec``: ``A x`` and ``A^T y`` of a random CSR matrix with 10 nonzeros per row;
- ``NetworkMatvec``: the same products of the matrix-free incidence operator of a NETGEN-like
  min-cost flow (E arcs, V = E/8 nodes);
- ``PDHGStep``: 10 r2HPDHG iterations (the driver's compiled step, no termination checks) on a
  transportation LP (explicit CSR) and on a min-cost flow (matrix-free), by nonzeros / arcs.
"""

from __future__ import annotations

from scotopt.bench.kernels import OperatorKernel, StepKernel, random_csr

from .common import BACKENDS


class _Products:
    """``time_matvec`` / ``time_rmatvec`` of ``self.kernel`` (an OperatorKernel made by ``setup``)."""

    def teardown(self, *params):
        self.kernel.close()

    def time_matvec(self, *params):
        self.kernel.matvec()

    def time_rmatvec(self, *params):
        self.kernel.rmatvec()


class CSRMatvec(_Products):
    params = ([10_000, 100_000, 1_000_000], BACKENDS)
    param_names = ["nnz", "backend"]

    def setup(self, nnz, backend):
        self.kernel = OperatorKernel(random_csr(nnz), backend)


class NetworkMatvec(_Products):
    params = ([10_000, 100_000, 1_000_000], BACKENDS)
    param_names = ["arcs", "backend"]

    def setup(self, arcs, backend):
        from scotopt.models.generators import netgen_min_cost_flow

        self.kernel = OperatorKernel(netgen_min_cost_flow(arcs // 8, arcs).operator, backend)


class PDHGStep:
    params = (["transport-csr", "mincostflow-matrix-free"], [10_000, 100_000, 1_000_000], BACKENDS)
    param_names = ["problem", "size", "backend"]
    timeout = 300

    def setup(self, problem, size, backend):
        from scotopt.bench.families import explicit_lp, transport_model
        from scotopt.models.generators import netgen_min_cost_flow

        if problem == "transport-csr":
            side = max(int(round(size**0.5)), 2)
            lp = explicit_lp(transport_model(side, side))
        else:
            lp = netgen_min_cost_flow(size // 8, size).lp
        self.kernel = StepKernel(lp, backend, count=10)

    def teardown(self, problem, size, backend):
        self.kernel.close()

    def time_ten_steps(self, problem, size, backend):
        self.kernel.run()
