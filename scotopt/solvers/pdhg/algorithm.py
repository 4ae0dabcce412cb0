"""Restarted Halpern PDHG with reflection (r2HPDHG), written once for every backend.

Every function here is pure: it takes an array namespace ``xp`` (numpy, jax.numpy or cupy),
an operator ``op`` with ``matvec`` / ``rmatvec`` on the scaled matrix A~, the immutable
:class:`PDHGData` and a :class:`PDHGState`, and returns new values. Nothing here loops over
iterations or talks to the host; the drivers do (``driver.py``). The one mutation: on NumPy
(``xp.writes_in_place``) a product that ``op`` has just returned, which every device operator
allocates fresh, is overwritten with what is computed from it (a column vector less at 10^8).
An operator may compute a whole :func:`step` itself (``op.fused_step``: the NumPy network
operator with numba, ``scotopt/kernels/network_fused.py``); it must be this same iteration.

The LP (already preconditioned, see ``scaling.py``) is ``min c@x s.t. l <= A x <= u,
lv <= x <= uv``, with saddle function ``c@x - y@A@x + p(y)``, p(y) = sum(l y^+ - u y^-).

PDHG map T (cuPDLPx ``docs/algorithm/base-algorithm.md``; Chambolle & Pock 2011), with primal
weight w, step eta, tau = eta/w, sigma = eta*w::

    x^ = proj_[lv,uv](x - tau (c - A^T y))
    v  = y - sigma A (2 x^ - x)
    y^ = v - proj_[-sigma u, -sigma l](v)          (= v + sigma proj_[l,u](-v/sigma))

Reflected Halpern step with anchor z0 and epoch counter k (Lu & Yang, arXiv 2407.16144, eq. 9;
reflection coefficient gamma, gamma = 1 is full reflection)::

    z^{k+1} = (k+1)/(k+2) [2 gamma T(z^k) + (1 - 2 gamma) z^k] + 1/(k+2) z0

A x is carried along with x (it is linear in the iterates, so the Halpern combination of the
A x^ already computed for the dual step gives it), and A^T y is recomputed from y at the start
of each application of T; either way one iteration costs one ``matvec`` and one ``rmatvec``.
Carrying A^T y as well (as an earlier version did) would cost the same products plus a Halpern
update of a column vector and two column vectors of state (A^T y, A^T y0): 8 of the ~64 bytes
per arc of a float32 network solve.

Restarts use the fixed-point residual r(z) = ||z - T z||_P in the PDHG metric
P = [[I/tau, A^T], [A, I/sigma]] (cuPDLPx ``restart.md``): restart when
r <= beta_sufficient r0, or r <= beta_necessary r0 and r > r_prev, or k >= beta_artificial N,
with r0 the residual of the epoch's anchor under the epoch's weight (measured at the epoch's first
evaluation, so that a restart holds no third column vector).
At a restart the anchor and iterate become T(z), and the primal weight is updated by the PID
controller of cuPDLPx ``primal-weight.md`` (arXiv 2507.14051 s.3.3) on
e = log(w ||x^ - x0|| / ||y^ - y0||), with the HPR-LP safeguard.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from scotopt.kernels.block_columns import whole

# Layout of the statistics vector that ``evaluate`` returns (one small host copy per check).
STAT_NAMES = (
    "rel_primal", "rel_dual", "rel_gap", "primal_objective", "dual_objective",
    "fixed_point_residual", "restarted", "primal_weight",
    "dual_ray_objective", "dual_ray_infeasibility", "primal_ray_objective", "primal_ray_infeasibility",
    "ray_candidate", "finite",
)
STAT = {name: i for i, name in enumerate(STAT_NAMES)}


class PDHGData(NamedTuple):
    """Scaled problem data on the backend device plus what is needed to unscale measures.

    The original (unscaled) bounds that dual objectives need are derived from the scaled ones
    when used (:func:`_row_support`, :func:`_scaled_col_support`): storing them would cost two
    more column vectors.
    """

    c: Any
    con_lb: Any
    con_ub: Any
    var_lb: Any
    var_ub: Any
    d1: Any
    d2: Any
    theta_b: float
    theta_c: float
    c0: float
    bound_norm: float  # ||b~||_2 of the original LP
    cost_norm: float  # ||c||_2 of the original LP
    eta: float


class PDHGState(NamedTuple):
    """Everything that changes between iterations; a JAX pytree by construction."""

    x: Any
    y: Any
    ax: Any  # A x, carried (see the module docstring)
    x0: Any
    y0: Any
    ax0: Any
    k: Any  # iterations since the last restart
    n: Any  # total iterations
    omega: Any  # primal weight
    pid_integral: Any
    pid_previous: Any
    r0: Any  # fixed-point residual at the start of the epoch (inf: none yet; NaN: to measure, see evaluate)
    r_prev: Any  # fixed-point residual at the previous check
    omega_best: Any
    balance_best: Any
    restarts: Any


class Params(NamedTuple):
    """Algorithm constants (floats), from :class:`scotopt.options.PDHGOptions`."""

    reflection: float
    restart_sufficient: float
    restart_necessary: float
    restart_artificial: float
    pid_kp: float
    pid_ki: float
    pid_kd: float
    pid_integral_decay: float
    check_every: float = 64.0  # iterations between evaluations (PDHGOptions.check_every)
    # PDLP's ray tests run at one evaluation in this many (at iteration counts n with
    # n mod (ray_check_period * check_every) < check_every): on Netlib-sized LPs the four tests
    # cost as much as the rest of an evaluation, about 5 iterations' worth, and an infeasible LP
    # is still detected at most 3 checks later. Optimality is tested at every evaluation.
    ray_check_period: float = 4.0
    # 0 when c@x is bounded below on the column bounds (every column boxed, or costs >= 0 on
    # columns >= 0, ``driver.objective_bounded_on_box``): the LP cannot be unbounded, and the
    # primal ray (unboundedness) test is skipped (about half of the ray tests' cost on a network:
    # two column passes of three). Set by ``driver.algorithm_params``.
    primal_rays: float = 1.0
    # 1: an operator that offers ``fused_steps`` (the NumPy network operator with numba) runs
    # each chunk of iterations with safe arc screening, the same iterates up to rounding
    # (``scotopt/kernels/network_screen.py``); 0: every iteration over every arc.
    screening: float = 1.0


def init_state(xp, op, data: PDHGData, x, y, dtype, ax=None) -> PDHGState:
    """State at iteration 0 from scaled starting points x, y (already projected); ``ax`` is
    A x where the caller has it."""
    if ax is None:
        ax = op.matvec(x)

    def scalar(v):
        return xp.asarray(v, dtype=dtype)

    return PDHGState(
        x=x, y=y, ax=ax, x0=x, y0=y, ax0=ax,
        k=scalar(0.0), n=scalar(0.0), omega=scalar(1.0),
        pid_integral=scalar(0.0), pid_previous=scalar(0.0),
        r0=scalar(float("inf")), r_prev=scalar(float("inf")),
        omega_best=scalar(1.0), balance_best=scalar(float("inf")), restarts=scalar(0.0),
    )


def _clip_by_ufuncs(xp):
    def clip(v, lower, upper):
        return xp.minimum(xp.maximum(v, lower), upper)  # np.clip's definition

    return clip


def _primal_step(clip):
    def primal_step(x, aty, c, var_lb, var_ub, tau):
        return clip(x - tau * (c - aty), var_lb, var_ub)

    return primal_step


def _dual_step(clip):
    def dual_step(y, ax_hat, ax, con_lb, con_ub, sigma, neg_sigma):
        v = y - sigma * ((ax_hat + ax_hat) - ax)  # ax_hat + ax_hat is 2 ax_hat exactly, and a cheaper NumPy call
        return v - clip(v, neg_sigma * con_ub, neg_sigma * con_lb)

    return dual_step


def _halpern(clip):
    def halpern(hat, current, start, a, b, anchor):
        return a * hat + b * current + anchor * start

    return halpern


class _FusedOrPlain:
    """``cupy.fuse(fn)`` (one GPU kernel instead of one per operation), or ``fn`` itself after
    the first time CuPy cannot fuse it, with a warning: a fusion failure costs speed, never a
    result."""

    def __init__(self, xp, plain, fusable):
        self.plain = plain
        self.kernel = xp.fuse(fusable)
        self.fused = True

    def __call__(self, *args):
        if self.fused:
            try:
                return self.kernel(*args)
            except Exception as exc:  # noqa: BLE001 - any fusion failure falls back to the plain body
                import warnings

                self.fused = False
                warnings.warn(f"cupy.fuse failed ({type(exc).__name__}: {exc}); using unfused kernels", stacklevel=2)
        return self.plain(*args)


def _primal_step_in_place(xp):
    """The primal step for NumPy, written into ``aty`` (a product the operator has just returned,
    which nothing else holds; see :func:`pdhg_map`): the same operations in the same order as
    :func:`_primal_step` (so the same result), without its three column-length temporaries
    (NumPy elides only some), 12 bytes per column at float32 less at the step's peak."""

    def primal_step(x, aty, c, var_lb, var_ub, tau):
        out = xp.subtract(c, aty, out=aty)  # aty is the operator's fresh product: reuse it
        xp.multiply(tau, out, out=out)
        xp.subtract(x, out, out=out)
        xp.maximum(out, var_lb, out=out)
        return xp.minimum(out, var_ub, out=out)

    return primal_step


