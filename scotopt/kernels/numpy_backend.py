"""NumPy/SciPy backend: CSR kernels for A and A^T, the algorithm body run as plain array code."""

from __future__ import annotations

import contextlib
import types

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

try:  # SciPy's compiled CSR kernel itself, without the ~5 us of dispatch of ``A @ x``
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - a SciPy that moved it: ``A @ x`` does the same
    _csr_matvec = None


class CSROperator:
    """A~ with both A~ and A~^T stored as CSR (row-parallel kernels for both products).

    The products call SciPy's CSR kernel directly: on Netlib-sized LPs (10^2-10^4 nonzeros) the
    Python dispatch of ``A @ x`` (shape and type checks, upcasting) cost ~5 us per product, more
    than the product itself, and a PDHG iteration makes two.
    """

    def __init__(self, A: sp.csr_matrix, dtype):
        self.A = sp.csr_matrix(A, dtype=dtype)
        self.AT = sp.csr_matrix(self.A.T)
        self.shape = self.A.shape
        self.params = None
        # (rows, cols, indptr, indices, data) of A~ and A~^T, read once: SciPy's ``shape`` and
        # ``dtype`` are properties, ~1 us per product.
        self._forward = self._kernel_arguments(self.A)
        self._adjoint = self._kernel_arguments(self.AT)
        self._dtype = self.A.dtype

    @staticmethod
    def _kernel_arguments(M):
        return (M.shape[0], M.shape[1], M.indptr, M.indices, M.data)

    def with_params(self, params):
        return self

    def _product(self, M, arguments, v):
        rows, cols, indptr, indices, data = arguments
        if (_csr_matvec is None or type(v) is not np.ndarray or v.dtype != self._dtype or v.ndim != 1
                or v.shape[0] != cols or not v.flags.c_contiguous):
            return M @ v
        out = np.zeros(rows, dtype=self._dtype)
        _csr_matvec(rows, cols, indptr, indices, data, v, out)
        return out

    def matvec(self, x):
        return self._product(self.A, self._forward, x)

    def rmatvec(self, y):
        return self._product(self.AT, self._adjoint, y)


class ScipyLinearOperator:
    """A user's ``scipy.sparse.linalg.LinearOperator`` used matrix-free."""

    def __init__(self, A: spla.LinearOperator, dtype):
        self.A = A
        self.dtype = dtype
        self.shape = A.shape
        self.params = None

    def with_params(self, params):
        return self

    # copies: the algorithm may overwrite a product (algorithm.pdhg_map), and a user's operator
    # may return an array it keeps
    def matvec(self, x):
        return np.array(self.A.matvec(x), dtype=self.dtype).reshape(-1)

    def rmatvec(self, y):
        return np.array(self.A.rmatvec(y), dtype=self.dtype).reshape(-1)


def _cond(pred, if_true, if_false):
    """Run only the branch taken (the algorithm's ``xp.cond`` hook; traced backends have none and
    evaluate both branches under ``where``)."""
    return if_true() if pred else if_false()


def _reduction(ufunc, fallback):
    """``fallback`` (np.sum, np.max) that calls the bare ``ufunc.reduce`` on a whole 1-D array.

    The wrappers of ``np.sum`` / ``np.max`` cost ~1.2 us per call on Netlib-sized vectors, as
    much as the reduction; one PDHG evaluation makes about 30 of them. Same ufunc, same
    (pairwise) summation order, same result.
    """
    reduce = ufunc.reduce
    ndarray = np.ndarray

    def reduction(a, axis=None, **kwargs):
        if axis is None and not kwargs and type(a) is ndarray and a.ndim == 1:
            return reduce(a)
        return fallback(a, axis=axis, **kwargs)

    reduction.__name__ = fallback.__name__
    reduction.__doc__ = fallback.__doc__
    return reduction


def _array_namespace():
    """numpy itself with faster entry points for what the algorithms call per iteration.

    - ``clip`` is the bare ufunc: ``np.clip`` goes through three Python wrappers (``_wrapfunc``,
      ``ndarray.clip``, ``_methods._clip``), 3.6 us against 1.4 us on a 500-vector, and a PDHG
      iteration clips twice;
    - ``sum`` and ``max`` of a 1-D array call ``ufunc.reduce`` directly (:func:`_reduction`);
    - ``cond(pred, if_true, if_false)`` branches on the host, so that work needed only after a
      restart is done only then (``algorithm._cond_state``);
    - ``writes_in_place``: arrays are mutable, so ``algorithm.elementwise`` may write a step's
      intermediate results into its output (``out=``) instead of fresh temporaries;
    - ``column_block``: ``algorithm.column_reduce`` reduces long column expressions in blocks of
      this many entries, so an evaluation holds block-sized temporaries, not column-sized ones;
    - ``host_scalars``: the algorithm's per-iteration scalars (step sizes, Halpern weights) are
      computed in Python floats, not by 0-d array arithmetic.

    Same ufuncs, same results.
    """
    umath = getattr(getattr(np, "_core", None), "umath", None)
    clip = getattr(umath, "clip", None)
    namespace = types.ModuleType("scotopt.kernels.numpy_namespace", _array_namespace.__doc__)
    namespace.__dict__.update({k: v for k, v in np.__dict__.items() if not k.startswith("__")})
    namespace.__getattr__ = lambda name: getattr(np, name)  # numpy's lazily loaded attributes (PEP 562)
    if isinstance(clip, np.ufunc):
        namespace.clip = clip
    namespace.sum = _reduction(np.add, np.sum)
    namespace.max = _reduction(np.maximum, np.max)
    namespace.cond = _cond
    namespace.writes_in_place = True  # algorithm.elementwise may use out= (mutable arrays)
    namespace.column_block = 1 << 16  # algorithm.column_reduce: 256 KB float32 temporaries
    namespace.host_scalars = True  # algorithm: per-iteration scalar arithmetic in Python floats
    return namespace


def host_repeat(body, n, state):
    """``n`` applications of ``body`` in a host loop (NumPy, CuPy); ``state`` may be a one-element
    list, emptied here so that the caller's reference does not keep the first state alive. A
    KeyboardInterrupt leaves with the last completed state as its ``state`` attribute."""
    if type(state) is list:
        state = state.pop()
    try:
        for _ in range(n):
            state = body(state)
    except KeyboardInterrupt as interrupt:
        interrupt.state = state
        raise
    return state


class NumpyBackend:
    name = "numpy"
    xp = _array_namespace()
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
        return host_repeat(body, n, state)

    def while_loop(self, cond, body, state):
        while cond(state):
            state = body(state)
        return state

    def precision(self, dtype):
        return contextlib.nullcontext()

    def synchronize(self):
        pass
