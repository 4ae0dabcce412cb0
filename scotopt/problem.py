"""Problem containers.

An LP in PDLP's two-sided form::

    minimize    c @ x + c0
    subject to  con_lb <= A @ x <= con_ub
                var_lb <=     x <= var_ub

Infinite bounds are written as -inf / +inf. Equality rows have con_lb == con_ub. The
container converts its data to host NumPy / SciPy CSR in float64 once, validates it, and
keeps it unchanged (solvers scale copies, never the problem itself).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from scotopt.segments import SegmentVector
from scotopt.status import InvalidProblemError


def to_host(array):
    """Return ``array`` (NumPy, JAX, CuPy or list) as a NumPy array without copying NumPy input."""
    if hasattr(array, "get") and type(array).__module__.startswith("cupy"):
        return array.get()
    if type(array).__module__.startswith(("jax", "jaxlib")):
        return np.asarray(array)
    return np.asarray(array)


def _require_real(name: str, array) -> None:
    """Refuse non-numeric and complex data (casting complex to float would drop the imaginary part)."""
    dtype = np.dtype(array.dtype)
    if not (np.issubdtype(dtype, np.number) or dtype == np.bool_) or np.issubdtype(dtype, np.complexfloating):
        raise InvalidProblemError(f"{name} must be real numeric data, got dtype {dtype}")


def _host_matrix(A):
    """Host form of the constraint matrix: SciPy CSR, or a scipy LinearOperator kept as is."""
    if isinstance(A, spla.LinearOperator):
        return A
    if sp.issparse(A):
        _require_real("A", A)
        return sp.csr_matrix(A, dtype=np.float64, copy=True)
    module = type(A).__module__
    if module.startswith("cupyx"):  # cupyx.scipy.sparse matrix
        _require_real("A", A)
        return sp.csr_matrix(A.get(), dtype=np.float64)
    if module.startswith("jax.experimental.sparse"):
        return sp.csr_matrix(np.asarray(A.todense()), dtype=np.float64)
    dense = to_host(A)
    if dense.ndim != 2:
        raise InvalidProblemError(f"A must be 2-D, got an array with shape {dense.shape}")
    _require_real("A", dense)
    return sp.csr_matrix(dense.astype(np.float64))


def constant_vector(value: float, length: int) -> np.ndarray:
    """A read-only float64 vector of ``length`` copies of ``value`` that stores one number
    (a stride-0 view): default and scalar bounds cost no memory per column or row."""
    return np.broadcast_to(np.float64(value), (length,))


def is_constant_view(arr) -> bool:
    """True for a vector made by :func:`constant_vector` (or any stride-0 1-D view)."""
    return isinstance(arr, np.ndarray) and arr.ndim == 1 and arr.shape[0] > 1 and arr.strides == (0,)


def _vector(name, value, length, default):
    if value is None:
        return constant_vector(default, length)
    if isinstance(value, SegmentVector):  # a model's structured vector: kept as its segments
        _require_real(name, value)
        if value.size != length:
            raise InvalidProblemError(f"{name} must have shape ({length},) to match A, got shape {value.shape}")
        return value.astype(np.float64)
    arr = to_host(value)
    if arr.ndim == 0:
        _require_real(name, arr)
        return constant_vector(float(arr), length)
    _require_real(name, arr)
    arr = np.asarray(arr, dtype=np.float64).reshape(-1) if arr.ndim == 1 else arr
    if arr.ndim != 1 or arr.shape[0] != length:
        raise InvalidProblemError(
            f"{name} must have shape ({length},) to match A, got shape {np.shape(value)}"
        )
    if is_constant_view(arr):  # already one number: keep it one number
        return arr
    return np.array(arr, dtype=np.float64)


def _first(mask) -> int:
    return int(np.flatnonzero(mask)[0])


class LP:
    """A linear program ``min c@x + c0  s.t.  con_lb <= A x <= con_ub, var_lb <= x <= var_ub``.

    Parameters
    ----------
    c : (n,) array
        Objective. Must be finite.
    A : (m, n) NumPy / SciPy sparse / JAX / CuPy array, or ``scipy.sparse.linalg.LinearOperator``
        Constraint matrix. A LinearOperator is used matrix-free (NumPy backend, no diagonal
        preconditioning, which needs the entries), except a structured operator such as
        :class:`scotopt.kernels.incidence.NetworkMatrix`, which runs on every backend and is
        preconditioned from its closed-form norms.
    con_lb, con_ub : (m,) arrays or scalars, optional
        Row bounds; ``None`` means -inf / +inf.
    var_lb, var_ub : (n,) arrays or scalars, optional
        Variable bounds; ``None`` means 0 / +inf (the ``scipy.optimize.linprog`` default).
        ``c`` and every bound may also be a :class:`scotopt.segments.SegmentVector` (a model's
        repeated data stored once, as the inventory model's cost and bounds are); it is kept
        as given, never expanded to a per-entry copy.
    c0 : float
        Objective constant.
    name : str, optional
        Used in logs and output file names.

    Raises
    ------
    InvalidProblemError
        On NaN anywhere, infinite costs or matrix entries, lb > ub, a lower bound of +inf, an upper
        bound of -inf, or shapes that do not match; the message names the array and index.
    """

    def __init__(self, c, A, con_lb=None, con_ub=None, var_lb=None, var_ub=None, c0=0.0, name=None):
        c_host = c if isinstance(c, SegmentVector) else to_host(c)
        if c_host.ndim != 1:
            raise InvalidProblemError(f"c must be 1-D, got shape {c_host.shape}")
        _require_real("c", c_host)
        self.c = c_host.astype(np.float64) if isinstance(c_host, SegmentVector) else np.array(c_host, dtype=np.float64)
        self.A = _host_matrix(A)
        m, n = self.A.shape
        if n != self.c.shape[0]:
            raise InvalidProblemError(
                f"A has {n} columns but c has {self.c.shape[0]} entries; they must match"
            )
        self.con_lb = _vector("con_lb", con_lb, m, -np.inf)
        self.con_ub = _vector("con_ub", con_ub, m, np.inf)
        self.var_lb = _vector("var_lb", var_lb, n, 0.0)
        self.var_ub = _vector("var_ub", var_ub, n, np.inf)
        try:
            self.c0 = float(to_host(c0))
        except (TypeError, ValueError) as exc:
            raise InvalidProblemError(f"c0 must be a real number, got {c0!r}") from exc
        self.name = name or "lp"
        # Set by the file readers: the file's objective is objective_sign * objective(x).
        self.objective_sign = 1
        self.row_names: list[str] | None = None
        self.col_names: list[str] | None = None
        self.validate()

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of A."""
        return self.A.shape

    @property
    def num_rows(self) -> int:
        return self.A.shape[0]

    @property
    def num_vars(self) -> int:
        return self.A.shape[1]

    @property
    def is_matrix_free(self) -> bool:
        """True when A is a LinearOperator whose entries are not available."""
        return isinstance(self.A, spla.LinearOperator)

    def validate(self) -> None:
        """Reject data no solver should iterate on; raise :class:`InvalidProblemError`."""
        if not np.isfinite(self.c0):
            raise InvalidProblemError(f"c0 must be finite, got {self.c0}")
        bad = ~np.isfinite(self.c)
        if bad.any():
            i = _first(bad)
            raise InvalidProblemError(
                f"c[{i}] = {self.c[i]}: objective coefficients must be finite "
                "(an infinite cost has no LP meaning; drop the variable or bound it instead)"
            )
        if not self.is_matrix_free:
            data = self.A.data
            bad = ~np.isfinite(data)
            if bad.any():
                k = _first(bad)
                row = int(np.searchsorted(self.A.indptr, k, side="right") - 1)
                raise InvalidProblemError(
                    f"A[{row}, {int(self.A.indices[k])}] = {data[k]}: matrix entries must be finite"
                )
        for kind, lb, ub in (("con", self.con_lb, self.con_ub), ("var", self.var_lb, self.var_ub)):
            for name, arr in ((f"{kind}_lb", lb), (f"{kind}_ub", ub)):
                bad = np.isnan(arr)
                if bad.any():
                    i = _first(bad)
                    raise InvalidProblemError(f"{name}[{i}] is NaN; use -inf/+inf for a missing bound")
            bad = lb == np.inf
            if bad.any():
                i = _first(bad)
                raise InvalidProblemError(f"{kind}_lb[{i}] = +inf: a lower bound cannot be +inf")
            bad = ub == -np.inf
            if bad.any():
                i = _first(bad)
                raise InvalidProblemError(f"{kind}_ub[{i}] = -inf: an upper bound cannot be -inf")
            bad = lb > ub
            if bad.any():
                i = _first(bad)
                raise InvalidProblemError(
                    f"{kind}_lb[{i}] = {lb[i]} > {kind}_ub[{i}] = {ub[i]}: the bounds are "
                    "inconsistent (the problem is trivially infeasible); fix the data"
                )

    def matvec(self, x):
        """A @ x on the host."""
        return self.A @ x if not self.is_matrix_free else self.A.matvec(x)

    def rmatvec(self, y):
        """A.T @ y on the host."""
        return self.A.T @ y if not self.is_matrix_free else self.A.rmatvec(y)

    def objective(self, x) -> float:
        """c @ x + c0."""
        return float(self.c @ x + self.c0)

    def __repr__(self) -> str:
        m, n = self.shape
        nnz = "matrix-free" if self.is_matrix_free else f"{self.A.nnz} nonzeros"
        return f"LP(name={self.name!r}, rows={m}, cols={n}, {nnz})"


class QP(LP):
    """A convex QP ``min 1/2 x'Px + c@x + c0  s.t.  con_lb <= A x <= con_ub, var_lb <= x <= var_ub``.

    ``P`` is an (n, n) symmetric positive semidefinite matrix (NumPy, SciPy sparse, JAX, CuPy),
    kept on the host as SciPy CSR float64. Every other argument is as in :class:`LP`; the
    solvers for QPs come with ``method="admm"``. Symmetry and finiteness are checked here;
    positive semidefiniteness is not (it costs a factorisation), the solver reports a
    non-convex direction if it meets one.
    """

    def __init__(self, P, c, A, con_lb=None, con_ub=None, var_lb=None, var_ub=None, c0=0.0, name=None):
        super().__init__(c, A, con_lb, con_ub, var_lb, var_ub, c0=c0, name=name or "qp")
        if isinstance(P, spla.LinearOperator):
            raise InvalidProblemError("P must be an explicit matrix for now (a LinearOperator comes with ADMM)")
        self.P = _host_matrix(P)
        n = self.num_vars
        if self.P.shape != (n, n):
            raise InvalidProblemError(f"P must have shape ({n}, {n}) to match c, got {self.P.shape}")
        bad = ~np.isfinite(self.P.data)
        if bad.any():
            k = _first(bad)
            row = int(np.searchsorted(self.P.indptr, k, side="right") - 1)
            raise InvalidProblemError(f"P[{row}, {int(self.P.indices[k])}] = {self.P.data[k]}: entries must be finite")
        asym = abs(self.P - self.P.T)
        if asym.nnz and asym.max() > 1e-12 * max(1.0, abs(self.P).max()):
            coo = asym.tocoo()
            k = int(np.argmax(coo.data))
            i, j = int(coo.row[k]), int(coo.col[k])
            raise InvalidProblemError(
                f"P must be symmetric: P[{i}, {j}] = {self.P[i, j]} but P[{j}, {i}] = {self.P[j, i]}"
            )

    def objective(self, x) -> float:
        """1/2 x'Px + c@x + c0."""
        return float(0.5 * x @ (self.P @ x) + self.c @ x + self.c0)

    def __repr__(self) -> str:
        m, n = self.shape
        return f"QP(name={self.name!r}, rows={m}, cols={n}, {self.A.nnz} nonzeros, P with {self.P.nnz} nonzeros)"
