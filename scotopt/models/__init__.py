"""Structured models whose LPs use matrix-free operators (network flows)."""

from scotopt.models.flow import FlowSolution, MinCostFlow, MultiCommodityFlow, MultiFlowSolution

__all__ = ["MinCostFlow", "MultiCommodityFlow", "FlowSolution", "MultiFlowSolution"]
