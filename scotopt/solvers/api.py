"""``scotopt.solve``: one entry point for every problem type, method and backend."""

from __future__ import annotations

import numpy as np

from scotopt.kernels import resolve_backend
from scotopt.memory import check_fits, pdhg_bytes
from scotopt.options import ADMMOptions, PDHGOptions, Termination
from scotopt.problem import LP, QP
from scotopt.result import Result
from scotopt.status import InvalidOptionError, InvalidProblemError

METHODS = ("pdhg", "admm")
DTYPES = ("float64", "float32")


def solve(problem: LP, method: str = "pdhg", backend: str = "auto", dtype: str = "float64",
          eps: float = 1e-4, time_limit: float | None = None, iteration_limit: int | None = None,
          warm_start=None, verbose: bool = False, options: PDHGOptions | ADMMOptions | None = None,
          eps_infeasible: float = 1e-8, devices=None, mesh=None) -> Result:
    """Solve ``problem`` and return a :class:`scotopt.Result`.

    Parameters
    ----------
    problem : LP or QP
    method : {"pdhg", "admm"}
        "pdhg": restarted Halpern PDHG with reflection (cuPDLPx's r2HPDHG), LPs.
        "admm": OSQP-style ADMM (LPs and QPs), with a sparse LU of the KKT system on NumPy for
        problems up to ``ADMMOptions.direct_max_nonzeros``, matrix-free PCG otherwise.
    backend : {"auto", "numpy", "jax", "cupy"}
        "auto" picks, on a GPU, CuPy below 2e6 nonzeros + rows + columns (no compilation) and JAX
        above (a faster fused iteration), else NumPy/SciPy (the faster CPU
        backend on our benchmarks; see bench/README.md).
    dtype : {"float64", "float32"}
        Iteration precision. Termination is always decided in float64 on the original problem,
        so float32 may stop at a limit where float64 would reach a tight eps.
    eps : float
        Relative tolerance: OPTIMAL iff rel_primal, rel_dual, rel_gap <= eps.
    time_limit : float, optional
        Seconds (wall clock, including setup and compilation), checked every ``check_every``
        iterations.
    iteration_limit : int, optional
        Exact cap on iterations.
    warm_start : (x, y), optional
        Starting primal and dual points in the original problem's coordinates (y may be None).
    verbose : bool
        Print one line per check: iteration, relative primal, dual, gap, primal objective,
        primal weight, elapsed seconds.
    options : PDHGOptions or ADMMOptions, optional
        Algorithm constants of the method (PDHG: check interval, preconditioning, restart and PID
        parameters; ADMM: rho, sigma, alpha, rho adaptation, linear solver).
    eps_infeasible : float
        Tolerance of the infeasibility ray tests.
    devices : int or list of jax devices, optional
        Shard the PDHG solve over this many JAX devices (or these devices): the network operator
        is split by arcs, an explicit matrix by nonzero-balanced row blocks, every vector along
        with it (see :mod:`scotopt.distributed`). Needs backend "jax" ("auto" picks it).
    mesh : jax.sharding.Mesh, optional
        Shard over the devices of this mesh instead (flattened to one axis).

    Returns
    -------
    Result
        Algorithmic outcomes never raise; read ``result.status``.

    Raises
    ------
    InvalidProblemError, InvalidOptionError, BackendUnavailableError
        Before any iteration, for unusable input.
    InsufficientMemoryError
        Before any allocation, if the estimate of :mod:`scotopt.memory` exceeds the free memory.
    """
    if not isinstance(problem, LP):
        raise InvalidProblemError(f"solve() takes an scotopt.LP, got {type(problem).__name__}")
    if method not in METHODS:
        raise InvalidOptionError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if isinstance(problem, QP) and method == "pdhg":
        raise InvalidProblemError(
            f"{problem.name} is a QP (it has a quadratic objective); PDHG solves LPs only: use method='admm'"
        )
    try:
        dtype_name = np.dtype(dtype).name if dtype is not None else None
    except TypeError:
        dtype_name = None
    if dtype_name not in DTYPES:
        raise InvalidOptionError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    option_type = ADMMOptions if method == "admm" else PDHGOptions
    if options is None:
        options = option_type()
    elif not isinstance(options, option_type):
        raise InvalidOptionError(f"method={method!r} takes options={option_type.__name__}(...), "
                                 f"got {type(options).__name__}")
    termination = Termination(eps=eps, eps_infeasible=eps_infeasible, time_limit=time_limit,
                              iteration_limit=iteration_limit)
    sharded = devices is not None or mesh is not None
    if sharded:
        if method != "pdhg":
            raise InvalidOptionError("devices= / mesh= shard PDHG solves only (method='pdhg')")
        if backend not in ("auto", "jax"):
            raise InvalidOptionError(f"devices= / mesh= run on JAX's runtime: use backend='jax', not {backend!r}")
    m, n = problem.shape
    name = "jax" if sharded else resolve_backend(backend, m + n + (0 if problem.is_matrix_free else problem.A.nnz))
    placement = None
    if sharded:
        from scotopt.distributed import sharded_placement

        placement = sharded_placement(devices, mesh)
    _check_memory(problem, name, np.dtype(dtype_name), placement.num_shards if sharded else 1)
    if method == "admm":
        from scotopt.solvers.admm.driver import solve_admm

        return solve_admm(problem, name, np.dtype(dtype_name), termination, options, warm_start, verbose)
    from scotopt.solvers.pdhg.driver import solve_pdhg

    return solve_pdhg(problem, name, np.dtype(dtype_name), termination, options, warm_start, verbose, placement)


def _check_memory(problem: LP, backend: str, dtype: np.dtype, shards: int = 1) -> None:
    """Refuse, before any allocation, a solve whose estimated memory exceeds what is free (the
    device part divided among ``shards`` devices; :func:`scotopt.memory.pdhg_bytes`, whose
    matrix-free terms are calibrated on the network and inventory models)."""
    m, n = problem.shape
    nnz = 0 if problem.is_matrix_free else problem.A.nnz
    host, device = pdhg_bytes(m, n, nnz, dtype.itemsize, matrix_free=problem.is_matrix_free)
    what = f"PDHG on {problem.name} ({m} rows, {n} columns, {nnz} nonzeros, {dtype.name})"
    if backend == "numpy":
        check_fits(host + device, what)
    else:
        check_fits(host, what)
        check_fits(device / shards, what, device=backend)
