"""Multi-item newsvendor with a shared budget, solved by Lagrangian relaxation of the budget.

Items i = 1..N with normal demand D_i ~ N(mu_i, sigma_i^2), holding cost h_i per unit left
over, shortage penalty p_i per unit short, budget use c_i per unit ordered and an optional
purchase cost k_i per unit (0 by default); order quantities q_i >= 0 with a budget:

    min  sum_i [k_i q_i + h_i E(q_i - D_i)^+ + p_i E(D_i - q_i)^+]   s.t.  sum_i c_i q_i <= B.

Relaxing the budget with lam >= 0 leaves N independent newsvendors with unit cost k_i + lam c_i,
whose solution is the critical fractile (e.g. Zipkin 2000, section 6.2)

    q_i(lam) = max(0, mu_i + sigma_i z_i),   Phi(z_i) = (p_i - k_i - lam c_i) / (p_i + h_i),

computed for all items in one vectorised call. With the standard normal loss function
G(z) = phi(z) - z (1 - Phi(z)): E(D - q)^+ = sigma G(z), E(q - D)^+ = q - mu + sigma G(z). The
problem is convex, so the best Lagrangian bound is the optimum (strong duality); the heuristic
scales an over-budget order down onto the budget to give upper bounds.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from scotopt.solvers.lagrangian import LagrangianOptions, solve_lagrangian
from scotopt.status import InvalidProblemError

__all__ = ["BudgetNewsvendor", "ITEM_FIELDS", "newsvendor_item", "scenario_newsvendor_blocks",
           "scenario_newsvendor_factory"]

ITEM_FIELDS = ("mean", "std", "cost", "holding", "penalty", "purchase_cost")


def newsvendor_item(item, lam):
    """One item's subproblem at budget price ``lam[0]``, in JAX, for the batched oracles of
    :mod:`scotopt.distributed.batch` (``solve_one``): ``item`` maps :data:`ITEM_FIELDS` to scalars.
    Returns (q, k q + h E(q - D)^+ + p E(D - q)^+ + lam c q, [c q]), the formulas of
    :meth:`BudgetNewsvendor.orders` / :meth:`BudgetNewsvendor.expected_cost`; run it in float64
    (``jax.enable_x64``): in float32 the fractile's clip at 1 - 1e-16 rounds to 1."""
    import jax.numpy as jnp
    from jax.scipy.special import ndtr as jndtr
    from jax.scipy.special import ndtri as jndtri

    mean, std, cost = item["mean"], item["std"], item["cost"]
    holding, penalty, purchase = item["holding"], item["penalty"], item["purchase_cost"]
    fractile = (penalty - purchase - lam[0] * cost) / (penalty + holding)
    z = jndtri(jnp.clip(fractile, 1e-300, 1 - 1e-16))
    q = jnp.where(fractile <= 0, 0.0, jnp.maximum(0.0, mean + std * z))
    zq = (q - mean) / std
    short = std * (jnp.exp(-0.5 * zq**2) / jnp.sqrt(2 * jnp.pi) - zq * (1 - jndtr(zq)))
    spend = cost * q
    return q, purchase * q + holding * (q - mean + short) + penalty * short + lam[0] * spend, spend[None]


def scenario_newsvendor_blocks(num_scenarios: int = 6, products: int = 3, seed: int = 0,
                               curvature: tuple[float, float] | None = None):
    """A two-stage newsvendor with shared storage as scenario blocks for consensus ADMM.

    Order q_j (first stage, shared) before the demand d_sj of scenario s is known; in scenario s
    sell s_sj <= min(q_j, d_sj) and hold the rest. Per block, variables [q; sales] and

        min  sum_j (cost_j + holding_j) q_j - (price_j + holding_j) s_sj
             [+ 1/2 a sum_j q_j^2 + 1/2 b sum_j s_sj^2 when ``curvature`` = (a, b)]
        s.t. s_sj - q_j <= 0,  sum_j volume_j q_j <= capacity,  q >= 0,  0 <= s_sj <= d_sj,

    capacity = 0.8 volume' E[d]; seeded uniform data and random scenario probabilities. Returns
    ``(blocks, probabilities, num_shared)`` for
    :func:`scotopt.solvers.admm.consensus.solve_consensus` (LP blocks, or QP blocks with
    P_s = diag(a, .., a, b, .., b) when ``curvature`` is given).
    """
    make_block, probabilities, shared = scenario_newsvendor_factory(num_scenarios, products, seed, curvature)
    return [make_block(s) for s in range(num_scenarios)], probabilities, shared


