"""Time and memory to read DIMACS min-cost-flow files: the block reader against line by line.

``scotopt.io.dimacs.read_dimacs_arrays`` parses blocks of lines at once (runs of ``a`` and ``n``
lines with ``np.loadtxt``); before session 29 it parsed each line in Python, which is what the
``lines`` reader here still does (:meth:`scotopt.io.dimacs._Parser.line` on every line, the same
rules and arrays). No peer reads DIMACS from Python (OR-Tools, networkx and HiGHS have no
reader), so the figure that matters is the read time against the solve's.

For each size, a NETGEN-like network (``netgen_min_cost_flow``, arcs / 8 nodes) is written to a
temporary ``.min`` (and ``.min.gz`` with ``--gzip``); the readers alternate ``--repeat`` times
and the table gives the median; each also runs once in a fresh process for the growth of its
peak RSS over the interpreter with imports done. ``--solve`` adds one float32 solve at eps 1e-4
(``MinCostFlow.solve``, numba's threads) of the file read, for scale.

Usage: ``python bench/io_dimacs.py [--arcs 1e6 1e7] [--repeat 3] [--gzip] [--solve] [--out bench/results/io_dimacs]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from tables import write_csv  # noqa: E402 - bench/ is on the path only after the line above

_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[3])
from io_dimacs import read
import scotopt.io.dimacs  # imports done before the baseline

def peak_kib():
    with open("/proc/self/status") as fh:  # VmHWM: ru_maxrss survives fork+exec
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))

before = peak_kib()
read(sys.argv[1], sys.argv[2])
print(json.dumps({"peak_growth_bytes": (peak_kib() - before) * 1024}))
"""


def read(reader: str, path):
    """(tail, head, lower, capacity, cost, supply) of ``path`` by ``reader`` ('blocks' or 'lines')."""
    from scotopt.io import dimacs

    if reader == "blocks":
        return dimacs.read_dimacs_arrays(path)
    parser = dimacs._Parser(Path(path))
    for first, data in dimacs._text_blocks(Path(path)):
        for k, line in enumerate(data.decode("ascii", errors="replace").splitlines()):
            parser.line(line, first + k)
    return parser.arrays()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arcs", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gzip", action="store_true", help="also time a .min.gz of each size")
    parser.add_argument("--solve", action="store_true", help="also time one float32 solve (eps 1e-4) per size")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "io_dimacs"))
    args = parser.parse_args(argv)

    import numpy as np

    from scotopt.io.dimacs import read_dimacs, write_dimacs
    from scotopt.models.generators import netgen_min_cost_flow

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for arcs in map(int, args.arcs):
            model = netgen_min_cost_flow(arcs // 8, arcs, seed=1, arc_order="given")
            paths = [Path(folder) / f"netgen{arcs}.min"]
            if args.gzip:
                paths.append(Path(folder) / f"netgen{arcs}.min.gz")
            for path in paths:
                write_dimacs(model, path)
            del model
            for path in paths:
                reference = read("blocks", path)
                assert all(np.array_equal(a, b) for a, b in zip(reference, read("lines", path), strict=True))
                del reference
                times = {"blocks": [], "lines": []}
                for _ in range(args.repeat):
                    for reader in times:
                        started = time.perf_counter()
                        read(reader, path)
                        times[reader].append(time.perf_counter() - started)
                solve_seconds = float("nan")
                if args.solve:
                    flow = read_dimacs(path)
                    started = time.perf_counter()
                    flow.solve(eps=1e-4, dtype="float32")
                    solve_seconds = time.perf_counter() - started
                    del flow
                for reader, values in times.items():
                    command = [sys.executable, "-c", _CHILD, reader, str(path), str(Path(__file__).parent)]
                    child = subprocess.run(command, capture_output=True, text=True, check=True)
                    peak = json.loads(child.stdout)["peak_growth_bytes"]
                    rows.append({"file": path.name, "arcs": arcs, "text_MB": round(path.stat().st_size / 1e6, 1),
                                 "reader": reader, "repeats": args.repeat,
                                 "seconds_median": round(statistics.median(values), 3),
                                 "seconds_min": round(min(values), 3),
                                 "peak_growth_B_per_arc": round(peak / arcs, 1),
                                 "solve_seconds": round(solve_seconds, 2)})
                    print(rows[-1], flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out.with_suffix(".csv"))
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(row[k]) for k in keys) + " |" for row in rows]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
