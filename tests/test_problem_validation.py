"""LP input validation: every kind of bad input raises InvalidProblemError naming the array and
index; valid input is copied, broadcast and defaulted as documented."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp

import scotopt
from scotopt.problem import LP
from scotopt.status import InvalidProblemError, ScotoptError

INF = np.inf
NAN = np.nan

# A small valid LP: 3 rows, 4 columns, every bound finite.
C = np.array([1.0, -2.0, 3.0, 0.5])
A = np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 0.0, -1.0], [1.0, 1.0, 1.0, 1.0]])
CON_LB = np.array([-1.0, -2.0, 0.0])
CON_UB = np.array([4.0, 2.0, 5.0])
VAR_LB = np.array([0.0, -1.0, 0.0, -3.0])
VAR_UB = np.array([2.0, 1.0, 3.0, 3.0])


def _kwargs(**overrides):
    base = dict(c=C.copy(), A=A.copy(), con_lb=CON_LB.copy(), con_ub=CON_UB.copy(),
                var_lb=VAR_LB.copy(), var_ub=VAR_UB.copy(), c0=0.0)
    base.update(overrides)
    return base


def _with(name, index, value):
    """The base data with ``name[index] = value``."""
    kwargs = _kwargs()
    arr = kwargs[name].copy()
    arr[index] = value
    kwargs[name] = arr
    return kwargs


def _raises(kwargs, *patterns):
    with pytest.raises(InvalidProblemError) as info:
        LP(**kwargs)
    message = str(info.value)
    for pattern in patterns:
        assert re.search(pattern, message), f"{pattern!r} not in {message!r}"
    return message


def test_valid_base_lp():
    lp = LP(**_kwargs())
    assert lp.shape == (3, 4)
    assert scotopt.solve(lp, eps=1e-6).status == scotopt.Status.OPTIMAL


def test_errors_are_value_errors():
    assert issubclass(InvalidProblemError, ValueError)
    assert issubclass(InvalidProblemError, ScotoptError)


# --------------------------------------------------------------------------------------------
# Non-finite data


@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_nonfinite_cost(value):
    _raises(_with("c", 2, value), r"\bc\[2\]", "finite")


@pytest.mark.parametrize("value", [NAN, INF, -INF])
@pytest.mark.parametrize("fmt", ["dense", "csr", "csc", "coo"])
def test_nonfinite_matrix_entry(value, fmt):
    dense = A.copy()
    dense[1, 3] = value
    matrix = dense if fmt == "dense" else {"csr": sp.csr_matrix, "csc": sp.csc_matrix, "coo": sp.coo_matrix}[fmt](dense)
    _raises(_kwargs(A=matrix), r"A\[1, 3\]", "finite")


def test_nonfinite_matrix_entry_first_one_is_named():
    dense = A.copy()
    dense[2, 1] = NAN
    dense[0, 2] = INF
    _raises(_kwargs(A=sp.csc_matrix(dense)), r"A\[0, 2\]")


@pytest.mark.parametrize("name", ["con_lb", "con_ub", "var_lb", "var_ub"])
def test_nan_bound(name):
    _raises(_with(name, 1, NAN), rf"{name}\[1\]", "NaN")


def test_con_lb_above_con_ub():
    _raises(_with("con_lb", 2, 6.0), r"con_lb\[2\]", r"con_ub\[2\]")


def test_var_lb_above_var_ub():
    _raises(_with("var_ub", 3, -4.0), r"var_lb\[3\]", r"var_ub\[3\]")


def test_equal_bounds_are_fine():
    kwargs = _with("con_lb", 0, 4.0)
    kwargs["var_lb"][1] = kwargs["var_ub"][1] = 0.25
    LP(**kwargs)


@pytest.mark.parametrize("kind", ["var", "con"])
def test_lower_bound_plus_inf(kind):
    kwargs = _with(f"{kind}_lb", 1, INF)
    kwargs[f"{kind}_ub"][1] = INF  # so the message is about +inf, not lb > ub
    _raises(kwargs, rf"{kind}_lb\[1\]", r"\+inf")


@pytest.mark.parametrize("kind", ["var", "con"])
def test_upper_bound_minus_inf(kind):
    kwargs = _with(f"{kind}_ub", 0, -INF)
    kwargs[f"{kind}_lb"][0] = -INF
    _raises(kwargs, rf"{kind}_ub\[0\]", "-inf")


@pytest.mark.parametrize("c0", [NAN, INF, -INF])
def test_nonfinite_c0(c0):
    _raises(_kwargs(c0=c0), "c0")


@pytest.mark.parametrize("c0", ["abc", None, [1.0, 2.0]])
def test_non_real_c0(c0):
    _raises(_kwargs(c0=c0), "c0")


# --------------------------------------------------------------------------------------------
# Shapes and dtypes


@pytest.mark.parametrize("name", ["con_lb", "con_ub"])
@pytest.mark.parametrize("length", [2, 4])
def test_wrong_row_vector_length(name, length):
    _raises(_kwargs(**{name: np.zeros(length)}), name, r"\(3,\)")


@pytest.mark.parametrize("name", ["var_lb", "var_ub"])
@pytest.mark.parametrize("length", [3, 5])
def test_wrong_column_vector_length(name, length):
    _raises(_kwargs(**{name: np.zeros(length)}), name, r"\(4,\)")


@pytest.mark.parametrize("name", ["con_lb", "var_ub"])
def test_two_dimensional_bound(name):
    n = 3 if name.startswith("con") else 4
    _raises(_kwargs(**{name: np.zeros((n, 1))}), name)


@pytest.mark.parametrize("length", [3, 5])
def test_wrong_cost_length(length):
    _raises(_kwargs(c=np.ones(length)), r"\bc\b", "columns")


@pytest.mark.parametrize("bad_A", [np.ones(4), np.ones((2, 2, 2)), np.float64(3.0)], ids=["1d", "3d", "0d"])
def test_A_not_2d(bad_A):
    _raises(_kwargs(A=bad_A), r"\bA\b", "2-D")


@pytest.mark.parametrize("bad_c", [np.ones((4, 1)), np.ones((1, 4)), np.float64(1.0)], ids=["column", "row", "0d"])
def test_c_not_1d(bad_c):
    _raises(_kwargs(c=bad_c), r"\bc\b", "1-D")


def test_non_numeric_dtypes():
    _raises(_kwargs(c=np.array(["a", "b", "c", "d"])), r"\bc\b", "numeric")
    _raises(_kwargs(c=[1.0, None, 2.0, 3.0]), r"\bc\b", "numeric")
    _raises(_kwargs(A=A.astype(str)), r"\bA\b", "numeric")
    _raises(_kwargs(con_lb=np.array(["x", "y", "z"])), "con_lb", "numeric")
    _raises(_kwargs(var_ub=np.array(["x", "y", "z", "w"])), "var_ub", "numeric")


def test_solve_rejects_non_lp():
    for problem in (None, {"c": C, "A": A}, (C, A), "lp.mps"):
        with pytest.raises(InvalidProblemError):
            scotopt.solve(problem)


# --------------------------------------------------------------------------------------------
# Copies, broadcasting, defaults


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc", "coo"])
def test_lp_copies_its_inputs(fmt):
    kwargs = _kwargs()
    matrix = A.copy() if fmt == "dense" else {"csr": sp.csr_matrix, "csc": sp.csc_matrix, "coo": sp.coo_matrix}[fmt](A)
    kwargs["A"] = matrix
    lp = LP(**kwargs)
    # Mutate everything the caller still holds.
    for name in ("c", "con_lb", "con_ub", "var_lb", "var_ub"):
        kwargs[name][:] = 99.0
    if fmt == "dense":
        matrix[:] = 7.0
    else:
        matrix.data[:] = 7.0
    np.testing.assert_array_equal(lp.c, C)
    np.testing.assert_array_equal(lp.con_lb, CON_LB)
    np.testing.assert_array_equal(lp.con_ub, CON_UB)
    np.testing.assert_array_equal(lp.var_lb, VAR_LB)
    np.testing.assert_array_equal(lp.var_ub, VAR_UB)
    np.testing.assert_array_equal(sp.csr_matrix(lp.A).toarray(), A)


def test_lp_copies_float64_csr_without_sharing_buffers():
    matrix = sp.csr_matrix(A)
    lp = LP(C, matrix)
    assert not np.shares_memory(lp.A.data, matrix.data)
    assert not np.shares_memory(lp.A.indices, matrix.indices)
    c = C.copy()
    lp = LP(c, A)
    assert not np.shares_memory(lp.c, c)


def test_scalar_bounds_broadcast():
    lp = LP(C, A, con_lb=-1, con_ub=np.float32(2.5), var_lb=-2.0, var_ub=np.array(3.0))
    np.testing.assert_array_equal(lp.con_lb, np.full(3, -1.0))
    np.testing.assert_array_equal(lp.con_ub, np.full(3, 2.5))
    np.testing.assert_array_equal(lp.var_lb, np.full(4, -2.0))
    np.testing.assert_array_equal(lp.var_ub, np.full(4, 3.0))
    for arr in (lp.con_lb, lp.con_ub, lp.var_lb, lp.var_ub, lp.c):
        assert arr.dtype == np.float64


def test_scalar_bound_is_validated():
    _raises(_kwargs(var_lb=NAN), "var_lb", "NaN")
    _raises(_kwargs(con_lb=3.0, con_ub=2.0), r"con_lb\[0\]")


def test_defaults():
    lp = LP(C, A)
    np.testing.assert_array_equal(lp.var_lb, np.zeros(4))
    np.testing.assert_array_equal(lp.var_ub, np.full(4, INF))
    np.testing.assert_array_equal(lp.con_lb, np.full(3, -INF))
    np.testing.assert_array_equal(lp.con_ub, np.full(3, INF))
    assert lp.c0 == 0.0
    assert lp.name == "lp"
    assert sp.issparse(lp.A) and lp.A.dtype == np.float64
    assert not lp.is_matrix_free
    assert (lp.num_rows, lp.num_vars) == (3, 4)


def test_integer_and_list_inputs_become_float64():
    lp = LP([1, 2, 3, 4], [[1, 0, 2, 0], [0, 1, 0, -1], [1, 1, 1, 1]], con_ub=[4, 2, 5], var_ub=[2, 1, 3, 3], c0=2)
    assert lp.c.dtype == np.float64 and lp.A.dtype == np.float64
    assert lp.c0 == 2.0 and isinstance(lp.c0, float)
    np.testing.assert_array_equal(lp.A.toarray(), A)


def test_complex_data_is_refused_not_truncated():
    _raises(_kwargs(c=C.astype(complex) + 1j), r"\bc\b", "real")
    _raises(_kwargs(A=A.astype(complex)), r"\bA\b", "real")
    _raises(_kwargs(A=sp.csr_matrix(A.astype(complex))), r"\bA\b", "real")
    _raises(_kwargs(con_ub=np.ones(3, dtype=complex)), "con_ub", "real")
