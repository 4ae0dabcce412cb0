"""SegmentVector: a vector of broadcast segments behaves as the array it stands for."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import scotopt
from scotopt.problem import constant_vector
from scotopt.segments import SegmentVector, vector_norm
from scotopt.status import InvalidProblemError


def _example(rng):
    """Segments of every kind: plain, broadcast over a leading axis, partly broadcast, constant."""
    h = rng.normal(size=(3, 4, 2))
    v = SegmentVector([
        rng.normal(size=5),
        np.broadcast_to(h[None], (6, 3, 4, 2)),
        (rng.normal(size=(1, 4, 1)), (2, 4, 3)),
        (2.5, (7,)),
    ])
    dense = np.concatenate([np.asarray(seg).reshape(-1) for seg in (
        v.compacts[0], np.broadcast_to(h[None], (6, 3, 4, 2)), np.broadcast_to(v.compacts[2], (2, 4, 3)),
        np.full(7, 2.5))])
    return v, dense


def test_it_is_the_array_it_stands_for():
    v, dense = _example(np.random.default_rng(0))
    assert v.shape == dense.shape and len(v) == dense.size and v.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(v), dense)
    assert v.nbytes < dense.nbytes / 4  # the broadcast segments store one copy
    for lo, hi in [(0, 3), (3, 40), (100, 160), (0, v.size), (150, 152), (7, 7), (-10, None)]:
        np.testing.assert_array_equal(v[lo:hi], dense[lo:hi])
    for i in (0, 4, 5, 77, 153, -1, -7):
        assert v[i] == dense[i]
    with pytest.raises(IndexError):
        v[v.size]
    mask = dense > 0
    np.testing.assert_array_equal(v[mask], dense[mask])  # anything else: materialised
    with pytest.raises(ValueError, match="without a copy"):
        np.array(v, copy=False)


def test_ufuncs_with_scalars_stay_compact_and_with_full_arrays_give_arrays():
    rng = np.random.default_rng(1)
    v, dense = _example(rng)
    w = rng.normal(size=v.size)
    twice = v * 2.0
    assert isinstance(twice, SegmentVector) and twice.nbytes == v.nbytes
    np.testing.assert_array_equal(np.asarray(twice), dense * 2.0)
    np.testing.assert_array_equal(np.asarray(np.isfinite(v)), np.isfinite(dense))
    np.testing.assert_array_equal(np.asarray(v / (1.0 + v * v)), dense / (1.0 + dense * dense))
    for result, expected in [(v * w, dense * w), (w - v, w - dense), (np.minimum(w, v), np.minimum(w, dense)),
                             (np.clip(w, -0.5, v), np.clip(w, -0.5, dense)), (v > w, dense > w)]:
        assert isinstance(result, np.ndarray)
        np.testing.assert_array_equal(result, expected)
    out = w.copy()
    assert np.subtract(v, out, out=out) is out
    np.testing.assert_array_equal(out, dense - w)
    zeros = constant_vector(0.0, v.size)  # a stride-0 view counts as one number
    assert isinstance(v > zeros, SegmentVector)
    np.testing.assert_array_equal(np.asarray(v > zeros), dense > 0)
    with pytest.raises(TypeError, match="read-only"):
        np.multiply(w, 2.0, out=(v,))


def test_reductions_norm_and_dot_match_the_dense_vector():
    rng = np.random.default_rng(2)
    v, dense = _example(rng)
    w = rng.normal(size=v.size)
    assert np.isclose(v.sum(), dense.sum()) and np.isclose(np.sum(v), dense.sum())
    assert v.max() == dense.max() and np.min(v) == dense.min()
    assert bool((v > 2).any()) == bool((dense > 2).any()) and bool(np.isfinite(v).all())
    assert np.isclose(vector_norm(v), np.linalg.norm(dense)) and np.isclose(v @ w, dense @ w)
    assert v.astype(np.float32).dtype == np.float32 and v.astype(np.float64) is v


def test_segments_that_do_not_broadcast_are_refused():
    with pytest.raises(ValueError, match="broadcast"):
        SegmentVector([(np.ones(3), (4,))])


def test_lp_keeps_segment_vectors_and_validates_them():
    A = sp.random(4, 12, density=0.5, random_state=0, format="csr")
    c = SegmentVector([(np.arange(3.0), (4, 3))])
    lp = scotopt.LP(c, A, con_lb=-1.0, con_ub=1.0, var_ub=SegmentVector([(np.array([1.0, 2.0]), (6, 2))]))
    assert isinstance(lp.c, SegmentVector) and isinstance(lp.var_ub, SegmentVector)
    with pytest.raises(InvalidProblemError, match=r"c\[6\]"):  # the first inf, counted in the whole vector
        scotopt.LP(SegmentVector([np.ones(5), (np.array([0.0, np.inf, 1.0]), (2, 3)), np.ones(1)]), A)
    with pytest.raises(InvalidProblemError, match=r"var_ub\[6\] is NaN"):
        nan_at_6 = SegmentVector([np.ones(5), (np.array([0.0, np.nan, 1.0]), (2, 3)), np.ones(1)])
        scotopt.LP(np.ones(12), A, var_ub=nan_at_6)
    with pytest.raises(InvalidProblemError, match=r"var_lb\[3\] = 2.0 > var_ub\[3\]"):
        scotopt.LP(np.ones(12), A, var_lb=2.0, var_ub=SegmentVector([(np.array([5.0, 5.0, 5.0, 1.0]), (3, 4))]))
    with pytest.raises(InvalidProblemError, match="shape"):
        scotopt.LP(np.ones(12), A, var_ub=SegmentVector([(1.0, (11,))]))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pdhg_iterates_the_same_on_segment_and_plain_vectors(dtype):
    """The NumPy iteration keeps segment vectors as they are: same arithmetic, same iterates."""
    rng = np.random.default_rng(3)
    m, reps, width = 30, 8, 10
    n = reps * width
    A = sp.random(m, n, density=0.2, random_state=4, format="csr") + sp.hstack([sp.eye(m, width)] * reps)
    x_star = rng.uniform(0, 1, size=n)
    b = A @ x_star
    cost = rng.uniform(1, 2, size=width)
    ub = rng.uniform(1.5, 3, size=width)
    c_seg = SegmentVector([(cost[None], (reps, width))])
    ub_seg = SegmentVector([(ub[None], (reps, width))])
    plain = scotopt.LP(np.asarray(c_seg), A, con_lb=b - 1, con_ub=b, var_ub=np.asarray(ub_seg))
    seg = scotopt.LP(c_seg, A, con_lb=b - 1, con_ub=b, var_ub=ub_seg)
    r_plain = scotopt.solve(plain, backend="numpy", dtype=dtype, eps=1e-6)
    r_seg = scotopt.solve(seg, backend="numpy", dtype=dtype, eps=1e-6)
    assert r_plain.status == r_seg.status == scotopt.Status.OPTIMAL
    assert r_plain.iterations == r_seg.iterations
    assert r_plain.primal_objective == pytest.approx(r_seg.primal_objective, rel=1e-12)
    np.testing.assert_allclose(r_seg.x, r_plain.x, rtol=1e-12, atol=1e-12)
