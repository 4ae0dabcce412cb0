"""Supply-chain models built on scotopt's solvers: network flows and multi-echelon inventory
(matrix-free LPs), Lagrangian-relaxation applications, and truck loading (bounds and integer
load plans)."""

from scotopt.models.flow import FlowSolution, MinCostFlow, MultiCommodityFlow, MultiFlowSolution
from scotopt.models.inventory import InventorySolution, MultiEchelonInventory
from scotopt.models.newsvendor import BudgetNewsvendor
from scotopt.models.simulate import SimulationReport, simulate
from scotopt.models.truck import TruckLoading, TruckRelaxation
from scotopt.models.truck_plan import TruckPlan

__all__ = ["MinCostFlow", "MultiCommodityFlow", "FlowSolution", "MultiFlowSolution", "BudgetNewsvendor",
           "MultiEchelonInventory", "InventorySolution", "simulate", "SimulationReport",
           "TruckLoading", "TruckRelaxation", "TruckPlan"]
