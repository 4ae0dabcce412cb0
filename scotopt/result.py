"""The result of a solve: host arrays, convergence information, scipy-style aliases."""

from __future__ import annotations

import dataclasses

import numpy as np

from scotopt.status import SolveFailedError, Status


@dataclasses.dataclass
class Result:
    """What a solver returns; every array is a host NumPy float64 array.

    Meaning of ``x`` and ``y`` by status:

    - OPTIMAL: an approximate primal-dual optimum, KKT-checked within ``eps`` in float64 on the
      original problem.
    - PRIMAL_INFEASIBLE: ``y`` is a Farkas ray (with ``reduced_costs`` its bound part) verified
      on the original problem; ``x`` is the last primal iterate.
    - DUAL_INFEASIBLE: ``x`` is a primal ray d (c@d < 0, A d in the recession cone of the row
      bounds) verified on the original problem; ``y`` is the last dual iterate.
    - TIME_LIMIT / ITERATION_LIMIT / INTERRUPTED: the last iterate, not certified.
    - NUMERICAL_ERROR: an earlier iterate whose values were all finite, not certified (PDHG:
      its last restart point, or the starting point if it never restarted).

    The relative measures are those of ARCHITECTURE.md section 5 for (x, y), evaluated in
    float64 on the original problem whatever the status.
    """

    x: np.ndarray
    y: np.ndarray
    reduced_costs: np.ndarray
    status: Status
    primal_objective: float
    dual_objective: float
    rel_primal: float
    rel_dual: float
    rel_gap: float
    max_primal_violation: float
    max_dual_violation: float
    iterations: int
    solve_time: float
    backend: str
    device: str
    dtype: str
    method: str = "pdhg"
    eps: float = float("nan")
    restarts: int = 0
    setup_time: float = 0.0
    extra: dict = dataclasses.field(default_factory=dict)

    # scipy.optimize.OptimizeResult-style aliases
    @property
    def fun(self) -> float:
        return self.primal_objective

    @property
    def nit(self) -> int:
        return self.iterations

    @property
    def success(self) -> bool:
        return self.status == Status.OPTIMAL

    @property
    def message(self) -> str:
        return self.status.message

    @property
    def kkt_error(self) -> float:
        """max(rel_primal, rel_dual, rel_gap)."""
        return max(self.rel_primal, self.rel_dual, self.rel_gap)

    def raise_for_status(self) -> Result:
        """Raise :class:`SolveFailedError` unless the status is OPTIMAL; return self otherwise."""
        if self.status != Status.OPTIMAL:
            raise SolveFailedError(self.status, self.message)
        return self

    def summary(self) -> dict:
        """Everything except the vectors, as plain Python values (JSON-ready)."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                continue
            if isinstance(value, Status):
                value = value.name
            out[field.name] = value
        out["success"] = self.success
        out["message"] = self.message
        return out

    def __repr__(self) -> str:
        return (
            f"Result(status={self.status.name}, fun={self.primal_objective:.10g}, "
            f"dual={self.dual_objective:.10g}, kkt=({self.rel_primal:.1e}, {self.rel_dual:.1e}, "
            f"{self.rel_gap:.1e}), nit={self.iterations}, time={self.solve_time:.3f}s, "
            f"backend={self.backend}/{self.device}/{self.dtype})"
        )