def _dual_step_in_place(xp):
    """The dual step for NumPy in one new row vector: the same operations in the same order as
    :func:`_dual_step`, with the projection formed block by block, so that the scaled bounds
    ``-sigma u``, ``-sigma l`` and the clipped vector are block-sized temporaries instead of
    three row-length ones (at 10^8 columns each is hundreds of MB)."""
    block = xp.column_block

    def dual_step(y, ax_hat, ax, con_lb, con_ub, sigma, neg_sigma):
        v = xp.add(ax_hat, ax_hat)
        xp.subtract(v, ax, out=v)
        xp.multiply(sigma, v, out=v)
        xp.subtract(y, v, out=v)
        m = v.shape[0]
        for first in range(0, m, block):
            part = slice(first, first + block) if m > block else slice(None)
            lower = con_lb[part] if getattr(con_lb, "ndim", 0) else con_lb
            upper = con_ub[part] if getattr(con_ub, "ndim", 0) else con_ub
            vb = v[part]
            vb -= xp.clip(vb, neg_sigma * upper, neg_sigma * lower)
        return v

    return dual_step


def _halpern_in_place(xp):
    """The Halpern combination for NumPy, written into ``hat`` (T(z)'s fresh vector, which the
    step does not read again), block by block so that ``b * current`` and ``anchor * start``
    are block-sized temporaries: the same operations in the same order as :func:`_halpern`."""
    block = xp.column_block

    def halpern(hat, current, start, a, b, anchor):
        n = hat.shape[0]
        if n <= block:  # the common small case without slicing (each call counts on small LPs)
            xp.multiply(a, hat, out=hat)
            hat += b * current
            hat += anchor * start
            return hat
        for first in range(0, n, block):
            part = slice(first, first + block)
            h = hat[part]
            xp.multiply(a, h, out=h)
            h += b * current[part]
            h += anchor * start[part]
        return hat

    return halpern


def elementwise(xp, factory):
    """The elementwise body ``factory(clip)`` for this array namespace.

    On CuPy (an ``xp`` with ``fuse``) it runs as one fused kernel: CuPy otherwise launches a
    kernel per operation, and at ~45 launches an iteration the launches, not the memory
    traffic, set the time (bench/README.md, GPU section). NumPy runs it as written; JAX fuses
    it under jit by itself.
    """
    if hasattr(xp, "fuse"):
        return _FusedOrPlain(xp, factory(xp.clip), factory(_clip_by_ufuncs(xp)))
    if getattr(xp, "writes_in_place", False):
        if factory is _primal_step:
            return _primal_step_in_place(xp)
        if factory is _halpern:
            return _halpern_in_place(xp)
        if factory is _dual_step:
            return _dual_step_in_place(xp)
    return factory(xp.clip)


