"""Solver outcomes and the exceptions scotopt raises.

Algorithmic outcomes (optimal, infeasible, limits, numerical trouble, Ctrl-C) are *statuses*:
they never raise, they come back in :class:`scotopt.Result`. Exceptions are reserved for input
the solver cannot accept (:class:`InvalidProblemError`, :class:`InvalidOptionError`) and for the
opt-in :meth:`Result.raise_for_status`.

The numbering follows OR-Tools PDLP's ``TerminationReason`` so logs and scripts written for
PDLP read the same values.
"""

from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """Why a solve stopped (PDLP's ``TerminationReason`` numbering)."""

    UNSPECIFIED = 0
    OPTIMAL = 1
    PRIMAL_INFEASIBLE = 2
    DUAL_INFEASIBLE = 3
    TIME_LIMIT = 4
    ITERATION_LIMIT = 5
    NUMERICAL_ERROR = 7
    INTERRUPTED = 8

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Status.UNSPECIFIED: "no termination reason recorded",
    Status.OPTIMAL: "optimal: relative primal, dual and gap measures are all within eps "
    "(checked in float64 on the original problem)",
    Status.PRIMAL_INFEASIBLE: "primal infeasible: a Farkas ray (in Result.y / Result.reduced_costs) "
    "was verified on the original problem",
    Status.DUAL_INFEASIBLE: "dual infeasible (unbounded if primal feasible): a primal ray "
    "(in Result.x) with negative cost was verified on the original problem",
    Status.TIME_LIMIT: "time limit reached; x and y are the last iterate, not certified",
    Status.ITERATION_LIMIT: "iteration limit reached; x and y are the last iterate, not certified",
    Status.NUMERICAL_ERROR: "numerical error: iterates became non-finite; x and y are the last "
    "finite iterate",
    Status.INTERRUPTED: "interrupted (Ctrl-C); x and y are the last iterate, not certified",
}


class ScotoptError(Exception):
    """Base class of every exception scotopt raises on purpose."""


class InvalidProblemError(ScotoptError, ValueError):
    """The problem data cannot be solved as given (shapes, NaN, lb > ub, ...).

    The message names the offending array and index and says how to fix it.
    """


class InvalidOptionError(ScotoptError, ValueError):
    """A solver option is out of range or names something that does not exist."""


class BackendUnavailableError(ScotoptError, RuntimeError):
    """The requested backend (jax, cupy) is not installed or has no device."""


class InsufficientMemoryError(ScotoptError, MemoryError):
    """A problem would not fit in the memory available; raised before anything large is allocated.

    ``needed`` and ``available`` are the estimate and the limit in bytes.
    """

    def __init__(self, message: str, needed: int, available: int):
        super().__init__(message)
        self.needed = needed
        self.available = available


class SolveFailedError(ScotoptError, RuntimeError):
    """Raised by :meth:`Result.raise_for_status` when the status is not OPTIMAL."""

    def __init__(self, status: Status, message: str):
        super().__init__(f"{status.name}: {message}")
        self.status = status
