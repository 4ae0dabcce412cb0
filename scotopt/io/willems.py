"""Reader of the 38 real supply chains of Willems (2008), M&SOM 10(1):19-23.

Reads the GSM-ready CSV form in ``../shared/data/meio_willems/snc_processed/willems_NN.csv``
(see that folder's README.md): one row per stage with ``stage_id, lead_time, max_s_time,
cost_rate, risk_pool, ext_demand_mean, ext_demand_std, ext_demand_thres`` and then the upstream
stages as ``name, qty`` pairs. Lead times are in days (the mean where the original has a
stochastic lead time); ``ext_demand_thres`` is the service-level z of a demand stage, so its
service level is ``Phi(z)``.

Errors name the file and line (:class:`scotopt.io.errors.FileFormatError`).
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np

from scotopt.io.errors import FileFormatError

__all__ = ["WillemsChain", "read_willems", "willems_path"]


@dataclasses.dataclass(frozen=True)
class WillemsChain:
    """One chain: stages in file order, the assembly arcs and per-stage data (NumPy arrays)."""

    name: str
    stages: list  # stage names
    lead_time: np.ndarray  # days
    cost_rate: np.ndarray  # cost added at the stage
    demand_mean: np.ndarray  # per day, 0 where the stage has no external demand
    demand_std: np.ndarray
    service_z: np.ndarray  # NaN where no external demand
    arc_from: np.ndarray  # upstream stage index
    arc_to: np.ndarray  # downstream stage index
    arc_qty: np.ndarray  # units of the upstream stage per unit of the downstream one

    @property
    def num_stages(self) -> int:
        return len(self.stages)

    def cumulative_cost(self) -> np.ndarray:
        """Cost of a finished unit of each stage: its cost_rate plus its inputs' (qty-weighted)."""
        order = self.topological_order()
        total = self.cost_rate.astype(np.float64).copy()
        for j in order:  # upstream before downstream
            into = self.arc_to == j
            total[j] += float(np.sum(self.arc_qty[into] * total[self.arc_from[into]]))
        return total

    def topological_order(self) -> list:
        n = self.num_stages
        indegree = np.bincount(self.arc_to, minlength=n)
        ready = [j for j in range(n) if indegree[j] == 0]
        order = []
        remaining = indegree.copy()
        while ready:
            j = ready.pop()
            order.append(j)
            for k in self.arc_to[self.arc_from == j]:
                remaining[k] -= 1
                if remaining[k] == 0:
                    ready.append(int(k))
        if len(order) != n:
            raise FileFormatError(self.name, None, "the stages contain a cycle")
        return order


def willems_path(chain: int, data_dir=None) -> Path:
    """Path of chain ``chain`` (1..38) under ``data_dir`` (default ../shared/data/meio_willems)."""
    if not 1 <= int(chain) <= 38:
        raise ValueError(f"Willems chains are numbered 1..38, got {chain}")
    base = Path(data_dir) if data_dir is not None else Path(__file__).resolve().parents[3] / "shared/data/meio_willems"
    return base / "snc_processed" / f"willems_{int(chain):02d}.csv"


def _number(text, path, line, field, default=None):
    text = text.strip()
    if text == "":
        if default is not None:
            return default
        raise FileFormatError(path, line, f"{field} is empty")
    try:
        value = float(text)
    except ValueError:
        raise FileFormatError(path, line, f"{field} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise FileFormatError(path, line, f"{field} is {text}")
    return value


def read_willems(path) -> WillemsChain:
    """Read one chain file (see the module docstring)."""
    path = Path(path)
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise FileFormatError(path, None, f"cannot read ({exc.strerror})") from None
    if not rows or [c.strip() for c in rows[0][:8]] != [
        "stage_id", "lead_time", "max_s_time", "cost_rate", "risk_pool", "ext_demand_mean", "ext_demand_std",
        "ext_demand_thres",
    ]:
        raise FileFormatError(path, 1, "not a Willems snc_processed header", "stage_id,lead_time,max_s_time,...")
    names, lead, cost, mean, std, z, ups = [], [], [], [], [], [], []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not row[0].strip():
            continue
        if len(row) < 8:
            raise FileFormatError(path, line, f"{len(row)} fields", "at least 8")
        names.append(row[0].strip())
        lead.append(_number(row[1], path, line, "lead_time"))
        cost.append(_number(row[3], path, line, "cost_rate", 0.0))
        mean.append(_number(row[5], path, line, "ext_demand_mean", 0.0))
        std.append(_number(row[6], path, line, "ext_demand_std", 0.0))
        z.append(_number(row[7], path, line, "ext_demand_thres", math.nan) if row[7].strip() else math.nan)
        pairs = [c.strip() for c in row[8:] if c.strip()]
        if len(pairs) % 2:
            raise FileFormatError(path, line, "upstream stages must come as name,qty pairs")
        ups.append([(pairs[i], _number(pairs[i + 1], path, line, f"qty of {pairs[i]}"))
                    for i in range(0, len(pairs), 2)])
        if lead[-1] < 0 or cost[-1] < 0 or mean[-1] < 0 or std[-1] < 0:
            raise FileFormatError(path, line, "negative lead time, cost or demand")
    index = {name: i for i, name in enumerate(names)}
    if len(index) != len(names):
        raise FileFormatError(path, None, "duplicate stage names")
    arc_from, arc_to, arc_qty = [], [], []
    for j, pairs in enumerate(ups):
        for name, qty in pairs:
            if name not in index:
                raise FileFormatError(path, None, f"stage {names[j]} lists unknown upstream stage {name}")
            arc_from.append(index[name])
            arc_to.append(j)
            arc_qty.append(qty)
    chain = WillemsChain(
        name=path.stem, stages=names, lead_time=np.array(lead), cost_rate=np.array(cost),
        demand_mean=np.array(mean), demand_std=np.array(std), service_z=np.array(z),
        arc_from=np.array(arc_from, dtype=np.int64), arc_to=np.array(arc_to, dtype=np.int64),
        arc_qty=np.array(arc_qty, dtype=np.float64),
    )
    chain.topological_order()  # rejects cycles
    return chain
