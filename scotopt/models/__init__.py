"""Supply-chain models built on scotopt's solvers: network flows and multi-echelon inventory
(matrix-free LPs) and Lagrangian-relaxation applications."""

from scotopt.models.flow import FlowSolution, MinCostFlow, MultiCommodityFlow, MultiFlowSolution
from scotopt.models.inventory import InventorySolution, MultiEchelonInventory
from scotopt.models.newsvendor import BudgetNewsvendor
from scotopt.models.simulate import SimulationReport, simulate

__all__ = ["MinCostFlow", "MultiCommodityFlow", "FlowSolution", "MultiFlowSolution", "BudgetNewsvendor",
           "MultiEchelonInventory", "InventorySolution", "simulate", "SimulationReport"]
