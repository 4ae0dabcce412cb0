"""Writing benchmark rows: one CSV per run (the Markdown tables are per script).

The writer lives in :mod:`scotopt.bench.report`, shared with ``scotopt bench``; this module keeps
the scripts' ``from tables import write_csv`` working from a checkout.
"""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = str(Path(__file__).resolve().parents[1])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from scotopt.bench.report import write_csv  # noqa: E402 - after the sys.path set-up

__all__ = ["write_csv"]
