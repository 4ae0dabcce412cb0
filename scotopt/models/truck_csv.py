"""Read a truck-loading instance from two CSV files (shipments, departures) with a header row.

Columns are the field names of :data:`~scotopt.models.truck.SHIPMENT_FIELDS` and
:data:`~scotopt.models.truck.DEPARTURE_FIELDS` (missing optional columns take their defaults),
plus, instead of a numeric ``lane``, the text columns ``origin`` and ``destination``: each
distinct (origin, destination) pair becomes one lane id, the same in both files. An ``id``
column, if present, is kept as ``model.shipment_ids`` / ``model.departure_ids`` (as text) and
ignored otherwise. Empty cells of ``release`` / ``due`` mean no window (-inf / +inf).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from scotopt.models.truck import DEPARTURE_FIELDS, SHIPMENT_FIELDS, TruckLoading
from scotopt.status import InvalidProblemError

__all__ = ["read_truck_csv"]

_EMPTY_MEANS = {"release": -np.inf, "due": np.inf}


def _read(path: Path, fields: dict, lanes: dict) -> tuple[dict, list | None]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    known = set(fields) | {"origin", "destination", "id"}
    unknown = sorted(set(header) - known)
    if unknown:
        raise InvalidProblemError(f"{path}: unknown column(s) {unknown}; known: {sorted(known)}")
    if ("origin" in header) != ("destination" in header):
        raise InvalidProblemError(f"{path}: give both 'origin' and 'destination', or neither")
    if "origin" in header and "lane" in header:
        raise InvalidProblemError(f"{path}: give either 'lane' or 'origin'/'destination', not both")
    table = {}
    for name in header:
        if name in ("origin", "destination", "id"):
            continue
        values = []
        for line, row in enumerate(rows, start=2):
            cell = row.get(name, "")
            if cell == "" and name in _EMPTY_MEANS:
                values.append(_EMPTY_MEANS[name])
                continue
            try:
                values.append(float(cell))
            except ValueError:
                raise InvalidProblemError(f"{path}:{line}: column '{name}' holds {cell!r}, not a number") from None
        table[name] = np.array(values, dtype=np.float64)
    if "origin" in header:
        table["lane"] = np.array([lanes.setdefault((row["origin"], row["destination"]), len(lanes)) for row in rows],
                                 dtype=np.int64)
    ids = [row["id"] for row in rows] if "id" in header else None
    return table, ids


def read_truck_csv(shipments_csv, departures_csv, strong_linking: bool = True) -> TruckLoading:
    """A :class:`TruckLoading` from the two files (see the module docstring)."""
    lanes: dict = {}
    departures, departure_ids = _read(Path(departures_csv), DEPARTURE_FIELDS, lanes)
    shipments, shipment_ids = _read(Path(shipments_csv), SHIPMENT_FIELDS, lanes)
    model = TruckLoading(shipments, departures, strong_linking=strong_linking)
    model.shipment_ids, model.departure_ids = shipment_ids, departure_ids
    model.lane_names = {lane: pair for pair, lane in lanes.items()}
    return model