_ITERATION_BODIES: dict = {}


def _iteration_bodies(xp):
    """(primal step, dual step, Halpern update) for ``xp``, built once per namespace (namespaces
    are modules: hashable); one dict lookup per call, since the NumPy loop on small LPs spends
    ~30 us an iteration and every call there counts."""
    bodies = _ITERATION_BODIES.get(xp)
    if bodies is None:
        bodies = _ITERATION_BODIES[xp] = tuple(elementwise(xp, f) for f in (_primal_step, _dual_step, _halpern))
    return bodies


def pdhg_map(xp, op, data: PDHGData, x, y, ax, omega):
    """One application of T: returns (x^, y^, A x^)."""
    tau, sigma, neg_sigma = _step_sizes(xp, data.eta, omega)
    fused = getattr(op, "fused_map", None)  # the same map as compiled loops (see :func:`step`)
    if fused is not None:
        hats = fused(data, x, y, ax, tau, sigma, neg_sigma)
        if hats is not None:
            return hats
    primal_step, dual_step, _ = _iteration_bodies(xp)
    # op.rmatvec returns a fresh array (every device operator does), which NumPy's in-place
    # primal step overwrites with x^
    x_hat = primal_step(x, op.rmatvec(y), data.c, data.var_lb, data.var_ub, tau)
    ax_hat = op.matvec(x_hat)
    y_hat = dual_step(y, ax_hat, ax, data.con_lb, data.con_ub, sigma, neg_sigma)
    return x_hat, y_hat, ax_hat


def map_and_residual(xp, op, data: PDHGData, x, y, ax, omega):
    """(x^, y^, A x^, r): T(z) and its fixed-point residual r = ||T(z) - z||_P
    (:func:`fixed_point_residual`). Where the operator's fused map measures (it returns None
    where it does not) its loops sum the residual's three terms as they form T(z), in float64;
    otherwise they are reduced here from the vectors (:func:`_residual_between`)."""
    fused = getattr(op, "fused_map", None)
    if fused is not None:
        hats = fused(data, x, y, ax, *_step_sizes(xp, data.eta, omega), measure=True)
        if hats is not None:
            r = xp.asarray(fixed_point_residual(xp, data, omega, *hats[3]), dtype=omega.dtype)
            return (*hats[:3], r)
    hats = pdhg_map(xp, op, data, x, y, ax, omega)
    return (*hats, _residual_between(xp, data, omega, x, y, ax, *hats))


def step(xp, op, data: PDHGData, params: Params, s: PDHGState) -> PDHGState:
    """One reflected Halpern PDHG iteration (no host synchronisation).

    An operator may offer the whole iteration as one compiled kernel: ``op.fused_step(data, s,
    tau, sigma, -sigma, a, b, anchor)`` returning (x+, y+, (A x)+), the same map as below up to
    float rounding, or None where it does not cover ``data`` (the NumPy network operator with
    numba, ``scotopt/kernels/network_fused.py``). Otherwise the generic path runs."""
    a, b, anchor, k_next, n_next = _halpern_coefficients(xp, params.reflection, s.k, s.n)
    fused = getattr(op, "fused_step", None)
    if fused is not None:
        sizes = _step_sizes(xp, data.eta, s.omega)
        if anchor_residual_pending(xp, op, s):
            new = fused(data, s, *sizes, a, b, anchor, measure=True)
            if new is not None:
                r0 = xp.asarray(fixed_point_residual(xp, data, s.omega, *new[3]), dtype=s.r0.dtype)
                return PDHGState(*new[:3], s.x0, s.y0, s.ax0, k_next, n_next, *s[8:])._replace(r0=r0)
        new = fused(data, s, *sizes, a, b, anchor)
        if new is not None:
            return PDHGState(*new, s.x0, s.y0, s.ax0, k_next, n_next, *s[8:])
    x_hat, y_hat, ax_hat = pdhg_map(xp, op, data, s.x, s.y, s.ax, s.omega)
    halpern = _iteration_bodies(xp)[2]  # may overwrite the hats (NumPy): nothing below reads them
    return PDHGState(  # positional, in field order (cheaper than _replace in a NumPy loop)
        halpern(x_hat, s.x, s.x0, a, b, anchor),
        halpern(y_hat, s.y, s.y0, a, b, anchor),
        halpern(ax_hat, s.ax, s.ax0, a, b, anchor),
        s.x0, s.y0, s.ax0, k_next, n_next, *s[8:],
    )


def anchor_residual_pending(xp, op, s: PDHGState) -> bool:
    """Whether this step can measure the epoch's reference residual r0 that :func:`evaluate`
    would otherwise form with a T map of its own: r0 is pending (NaN: the last evaluation
    restarted), the state is the anchor itself (the same arrays: T(z) = T(z0)), and the operator's
    fused step measures (``op.measures_residual``: the NumPy network step, whose T is never
    stored, sums the residual's three terms in its loops instead). Host namespaces only."""
    if not getattr(xp, "host_scalars", False) or not getattr(op, "measures_residual", False):
        return False
    return s.x is s.x0 and s.y is s.y0 and s.ax is s.ax0 and math.isnan(float(s.r0))


