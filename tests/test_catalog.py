"""The test-problem catalog is right: hand-derived solutions satisfy KKT, HiGHS agrees, the
``unique`` flags are true, the hand-written rays certify, and the KKT / ray checks reject
wrong answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from scotopt.problem import LP
from scotopt.solvers.kkt import dual_ray_report, kkt_report, primal_ray_report
from scotopt.status import Status
from tests.problems import (
    ALL_KINDS,
    HIGHS_STATUS_TO_STATUS,
    RANDOM_SHAPES,
    _highs_lp,
    _infeasible_or_unbounded,
    _run_highs,
    catalog,
    catalog_by_name,
    highs_solve,
    random_lp_from_kkt,
)

CATALOG = catalog()
OPTIMAL = [inst for inst in CATALOG if inst.is_optimal]
UNIQUE = [inst for inst in OPTIMAL if inst.unique]
NOT_OPTIMAL = [inst for inst in CATALOG if not inst.is_optimal]


def _ids(instances):
    return [inst.name for inst in instances]


def _close(a, b, tol):
    return abs(a - b) <= tol * (1.0 + abs(b))


# --------------------------------------------------------------------------------------------
# Shape and coverage of the catalog.


def test_catalog_is_well_formed():
    names = _ids(CATALOG)
    assert len(names) == len(set(names)), "duplicate instance names"
    assert 12 <= len(CATALOG) <= 20
    for inst in CATALOG:
        m, n = inst.lp.shape
        assert 2 <= n <= 6, inst.name
        assert inst.acceptable_statuses[0] == inst.expected_status
        if inst.is_optimal:
            assert inst.x_opt.shape == (n,) and inst.y_opt.shape == (m,), inst.name
            assert inst.objective is not None
        else:
            assert inst.x_opt is None and inst.y_opt is None and inst.objective is None
            assert not inst.unique
    # catalog() hands out fresh LP objects.
    assert catalog()[0].lp is not CATALOG[0].lp


def test_catalog_covers_every_feature():
    """Each feature the catalog promises appears in at least one OPTIMAL instance."""
    seen = set()
    for inst in OPTIMAL:
        lp = inst.lp
        lb, ub, vlb, vub = lp.con_lb, lp.con_ub, lp.var_lb, lp.var_ub
        A = sp.csr_matrix(lp.A)
        ax = A @ inst.x_opt
        row_nnz = np.diff(A.indptr)
        col_nnz = np.diff(sp.csc_matrix(A).indptr)
        ranged = np.isfinite(lb) & np.isfinite(ub) & (lb < ub)
        checks = {
            "equality row": (lb == ub).any(),
            "<= row": (np.isneginf(lb) & np.isfinite(ub)).any(),
            ">= row": (np.isfinite(lb) & np.isposinf(ub)).any(),
            "ranged row at lower": (ranged & (ax == lb)).any(),
            "ranged row at upper": (ranged & (ax == ub)).any(),
            "free row": (np.isneginf(lb) & np.isposinf(ub)).any(),
            "empty row": (row_nnz == 0).any()
            and (lb[row_nnz == 0] <= 0).all()
            and (ub[row_nnz == 0] >= 0).all(),
            "empty column": (col_nnz == 0).any(),
            "free variable": (np.isneginf(vlb) & np.isposinf(vub)).any(),
            "fixed variable": (vlb == vub).any(),
            "lower-only variable": (np.isfinite(vlb) & np.isposinf(vub)).any(),
            "upper-only variable": (np.isneginf(vlb) & np.isfinite(vub)).any(),
            "boxed variable": (np.isfinite(vlb) & np.isfinite(vub) & (vlb < vub)).any(),
            "objective constant": lp.c0 != 0,
            "no rows": lp.num_rows == 0,
            "not unique": not inst.unique,
        }
        seen |= {name for name, hit in checks.items() if hit}
    missing = {
        "equality row",
        "<= row",
        ">= row",
        "ranged row at lower",
        "ranged row at upper",
        "free row",
        "empty row",
        "empty column",
        "free variable",
        "fixed variable",
        "lower-only variable",
        "upper-only variable",
        "boxed variable",
        "objective constant",
        "no rows",
        "not unique",
    } - seen
    assert not missing
    statuses = {s for inst in NOT_OPTIMAL for s in inst.acceptable_statuses}
    assert {Status.PRIMAL_INFEASIBLE, Status.DUAL_INFEASIBLE} <= statuses
    assert any(len(inst.acceptable_statuses) == 2 for inst in NOT_OPTIMAL)


# --------------------------------------------------------------------------------------------
# (a) the hand-derived optimal pairs satisfy KKT.


@pytest.mark.parametrize("inst", OPTIMAL, ids=_ids(OPTIMAL))
def test_known_solution_satisfies_kkt(inst):
    report = kkt_report(inst.lp, inst.x_opt, inst.y_opt)
    assert report.rel_primal <= 1e-12
    assert report.rel_dual <= 1e-12
    assert report.rel_gap <= 1e-12
    assert report.primal_objective == pytest.approx(inst.objective, abs=1e-12)
    assert report.dual_objective == pytest.approx(inst.objective, abs=1e-12)
    assert report.is_optimal(1e-12)


# --------------------------------------------------------------------------------------------
# (b) HiGHS agrees.


def test_highs_sign_convention():
    """HiGHS row_dual is our y and col_dual is c - A^T row_dual (minimisation), checked on an
    instance with y > 0 at a lower end, y < 0 at an upper end and reduced costs of both signs."""
    inst = catalog_by_name()["all_bound_kinds"]
    lp = inst.lp
    h = _run_highs(_highs_lp(lp))
    sol = h.getSolution()
    row_dual = np.array(sol.row_dual)
    col_dual = np.array(sol.col_dual)
    np.testing.assert_allclose(row_dual, inst.y_opt, atol=1e-12)
    np.testing.assert_allclose(col_dual, lp.c - lp.A.T @ row_dual, atol=1e-12)
    np.testing.assert_allclose(col_dual, [0, 1.5, 0, -2], atol=1e-12)
    # A <= row pushing on its upper end gets a negative HiGHS dual too.
    le = catalog_by_name()["le_rows"]
    assert (highs_solve(le.lp)[3] < 0).all()


@pytest.mark.parametrize("inst", CATALOG, ids=_ids(CATALOG))
def test_highs_agrees_with_catalog(inst):
    status, objective, x, y = highs_solve(inst.lp)
    assert HIGHS_STATUS_TO_STATUS.get(status) in inst.acceptable_statuses, status
    if not inst.is_optimal:
        return
    assert _close(objective, inst.objective, 1e-9)
    # Whatever optimum HiGHS picks must pass our KKT check (also validates the sign convention).
    assert kkt_report(inst.lp, x, y).max_relative <= 1e-9
    if inst.unique:
        np.testing.assert_allclose(x, inst.x_opt, atol=1e-9, rtol=0)
        np.testing.assert_allclose(y, inst.y_opt, atol=1e-9, rtol=0)


def test_highs_unbounded_or_infeasible_fallback():
    """HiGHS never says "unbounded or infeasible" on this catalog, so test the fallback directly."""
    by_name = catalog_by_name()
    assert _infeasible_or_unbounded(by_name["primal_infeasible"].lp) == "primal_infeasible"
    assert _infeasible_or_unbounded(by_name["dual_infeasible"].lp) == "dual_infeasible"
    assert _infeasible_or_unbounded(by_name["primal_and_dual_infeasible"].lp) == "primal_infeasible"


def _range_each(objective_lp_factory, k):
    """min and max of variable i for i < k over a polyhedron (via HiGHS)."""
    spreads = []
    for i in range(k):
        values = []
        for sign in (1.0, -1.0):
            status, _, sol, _ = highs_solve(objective_lp_factory(i, sign))
            assert status == "optimal", status
            values.append(sol[i])
        spreads.append(abs(values[0] - values[1]))
    return np.array(spreads)


def _primal_face_spread(inst):
    """How far each x_j can move over the optimal face {feasible x : c@x + c0 <= objective}."""
    lp = inst.lp
    A = sp.vstack([sp.csr_matrix(lp.A), sp.csr_matrix(lp.c.reshape(1, -1))])
    con_lb = np.append(lp.con_lb, -np.inf)
    con_ub = np.append(lp.con_ub, inst.objective - lp.c0)

    def make(j, sign):
        return LP(sign * np.eye(lp.num_vars)[j], A, con_lb, con_ub, lp.var_lb, lp.var_ub)

    return _range_each(make, lp.num_vars)


def _dual_face_spread(inst, tol=1e-9):
    """How far each y_i can move over the dual optimal face. Every dual optimum is
    complementary to the (verified) primal optimum x_opt, so the face is
    {(y, r): A^T y + r = c, y_i free / >= 0 / <= 0 / = 0 by which ends of row i are tight at x_opt,
    r_j likewise by which bounds of x_j are tight}."""
    lp = inst.lp
    m, n = lp.shape
    if m == 0:
        return np.zeros(0)
    ax = lp.A @ inst.x_opt
    x = inst.x_opt
    y_lo = np.where(np.abs(ax - lp.con_ub) <= tol, -np.inf, 0.0)
    y_hi = np.where(np.abs(ax - lp.con_lb) <= tol, np.inf, 0.0)
    r_lo = np.where(np.abs(x - lp.var_ub) <= tol, -np.inf, 0.0)
    r_hi = np.where(np.abs(x - lp.var_lb) <= tol, np.inf, 0.0)
    A = sp.hstack([sp.csr_matrix(lp.A).T, sp.identity(n)])

    def make(i, sign):
        cost = np.zeros(m + n)
        cost[i] = sign
        return LP(cost, A, lp.c, lp.c, np.concatenate([y_lo, r_lo]), np.concatenate([y_hi, r_hi]))

    return _range_each(make, m)


@pytest.mark.parametrize("inst", OPTIMAL, ids=_ids(OPTIMAL))
def test_unique_flag_is_true(inst):
    """``unique`` is True exactly when neither the primal nor the dual optimal face has width."""
    primal = _primal_face_spread(inst)
    dual = _dual_face_spread(inst)
    computed_unique = bool(np.all(primal <= 1e-6) and np.all(dual <= 1e-6))
    assert inst.unique == computed_unique, (primal, dual)
    if not inst.unique:  # the non-unique instances are clearly so, not borderline
        assert max(primal.max(initial=0), dual.max(initial=0)) >= 0.5


# --------------------------------------------------------------------------------------------
# (c) infeasible / unbounded instances and rays.


@pytest.mark.parametrize("inst", NOT_OPTIMAL, ids=_ids(NOT_OPTIMAL))
def test_hand_rays_are_certificates(inst):
    assert inst.dual_ray is not None or inst.primal_ray is not None
    if Status.PRIMAL_INFEASIBLE in inst.acceptable_statuses:
        assert inst.dual_ray is not None
    if Status.DUAL_INFEASIBLE in inst.acceptable_statuses:
        assert inst.primal_ray is not None
    if inst.dual_ray is not None:
        for scale in (1.0, 1e-3, 1e4):
            assert dual_ray_report(inst.lp, scale * inst.dual_ray).is_certificate(1e-9)
        # Negative checks: zero, the opposite ray.
        assert not dual_ray_report(inst.lp, np.zeros(inst.lp.num_rows)).is_certificate(1e-9)
        assert not dual_ray_report(inst.lp, -inst.dual_ray).is_certificate(1e-9)
    if inst.primal_ray is not None:
        for scale in (1.0, 1e-3, 1e4):
            assert primal_ray_report(inst.lp, scale * inst.primal_ray).is_certificate(1e-9)
        assert not primal_ray_report(inst.lp, np.zeros(inst.lp.num_vars)).is_certificate(1e-9)
        assert not primal_ray_report(inst.lp, -inst.primal_ray).is_certificate(1e-9)


def test_dual_ray_negative_checks():
    lp = catalog_by_name()["primal_infeasible"].lp
    # y_1 > 0 on a row with no finite lower bound: sign-infeasible.
    assert not dual_ray_report(lp, [1.0, 1.0]).is_certificate(1e-9)
    # Right signs but A^T y leaves a reduced cost the bounds cannot absorb: r = -A^T y = (-1, -1) < 0
    # against x <= +inf; and the objective is 2 - 3 < 0 anyway.
    assert not dual_ray_report(lp, [1.0, -3.0]).is_certificate(1e-9)
    # A slightly wrong ray on a problem with a free variable: the A^T y residual is caught.
    free = LP(c=[1, 1], A=[[1, 1], [1, 1.001]], con_lb=[1, -np.inf], con_ub=[np.inf, 0], var_lb=-np.inf)
    assert dual_ray_report(free, [1000.0, -1000.0]).objective > 0
    assert not dual_ray_report(free, [1000.0, -1000.0]).is_certificate(1e-9)
    assert dual_ray_report(
        LP(c=[1, 1], A=[[1, 1], [1, 1]], con_lb=[1, -np.inf], con_ub=[np.inf, 0], var_lb=-np.inf), [1, -1]
    ).is_certificate(1e-9)


def test_primal_ray_negative_checks():
    by_name = catalog_by_name()
    ge = by_name["ge_rows"].lp
    # Increasing x0 keeps every >= row satisfied: a feasible direction, but c@d = 5 > 0.
    assert primal_ray_report(ge, [1.0, 0, 0]).infeasibility == 0
    assert not primal_ray_report(ge, [1.0, 0, 0]).is_certificate(1e-9)
    unb = by_name["dual_infeasible"].lp
    # Cheap directions that leave the recession cone: A d = (1, -2) breaks row 0; d = (0, 1) breaks row 1.
    assert not primal_ray_report(unb, [1.0, 0]).is_certificate(1e-9)
    assert not primal_ray_report(unb, [0, 1.0]).is_certificate(1e-9)
    # A direction against a variable bound (x >= 0).
    assert not primal_ray_report(unb, [-1.0, -1.0]).is_certificate(1e-9)


@pytest.mark.parametrize("inst", OPTIMAL, ids=_ids(OPTIMAL))
def test_no_random_certificate_for_optimal_instances(inst):
    """Weak duality: a feasible bounded LP has no Farkas ray and no improving ray."""
    rng = np.random.default_rng(7)
    m, n = inst.lp.shape
    for _ in range(50):
        if m:
            assert not dual_ray_report(inst.lp, rng.normal(size=m)).is_certificate(1e-9)
        assert not primal_ray_report(inst.lp, rng.normal(size=n)).is_certificate(1e-9)


def test_no_random_farkas_ray_for_unbounded_instance():
    lp = catalog_by_name()["dual_infeasible"].lp  # primal feasible (x = 0)
    rng = np.random.default_rng(3)
    for _ in range(50):
        assert not dual_ray_report(lp, rng.normal(size=2)).is_certificate(1e-9)


# --------------------------------------------------------------------------------------------
# (d) random LPs built around a KKT point.

SEEDS = (0, 1, 2)


@pytest.mark.parametrize("shape", RANDOM_SHAPES, ids=[f"{m}x{n}@{d}" for m, n, d in RANDOM_SHAPES])
@pytest.mark.parametrize("seed", SEEDS)
def test_random_kkt_lp(shape, seed):
    rng = np.random.default_rng(seed)
    lp, x, y = random_lp_from_kkt(rng, *shape)
    report = kkt_report(lp, x, y)
    assert report.max_relative <= 1e-10
    status, objective, hx, hy = highs_solve(lp)
    assert status == "optimal"
    p = lp.objective(x)
    assert abs(objective - p) <= 1e-9 * max(1.0, abs(p))
    assert kkt_report(lp, hx, hy).max_relative <= 1e-8


@pytest.mark.parametrize(
    "kinds",
    [
        ("eq", "free"),
        ("ranged", "boxed"),
        ("ge", "le", "lower", "upper"),
        ("eq", "ranged", "fixed", "free"),
        ALL_KINDS,
    ],
    ids=lambda k: "+".join(k),
)
def test_random_kkt_kinds(kinds):
    rng = np.random.default_rng(11)
    for m, n, density in ((8, 12, 0.4), (12, 8, 0.4)):
        lp, x, y = random_lp_from_kkt(rng, m, n, density, kinds=kinds)
        assert kkt_report(lp, x, y).max_relative <= 1e-10
        status, objective, _, _ = highs_solve(lp)
        assert status == "optimal"
        assert abs(objective - lp.objective(x)) <= 1e-9 * max(1.0, abs(lp.objective(x)))
        lb, ub, vlb, vub = lp.con_lb, lp.con_ub, lp.var_lb, lp.var_ub
        if set(kinds) == {"ranged", "boxed"}:
            assert np.isfinite(lb).all() and np.isfinite(ub).all() and (lb < ub).all()
            assert np.isfinite(vlb).all() and np.isfinite(vub).all() and (vlb < vub).all()
        if set(kinds) == {"eq", "free"}:
            assert (lb == ub).all() and np.isneginf(vlb).all() and np.isposinf(vub).all()


def test_random_kkt_default_kinds_hit_every_case():
    """Over a few draws the generator produces every row/variable kind and state."""
    rng = np.random.default_rng(5)
    seen = set()
    for _ in range(5):
        lp, x, y = random_lp_from_kkt(rng, 20, 20, 0.3)
        ax = lp.A @ x
        lb, ub, vlb, vub = lp.con_lb, lp.con_ub, lp.var_lb, lp.var_ub
        ranged = np.isfinite(lb) & np.isfinite(ub) & (lb < ub)
        boxed = np.isfinite(vlb) & np.isfinite(vub) & (vlb < vub)
        r = kkt_report(lp, x, y).reduced_costs
        flags = {
            "ranged at lb": (ranged & (ax == lb) & (y > 0)).any(),
            "ranged at ub": (ranged & (ax == ub) & (y < 0)).any(),
            "ranged slack": (ranged & (ax > lb) & (ax < ub) & (y == 0)).any(),
            "equality": (lb == ub).any(),
            "free row": (np.isneginf(lb) & np.isposinf(ub)).any(),
            "free var": (np.isneginf(vlb) & np.isposinf(vub)).any(),
            "fixed var": (vlb == vub).any(),
            "boxed at lb": (boxed & (x == vlb) & (r > 0)).any(),
            "boxed at ub": (boxed & (x == vub) & (r < 0)).any(),
            "boxed between": (boxed & (x > vlb) & (x < vub)).any(),
        }
        seen |= {k for k, v in flags.items() if v}
    assert len(seen) == 10, seen


def test_random_kkt_rejects_unknown_kinds():
    with pytest.raises(ValueError):
        random_lp_from_kkt(np.random.default_rng(0), 3, 3, 0.5, kinds=("eq", "bogus"))
    with pytest.raises(ValueError):
        random_lp_from_kkt(np.random.default_rng(0), 3, 3, 0.5, kinds=("eq",))


# --------------------------------------------------------------------------------------------
# (e) kkt_report notices wrong answers.


@pytest.mark.parametrize("inst", UNIQUE, ids=_ids(UNIQUE))
def test_kkt_rejects_perturbed_unique_solutions(inst):
    """With a unique optimum, any other x fails primal feasibility or the gap, and any other y
    fails dual feasibility or the gap."""
    rng = np.random.default_rng(1)
    lp = inst.lp
    for _ in range(20):
        dx = 1e-3 * rng.normal(size=lp.num_vars)
        rep = kkt_report(lp, inst.x_opt + dx, inst.y_opt)
        assert max(rep.rel_primal, rep.rel_gap) > 1e-8
        if lp.num_rows:
            dy = 1e-3 * rng.normal(size=lp.num_rows)
            rep = kkt_report(lp, inst.x_opt, inst.y_opt + dy)
            assert max(rep.rel_dual, rep.rel_gap) > 1e-8


@pytest.mark.parametrize("inst", OPTIMAL, ids=_ids(OPTIMAL))
def test_kkt_rejects_targeted_errors(inst):
    lp = inst.lp
    x, y = inst.x_opt, inst.y_opt
    # Push a variable sitting at a finite bound out of its box.
    for j in range(lp.num_vars):
        for bound, step in ((lp.var_lb[j], -0.5), (lp.var_ub[j], 0.5)):
            if np.isfinite(bound) and x[j] == bound:
                bad = x.copy()
                bad[j] += step
                assert kkt_report(lp, bad, y).rel_primal > 1e-3
    # Push a tight row out of its bounds (move along the row direction).
    A = sp.csr_matrix(lp.A)
    for i in range(lp.num_rows):
        row = A.getrow(i).toarray().ravel()
        if not row.any():
            continue
        direction = row / (row @ row)
        ax = row @ x
        if np.isfinite(lp.con_ub[i]) and ax == lp.con_ub[i]:
            assert kkt_report(lp, x + 0.5 * direction, y).rel_primal > 1e-3
        if np.isfinite(lp.con_lb[i]) and ax == lp.con_lb[i]:
            assert kkt_report(lp, x - 0.5 * direction, y).rel_primal > 1e-3
    # Flip the sign of a nonzero inequality dual: sign-infeasible on a one-sided row; on a ranged
    # row the new sign is allowed but the dual objective then uses the other (slack) end.
    for i in range(lp.num_rows):
        if y[i] != 0 and lp.con_lb[i] != lp.con_ub[i]:
            bad = y.copy()
            bad[i] = -bad[i]
            rep = kkt_report(lp, x, bad)
            if np.isfinite(lp.con_lb[i]) and np.isfinite(lp.con_ub[i]):
                assert max(rep.rel_dual, rep.rel_gap) > 1e-3
            else:
                assert rep.rel_dual > 1e-3
    # A dual on a row that is slack at x_opt: either sign-infeasible or it opens a gap.
    ax = lp.A @ x
    for i in range(lp.num_rows):
        if ax[i] != lp.con_lb[i] and ax[i] != lp.con_ub[i]:
            for val in (0.5, -0.5):
                bad = y.copy()
                bad[i] += val
                rep = kkt_report(lp, x, bad)
                assert max(rep.rel_dual, rep.rel_gap) > 1e-3


@pytest.mark.parametrize("seed", SEEDS)
def test_kkt_rejects_perturbed_random(seed):
    rng = np.random.default_rng(100 + seed)
    lp, x, y = random_lp_from_kkt(rng, 12, 10, 0.4)
    assert kkt_report(lp, x, y).is_optimal(1e-10)
    at_bound = np.flatnonzero(np.isfinite(lp.var_lb) & (x == lp.var_lb))
    if at_bound.size:
        bad = x.copy()
        bad[at_bound[0]] -= 1.0
        assert kkt_report(lp, bad, y).rel_primal > 1e-3
    one_sided = np.isfinite(lp.con_lb) != np.isfinite(lp.con_ub)
    active = np.flatnonzero((y != 0) & one_sided)
    if active.size:
        bad = y.copy()
        bad[active[0]] *= -1
        assert kkt_report(lp, x, bad).rel_dual > 1e-3
    # Scaling the whole dual moves the dual objective off the primal one (or breaks signs).
    rep = kkt_report(lp, x, 1.5 * y)
    assert max(rep.rel_dual, rep.rel_gap) > 1e-6
