"""Solver options as frozen dataclasses: a solver reads them, never mutates them.

Defaults for PDHG follow the published cuPDLPx constants (Lu, Peng, Yang, arXiv 2507.14051,
and its ``docs/algorithm`` pages) unless a comment says why we measured better.
"""

from __future__ import annotations

import dataclasses
import math

from scotopt.status import InvalidOptionError


@dataclasses.dataclass(frozen=True)
class Termination:
    """When to stop.

    ``eps`` is PDLP's eps_abs = eps_rel: OPTIMAL iff the relative primal residual, relative dual
    residual and relative gap (ARCHITECTURE.md section 5) are all <= eps on the original
    problem. ``eps_infeasible`` bounds the ratio of a ray's violation to its objective
    (PDLP's ray tests).
    """

    eps: float = 1e-4
    eps_infeasible: float = 1e-8
    time_limit: float | None = None
    iteration_limit: int | None = None

    def __post_init__(self):
        _check_positive("eps", self.eps)
        _check_positive("eps_infeasible", self.eps_infeasible)
        if self.time_limit is not None:
            _check_positive("time_limit", self.time_limit)
        if self.iteration_limit is not None:
            if int(self.iteration_limit) != self.iteration_limit or self.iteration_limit < 0:
                raise InvalidOptionError(
                    f"iteration_limit must be a non-negative integer, got {self.iteration_limit!r}"
                )


@dataclasses.dataclass(frozen=True)
class PDHGOptions:
    """Restarted Halpern PDHG with reflection (r2HPDHG) and its preconditioner.

    Attributes mirror cuPDLPx's parameter names where one exists.
    """

    check_every: int = 64  # cuPDLPx checks every 200; small LPs converge in a few hundred
    # Off by default (the Ruiz + Pock-Chambolle recipe). cuPDLPx runs 12 passes; on our
    # 101-LP suite at 60 s that was a wash against OR-Tools PDLP: SGM ratio 1.22 (12 passes)
    # vs 1.17 (0) at 1e-4, and about 1.3 either way at 1e-8; it helps bore3d, lotfi, forplan and
    # hurts maros-r7, woodw, ganges, tuff (bench/README.md).
    geometric_mean_iterations: int = 0
    ruiz_iterations: int = 10
    pock_chambolle_alpha: float | None = 1.0  # None disables the Pock-Chambolle pass
    bound_objective_rescaling: bool = True
    step_size_safety: float = 0.998
    reflection: float = 1.0  # gamma: 1 = full reflection, 0.5 = plain Halpern
    restart_sufficient: float = 0.2
    restart_necessary: float = 0.5
    restart_artificial: float = 0.36
    pid_kp: float = 0.99
    pid_ki: float = 0.01
    pid_kd: float = 0.0
    pid_integral_decay: float = 0.3

    def __post_init__(self):
        if int(self.check_every) != self.check_every or self.check_every < 1:
            raise InvalidOptionError(f"check_every must be a positive integer, got {self.check_every!r}")
        if self.geometric_mean_iterations < 0:
            raise InvalidOptionError(
                f"geometric_mean_iterations must be >= 0, got {self.geometric_mean_iterations!r}")
        if self.ruiz_iterations < 0:
            raise InvalidOptionError(f"ruiz_iterations must be >= 0, got {self.ruiz_iterations!r}")
        if self.pock_chambolle_alpha is not None and not 0 <= self.pock_chambolle_alpha <= 2:
            raise InvalidOptionError(
                f"pock_chambolle_alpha must be in [0, 2] or None, got {self.pock_chambolle_alpha!r}"
            )
        if not 0 < self.step_size_safety < 1:
            raise InvalidOptionError(f"step_size_safety must be in (0, 1), got {self.step_size_safety!r}")
        if not 0.5 <= self.reflection <= 1:
            raise InvalidOptionError(f"reflection must be in [0.5, 1], got {self.reflection!r}")
        for name in ("restart_sufficient", "restart_necessary", "restart_artificial"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise InvalidOptionError(f"{name} must be in (0, 1), got {value!r}")


def _check_positive(name: str, value) -> None:
    try:
        ok = value > 0 and math.isfinite(value)
    except TypeError:
        ok = False
    if not ok:
        raise InvalidOptionError(f"{name} must be a positive finite number, got {value!r}")
