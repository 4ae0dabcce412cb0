"""JAX backend: the algorithm body under ``jit``, chunks of iterations in ``lax.fori_loop``.

Sparse products are segment sums over sorted row indices (one gather, one multiply, one sorted
scatter-add): on CPU 2.3-1.3x faster than ``jax.experimental.sparse.BCSR`` from 5e5 nonzeros up,
though still 2.6-5x slower than SciPy's CSR (``bench/spmv_cpu.py``, bench/README.md).
float64 is enabled for the duration of a solve with the ``jax.enable_x64`` context manager, so
the user never has to touch global JAX flags.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from scotopt.status import BackendUnavailableError, InvalidProblemError

try:
    import jax
    import jax.numpy as jnp
except ImportError as exc:  # pragma: no cover - jax is a default dependency
    raise BackendUnavailableError("backend='jax' needs JAX: pip install jax") from exc


class SegmentSumCSR:
    """A~ x as segment_sum(data * x[cols], rows); A~^T y with the transposed index arrays.

    The index/value arrays live in ``params`` (a pytree) so that jitted functions take them as
    arguments instead of baking them into the compiled program as constants.
    """

    def __init__(self, A: sp.csr_matrix, dtype, params=None):
        A = sp.csr_matrix(A)
        self.shape = A.shape
        if params is None:
            params = (self._arrays(A, dtype), self._arrays(sp.csr_matrix(A.T), dtype))
        self.params = params

    @classmethod
    def _bound(cls, shape, params):
        op = cls.__new__(cls)
        op.shape, op.params = shape, params
        return op

    def with_params(self, params):
        return self._bound(self.shape, params)

    @staticmethod
    def _arrays(M: sp.csr_matrix, dtype):
        index_dtype = np.int32 if max(M.shape) < 2**31 and M.nnz < 2**31 else np.int64
        rows = np.repeat(np.arange(M.shape[0], dtype=index_dtype), np.diff(M.indptr))
        return (jnp.asarray(M.data, dtype=dtype), jnp.asarray(M.indices.astype(index_dtype)), jnp.asarray(rows))

    @staticmethod
    def _apply(arrays, v, num_rows):
        data, cols, rows = arrays
        return jax.ops.segment_sum(data * v[cols], rows, num_segments=num_rows, indices_are_sorted=True)

    def matvec(self, x):
        return self._apply(self.params[0], x, self.shape[0])

    def rmatvec(self, y):
        return self._apply(self.params[1], y, self.shape[1])


class JaxBackend:
    name = "jax"
    xp = jnp
    caches_compiled = True  # operators are pytrees of arguments, so compiled steps are reusable

    def __init__(self):
        self.device = str(jax.devices()[0]).lower()

    def asarray(self, array, dtype):
        return jnp.asarray(np.asarray(array), dtype=dtype)

    def to_host(self, array):
        return np.asarray(jax.device_get(array), dtype=np.float64)

    def operator(self, A, dtype):
        if hasattr(A, "device_operator"):  # structured operator (scotopt/kernels/incidence.py)
            return A.device_operator(self, dtype)
        if isinstance(A, spla.LinearOperator):
            raise InvalidProblemError(
                "backend='jax' needs an explicit matrix; a scipy LinearOperator runs on backend='numpy'"
            )
        return SegmentSumCSR(A, dtype)

    def compile(self, fn):
        return jax.jit(fn)

    def compile_ahead(self, fn, *args):
        """Start compiling the jitted ``fn`` for arguments shaped like ``args`` on a background
        thread, and return ``fn`` wrapped so that its first call waits for that compile (and then
        finds it in JAX's cache). XLA compiles without holding the GIL, so this overlaps with the
        caller's work: another function's compile, the first iterations. Only each array's shape,
        dtype, weak type and (where committed) sharding go to the thread, no array
        (:func:`_abstract`). The caller's float64 setting (``precision``) goes along."""
        abstract = jax.tree_util.tree_map(_abstract, args)
        thread = threading.Thread(target=_compile_quietly, args=(fn, abstract, bool(jax.config.jax_enable_x64)),
                                  name="scotopt-compile-ahead", daemon=True)
        thread.start()
        return _AfterCompile(fn, thread)

    def repeat(self, body, n, state):
        if type(state) is list:  # a one-element holder (see NumpyBackend.repeat); traced, not emptied
            state = state[0]
        return jax.lax.fori_loop(0, n, lambda _, s: body(s), state)

    def while_loop(self, cond, body, state):
        return jax.lax.while_loop(cond, body, state)

    def precision(self, dtype):
        if np.dtype(dtype) == np.float64:
            return jax.enable_x64(True)
        return contextlib.nullcontext()

    def synchronize(self):
        pass


def _abstract(leaf):
    """A JAX array as its shape, dtype, weak type and sharding, all part of what a compile
    serves; the sharding only of a committed array (naming an uncommitted array's sharding made
    a different program, and the real call compiled again). Any other leaf (a Python or NumPy
    scalar, whose value a jitted function traces) as itself."""
    if isinstance(leaf, jax.Array):
        sharding = leaf.sharding if getattr(leaf, "committed", True) else None
        return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=sharding, weak_type=leaf.weak_type)
    return leaf


def _compile_quietly(fn, args, x64: bool) -> None:
    """``fn.lower(*args).compile()``; a failure is left to the real call to raise."""
    try:
        # only entered where the caller had it: an explicit enable_x64(False) is another trace
        # context, and the compile would not serve the caller's calls
        with jax.enable_x64(True) if x64 else contextlib.nullcontext():
            fn.lower(*args).compile()
    except Exception:  # noqa: BLE001 - the first real call compiles again and reports it
        pass


class _AfterCompile:
    """A jitted function whose first call waits for its compile on a background thread."""

    def __init__(self, fn, thread: threading.Thread):
        self._fn, self._thread = fn, thread

    def __call__(self, *args):
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        return self._fn(*args)