def scenario_newsvendor_factory(num_scenarios: int = 6, products: int = 3, seed: int = 0,
                                curvature: tuple[float, float] | None = None):
    """:func:`scenario_newsvendor_blocks` as ``(make_block, probabilities, num_shared)``: ``make_block(s)``
    builds block s alone (the same block), for
    :func:`scotopt.distributed.consensus.solve_consensus_distributed`, where each process builds
    only its own blocks. The seeded scenario table (S x products demands) is drawn in full."""
    import scipy.sparse as sp

    from scotopt.problem import LP, QP

    rng = np.random.default_rng(seed)
    cost = rng.uniform(2, 4, products)
    price = cost + rng.uniform(1, 3, products)
    holding = rng.uniform(0.1, 0.5, products)
    volume = rng.uniform(1, 2, products)
    demand = rng.uniform(5, 20, (num_scenarios, products))
    capacity = 0.8 * volume @ demand.mean(axis=0)
    probabilities = rng.uniform(0.5, 1.5, num_scenarios)

    def make_block(s: int):
        if not 0 <= s < num_scenarios:
            raise InvalidProblemError(f"scenario {s} is not in 0..{num_scenarios - 1}")
        eye = sp.eye(products)
        A = sp.vstack([sp.hstack([-eye, eye]),
                       sp.hstack([sp.csr_matrix(volume), sp.csr_matrix((1, products))])]).tocsr()
        c = np.concatenate([cost + holding, -(price + holding)])
        row_lb, row_ub = np.full(products + 1, -np.inf), np.r_[np.zeros(products), capacity]
        var_ub = np.r_[np.full(products, np.inf), demand[s]]
        if curvature is None:
            return LP(c, A, row_lb, row_ub, np.zeros(2 * products), var_ub)
        P = sp.diags(np.r_[np.full(products, curvature[0]), np.full(products, curvature[1])]).tocsr()
        return QP(P, c, A, row_lb, row_ub, np.zeros(2 * products), var_ub)

    return make_block, probabilities / probabilities.sum(), products


class BudgetNewsvendor:
    """The model above from arrays (one entry per item) and a budget."""

    def __init__(self, mean, std, cost, holding, penalty, budget: float, purchase_cost=0.0):
        size = np.asarray(mean).reshape(-1).shape[0]
        purchase_cost = np.broadcast_to(np.asarray(purchase_cost, dtype=np.float64), (size,))
        arrays = [np.asarray(v, dtype=np.float64).reshape(-1)
                  for v in (mean, std, cost, holding, penalty, purchase_cost)]
        names = ("mean", "std", "cost", "holding", "penalty", "purchase_cost")
        for name, arr in zip(names, arrays, strict=True):
            if arr.shape != (size,):
                raise InvalidProblemError(f"{name} must have {size} entries like mean, got {arr.shape[0]}")
            if not np.all(np.isfinite(arr)):
                raise InvalidProblemError(f"{name} contains NaN or inf")
        self.mean, self.std, self.cost, self.holding, self.penalty, self.purchase_cost = arrays
        if (np.any(self.std <= 0) or np.any(self.cost <= 0) or np.any(self.holding < 0) or np.any(self.penalty <= 0)
                or np.any(self.purchase_cost < 0)):
            raise InvalidProblemError("std, cost and penalty must be positive, holding and purchase_cost non-negative")
        if not (np.isfinite(budget) and budget >= 0):
            raise InvalidProblemError(f"budget must be a non-negative number, got {budget!r}")
        self.budget = float(budget)

    @property
    def size(self) -> int:
        """The number of items."""
        return int(self.mean.shape[0])

    def items(self, indices) -> dict:
        """The data of items ``indices`` ({field: array}, fields :data:`ITEM_FIELDS`): ``make_data``
        for :func:`scotopt.distributed.batch.sharded_oracle_from_factory` with :func:`newsvendor_item`."""
        indices = np.asarray(indices)
        if indices.ndim != 1 or indices.dtype.kind not in "iu" or np.any((indices < 0) | (indices >= self.size)):
            raise InvalidProblemError(f"item indices must be integers in 0..{self.size - 1}, got {indices!r}")
        return {name: getattr(self, name)[indices] for name in ITEM_FIELDS}

    def expected_cost(self, q) -> np.ndarray:
        """Per-item expected cost k q + h E(q - D)^+ + p E(D - q)^+ of orders q."""
        z = (q - self.mean) / self.std
        loss = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi) - z * (1 - ndtr(z))
        short = self.std * loss
        return self.purchase_cost * q + self.holding * (q - self.mean + short) + self.penalty * short

    def orders(self, lam: float) -> np.ndarray:
        """q(lam): the critical-fractile orders at budget price lam, all items at once."""
        fractile = (self.penalty - self.purchase_cost - lam * self.cost) / (self.penalty + self.holding)
        z = ndtri(np.clip(fractile, 1e-300, 1 - 1e-16))
        return np.where(fractile <= 0, 0.0, np.maximum(0.0, self.mean + self.std * z))

    def oracle(self, lam):
        """(q, L(lam), subgradient) for the one relaxed row sum c q <= B."""
        q = self.orders(float(lam[0]))
        spend = float(self.cost @ q)
        value = float(self.expected_cost(q).sum()) + float(lam[0]) * (spend - self.budget)
        return q, value, np.array([spend - self.budget])

    def heuristic(self, lam, q, q_average):
        """A feasible order: q scaled down onto the budget if it overspends."""
        spend = float(self.cost @ q)
        feasible = q if spend <= self.budget else q * (self.budget / spend)
        return feasible, float(self.expected_cost(feasible).sum())

    def solve(self, method="volume", options: LagrangianOptions | None = None, verbose: bool = False):
        """Lagrangian relaxation of the budget; ``result.multipliers[0]`` is the budget's price."""
        return solve_lagrangian(self._oracle_with_residual(), "<=", 1, method=method, heuristic=self.heuristic,
                                options=options, verbose=verbose)

    def _oracle_with_residual(self):
        model = self

        def oracle(lam):
            return model.oracle(lam)

        oracle.residual = lambda q: np.array([float(model.cost @ q) - model.budget])
        return oracle