def steps(xp, op, data: PDHGData, params: Params, state, count: int, repeat) -> PDHGState:
    """``count`` iterations of :func:`step` from ``state`` (or ``state[0]`` of a one-element list,
    emptied here), through ``repeat(body, count, state)`` (the backend's loop), or in one call
    of ``op.fused_steps(data, [x, y, A x], s, tau, sigma, -sigma, coefficients)`` where the
    operator offers it (``op.screens``) and ``params.screening`` is on: the same iterations with the arcs that
    provably do not move skipped (``scotopt/kernels/network_screen.py``), returning the new
    (x, y, A x) or None where it does not cover ``data``. The anchor, weight and step sizes stay
    fixed within a chunk (restarts happen in :func:`evaluate`), so only the Halpern
    coefficients change from one iteration to the next. A chunk that starts where the epoch's
    reference residual is pending (:func:`anchor_residual_pending`) runs its first iteration
    through :func:`step`, which measures it, and screens the rest. A KeyboardInterrupt inside
    the hook leaves with the last completed iteration's state as its ``state`` attribute, as
    ``repeat`` does."""
    hook = op.fused_steps if params.screening and getattr(op, "screens", False) else None
    if hook is None or count <= 0:
        return repeat(lambda s: step(xp, op, data, params, s), count, state)
    if type(state) is list:
        state = state.pop()
    if anchor_residual_pending(xp, op, state):  # the epoch's first step, unscreened, measures r0
        try:
            state = step(xp, op, data, params, state)
        except KeyboardInterrupt as interrupt:
            interrupt.state = state
            raise
        count -= 1
        if count == 0:
            return state
    coefficients = []
    k, n = state.k, state.n
    for _ in range(count):
        a, b, anchor, k, n = _halpern_coefficients(xp, params.reflection, k, n)
        coefficients.append((a, b, anchor))
    vectors = [state.x, state.y, state.ax]
    rest = state._replace(x=None, y=None, ax=None)
    del state  # the hook drops x once it has copied the arcs that move (memory at 10^8 arcs)
    try:
        new = hook(data, vectors, rest, *_step_sizes(xp, data.eta, rest.omega), coefficients)
    except KeyboardInterrupt as interrupt:
        partial = getattr(interrupt, "partial", None)
        if partial is not None:
            x, y, ax, done = partial
            kd, nd = (xp.asarray(float(rest.k) + done, dtype=rest.k.dtype),
                      xp.asarray(float(rest.n) + done, dtype=rest.n.dtype))
            interrupt.state = rest._replace(x=x, y=y, ax=ax, k=kd, n=nd)
        raise
    if new is None:
        return repeat(lambda s: step(xp, op, data, params, s), count, rest._replace(x=vectors[0], y=vectors[1],
                                                                                     ax=vectors[2]))
    return rest._replace(x=new[0], y=new[1], ax=new[2], k=k, n=n)


# Per-iteration scalars. They are 0-d arrays of the solve's dtype (NumPy multiplies an array by a
# 0-d array ~0.2 us faster than by a NumPy or Python scalar). A namespace that runs on the host
# (``xp.host_scalars``: NumPy) does the scalar arithmetic in Python floats and wraps the results,
# 0.6 us against 2.2 us for the same arithmetic on 0-d arrays: on a Netlib LP of 10^3 nonzeros an
# iteration is ~25 us. Traced namespaces (JAX, CuPy) keep it on the device.


def _step_sizes(xp, eta: float, omega):
    """(tau, sigma, -sigma) = (eta / omega, eta omega, -eta omega)."""
    if getattr(xp, "host_scalars", False):
        weight, dtype = float(omega), omega.dtype
        return (xp.array(eta / weight, dtype=dtype), xp.array(eta * weight, dtype=dtype),
                xp.array(-eta * weight, dtype=dtype))
    sigma = xp.asarray(eta * omega)
    return xp.asarray(eta / omega), sigma, xp.asarray(-sigma)


def _halpern_coefficients(xp, reflection: float, k, n):
    """(a, b, anchor, k + 1, n + 1) of the reflected Halpern step (module docstring):
    w = (k + 1) / (k + 2), a = 2 gamma w, b = (1 - 2 gamma) w, anchor = 1 - w."""
    if getattr(xp, "host_scalars", False):
        kf, dtype = float(k), k.dtype
        w = (kf + 1.0) / (kf + 2.0)
        return (xp.array(2.0 * reflection * w, dtype=dtype), xp.array((1.0 - 2.0 * reflection) * w, dtype=dtype),
                xp.array(1.0 - w, dtype=dtype), xp.array(kf + 1.0, dtype=dtype), xp.array(float(n) + 1.0, dtype=dtype))
    w = (k + 1.0) / (k + 2.0)
    return (xp.asarray(2.0 * reflection * w), xp.asarray((1.0 - 2.0 * reflection) * w), xp.asarray(1.0 - w),
            k + 1.0, n + 1.0)


def _max_abs(xp, v):
    return xp.max(xp.abs(v)) if v.shape[0] > 0 else xp.asarray(0.0, dtype=v.dtype)


def _cond(xp, pred, if_true, if_false):
    """``if_true()`` where ``pred`` holds, else ``if_false()`` (arrays of one shape): only the
    branch taken where the namespace can branch on the host (:func:`_cond_state`)."""
    cond = getattr(xp, "cond", None)
    if cond is not None:
        return cond(pred, if_true, if_false)
    return xp.where(pred, if_true(), if_false())


def _cond_state(xp, pred, if_true, if_false) -> PDHGState:
    """The :class:`PDHGState` ``if_true()`` where ``pred`` holds, else ``if_false()``.

    A namespace that can branch on a scalar on the host (the NumPy backend's ``xp.cond``) runs
    only the branch taken; traced ones (JAX under ``jit``, CuPy without a host sync) evaluate both
    and select field by field with ``where``.
    """
    cond = getattr(xp, "cond", None)
    if cond is not None:
        return cond(pred, if_true, if_false)
    return PDHGState(*(xp.where(pred, new, old) for new, old in zip(if_true(), if_false(), strict=True)))


class InfiniteBounds(NamedTuple):
    """Where the scaled bounds are infinite (row lower, row upper, column lower, column upper):
    computed once per evaluation and shared by the KKT measures and the four ray tests (the
    column masks None where only the row masks are read, :func:`infinite_bounds`)."""

    row_lower: Any
    row_upper: Any
    col_lower: Any
    col_upper: Any


def infinite_bounds(xp, data: PDHGData, columns: bool = True) -> InfiniteBounds:
    """The masks of :class:`InfiniteBounds`; without ``columns`` the column masks are None.

    ``v == inf`` is ``isposinf(v)`` (NaN compares False in both) in one pass: NumPy's
    ``isposinf`` forms ``isinf`` and ``signbit`` and combines them, 0.4 s per evaluation for a
    float32 bound vector of 10^8 columns (bench/README.md, session 30)."""
    rows = (data.con_lb == -xp.inf, data.con_ub == xp.inf)
    if not columns:
        return InfiniteBounds(*rows, None, None)
    return InfiniteBounds(*rows, data.var_lb == -xp.inf, data.var_ub == xp.inf)


