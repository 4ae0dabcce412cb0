"""Kernel microbenchmark fixtures: sparse and matrix-free operator products and PDHG steps, by size
and backend, shared by the asv benchmarks (``bench/benchmarks/``) and their smoke test.

- :func:`random_csr`: a random m x n CSR matrix with 10 nonzeros per row (int32 indices), the
  matrix of ``bench/spmv_cpu.py``;
- :class:`OperatorKernel`: ``A x`` and ``A^T y`` of scotopt's device operator on a backend
  (explicit CSR, or the matrix-free incidence operator of a :class:`scotopt.models.MinCostFlow`);
- :class:`StepKernel`: ``count`` r2HPDHG iterations (the driver's compiled ``run_steps``, no
  termination checks) on a scaled LP, so the time per step is ``time / count``.

Each ``run`` waits for the device (JAX ``block_until_ready``, CuPy stream synchronisation), so
wall time is the kernel's.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import scipy.sparse as sp

from scotopt.kernels import get_backend, gpu_available


def available_backends() -> list[str]:
    """numpy, plus jax if importable, plus cupy if a CuPy GPU is present."""
    names = ["numpy"]
    if importlib.util.find_spec("jax") is not None:
        names.append("jax")
    if gpu_available() == "cupy":
        names.append("cupy")
    return names


def random_csr(nnz: int, seed: int = 0) -> sp.csr_matrix:
    rows, cols = max(nnz // 10, 1), max(nnz // 5, 1)
    rng = np.random.default_rng(seed)
    A = sp.csr_matrix((rng.random(nnz), (rng.integers(0, rows, nnz), rng.integers(0, cols, nnz))), shape=(rows, cols))
    A.indices = A.indices.astype(np.int32)
    A.indptr = A.indptr.astype(np.int32)
    return A


def _wait(backend, value):
    if hasattr(value, "block_until_ready"):
        value.block_until_ready()
    else:
        backend.synchronize()
    return value


class OperatorKernel:
    """``A x`` / ``A^T y`` on ``backend`` for a CSR matrix or a matrix-free operator (``A``)."""

    def __init__(self, A, backend: str, dtype: str = "float64"):
        self.backend = get_backend(backend)
        self._precision = self.backend.precision(np.dtype(dtype))
        self._precision.__enter__()
        self.op = self.backend.operator(A, np.dtype(dtype))
        m, n = A.shape
        rng = np.random.default_rng(1)
        self.x = self.backend.asarray(rng.random(n), np.dtype(dtype))
        self.y = self.backend.asarray(rng.random(m), np.dtype(dtype))
        self.matvec()  # compile / warm caches
        self.rmatvec()

    def matvec(self):
        return _wait(self.backend, self.op.matvec(self.x))

    def rmatvec(self):
        return _wait(self.backend, self.op.rmatvec(self.y))

    def close(self):
        self._precision.__exit__(None, None, None)


class StepKernel:
    """``count`` PDHG iterations of the driver's compiled step function on ``lp`` (scaled as a solve would)."""

    def __init__(self, lp, backend: str, dtype: str = "float64", count: int = 10):
        from scotopt.options import PDHGOptions
        from scotopt.solvers.pdhg import algorithm as alg
        from scotopt.solvers.pdhg import driver
        from scotopt.solvers.pdhg.placement import SingleDevice
        from scotopt.solvers.pdhg.scaling import scale_lp

        options = PDHGOptions()
        self.backend = get_backend(backend)
        dtype = np.dtype(dtype)
        self._precision = self.backend.precision(dtype)
        self._precision.__enter__()
        scaled = scale_lp(lp, options.ruiz_iterations, options.pock_chambolle_alpha, options.bound_objective_rescaling,
                          options.geometric_mean_iterations)
        x0, y0 = driver._starting_point(lp, scaled, None)
        self.op = self.backend.operator(scaled.A, dtype)
        eta = options.step_size_safety / driver._operator_norm(scaled.A)
        self.data = driver._make_data(SingleDevice(self.backend), scaled, lp, dtype, eta)
        # the full iteration: arc screening (NumPy networks) would skip arcs from the second chunk on
        params = driver.algorithm_params(options)._replace(screening=0.0)
        self.run_steps, _ = driver._compiled_functions(self.backend, self.op, params)
        self.state = alg.init_state(self.backend.xp, self.op, self.data, self.backend.asarray(x0, dtype),
                                    self.backend.asarray(y0, dtype), dtype)
        self.count = int(count)
        self.run()  # compile / warm caches

    def run(self):
        out = self.run_steps(self.op.params, self.data, self.state, self.count)
        return _wait(self.backend, out.x)

    def close(self):
        self._precision.__exit__(None, None, None)
