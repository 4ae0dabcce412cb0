"""Read DIMACS min-cost-flow files (``.min``, optionally gzip-compressed ``.min.gz``).

The format (DIMACS implementation challenge 1, min-cost flow)::

    c <comment>
    p min <nodes> <arcs>                 once, before any n or a line
    n <id> <supply>                      supply > 0 at a source, < 0 at a sink; absent = 0
    a <tail> <head> <low> <cap> <cost>   one per arc

Node ids are 1-based in the file and 0-based in the model. Any malformed line raises
:class:`DimacsFormatError` (an :class:`~scotopt.status.InvalidProblemError`) naming the file and
the line number; the model's own checks (negative capacity, low > cap, unbalanced supplies)
then apply to the data.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from scotopt.models.flow import MinCostFlow
from scotopt.status import InvalidProblemError


class DimacsFormatError(InvalidProblemError):
    """A malformed DIMACS file; the message starts with ``file:line:``."""


def _open_text(path: Path):
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="ascii", errors="replace")
    return open(path, encoding="ascii", errors="replace")


def _number(token: str, kind, where: str, what: str):
    try:
        value = kind(token)
    except ValueError:
        try:
            value = float(token)
        except ValueError:
            raise DimacsFormatError(f"{where}: {what} {token!r} is not a number") from None
        if kind is int:
            if value != int(value):
                raise DimacsFormatError(f"{where}: {what} {token!r} is not an integer") from None
            value = int(value)
    return value


def read_dimacs_arrays(path):
    """Parse ``path`` into (tail, head, lower, capacity, cost, supply), 0-based node ids."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    num_nodes = num_arcs = None
    supply = None
    arcs: list[tuple[int, int, float, float, float]] = []
    with _open_text(path) as handle:
        for lineno, line in enumerate(handle, start=1):
            where = f"{path}:{lineno}"
            fields = line.split()
            if not fields or fields[0] == "c":
                continue
            tag = fields[0]
            if tag == "p":
                if num_nodes is not None:
                    raise DimacsFormatError(f"{where}: a second problem line")
                if len(fields) != 4 or fields[1] != "min":
                    raise DimacsFormatError(f"{where}: expected 'p min <nodes> <arcs>', got {line.strip()!r}")
                num_nodes = _number(fields[2], int, where, "node count")
                num_arcs = _number(fields[3], int, where, "arc count")
                if num_nodes < 0 or num_arcs < 0:
                    raise DimacsFormatError(f"{where}: negative node or arc count")
                supply = np.zeros(num_nodes)
                continue
            if num_nodes is None:
                raise DimacsFormatError(f"{where}: {tag!r} line before the 'p min' problem line")
            if tag == "n":
                if len(fields) != 3:
                    raise DimacsFormatError(f"{where}: expected 'n <id> <supply>', got {line.strip()!r}")
                node = _number(fields[1], int, where, "node id")
                if not 1 <= node <= num_nodes:
                    raise DimacsFormatError(f"{where}: node id {node} outside 1..{num_nodes}")
                supply[node - 1] += _number(fields[2], float, where, "supply")
            elif tag == "a":
                if len(fields) != 6:
                    raise DimacsFormatError(
                        f"{where}: expected 'a <tail> <head> <low> <cap> <cost>', got {line.strip()!r}"
                    )
                t = _number(fields[1], int, where, "tail")
                h = _number(fields[2], int, where, "head")
                for node in (t, h):
                    if not 1 <= node <= num_nodes:
                        raise DimacsFormatError(f"{where}: node id {node} outside 1..{num_nodes}")
                low = _number(fields[3], float, where, "lower bound")
                cap = _number(fields[4], float, where, "capacity")
                cost = _number(fields[5], float, where, "cost")
                if not all(np.isfinite([low, cost])) or np.isnan(cap):
                    raise DimacsFormatError(f"{where}: non-finite lower bound or cost, or NaN capacity")
                if cap < 0:
                    raise DimacsFormatError(f"{where}: negative capacity {fields[4]}")
                if low > cap:
                    raise DimacsFormatError(f"{where}: lower bound {fields[3]} > capacity {fields[4]}")
                arcs.append((t - 1, h - 1, low, cap, cost))
            else:
                raise DimacsFormatError(f"{where}: unknown line type {tag!r}")
    if num_nodes is None:
        raise DimacsFormatError(f"{path}: no 'p min <nodes> <arcs>' problem line")
    if len(arcs) != num_arcs:
        raise DimacsFormatError(f"{path}: the problem line announces {num_arcs} arcs, the file has {len(arcs)}")
    table = np.array(arcs, dtype=np.float64).reshape(-1, 5)
    tail = table[:, 0].astype(np.int64)
    head = table[:, 1].astype(np.int64)
    return tail, head, table[:, 2], table[:, 3], table[:, 4], supply


def read_dimacs(path, name: str | None = None, arc_order: str = "auto") -> MinCostFlow:
    """Read a DIMACS ``.min`` / ``.min.gz`` file into a :class:`~scotopt.models.MinCostFlow`;
    the file's arc order is the model's input order (``arc_order`` as for the model)."""
    tail, head, lower, capacity, cost, supply = read_dimacs_arrays(path)
    if name is None:
        name = Path(path).name.removesuffix(".gz").removesuffix(".min")
    total = float(supply.sum())
    if abs(total) > 1e-9 * max(1.0, float(np.abs(supply).sum())):
        raise DimacsFormatError(f"{path}: the node supplies sum to {total:g}, not 0")
    return MinCostFlow(tail, head, cost, capacity, supply, lower=lower, name=name, arc_order=arc_order)


def write_dimacs(model: MinCostFlow, path) -> None:
    """Write ``model`` as a DIMACS ``.min`` file (gzip if the name ends in ``.gz``), its arcs in
    model order (``model.input_arc``); numbers that are integral are written as integers."""
    path = Path(path)

    def fmt(v):
        return str(int(v)) if float(v).is_integer() else repr(float(v))

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt") as out:
        out.write(f"p min {model.num_nodes} {model.num_arcs}\n")
        for v in np.flatnonzero(model.supply):
            out.write(f"n {v + 1} {fmt(model.supply[v])}\n")
        for t, h, lo, up, c in zip(model.tail, model.head, model.lower, model.capacity, model.cost, strict=True):
            if not np.isfinite(up):
                raise InvalidProblemError("DIMACS has no infinite capacity; bound the arc first")
            out.write(f"a {t + 1} {h + 1} {fmt(lo)} {fmt(up)} {fmt(c)}\n")
