"""Supply-chain models built on scotopt's solvers: network flows (matrix-free LPs) and
Lagrangian-relaxation applications."""

from scotopt.models.flow import FlowSolution, MinCostFlow, MultiCommodityFlow, MultiFlowSolution
from scotopt.models.newsvendor import BudgetNewsvendor

__all__ = ["MinCostFlow", "MultiCommodityFlow", "FlowSolution", "MultiFlowSolution", "BudgetNewsvendor"]
