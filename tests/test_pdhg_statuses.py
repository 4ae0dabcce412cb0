"""Every status the PDHG driver can return and every option branch of ``scotopt.solve``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import scotopt
from scotopt import PDHGOptions, Termination
from scotopt.kernels import CUPY_BELOW, gpu_available, gpu_backend_for
from scotopt.problem import LP
from scotopt.solvers.kkt import kkt_report
from scotopt.status import (
    BackendUnavailableError,
    InvalidOptionError,
    InvalidProblemError,
    SolveFailedError,
    Status,
)
from tests.problems import catalog_by_name, random_lp_from_kkt

CHECK_EVERY = PDHGOptions().check_every


def _inst(name="all_bound_kinds"):
    return catalog_by_name()[name]


def _rel_err(value: float, reference: float) -> float:
    return abs(value - reference) / max(1.0, abs(reference))


def _finite(res) -> bool:
    return bool(np.isfinite(res.x).all() and np.isfinite(res.y).all())


# --------------------------------------------------------------------------------------------
# ITERATION_LIMIT


@pytest.mark.parametrize("backend_name", ["numpy", "jax"])
def test_iteration_limit_exact(backend_name):
    res = scotopt.solve(_inst().lp, backend=backend_name, eps=1e-8, iteration_limit=10)
    assert res.status == Status.ITERATION_LIMIT
    assert res.iterations == 10
    assert not res.success
    assert _finite(res)


@pytest.mark.parametrize("limit", [0, 1, CHECK_EVERY, CHECK_EVERY + 1, 2 * CHECK_EVERY + 7])
def test_iteration_limit_counts(limit):
    res = scotopt.solve(_inst().lp, eps=1e-10, iteration_limit=limit)
    assert res.status == Status.ITERATION_LIMIT
    assert res.iterations == limit
    assert res.nit == limit
    assert _finite(res)


def test_iteration_limit_zero_returns_projected_start():
    inst = _inst()
    res = scotopt.solve(inst.lp, eps=1e-8, iteration_limit=0)
    assert res.status == Status.ITERATION_LIMIT and res.iterations == 0
    # The answer is one PDHG map of the (projected) start: inside the variable bounds.
    assert (res.x >= inst.lp.var_lb - 1e-12).all() and (res.x <= inst.lp.var_ub + 1e-12).all()


# --------------------------------------------------------------------------------------------
# TIME_LIMIT


def hard_random_lp(seed: int = 3, m: int = 600, n: int = 1200, density: float = 0.01) -> LP:
    """A feasible boxed LP with entries, bounds and costs spread over many orders of magnitude.

    PDHG reaches ~1e-12 on it in about 2 s here but never eps = 1e-14 (it stalls at its
    round-off floor), so a time-limited solve at 1e-14 stops at TIME_LIMIT on any machine.
    """
    rng = np.random.default_rng(seed)
    A = sp.random(m, n, density=density, format="csr", random_state=rng,
                  data_rvs=lambda k: rng.choice([-1.0, 1.0], k) * 10 ** rng.uniform(-3, 3, k))
    x0 = rng.uniform(-1, 1, n)
    ax = A @ x0
    c = rng.standard_normal(n) * 10 ** rng.uniform(-2, 2, n)
    return LP(c, A, con_lb=ax - 10 ** rng.uniform(-3, 1, m), con_ub=ax + 10 ** rng.uniform(-3, 1, m),
              var_lb=x0 - 10 ** rng.uniform(-2, 2, n), var_ub=x0 + 10 ** rng.uniform(-2, 2, n), name="hard_random")


@pytest.mark.parametrize("backend_name", ["numpy", "jax"])
def test_time_limit(backend_name):
    lp = hard_random_lp()
    slack = 2.0
    if backend_name == "jax":
        # The limit is only checked between compiled chunks, so the first check cannot come
        # before JIT compilation ends. A warm-up solve of the same shape (one iteration) bounds
        # what compilation can cost (and fills the compile cache where there is one).
        warm = scotopt.solve(lp, backend="jax", eps=1e-14, iteration_limit=1)
        slack += warm.solve_time
    # iteration_limit only as a backstop (~10 s) should the time limit be ignored.
    res = scotopt.solve(lp, backend=backend_name, eps=1e-14, time_limit=0.3, iteration_limit=200_000)
    assert res.status == Status.TIME_LIMIT, res
    assert 0.3 <= res.solve_time < 0.3 + slack, (res.solve_time, slack)
    assert res.iterations > 0 and res.iterations % CHECK_EVERY == 0
    assert _finite(res)


# --------------------------------------------------------------------------------------------
# Matrix-free operators that go wrong: NUMERICAL_ERROR and INTERRUPTED


class CountingOperator:
    """A LinearOperator over a dense matrix that counts products and can misbehave on one.

    ``fail_at``: the 1-based product index that misbehaves; ``mode``: "nan_once" returns NaN
    there only, "nan_forever" returns NaN from there on, "interrupt" raises KeyboardInterrupt.
    """

    def __init__(self, A, fail_at=None, mode="nan_once"):
        self.dense = np.asarray(A, dtype=np.float64)
        self.fail_at, self.mode, self.calls = fail_at, mode, 0
        self.op = spla.LinearOperator(self.dense.shape, matvec=self._wrap(lambda v: self.dense @ v),
                                      rmatvec=self._wrap(lambda v: self.dense.T @ v), dtype=np.float64)

    def _wrap(self, product):
        def apply(v):
            self.calls += 1
            out = product(np.ravel(v))
            if self.fail_at is None or self.calls < self.fail_at:
                return out
            if self.mode == "interrupt" and self.calls == self.fail_at:
                raise KeyboardInterrupt
            if self.mode == "nan_forever" or (self.mode == "nan_once" and self.calls == self.fail_at):
                return np.full_like(out, np.nan)
            return out

        return apply


def _matrix_free(inst, op: CountingOperator) -> LP:
    lp = inst.lp
    return LP(lp.c, op.op, lp.con_lb, lp.con_ub, lp.var_lb, lp.var_ub, lp.c0, name=lp.name + "_matrix_free")


def _clean_run(inst):
    op = CountingOperator(inst.lp.A.toarray())
    res = scotopt.solve(_matrix_free(inst, op), eps=1e-8)
    assert res.status == Status.OPTIMAL
    return res, op.calls


def test_numerical_error_from_operator():
    inst = _inst()
    clean, calls = _clean_run(inst)
    op = CountingOperator(inst.lp.A.toarray(), fail_at=calls // 2, mode="nan_once")
    res = scotopt.solve(_matrix_free(inst, op), eps=1e-8, iteration_limit=20_000)  # limit: a backstop
    assert res.status == Status.NUMERICAL_ERROR, res
    assert 0 < res.iterations < clean.iterations
    assert res.iterations % CHECK_EVERY == 0
    assert _finite(res)
    assert np.isfinite(res.fun)
    assert not res.success


def test_numerical_error_operator_stays_broken():
    """Result docs: NUMERICAL_ERROR returns an earlier iterate whose values were all finite,
    even when the operator keeps returning NaN afterwards."""
    inst = _inst()
    _, calls = _clean_run(inst)
    op = CountingOperator(inst.lp.A.toarray(), fail_at=calls // 2, mode="nan_forever")
    res = scotopt.solve(_matrix_free(inst, op), eps=1e-8, iteration_limit=20_000)
    assert res.status == Status.NUMERICAL_ERROR, res
    assert np.isfinite(res.x).all()
    assert np.isfinite(res.y).all()


def test_keyboard_interrupt_becomes_status():
    inst = _inst()
    clean, calls = _clean_run(inst)
    op = CountingOperator(inst.lp.A.toarray(), fail_at=calls // 2, mode="interrupt")
    try:
        res = scotopt.solve(_matrix_free(inst, op), eps=1e-8, iteration_limit=20_000)
    except KeyboardInterrupt:  # would otherwise abort the whole pytest session
        pytest.fail("KeyboardInterrupt propagated out of scotopt.solve")
    assert res.status == Status.INTERRUPTED, res
    assert op.calls > calls // 2  # the answer was computed after the interrupt
    assert 0 < res.iterations < clean.iterations
    assert _finite(res)
    assert not res.success
    with pytest.raises(SolveFailedError) as info:
        res.raise_for_status()
    assert info.value.status == Status.INTERRUPTED


# --------------------------------------------------------------------------------------------
# warm_start


@pytest.mark.parametrize("name", ["all_bound_kinds", "free_variables", "ranged_mixed", "fixed_variables"])
def test_warm_start_from_optimum(name):
    inst = _inst(name)
    cold = scotopt.solve(inst.lp, eps=1e-8)
    res = scotopt.solve(inst.lp, eps=1e-8, warm_start=(inst.x_opt, inst.y_opt))
    assert res.status == Status.OPTIMAL
    assert res.iterations <= 2 * CHECK_EVERY
    assert res.iterations <= cold.iterations
    assert _rel_err(res.fun, inst.objective) <= 1e-8
    np.testing.assert_allclose(res.x, inst.x_opt, atol=1e-6)
    np.testing.assert_allclose(res.y, inst.y_opt, atol=1e-6)


def test_warm_start_primal_only_and_jax():
    inst = _inst()
    res = scotopt.solve(inst.lp, eps=1e-8, warm_start=(inst.x_opt, None))
    assert res.status == Status.OPTIMAL
    assert _rel_err(res.fun, inst.objective) <= 1e-6
    res = scotopt.solve(inst.lp, backend="jax", eps=1e-8, warm_start=(inst.x_opt, inst.y_opt))
    assert res.status == Status.OPTIMAL and res.iterations <= 2 * CHECK_EVERY


@pytest.mark.parametrize(
    "make",
    [
        lambda x, y: (x[:-1], y),
        lambda x, y: (x, np.append(y, 0.0)),
        lambda x, y: (np.append(x, 0.0), None),
        lambda x, y: (x.reshape(1, -1, 1)[:, :2], y),
        lambda x, y: x,  # not a pair
        lambda x, y: (x, y, y),
        lambda x, y: 3.0,
        lambda x, y: (np.where(np.arange(x.size) == 0, np.nan, x), y),
        lambda x, y: (x, np.full_like(y, np.inf)),
    ],
    ids=["short_x", "long_y", "long_x_no_y", "2d_wrong", "not_pair", "triple", "scalar", "nan_x", "inf_y"],
)
def test_warm_start_invalid(make):
    inst = _inst()
    with pytest.raises(InvalidProblemError):
        scotopt.solve(inst.lp, eps=1e-6, warm_start=make(inst.x_opt, inst.y_opt))


# --------------------------------------------------------------------------------------------
# verbose


def test_verbose_prints_header_and_one_line_per_check(capsys):
    inst = _inst()
    res = scotopt.solve(inst.lp, eps=1e-8, verbose=True)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert res.status == Status.OPTIMAL
    header, rows = lines[0], lines[1:]
    for column in ("iter", "rel_primal", "rel_dual", "rel_gap"):
        assert column in header
    assert len(rows) == res.iterations // CHECK_EVERY
    iterations = [int(row.split()[0]) for row in rows]
    assert iterations == list(range(CHECK_EVERY, res.iterations + 1, CHECK_EVERY))
    # The last line shows the final primal objective.
    assert float(rows[-1].split()[4]) == pytest.approx(res.fun, rel=1e-6)


def test_verbose_with_iteration_limit(capsys):
    scotopt.solve(_inst().lp, eps=1e-10, iteration_limit=CHECK_EVERY + 5, verbose=True)
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [int(row.split()[0]) for row in rows] == [CHECK_EVERY, CHECK_EVERY + 5]


def test_quiet_prints_nothing(capsys):
    scotopt.solve(_inst().lp, eps=1e-8)
    scotopt.solve(_inst().lp, eps=1e-8, verbose=False, iteration_limit=3)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# --------------------------------------------------------------------------------------------
# dtype, method, backend and option validation


@pytest.mark.parametrize("backend_name", ["numpy", "jax"])
def test_float32(backend_name):
    inst = _inst()
    res = scotopt.solve(inst.lp, backend=backend_name, dtype="float32", eps=1e-4)
    assert res.status == Status.OPTIMAL
    assert res.dtype == "float32"
    assert res.x.dtype == np.float64 and res.y.dtype == np.float64  # Result arrays are host float64
    assert kkt_report(inst.lp, res.x, res.y).max_relative <= 1e-4
    assert _rel_err(res.fun, inst.objective) <= 1e-3


@pytest.mark.parametrize("dtype", ["float16", "int32", "complex128", "bfloat16", None])
def test_invalid_dtype(dtype):
    with pytest.raises(InvalidOptionError):
        scotopt.solve(_inst().lp, dtype=dtype)


def test_unknown_method_and_backend():
    lp = _inst().lp
    with pytest.raises(InvalidOptionError):
        scotopt.solve(lp, method="simplex")
    with pytest.raises(InvalidOptionError):
        scotopt.solve(lp, backend="torch")
    with pytest.raises(InvalidOptionError):
        scotopt.solve(lp, backend="")


def test_cupy_without_gpu():
    if gpu_available() == "cupy":
        pytest.skip("a CuPy GPU is present")
    with pytest.raises(BackendUnavailableError):
        scotopt.solve(_inst().lp, backend="cupy")


def test_auto_does_not_import_jax_where_no_gpu_device_file_exists(monkeypatch):
    """On Linux without GPU device files 'auto' resolves to NumPy without importing JAX or
    CuPy (about 1 s per process); with a device file present it asks them as before."""
    import subprocess
    import sys

    from scotopt import kernels

    if not kernels.no_gpu_device_files():
        pytest.skip("GPU device files present (or not Linux): 'auto' has to ask JAX / CuPy")
    code = ("import sys; from scotopt.kernels import resolve_backend; "
            "print(resolve_backend('auto'), 'jax' in sys.modules, 'cupy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["numpy", "False", "False"]
    # a device file makes the check give way (and JAX, if asked, finds no GPU here)
    monkeypatch.setattr(kernels.os.path, "exists", lambda path: path == "/dev/nvidiactl")
    assert not kernels.no_gpu_device_files()
    monkeypatch.setattr(kernels.os.path, "exists", lambda path: False)
    monkeypatch.setattr(kernels.glob, "glob", lambda pattern: ["/dev/nvidia0"])
    assert not kernels.no_gpu_device_files()


def test_auto_backend_is_numpy_without_gpu():
    if gpu_available() is not None:
        pytest.skip("a GPU is present: 'auto' picks a GPU backend")
    res = scotopt.solve(_inst().lp, backend="auto", eps=1e-6)
    assert res.backend == "numpy"
    assert res.device == "cpu"
    assert res.status == Status.OPTIMAL


@pytest.mark.parametrize(
    ("size", "cupy_gpu", "jax_gpu", "expected"),
    [
        (10_000, True, True, "cupy"),  # mid-size: no compilation wins
        (CUPY_BELOW, True, True, "jax"),  # at scale: the fused iteration wins
        (None, True, True, "jax"),  # unknown size: the choice that scales
        (10**9, True, False, "cupy"),  # the only GPU backend there is
        (10, False, True, "jax"),
        (10, False, False, None),  # no GPU: resolve_backend falls back to numpy
    ],
)
def test_auto_gpu_backend_policy(size, cupy_gpu, jax_gpu, expected):
    assert gpu_backend_for(size, cupy_gpu, jax_gpu) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"check_every": 0},
        {"check_every": -5},
        {"check_every": 2.5},
        {"reflection": 2},
        {"reflection": 0.4},
        {"step_size_safety": 1.5},
        {"step_size_safety": 1.0},
        {"step_size_safety": 0.0},
        {"ruiz_iterations": -1},
        {"geometric_mean_iterations": -1},
        {"pock_chambolle_alpha": 2.5},
        {"pock_chambolle_alpha": -0.1},
        {"restart_sufficient": 0.0},
        {"restart_necessary": 1.0},
        {"restart_artificial": 1.5},
    ],
    ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()),
)
def test_invalid_pdhg_options(kwargs):
    with pytest.raises(InvalidOptionError):
        PDHGOptions(**kwargs)


def test_options_must_be_pdhg_options():
    with pytest.raises(InvalidOptionError):
        scotopt.solve(_inst().lp, options={"check_every": 10})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"eps": 0.0},
        {"eps": -1e-6},
        {"eps": math.nan},
        {"eps": math.inf},
        {"eps": "1e-6"},
        {"iteration_limit": -1},
        {"iteration_limit": 2.5},
        {"time_limit": 0.0},
        {"time_limit": -1.0},
        {"time_limit": math.nan},
        {"eps_infeasible": 0.0},
    ],
    ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()),
)
def test_invalid_termination(kwargs):
    with pytest.raises(InvalidOptionError):
        Termination(**kwargs)
    with pytest.raises(InvalidOptionError):
        scotopt.solve(_inst().lp, **kwargs)


# --------------------------------------------------------------------------------------------
# Result API


def test_result_api_optimal():
    inst = _inst()
    res = scotopt.solve(inst.lp, eps=1e-8)
    assert res.status == Status.OPTIMAL
    assert res.raise_for_status() is res
    assert res.fun == res.primal_objective
    assert res.nit == res.iterations
    assert res.success is True
    assert res.message == Status.OPTIMAL.message
    assert res.kkt_error == max(res.rel_primal, res.rel_dual, res.rel_gap)
    assert res.eps == 1e-8 and res.method == "pdhg"
    assert res.reduced_costs.shape == (inst.lp.num_vars,)
    summary = res.summary()
    _assert_plain(summary)
    text = json.dumps(summary, allow_nan=False)
    assert json.loads(text)["status"] == "OPTIMAL"
    assert summary["success"] is True and summary["iterations"] == res.iterations
    assert "OPTIMAL" in repr(res)


def test_result_api_not_optimal():
    res = scotopt.solve(_inst().lp, eps=1e-8, iteration_limit=10)
    assert res.status == Status.ITERATION_LIMIT
    assert res.success is False
    assert res.message == Status.ITERATION_LIMIT.message
    with pytest.raises(SolveFailedError) as info:
        res.raise_for_status()
    assert info.value.status == Status.ITERATION_LIMIT
    assert "ITERATION_LIMIT" in str(info.value)
    summary = res.summary()
    _assert_plain(summary)
    assert json.loads(json.dumps(summary))["status"] == "ITERATION_LIMIT"


def test_result_api_infeasible():
    res = scotopt.solve(_inst("primal_infeasible").lp, eps=1e-8)
    assert res.status == Status.PRIMAL_INFEASIBLE
    with pytest.raises(SolveFailedError):
        res.raise_for_status()
    json.dumps(res.summary())


def _assert_plain(value):
    """No arrays anywhere in a summary (nested dicts included)."""
    if isinstance(value, dict):
        for v in value.values():
            _assert_plain(v)
    else:
        assert not isinstance(value, np.ndarray | list | tuple), type(value)


# --------------------------------------------------------------------------------------------
# Option branches still solve


@pytest.mark.parametrize(
    "options",
    [
        PDHGOptions(pock_chambolle_alpha=None),
        PDHGOptions(ruiz_iterations=0),
        PDHGOptions(ruiz_iterations=0, pock_chambolle_alpha=None),
        PDHGOptions(bound_objective_rescaling=False),
        PDHGOptions(reflection=0.5),
        PDHGOptions(check_every=7),
        PDHGOptions(pock_chambolle_alpha=0.0),
        PDHGOptions(pock_chambolle_alpha=2.0),
        PDHGOptions(geometric_mean_iterations=12),
    ],
    ids=["no_pock_chambolle", "no_ruiz", "no_diagonal_scaling", "no_bound_objective_rescaling",
         "halpern_no_reflection", "check_every_7", "pc_alpha_0", "pc_alpha_2", "geometric_mean_12"],
)
@pytest.mark.parametrize("name", ["all_bound_kinds", "fixed_variables"])
def test_option_branches_solve(options, name):
    inst = _inst(name)
    res = scotopt.solve(inst.lp, eps=1e-8, options=options, iteration_limit=200_000)
    assert res.status == Status.OPTIMAL, res
    assert _rel_err(res.fun, inst.objective) <= 1e-6
    assert kkt_report(inst.lp, res.x, res.y).max_relative <= 1e-8
    assert res.iterations % options.check_every == 0


# --------------------------------------------------------------------------------------------
# Matrix-free LPs and every kind of input matrix


def test_matrix_free_matches_explicit():
    lp, x_star, _ = random_lp_from_kkt(np.random.default_rng(9), 20, 30, 0.3)
    explicit = scotopt.solve(lp, eps=1e-7, iteration_limit=200_000)
    free_lp = LP(lp.c, spla.aslinearoperator(lp.A), lp.con_lb, lp.con_ub, lp.var_lb, lp.var_ub, lp.c0)
    assert free_lp.is_matrix_free
    free = scotopt.solve(free_lp, eps=1e-7, iteration_limit=200_000)
    assert explicit.status == Status.OPTIMAL and free.status == Status.OPTIMAL, (explicit, free)
    optimum = lp.objective(x_star)
    assert _rel_err(explicit.fun, optimum) <= 1e-5
    assert _rel_err(free.fun, optimum) <= 1e-5
    assert _rel_err(free.fun, explicit.fun) <= 1e-5
    assert kkt_report(lp, free.x, free.y).max_relative <= 1e-7  # checked against the explicit matrix


def test_matrix_free_rejected_on_jax():
    inst = _inst()
    free_lp = _matrix_free(inst, CountingOperator(inst.lp.A.toarray()))
    with pytest.raises(InvalidProblemError):
        scotopt.solve(free_lp, backend="jax")


def _matrix_kinds():
    kinds = {
        "dense": lambda A: A,
        "list": lambda A: A.tolist(),
        "csr": sp.csr_matrix,
        "csc": sp.csc_matrix,
        "coo": sp.coo_matrix,
        "csr_array": sp.csr_array,
        "float32_dense": lambda A: A.astype(np.float32),
        "int_dense": lambda A: (A * 2).astype(np.int64),  # exact for the catalog's small values
    }
    return kinds


@pytest.mark.parametrize("kind", list(_matrix_kinds()))
def test_input_matrix_kinds(kind):
    inst = _inst()
    A = inst.lp.A.toarray()
    lp0 = inst.lp
    scale = 2.0 if kind == "int_dense" else 1.0
    lp = LP(lp0.c * scale, _matrix_kinds()[kind](A), lp0.con_lb * scale, lp0.con_ub * scale,
            lp0.var_lb, lp0.var_ub, lp0.c0 * scale)
    res = scotopt.solve(lp, eps=1e-8)
    assert res.status == Status.OPTIMAL
    assert _rel_err(res.fun, inst.objective * scale) <= 1e-6


def test_input_jax_arrays():
    import jax.experimental.sparse as jsparse
    import jax.numpy as jnp

    inst = _inst()
    lp0 = inst.lp
    A = lp0.A.toarray()
    for matrix in (jnp.asarray(A), jsparse.BCOO.fromdense(jnp.asarray(A))):
        lp = LP(jnp.asarray(lp0.c), matrix, jnp.asarray(lp0.con_lb), jnp.asarray(lp0.con_ub),
                jnp.asarray(lp0.var_lb), jnp.asarray(lp0.var_ub), jnp.asarray(lp0.c0))
        np.testing.assert_array_equal(lp.A.toarray(), A)
        res = scotopt.solve(lp, eps=1e-8)
        assert res.status == Status.OPTIMAL
        assert _rel_err(res.fun, inst.objective) <= 1e-6


@pytest.mark.gpu
def test_input_cupy_arrays():
    if gpu_available() != "cupy":
        pytest.skip("needs an NVIDIA GPU with CuPy")
    import cupy
    import cupyx.scipy.sparse as csp

    inst = _inst()
    lp0 = inst.lp
    A = lp0.A.toarray()
    for matrix in (cupy.asarray(A), csp.csr_matrix(cupy.asarray(A))):
        lp = LP(cupy.asarray(lp0.c), matrix, cupy.asarray(lp0.con_lb), cupy.asarray(lp0.con_ub),
                cupy.asarray(lp0.var_lb), cupy.asarray(lp0.var_ub), lp0.c0)
        for backend_name in ("numpy", "cupy"):
            res = scotopt.solve(lp, backend=backend_name, eps=1e-8)
            assert res.status == Status.OPTIMAL
            assert _rel_err(res.fun, inst.objective) <= 1e-6
