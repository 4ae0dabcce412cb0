"""Solution files: the vectors of a :class:`~scotopt.Result` in an npz, its summary in JSON.

``<name>_solution.npz`` holds ``x``, ``y``, ``reduced_costs`` (float64), ``status`` (the name)
and ``summary_json`` (the JSON text of :meth:`Result.summary`), and the problem's
``row_names`` / ``col_names`` where known. ``<name>_summary.json`` holds the summary alone.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from scotopt.io.errors import FileFormatError
from scotopt.io.textfile import existing_file

__all__ = ["save_solution", "load_solution", "summary_json"]

SOLUTION_VERSION = 1


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no inf / nan; "inf", "-inf", "nan" read back with float()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return _plain(value.item())
    return value


def summary_json(result, problem=None, **extra) -> str:
    """:meth:`Result.summary` (plus the problem's name and shape and ``extra``) as JSON text."""
    summary = result.summary()
    if problem is not None:
        summary = {"problem": problem.name, "rows": problem.num_rows, "columns": problem.num_vars, **summary}
        sign = getattr(problem, "objective_sign", 1)
        if sign != 1:
            summary["objective_sign"] = sign
            summary["file_objective"] = sign * summary["primal_objective"]
    summary.update(extra)
    return json.dumps(_plain(summary), indent=2, sort_keys=False)


def save_solution(result, path, problem=None, summary: str | None = None) -> Path:
    """Write the result's vectors and summary to ``path`` (an .npz); return the path."""
    path = Path(os.fspath(path))
    arrays = {
        "format_version": np.int64(SOLUTION_VERSION),
        "x": np.asarray(result.x, dtype=np.float64),
        "y": np.asarray(result.y, dtype=np.float64),
        "reduced_costs": np.asarray(result.reduced_costs, dtype=np.float64),
        "status": np.str_(result.status.name),
        "summary_json": np.str_(summary if summary is not None else summary_json(result, problem)),
    }
    for key in ("row_names", "col_names"):
        names = getattr(problem, key, None) if problem is not None else None
        if names:
            arrays[key] = np.array(names, dtype=str)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def load_solution(path) -> dict:
    """Read a solution file: a dict with x, y, reduced_costs, status and summary (a dict)."""
    path = existing_file(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ("x", "y", "reduced_costs", "status", "summary_json") if k not in npz.files]
            if missing:
                raise FileFormatError(path, None, f"missing {', '.join(missing)}", "a scotopt solution file")
            out = {k: npz[k] for k in ("x", "y", "reduced_costs")}
            out["status"] = str(npz["status"])
            out["summary"] = json.loads(str(npz["summary_json"]))
            for key in ("row_names", "col_names"):
                if key in npz.files:
                    out[key] = [str(s) for s in npz[key]]
    except FileFormatError:
        raise
    except (ValueError, OSError, json.JSONDecodeError) as exc:
        raise FileFormatError(path, None, f"cannot read the solution ({exc})", "a scotopt solution file") from exc
    return out
