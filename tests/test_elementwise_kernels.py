"""The fused-kernel wrapper of the PDHG iteration (algorithm.elementwise): the bodies it fuses on
CuPy compute what np.clip-based PDHG does, and a fusion failure falls back to the plain body."""

from __future__ import annotations

import types

import numpy as np
import pytest

from scotopt.solvers.pdhg import algorithm as alg


def _fake_namespace(fuse):
    """numpy with a ``fuse`` attribute, as CuPy has (a module object, as every ``xp`` is)."""
    ns = types.ModuleType("fake_cupy")
    for name in ("minimum", "maximum", "clip"):
        setattr(ns, name, getattr(np, name))
    ns.fuse = fuse
    return ns


def _inputs(rng, n=50):
    x, aty, c, y, ax_hat, ax = (rng.normal(size=n) for _ in range(6))
    lb = np.where(rng.random(n) < 0.3, -np.inf, rng.normal(size=n) - 1.0)
    ub = np.where(rng.random(n) < 0.3, np.inf, lb + rng.random(n) * 2.0)
    ub = np.where(np.isinf(lb), rng.normal(size=n), ub)
    return x, aty, c, y, ax_hat, ax, lb, ub


def test_fused_bodies_equal_the_clip_form():
    rng = np.random.default_rng(0)
    x, aty, c, y, ax_hat, ax, lb, ub = _inputs(rng)
    eta, omega, k, gamma = 0.7, 1.3, 4.0, 1.0
    ufunc_ns = _fake_namespace(fuse=lambda fn: fn)  # "fusing" = the min/max bodies run as written
    tau, sigma = eta / omega, eta * omega
    primal = alg.elementwise(ufunc_ns, alg._primal_step)(x, aty, c, lb, ub, tau)
    np.testing.assert_allclose(primal, np.clip(x - tau * (c - aty), lb, ub), rtol=1e-15)
    dual = alg.elementwise(ufunc_ns, alg._dual_step)(y, ax_hat, ax, lb, ub, sigma, -sigma)
    v = y - sigma * (2.0 * ax_hat - ax)
    np.testing.assert_allclose(dual, v - np.clip(v, -sigma * ub, -sigma * lb), rtol=1e-15)
    w = (k + 1.0) / (k + 2.0)
    a, b, anchor = 2 * gamma * w, (1 - 2 * gamma) * w, 1 - w
    halpern = alg.elementwise(ufunc_ns, alg._halpern)(x, y, c, a, b, anchor)
    np.testing.assert_allclose(halpern, a * x + b * y + anchor * c, rtol=1e-15)


def test_fusion_failure_falls_back_with_a_warning():
    def broken_fuse(fn):
        def kernel(*args):
            raise TypeError("this body cannot be fused")

        return kernel

    ns = _fake_namespace(fuse=broken_fuse)
    rng = np.random.default_rng(1)
    x, aty, c, _, _, _, lb, ub = _inputs(rng)
    primal = alg.elementwise(ns, alg._primal_step)
    with pytest.warns(UserWarning, match="cupy.fuse failed"):
        first = primal(x, aty, c, lb, ub, 0.25)
    np.testing.assert_array_equal(first, np.clip(x - 0.25 * (c - aty), lb, ub))
    second = primal(x, aty, c, lb, ub, 0.25)  # no second warning: the plain body is kept
    np.testing.assert_array_equal(second, first)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_in_place_primal_step_equals_the_expression(dtype):
    """NumPy's in-place primal step is bitwise the expression it replaces, writes only into
    ``aty`` (the fresh product it is given), and takes 0-d (constant) bounds."""
    from scotopt.kernels import get_backend

    xp = get_backend("numpy").xp
    rng = np.random.default_rng(2)
    x, aty, c, _, _, _, lb, ub = (v.astype(dtype) for v in _inputs(rng, 200))
    step = alg.elementwise(xp, alg._primal_step)
    assert step.__qualname__.startswith("_primal_step_in_place")
    tau = np.asarray(0.37, dtype=dtype)
    copies = [v.copy() for v in (x, c, lb, ub)]
    product = aty.copy()
    out = step(x, product, c, lb, ub, tau)
    np.testing.assert_array_equal(out, np.clip(x - tau * (c - aty), lb, ub))
    assert out.dtype == dtype and out is product
    for before, after in zip(copies, (x, c, lb, ub), strict=True):
        np.testing.assert_array_equal(before, after)
    zero, cap = np.asarray(0.0, dtype=dtype), np.asarray(1.5, dtype=dtype)
    np.testing.assert_array_equal(step(x, aty.copy(), c, zero, cap, tau), np.clip(x - tau * (c - aty), zero, cap))


@pytest.mark.parametrize("n", [200, 3 * (1 << 16) + 5])
def test_in_place_halpern_equals_the_expression(n):
    """NumPy's in-place Halpern update (into the fresh T(z) vector, in blocks when long) is
    bitwise a*hat + b*current + anchor*start and leaves current and start alone."""
    from scotopt.kernels import get_backend

    xp = get_backend("numpy").xp
    rng = np.random.default_rng(3)
    hat, current, start = (rng.normal(size=n).astype(np.float32) for _ in range(3))
    a, b, anchor = (np.asarray(v, dtype=np.float32) for v in (1.6, -0.6, 0.2))
    expected = a * hat + b * current + anchor * start
    kept = current.copy(), start.copy()
    halpern = alg.elementwise(xp, alg._halpern)
    out = halpern(hat.copy(), current, start, a, b, anchor)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(kept[0], current)
    np.testing.assert_array_equal(kept[1], start)
