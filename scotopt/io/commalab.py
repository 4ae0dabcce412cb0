"""Read linear multicommodity flow instances in the CommaLAB "planar"/"grid" format.

The format (CommaLAB MMCF collection, ``format.doc``)::

    <nodes>
    <arcs>
    <commodities>                        (OD pairs)
    <tail> <head> <cost> <capacity>      one line per arc, 1-based nodes
    <origin> <destination> <demand>      one line per OD pair

The model is the arc-flow LP of :class:`~scotopt.models.MultiCommodityFlow`. A malformed file
raises :class:`CommaLabFormatError` (an :class:`~scotopt.status.InvalidProblemError`) naming the
file and the line number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scotopt.models.flow import MultiCommodityFlow
from scotopt.status import InvalidProblemError


class CommaLabFormatError(InvalidProblemError):
    """A malformed CommaLAB file; the message starts with ``file:line:``."""


def _rows(path: Path):
    with open(path, encoding="ascii", errors="replace") as handle:
        for lineno, line in enumerate(handle, start=1):
            fields = line.split()
            if fields:
                yield lineno, fields


def read_commalab_arrays(path):
    """Parse ``path`` into a dict: num_nodes, tail, head, cost, capacity, origin, destination,
    demand (0-based node ids)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    rows = _rows(path)
    header = []
    for what in ("node count", "arc count", "commodity count"):
        try:
            lineno, fields = next(rows)
        except StopIteration:
            raise CommaLabFormatError(f"{path}: file ends before the {what}") from None
        if len(fields) != 1:
            raise CommaLabFormatError(f"{path}:{lineno}: expected the {what} alone on its line, got {fields}")
        try:
            value = int(fields[0])
        except ValueError:
            raise CommaLabFormatError(f"{path}:{lineno}: {what} {fields[0]!r} is not an integer") from None
        if value < 0:
            raise CommaLabFormatError(f"{path}:{lineno}: negative {what}")
        header.append(value)
    num_nodes, num_arcs, num_pairs = header

    def table(count, width, what):
        out = np.empty((count, width))
        for i in range(count):
            try:
                lineno, fields = next(rows)
            except StopIteration:
                raise CommaLabFormatError(f"{path}: file ends after {i} of {count} {what} lines") from None
            if len(fields) != width:
                raise CommaLabFormatError(f"{path}:{lineno}: expected {width} numbers on a {what} line, got {fields}")
            try:
                out[i] = [float(f) for f in fields]
            except ValueError:
                raise CommaLabFormatError(f"{path}:{lineno}: not a number in {fields}") from None
            nodes = out[i, :2]
            if np.any(nodes != np.round(nodes)) or np.any(nodes < 1) or np.any(nodes > num_nodes):
                raise CommaLabFormatError(f"{path}:{lineno}: node ids {fields[:2]} outside 1..{num_nodes}")
            if not np.all(np.isfinite(out[i, 2:])):
                raise CommaLabFormatError(f"{path}:{lineno}: non-finite number in {fields}")
            if np.any(out[i, 2:] < 0) and what == "OD pair":
                raise CommaLabFormatError(f"{path}:{lineno}: negative demand")
            if what == "arc" and out[i, 3] < 0:
                raise CommaLabFormatError(f"{path}:{lineno}: negative capacity")
        return out

    arcs = table(num_arcs, 4, "arc")
    pairs = table(num_pairs, 3, "OD pair")
    extra = next(rows, None)
    if extra is not None:
        raise CommaLabFormatError(f"{path}:{extra[0]}: unexpected data after the {num_pairs} OD pairs")
    return {
        "num_nodes": num_nodes,
        "tail": arcs[:, 0].astype(np.int64) - 1,
        "head": arcs[:, 1].astype(np.int64) - 1,
        "cost": arcs[:, 2],
        "capacity": arcs[:, 3],
        "origin": pairs[:, 0].astype(np.int64) - 1,
        "destination": pairs[:, 1].astype(np.int64) - 1,
        "demand": pairs[:, 2],
    }


def read_commalab(path, aggregate: str = "source", name: str | None = None) -> MultiCommodityFlow:
    """Read a CommaLAB MMCF file into a :class:`~scotopt.models.MultiCommodityFlow`."""
    data = read_commalab_arrays(path)
    return MultiCommodityFlow(
        data["tail"],
        data["head"],
        data["cost"],
        data["capacity"],
        data["origin"],
        data["destination"],
        data["demand"],
        aggregate=aggregate,
        num_nodes=data["num_nodes"],
        name=name or Path(path).name,
    )
