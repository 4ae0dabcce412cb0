"""The problem-family registry of ``scotopt bench``: one :class:`Family` per problem family.

A family says which instances the quick and the full suite use (``quick`` / ``full``: names of
data files or generator sizes), how to build one (``build(spec, data_dir) -> Instance``), which
kind of problem it gives ("lp", "network" or "qp", which decides the solvers that apply) and what
it needs: ``data`` (a folder of the shared data directory with an ``index.csv``) and ``requires``
(``"module:attribute.path"`` names). A family whose data folder is absent or whose requirement does
not import is skipped with that reason in the report; the rest of the suite runs.

Adding a family is one :func:`register` call. The model families of issue 5
(``scotopt.models.MultiEchelonInventory``) and issue 7 (``scotopt.models.TruckLoading``) are
registered already and come alive when their class exists and provides the benchmark hook

    @classmethod
    def bench_instance(cls, size: int, seed: int = 0) -> Model   # a model with ``.lp`` (an LP)

(``size`` is the family's own size parameter; for the inventory model, thousands of variables);
until then they are skipped with the reason. A matrix-free LP goes to scotopt as it is and to
the peers as CSR (its operator's ``to_csr()``).
"""

from __future__ import annotations

import csv
import dataclasses
import importlib
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp

KINDS = ("lp", "network", "qp")


@dataclasses.dataclass
class Instance:
    """One problem to solve: ``problem`` is what scotopt gets (an LP or QP with an explicit or
    matrix-free A), ``explicit`` the same problem with a CSR matrix for the peers (``None``: use
    ``problem``), ``model`` the source model when a solver needs it (SimpleMinCostFlow),
    ``reference`` a known optimal objective (nan: none), ``matrix_free_bytes`` the compulsory
    bytes of one scotopt iteration on the matrix-free operator (None: counted as CSR)."""

    family: str
    name: str
    kind: str
    problem: object
    size: int
    reference: float = math.nan
    explicit: object = None
    model: object = None
    matrix_free_bytes: int | None = None  # scotopt's bytes per iteration on ``problem``'s operator

    @property
    def matrix_free(self) -> bool:
        return self.explicit is not None

    @property
    def csr_problem(self):
        return self.explicit if self.explicit is not None else self.problem

    @property
    def shape(self) -> tuple[int, int, int]:
        """(rows, columns, nonzeros of A)."""
        A = self.csr_problem.A
        return self.problem.num_rows, self.problem.num_vars, int(A.nnz)


@dataclasses.dataclass
class Family:
    name: str
    kind: str
    description: str
    build: Callable
    quick: tuple
    full: tuple
    data: str | None = None
    requires: tuple = ()

    def unavailable(self, data_dir) -> str | None:
        """Why this family cannot run here, or None."""
        for requirement in self.requires:
            module, _, attribute = requirement.partition(":")
            try:
                owner = importlib.import_module(module)
            except ImportError as exc:
                return f"{module} does not import ({exc})"
            for part in filter(None, attribute.split(".")):
                if not hasattr(owner, part):
                    return f"{module}.{attribute} does not exist yet"
                owner = getattr(owner, part)
        if self.data is not None:
            folder = Path(data_dir) / self.data
            if not (folder / "index.csv").exists():
                return (f"data folder {folder} (with index.csv) not found: pass --data DIR or set SCOTOPT_DATA "
                        "to the folder holding netlib/, maros_meszaros/, ...")
        return None

    def specs(self, suite: str) -> tuple:
        """The instance specs of ``suite``: "quick", "full", or "smoke" (the first quick one)."""
        if suite == "smoke":
            return self.quick[:1]
        return self.quick if suite == "quick" else self.full


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    if family.kind not in KINDS:
        raise ValueError(f"family kind must be one of {KINDS}, got {family.kind!r}")
    FAMILIES[family.name] = family
    return family


