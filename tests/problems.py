"""Tiny LPs with known answers, random LPs built from a chosen KKT point, and a HiGHS reference.

Every optimal instance in :func:`catalog` comes with a primal AND a dual optimal solution derived
by hand (the derivation is in the comment above each instance); ``tests/test_catalog.py``
checks them with :func:`scotopt.solvers.kkt.kkt_report` and against HiGHS.

Sign conventions are those of ``scotopt/solvers/kkt.py``: reduced costs ``r = c - A^T y``;
``y_i > 0`` only if ``con_lb_i`` is finite (row pushing on its lower bound), ``y_i < 0`` only if
``con_ub_i`` is finite; likewise ``r_j > 0`` only if ``var_lb_j`` is finite, ``r_j < 0`` only if
``var_ub_j`` is finite. The dual objective is
``c0 + sum(con_lb y^+ - con_ub y^-) + sum(var_lb r^+ - var_ub r^-)``.

HiGHS uses the same signs for a minimisation: ``row_dual`` is our ``y`` and ``col_dual`` is
``c - A^T row_dual`` (checked empirically in ``test_highs_sign_convention``).

All catalog data are dyadic rationals, so every hand-derived value is exact in float64.
"""

from __future__ import annotations

import dataclasses

import highspy
import numpy as np
import scipy.sparse as sp

from scotopt.problem import LP
from scotopt.status import Status

INF = np.inf


@dataclasses.dataclass(frozen=True)
class CatalogLP:
    """One catalog instance.

    ``x_opt``, ``y_opt`` and ``objective`` are ``None`` for infeasible / unbounded instances.
    ``acceptable_statuses`` lists every status a correct solver may report (defaults to
    ``(expected_status,)``); ``unique`` is True when both the primal and the dual optimal
    solutions are unique, so solvers' vectors can be compared with ``x_opt`` / ``y_opt``.
    ``dual_ray`` / ``primal_ray`` are hand-written infeasibility certificates where known.
    """

    name: str
    lp: LP
    x_opt: np.ndarray | None
    y_opt: np.ndarray | None
    objective: float | None
    expected_status: Status
    acceptable_statuses: tuple[Status, ...] = ()
    unique: bool = False
    dual_ray: np.ndarray | None = None
    primal_ray: np.ndarray | None = None
    notes: str = ""

    def __post_init__(self):
        if not self.acceptable_statuses:
            object.__setattr__(self, "acceptable_statuses", (self.expected_status,))
        if self.acceptable_statuses[0] != self.expected_status:
            raise ValueError(f"{self.name}: expected_status must come first in acceptable_statuses")

    @property
    def is_optimal(self) -> bool:
        return self.expected_status == Status.OPTIMAL


