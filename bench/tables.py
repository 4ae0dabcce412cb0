"""Writing benchmark rows: one CSV per run (the Markdown tables are per script)."""

from __future__ import annotations

import csv
from pathlib import Path


def write_csv(rows: list[dict], prefix, columns=None) -> Path:
    """Write ``rows`` to ``prefix`` with suffix .csv (folders made as needed); missing keys are ''."""
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    columns = columns or list(rows[0].keys())
    path = prefix.with_suffix(".csv")
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows({key: row.get(key, "") for key in columns} for row in rows)
    return path