def _sign_project(xp, v, lower_inf, upper_inf):
    """Zero the positive part of v where lower = -inf and the negative part where upper = +inf
    (``lower_inf`` / ``upper_inf``: the masks of :class:`InfiniteBounds`)."""
    v = xp.where(lower_inf, xp.minimum(v, 0.0), v)
    return xp.where(upper_inf, xp.maximum(v, 0.0), v)


def _row_support(xp, data: PDHGData, inf: InfiniteBounds, y, unscale: bool = False):
    """sum(l y^+) + sum(u y^-) over the ORIGINAL row bounds (l = l~ / (theta_b d1)), infinite
    bounds counting 0 (y has been sign-projected there). With ``unscale`` ``y`` is the scaled
    iterate and the unscaled y = d1 y / theta_c is formed block by block (:func:`column_reduce`)."""

    def unscaled(v, d1):
        return d1 * v / data.theta_c if unscale else v

    def lower_term(v, lb, lo_inf, d1):
        return xp.where(lo_inf, 0.0, lb) * xp.maximum(unscaled(v, d1), 0.0) / d1

    def upper_term(v, ub, up_inf, d1):
        return xp.where(up_inf, 0.0, ub) * xp.minimum(unscaled(v, d1), 0.0) / d1

    return (column_reduce(xp, xp.sum, lower_term, y, data.con_lb, inf.row_lower, data.d1)
            + column_reduce(xp, xp.sum, upper_term, y, data.con_ub, inf.row_upper, data.d1)) / data.theta_b


def _cone_excess(xp, lower_inf, upper_inf, v):
    """|v - proj(v)| entrywise, proj onto the recession cone of the bounds (v free where both
    bounds are infinite, <= 0 where only the upper is finite, >= 0 where only the lower is, 0
    where both are)."""
    hi = xp.where(upper_inf, v, xp.minimum(v, 0.0))
    return xp.abs(v - xp.where(lower_inf, hi, xp.maximum(hi, 0.0)))


def _cone_violation(xp, lower_inf, upper_inf, v):
    return _max_abs(xp, _cone_excess(xp, lower_inf, upper_inf, v))


def column_reduce(xp, reduce, fn, *columns):
    """``reduce(fn(*columns))`` for column vectors (0-d values broadcast; the first argument is a
    whole column vector, or a :class:`~scotopt.kernels.block_columns.BlockColumns` formed block
    by block as it is read), with ``reduce`` one of ``xp.sum`` / ``xp.max``.

    A namespace with a ``column_block`` size (NumPy's) evaluates it block by block, so that the
    temporaries of ``fn`` are a few cache-sized blocks instead of whole columns (each one is
    400 MB in float32 at 10^8 columns, and an evaluation forms a dozen); JAX and CuPy fuse or
    free them anyway and get the plain expression. Blocked sums add partial sums (a different
    rounding order from one pairwise sum, not a less accurate one).
    """
    return column_reductions(xp, [(reduce, fn)], *columns)[0]


def column_reductions(xp, reductions, *columns):
    """``[reduce(fn(*columns)) for reduce, fn in reductions]`` in one pass over the blocks of
    :func:`column_reduce`, so that a :class:`~scotopt.kernels.block_columns.BlockColumns`
    operand is formed once for all of them."""
    block = getattr(xp, "column_block", None)
    n = columns[0].shape[0]
    if block is None or n <= block:
        whole_columns = [whole(v) for v in columns]
        return [reduce(fn(*whole_columns)) for reduce, fn in reductions]
    partial = [[] for _ in reductions]
    for start in range(0, n, block):
        part = [v[start:start + block] if getattr(v, "ndim", 0) == 1 else v for v in columns]
        for out, (reduce, fn) in zip(partial, reductions, strict=True):
            out.append(reduce(fn(*part)))
    return [reduce(xp.asarray(values)) for values, (reduce, _) in zip(partial, reductions, strict=True)]


def _dual_infeasibility(xp, g, lower_inf, upper_inf):
    """g - proj(g), the part of a reduced cost g with the wrong sign for its bounds: g^+ where the
    lower bound is -inf, g^- where the upper bound is +inf (all of g for a free variable)."""
    return xp.where(lower_inf, xp.maximum(g, 0.0), 0.0) + xp.where(upper_inf, xp.minimum(g, 0.0), 0.0)


def _scaled_col_support(xp, g, var_lb, var_ub, lower_inf, upper_inf):
    """sum(lv~ g^+) + sum(uv~ g^-) over the finite scaled variable bounds. With g = c~ - A~^T y~
    this is theta_b theta_c times the original problem's bound term sum(lv r^+) + sum(uv r^-),
    r = sign-projected unscaled reduced costs: D2 cancels, and projecting r changes nothing
    where the bound it multiplies is finite."""
    return (xp.where(lower_inf, 0.0, var_lb) * xp.maximum(g, 0.0)
            + xp.where(upper_inf, 0.0, var_ub) * xp.minimum(g, 0.0))


def column_kkt_sums(xp, data: PDHGData, x_hat, reduced, inf: InfiniteBounds):
    """The column-length sums of :func:`kkt_measures`: (c~ @ x^, the scaled bound term
    :func:`_scaled_col_support` of g = ``reduced``, ||D2^-1 (g - proj g)||^2), each through
    :func:`column_reduce`. An operator may compute the same three sums without forming g
    (``op.fused_column_kkt``, see :func:`evaluate`)."""
    pobj_sum = column_reduce(xp, xp.sum, lambda c, x: c * x, data.c, x_hat)
    col_support = column_reduce(
        xp, xp.sum, lambda g, lb, ub, lo, up: _scaled_col_support(xp, g, lb, ub, lo, up),
        reduced, data.var_lb, data.var_ub, inf.col_lower, inf.col_upper)

    def squared_dual_residual(g, d2, lo, up):
        residual = _dual_infeasibility(xp, g, lo, up) / d2
        return residual * residual

    dual_squared = column_reduce(xp, xp.sum, squared_dual_residual, reduced, data.d2, inf.col_lower, inf.col_upper)
    return pobj_sum, col_support, dual_squared


