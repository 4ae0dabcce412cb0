"""Infeasibility certificates must not pass on the magnitude of the data alone."""

from __future__ import annotations

import numpy as np

import scotopt
from scotopt.solvers.kkt import dual_ray_report
from scotopt.status import Status


def test_a_poor_ray_on_large_right_hand_sides_is_not_a_certificate():
    """x1 + x2 = 10^9, x >= 0 is feasible. y = 1 has objective 10^9 and residual -A^T y = (-1, -1)
    of the wrong sign for x >= 0 (infeasibility 1): a test relative to the objective alone,
    1 <= 1e-8 * 10^9, accepted it."""
    lp = scotopt.LP(c=[1.0, 2.0], A=np.array([[1.0, 1.0]]), con_lb=[1e9], con_ub=[1e9])
    report = dual_ray_report(lp, np.array([1.0]))
    assert report.objective == 1e9 and report.infeasibility == 1.0
    assert not report.is_certificate(1e-8)
    assert scotopt.solve(lp, eps=1e-6).status == Status.OPTIMAL


def test_a_true_ray_on_large_data_still_certifies():
    """x1 - x2 = 10^7 with x1 <= 1, x2 >= 0 is infeasible; y = (1, -1)-style rays are exact."""
    lp = scotopt.LP(c=[0.0, 0.0], A=np.array([[1.0, -1.0]]), con_lb=[1e7], con_ub=[1e7], var_ub=[1.0, np.inf])
    assert scotopt.solve(lp, eps=1e-6).status == Status.PRIMAL_INFEASIBLE
