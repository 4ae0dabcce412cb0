"""scotopt: GPU-ready first-order solvers for very large supply-chain optimization problems.

Re-exports only; importing scotopt never imports jax or cupy.
"""

from scotopt.options import PDHGOptions, Termination
from scotopt.problem import LP, QP
from scotopt.result import Result
from scotopt.solvers.api import solve
from scotopt.status import (
    BackendUnavailableError,
    InsufficientMemoryError,
    InvalidOptionError,
    InvalidProblemError,
    ScotoptError,
    SolveFailedError,
    Status,
)

__version__ = "0.1.0"

__all__ = [
    "LP", "QP", "Result", "Status", "solve", "PDHGOptions", "Termination",
    "ScotoptError", "InvalidProblemError", "InvalidOptionError", "BackendUnavailableError", "SolveFailedError",
    "InsufficientMemoryError",
]