def kkt_measures(xp, data: PDHGData, x_hat, y_hat, ax_hat, reduced, inf: InfiniteBounds | None = None,
                 column_sums=None):
    """Relative KKT measures of the UNSCALED problem at a scaled point (kkt.py's definitions);
    ``reduced`` = c~ - A~^T y^, the scaled reduced costs, read only for :func:`column_kkt_sums`
    (None where ``column_sums``, those three sums, are given). Column terms go through
    :func:`column_reduce`."""
    inf = infinite_bounds(xp, data) if inf is None else inf

    def squared_row_residual(a, lb, ub, d1):
        residual = (a - xp.clip(a, lb, ub)) / (data.theta_b * d1)
        return residual * residual

    row_squared = column_reduce(xp, xp.sum, squared_row_residual, ax_hat, data.con_lb, data.con_ub, data.d1)
    if column_sums is None:
        column_sums = column_kkt_sums(xp, data, x_hat, reduced, inf)
    pobj_sum, col_support, dual_squared = column_sums
    objective_scale = data.theta_b * data.theta_c
    pobj = pobj_sum / objective_scale + data.c0
    dobj = data.c0 + _row_support(xp, data, inf, y_hat, unscale=True) + col_support / objective_scale
    rel_p = xp.sqrt(row_squared) / (1.0 + data.bound_norm)
    rel_d = xp.sqrt(dual_squared) / data.theta_c / (1.0 + data.cost_norm)
    rel_gap = xp.abs(pobj - dobj) / (1.0 + xp.abs(pobj) + xp.abs(dobj))
    return rel_p, rel_d, rel_gap, pobj, dobj


def _unit_scale(xp, scale):
    """1 / scale, or 0 where scale is 0 (a zero direction stays zero): 1 / inf is exactly 0."""
    return 1.0 / xp.where(scale > 0, scale, xp.inf)


def dual_ray_measures(xp, data: PDHGData, y_ray, aty_ray, inf: InfiniteBounds | None = None,
                      fused_columns=None):
    """PDLP's Farkas test (objective, infeasibility) for a scaled dual direction, unit max-norm.

    The unscaled direction is y = D1 y~ / s (s = its max-norm) with A^T y = D2^-1 A~^T y~ / s;
    g = -A^T y is its reduced cost, whose bound term is that of :func:`_scaled_col_support`
    applied to D2 g = -A~^T y~ / s (divided by theta_b). ``aty_ray`` = A~^T y~ (whole, lazy, or
    a zero-argument function that forms it); ``fused_columns(inv)``, where given, returns the
    two column terms (bound-term sum, infeasibility max) in one pass, or None (then they come
    from ``aty_ray``)."""
    inf = infinite_bounds(xp, data) if inf is None else inf
    y = data.d1 * y_ray
    scale = _max_abs(xp, y)
    inv = _unit_scale(xp, scale)
    y = y * inv
    y_s = _sign_project(xp, y, inf.row_lower, inf.row_upper)
    column_terms = fused_columns(inv) if fused_columns is not None else None
    if column_terms is None:
        column_terms = _dual_ray_column_terms(xp, data, aty_ray() if callable(aty_ray) else aty_ray, inv, inf)
    col_support, col_infeasibility = column_terms
    objective = _row_support(xp, data, inf, y_s) + col_support / data.theta_b
    infeas = xp.maximum(col_infeasibility, _max_abs(xp, y - y_s))
    return xp.where(scale > 0, objective, 0.0), infeas


def _dual_ray_column_terms(xp, data: PDHGData, aty_ray, inv, inf: InfiniteBounds):
    """(sum of the bound terms, max of the infeasibilities) of :func:`dual_ray_measures` over the
    columns, from A~^T y~ (whole, or lazy: formed block by block as it is read,
    ``_reduced_product``) in one pass."""
    def support(a, lb, ub, d2, lo, up):
        return _scaled_col_support(xp, a * (-inv), lb, ub, lo, up)

    def infeasibility(a, lb, ub, d2, lo, up):
        return xp.abs(_dual_infeasibility(xp, a * (-inv) / d2, lo, up))

    columns = (aty_ray, data.var_lb, data.var_ub, data.d2, inf.col_lower, inf.col_upper)
    if aty_ray.shape[0]:
        return column_reductions(xp, [(xp.sum, support), (xp.max, infeasibility)], *columns)
    return column_reduce(xp, xp.sum, support, *columns), xp.asarray(0.0, dtype=inv.dtype)


def primal_ray_measures(xp, data: PDHGData, x_new, x_base, ax_ray, inf: InfiniteBounds | None = None):
    """Unboundedness test (-c@d, infeasibility) for the scaled primal direction x_new - x_base,
    unit max-norm (the difference is formed block by block, see :func:`column_reduce`)."""
    inf = infinite_bounds(xp, data) if inf is None else inf
    n = x_new.shape[0]
    if n == 0:
        zero = xp.asarray(0.0, dtype=x_new.dtype)
        return zero, _cone_violation(xp, inf.row_lower, inf.row_upper, ax_ray * 0.0)
    scale = column_reduce(xp, xp.max, lambda a, b, d2: xp.abs(d2 * (a - b)), x_new, x_base, data.d2)
    inv = _unit_scale(xp, scale)
    ad = ax_ray / data.d1 * inv
    objective = -column_reduce(xp, xp.sum, lambda c, a, b: c * (a - b), data.c, x_new, x_base) * inv / data.theta_c

    def cone_violation(a, b, d2, lo, up):
        return _cone_excess(xp, lo, up, d2 * (a - b) * inv)

    col_violation = column_reduce(xp, xp.max, cone_violation, x_new, x_base, data.d2, inf.col_lower, inf.col_upper)
    infeas = xp.maximum(_cone_violation(xp, inf.row_lower, inf.row_upper, ad), col_violation)
    return objective, infeas


