"""NumPy/SciPy backend: CSR kernels for A and A^T, the algorithm body run as plain array code."""

from __future__ import annotations

import contextlib

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla


class CSROperator:
    """A~ with both A~ and A~^T stored as CSR (row-parallel kernels for both products)."""

    def __init__(self, A: sp.csr_matrix, dtype):
        self.A = sp.csr_matrix(A, dtype=dtype)
        self.AT = sp.csr_matrix(self.A.T)
        self.shape = self.A.shape
        self.params = None

    def with_params(self, params):
        return self

    def matvec(self, x):
        return self.A @ x

    def rmatvec(self, y):
        return self.AT @ y


class ScipyLinearOperator:
    """A user's ``scipy.sparse.linalg.LinearOperator`` used matrix-free."""

    def __init__(self, A: spla.LinearOperator, dtype):
        self.A = A
        self.dtype = dtype
        self.shape = A.shape
        self.params = None

    def with_params(self, params):
        return self

    def matvec(self, x):
        return np.asarray(self.A.matvec(x), dtype=self.dtype).reshape(-1)

    def rmatvec(self, y):
        return np.asarray(self.A.rmatvec(y), dtype=self.dtype).reshape(-1)


class NumpyBackend:
    name = "numpy"
    xp = np
    device = "cpu"

    def asarray(self, array, dtype):
        return np.asarray(array, dtype=dtype)

    def to_host(self, array):
        return np.asarray(array, dtype=np.float64)

    def operator(self, A, dtype):
        if hasattr(A, "device_operator"):  # structured operator (scotopt/kernels/incidence.py)
            return A.device_operator(self, dtype)
        if isinstance(A, spla.LinearOperator):
            return ScipyLinearOperator(A, dtype)
        return CSROperator(A, dtype)

    def compile(self, fn):
        return fn

    def repeat(self, body, n, state):
        for _ in range(n):
            state = body(state)
        return state

    def while_loop(self, cond, body, state):
        while cond(state):
            state = body(state)
        return state

    def precision(self, dtype):
        return contextlib.nullcontext()

    def synchronize(self):
        pass
