"""Inventory model instances: the Willems (2008) chains and a seeded distribution-network generator.

Willems chains (:func:`willems_model`)
--------------------------------------
Each stage becomes a node holding its own item (P = 1) and gets one lane: its replenishment,
delivering after the stage's lead time and consuming ``qty`` units of every upstream stage
(the bill of materials), or from an external supplier when it has none. Time is bucketed into
periods of ``period_days`` days (default: the smallest whole number of days that makes the
longest cumulative lead time at most ``max_lead_periods`` periods); lead times are rounded to
whole periods. Per period and demand stage, demand is ``max(0, N(mu d, sigma^2 d))`` with ``d =
period_days``, sampled with a seed. Costs follow the guaranteed-service convention of the data
set: the holding cost is ``holding_rate * cumulative cost * d`` (the cumulative cost adds the
stage's ``cost_rate`` to its inputs'), the backorder cost at a demand stage makes the
newsvendor ratio equal the stage's service level, ``b / (b + h) = Phi(z)``. The system starts
with one period of mean throughput on hand at every stage and its pipeline full of mean flow
(``in_transit`` in the first ``lead`` periods), so the plan is not dominated by a cold start.
Shipping costs are 0 (value added is a sunk cost in this data set; holding captures it).

Distribution network (:func:`distribution_network`)
---------------------------------------------------
``dcs`` distribution centres replenished by an external supplier (lead 2) and each serving
``stores_per_dc`` stores (lead 1), ``products`` products, normal demand at the stores; storage
capacity at every node, expediting at the stores. Built with array operations only, from 10^3
to 10^8+ variables (``2 S T N P`` second-stage variables plus expediting at stores).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy import special

from scotopt.io.willems import WillemsChain, read_willems, willems_path
from scotopt.models.demand import normal_scenarios
from scotopt.models.inventory import MultiEchelonInventory

__all__ = ["willems_model", "distribution_network", "network_with_variables"]


def _longest_lead(chain: WillemsChain, lead) -> np.ndarray:
    """Cumulative lead time of each stage: its own plus the longest over its inputs."""
    total = np.asarray(lead, dtype=np.float64).copy()
    for j in chain.topological_order():
        into = chain.arc_to == j
        if into.any():
            total[j] += float(total[chain.arc_from[into]].max())
    return total


def _throughput(chain: WillemsChain) -> np.ndarray:
    """Mean units per day through each stage: its demand plus what its downstream stages draw."""
    rate = chain.demand_mean.astype(np.float64).copy()
    for j in reversed(chain.topological_order()):  # downstream before upstream
        out = chain.arc_from == j
        rate[j] += float(np.sum(chain.arc_qty[out] * rate[chain.arc_to[out]]))
    return rate


def willems_model(chain, num_scenarios: int = 20, period_days: int | None = None, max_lead_periods: int = 8,
                  extra_periods: int = 4, holding_rate: float = 0.25 / 365, seed=0,
                  data_dir=None) -> MultiEchelonInventory:
    """A :class:`MultiEchelonInventory` for Willems chain ``chain`` (1..38, a path or a
    :class:`WillemsChain`); see the module docstring."""
    if not isinstance(chain, WillemsChain):
        chain = read_willems(chain if not isinstance(chain, int) else willems_path(chain, data_dir))
    n = chain.num_stages
    if period_days is None:
        period_days = max(1, math.ceil(_longest_lead(chain, chain.lead_time).max() / max_lead_periods))
    lead = np.rint(chain.lead_time / period_days).astype(np.int64)
    periods = int(_longest_lead(chain, lead).max()) + extra_periods
    inputs = sp.csr_matrix((chain.arc_qty, (chain.arc_from, chain.arc_to)), shape=(n, n))
    mean = np.zeros((periods, n, 1))
    std = np.zeros((periods, n, 1))
    mean[:, :, 0] = chain.demand_mean * period_days
    std[:, :, 0] = chain.demand_std * math.sqrt(period_days)
    demand = normal_scenarios(mean, std, num_scenarios, seed=seed)
    holding = holding_rate * chain.cumulative_cost() * period_days
    level = np.where(np.isnan(chain.service_z), 0.5, special.ndtr(np.nan_to_num(chain.service_z)))
    backorder = holding * level / (1.0 - level)
    flow = _throughput(chain) * period_days
    in_transit = np.where(np.arange(periods)[:, None] < lead[None, :], flow[None, :], 0.0)[..., None]
    return MultiEchelonInventory(
        lane_target=np.arange(n), lane_lead_time=lead, lane_inputs=inputs, demand=demand,
        holding_cost=holding[None, :, None], backorder_cost=backorder[None, :, None],
        initial_inventory=flow[:, None], in_transit=in_transit, name=chain.name,
    )


def distribution_network(dcs: int, stores_per_dc: int, products: int, periods: int, scenarios: int, seed=0,
                         storage: bool = True, expediting: bool = True, cv: float = 0.3) -> MultiEchelonInventory:
    """A seeded two-echelon distribution network (see the module docstring)."""
    rng = np.random.default_rng(seed)
    stores = dcs * stores_per_dc
    n = dcs + stores
    dc_of_store = np.repeat(np.arange(dcs), stores_per_dc)
    # lanes: supplier -> DC (lead 2), DC -> store (lead 1)
    source = np.concatenate([np.full(dcs, -1), dc_of_store])
    target = np.concatenate([np.arange(dcs), dcs + np.arange(stores)])
    lead = np.concatenate([np.full(dcs, 2), np.ones(stores, dtype=np.int64)])
    value = rng.uniform(1.0, 10.0, products)
    store_mean = rng.lognormal(2.0, 0.7, (stores, products))
    mean = np.zeros((periods, n, products))
    mean[:, dcs:] = store_mean
    std = cv * mean
    demand = normal_scenarios(mean, std, scenarios, seed=rng)
    holding = np.empty((n, products))
    holding[:dcs] = 0.1 * value
    holding[dcs:] = 0.2 * value
    backorder = np.zeros((n, products))
    backorder[dcs:] = 9.0 * 0.2 * value
    volume = rng.uniform(0.5, 2.0, products)
    capacity = None
    if storage:
        per_store = 1.5 * (store_mean * volume).sum(axis=1)
        per_dc = np.bincount(dc_of_store, per_store, minlength=dcs) * 2.0
        capacity = np.concatenate([per_dc, per_store])
    expedite = None
    if expediting:
        expedite = np.full((n, products), np.inf)
        expedite[dcs:] = 3.0 * 0.2 * value * 4
    lane_cost = np.concatenate([np.full(dcs, 0.05), np.full(stores, 0.02)])[:, None] * value[None, :]
    initial = np.zeros((n, products))
    initial[dcs:] = store_mean
    initial[:dcs] = 2.0 * np.add.reduceat(store_mean, np.arange(0, stores, stores_per_dc), axis=0)
    return MultiEchelonInventory(
        lane_target=target, lane_lead_time=lead, lane_source=source, demand=demand,
        holding_cost=holding, backorder_cost=backorder, lane_cost=lane_cost, expedite_cost=expedite,
        volume=volume, storage_capacity=capacity, initial_inventory=initial,
        name=f"distribution-{dcs}x{stores_per_dc}x{products}-T{periods}-S{scenarios}",
    )


def network_with_variables(variables: float, seed=0) -> MultiEchelonInventory:
    """A :func:`distribution_network` with about ``variables`` LP variables (3 S T N P + T L P):
    10 products, 12 periods, 10 stores per DC; scenarios (up to 1000) and DCs grow with the size."""
    products, periods, stores_per_dc = 10, 12, 10
    cells = variables / 3 / (products * periods)  # scenarios x nodes
    scenarios = int(max(4, min(1000, round(math.sqrt(cells / 11) * 2))))
    dcs = max(1, round(cells / scenarios / (1 + stores_per_dc)))
    return distribution_network(dcs=dcs, stores_per_dc=stores_per_dc, products=products, periods=periods,
                                scenarios=scenarios, seed=seed)
