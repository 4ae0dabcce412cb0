"""CuPy backend: the same algorithm body on NVIDIA GPUs with cuSPARSE CSR products.

The iteration's elementwise steps run as fused kernels (``cupy.fuse``, through
``algorithm.elementwise``); ``compile`` is the identity because CuPy has no whole-function jit.
Tested where a GPU is present (pytest marker ``gpu``); on an H200 every ``backend``-fixture test
passed (bench/README.md, GPU section).
"""

from __future__ import annotations

import contextlib

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from scotopt.kernels.numpy_backend import host_repeat
from scotopt.status import BackendUnavailableError, InvalidProblemError

try:
    import cupy
    import cupyx.scipy.sparse as csp

    if cupy.cuda.runtime.getDeviceCount() == 0:  # pragma: no cover - needs a GPU
        raise BackendUnavailableError("backend='cupy': CuPy found no CUDA device")
except ImportError as exc:
    raise BackendUnavailableError(
        "backend='cupy' needs CuPy and an NVIDIA GPU: pip install 'scotopt[cuda12]'"
    ) from exc
except cupy.cuda.runtime.CUDARuntimeError as exc:  # pragma: no cover
    raise BackendUnavailableError(f"backend='cupy': no usable CUDA device ({exc})") from exc


def scatter_add(out, index, values):  # pragma: no cover - needs a GPU
    """``out[index] += values`` with repeated indices summed (atomics): ``cupy.add.at`` where
    CuPy has it (13+; ``cupyx.scatter_add`` warns there on every call), else cupyx's."""
    add_at = getattr(cupy.add, "at", None)
    if add_at is not None:
        add_at(out, index, values)
    else:
        import cupyx

        cupyx.scatter_add(out, index, values)


class CupyCSR:  # pragma: no cover - needs a GPU
    def __init__(self, A: sp.csr_matrix, dtype):
        A = sp.csr_matrix(A, dtype=dtype)
        self.shape = A.shape
        self.A = csp.csr_matrix(A)
        self.AT = csp.csr_matrix(sp.csr_matrix(A.T))
        self.params = None

    def with_params(self, params):
        return self

    def matvec(self, x):
        return self.A @ x

    def rmatvec(self, y):
        return self.AT @ y


class CupyBackend:  # pragma: no cover - needs a GPU
    name = "cupy"
    xp = cupy

    def __init__(self):
        dev = cupy.cuda.Device()
        props = cupy.cuda.runtime.getDeviceProperties(dev.id)
        self.device = f"cuda:{dev.id} {props['name'].decode() if isinstance(props['name'], bytes) else props['name']}"

    def asarray(self, array, dtype):
        return cupy.asarray(array, dtype=dtype)

    def to_host(self, array):
        return np.asarray(cupy.asnumpy(array), dtype=np.float64)

    def operator(self, A, dtype):
        if hasattr(A, "device_operator"):  # structured operator (scotopt/kernels/incidence.py)
            return A.device_operator(self, dtype)
        if isinstance(A, spla.LinearOperator):
            raise InvalidProblemError(
                "backend='cupy' needs an explicit matrix; a scipy LinearOperator runs on backend='numpy'"
            )
        return CupyCSR(A, dtype)

    def compile(self, fn):
        return fn

    def repeat(self, body, n, state):
        return host_repeat(body, n, state)

    def while_loop(self, cond, body, state):  # pragma: no cover - needs a GPU
        while bool(cond(state)):
            state = body(state)
        return state

    def precision(self, dtype):
        return contextlib.nullcontext()

    def synchronize(self):
        cupy.cuda.get_current_stream().synchronize()
