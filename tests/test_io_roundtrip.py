"""Round trips MPS -> LP -> npz / MPS -> LP give identical data; our MPS reader agrees with highspy's."""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scotopt import LP, QP
from scotopt.io import load, load_npz, read_mps, save, save_npz, write_mps
from scotopt.io.mps_write import writable_names

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NETLIB, KENNINGTON = DATA / "netlib", DATA / "kennington"


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.mps.gz")) if folder.exists() else []


def assert_same_problem(a, b, names: bool = True):
    assert type(a) is type(b)
    assert a.shape == b.shape
    for key in ("c", "con_lb", "con_ub", "var_lb", "var_ub"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
    assert a.c0 == b.c0
    assert a.objective_sign == b.objective_sign
    assert (a.A != b.A).nnz == 0
    if isinstance(a, QP):
        assert (a.P != b.P).nnz == 0
    if names:
        assert a.row_names == b.row_names and a.col_names == b.col_names


def _highs_read(path):
    with contextlib.redirect_stdout(io.StringIO()):  # HiGHS prints its banner when it starts
        return read_mps(path, engine="highs")


@pytest.mark.skipif(not _files(NETLIB), reason=f"shared Netlib data not found at {NETLIB}")
@pytest.mark.parametrize("path", _files(NETLIB), ids=lambda p: p.name.split(".")[0])
def test_netlib_round_trip_and_highs_agreement(path, tmp_path):
    lp = read_mps(path)
    assert_same_problem(lp, _highs_read(path))
    save_npz(lp, tmp_path / "p.npz")
    assert_same_problem(lp, load_npz(tmp_path / "p.npz"))
    write_mps(lp, tmp_path / "p.mps.gz")
    # names with spaces (forplan's fixed-format names) cannot be written in free format
    keeps_names = writable_names(lp.row_names, lp.num_rows) and writable_names(lp.col_names, lp.num_vars)
    assert_same_problem(lp, read_mps(tmp_path / "p.mps.gz"), names=keeps_names)


@pytest.mark.slow
@pytest.mark.skipif(not _files(KENNINGTON), reason=f"shared Kennington data not found at {KENNINGTON}")
@pytest.mark.parametrize("path", _files(KENNINGTON), ids=lambda p: p.name.split(".")[0])
def test_kennington_agrees_with_highs(path, tmp_path):
    lp = read_mps(path)
    assert_same_problem(lp, _highs_read(path))
    save(lp, tmp_path / "p.npz")
    assert_same_problem(lp, load(tmp_path / "p.npz"))


# Fixed format: names with spaces, a blank RHS set name, every bound type, OBJNAME, an extra
# free row, integer markers and an objective constant.
def fixed_line(*fields: str) -> str:
    """A data line with fields at the fixed MPS columns 2-3, 5-12, 15-22, 25-36, 40-47, 50-61."""
    starts = (1, 4, 14, 24, 39, 49)
    line = ""
    for start, field in zip(starts, fields, strict=False):
        line = line.ljust(start) + field
    return line + "\n"


F = fixed_line
FIXED = (
    "NAME          FIXEDTEST\nOBJNAME\n    COST\nROWS\n"
    + F("N", "SPARE") + F("N", "COST") + F("L", "LIM 1") + F("G", "LIM 2") + F("E", "MYEQN")
    + "COLUMNS\n"
    + F("", "X ONE", "COST", "1.0", "LIM 1", "1.0") + F("", "X ONE", "LIM 2", "1.0")
    + "    MARKER                 'MARKER'                 'INTORG'\n"
    + F("", "Y TWO", "COST", "2.0", "LIM 1", "1.0") + F("", "Y TWO", "MYEQN", "-1.0", "SPARE", "3.0")
    + "    MARKER                 'MARKER'                 'INTEND'\n"
    + F("", "Z3", "COST", "-1.0", "MYEQN", "1.0") + F("", "W4", "COST", "1.0", "LIM 2", "1.0")
    + F("", "V5", "COST", "1.0", "LIM 2", "1.0") + F("", "U6", "COST", "1.0", "LIM 1", "1.0")
    + F("", "T7", "COST", "1.0", "MYEQN", "1.0")
    + "RHS\n" + F("", "", "LIM 1", "4.0", "LIM 2", "1.0") + F("", "", "COST", "-2.5")
    + "RANGES\n" + F("", "RNG", "MYEQN", "-2.0")
    + "BOUNDS\n"
    + F("UP", "BND", "X ONE", "4.0") + F("BV", "BND", "Y TWO") + F("LI", "BND", "Z3", "-3.0")
    + F("UI", "BND", "Z3", "5.0") + F("SC", "BND", "W4", "6.0") + F("MI", "BND", "V5")
    + F("UP", "BND", "V5", "-1.0") + F("UP", "BND", "U6", "-2.0") + F("PL", "BND", "T7")
    + "ENDATA\n"
)


def test_fixed_format_every_bound_type(tmp_path):
    path = tmp_path / "fixed.mps"
    path.write_text(FIXED)
    for fmt in ("auto", "fixed"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lp = read_mps(path, format=fmt)
        messages = [str(w.message) for w in caught]
        assert sum("relaxed 3 integer" in m for m in messages) == 1  # Y TWO (marker, BV), Z3 (LI/UI), W4 (SC)
        assert sum("UP bound(s) with a negative value" in m for m in messages) == 1  # U6 only: V5 has MI
        assert lp.row_names == ["LIM 1", "LIM 2", "MYEQN"]
        assert lp.col_names == ["X ONE", "Y TWO", "Z3", "W4", "V5", "U6", "T7"]
        np.testing.assert_array_equal(lp.c, [1, 2, -1, 1, 1, 1, 1])
        assert lp.c0 == 2.5
        inf = np.inf
        np.testing.assert_array_equal(lp.var_lb, [0, 0, -3, 0, -inf, -inf, 0])
        np.testing.assert_array_equal(lp.var_ub, [4, 1, 5, 6, -1, -2, inf])
        np.testing.assert_array_equal(lp.con_lb, [-inf, 1, -2])
        np.testing.assert_array_equal(lp.con_ub, [4, inf, 0])
        expected = np.zeros((3, 7))
        for i, j, v in [(0, 0, 1), (1, 0, 1), (0, 1, 1), (2, 1, -1), (2, 2, 1), (1, 3, 1), (1, 4, 1), (0, 5, 1),
                        (2, 6, 1)]:
            expected[i, j] = v
        np.testing.assert_array_equal(lp.A.toarray(), expected)
    kept = read_mps(path, keep_free_rows=True)
    assert kept.row_names == ["SPARE", "LIM 1", "LIM 2", "MYEQN"]
    assert kept.con_lb[0] == -np.inf and kept.con_ub[0] == np.inf
    assert kept.A[0, 1] == 3.0


def test_dpklo1_style_numeric_names(tmp_path):
    """Rows named by numbers; an RHS set named '1': the field count decides, not the names."""
    text = ("NAME n\nROWS\n N 0\n E 1\n E 2\nCOLUMNS\n 1 0 1.0 1 1.0\n 2 0 1.0 2 1.0\n 3 1 1.0 2 1.0\n"
            "RHS\n 1 2 5.0\n 1 1 3.0\nRANGES\n 1 1 2.0\nBOUNDS\n FR 0 1\n UP 0 2 7.0\nENDATA\n")
    path = tmp_path / "numeric.mps"
    path.write_text(text)
    lp = read_mps(path)
    np.testing.assert_array_equal(lp.con_lb, [3.0, 5.0])
    np.testing.assert_array_equal(lp.con_ub, [5.0, 5.0])
    np.testing.assert_array_equal(lp.var_lb, [-np.inf, 0, 0])
    np.testing.assert_array_equal(lp.var_ub, [np.inf, 7.0, np.inf])


def test_objsense_inline_and_qmatrix(tmp_path):
    text = ("NAME q\nOBJSENSE MAXIMIZE\nROWS\n N obj\n L c\nCOLUMNS\n x obj 1.0 c 1.0\n y obj 1.0 c 1.0\n"
            "RHS\n r c 1.0\nQMATRIX\n x x -2.0\n x y 0.5\n y x 0.5\n y y -1.0\nENDATA\n")
    path = tmp_path / "q.qps"
    path.write_text(text)
    qp = read_mps(path)
    assert isinstance(qp, QP) and qp.objective_sign == -1
    np.testing.assert_array_equal(qp.c, [-1.0, -1.0])
    np.testing.assert_array_equal(qp.P.toarray(), [[2.0, -0.5], [-0.5, 1.0]])
    save(qp, tmp_path / "q.npz")
    assert_same_problem(qp, load(tmp_path / "q.npz"))
    write_mps(qp, tmp_path / "q2.qps")
    assert_same_problem(qp, read_mps(tmp_path / "q2.qps"))


# ---------------------------------------------------------------- property-based round trips
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def random_lps(draw):
    m = draw(st.integers(0, 6))
    n = draw(st.integers(1, 6))
    dense = np.array(draw(st.lists(st.one_of(st.just(0.0), finite), min_size=m * n, max_size=m * n)),
                     dtype=np.float64).reshape(m, n)

    def bounds(count):
        lower, upper = [], []
        for _ in range(count):
            kind = draw(st.sampled_from(["free", "lower", "upper", "boxed", "fixed"]))
            a, b = sorted((draw(finite), draw(finite)))
            lower.append({"free": -np.inf, "upper": -np.inf, "fixed": a}.get(kind, a))
            upper.append({"free": np.inf, "lower": np.inf, "fixed": a}.get(kind, b))
        return np.array(lower, dtype=np.float64), np.array(upper, dtype=np.float64)

    con_lb, con_ub = bounds(m)
    var_lb, var_ub = bounds(n)
    c = np.array(draw(st.lists(finite, min_size=n, max_size=n)), dtype=np.float64)
    lp = LP(c, sp.csr_matrix(dense), con_lb, con_ub, var_lb, var_ub, c0=draw(finite))
    lp.objective_sign = draw(st.sampled_from([1, -1]))
    return lp


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lp=random_lps())
def test_random_lp_round_trips(lp, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_mps(lp, tmp_path / "r.mps")
    back = read_mps(tmp_path / "r.mps", keep_free_rows=True)
    if any("cannot be written exactly" in str(w.message) for w in caught):
        # MPS fixes one end of a ranged row at the RHS and the other at RHS +- range; some pairs
        # of doubles are then an ulp out of reach. The writer says so; npz is exact.
        bounds = np.concatenate([lp.con_lb, lp.con_ub])
        scale = np.abs(bounds[np.isfinite(bounds)]).max()
        np.testing.assert_allclose(back.con_lb, lp.con_lb, rtol=0, atol=4.5e-16 * scale)
        np.testing.assert_allclose(back.con_ub, lp.con_ub, rtol=0, atol=4.5e-16 * scale)
        back.con_lb, back.con_ub = lp.con_lb, lp.con_ub
    assert_same_problem(lp, back, names=False)
    save_npz(lp, tmp_path / "r.npz")
    assert_same_problem(lp, load_npz(tmp_path / "r.npz"), names=False)
