"""Solver options as frozen dataclasses: a solver reads them, never mutates them.

Defaults for PDHG follow the published cuPDLPx constants (Lu, Peng, Yang, arXiv 2507.14051,
and its ``docs/algorithm`` pages) unless a comment says why we measured better.
"""

from __future__ import annotations

import dataclasses
import math

from scotopt.status import InvalidOptionError


def _option(default, help_text: str):
    """A dataclass field whose help text the command line shows (``scotopt solve --help``)."""
    return dataclasses.field(default=default, metadata={"help": help_text})


@dataclasses.dataclass(frozen=True)
class Termination:
    """When to stop.

    ``eps`` is PDLP's eps_abs = eps_rel: OPTIMAL iff the relative primal residual, relative dual
    residual and relative gap (ARCHITECTURE.md section 5) are all <= eps on the original
    problem. ``eps_infeasible`` bounds the ratio of a ray's violation to its objective
    (PDLP's ray tests).
    """

    eps: float = _option(1e-4, "relative KKT tolerance: OPTIMAL when primal, dual residual and gap are all <= eps")
    eps_infeasible: float = _option(1e-8, "tolerance of the infeasibility (ray) certificates")
    time_limit: float | None = _option(None, "wall-clock limit in seconds (default: none)")
    iteration_limit: int | None = _option(None, "iteration limit (default: none)")

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

    # cuPDLPx checks every 200; small LPs converge in a few hundred
    check_every: int = _option(64, "iterations between convergence and restart checks")
    # Two passes before the Ruiz + Pock-Chambolle recipe. cuPDLPx runs 12; on our 101-LP
    # suite at 60 s that was a wash against OR-Tools PDLP (SGM ratio 1.22 with 12 passes vs 1.17
    # with none at 1e-4). Few passes keep most of the gain and little of the harm: on all of
    # Netlib at 1e-4 (one process, CPU s, 60 s cap) the SGM fell 14 % with 2 passes and 15 % with
    # 4, solving the same 77 LPs; 2 passes have the milder worst cases (woodw 2.4x, brandy 2.3x
    # slower; ganges took 34x the iterations with 4) against bore3d 8.7x, pilot.we 6.5x, agg 4.8x
    # faster (bench/README.md, "Two geometric-mean passes").
    geometric_mean_iterations: int = _option(2, "passes of geometric-mean scaling before Ruiz (cuPDLPx uses 12)")
    ruiz_iterations: int = _option(10, "passes of Ruiz (infinity-norm) equilibration")
    pock_chambolle_alpha: float | None = _option(1.0, "Pock-Chambolle scaling exponent in [0, 2]; none disables it")
    bound_objective_rescaling: bool = _option(True, "rescale so that the bounds and the objective have unit norm")
    step_size_safety: float = _option(0.998, "step size as a fraction of 1 / ||A||_2")
    reflection: float = _option(1.0, "Halpern reflection gamma: 1 = full reflection, 0.5 = plain Halpern")
    restart_sufficient: float = _option(0.2, "restart when the fixed-point residual fell by this factor")
    restart_necessary: float = _option(0.5, "restart when it fell by this factor and stopped decreasing")
    restart_artificial: float = _option(0.36, "restart when this fraction of all iterations passed since the last one")
    pid_kp: float = _option(0.99, "primal-weight PID controller: proportional gain")
    pid_ki: float = _option(0.01, "primal-weight PID controller: integral gain")
    pid_kd: float = _option(0.0, "primal-weight PID controller: derivative gain")
    pid_integral_decay: float = _option(0.3, "primal-weight PID controller: decay of the integral term")
    screening: bool = _option(True, "skip the arcs that provably stay at zero (network flows, one commodity or "
                              "several with coupling rows, on NumPy with numba; the same iterates)")

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


LINEAR_SOLVERS = ("auto", "direct", "pcg")


@dataclasses.dataclass(frozen=True)
class ADMMOptions:
    """OSQP-style ADMM (Stellato, Banjac, Goulart, Bemporad, Boyd 2020) and its linear solves.

    Defaults are OSQP's (``osqp_api_constants.h``) unless a comment says otherwise.
    """

    rho: float = _option(0.1, "initial step size rho of the inequality rows")
    sigma: float = _option(1e-6, "proximal weight sigma on x")
    alpha: float = _option(1.6, "over-relaxation alpha in (0, 2)")
    rho_equality_scale: float = _option(1e3, "rho of an equality row = rho * this")
    rho_min: float = _option(1e-6, "smallest rho (also the rho of free rows)")
    rho_max: float = _option(1e6, "largest rho")
    adaptive_rho: bool = _option(True, "adapt rho to balance primal and dual residuals")
    adaptive_rho_tolerance: float = _option(5.0, "change rho only if the new value differs by this factor")
    ruiz_iterations: int = _option(10, "passes of Ruiz scaling of the KKT matrix")
    check_every: int = _option(25, "iterations between convergence checks and rho updates")
    linear_solver: str = _option("auto", "auto, direct (sparse LU, numpy only) or pcg (matrix-free)")
    # a random bipartite 10^5-arc transport QP (8e5 KKT nonzeros) filled to 9e7 in 190 s
    direct_max_nonzeros: int = _option(300_000, "auto uses the direct solver up to this many KKT nonzeros")
    cg_max_iterations: int = _option(200, "PCG iterations per ADMM iteration at most")
    cg_tolerance_fraction: float = _option(1e-3, "PCG relative tolerance = this * the last relative KKT error")
    cg_tolerance_min: float = _option(1e-12, "smallest PCG relative tolerance")

    def __post_init__(self):
        for name in ("rho", "sigma", "rho_equality_scale", "rho_min", "rho_max", "adaptive_rho_tolerance",
                     "cg_tolerance_fraction", "cg_tolerance_min"):
            _check_positive(name, getattr(self, name))
        if not 0 < self.alpha < 2:
            raise InvalidOptionError(f"alpha must be in (0, 2), got {self.alpha!r}")
        if self.rho_min > self.rho_max:
            raise InvalidOptionError(f"rho_min {self.rho_min} exceeds rho_max {self.rho_max}")
        for name in ("check_every", "cg_max_iterations", "direct_max_nonzeros"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise InvalidOptionError(f"{name} must be a positive integer, got {value!r}")
        if self.ruiz_iterations < 0:
            raise InvalidOptionError(f"ruiz_iterations must be >= 0, got {self.ruiz_iterations!r}")
        if self.linear_solver not in LINEAR_SOLVERS:
            raise InvalidOptionError(f"linear_solver must be one of {', '.join(LINEAR_SOLVERS)}, "
                                     f"got {self.linear_solver!r}")
