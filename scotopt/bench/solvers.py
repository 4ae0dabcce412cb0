"""The solver registry of ``scotopt bench``: scotopt's methods and backends, and the peers.

Each :class:`Solver` runs one :class:`~scotopt.bench.families.Instance` and returns the uniform
dict of :mod:`scotopt.bench.peers` (x, y in scotopt's sign convention, wall ``seconds`` of the
solve call, ``iterations``), plus for scotopt ``history`` (the verbose per-check lines: iteration,
relative primal, dual, gap, seconds) and ``ms_per_iter`` ((solve - setup) / iterations). Nothing
returned is trusted: :mod:`scotopt.bench.verify` re-checks it.

Which problems a solver takes: ``kinds`` ("lp", "network", "qp"). Peers get the explicit CSR
form of a matrix-free LP; scotopt's PDHG gets the matrix-free operator (on JAX and CuPy only
when it has a device form, ``device_operator``; else the CSR form). ``unavailable()``
names why a solver cannot run here (a package missing, no GPU), and the report says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import math
import time
from collections.abc import Callable

from scotopt.bench import peers


@dataclasses.dataclass
class Solver:
    name: str
    kinds: frozenset
    run: Callable  # (instance, eps, time_limit, settings) -> dict
    packages: tuple = ()
    gpu: bool = False
    first_order: bool = True  # its iterations are PDHG-like (roofline applies)
    flow_model: bool = False  # needs instance.model to be a single-commodity MinCostFlow
    description: str = ""

    def takes(self, instance) -> bool:
        """Whether this solver applies to ``instance`` (its kind; SimpleMinCostFlow: a flow model)."""
        if instance.kind not in self.kinds:
            return False
        return not self.flow_model or all(hasattr(instance.model, a) for a in ("tail", "head", "supply"))

    def unavailable(self, gpu: str | None) -> str | None:
        if self.gpu and gpu is None:
            return "needs an NVIDIA GPU; none on this machine"
        for package in self.packages:
            if importlib.util.find_spec(package) is None:
                return f"package {package!r} is not installed (pip install 'scotopt[bench]')"
        return None


def parse_history(text: str) -> list[tuple[float, ...]]:
    """(iteration, rel_primal, rel_dual, rel_gap, seconds) from scotopt's verbose lines (PDHG and ADMM
    both print the iteration and the three relative measures first, and the elapsed time as ``1.23s``)."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5 or not parts[0].isdigit():
            continue
        try:
            values = (float(parts[0]), float(parts[1]), float(parts[2]), float(parts[3]))
        except ValueError:
            continue
        seconds = next((float(p[:-1]) for p in parts[4:] if p.endswith("s") and p[:-1].replace(".", "", 1).isdigit()),
                       math.nan)
        rows.append((*values, seconds))
    return rows


def _scotopt(backend: str, method: str = "pdhg"):
    def run(instance, eps, time_limit, settings):
        import scotopt

        problem = instance.problem
        if backend != "numpy" and instance.matrix_free and not hasattr(problem.A, "device_operator"):
            problem = instance.csr_problem  # a host LinearOperator runs on NumPy only
        buffer = io.StringIO()
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(buffer):
            res = scotopt.solve(problem, method=method, backend=backend, eps=eps, time_limit=time_limit,
                                verbose=True)
        seconds = time.perf_counter() - t0
        name = f"scotopt-{method}" if method != "pdhg" else f"scotopt-{backend}"
        out = peers._result(name, res.status.name, res.status.name, res.primal_objective, res.x, res.y, seconds,
                            res.iterations, res.solve_time)
        out["history"] = parse_history(buffer.getvalue())
        out["ms_per_iter"] = 1e3 * (res.solve_time - res.setup_time) / max(res.iterations, 1)
        out["device"] = res.device
        return out

    return run


def _highs(method):
    def run(instance, eps, time_limit, settings):
        return peers.solve_highs(instance.csr_problem, method=method, time_limit=time_limit)

    return run


def _pdlp(instance, eps, time_limit, settings):
    # bound_gradients_as_residuals=False: PDLP stops on the dual objective kkt_report uses.
    return peers.solve_ortools_pdlp(instance.csr_problem, eps=eps, time_limit=time_limit,
                                    bound_gradients_as_residuals=False)


def _mpax(instance, eps, time_limit, settings):
    return peers.solve_mpax(instance.csr_problem, eps=eps, iteration_limit=settings.get("mpax_iterations", 100_000))


def _cupdlpx(instance, eps, time_limit, settings):
    return peers.solve_cupdlpx(instance.csr_problem, eps=eps, time_limit=time_limit)


def _mincostflow(instance, eps, time_limit, settings):
    return peers.solve_min_cost_flow(instance.model)


def _osqp(instance, eps, time_limit, settings):
    return peers.solve_osqp(instance.problem, eps=eps, time_limit=time_limit)


LP_KINDS = frozenset({"lp", "network"})
SOLVERS: dict[str, Solver] = {}


def register(solver: Solver) -> Solver:
    SOLVERS[solver.name] = solver
    return solver


register(Solver("scotopt-numpy", LP_KINDS, _scotopt("numpy"), description="scotopt PDHG, NumPy/SciPy, float64"))
register(Solver("scotopt-jax", LP_KINDS, _scotopt("jax"), packages=("jax",),
                description="scotopt PDHG, JAX (CPU or GPU), float64, compilation included"))
register(Solver("scotopt-cupy", LP_KINDS, _scotopt("cupy"), packages=("cupy",), gpu=True,
                description="scotopt PDHG, CuPy on the GPU"))
register(Solver("scotopt-admm", frozenset({"qp"}), _scotopt("numpy", "admm"), first_order=False,
                description="scotopt ADMM (OSQP-style), NumPy, direct KKT solves"))
register(Solver("highs-simplex", LP_KINDS, _highs("simplex"), packages=("highspy",), first_order=False,
                description="HiGHS dual simplex, 1 thread"))
register(Solver("highs-ipm", LP_KINDS, _highs("ipm"), packages=("highspy",), first_order=False,
                description="HiGHS interior point, no crossover, 1 thread"))
register(Solver("pdlp", LP_KINDS, _pdlp, packages=("ortools",), description="OR-Tools PDLP (C++), 1 thread"))
register(Solver("mpax", LP_KINDS, _mpax, packages=("mpax",),
                description="MPAX r2HPDHG (JAX), jitted, warm time (compilation in solver_seconds)"))
register(Solver("cupdlpx", LP_KINDS, _cupdlpx, packages=("cupdlpx",), gpu=True, description="cuPDLPx (CUDA)"))
register(Solver("mincostflow", LP_KINDS, _mincostflow, packages=("ortools",), first_order=False, flow_model=True,
                description="OR-Tools SimpleMinCostFlow (network models only), exact"))
register(Solver("osqp", frozenset({"qp"}), _osqp, packages=("osqp",), first_order=False,
                description="OSQP, default settings, eps_abs = eps_rel = eps"))
