"""Lagrangian bound for truck loading: relax "each shipment once", solve one knapsack per departure.

With multipliers u_i (free: the rows are equalities) on the assignment rows
``sum_{k=(i,.)} x_k + z_i = 1`` of the model in :mod:`scotopt.models.truck`,

    L(u) = -sum_i u_i + sum_i min(0, f_i + u_i) + sum_d h_d(u),
    h_d(u) = min { F_d y + sum_{k in d} (c_k + u_i) x_k :  sum s^w_k x_k <= y,  sum s^v_k x_k <= y,
                   0 <= x_k <= 1,  x_k <= y,  y in {0, 1, .., M_d} }

(s^w_k = w_i / W_d, s^v_k = v_i / V_d: the shipment's share of a truck). Every L(u) is a lower
bound on the integer optimum (weak duality), and ``g_i = sum_k x_k + z_i - 1`` at the minimiser
is a supergradient. The per-departure problem keeps the truck count *integer*, which is what
makes the bound stronger than the LP relaxation on instances whose LP opens fractional trucks.

What is computed per departure, all departures in one batch. For a surrogate weight mu in
[0, 1] the two capacity rows are replaced by their combination ``sum s_k x_k <= y`` with
``s_k = mu s^w_k + (1 - mu) s^v_k`` (a relaxation: every x feasible for both rows satisfies
it). For fixed integer y >= 1 the rest is a fractional knapsack (Dantzig 1957): take the items
with c_k + u_i < 0 by increasing ratio (c_k + u_i) / s_k until the capacity y is used, the
last one fractionally; its value phi(y) is convex and piecewise linear in y. So F y + phi(y)
is convex, its real minimiser y_c is the total size of the items whose ratio is below -F_d, and
the integer minimum over {0..M_d} is at floor(y_c) or ceil(y_c) (clipped to M_d), both
evaluated. The result h_d^mu(u) <= h_d(u), hence a valid bound. For LPs surrogate duality is
exact (Glover 1975): max over mu of the surrogate value equals the two-row LP value for each y,
so a grid of mu (default 0, 1/2, 1) taking the best per departure loses little; per departure
the bound is max_mu min_y, which is <= min_y max_mu. With volumes all zero only mu = 1 is used.

Cost of one oracle call: per mu, one exact sort of the pairs with a negative reduced cost by
(departure, ratio) (two argsorts), then cumulative sums and ``bincount`` s: O(K log K), no
Python loop over departures or shipments (0.7 s at 1.6e6 pairs, ~9 s at 1.6e7 on 2 shared cores).
The bound is maximised by :func:`scotopt.solvers.lagrangian.solve_lagrangian` (volume algorithm
by default), started from given multipliers (e.g. the negated assignment-row duals of the LP
relaxation) or from the "full truck" prices u_i = -min(f_i, min_k c_k + F_d max(s^w_k, s^v_k)).
"""

from __future__ import annotations

import numpy as np

from scotopt.models.truck import TruckLoading
from scotopt.solvers.lagrangian import LagrangianOptions, solve_lagrangian
from scotopt.status import InvalidOptionError

__all__ = ["TruckLagrangian"]

_TINY_SIZE = 1e-12  # size floor: a weightless, volumeless shipment still needs a truck (x <= y)


