"""Demand scenarios for the inventory model, from forecasts.

Quantile forecasts
------------------
A forecast gives, per (period, node, product), values ``v_1 <= ... <= v_K`` at levels
``0 < a_1 < ... < a_K < 1`` (for example P10 / P50 / P90). We take the inverse CDF to be
piecewise linear through the points ``(a_k, v_k)`` and extend the outer segments linearly to
``a = 0`` and ``a = 1`` (a distribution with bounded support whose quantiles are exactly the
forecast ones), clipped at 0: ``F^-1(u) = v_k + (u - a_k) (v_{k+1} - v_k) / (a_{k+1} - a_k)``.
With a single level the forecast is a point (every scenario equals it). A scenario draws
``u ~ U(0, 1)`` per cell and returns ``F^-1(u)``.

Dependence over time: ``time_correlation = rho`` draws ``u = Phi(z)`` from a Gaussian AR(1)
``z_t = rho z_{t-1} + sqrt(1 - rho^2) e_t`` (a Gaussian copula), so that a high week tends to be
followed by a high week; rho = 0 is independent periods.

Every function takes a ``seed`` and is vectorised (no Python loop over cells).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from scotopt.status import InvalidProblemError

__all__ = ["scenarios_from_quantiles", "normal_scenarios", "quantile_function"]


def _uniforms(rng, shape, time_correlation: float):
    """(S, T, ...) uniforms, AR(1)-correlated along axis 1 through a Gaussian copula."""
    if not 0.0 <= time_correlation < 1.0:
        raise InvalidProblemError(f"time_correlation must be in [0, 1), got {time_correlation}")
    if time_correlation == 0.0:
        return rng.random(shape)
    z = rng.standard_normal(shape)
    rho = time_correlation
    for t in range(1, shape[1]):  # a loop over periods only
        z[:, t] = rho * z[:, t - 1] + np.sqrt(1.0 - rho * rho) * z[:, t]
    return special.ndtr(z)


def quantile_function(levels, values, u):
    """``F^-1(u)`` of the module docstring; ``values`` (..., K), ``u`` broadcastable to (S, ...)."""
    levels = np.asarray(levels, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    K = levels.shape[0]
    if K == 1:
        return np.broadcast_to(values[..., 0], np.broadcast_shapes(np.shape(u), values.shape[:-1])).copy()
    # segment k covers [a_k, a_{k+1}]; the outer ones extend to 0 and 1
    k = np.clip(np.searchsorted(levels, u, side="right") - 1, 0, K - 2)
    lo_a, hi_a = levels[k], levels[k + 1]
    u = np.asarray(u, dtype=np.float64)
    full = np.broadcast_to(values, (*u.shape, K))
    lo_v = np.take_along_axis(full, k[..., None], -1)[..., 0]
    hi_v = np.take_along_axis(full, k[..., None] + 1, -1)[..., 0]
    return np.maximum(lo_v + (u - lo_a) * (hi_v - lo_v) / (hi_a - lo_a), 0.0)


def scenarios_from_quantiles(levels, values, num_scenarios: int, seed=0, time_correlation: float = 0.0):
    """(S, T, N, P) demand scenarios from quantile forecasts.

    Parameters
    ----------
    levels : (K,) increasing, in (0, 1)
    values : (T, N, P, K) forecast quantiles, nondecreasing along the last axis, >= 0
    num_scenarios : int
    seed : int or numpy Generator
    time_correlation : float in [0, 1)
    """
    levels = np.asarray(levels, dtype=np.float64).reshape(-1)
    values = np.asarray(values, dtype=np.float64)
    if levels.size == 0 or np.any(levels <= 0) or np.any(levels >= 1) or np.any(np.diff(levels) <= 0):
        raise InvalidProblemError(f"levels must be increasing and strictly between 0 and 1, got {levels.tolist()}")
    if values.ndim != 4 or values.shape[-1] != levels.size:
        raise InvalidProblemError(f"values must have shape (periods, nodes, products, {levels.size}), "
                                  f"got {values.shape}")
    if not np.isfinite(values).all() or (values < 0).any():
        raise InvalidProblemError("forecast quantiles must be finite and nonnegative")
    if (np.diff(values, axis=-1) < 0).any():
        idx = np.unravel_index(int(np.flatnonzero((np.diff(values, axis=-1) < 0).any(axis=-1))[0]), values.shape[:-1])
        raise InvalidProblemError(f"forecast quantiles at (period, node, product) {list(idx)} decrease with the level")
    if int(num_scenarios) < 1:
        raise InvalidProblemError(f"num_scenarios must be >= 1, got {num_scenarios}")
    rng = np.random.default_rng(seed)
    u = _uniforms(rng, (int(num_scenarios), *values.shape[:-1]), time_correlation)
    return quantile_function(levels, values, u)


def normal_scenarios(mean, std, num_scenarios: int, seed=0, time_correlation: float = 0.0):
    """(S, T, N, P) scenarios of ``max(0, N(mean, std^2))`` per cell (mean, std: (T, N, P))."""
    mean = np.asarray(mean, dtype=np.float64)
    std = np.broadcast_to(np.asarray(std, dtype=np.float64), mean.shape)
    if mean.ndim != 3:
        raise InvalidProblemError(f"mean must have shape (periods, nodes, products), got {mean.shape}")
    if not (np.isfinite(mean).all() and np.isfinite(std).all()) or (std < 0).any():
        raise InvalidProblemError("mean and std must be finite, std >= 0")
    rng = np.random.default_rng(seed)
    u = _uniforms(rng, (int(num_scenarios), *mean.shape), time_correlation)
    z = special.ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    return np.maximum(mean + std * z, 0.0)
