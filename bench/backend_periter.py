"""Per-iteration cost of scotopt's PDHG on each CPU backend, warm (JIT compiled beforehand).

Usage (from the repository root)::

    python bench/backend_periter.py [--backends numpy,jax] [MPS files...]

For each instance, solve once with a small iteration limit to compile, then run a fixed number
of iterations with an unreachable tolerance and report (solve time - setup time) / iterations,
the median of ``--repeats`` runs. Run side by side in one process, so the ratio between
backends is what this measures; absolute figures move with the machine's load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_REPO))

import scotopt  # noqa: E402
from scotopt.io import read_mps  # noqa: E402

DATA = _REPO.parent / "shared" / "data"
DEFAULT = ["netlib/afiro", "netlib/25fv47", "kennington/ken-07", "kennington/osa-14", "kennington/pds-20"]


def per_iteration(lp, backend: str, iterations: int, repeats: int) -> tuple[float, float]:
    scotopt.solve(lp, backend=backend, iteration_limit=64)  # compile / warm caches
    samples, compile_free_setup = [], []
    for _ in range(repeats):
        res = scotopt.solve(lp, backend=backend, iteration_limit=iterations, eps=1e-14)
        samples.append((res.solve_time - res.setup_time) / max(res.nit, 1))
        compile_free_setup.append(res.setup_time)
    return statistics.median(samples), statistics.median(compile_free_setup)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--backends", default="numpy,jax")
    parser.add_argument("--iterations", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    paths = args.paths or [str(DATA / f"{name}.mps.gz") for name in DEFAULT]
    backends = args.backends.split(",")
    print("| instance | rows | cols | nnz | " + " | ".join(f"{b} us/iter" for b in backends)
          + " | " + " / ".join(backends) + " |")
    print("|---|---|---|---|" + "---|" * (len(backends) + 1))
    for path in paths:
        lp = read_mps(path)
        times = [per_iteration(lp, b, args.iterations, args.repeats)[0] for b in backends]
        ratio = " / ".join(f"{t / times[0]:.2f}" for t in times)
        print(f"| {lp.name} | {lp.num_rows} | {lp.num_vars} | {lp.A.nnz} | "
              + " | ".join(f"{1e6 * t:.1f}" for t in times) + f" | {ratio} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