def _reduced_product(xp, op, y):
    """A~^T y for :func:`column_reduce` only: block by block where the namespace reduces in blocks
    and the operator can form its product so (``op.rmatvec_blocks``, a
    :class:`~scotopt.kernels.block_columns.BlockColumns`), else the whole vector."""
    blocks = getattr(op, "rmatvec_blocks", None)
    lazy = blocks(y) if blocks is not None and getattr(xp, "column_block", None) else None
    return lazy if lazy is not None else op.rmatvec(y)


def _reduced_costs(xp, op, data: PDHGData, y):
    """c~ - A~^T y, written over the fresh product where arrays are mutable (NumPy)."""
    aty = op.rmatvec(y)
    if getattr(xp, "writes_in_place", False):
        return xp.subtract(data.c, aty, out=aty)
    return data.c - aty


def _distance_squared(xp, a, b):
    """||a - b||^2 of two vectors, block by block (:func:`column_reduce`)."""

    def squared(u, v):
        d = u - v
        return d * d

    return column_reduce(xp, xp.sum, squared, a, b)


def _dot_of_differences(xp, a, b, c, d):
    """(a - b) @ (c - d), block by block: neither difference is formed whole."""
    return column_reduce(xp, xp.sum, lambda a, b, c, d: (a - b) * (c - d), a, b, c, d)


def fixed_point_residual(xp, data: PDHGData, omega, dx_squared, dy_squared, dy_adx):
    """||(dx, dy)||_P with P = [[I/tau, A^T], [A, I/sigma]], tau = eta/omega, sigma = eta*omega
    (cuPDLPx ``restart.md``), from the reductions ||dx||^2, ||dy||^2 and dy @ (A dx): each is
    reduced where its difference is formed (:func:`_distance_squared`,
    :func:`_dot_of_differences`), so no difference vector is held. Even in (dx, dy): the sign of
    the difference does not matter."""
    r2 = dx_squared * omega / data.eta + dy_squared / (data.eta * omega) + 2.0 * dy_adx
    return xp.sqrt(xp.maximum(r2, 0.0))


def _residual_between(xp, data: PDHGData, omega, x, y, ax, x2, y2, ax2):
    """The fixed-point residual of the step from (x, y, A x) to (x2, y2, A x2)."""
    return fixed_point_residual(xp, data, omega, _distance_squared(xp, x2, x), _distance_squared(xp, y2, y),
                                _dot_of_differences(xp, y2, y, ax2, ax))


