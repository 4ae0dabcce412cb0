"""Multi-echelon inventory benchmarks: memory per variable, per-iteration time vs the
memory-traffic bound, end to end against HiGHS on growing instances, and the 38 Willems chains.

    python bench/inventory.py memory --vars 1e6 1e7 1e8 --iterations 64
    python bench/inventory.py periter --vars 1e6 1e7
    python bench/inventory.py e2e --vars 1e4 1e5 1e6 --eps 1e-4 --time-limit 600
    python bench/inventory.py willems --eps 1e-4 --time-limit 120

Every sub-command writes a CSV and a Markdown table under bench/results/ (``--out`` prefix).
Instances are :func:`scotopt.models.inventory_instances.distribution_network` (DCs replenished by
a supplier with lead time 2, stores by their DC with lead 1, normal demand, storage capacity at
every node, expediting at the stores), sized by :func:`instance_for` to about the requested
number of variables.

Rules (the same as bench/network.py):
- memory: each size in a fresh process; ``peak B/var`` = (VmHWM during ``to_lp`` + solve -
  VmRSS after the model was built and the heap's free pages were returned) / variables, float32
  iterates on the NumPy backend, the float64 LP data, the host float64 KKT verification and the
  returned Result included. The
  model's own arrays (demand scenarios, costs) are reported separately (``model B/var``).
- periter: STREAM triad measured in the same process; time per iteration = difference of two
  solves (64 and 64 + N iterations) over N. Bytes per iteration: :func:`compulsory_bytes`.
- e2e: scotopt (float32 and float64 iterates, termination always in float64 on the original LP)
  and HiGHS (simplex and IPM without crossover, one thread) one after the other in one process on
  the same LP, HiGHS on the explicit CSR of the operator; every answer is re-checked with
  scotopt's float64 KKT evaluation; objective errors are against HiGHS simplex where it finished.
  Wall and CPU seconds (``time.process_time``) are both reported: every solver here is single
  threaded, so on a shared machine CPU seconds are the fairer comparison.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from network import _reset_peak, _status_kb, _trim_heap, malloc_reuse, run_child, stream_triad, write  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def instance_for(variables: float, seed: int = 0):
    """The generated distribution network with about ``variables`` variables."""
    from scotopt.models.inventory_instances import network_with_variables

    return network_with_variables(variables, seed)


def compulsory_bytes(n: int, m: int, value_bytes: int = 4) -> int:
    """Bytes one r2HPDHG iteration moves as written (algorithm.py), per column and per row.

    Column side: the operator writes A^T y (1); the projected step reads x, A^T y, c, the upper
    bound and writes x^ (5); the operator reads x^ (1); the Halpern update reads x^, x, x0 and
    writes x (4): 11 values (15 while A^T y was carried, before 2026-11-26: it added A^T y^ and
    its Halpern update). Row side: A^T reads y (1); A x^ written (1); the dual step reads y,
    A x^, A x, both row bounds and writes y^ (6); the updates read y^, y, y0, A x^, A x, A x0 and
    write y, A x (8): 16 values. The operator's scaling factors are (T, N, P) tensors broadcast
    over scenarios and stay in cache; they are not counted.
    """
    return value_bytes * (11 * n + 16 * m)


# ------------------------------------------------------------------------------------ memory


def memory_child(variables: float, iterations: int, seed: int) -> dict:
    import scotopt

    instance_for(1e4, seed).solve(eps=1e-4, dtype="float32", iteration_limit=64)  # load the code
    # each baseline after the heap's free pages went back (network.py's _trim_heap): the solver
    # gives them back during a solve (scotopt.kernels.pages), which took the peak below a
    # baseline that still counted them (a negative B/var on small instances, session 26)
    _trim_heap()
    base = _status_kb("VmRSS")
    _reset_peak()
    t0 = time.perf_counter()
    model = instance_for(variables, seed)
    gen_seconds = time.perf_counter() - t0
    model_bytes = _status_kb("VmRSS") - base
    _trim_heap()
    base_solve = _status_kb("VmRSS")
    _reset_peak()
    t0 = time.perf_counter()
    lp = model.to_lp()
    result = scotopt.solve(lp, dtype="float32", eps=1e-4, iteration_limit=iterations)
    seconds = time.perf_counter() - t0
    peak = _status_kb("VmHWM") - base_solve
    n = model.num_vars
    return {
        "variables": n,
        "rows": lp.num_rows,
        "shape_STNPL": "x".join(str(v) for v in model.shape),
        "iterations": result.iterations,
        "generate_s": gen_seconds,
        "model_B_per_var": model_bytes / n,
        "solve_peak_B_per_var": peak / n,
        "peak_GiB": peak / 2**30,
        "setup_s": result.setup_time,
        "solve_s": seconds,
        "iter_per_s": result.iterations / max(seconds - result.setup_time, 1e-9),
        "kkt_max": result.kkt_error,
    }


def cmd_memory(ns):
    rows = []
    for v in ns.vars:
        args = ["_memory_child", str(v), str(ns.iterations), str(ns.seed)]
        row = run_child(args, timeout=ns.timeout, script=__file__)
        rows.append(row)
        print(row, flush=True)
    write(rows, Path(ns.out))


# ------------------------------------------------------------------------------------ per iteration


def cmd_periter(ns):
    import scotopt

    if ns.malloc_reuse:
        malloc_reuse()
    rows = []
    for v in ns.vars:
        model = instance_for(v, ns.seed)
        lp = model.to_lp()
        bandwidth = stream_triad()
        extra = 64 * max(1, int(ns.seconds / max(v * 40e-9, 1e-6)) // 64)
        times, cpu = {}, {}
        for its in (64, 64 + extra):
            t0, c0 = time.perf_counter(), time.process_time()
            scotopt.solve(lp, dtype="float32", eps=1e-4, iteration_limit=its)
            times[its], cpu[its] = time.perf_counter() - t0, time.process_time() - c0
        per_iter = (times[64 + extra] - times[64]) / extra
        cpu_per_iter = (cpu[64 + extra] - cpu[64]) / extra
        moved = compulsory_bytes(lp.num_vars, lp.num_rows)
        bound = moved / (bandwidth * 1e9)
        row = {
            "variables": lp.num_vars, "rows": lp.num_rows, "ms_per_iter": per_iter * 1e3,
            "MB_per_iter": moved / 1e6, "triad_GBs": bandwidth, "bound_ms": bound * 1e3,
            "ratio_to_bound": per_iter / bound, "cpu_ms_per_iter": cpu_per_iter * 1e3,
            "cpu_ratio_to_bound": cpu_per_iter / bound, "effective_GBs": moved / per_iter / 1e9,
            "triad_GBs_after": stream_triad(), "malloc_reuse": ns.malloc_reuse,
        }
        rows.append(row)
        print(row, flush=True)
    write(rows, Path(ns.out))


# ------------------------------------------------------------------------------------ end to end


def cmd_e2e(ns):
    import scotopt
    from scotopt.bench.families import explicit_lp
    from scotopt.bench.peers import solve_highs
    from scotopt.solvers.kkt import kkt_report

    rows = []
    for v in ns.vars:
        model = instance_for(v, ns.seed)
        lp = model.to_lp()
        reference = math.nan
        entries = []
        if "simplex" not in ns.skip or "ipm" not in ns.skip:
            explicit = explicit_lp(lp)
            for method in ("simplex", "ipm"):
                if method in ns.skip:
                    continue
                cpu = time.process_time()
                out = solve_highs(explicit, method=method, time_limit=ns.time_limit)
                cpu = time.process_time() - cpu
                kkt = kkt_report(lp, out["x"], out["y"]).max_relative if out["x"] is not None else math.nan
                entries.append((f"highs-{method}", out["status"], out["seconds"], cpu, out["objective"], kkt,
                                out["iterations"]))
                if method == "simplex" and out["status"] == "OPTIMAL":
                    reference = out["objective"]
            del explicit
        for dtype in ns.dtypes:
            t0, cpu = time.perf_counter(), time.process_time()
            r = scotopt.solve(lp, eps=ns.eps, dtype=dtype, time_limit=ns.time_limit)
            entries.append((f"scotopt-{dtype}", r.status.name, time.perf_counter() - t0, time.process_time() - cpu,
                            r.fun, r.kkt_error, r.iterations))
        for solver, status, seconds, cpu_seconds, objective, kkt, iterations in entries:
            rows.append({
                "variables": lp.num_vars, "shape_STNPL": "x".join(str(v) for v in model.shape), "solver": solver,
                "status": status, "seconds": seconds, "cpu_seconds": cpu_seconds, "objective": objective,
                "obj_rel_error": abs(objective - reference) / abs(reference) if math.isfinite(reference) else math.nan,
                "kkt_max": kkt, "iterations": iterations,
            })
            print(rows[-1], flush=True)
    write(rows, Path(ns.out))


# ------------------------------------------------------------------------------------ Willems


def cmd_willems(ns):
    import scotopt
    from scotopt.models.inventory_instances import willems_model

    data = Path(ns.data)
    if not data.is_dir():
        sys.exit(f"Willems data not found at {data}")
    rows = []
    for chain in ns.chains:
        path = data / "snc_processed" / f"willems_{chain:02d}.csv"
        t0 = time.perf_counter()
        model = willems_model(path, num_scenarios=ns.scenarios, seed=ns.seed)
        lp = model.to_lp()
        build = time.perf_counter() - t0
        r = scotopt.solve(lp, eps=ns.eps, dtype=ns.dtype, time_limit=ns.time_limit)
        S, T, N, P, L = model.shape
        rows.append({
            "chain": chain, "stages": N, "periods": T, "scenarios": S, "variables": lp.num_vars,
            "status": r.status.name, "seconds": r.solve_time, "build_s": build, "iterations": r.iterations,
            "objective": r.fun, "kkt_max": r.kkt_error,
        })
        print(rows[-1], flush=True)
    write(rows, Path(ns.out))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_memory_child":
        print(json.dumps(memory_child(float(argv[1]), int(argv[2]), int(argv[3]))), flush=True)
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("memory")
    m.add_argument("--vars", type=float, nargs="+", default=[1e6, 1e7, 1e8])
    m.add_argument("--iterations", type=int, default=64)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--timeout", type=float, default=3600)
    m.add_argument("--out", default=str(RESULTS / "inventory_memory"))
    q = sub.add_parser("periter")
    q.add_argument("--vars", type=float, nargs="+", default=[1e6, 1e7])
    q.add_argument("--seconds", type=float, default=60.0, help="rough time budget of the timed iterations")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out", default=str(RESULTS / "inventory_periter"))
    q.add_argument("--malloc-reuse", action="store_true", help="see bench/network.py malloc_reuse()")
    e = sub.add_parser("e2e")
    e.add_argument("--vars", type=float, nargs="+", default=[1e4, 1e5, 1e6])
    e.add_argument("--eps", type=float, default=1e-4)
    e.add_argument("--time-limit", type=float, default=600.0)
    e.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    e.add_argument("--skip", nargs="*", default=[], help="any of simplex, ipm")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--out", default=str(RESULTS / "inventory_e2e"))
    w = sub.add_parser("willems")
    w.add_argument("--chains", type=int, nargs="+", default=list(range(1, 39)))
    w.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "meio_willems"))
    w.add_argument("--scenarios", type=int, default=20)
    w.add_argument("--eps", type=float, default=1e-4)
    w.add_argument("--dtype", default="float64")
    w.add_argument("--time-limit", type=float, default=120.0)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--out", default=str(RESULTS / "inventory_willems"))
    ns = p.parse_args(argv)
    {"memory": cmd_memory, "periter": cmd_periter, "e2e": cmd_e2e, "willems": cmd_willems}[ns.cmd](ns)


if __name__ == "__main__":
    main()
