"""Restarted Halpern PDHG with reflection (r2HPDHG), written once for every backend.

Every function here is pure: it takes an array namespace ``xp`` (numpy, jax.numpy or cupy),
an operator ``op`` with ``matvec`` / ``rmatvec`` on the scaled matrix A~, the immutable
:class:`PDHGData` and a :class:`PDHGState`, and returns new values. Nothing here loops over
iterations or talks to the host; the drivers do (``driver.py``).

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

A x and A^T y are carried along with x and y (they are linear in the iterates), so one
iteration costs one ``matvec`` and one ``rmatvec``.

Restarts use the fixed-point residual r(z) = ||z - T z||_P in the PDHG metric
P = [[I/tau, A^T], [A, I/sigma]] (cuPDLPx ``restart.md``): restart when
r <= beta_sufficient r0, or r <= beta_necessary r0 and r > r_prev, or k >= beta_artificial N.
At a restart the anchor and iterate become T(z), and the primal weight is updated by the PID
controller of cuPDLPx ``primal-weight.md`` (arXiv 2507.14051 s.3.3) on
e = log(w ||x^ - x0|| / ||y^ - y0||), with the HPR-LP safeguard.
"""

from __future__ import annotations

from typing import Any, NamedTuple

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

    ``*_fin`` arrays are the ORIGINAL (unscaled) bounds with infinities replaced by 0, used in
    dual objectives; infinities are read from the scaled bounds.
    """

    c: Any
    con_lb: Any
    con_ub: Any
    var_lb: Any
    var_ub: Any
    d1: Any
    d2: Any
    con_lb_fin: Any
    con_ub_fin: Any
    var_lb_fin: Any
    var_ub_fin: Any
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
    ax: Any
    aty: Any
    x0: Any
    y0: Any
    ax0: Any
    aty0: Any
    k: Any  # iterations since the last restart
    n: Any  # total iterations
    omega: Any  # primal weight
    pid_integral: Any
    pid_previous: Any
    r0: Any  # fixed-point residual at the start of the epoch
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


def init_state(xp, op, data: PDHGData, x, y, dtype) -> PDHGState:
    """State at iteration 0 from scaled starting points x, y (already projected)."""
    ax, aty = op.matvec(x), op.rmatvec(y)

    def scalar(v):
        return xp.asarray(v, dtype=dtype)

    return PDHGState(
        x=x, y=y, ax=ax, aty=aty, x0=x, y0=y, ax0=ax, aty0=aty,
        k=scalar(0.0), n=scalar(0.0), omega=scalar(1.0),
        pid_integral=scalar(0.0), pid_previous=scalar(0.0),
        r0=scalar(float("inf")), r_prev=scalar(float("inf")),
        omega_best=scalar(1.0), balance_best=scalar(float("inf")), restarts=scalar(0.0),
    )


def _clip_by_ufuncs(xp):
    def clip(v, lower, upper):
        return xp.minimum(xp.maximum(v, lower), upper)  # np.clip's definition

    return clip


def _primal_step(xp, clip):
    def primal_step(x, aty, c, var_lb, var_ub, eta, omega):
        return clip(x - (eta / omega) * (c - aty), var_lb, var_ub)

    return primal_step


def _dual_step(xp, clip):
    def dual_step(y, ax_hat, ax, con_lb, con_ub, eta, omega):
        sigma = eta * omega
        v = y - sigma * (2.0 * ax_hat - ax)
        return v - clip(v, -sigma * con_ub, -sigma * con_lb)

    return dual_step


def _halpern(xp, clip):
    def halpern(hat, current, start, k, reflection):
        w = (k + 1.0) / (k + 2.0)
        return (2.0 * reflection * w) * hat + ((1.0 - 2.0 * reflection) * w) * current + (1.0 - w) * start

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


_KERNELS: dict = {}


def elementwise(xp, factory):
    """The elementwise body ``factory(xp, clip)`` for this array namespace, built once.

    On CuPy (an ``xp`` with ``fuse``) it runs as one fused kernel: CuPy otherwise launches a
    kernel per operation, and at ~45 launches an iteration the launches, not the memory
    traffic, set the time (bench/README.md, GPU section). NumPy runs it as written; JAX fuses
    it under jit by itself.
    """
    key = (xp.__name__, factory)
    if key not in _KERNELS:
        if hasattr(xp, "fuse"):
            _KERNELS[key] = _FusedOrPlain(xp, factory(xp, xp.clip), factory(xp, _clip_by_ufuncs(xp)))
        else:
            _KERNELS[key] = factory(xp, xp.clip)
    return _KERNELS[key]


def pdhg_map(xp, op, data: PDHGData, x, y, ax, aty, omega):
    """One application of T: returns (x^, y^, A x^, A^T y^)."""
    x_hat = elementwise(xp, _primal_step)(x, aty, data.c, data.var_lb, data.var_ub, data.eta, omega)
    ax_hat = op.matvec(x_hat)
    y_hat = elementwise(xp, _dual_step)(y, ax_hat, ax, data.con_lb, data.con_ub, data.eta, omega)
    aty_hat = op.rmatvec(y_hat)
    return x_hat, y_hat, ax_hat, aty_hat


def step(xp, op, data: PDHGData, params: Params, s: PDHGState) -> PDHGState:
    """One reflected Halpern PDHG iteration (no host synchronisation)."""
    x_hat, y_hat, ax_hat, aty_hat = pdhg_map(xp, op, data, s.x, s.y, s.ax, s.aty, s.omega)
    halpern = elementwise(xp, _halpern)
    gamma = params.reflection
    return s._replace(
        x=halpern(x_hat, s.x, s.x0, s.k, gamma),
        y=halpern(y_hat, s.y, s.y0, s.k, gamma),
        ax=halpern(ax_hat, s.ax, s.ax0, s.k, gamma),
        aty=halpern(aty_hat, s.aty, s.aty0, s.k, gamma),
        k=s.k + 1.0,
        n=s.n + 1.0,
    )


def _norm(xp, v):
    return xp.sqrt(xp.sum(v * v))


def _max_abs(xp, v):
    return xp.max(xp.abs(v)) if v.shape[0] > 0 else xp.asarray(0.0, dtype=v.dtype)


def _sign_project(xp, v, lower, upper):
    """Zero the positive part of v where lower = -inf and the negative part where upper = +inf."""
    v = xp.where((v > 0) & xp.isneginf(lower), 0.0, v)
    return xp.where((v < 0) & xp.isposinf(upper), 0.0, v)


def _support(xp, lower_fin, upper_fin, v):
    return xp.sum(lower_fin * xp.maximum(v, 0.0)) + xp.sum(upper_fin * xp.minimum(v, 0.0))


def _cone_violation(xp, lower, upper, v):
    hi = xp.where(xp.isposinf(upper), v, xp.minimum(v, 0.0))
    clipped = xp.where(xp.isneginf(lower), hi, xp.maximum(hi, 0.0))
    return _max_abs(xp, v - clipped)


def kkt_measures(xp, data: PDHGData, x_hat, y_hat, ax_hat, aty_hat):
    """Relative KKT measures of the UNSCALED problem at a scaled point (kkt.py's definitions)."""
    row_res = (ax_hat - xp.clip(ax_hat, data.con_lb, data.con_ub)) / (data.theta_b * data.d1)
    g = (data.c - aty_hat) / (data.theta_c * data.d2)
    r = _sign_project(xp, g, data.var_lb, data.var_ub)
    y = data.d1 * y_hat / data.theta_c
    pobj = xp.sum(data.c * x_hat) / (data.theta_b * data.theta_c) + data.c0
    dobj = (data.c0 + _support(xp, data.con_lb_fin, data.con_ub_fin, y)
            + _support(xp, data.var_lb_fin, data.var_ub_fin, r))
    rel_p = _norm(xp, row_res) / (1.0 + data.bound_norm)
    rel_d = _norm(xp, g - r) / (1.0 + data.cost_norm)
    rel_gap = xp.abs(pobj - dobj) / (1.0 + xp.abs(pobj) + xp.abs(dobj))
    return rel_p, rel_d, rel_gap, pobj, dobj


def dual_ray_measures(xp, data: PDHGData, y_ray, aty_ray):
    """PDLP's Farkas test (objective, infeasibility) for a scaled dual direction, unit max-norm."""
    y = data.d1 * y_ray
    scale = _max_abs(xp, y)
    inv = xp.where(scale > 0, 1.0 / xp.where(scale > 0, scale, 1.0), 0.0)
    y = y * inv
    y_s = _sign_project(xp, y, data.con_lb, data.con_ub)
    g = -(aty_ray / data.d2) * inv
    r = _sign_project(xp, g, data.var_lb, data.var_ub)
    objective = _support(xp, data.con_lb_fin, data.con_ub_fin, y_s) + _support(xp, data.var_lb_fin, data.var_ub_fin, r)
    infeas = xp.maximum(_max_abs(xp, g - r), _max_abs(xp, y - y_s))
    return xp.where(scale > 0, objective, 0.0), infeas


def primal_ray_measures(xp, data: PDHGData, x_ray, ax_ray):
    """Unboundedness test (-c@d, infeasibility) for a scaled primal direction, unit max-norm."""
    d = data.d2 * x_ray
    scale = _max_abs(xp, d)
    inv = xp.where(scale > 0, 1.0 / xp.where(scale > 0, scale, 1.0), 0.0)
    d = d * inv
    ad = ax_ray / data.d1 * inv
    objective = -xp.sum(data.c * x_ray) * inv / data.theta_c
    infeas = xp.maximum(_cone_violation(xp, data.con_lb, data.con_ub, ad),
                        _cone_violation(xp, data.var_lb, data.var_ub, d))
    return objective, infeas


def fixed_point_residual(xp, data: PDHGData, omega, dx, dy, adx):
    """||(dx, dy)||_P with P = [[I/tau, A^T], [A, I/sigma]], tau = eta/omega, sigma = eta*omega
    (cuPDLPx ``restart.md``); ``adx`` is A dx, already at hand from the carried products."""
    r2 = (xp.sum(dx * dx) * omega / data.eta + xp.sum(dy * dy) / (data.eta * omega)
          + 2.0 * xp.sum(dy * adx))
    return xp.sqrt(xp.maximum(r2, 0.0))


def evaluate(xp, op, data: PDHGData, params: Params, s: PDHGState):
    """Measure the PDHG iterate T(z), decide restart and primal weight; return (new state, stats).

    ``stats`` is a 1-D array laid out as :data:`STAT_NAMES`. The caller keeps ``s``: if it
    decides to stop, the answer is T(s), recomputed by :func:`candidate`.
    """
    x_hat, y_hat, ax_hat, aty_hat = pdhg_map(xp, op, data, s.x, s.y, s.ax, s.aty, s.omega)
    r = fixed_point_residual(xp, data, s.omega, s.x - x_hat, s.y - y_hat, s.ax - ax_hat)
    rel_p, rel_d, rel_gap, pobj, dobj = kkt_measures(xp, data, x_hat, y_hat, ax_hat, aty_hat)

    # Infeasibility candidates: the step direction T(z) - z and the epoch displacement
    # T(z) - z0; for an infeasible LP both grow along the certificate ray.
    dro1, dri1 = dual_ray_measures(xp, data, y_hat - s.y, aty_hat - s.aty)
    dro2, dri2 = dual_ray_measures(xp, data, y_hat - s.y0, aty_hat - s.aty0)
    pro1, pri1 = primal_ray_measures(xp, data, x_hat - s.x, ax_hat - s.ax)
    pro2, pri2 = primal_ray_measures(xp, data, x_hat - s.x0, ax_hat - s.ax0)
    use_second_dual = dri2 * xp.maximum(dro1, 0.0) < dri1 * xp.maximum(dro2, 0.0)
    use_second_primal = pri2 * xp.maximum(pro1, 0.0) < pri1 * xp.maximum(pro2, 0.0)
    dro, dri = xp.where(use_second_dual, dro2, dro1), xp.where(use_second_dual, dri2, dri1)
    pro, pri = xp.where(use_second_primal, pro2, pro1), xp.where(use_second_primal, pri2, pri1)
    ray_candidate = 1.0 * use_second_dual + 2.0 * use_second_primal

    r0 = xp.where(xp.isinf(s.r0), r, s.r0)
    restart = ((r <= params.restart_sufficient * r0)
               | ((r <= params.restart_necessary * r0) & (r > s.r_prev))
               | (s.k >= params.restart_artificial * s.n))

    # PID update of log(omega) on the primal/dual displacement imbalance since the anchor.
    move_x = _norm(xp, x_hat - s.x0)
    move_y = _norm(xp, y_hat - s.y0)
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
    integral = xp.where(unsafe, 0.0, integral)
    previous = xp.where(unsafe, 0.0, error)
    balance = xp.abs(xp.log10(xp.where(ratio > 0, ratio, 1e-300)))
    better = (~unsafe) & both & (balance < s.balance_best)
    # Remember the weight that was in force when the residuals were best balanced (cuPDLPx keeps
    # the one produced at that restart, which on Netlib GROW7 with geometric-mean scaling was
    # already 1e-5 and led the reset to a dead weight).
    omega_best = xp.where(restart & better, s.omega, s.omega_best)
    balance_best = xp.where(restart & better, balance, s.balance_best)

    def pick(new, old):
        return xp.where(restart, new, old)

    # The reference residual of a new epoch is that of its anchor under the new weight
    # (cuPDLPx measures it right after the restart). Using the pre-restart residual instead
    # made epochs end after one check and the weight update run away.
    omega_next = pick(omega_new, s.omega)
    xa, ya, axa, _ = pdhg_map(xp, op, data, x_hat, y_hat, ax_hat, aty_hat, omega_next)
    r_anchor = fixed_point_residual(xp, data, omega_next, x_hat - xa, y_hat - ya, ax_hat - axa)

    new_state = PDHGState(
        x=pick(x_hat, s.x), y=pick(y_hat, s.y), ax=pick(ax_hat, s.ax), aty=pick(aty_hat, s.aty),
        x0=pick(x_hat, s.x0), y0=pick(y_hat, s.y0), ax0=pick(ax_hat, s.ax0), aty0=pick(aty_hat, s.aty0),
        k=pick(0.0 * s.k, s.k), n=s.n,
        omega=omega_next,
        pid_integral=pick(integral, s.pid_integral), pid_previous=pick(previous, s.pid_previous),
        r0=pick(r_anchor, r0), r_prev=pick(xp.asarray(float("inf"), dtype=r.dtype), r),
        omega_best=omega_best, balance_best=balance_best,
        restarts=s.restarts + pick(1.0, 0.0),
    )
    finite = xp.isfinite(r) & xp.isfinite(pobj) & xp.isfinite(dobj) & xp.isfinite(rel_p) & xp.isfinite(rel_d)
    stats = xp.stack([
        rel_p, rel_d, rel_gap, pobj, dobj, r, 1.0 * restart, s.omega,
        dro, dri, pro, pri, ray_candidate, 1.0 * finite,
    ])
    return new_state, stats


def candidate(xp, op, data: PDHGData, s: PDHGState, ray_candidate: int = 0):
    """Unscaled (x, y, x_ray, y_ray) of T(s) on the device, for verification and the Result."""
    x_hat, y_hat, _, _ = pdhg_map(xp, op, data, s.x, s.y, s.ax, s.aty, s.omega)
    x = data.d2 * x_hat / data.theta_b
    y = data.d1 * y_hat / data.theta_c
    x_base = s.x0 if ray_candidate & 2 else s.x
    y_base = s.y0 if ray_candidate & 1 else s.y
    return x, y, data.d2 * (x_hat - x_base), data.d1 * (y_hat - y_base)
