"""Supply-chain models built on scotopt's solvers."""

from scotopt.models.newsvendor import BudgetNewsvendor

__all__ = ["BudgetNewsvendor"]