def _arr(values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def _optimal(name, lp, x, y, objective, unique=True, notes=""):
    return CatalogLP(
        name=name,
        lp=lp,
        x_opt=_arr(x),
        y_opt=_arr(y),
        objective=float(objective),
        expected_status=Status.OPTIMAL,
        unique=unique,
        notes=notes,
    )


def catalog() -> list[CatalogLP]:
    """Fresh instances (new LP objects each call, so tests cannot leak changes to each other)."""
    out: list[CatalogLP] = []

    # equality_rows: min 2x0 + 3x1 + x2  s.t. x0 + x1 + x2 = 6, x0 - x2 = 2, x >= 0.
    # Eliminating: x2 = x0 - 2, x1 = 8 - 2 x0, objective 22 - 3 x0 with 2 <= x0 <= 4, so
    # x = (4, 0, 2), value 10. Basic x0, x2 give r0 = r2 = 0: y0 + y1 = 2, y0 - y1 = 1, so
    # y = (1.5, 0.5); r1 = 3 - 1.5 = 1.5 > 0 with x1 at its lower bound. Dual: 6*1.5 + 2*0.5 = 10.
    out.append(
        _optimal(
            "equality_rows",
            LP(c=[2, 3, 1], A=[[1, 1, 1], [1, 0, -1]], con_lb=[6, 2], con_ub=[6, 2], name="equality_rows"),
            x=[4, 0, 2],
            y=[1.5, 0.5],
            objective=10.0,
        )
    )

    # le_rows: min -2x0 - 3x1  s.t. x0 + x1 <= 4, x0 + 3x1 <= 6, x >= 0.
    # Both rows tight: x = (3, 1), value -9. r = 0: y0 + y1 = -2, y0 + 3y1 = -3, so
    # y = (-1.5, -0.5) (both <= 0: rows at their upper bounds). Dual: 4(-1.5) + 6(-0.5) = -9.
    out.append(
        _optimal(
            "le_rows",
            LP(c=[-2, -3], A=[[1, 1], [1, 3]], con_ub=[4, 6], name="le_rows"),
            x=[3, 1],
            y=[-1.5, -0.5],
            objective=-9.0,
        )
    )

    # ge_rows: min 5x0 + 3x1 + 3x2  s.t. x0 + x1 + x2 >= 4, 2x0 + x1 >= 5, x0 + x2 >= 0.5, x >= 0.
    # Built from x = (1, 3, 0), y = (1, 2, 0): A^T y = (5, 3, 1), r = (0, 0, 2). Rows 0, 1 are tight
    # (4, 5), row 2 is slack (1 > 0.5), x2 sits at 0 with r2 = 2 > 0. Value 5 + 9 = 14 = 4*1 + 5*2.
    out.append(
        _optimal(
            "ge_rows",
            LP(c=[5, 3, 3], A=[[1, 1, 1], [2, 1, 0], [1, 0, 1]], con_lb=[4, 5, 0.5], name="ge_rows"),
            x=[1, 3, 0],
            y=[1, 2, 0],
            objective=14.0,
        )
    )

    # Ranged rows 1 <= x0 + x1 <= 3 and -2 <= x0 - x1 <= 2; three costs put them at different ends.
    ranged_A = [[1, 1], [1, -1]]

    # ranged_at_lower: min x0 + 2x1, 0 <= x <= 10. x0 + 2x1 >= x0 + x1 >= 1 with equality only at
    # x = (1, 0) (row 1 = 1 is slack). y0: r0 = 1 - y0 = 0 so y0 = 1 > 0 (lower end); r1 = 2 - 1 = 1.
    out.append(
        _optimal(
            "ranged_at_lower",
            LP(
                c=[1, 2],
                A=ranged_A,
                con_lb=[1, -2],
                con_ub=[3, 2],
                var_lb=0,
                var_ub=10,
                name="ranged_at_lower",
            ),
            x=[1, 0],
            y=[1, 0],
            objective=1.0,
        )
    )

    # ranged_at_upper: min -2x0 - x1, 0 <= x <= 10. Both rows at their upper ends: x0 + x1 = 3,
    # x0 - x1 = 2, x = (2.5, 0.5), value -5.5. r = 0: y0 + y1 = -2, y0 - y1 = -1, y = (-1.5, -0.5).
    # Dual: 3(-1.5) + 2(-0.5) = -5.5.
    out.append(
        _optimal(
            "ranged_at_upper",
            LP(
                c=[-2, -1],
                A=ranged_A,
                con_lb=[1, -2],
                con_ub=[3, 2],
                var_lb=0,
                var_ub=10,
                name="ranged_at_upper",
            ),
            x=[2.5, 0.5],
            y=[-1.5, -0.5],
            objective=-5.5,
        )
    )

    # ranged_mixed: min x0 + 3x1, -10 <= x <= 10. Built from y = (2, -1): A^T y = (1, 3) = c, so
    # r = 0; row 0 at its lower end (1), row 1 at its upper end (2): x0 + x1 = 1, x0 - x1 = 2,
    # x = (1.5, -0.5), value 0. Dual: 1*2 + 2*(-1) = 0.
    out.append(
        _optimal(
            "ranged_mixed",
            LP(
                c=[1, 3],
                A=ranged_A,
                con_lb=[1, -2],
                con_ub=[3, 2],
                var_lb=-10,
                var_ub=10,
                name="ranged_mixed",
            ),
            x=[1.5, -0.5],
            y=[2, -1],
            objective=0.0,
        )
    )

    # free_variables: min 1.5x0 + 0.5x1 + 1.5x2  s.t. x0 + x1 + x2 = 2, x0 - x1 - x2 >= -3,
    # x0, x1 free, x2 >= 0. Built from x = (-0.5, 2.5, 0), y = (1, 0.5): A^T y = (1.5, 0.5, 0.5),
    # r = (0, 0, 1). x0 < 0 so the free bound matters. Value -0.75 + 1.25 = 0.5 = 2*1 + (-3)*0.5.
    out.append(
        _optimal(
            "free_variables",
            LP(
                c=[1.5, 0.5, 1.5],
                A=[[1, 1, 1], [1, -1, -1]],
                con_lb=[2, -3],
                con_ub=[2, INF],
                var_lb=[-INF, -INF, 0],
                var_ub=INF,
                name="free_variables",
            ),
            x=[-0.5, 2.5, 0],
            y=[1, 0.5],
            objective=0.5,
        )
    )

    # fixed_variables: x0 = 2 and x3 = -1 fixed, x1, x2 >= 0;
    # min 5x0 + x1 + 3x2 - 2x3  s.t. x0 + x1 + x2 + x3 >= 5, x1 - x2 <= 1.
    # With the fixed values x1 + x2 = 4, x1 - x2 = 1: x = (2, 2.5, 1.5, -1). Basic x1, x2 give
    # y0 + y1 = 1, y0 - y1 = 3: y = (2, -1), A^T y = (2, 1, 3, 2), r = (3, 0, 0, -4) (a fixed
    # variable takes either sign). Value 10 + 2.5 + 4.5 + 2 = 19; dual 5*2 + 1*(-1) + 2*3 + (-1)(-4) = 19.
    out.append(
        _optimal(
            "fixed_variables",
            LP(
                c=[5, 1, 3, -2],
                A=[[1, 1, 1, 1], [0, 1, -1, 0]],
                con_lb=[5, -INF],
                con_ub=[INF, 1],
                var_lb=[2, 0, 0, -1],
                var_ub=[2, INF, INF, -1],
                name="fixed_variables",
            ),
            x=[2, 2.5, 1.5, -1],
            y=[2, -1],
            objective=19.0,
        )
    )

    # one_sided_variables: x0 >= 1, x1 <= 3, x2 >= -2, x3 <= 5 (no other bounds);
    # min 3x0 - 1.5x1 + 0.5x2 + 1.5x3  s.t. x0 + x2 + x3 = 2, x1 + x2 - x3 <= 1.
    # Built from x0 at 1 (r0 = 2 > 0), x1 at 3 (r1 = -1 < 0), x2, x3 interior: x2 + x3 = 1,
    # x2 - x3 = -2, x = (1, 3, -0.5, 1.5); y = (1, -0.5), A^T y = (1, -0.5, 0.5, 1.5).
    # Value 3 - 4.5 - 0.25 + 2.25 = 0.5; dual 2*1 + 1*(-0.5) + 1*2 + 3*(-1) = 0.5.
    out.append(
        _optimal(
            "one_sided_variables",
            LP(
                c=[3, -1.5, 0.5, 1.5],
                A=[[1, 0, 1, 1], [0, 1, 1, -1]],
                con_lb=[2, -INF],
                con_ub=[2, 1],
                var_lb=[1, -INF, -2, -INF],
                var_ub=[INF, 3, INF, 5],
                name="one_sided_variables",
            ),
            x=[1, 3, -0.5, 1.5],
            y=[1, -0.5],
            objective=0.5,
        )
    )

    # empty_and_free_rows: min x0 + x1  s.t. x0 + 2x1 >= 2, -1 <= (empty row) <= 2,
    # -inf <= x0 - x1 <= inf (a free row), x >= 0. x0 + x1 = (x0 + 2x1)/2 + x0/2 >= 1, equality only
    # at x = (0, 1). y0 = 0.5 (r1 = 1 - 2*0.5 = 0), r0 = 0.5; the empty row has 0 strictly inside
    # its bounds and the free row has no finite bound, so both duals are 0. Dual 2*0.5 = 1.
    out.append(
        _optimal(
            "empty_and_free_rows",
            LP(
                c=[1, 1],
                A=[[1, 2], [0, 0], [1, -1]],
                con_lb=[2, -1, -INF],
                con_ub=[INF, 2, INF],
                name="empty_and_free_rows",
            ),
            x=[0, 1],
            y=[0.5, 0, 0],
            objective=1.0,
        )
    )

    # empty_columns: min x0 + x1 - 2x2 + 3x3  s.t. x0 + 2x1 >= 4 (x2, x3 appear in no row),
    # x0, x1 >= 0, -1 <= x2 <= 4, x3 >= 2.5. Cost -2 pushes x2 to 4 (r2 = -2), cost 3 pushes x3 to
    # 2.5 (r3 = 3). The rest: x = (0, 2) with y0 = 0.5, r0 = 0.5 (as in empty_and_free_rows).
    # Value 2 - 8 + 7.5 = 1.5; dual 4*0.5 - 4*2 + 2.5*3 = 1.5.
    out.append(
        _optimal(
            "empty_columns",
            LP(
                c=[1, 1, -2, 3],
                A=[[1, 2, 0, 0]],
                con_lb=[4],
                var_lb=[0, 0, -1, 2.5],
                var_ub=[INF, INF, 4, INF],
                name="empty_columns",
            ),
            x=[0, 2, 4, 2.5],
            y=[0.5],
            objective=1.5,
        )
    )

    # objective_constant: min 2x0 - x1 + 7.5  s.t. x0 + x1 <= 4, -x0 + x1 <= 1, 0 <= x0 <= 3, x1 >= 0.
    # -x1 >= -(1 + x0), so the objective >= 2x0 - 1 - x0 + 7.5 = x0 + 6.5 >= 6.5, equality only at
    # x = (0, 1) (row 0 = 1 is slack). y1: r1 = -1 - y1 = 0, y1 = -1; r0 = 2 - 1 = 1 > 0.
    # Dual 7.5 + 1*(-1) = 6.5.
    out.append(
        _optimal(
            "objective_constant",
            LP(
                c=[2, -1],
                A=[[1, 1], [-1, 1]],
                con_ub=[4, 1],
                var_ub=[3, INF],
                c0=7.5,
                name="objective_constant",
            ),
            x=[0, 1],
            y=[0, -1],
            objective=6.5,
        )
    )

    # all_bound_kinds: one row of each kind (equality, <=, >=, ranged) and one variable of each
    # kind (free, lower only, upper only, boxed). Built from x = (1, -2, 3, 4), y = (1.5, 0, 0, 0.5):
    # row values (3, 4, 5, -1); rows 0 (equality) and 3 (ranged, at its lower end -1) are tight,
    # rows 1 (4 <= 10) and 2 (5 >= 0) slack. A^T y = (3, 2, 1, 0.5), r = (0, 1.5, 0, -2): x1 at its
    # lower bound -2, x3 at its upper bound 4, x0 (free) and x2 (<= 6) interior.
    # Value 3 - 7 + 3 - 6 = -7; dual 3*1.5 + (-1)*0.5 + (-2)*1.5 + 4*(-2) = -7.
    out.append(
        _optimal(
            "all_bound_kinds",
            LP(
                c=[3, 3.5, 1, -1.5],
                A=[[2, 1, 1, 0], [1, 0, 1, 0], [1, 0, 0, 1], [0, 1, -1, 1]],
                con_lb=[3, -INF, 0, -1],
                con_ub=[3, 10, INF, 5],
                var_lb=[-INF, -2, -INF, 1],
                var_ub=[INF, INF, 6, 4],
                name="all_bound_kinds",
            ),
            x=[1, -2, 3, 4],
            y=[1.5, 0, 0, 0.5],
            objective=-7.0,
        )
    )

    # no_constraints: zero rows. min 4x0 - x1 + 0.5x2 + 2, x0 >= 0, x1 <= 1.5, -3 <= x2 <= 2.
    # Each variable goes to the bound its cost points at: x = (0, 1.5, -3), r = c, value -1;
    # dual 2 + 0*4 - 1.5*1 + (-3)*0.5 = -1.
    out.append(
        _optimal(
            "no_constraints",
            LP(
                c=[4, -1, 0.5],
                A=np.zeros((0, 3)),
                var_lb=[0, -INF, -3],
                var_ub=[INF, 1.5, 2],
                c0=2.0,
                name="no_constraints",
            ),
            x=[0, 1.5, -3],
            y=[],
            objective=-1.0,
        )
    )

    # degenerate_vertex: min -x0 - x1  s.t. x0 + x1 <= 2, x0 <= 1, x1 <= 1, x >= 0.
    # The only optimum is x = (1, 1), value -2, where three rows are tight (primal degenerate), so
    # the dual is NOT unique: y = (-t, t - 1, t - 1) for t in [0, 1]; we store t = 0.5.
    out.append(
        _optimal(
            "degenerate_vertex",
            LP(c=[-1, -1], A=[[1, 1], [1, 0], [0, 1]], con_ub=[2, 1, 1], name="degenerate_vertex"),
            x=[1, 1],
            y=[-0.5, -0.5, -0.5],
            objective=-2.0,
            unique=False,
            notes="primal unique, dual not unique",
        )
    )

    # multiple_primal_optima: min x0 + x1  s.t. x0 + x1 >= 2, x0 - x1 <= 1, x >= 0.
    # Every point of x0 + x1 = 2 with x0 <= 1.5 is optimal (value 2); the dual y = (1, 0), r = 0 is
    # unique. We store x = (1, 1).
    out.append(
        _optimal(
            "multiple_primal_optima",
            LP(
                c=[1, 1],
                A=[[1, 1], [1, -1]],
                con_lb=[2, -INF],
                con_ub=[INF, 1],
                name="multiple_primal_optima",
            ),
            x=[1, 1],
            y=[1, 0],
            objective=2.0,
            unique=False,
            notes="dual unique, primal not unique",
        )
    )

    # primal_infeasible: min x0 + x1  s.t. x0 - x1 >= 2, x0 + x1 <= 1, x >= 0.
    # x0 >= 2 + x1 >= 2 but x0 <= 1 - x1 <= 1. Farkas ray y = (1, -1): A^T y = (0, -2), so
    # r = -A^T y = (0, 2) >= 0 fits x >= 0, and the ray objective is 2*1 + 1*(-1) = 1 > 0.
    out.append(
        CatalogLP(
            name="primal_infeasible",
            lp=LP(c=[1, 1], A=[[1, -1], [1, 1]], con_lb=[2, -INF], con_ub=[INF, 1], name="primal_infeasible"),
            x_opt=None,
            y_opt=None,
            objective=None,
            expected_status=Status.PRIMAL_INFEASIBLE,
            dual_ray=_arr([1, -1]),
        )
    )

    # dual_infeasible (unbounded): min -x0 - 2x1  s.t. x0 - x1 <= 1, -2x0 + x1 <= 2, x >= 0.
    # x = 0 is feasible; along d = (1, 1), A d = (0, -1) <= 0 and c@d = -3 < 0.
    out.append(
        CatalogLP(
            name="dual_infeasible",
            lp=LP(c=[-1, -2], A=[[1, -1], [-2, 1]], con_ub=[1, 2], name="dual_infeasible"),
            x_opt=None,
            y_opt=None,
            objective=None,
            expected_status=Status.DUAL_INFEASIBLE,
            primal_ray=_arr([1, 1]),
        )
    )

    # primal_and_dual_infeasible: min -x0 - x1  s.t. x0 - x1 <= -1, -x0 + x1 <= -1, x >= 0.
    # Adding the rows gives 0 <= -2 (Farkas ray y = (-1, -1): A^T y = 0, objective 1 + 1 = 2 > 0).
    # The dual needs r = c - A^T y >= 0 with y <= 0: summing both components gives -2 >= 0, so
    # it is infeasible too; d = (1, 1) has A d = 0, d >= 0, c@d = -2 < 0.
    both = (Status.PRIMAL_INFEASIBLE, Status.DUAL_INFEASIBLE)
    out.append(
        CatalogLP(
            name="primal_and_dual_infeasible",
            lp=LP(c=[-1, -1], A=[[1, -1], [-1, 1]], con_ub=[-1, -1], name="primal_and_dual_infeasible"),
            x_opt=None,
            y_opt=None,
            objective=None,
            expected_status=both[0],
            acceptable_statuses=both,
            dual_ray=_arr([-1, -1]),
            primal_ray=_arr([1, 1]),
        )
    )

    # primal_and_dual_infeasible_empty_column: min x0 + x1 - x2  s.t. x0 + x1 = -1, x >= 0, and x2
    # (cost -1, no upper bound) is in no row. The row cannot reach -1 (ray y = -1: r = -A^T y =
    # (1, 1, 0) >= 0, objective -(-1)(1) = 1 > 0); the empty column forces r2 = -1 < 0 against an
    # infinite upper bound, so the dual is infeasible (ray d = (0, 0, 1)).
    out.append(
        CatalogLP(
            name="primal_and_dual_infeasible_empty_column",
            lp=LP(
                c=[1, 1, -1],
                A=[[1, 1, 0]],
                con_lb=[-1],
                con_ub=[-1],
                name="primal_and_dual_infeasible_empty_column",
            ),
            x_opt=None,
            y_opt=None,
            objective=None,
            expected_status=both[0],
            acceptable_statuses=both,
            dual_ray=_arr([-1]),
            primal_ray=_arr([0, 0, 1]),
        )
    )

    return out


def catalog_by_name() -> dict[str, CatalogLP]:
    return {inst.name: inst for inst in catalog()}


# --------------------------------------------------------------------------------------------
# Random LPs with a known optimal pair.

ROW_KINDS = ("eq", "ge", "le", "ranged", "free_row")
VAR_KINDS = ("free", "lower", "upper", "boxed", "fixed")
ALL_KINDS = ROW_KINDS + VAR_KINDS

# (m, n, density) shapes exercised by the tests.
RANDOM_SHAPES = ((3, 5, 0.6), (6, 4, 0.5), (10, 15, 0.3), (25, 20, 0.15), (40, 60, 0.05), (1, 8, 1.0))


def _magnitude(rng, size=None):
    """Strictly positive values away from 0 (strict complementarity, clear activity gaps)."""
    return rng.uniform(0.5, 2.0, size=size)


def random_lp_from_kkt(rng: np.random.Generator, m: int, n: int, density: float, kinds=ALL_KINDS):
    """A random feasible, bounded LP together with an optimal pair ``(x_star, y_star)``.

    The pair is chosen first and the data are fitted around it so that KKT holds by
    construction: ``A`` is sparse random; each variable gets a kind from ``kinds`` (free, lower
    only, upper only, boxed, fixed) and a state (at a finite bound with a reduced cost of the
    sign that bound allows, or strictly inside with reduced cost 0); each row gets a kind
    (equality, >=, <=, ranged, free) and is either tight at a finite end with a dual of the
    matching sign or slack with dual 0; finally ``c = A^T y* + r*``. Optimality follows from
    feasibility of ``x*``, sign feasibility of ``(y*, r*)`` and complementarity. Uniqueness is
    not guaranteed. Returns ``(lp, x_star, y_star)``.
    """
    kinds = tuple(kinds)
    row_kinds = [k for k in kinds if k in ROW_KINDS]
    var_kinds = [k for k in kinds if k in VAR_KINDS]
    unknown = set(kinds) - set(ALL_KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; choose from {ALL_KINDS}")
    if not var_kinds or (m > 0 and not row_kinds):
        raise ValueError("kinds must include at least one variable kind and (if m > 0) one row kind")

    A = sp.random(
        m, n, density=density, format="csr", random_state=rng, data_rvs=lambda k: rng.normal(size=k)
    )
    # Round the entries to multiples of 1/8 (0 -> 1/8) so the data print readably.
    A.data = np.round(A.data * 8) / 8
    A.data[A.data == 0] = 0.125

    x = np.zeros(n)
    r = np.zeros(n)
    var_lb = np.full(n, -INF)
    var_ub = np.full(n, INF)
    for j in range(n):
        kind = var_kinds[rng.integers(len(var_kinds))]
        if kind == "free":
            x[j] = rng.normal() * 3
        elif kind == "fixed":
            x[j] = rng.normal() * 3
            var_lb[j] = var_ub[j] = x[j]
            r[j] = rng.choice([-1.0, 1.0]) * _magnitude(rng)
        else:
            # lower / upper / boxed: choose the state among the ends this kind has, or interior.
            ends = {"lower": ["lb"], "upper": ["ub"], "boxed": ["lb", "ub"]}[kind]
            state = rng.choice(ends + ["interior"])
            lo = rng.normal() * 3
            width = _magnitude(rng) * 3
            if kind in ("lower", "boxed"):
                var_lb[j] = lo
            if kind in ("upper", "boxed"):
                var_ub[j] = lo + width if kind == "boxed" else lo
            if state == "lb":
                x[j] = var_lb[j]
                r[j] = _magnitude(rng)
            elif state == "ub":
                x[j] = var_ub[j]
                r[j] = -_magnitude(rng)
            elif kind == "boxed":
                x[j] = var_lb[j] + rng.uniform(0.2, 0.8) * width
            elif kind == "lower":
                x[j] = var_lb[j] + _magnitude(rng)
            else:
                x[j] = var_ub[j] - _magnitude(rng)

    ax = A @ x
    y = np.zeros(m)
    con_lb = np.full(m, -INF)
    con_ub = np.full(m, INF)
    for i in range(m):
        kind = row_kinds[rng.integers(len(row_kinds))]
        a = ax[i]
        if kind == "eq":
            con_lb[i] = con_ub[i] = a
            y[i] = rng.choice([-1.0, 1.0]) * _magnitude(rng)
        elif kind == "free_row":
            pass
        else:
            ends = {"ge": ["lb"], "le": ["ub"], "ranged": ["lb", "ub"]}[kind]
            state = rng.choice(ends + ["slack"])
            if state == "lb":
                con_lb[i] = a
                y[i] = _magnitude(rng)
                if kind == "ranged":
                    con_ub[i] = a + _magnitude(rng)
            elif state == "ub":
                con_ub[i] = a
                y[i] = -_magnitude(rng)
                if kind == "ranged":
                    con_lb[i] = a - _magnitude(rng)
            else:
                if kind in ("ge", "ranged"):
                    con_lb[i] = a - _magnitude(rng)
                if kind in ("le", "ranged"):
                    con_ub[i] = a + _magnitude(rng)

    c = A.T @ y + r
    c0 = float(np.round(rng.normal() * 4) / 4)
    lp = LP(
        c=c,
        A=A,
        con_lb=con_lb,
        con_ub=con_ub,
        var_lb=var_lb,
        var_ub=var_ub,
        c0=c0,
        name=f"random_kkt_{m}x{n}",
    )
    return lp, x, y


# --------------------------------------------------------------------------------------------
# HiGHS reference.

HIGHS_STATUS_TO_STATUS = {
    "optimal": Status.OPTIMAL,
    "primal_infeasible": Status.PRIMAL_INFEASIBLE,
    "dual_infeasible": Status.DUAL_INFEASIBLE,
}


def _highs_lp(lp: LP, cost=None) -> highspy.HighsLp:
    if lp.is_matrix_free:
        raise TypeError("highs_solve needs the matrix entries; got a matrix-free LP")
    m, n = lp.shape
    csc = sp.csc_matrix(lp.A)
    csc.sort_indices()
    h_lp = highspy.HighsLp()
    h_lp.num_col_ = n
    h_lp.num_row_ = m
    h_lp.col_cost_ = np.asarray(lp.c if cost is None else cost, dtype=np.float64)
    h_lp.col_lower_ = lp.var_lb
    h_lp.col_upper_ = lp.var_ub
    h_lp.row_lower_ = lp.con_lb
    h_lp.row_upper_ = lp.con_ub
    h_lp.offset_ = lp.c0 if cost is None else 0.0
    h_lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    h_lp.a_matrix_.num_col_ = n
    h_lp.a_matrix_.num_row_ = m
    h_lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    h_lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    h_lp.a_matrix_.value_ = csc.data.astype(np.float64)
    return h_lp


def _run_highs(h_lp: highspy.HighsLp) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    status = h.passModel(h_lp)
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the model")
    h.run()
    return h


def _infeasible_or_unbounded(lp: LP) -> str | None:
    """Decide HiGHS' "unbounded or infeasible" for an LP known not to be optimal: solve it with a
    zero cost; no feasible point means primal infeasible, else it is dual infeasible (unbounded)."""
    feas = _run_highs(_highs_lp(lp, cost=np.zeros(lp.num_vars)))
    feas_status = feas.getModelStatus()
    if feas_status == highspy.HighsModelStatus.kInfeasible:
        return "primal_infeasible"
    if feas_status == highspy.HighsModelStatus.kOptimal:
        return "dual_infeasible"
    return None


def highs_solve(lp: LP):
    """Solve ``lp`` with HiGHS (default options, presolve on).

    Returns ``(status, objective, x, y)``. ``status`` is ``"optimal"``, ``"primal_infeasible"``,
    ``"dual_infeasible"`` (HiGHS' unbounded: feasible with an unbounded objective), or HiGHS'
    own model-status string in lower case for anything else (limits, errors).
    ``HIGHS_STATUS_TO_STATUS`` maps the first three to :class:`Status`. When HiGHS can only
    say "unbounded or infeasible", the problem is re-solved with a zero cost to decide: it is
    then reported primal infeasible if no feasible point exists (this covers problems that are
    both primal and dual infeasible) and dual infeasible otherwise. ``objective`` (including
    ``c0``), ``x`` and ``y`` (HiGHS ``row_dual``, same signs as scotopt's ``y``) are given for
    ``"optimal"`` only; otherwise they are ``nan``, ``None``, ``None``.
    """
    h = _run_highs(_highs_lp(lp))
    model_status = h.getModelStatus()
    ms = highspy.HighsModelStatus
    if model_status == ms.kOptimal:
        sol = h.getSolution()
        objective = float(h.getInfo().objective_function_value)
        return (
            "optimal",
            objective,
            np.array(sol.col_value, dtype=np.float64),
            np.array(sol.row_dual, dtype=np.float64),
        )
    if model_status == ms.kInfeasible:
        return "primal_infeasible", float("nan"), None, None
    if model_status == ms.kUnbounded:
        return "dual_infeasible", float("nan"), None, None
    if model_status == ms.kUnboundedOrInfeasible:
        decided = _infeasible_or_unbounded(lp)
        if decided is not None:
            return decided, float("nan"), None, None
    return h.modelStatusToString(model_status).lower().replace(" ", "_"), float("nan"), None, None
