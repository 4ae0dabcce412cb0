"""Lagrangian relaxation with batched subproblem oracles (``driver.py``)."""

from scotopt.solvers.lagrangian.driver import LagrangianOptions, LagrangianResult, solve_lagrangian

__all__ = ["LagrangianOptions", "LagrangianResult", "solve_lagrangian"]
