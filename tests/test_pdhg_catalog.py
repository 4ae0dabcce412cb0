"""PDHG on every catalog LP, on every backend, at eps = 1e-8 in float64.

Each instance has a hand-derived answer (tests/problems.py): the solver must report an
acceptable status, reach the known objective and, where the optimum is unique, the known
primal and dual vectors; infeasibility claims must come with rays that certify them.
"""

from __future__ import annotations

import numpy as np
import pytest

import scotopt
from scotopt.solvers import kkt
from scotopt.status import Status
from tests.problems import catalog

EPS = 1e-8
CATALOG = catalog()


@pytest.mark.parametrize("inst", CATALOG, ids=[inst.name for inst in CATALOG])
def test_catalog_instance(inst, backend):
    res = scotopt.solve(inst.lp, backend=backend, eps=EPS, iteration_limit=200_000)
    assert res.status in inst.acceptable_statuses, (res, inst.acceptable_statuses)
    assert res.backend == backend
    assert res.dtype == "float64"
    assert res.x.shape == (inst.lp.num_vars,) and res.y.shape == (inst.lp.num_rows,)
    if res.status == Status.OPTIMAL:
        assert res.success
        assert abs(res.fun - inst.objective) <= 1e-6 * max(1.0, abs(inst.objective)), (res.fun, inst.objective)
        assert res.kkt_error <= EPS
        # The reported measures are those of (x, y) on the original problem.
        report = kkt.kkt_report(inst.lp, res.x, res.y)
        assert report.max_relative <= EPS
        assert res.fun == pytest.approx(report.primal_objective, rel=1e-12, abs=1e-12)
        if inst.unique:
            np.testing.assert_allclose(res.x, inst.x_opt, rtol=0, atol=1e-5)
            np.testing.assert_allclose(res.y, inst.y_opt, rtol=0, atol=1e-5)
    elif res.status == Status.PRIMAL_INFEASIBLE:
        assert not res.success
        assert kkt.dual_ray_report(inst.lp, res.y).is_certificate(1e-8)
    elif res.status == Status.DUAL_INFEASIBLE:
        assert not res.success
        assert kkt.primal_ray_report(inst.lp, res.x).is_certificate(1e-8)
    else:  # pragma: no cover - acceptable_statuses only lists the three above
        pytest.fail(f"unexpected status {res.status!r}")