def _order_by_departure_then_ratio(departure: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """The permutation sorting by (departure, ratio): exact, as one int64 sort of departure * n +
    rank(ratio) (about 1.6x faster than ``np.lexsort`` at 10^7 entries)."""
    size = ratio.size
    rank = np.empty(size, dtype=np.int64)
    rank[np.argsort(ratio)] = np.arange(size)
    return np.argsort(departure.astype(np.int64) * size + rank)


class TruckLagrangian:
    """The Lagrangian dual of the assignment rows of ``model`` (see the module docstring)."""

    def __init__(self, model: TruckLoading, surrogate=(0.0, 0.5, 1.0)):
        self.model = model
        weight_share, volume_share = model.pair_sizes()
        weights = (1.0,) if not np.any(volume_share > 0) else tuple(surrogate)
        if not weights:
            raise InvalidOptionError("surrogate needs at least one weight in [0, 1]")
        self.sizes = []
        for mu in weights:
            mu = np.asarray(mu, dtype=np.float64)
            if np.any((mu < 0) | (mu > 1)):
                raise InvalidOptionError(f"surrogate weights must lie in [0, 1], got {mu}")
            if mu.ndim:  # one weight per departure
                mu = mu[model.pair_departure]
            self.sizes.append(np.maximum(mu * weight_share + (1 - mu) * volume_share, _TINY_SIZE))

    def departure_bound(self, reduced: np.ndarray, size: np.ndarray):
        """(h (D,), trucks (D,), x (K,)) of the surrogate problem with pair costs ``reduced``."""
        m = self.model
        D = m.num_departures
        take = np.flatnonzero(reduced < 0)
        dep, s, r = m.pair_departure[take], size[take], reduced[take]
        order = _order_by_departure_then_ratio(dep, r / s)
        take, dep, s, r = take[order], dep[order], s[order], r[order]
        counts = np.bincount(dep, minlength=D)
        cumulative = np.cumsum(s)
        before_segment = np.concatenate([[0.0], cumulative])[np.cumsum(counts) - counts]
        filled_before = cumulative - s - np.repeat(before_segment, counts)  # size taken before item k
        worth = (r / s) < -m.fixed_cost[dep]
        real_trucks = np.bincount(dep, s * worth, D)  # y_c
        limit = m.max_trucks.astype(np.float64)
        best = np.full(D, np.inf)
        best_trucks = np.zeros(D)
        for trucks in (np.minimum(np.floor(real_trucks), limit), np.minimum(np.ceil(real_trucks), limit)):
            share = np.clip((trucks[dep] - filled_before) / s, 0.0, 1.0)
            value = m.fixed_cost * trucks + np.bincount(dep, r * share, D)
            better = value < best
            best = np.where(better, value, best)
            best_trucks = np.where(better, trucks, best_trucks)
        x = np.zeros(m.num_pairs)
        x[take] = np.clip((best_trucks[dep] - filled_before) / s, 0.0, 1.0)
        return best, best_trucks, x

    def oracle(self, u):
        """(LP-space point [x, y, z], L(u), supergradient) for multipliers ``u`` (n,)."""
        m = self.model
        u = np.asarray(u, dtype=np.float64)
        reduced = m.pair_cost + u[m.pair_shipment]
        best = None
        for size in self.sizes:
            h, trucks, x = self.departure_bound(reduced, size)
            if best is None:
                best = [h, trucks, x]
                continue
            better = h > best[0]
            best[0] = np.where(better, h, best[0])
            best[1] = np.where(better, trucks, best[1])
            best[2] = np.where(better[m.pair_departure], x, best[2])
        h, trucks, x = best
        fallback_value = m.fallback_cost + u
        z = (fallback_value < 0).astype(np.float64)
        value = float(np.sum(h) + np.sum(np.minimum(fallback_value, 0.0)) - np.sum(u))
        g = np.bincount(m.pair_shipment, x, m.num_shipments) + z - 1.0
        return np.concatenate([x, trucks, z]), value, g

    def starting_multipliers(self) -> np.ndarray:
        """u_i = -min(f_i, min_k c_k + F_d max(s^w_k, s^v_k)): each shipment priced at its cheapest
        way to travel when trucks are paid per share of capacity used (the 'full truck' price)."""
        m = self.model
        weight_share, volume_share = m.pair_sizes()
        price = m.pair_cost + m.fixed_cost[m.pair_departure] * np.maximum(weight_share, volume_share)
        cheapest = m.fallback_cost.copy()
        np.minimum.at(cheapest, m.pair_shipment, price)
        return -cheapest

    def residual(self, point):
        """Assignment-row residual of an LP-space point (what the driver reports for averages)."""
        m = self.model
        x, _, z = m.split(point)
        return np.bincount(m.pair_shipment, x, m.num_shipments) + z - 1.0

    def solve(self, multipliers=None, method="volume", upper_bound: float | None = None,
              options: LagrangianOptions | None = None, verbose: bool = False):
        """Maximise L(u) with the driver; ``lower_bound`` of the result is the bound."""
        lagrangian = self

        def oracle(u):
            return lagrangian.oracle(u)

        oracle.residual = self.residual
        start = self.starting_multipliers() if multipliers is None else np.asarray(multipliers, dtype=np.float64)
        return solve_lagrangian(oracle, "=", self.model.num_shipments, multipliers=start.copy(), method=method,
                                upper_bound=upper_bound, options=options, verbose=verbose)
