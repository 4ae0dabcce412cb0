"""``scotopt demo`` (and ``python -m scotopt``): solve the bundled distribution LP and print the result.

The bundled instance (``scotopt/data/distribution_demo.mps``) is a small two-echelon network:
2 plants ship to 3 distribution centres, which serve 6 stores; plant capacities, DC throughput
limits, lane capacities and store demands are rows, shipments are columns. The demo solves it
with PDHG and checks the objective against HiGHS, an independent solver.
"""

from __future__ import annotations

from importlib import resources

import numpy as np


def demo(backend: str = "auto", eps: float = 1e-6, verbose: bool = True) -> int:
    import scotopt
    from scotopt.io import read_mps

    with resources.as_file(resources.files("scotopt") / "data" / "distribution_demo.mps") as path:
        lp = read_mps(path)
    print(f"scotopt {scotopt.__version__}: {lp!r}")
    result = scotopt.solve(lp, backend=backend, eps=eps, verbose=verbose)
    print()
    print(f"status            {result.status.name}  ({result.message})")
    print(f"objective         {result.fun:.6f}   dual objective {result.dual_objective:.6f}")
    print(f"relative KKT      primal {result.rel_primal:.1e}  dual {result.rel_dual:.1e}  gap {result.rel_gap:.1e}")
    print(f"iterations        {result.nit}  in {result.solve_time:.3f} s on {result.backend} ({result.device}, "
          f"{result.dtype})")
    reference = _highs_objective(lp)
    print(f"HiGHS objective   {reference:.6f}   relative difference "
          f"{abs(result.fun - reference) / max(1.0, abs(reference)):.1e}")
    names = getattr(lp, "col_names", None) or [f"x{j}" for j in range(lp.num_vars)]
    shipped = [(names[j], result.x[j]) for j in np.argsort(-result.x) if result.x[j] > 1e-3]
    print("shipments         " + ", ".join(f"{n}={v:.1f}" for n, v in shipped))
    return 0 if result.success else 1


def _highs_objective(lp) -> float:

    from scotopt.io.highs import quiet_highs, to_highs_lp

    h = quiet_highs()
    h.passModel(to_highs_lp(lp))
    h.run()
    return float(h.getInfo().objective_function_value)