def evaluate(xp, op, data: PDHGData, params: Params, s: PDHGState):
    """Measure the PDHG iterate T(z), decide restart and primal weight; return (new state, stats).

    ``stats`` is a 1-D array laid out as :data:`STAT_NAMES`. The caller keeps ``s``: if it
    decides to stop, the answer is T(s), recomputed by :func:`candidate`.

    Column-length differences (T(z) - z, T(z) - z0 and their products) are formed where they are
    read and reduced at once, so that NumPy holds at most a few column temporaries at a time
    (JAX and CuPy fuse or free them anyway): at 10^8 columns each one is 400 MB in float32.
    """
    release = getattr(op, "release_scratch", None)  # what a fused step keeps (memory only)
    if release is not None:
        release()

    def anchor_residual():
        # The epoch's reference residual: that of its anchor under the weight in force (cuPDLPx
        # measures it right after the restart). A restart leaves it pending (NaN); the fused
        # network step measures it in the epoch's first step (:func:`step`), else it is measured
        # here, before T(z) exists: measured at the restart, T of the new anchor was a third
        # column vector beside the evaluated state and T(z) (the solve's peak memory).
        return map_and_residual(xp, op, data, s.x0, s.y0, s.ax0, s.omega)[3]

    s_r0 = _cond(xp, xp.isnan(s.r0), anchor_residual, lambda: s.r0)
    x_hat, y_hat, ax_hat, r = map_and_residual(xp, op, data, s.x, s.y, s.ax, s.omega)
    fused_sums = getattr(op, "fused_column_kkt", None)  # the sums without the reduced-cost vector
    sums = fused_sums(data, x_hat, y_hat) if fused_sums is not None else None
    # with the sums given, only the ray tests read the column masks: formed there, when they run
    inf = infinite_bounds(xp, data, columns=sums is None)
    if sums is None:
        reduced = _reduced_costs(xp, op, data, y_hat)
        sums = column_kkt_sums(xp, data, x_hat, reduced, inf)
        del reduced
    rel_p, rel_d, rel_gap, pobj, dobj = kkt_measures(xp, data, x_hat, y_hat, ax_hat, None, inf, column_sums=sums)

    def ray_tests():
        # Infeasibility candidates: the step direction T(z) - z and the epoch displacement
        # T(z) - z0; for an infeasible LP both grow along the certificate ray. A^T of each dual
        # direction is one product here, at one check in ray_check_period. Each direction is
        # formed here and dropped after its test (row vectors the rest of the evaluation
        # does not hold).
        full = inf if inf.col_lower is not None else infinite_bounds(xp, data)
        fused_ray = getattr(op, "fused_dual_ray_columns", None)  # the column terms in one compiled pass

        def dual_ray(dy):
            fused = None if fused_ray is None else (lambda inv: fused_ray(data, dy, inv))
            return dual_ray_measures(xp, data, dy, lambda: _reduced_product(xp, op, dy), full, fused)

        dy = y_hat - s.y
        dro1, dri1 = dual_ray(dy)
        del dy
        dy0 = y_hat - s.y0
        dro2, dri2 = dual_ray(dy0)
        del dy0
        use_second_dual = dri2 * xp.maximum(dro1, 0.0) < dri1 * xp.maximum(dro2, 0.0)
        if params.primal_rays:
            pro1, pri1 = primal_ray_measures(xp, data, x_hat, s.x, ax_hat - s.ax, full)
            pro2, pri2 = primal_ray_measures(xp, data, x_hat, s.x0, ax_hat - s.ax0, full)
            use_second_primal = pri2 * xp.maximum(pro1, 0.0) < pri1 * xp.maximum(pro2, 0.0)
        else:  # c@x bounded below on the box: no primal ray exists (objective 0 makes no claim)
            pro1, pri1 = xp.asarray(0.0, dtype=r.dtype), xp.asarray(float("inf"), dtype=r.dtype)
            pro2, pri2, use_second_primal = pro1, pri1, xp.asarray(False)
        return xp.stack([
            xp.where(use_second_dual, dro2, dro1), xp.where(use_second_dual, dri2, dri1),
            xp.where(use_second_primal, pro2, pro1), xp.where(use_second_primal, pri2, pri1),
            1.0 * use_second_dual + 2.0 * use_second_primal,
        ]).astype(r.dtype)

    def no_ray_tests():  # objectives 0: no infeasibility claim
        return xp.asarray([0.0, float("inf"), 0.0, float("inf"), 0.0], dtype=r.dtype)

    period = params.ray_check_period * params.check_every
    check_rays = (s.n - period * xp.floor(s.n / period)) < params.check_every
    dro, dri, pro, pri, ray_candidate = _cond(xp, check_rays, ray_tests, no_ray_tests)

    r0 = xp.where(xp.isinf(s_r0), r, s_r0)
    restart = ((r <= params.restart_sufficient * r0)
               | ((r <= params.restart_necessary * r0) & (r > s.r_prev))
               | (s.k >= params.restart_artificial * s.n))

    def restarted():
        # PID update of log(omega) on the primal/dual displacement imbalance since the anchor
        # (it only takes effect at a restart, so it is computed only then where the namespace
        # can branch).
        move_x = xp.sqrt(_distance_squared(xp, x_hat, s.x0))
        move_y = xp.sqrt(_distance_squared(xp, y_hat, s.y0))
        safe_x = xp.where(move_x > 0, move_x, 1.0)
        safe_y = xp.where(move_y > 0, move_y, 1.0)
        error = xp.log(s.omega * safe_x / safe_y)
        integral = params.pid_integral_decay * s.pid_integral + error
        log_omega = xp.log(s.omega) - (params.pid_kp * error + params.pid_ki * integral
                                       + params.pid_kd * (error - s.pid_previous))
        # The residual-ratio safeguard only means something when both residuals are nonzero: with
        # every variable boxed the dual residual is exactly 0 (Netlib RECIPE) and the weight would
        # never move.
        both = (rel_p > 0) & (rel_d > 0)
        ratio = xp.where(both, rel_d / xp.where(rel_p > 0, rel_p, 1.0), 1.0)
        unsafe = ((move_x < 1e-16) | (move_x > 1e12) | (move_y < 1e-16) | (move_y > 1e12)
                  | (ratio < 1e-8) | (ratio > 1e8) | ~xp.isfinite(log_omega))
        omega_new = xp.where(unsafe, s.omega_best, xp.exp(xp.clip(log_omega, -50.0, 50.0)))
        balance = xp.abs(xp.log10(xp.where(ratio > 0, ratio, 1e-300)))
        better = (~unsafe) & both & (balance < s.balance_best)
        return PDHGState(
            x=x_hat, y=y_hat, ax=ax_hat, x0=x_hat, y0=y_hat, ax0=ax_hat,
            k=0.0 * s.k, n=s.n, omega=omega_new,
            pid_integral=xp.where(unsafe, 0.0, integral), pid_previous=xp.where(unsafe, 0.0, error),
            # The new epoch's reference residual is that of its anchor under the new weight, measured
            # at the next evaluation (anchor_residual). Using the pre-restart residual instead made
            # epochs end after one check and the weight update run away.
            r0=xp.asarray(float("nan"), dtype=r.dtype), r_prev=xp.asarray(float("inf"), dtype=r.dtype),
            # Remember the weight that was in force when the residuals were best balanced (cuPDLPx
            # keeps the one produced at that restart, which on Netlib GROW7 with geometric-mean
            # scaling was already 1e-5 and led the reset to a dead weight).
            omega_best=xp.where(better, s.omega, s.omega_best),
            balance_best=xp.where(better, balance, s.balance_best),
            restarts=s.restarts + 1.0,
        )

    def continued():
        return s._replace(r0=r0, r_prev=r)

    new_state = _cond_state(xp, restart, restarted, continued)
    finite = xp.isfinite(r) & xp.isfinite(pobj) & xp.isfinite(dobj) & xp.isfinite(rel_p) & xp.isfinite(rel_d)
    stats = xp.stack([
        rel_p, rel_d, rel_gap, pobj, dobj, r, 1.0 * restart, s.omega,
        dro, dri, pro, pri, ray_candidate, 1.0 * finite,
    ])
    return new_state, stats


def candidate(xp, op, data: PDHGData, s: PDHGState, ray_candidate: int = 0, with_rays: bool = True):
    """Unscaled (x, y, x_ray, y_ray) of T(s) on the device, for verification and the Result
    (the rays None without ``with_rays``: two vectors fewer where only (x, y) is wanted)."""
    x_hat, y_hat, _ = pdhg_map(xp, op, data, s.x, s.y, s.ax, s.omega)
    x_ray = y_ray = None
    if with_rays:
        x_base = s.x0 if ray_candidate & 2 else s.x
        y_base = s.y0 if ray_candidate & 1 else s.y
        x_ray, y_ray = data.d2 * (x_hat - x_base), data.d1 * (y_hat - y_base)
    return _unscaled(xp, data.d2, x_hat, data.theta_b), _unscaled(xp, data.d1, y_hat, data.theta_c), x_ray, y_ray


def _unscaled(xp, scale, v, theta):
    """``scale * v / theta``; on NumPy written over ``v`` (T(z)'s fresh vector, which nothing
    else holds), a column vector less when a large solve hands back its answer."""
    if getattr(xp, "writes_in_place", False):
        xp.multiply(scale, v, out=v)
        return xp.divide(v, theta, out=v)
    return scale * v / theta