def default_data_dir() -> Path:
    """$SCOTOPT_DATA, else ``shared/data`` beside the repository checkout this package lives in."""
    env = os.environ.get("SCOTOPT_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def read_index(folder) -> dict[str, dict]:
    """The rows of ``folder/index.csv`` by name, with the file path and the reference optimum."""
    folder = Path(folder)
    rows = {}
    with open(folder / "index.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            ref = (row.get("optimal_objective") or "").strip()
            reference = float(ref) if ref else math.nan
            rows[row["name"].lower()] = {**row, "path": folder / row["file"], "reference": reference}
    return rows


# ------------------------------------------------------------------------------- builders

def _indexed_file(collection: str, kind: str):
    def build(name: str, data_dir) -> Instance:
        from scotopt.io import read_mps

        entry = read_index(Path(data_dir) / collection).get(name.lower())
        if entry is None or not entry["path"].exists():
            raise FileNotFoundError(f"{collection}/{name}: not in {collection}/index.csv or its file is missing")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # integrality-relaxation notices
            problem = read_mps(entry["path"])
        reference = entry["reference"]
        if math.isfinite(reference) and entry.get("check", "").startswith("ok_after_constant"):
            reference += getattr(problem, "objective_sign", 1) * problem.c0
        return Instance(collection, entry["name"], kind, problem, int(problem.A.nnz), reference)

    return build


def explicit_lp(model_or_lp):
    """The LP of a matrix-free model (or LP) with its operator as a CSR matrix (for the peers);
    the LP itself when its matrix is explicit already. The operator must have ``to_csr()``."""
    from scotopt import LP

    lp = getattr(model_or_lp, "lp", model_or_lp)
    if sp.issparse(lp.A) or isinstance(lp.A, np.ndarray):
        return lp
    if not hasattr(lp.A, "to_csr"):
        raise TypeError(f"{lp.name}: a matrix-free operator without to_csr(); the peers need the matrix")
    out = LP(lp.c, lp.A.to_csr(), lp.con_lb, lp.con_ub, lp.var_lb, lp.var_ub, c0=lp.c0, name=lp.name)
    if hasattr(lp, "objective_sign"):
        out.objective_sign = lp.objective_sign
    return out


def transport_model(sources: int, sinks: int, seed: int = 0):
    """A dense bipartite transportation problem as a :class:`scotopt.models.MinCostFlow`.

    Sources and sinks are uniform points in the unit square; cost = round(100 x distance) + 1;
    integral supplies (10..100 per source) split over the sinks so that the problem is balanced;
    arcs are uncapacitated. LP: S + D equality rows, S x D columns, 2 S D nonzeros.
    """
    from scotopt.models import MinCostFlow

    rng = np.random.default_rng(seed)
    src, dst = rng.random((sources, 2)), rng.random((sinks, 2))
    tail = np.repeat(np.arange(sources), sinks)
    head = sources + np.tile(np.arange(sinks), sources)
    cost = np.rint(100 * np.linalg.norm(src[tail] - dst[head - sources], axis=1)) + 1
    supply = rng.integers(10, 101, sources).astype(np.float64)
    demand = np.floor(supply.sum() * rng.dirichlet(np.ones(sinks)))
    demand[0] += supply.sum() - demand.sum()
    return MinCostFlow(tail, head, cost, np.inf, np.concatenate([supply, -demand]), name=f"transport{sources}x{sinks}")


def _build_transport(spec, data_dir) -> Instance:
    sources, sinks = spec
    model = transport_model(sources, sinks)
    lp = explicit_lp(model)
    return Instance("transport", lp.name, "lp", lp, sources * sinks, model=model)


def _build_netgen(arcs, data_dir) -> Instance:
    from scotopt.bench.roofline import network_bytes
    from scotopt.models.generators import netgen_min_cost_flow

    model = netgen_min_cost_flow(int(arcs) // 8, int(arcs), seed=0)
    return Instance("mincostflow", model.lp.name, "network", model.lp, int(arcs), explicit=explicit_lp(model),
                    model=model, matrix_free_bytes=network_bytes(model.num_arcs, model.num_nodes, 8, 4))


def _model_hook(family: str, module: str, cls_name: str):
    def build(size, data_dir) -> Instance:
        cls = getattr(importlib.import_module(module), cls_name)
        hook = getattr(cls, "bench_instance", None)
        if hook is None:
            raise NotImplementedError(f"{module}.{cls_name}.bench_instance(size, seed) is not defined; "
                                      "see scotopt/bench/families.py")
        model = hook(size, seed=0)
        lp = getattr(model, "lp", model)
        explicit = explicit_lp(lp)
        return Instance(family, f"{family}{size}", "lp", lp, int(size), model=model,
                        explicit=None if explicit is lp else explicit)

    return build


# ------------------------------------------------------------------------------- the registry

NETLIB_QUICK = ("afiro", "adlittle", "blend", "sc105", "share2b", "scagr25", "ship08l", "qap8", "25fv47")
MM_QUICK = ("HS21", "HS35", "QAFIRO", "CVXQP1_S", "DUAL1", "QADLITTL", "QPCBLEND")


def _all_names(collection: str):
    """Every instance of a collection (resolved when the full suite asks, from index.csv)."""
    return ("*", collection)


register(Family(
    "netlib", "lp", "Netlib LPs (../shared/data/netlib), read from MPS", _indexed_file("netlib", "lp"),
    quick=NETLIB_QUICK, full=_all_names("netlib"), data="netlib",
))
register(Family(
    "kennington", "lp", "Kennington LPs (../shared/data/kennington), full suite only",
    _indexed_file("kennington", "lp"), quick=(), full=_all_names("kennington"), data="kennington",
))
register(Family(
    "transport", "lp", "generated dense transportation LPs (S x D variables, explicit CSR), seeded",
    _build_transport, quick=((20, 50), (100, 100), (200, 250), (400, 500)),
    full=((20, 50), (100, 100), (200, 250), (400, 500), (1000, 1000), (2000, 2000)),
))
register(Family(
    "mincostflow", "network", "NETGEN-like min-cost flows (scotopt.models.generators, V = E/8), matrix-free",
    _build_netgen, quick=(10_000, 100_000, 300_000), full=(10_000, 100_000, 300_000, 1_000_000, 10_000_000),
))
register(Family(
    "maros_meszaros", "qp", "Maros-Meszaros convex QPs (../shared/data/maros_meszaros)",
    _indexed_file("maros_meszaros", "qp"), quick=MM_QUICK, full=_all_names("maros_meszaros"), data="maros_meszaros",
))
register(Family(
    "multi_echelon_inventory", "lp", "multi-echelon inventory LPs (issue 5)",
    _model_hook("multi_echelon_inventory", "scotopt.models", "MultiEchelonInventory"),
    quick=(10, 100), full=(10, 100, 1000), requires=("scotopt.models:MultiEchelonInventory.bench_instance",),
))
register(Family(
    "truck_loading", "lp", "truck-loading LPs (issue 7)",
    _model_hook("truck_loading", "scotopt.models", "TruckLoading"),
    quick=(10, 100), full=(10, 100, 1000), requires=("scotopt.models:TruckLoading.bench_instance",),
))


def expand_specs(family: Family, suite: str, data_dir) -> list:
    """The family's instance specs for ``suite``, "*" (every indexed instance) resolved, smallest first."""
    specs = family.specs(suite)
    if specs and specs[0] == "*":
        index = read_index(Path(data_dir) / specs[1])
        present = [row for row in index.values() if row["path"].exists()]
        return [row["name"] for row in sorted(present, key=lambda r: int(r.get("nonzeros") or 0))]
    return list(specs)
