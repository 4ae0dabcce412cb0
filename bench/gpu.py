"""GPU check and benchmark in one short run, for the minutes a session is lent a GPU machine.

Everything a GPU lease should measure, in order of value, each section guarded so that a failure
is a row with its error and the run goes on, and each section skipped when the time budget
(``--budget`` seconds from the start) would be overrun:

1. ``env``: GPU name, driver, CuPy / JAX versions and devices.
2. ``triad``: device memory bandwidth, STREAM triad ``a = b + s c`` in float32 through a CuPy
   elementwise kernel (bytes read + written / best time), and the host's NumPy triad.
3. ``periter``: time per PDHG iteration of the matrix-free operators on the GPU (network
   min-cost flow by arcs, multi-echelon inventory by variables; float32; backends cupy and
   jax), as the difference of two solves (64 and 64 + N iterations) over N, so setup, transfers
   and compilation cancel; networks once per ``--arc-orders`` value (the model is rebuilt in
   each arc order); compared with the compulsory traffic bound (bytes per iteration of
   ``scotopt.bench.roofline.network_bytes`` and bench/inventory.py's ``compulsory_bytes``
   divided by the triad bandwidth).
4. ``e2e``: the network (NETGEN-like, 10^6 arcs) and inventory (10^6 variables) LPs solved to
   ``eps`` = 1e-4 on the GPU in float32 (JAX twice: compilation included, then compiled), checked
   with scotopt's own KKT evaluation on the host. The CPU peers run on the same machine in the
   same run, one background process each (``peer`` subcommand, started first): HiGHS dual
   simplex and IPM, OR-Tools PDLP at the same ``eps``, and OR-Tools SimpleMinCostFlow (network).
5. ``lp``: Netlib / Kennington LPs from ``--data`` on scotopt-cupy, scotopt-jax and MPAX
   (r2HPDHG on JAX, the GPU peer) at ``eps``, each answer re-checked by
   :func:`scotopt.bench.verify.check` against index.csv's optimal objective.
6. ``mmcf``: CommaLAB multicommodity flows (``--mmcf-instances`` from ``--mmcf-data``, largest
   first) on ``--mmcf-backends`` at ``eps`` in float32, each answer's objective against
   index.csv's published optimum and its KKT error from scotopt's float64 check on the host.
   Their CPU peer, HiGHS IPM, runs one background process per instance (``--mmcf-peers``,
   started first with the other peers).

Results: ``OUT/gpu_results.json`` (rewritten after every row) and the log on stdout.
Usage: ``python bench/gpu.py run --out DIR --budget 400 --data ../shared/data``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

T0 = time.perf_counter()
RESULTS: dict = {"sections": {}, "rows": []}


def elapsed() -> float:
    return time.perf_counter() - T0


def log(*parts) -> None:
    print(f"[{elapsed():7.1f}s]", *parts, flush=True)


def save(out: Path) -> None:
    (out / "gpu_results.json").write_text(json.dumps(RESULTS, indent=1, default=str))


def row(out: Path, **fields) -> None:
    RESULTS["rows"].append(fields)
    log(json.dumps(fields, default=str))
    save(out)


def section(name: str, budget: float, need: float, out: Path):
    """Decorator-like runner: run ``fn`` if ``need`` seconds remain, record its error if it fails."""

    def runner(fn, *args, **kwargs):
        left = budget - elapsed()
        if left < need:
            RESULTS["sections"][name] = f"skipped: {left:.0f} s left, needs about {need:.0f}"
            log(f"== {name}: skipped ({left:.0f} s left)")
            save(out)
            return None
        log(f"== {name}")
        t = time.perf_counter()
        try:
            value = fn(*args, **kwargs)
            RESULTS["sections"][name] = f"ok in {time.perf_counter() - t:.1f} s"
            return value
        except Exception as exc:  # noqa: BLE001 - a failing section is a record, the run goes on
            RESULTS["sections"][name] = f"{type(exc).__name__}: {exc}"[:500]
            log(traceback.format_exc())
            return None
        finally:
            save(out)

    return runner


# ------------------------------------------------------------------------------------ sections


def env_info() -> dict:
    info = {"python": sys.version.split()[0], "numpy": np.__version__}
    try:
        info["nvidia_smi"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem",
             "--format=csv,noheader"], capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as exc:  # noqa: BLE001
        info["nvidia_smi"] = repr(exc)
    from importlib import metadata

    for package in ("scipy", "jax", "jaxlib", "cupy-cuda13x", "cupy-cuda12x", "highspy", "mpax", "optax"):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = "missing"
    try:
        import jax

        info["jax_devices"] = [str(d) for d in jax.devices()]
    except Exception as exc:  # noqa: BLE001
        info["jax_devices"] = repr(exc)
    from scotopt.kernels import gpu_available

    info["gpu_available"] = gpu_available()
    RESULTS["env"] = info
    log(json.dumps(info))
    return info


def device_triad(n: int = 1 << 28, reps: int = 20) -> float:
    """Best GB/s of ``a = b + s c`` (float32, one fused CuPy kernel), counting 3 n 4 bytes."""
    import cupy

    triad = cupy.ElementwiseKernel("float32 b, float32 c, float32 s", "float32 a", "a = b + s * c", "scotopt_triad")
    b = cupy.ones(n, dtype=cupy.float32)
    c = cupy.full(n, 2.0, dtype=cupy.float32)
    a = cupy.empty_like(b)
    best = math.inf
    for _ in range(reps):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        triad(b, c, np.float32(3.0), a)
        stop.record()
        stop.synchronize()
        best = min(best, cupy.cuda.get_elapsed_time(start, stop) / 1e3)
    assert float(a[0]) == 7.0
    copy = math.inf
    for _ in range(reps):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        cupy.copyto(a, b)
        stop.record()
        stop.synchronize()
        copy = min(copy, cupy.cuda.get_elapsed_time(start, stop) / 1e3)
    RESULTS["copy_GBs"] = 2 * n * 4 / copy / 1e9
    log(f"device copy {RESULTS['copy_GBs']:.0f} GB/s (read + write)")
    del a, b, c
    cupy.get_default_memory_pool().free_all_blocks()
    return 3 * n * 4 / best / 1e9


def device_peak_bytes(backend: str) -> float:
    """Peak device bytes of this process so far (JAX's allocator statistics) or the bytes CuPy's
    memory pool holds (its peak, since the pool keeps freed blocks)."""
    try:
        if backend == "jax":
            import jax

            return float(jax.devices()[0].memory_stats().get("peak_bytes_in_use", math.nan))
        import cupy

        return float(cupy.get_default_memory_pool().total_bytes())
    except Exception:  # noqa: BLE001
        return math.nan


def network_model(arcs: int, seed: int = 0, arc_order: str = "auto"):
    from scotopt.models.generators import netgen_min_cost_flow

    return netgen_min_cost_flow(arcs // 8, arcs, seed=seed, arc_order=arc_order)


def inventory_model(variables: int, seed: int = 0):
    from inventory import instance_for

    return instance_for(variables, seed)


def traffic_bytes(kind: str, model) -> int:
    from scotopt.bench import roofline

    if kind == "network":
        return roofline.network_bytes(model.num_arcs, model.num_nodes)
    from inventory import compulsory_bytes

    lp = model.lp
    return compulsory_bytes(lp.num_vars, lp.num_rows)


def time_solve(lp, backend: str, iterations: int) -> float:
    import scotopt

    t = time.perf_counter()
    from scotopt.options import PDHGOptions

    # the full iteration on every backend (arc screening runs on NumPy networks only)
    scotopt.solve(lp, backend=backend, dtype="float32", eps=1e-12, iteration_limit=iterations,
                  options=PDHGOptions(screening=False))
    return time.perf_counter() - t


def periter(out: Path, kind: str, size: int, backends, bandwidth: float, budget: float, min_extra: int = 256,
            arc_orders=("auto",)) -> None:
    for arc_order in arc_orders if kind == "network" else (None,):
        if budget - elapsed() < 30:
            row(out, section="periter", kind=kind, size=size, arc_order=arc_order, skipped="budget")
            continue
        t = time.perf_counter()
        model = network_model(size, arc_order=arc_order) if kind == "network" else inventory_model(size)
        build_s = time.perf_counter() - t
        if kind == "network":
            from network import _arc_order_label  # bench/network.py: the order the model ended with

            order = _arc_order_label(arc_order, model)
        else:
            order = None
        periter_of(out, kind, size, model, build_s, backends, bandwidth, budget, min_extra, order)
        del model


def periter_of(out: Path, kind: str, size: int, model, build_s: float, backends, bandwidth: float, budget: float,
               min_extra: int, order) -> None:
    lp = model.lp
    moved = traffic_bytes(kind, model)
    bound = moved / (bandwidth * 1e9)
    for backend in backends:
        if budget - elapsed() < 20:
            row(out, section="periter", kind=kind, size=size, backend=backend, skipped="budget")
            continue
        try:
            time_solve(lp, backend, 64)  # warm-up: JAX compiles here, CuPy loads its kernels
            base = time_solve(lp, backend, 64)
            extra = int(min(20_000, max(min_extra, 1.5 / max(3 * bound, 1e-7))))
            extra = 64 * max(1, extra // 64)
            longer = time_solve(lp, backend, 64 + extra)
            per_iter = (longer - base) / extra
            peak = device_peak_bytes(backend)
            row(out, section="periter", kind=kind, size=size, vars=lp.num_vars, rows=lp.num_rows, backend=backend,
                arc_order=order, dtype="float32", ms_per_iter=1e3 * per_iter, MB_per_iter=moved / 1e6,
                bound_ms=1e3 * bound,
                ratio_to_bound=per_iter / bound, effective_GBs=moved / per_iter / 1e9, triad_GBs=bandwidth,
                iterations_timed=extra, first_solve_s=base, build_s=build_s, device_peak_GB=peak / 1e9,
                device_B_per_var=peak / lp.num_vars)
        except Exception as exc:  # noqa: BLE001
            row(out, section="periter", kind=kind, size=size, backend=backend, arc_order=order,
                error=f"{type(exc).__name__}: {exc}"[:400])
            log(traceback.format_exc())


def e2e(out: Path, kind: str, size: int, backends, eps: float, time_limit: float) -> None:
    import scotopt
    from scotopt.solvers.kkt import kkt_report

    model = network_model(size) if kind == "network" else inventory_model(size)
    lp = model.lp
    for backend in backends:
        # JAX compiles per shape: the second solve in the process reuses the compiled iteration.
        for attempt in ("cold", "warm") if backend == "jax" else ("cold",):
            try:
                t = time.perf_counter()
                res = scotopt.solve(lp, backend=backend, dtype="float32", eps=eps, time_limit=time_limit)
                seconds = time.perf_counter() - t
                kkt = kkt_report(lp, res.x, res.y)
                row(out, section="e2e", kind=kind, size=size, backend=backend, dtype="float32", attempt=attempt,
                    status=res.status.name, seconds=seconds, setup_s=res.setup_time, iterations=res.iterations,
                    objective=res.primal_objective, kkt_max=kkt.max_relative, device=res.device)
            except Exception as exc:  # noqa: BLE001
                row(out, section="e2e", kind=kind, size=size, backend=backend, attempt=attempt,
                    error=f"{type(exc).__name__}: {exc}"[:400])
                log(traceback.format_exc())


def lp_collection(out: Path, data: Path, names, solvers, eps: float, time_limit: float, budget: float,
                  mpax_iterations: int) -> None:
    from scotopt.bench import families as fam
    from scotopt.bench import peers, verify
    from scotopt.bench.solvers import SOLVERS

    builders = {"netlib": fam._indexed_file("netlib", "lp"), "kennington": fam._indexed_file("kennington", "lp")}
    for entry in names:
        collection, name = entry.split("/")
        if budget - elapsed() < 15:
            row(out, section="lp", instance=name, skipped="budget")
            continue
        try:
            instance = builders[collection](name, data)
        except Exception as exc:  # noqa: BLE001
            row(out, section="lp", instance=name, error=f"build: {type(exc).__name__}: {exc}"[:300])
            continue
        rows_, cols, nnz = instance.shape
        for solver in solvers:
            if budget - elapsed() < 10:
                row(out, section="lp", instance=name, solver=solver, skipped="budget")
                continue
            try:
                if solver == "mpax":
                    answer = peers.solve_mpax(instance.csr_problem, eps=eps, iteration_limit=mpax_iterations)
                elif solver.endswith("-warm"):  # a second solve: JAX's compiled iteration is reused
                    SOLVERS[solver[:-5]].run(instance, eps, time_limit, {})
                    answer = SOLVERS[solver[:-5]].run(instance, eps, time_limit, {})
                else:
                    answer = SOLVERS[solver].run(instance, eps, time_limit, {})
                check = verify.check(instance.problem, answer.get("x"), answer.get("y"), eps, instance.reference)
                row(out, section="lp", instance=name, rows=rows_, cols=cols, nnz=nnz, solver=solver,
                    status=answer["status"], seconds=answer["seconds"], cold_seconds=answer.get("solver_seconds"),
                    iterations=answer.get("iterations"), ms_per_iter=answer.get("ms_per_iter"),
                    solved=check.get("solved"), kkt_max=check.get("kkt_max"), obj_rel_error=check.get("obj_rel_error"))
            except Exception as exc:  # noqa: BLE001
                row(out, section="lp", instance=name, solver=solver, error=f"{type(exc).__name__}: {exc}"[:400])
                log(traceback.format_exc())


# ------------------------------------------------------------------------------------ CPU peers in background

PEERS = ("highs-simplex", "highs-ipm", "pdlp", "mincostflow")


def mmcf_index(data: Path) -> dict:
    """CommaLAB's index.csv rows by instance name."""
    import csv

    with open(data / "index.csv") as f:
        return {r["name"]: r for r in csv.DictReader(f)}


def mmcf(out: Path, data: Path, names, backends, eps: float, time_limit: float, budget: float) -> None:
    """CommaLAB multicommodity LPs on the GPU backends: seconds from the call (JAX compiles each new
    shape inside it), objective error against the published optimum, float64 KKT on the host."""
    from scotopt.io.commalab import read_commalab
    from scotopt.solvers.kkt import kkt_report

    index = mmcf_index(data)
    for name in names:
        if budget - elapsed() < 20:
            row(out, section="mmcf", instance=name, skipped="budget")
            continue
        t = time.perf_counter()
        model = read_commalab(data / index[name]["file"])
        read_s = time.perf_counter() - t
        reference = float(index[name]["optimal_objective"])
        for backend in backends:
            limit = min(time_limit, budget - elapsed() - 15)
            if limit < 5:
                row(out, section="mmcf", instance=name, backend=backend, skipped="budget")
                continue
            try:
                t = time.perf_counter()
                sol = model.solve(backend=backend, dtype="float32", eps=eps, time_limit=limit)
                seconds = time.perf_counter() - t
                kkt = kkt_report(model.lp, sol.result.x, sol.result.y)
                row(out, section="mmcf", instance=name, vars=model.lp.num_vars, rows=model.lp.num_rows,
                    commodities=model.num_commodities, backend=backend, dtype="float32", status=sol.status.name,
                    seconds=seconds, time_limit=limit, setup_s=sol.result.setup_time,
                    iterations=sol.result.iterations, obj_rel_error=abs(sol.objective - reference) / abs(reference),
                    kkt_max=kkt.max_relative, read_s=read_s, device=sol.result.device)
            except Exception as exc:  # noqa: BLE001
                row(out, section="mmcf", instance=name, backend=backend, error=f"{type(exc).__name__}: {exc}"[:400])
                log(traceback.format_exc())


def mmcf_peer_rows(ns, base: dict) -> list:
    """HiGHS on one CommaLAB instance (``ns.instance`` from ``ns.data``), rows like ``cmd_peer``'s."""
    from scotopt.bench.families import explicit_lp
    from scotopt.bench.peers import solve_highs
    from scotopt.io.commalab import read_commalab
    from scotopt.solvers.kkt import kkt_report

    entry = mmcf_index(Path(ns.data))[ns.instance]
    model = read_commalab(Path(ns.data) / entry["file"])
    cpu = time.process_time()
    res = solve_highs(explicit_lp(model), method=ns.solver.split("-")[1], time_limit=ns.time_limit,
                      threads=ns.threads)
    reference = float(entry["optimal_objective"])
    has_x = res.get("x") is not None
    return [{**base, "instance": ns.instance, "status": res["status"], "seconds": res["seconds"],
             "cpu_s": time.process_time() - cpu, "objective": res.get("objective"),
             "obj_rel_error": abs(res["objective"] - reference) / abs(reference) if has_x else math.nan,
             "kkt_max": kkt_report(model.lp, res["x"], res["y"]).max_relative if has_x else math.nan,
             "iterations": res.get("iterations")}]


def cmd_peer(ns) -> None:
    """One CPU peer on the e2e instance (or a CommaLAB instance), written to ``ns.out`` as JSON rows.

    Peers: HiGHS dual simplex and IPM (``solve_highs``), OR-Tools PDLP at ``ns.eps`` with
    ``ns.threads`` threads, and (network only) OR-Tools SimpleMinCostFlow, whose exact optimum is
    also the reference objective. Every LP answer is re-checked with scotopt's float64
    ``kkt_report`` on the original LP.
    """
    from scotopt.bench.families import explicit_lp
    from scotopt.bench.peers import ortools_min_cost_flow, solve_highs, solve_ortools_pdlp
    from scotopt.solvers.kkt import kkt_report

    size = int(ns.size or 0)
    base = {"section": "peer", "kind": ns.kind, "size": size, "solver": ns.solver, "threads": ns.threads}
    t = time.perf_counter()
    cpu = time.process_time()
    try:
        if ns.kind == "mmcf":
            Path(ns.out).write_text(json.dumps(mmcf_peer_rows(ns, base), default=str))
            return
        model = network_model(size) if ns.kind == "network" else inventory_model(size)
        if ns.solver == "mincostflow":
            ok, cost, flow, seconds, build = ortools_min_cost_flow(model)
            rows = [{**base, "status": "OPTIMAL" if ok else "FAIL", "seconds": seconds, "build_s": build,
                     "objective": cost, "kkt_max": 0.0}]
        else:
            lp = explicit_lp(model)
            if ns.solver == "pdlp":
                res = solve_ortools_pdlp(lp, eps=ns.eps, time_limit=ns.time_limit, threads=ns.threads,
                                         bound_gradients_as_residuals=False)
            else:
                res = solve_highs(lp, method=ns.solver.split("-")[1], time_limit=ns.time_limit, threads=ns.threads)
            kkt = kkt_report(model.lp, res["x"], res["y"]).max_relative if res.get("x") is not None else math.nan
            rows = [{**base, "status": res["status"], "seconds": res["seconds"], "cpu_s": time.process_time() - cpu,
                     "objective": res.get("objective"), "kkt_max": kkt, "iterations": res.get("iterations")}]
    except Exception as exc:  # noqa: BLE001
        rows = [{**base, "error": f"{type(exc).__name__}: {exc}"[:300], "seconds": time.perf_counter() - t}]
    Path(ns.out).write_text(json.dumps(rows, default=str))


def start_peer(out: Path, stem: str, arguments: list) -> tuple:
    """``gpu.py peer ARGUMENTS --out OUT/STEM.json`` in a background process (stderr to
    OUT/STEM.err); returns the (process, result file) pair."""
    target = out / f"{stem}.json"
    command = [sys.executable, __file__, "peer", *arguments, "--out", str(target)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(out / f"{stem}.err", "w"))
    return process, target


def start_peers(out: Path, size: int, eps: float, time_limit: float, solvers, threads: int) -> list:
    """Start one background process per (instance kind, peer); returns (process, result file) pairs."""
    started = []
    for kind in ("network", "inventory"):
        for solver in solvers:
            if solver == "mincostflow" and kind != "network":
                continue
            started.append(start_peer(out, f"peer_{kind}_{solver}", [
                "--kind", kind, "--size", str(size), "--solver", solver, "--eps", str(eps),
                "--time-limit", str(time_limit), "--threads", str(threads if solver in ("pdlp", "highs-ipm") else 1)]))
    return started


def start_mmcf_peers(out: Path, data: Path, names, time_limit: float, solver: str, threads: int) -> list:
    """One background HiGHS process per CommaLAB instance; returns (process, result file) pairs."""
    return [start_peer(out, f"peer_mmcf_{name}_{solver}", [
        "--kind", "mmcf", "--instance", name, "--data", str(data), "--solver", solver,
        "--time-limit", str(time_limit), "--threads", str(threads)]) for name in names]


# ------------------------------------------------------------------------------------ main


DEFAULT_LPS = ("netlib/afiro,netlib/25fv47,netlib/pilot87,netlib/dfl001,kennington/ken-11,kennington/osa-07,"
               "kennington/pds-10,kennington/cre-b,kennington/osa-14,kennington/pds-20,kennington/rail507,"
               "kennington/ken-18,kennington/pds-30,kennington/pds-50")


def cmd_run(ns) -> None:
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    budget = ns.budget
    wanted = set(ns.sections.split(","))
    peers = start_peers(out, int(ns.e2e_size), ns.eps, ns.peer_time_limit, ns.peers.split(","), ns.peer_threads) \
        if "peers" in wanted else []
    mmcf_names = ns.mmcf_instances.split(",")
    if "mmcf" in wanted and ns.mmcf_peers:
        peers += start_mmcf_peers(out, Path(ns.mmcf_data), ns.mmcf_peers.split(","), ns.peer_time_limit,
                                  ns.mmcf_peer_solver, ns.mmcf_peer_threads)
    section("env", budget, 0, out)(env_info)
    bandwidth = section("triad", budget, 5, out)(device_triad)
    if bandwidth:
        RESULTS["triad_GBs"] = bandwidth
        log(f"device triad {bandwidth:.0f} GB/s")
    bandwidth = bandwidth or 3000.0
    backends = ns.backends.split(",")
    arc_orders = ns.arc_orders.split(",")
    for kind, sizes in (("network", ns.network_sizes), ("inventory", ns.inventory_sizes)):
        for size in sizes if "periter" in wanted else ():
            section(f"periter {kind} {size:.0e}", budget, 20, out)(periter, out, kind, int(size), backends, bandwidth,
                                                                   budget, arc_orders=arc_orders)
    for kind in ("network", "inventory") if "e2e" in wanted else ():
        section(f"e2e {kind}", budget, 30, out)(e2e, out, kind, int(ns.e2e_size), backends, ns.eps, ns.time_limit)
    for size in ns.large_sizes:
        section(f"large network {size:.0e}", budget, 40, out)(periter, out, "network", int(size), ["jax"], bandwidth,
                                                              budget, ns.min_extra, arc_orders)
    if "lp" in wanted:
        section("lp", budget, 20, out)(lp_collection, out, Path(ns.data), ns.lps.split(","), ns.lp_solvers.split(","),
                                       ns.eps, ns.time_limit, budget, ns.mpax_iterations)
    if "mmcf" in wanted:
        section("mmcf", budget, 20, out)(mmcf, out, Path(ns.mmcf_data), mmcf_names, ns.mmcf_backends.split(","),
                                         ns.eps, ns.mmcf_time_limit, budget)
    for process, target in peers:
        try:
            process.wait(timeout=max(1.0, budget + 20 - elapsed()))
        except subprocess.TimeoutExpired:
            process.kill()
            log(f"{target.name}: killed at the budget")
        if target.exists():
            for r in json.loads(target.read_text()):
                row(out, **r)
    log(f"done in {elapsed():.0f} s")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", default="bench/results/gpu")
    r.add_argument("--budget", type=float, default=400.0, help="seconds for the whole run")
    r.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    r.add_argument("--backends", default="cupy,jax")
    r.add_argument("--network-sizes", type=float, nargs="*", default=[1e6, 1e7])
    r.add_argument("--inventory-sizes", type=float, nargs="*", default=[1e6, 1e7])
    r.add_argument("--e2e-size", type=float, default=1e6)
    r.add_argument("--large-sizes", type=float, nargs="*", default=[], help="network sizes timed last, on JAX only")
    r.add_argument("--arc-orders", default="auto",
                   help="network periter: MinCostFlow arc_order values (given,blocked,tiled,auto), comma-separated")
    r.add_argument("--min-extra", type=int, default=256,
                   help="fewest extra iterations timed per size of --large-sizes (the difference of two solves)")
    r.add_argument("--eps", type=float, default=1e-4)
    r.add_argument("--time-limit", type=float, default=20.0)
    r.add_argument("--peer-time-limit", type=float, default=240.0)
    r.add_argument("--peers", default=",".join(PEERS), help="CPU peers run in background processes")
    r.add_argument("--peer-threads", type=int, default=4, help="threads of OR-Tools PDLP and HiGHS IPM")
    r.add_argument("--sections", default="periter,e2e,lp,peers",
                   help="which of periter, e2e, lp, peers, mmcf (env and triad always run)")
    r.add_argument("--lp-solvers", default="scotopt-cupy,scotopt-jax,mpax")
    r.add_argument("--lps", default=DEFAULT_LPS)
    r.add_argument("--mpax-iterations", type=int, default=100_000)
    r.add_argument("--mmcf-data", default=str(ROOT.parent / "shared" / "data" / "mmcf_commalab"))
    r.add_argument("--mmcf-instances", default="grid15,planar1000,grid14,grid13,planar500,grid11,planar300,grid10")
    r.add_argument("--mmcf-backends", default="jax")
    r.add_argument("--mmcf-time-limit", type=float, default=90.0, help="seconds per scotopt MMCF solve")
    r.add_argument("--mmcf-peers", default="", help="CommaLAB instances HiGHS solves in the background")
    r.add_argument("--mmcf-peer-solver", default="highs-ipm", choices=["highs-ipm", "highs-simplex"])
    r.add_argument("--mmcf-peer-threads", type=int, default=3)
    h = sub.add_parser("peer")
    h.add_argument("--kind", choices=["network", "inventory", "mmcf"])
    h.add_argument("--instance", help="with --kind mmcf: the CommaLAB instance")
    h.add_argument("--data", help="with --kind mmcf: the CommaLAB folder (index.csv)")
    h.add_argument("--size", type=float)
    h.add_argument("--solver", choices=PEERS)
    h.add_argument("--eps", type=float, default=1e-4)
    h.add_argument("--threads", type=int, default=1)
    h.add_argument("--time-limit", type=float, default=240.0)
    h.add_argument("--out")
    ns = parser.parse_args(argv)
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    (cmd_run if ns.cmd == "run" else cmd_peer)(ns)


if __name__ == "__main__":
    main()
