"""Network-flow benchmarks: memory per arc, per-iteration time vs the memory-traffic bound, end
to end against the peers, and multicommodity instances against HiGHS.

    python bench/network.py memory --arcs 1e6 1e7 1e8 --iterations 64
    python bench/network.py periter --arcs 1e6 1e7
    python bench/network.py periter --fused --arcs 1e6 1e7 --repeats 3 --seconds 5 [--family grid]
        [--arc-orders given blocked blocked:65536:1]
    python bench/network.py e2e --arcs 1e6 --eps 1e-4 --time-limit 900 [--forced-lower 0.3]
    python bench/network.py mmcf --instances grid10,planar300 --time-limit 600

Every sub-command writes a CSV and a Markdown table under bench/results/ (``--out`` prefix).
Instances are the seeded NETGEN-like generator of ``scotopt.models.generators`` (V = E/8,
sqrt(V) sources and sinks, costs 1..10^4, capacities 1..10^3, NETGEN-8 style) unless said,
built with ``MinCostFlow``'s default ``arc_order="auto"`` (arcs blocked from 2^18 nodes on,
``scotopt.models.arc_order``) unless ``--arc-orders`` says otherwise.

Rules:
- memory: each size in a fresh process. ``peak bytes/arc`` = (VmHWM during the solve - VmRSS
  before building the model) / arcs: the model's own arrays (int32 tail/head, the LP's float64
  cost and bounds), every solver vector (float32 on the NumPy backend), the host float64 KKT
  verification and the returned Result. VmHWM is reset after the model is built (Linux
  ``/proc/self/clear_refs``), so the generator's temporaries are reported separately.
  Iterations/s = iterations / (solve time - setup time), the periodic KKT evaluation included.
- periter: STREAM triad (numpy ``a = b + s*c`` on float64 arrays of 5e7 entries, counted as
  STREAM does: 24 bytes per entry) measured in the same process; the per-iteration time is the
  difference of two solves (64 and 64 + N iterations) over N, so setup and the final
  verification cancel and the periodic evaluation is amortised. Bytes moved per iteration is the
  compulsory traffic of the algorithm as written (see ``compulsory_bytes``).
- e2e: every solver in the same process one after the other, on ``--threads`` threads each
  (default 1; SimpleMinCostFlow is single-threaded); scotopt's answer
  and every LP peer's answer are checked with scotopt's float64 KKT check; SimpleMinCostFlow's
  flow is checked for feasibility; objective errors are against SimpleMinCostFlow's optimum.
  HiGHS's clock starts after ``import highspy`` and ``passModel``; scotopt's at ``model.solve``
  after a warm-up solve of a small network (:func:`warm_up`), so that neither counts loading
  its code (the lazily imported modules and numba's cached kernels, about 1 s) and scotopt's
  clock still counts its setup (scaling, norm bound, device copies). ``--no-warm-up`` times the
  first solve of the process instead.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tables import write_csv  # noqa: E402 - bench/ is on the path only after the lines above

from scotopt.bench.machine import describe, stream_triad  # noqa: E402
from scotopt.bench.peers import ortools_min_cost_flow, solve_highs, solve_ortools_pdlp  # noqa: E402
from scotopt.bench.roofline import network_bytes as compulsory_bytes  # noqa: E402
from scotopt.options import PDHGOptions  # noqa: E402

# The per-iteration measures time the full iteration (every arc), the one the traffic bound
# counts: arc screening would skip most arcs once a solve settles (see e2e for what it saves).
FULL_ITERATIONS = PDHGOptions(screening=False)

RESULTS = ROOT / "bench" / "results"


def machine() -> str:
    return describe()


def malloc_reuse() -> bool:
    """glibc only: serve large arrays from the heap and never trim it (M_MMAP_MAX = 0,
    M_TRIM_THRESHOLD = 2 GiB), so the pages of a freed temporary are reused by the next one
    instead of being unmapped and faulted in again. NumPy's out-of-place operations allocate a
    fresh E-long array each; at 10^7 arcs a fresh-output add took 15 ms against 8 ms into an
    existing array. A process-wide setting, so an option of the benchmark, not of the library."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))


def _status_kb(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def _trim_heap():
    """Return the heap's free pages to the system (glibc ``malloc_trim``), after a collection.
    Without it the pages a warm-up freed stay resident, and the arrays built next reuse them
    without growing the RSS: at 10^6 arcs the model then measured 31.6 B/arc against 47.0."""
    import gc

    from scotopt.kernels.pages import return_free_pages

    gc.collect()
    return_free_pages()


def _reset_peak():
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def write(rows, prefix: Path, columns=None):
    columns = columns or list(rows[0].keys())
    write_csv(rows, prefix, columns)
    lines = [f"machine: {machine()}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(k, "")) for k in columns) + " |")
    prefix.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


# ------------------------------------------------------------------------------------ memory


def _arc_order_label(arc_order: str, model) -> str:
    """The requested ``arc_order`` and what the model did with it (blocks of how many tail
    nodes), for the result tables."""
    if model.input_arc is None:
        return f"{arc_order} (as generated)"
    from scotopt.models.arc_order import default_block_nodes, default_head_groups

    if model.operator.tile_nodes:
        return f"{arc_order} (tiled, tiles of {model.operator.tile_nodes} nodes)"
    _, block, groups = _order_and_block(arc_order)
    groups = groups or default_head_groups(model.num_arcs)
    block = block or default_block_nodes(model.num_nodes, model.num_arcs, head_groups=groups)
    return f"{arc_order} (blocked, {block} nodes, {groups} head groups)"


def _arc_order_choice(text: str) -> str:
    try:
        order, block, groups = _order_and_block(text)
    except ValueError:
        order = None
    if order not in ("auto", "given", "blocked", "tiled") or any(
            n is not None and (order not in ("blocked", "tiled") or n < 1) for n in (block, groups)) or (
            order == "tiled" and groups is not None):
        raise argparse.ArgumentTypeError(
            f"expected auto, given, blocked, blocked:N, blocked:N:G, tiled or tiled:T, got {text!r}")
    return text


def _order_and_block(arc_order: str):
    """``"blocked:N:G"`` -> ("blocked", N, G): blocks of N tail nodes in G head groups, either
    left empty (``"blocked::2"``) or out (``"blocked:N"``) for the default
    (``arc_order.default_block_nodes``, ``default_head_groups``); ``"tiled:T"`` -> ("tiled", T,
    None): tiles of T nodes (``arc_order.default_tile_nodes`` left out); another order ->
    (order, None, None)."""
    order, _, rest = arc_order.partition(":")
    block, _, groups = rest.partition(":")
    return order, int(float(block)) if block else None, int(groups) if groups else None


def memory_child(arcs: int, iterations: int, seed: int, reuse: bool = False, arc_order: str = "auto",
                 screening: bool = True) -> dict:
    if reuse:
        malloc_reuse()
    import scotopt
    from scotopt.models.generators import netgen_min_cost_flow

    # load every library and kernel a solve touches, the threaded ones included (code pages and
    # numba's compiler state are not per-arc memory)
    warm_up(["float32"])
    _trim_heap()
    base = _status_kb("VmRSS")
    _reset_peak()
    t0 = time.perf_counter()
    model = netgen_min_cost_flow(arcs // 8, arcs, seed=seed, arc_order=arc_order)
    gen_seconds = time.perf_counter() - t0
    gen_peak = _status_kb("VmHWM") - base
    model_bytes = _status_kb("VmRSS") - base
    _reset_peak()
    t0 = time.perf_counter()
    result = scotopt.solve(model.lp, dtype="float32", eps=1e-4, iteration_limit=iterations,
                           options=PDHGOptions(screening=screening))
    seconds = time.perf_counter() - t0
    peak = _status_kb("VmHWM") - base
    return {
        "arcs": arcs,
        "nodes": model.num_nodes,
        "arc_order": _arc_order_label(arc_order, model),
        "screening": screening,
        "iterations": result.iterations,
        "generate_s": gen_seconds,
        "generate_peak_B_per_arc": gen_peak / arcs,
        "model_B_per_arc": model_bytes / arcs,
        "solve_peak_B_per_arc": peak / arcs,
        "peak_GiB": (peak) / 2**30,
        "setup_s": result.setup_time,
        "solve_s": seconds,
        "iter_per_s": result.iterations / max(seconds - result.setup_time, 1e-9),
        "kkt_max": result.kkt_error,
        "malloc_reuse": reuse,
    }


def run_child(args: list[str], timeout: float, script: str = __file__):
    """Run ``script args`` in a fresh interpreter and return the JSON line it prints last."""
    proc = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, timeout=timeout)
    for line in proc.stdout.splitlines()[::-1]:
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"child failed: {proc.stderr[-2000:]}")


def cmd_memory(ns):
    rows = []
    for arcs in ns.arcs:
        for screening in ns.screening:
            args = ["_memory_child", str(int(arcs)), str(ns.iterations), str(ns.seed), str(int(ns.malloc_reuse)),
                    ns.arc_order, screening]
            row = run_child(args, timeout=ns.timeout)
            rows.append(row)
            print(row, flush=True)
    write(rows, Path(ns.out))


# ------------------------------------------------------------------------------------ per iteration


def periter_row(arcs: int, extra: int, bandwidth: float, seed: int) -> dict:
    import scotopt
    from scotopt.models.generators import netgen_min_cost_flow

    model = netgen_min_cost_flow(arcs // 8, arcs, seed=seed)
    times = {}
    for its in (64, 64 + extra):
        t0 = time.perf_counter()
        scotopt.solve(model.lp, dtype="float32", eps=1e-4, iteration_limit=its, options=FULL_ITERATIONS)
        times[its] = time.perf_counter() - t0
    per_iter = (times[64 + extra] - times[64]) / extra
    moved = compulsory_bytes(arcs, model.num_nodes)
    bound = moved / (bandwidth * 1e9)
    return {
        "arcs": arcs,
        "ms_per_iter": per_iter * 1e3,
        "MB_per_iter": moved / 1e6,
        "triad_GBs": bandwidth,
        "bound_ms": bound * 1e3,
        "ratio_to_bound": per_iter / bound,
        "effective_GBs": moved / per_iter / 1e9,
    }


def _solve_seconds(model, iterations: int) -> float:
    """Seconds of a float32 solve after its setup (scaling, norm, device copies): at 10^7 arcs
    the setup takes seconds and varies by more than the timed iterations' differences."""
    import scotopt

    t0 = time.perf_counter()
    result = scotopt.solve(model.lp, dtype="float32", eps=1e-4, iteration_limit=iterations, options=FULL_ITERATIONS)
    return time.perf_counter() - t0 - result.setup_time


def _periter_model(arcs: int, family: str, seed: int, arc_order: str = "auto"):
    from scotopt.models.generators import grid_min_cost_flow, netgen_min_cost_flow

    arc_order, block_nodes, head_groups = _order_and_block(arc_order)
    if family == "grid":  # 8-neighbour grid: ~8 arcs per node, heads next to their tails
        side = max(2, int(round((arcs / 8) ** 0.5)))
        return grid_min_cost_flow(side, side, seed=seed, arc_order=arc_order, block_nodes=block_nodes,
                                  head_groups=head_groups)
    return netgen_min_cost_flow(arcs // 8, arcs, seed=seed, arc_order=arc_order, block_nodes=block_nodes,
                                head_groups=head_groups)


def periter_fused_rows(arcs: int, extra: int, repeats: int, seed: int, family: str = "netgen",
                       triad_n: int = 50_000_000, only=None, arc_orders=("auto",)) -> list[dict]:
    """Generic NumPy and fused (numba) iterations, interleaved: each repeat measures the triads,
    then each variant (their order reversed every other repeat), each as the difference of a
    64- and a (64 + extra)-iteration solve over ``extra``, setup times subtracted. A variant is an
    arc order (``arc_orders``: one model each, ``MinCostFlow``'s ``arc_order``) and a mode:
    ``numpy`` (SCOTOPT_NUMBA=0), ``numba-1-thread`` (fused, numba.set_num_threads(1)) and
    ``numba`` (fused on all of numba's threads; the same as the former on one core); ``only``:
    a subset of these names.

    Returns one row per mode: min and median over the repeats, and the bound = compulsory bytes
    (``scotopt.bench.roofline.network_bytes``) / bandwidth at the median triads of the run: the
    STREAM triad as STREAM runs it (compiled, all cores; ``ratio_*``), and the NumPy triad of the
    earlier tables (``ratio_median_numpy_triad``)."""
    import statistics

    import numba

    from scotopt.bench.machine import compiled_stream_triad
    from scotopt.kernels.network_fused import ENV_SWITCH

    models = {order: _periter_model(arcs, family, seed, order) for order in arc_orders}
    model = next(iter(models.values()))
    arcs = model.lp.num_vars
    all_threads = numba.get_num_threads()
    modes = {"numpy": ("0", all_threads), "numba-1-thread": ("1", 1), "numba": ("1", all_threads)}
    if all_threads == 1:
        del modes["numba"]
    if only:  # a subset (at 10^8 the NumPy mode alone takes minutes)
        modes = {mode: setting for mode, setting in modes.items() if mode in only}

    def use(mode):
        flag, threads = modes[mode]
        os.environ[ENV_SWITCH] = flag
        numba.set_num_threads(threads)

    variants = [(order, mode) for order in models for mode in modes]
    for order, mode in variants:  # warm-up: compile (or load) the kernels, touch the code paths
        use(mode)
        _solve_seconds(models[order], 2)
    per_iter = {variant: [] for variant in variants}
    triads = {"numpy": [], "compiled-1": [], "compiled-all": []}

    def measure_triads():
        triads["numpy"].append(stream_triad(n=triad_n))
        triads["compiled-1"].append(compiled_stream_triad(n=triad_n, threads=1))
        triads["compiled-all"].append(compiled_stream_triad(n=triad_n))

    for rep in range(repeats):
        measure_triads()
        for variant in variants if rep % 2 == 0 else variants[::-1]:
            order, mode = variant
            use(mode)
            base = _solve_seconds(models[order], 64)
            longer = _solve_seconds(models[order], 64 + extra)
            per_iter[variant].append((longer - base) / extra)
            print(f"{family} arcs={arcs} rep={rep} {order} {mode}: {per_iter[variant][-1] * 1e3:.2f} ms/iter "
                  f"(triads {triads['numpy'][-1]:.1f} / {triads['compiled-1'][-1]:.1f} / "
                  f"{triads['compiled-all'][-1]:.1f} GB/s)", flush=True)
    os.environ.pop(ENV_SWITCH, None)
    numba.set_num_threads(all_threads)
    measure_triads()
    bandwidth = {k: statistics.median(v) for k, v in triads.items()}
    moved = compulsory_bytes(arcs, model.num_nodes)
    bound = moved / (bandwidth["compiled-all"] * 1e9)
    numpy_bound = moved / (bandwidth["numpy"] * 1e9)
    rows = []
    for (order, mode), times in per_iter.items():
        best, middle = min(times), statistics.median(times)
        rows.append({
            "family": family, "arcs": arcs, "arc_order": _arc_order_label(order, models[order]),
            "mode": mode, "threads": modes[mode][1], "repeats": repeats,
            "extra_iterations": extra, "ms_min": best * 1e3, "ms_median": middle * 1e3, "MB_per_iter": moved / 1e6,
            "stream_GBs_all_cores": bandwidth["compiled-all"], "stream_GBs_1_core": bandwidth["compiled-1"],
            "numpy_triad_GBs": bandwidth["numpy"], "bound_ms": bound * 1e3, "ratio_min": best / bound,
            "ratio_median": middle / bound, "ratio_median_numpy_triad": middle / numpy_bound,
            "load_avg_1min": os.getloadavg()[0],
        })
    return rows


def cmd_periter(ns):
    if ns.malloc_reuse:
        malloc_reuse()
    if ns.fused:
        rows = []
        for arcs in ns.arcs:
            extra = 64 * max(1, int(ns.seconds / max(arcs * 25e-9, 1e-6)) // 64)
            rows.extend(periter_fused_rows(int(arcs), extra, ns.repeats, ns.seed, ns.family, int(ns.triad_n),
                                           ns.modes, ns.arc_orders))
        write(rows, Path(ns.out))
        return
    rows = []
    for arcs in ns.arcs:
        bandwidth = stream_triad()
        extra = max(64, int(ns.seconds / max(arcs * 25e-9, 1e-6)))
        extra = 64 * max(1, extra // 64)
        row = periter_row(int(arcs), extra, bandwidth, ns.seed)
        row["triad_GBs_after"] = stream_triad()
        row["malloc_reuse"] = ns.malloc_reuse
        rows.append(row)
        print(row, flush=True)
    write(rows, Path(ns.out))


# ------------------------------------------------------------------------------------ end to end


def with_forced_lower(model, share, seed, amount=3.0):
    """``model`` with a lower bound of ``amount`` on a random ``share`` of its arcs, forced on top
    of its flows (capacity and supplies grow by it): the same optimum plus cost@lower, with those
    arcs at their lower bound wherever the original carries nothing."""
    from scotopt.models import MinCostFlow

    lower = np.where(np.random.default_rng(seed).random(model.num_arcs) < share, amount, 0.0)
    V = model.num_nodes
    forced = np.bincount(model.tail, lower, V) - np.bincount(model.head, lower, V)
    return MinCostFlow(model.tail, model.head, model.cost, model.capacity + lower, model.supply + forced, lower=lower,
                       name=f"{model.lp.name}-lower{share:g}", arc_order="given")


def explicit_lp(model):
    from scotopt import LP

    lp = model.lp
    return LP(lp.c, model.operator.to_csr(), lp.con_lb, lp.con_ub, lp.var_lb, lp.var_ub, c0=lp.c0, name=lp.name)


def _peer_row(model, name, ref, solver, status, seconds, x, y, iterations, note):
    from scotopt.solvers.kkt import kkt_report

    # x in model order (the LP's columns), as every solver of the LP returns it
    kkt = kkt_report(model.lp, x, y).max_relative if x is not None and y is not None else float("nan")
    obj = model.lp.objective(x) if x is not None else float("nan")
    return {
        "instance": name,
        "arcs": model.num_arcs,
        "solver": solver,
        "status": status,
        "seconds": seconds,
        "objective": obj,
        "obj_rel_error": abs(obj - ref) / abs(ref),
        "kkt_max": kkt,
        "iterations": iterations,
        "note": note,
    }


def warm_up(dtypes):
    """A few iterations of a 2^18-arc network per dtype (the size from which the kernels run
    on threads): imports what a solve imports and loads numba's cached kernels, those of arc
    screening included (:func:`load_kernels`)."""
    from scotopt.kernels.network_fused import PARALLEL_MIN_ARCS
    from scotopt.models.generators import netgen_min_cost_flow

    model = netgen_min_cost_flow(PARALLEL_MIN_ARCS // 8, PARALLEL_MIN_ARCS, seed=1)
    for dtype in dtypes:
        load_kernels(model, dtype)


def load_kernels(model, dtype: str, iterations: int = 320) -> None:
    """``iterations`` of ``model`` with arc screening from the second chunk on whatever the share
    of active arcs (the limit lifted for this solve only), so that every kernel a solve may run
    is loaded (numba's cache, or compiled) before anything is timed or its memory measured. 320
    iterations include one evaluation with the ray tests (every 4th, from iteration 256)."""
    from scotopt.kernels import network_screen

    limit = network_screen.MAX_ACTIVE_FRACTION
    network_screen.MAX_ACTIVE_FRACTION = 1.0
    try:
        model.solve(eps=1e-4, dtype=dtype, iteration_limit=iterations)
    finally:
        network_screen.MAX_ACTIVE_FRACTION = limit
    # the float64 check of an optimality claim, which a solve stopped by its limit does not run
    # (it reads the iterate in the solve's dtype)
    from scotopt.solvers import kkt

    kkt.kkt_report(model.lp, np.zeros(model.lp.num_vars, dtype=dtype), np.zeros(model.lp.num_rows),
                   keep_reduced_costs=False)


def cmd_e2e(ns):
    if ns.malloc_reuse:
        malloc_reuse()
    _use_threads(ns.threads)  # scotopt's fused kernels run on numba's threads: as many as the peers get
    if ns.warm_up:
        warm_up(ns.dtypes)

    from scotopt.models.generators import grid_min_cost_flow, netgen_min_cost_flow

    rows = []
    for arcs in ns.arcs:
        arcs = int(arcs)
        if ns.family == "netgen":
            model = netgen_min_cost_flow(arcs // 8, arcs, seed=ns.seed)
        else:
            side = int(round((arcs / 8) ** 0.5))
            model = grid_min_cost_flow(side, side, seed=ns.seed)
        if ns.forced_lower:
            model = with_forced_lower(model, ns.forced_lower, ns.seed)
        name = model.lp.name
        ok, ref, flow, mcf_s, mcf_build = ortools_min_cost_flow(model)
        net = np.bincount(model.tail, flow, model.num_nodes) - np.bincount(model.head, flow, model.num_nodes)
        feasible = bool(np.all(net == model.supply) and np.all(flow >= model.lower) and np.all(flow <= model.capacity))
        rows.append(
            {
                "instance": name,
                "arcs": model.num_arcs,
                "solver": "ortools-mincostflow",
                "status": "OPTIMAL" if ok else "FAIL",
                "seconds": mcf_s,
                "objective": ref,
                "obj_rel_error": 0.0,
                "kkt_max": 0.0 if feasible else float("nan"),
                "iterations": 0,
            }
        )
        print(rows[-1], flush=True)

        def add(solver, status, seconds, x, y, iterations, note="", model=model, name=name, ref=ref):
            rows.append(_peer_row(model, name, ref, solver, status, seconds, x, y, iterations, note))
            print(rows[-1], flush=True)

        variants = [(d, m, screening) for d in ns.dtypes for m in ns.numba for screening in ns.screening
                    if m == "on" or screening == "on"]
        for dtype, mode, screening in variants:
            from scotopt.kernels.network_fused import ENV_SWITCH

            os.environ[ENV_SWITCH] = "1" if mode == "on" else "0"
            t0 = time.perf_counter()
            sol = model.solve(eps=ns.eps, dtype=dtype, time_limit=ns.time_limit,
                              options=PDHGOptions(screening=screening == "on"))
            seconds = time.perf_counter() - t0
            os.environ.pop(ENV_SWITCH)
            t1 = time.perf_counter()
            repaired = model.integral_flow(sol.flow, sol.potentials)
            repair_s = time.perf_counter() - t1
            add(
                f"scotopt-numpy-{dtype}" + ("" if mode == "on" else "-unfused")
                + ("" if screening == "on" else "-unscreened"),
                sol.status.name,
                seconds,
                sol.result.x,
                sol.result.y,
                sol.result.iterations,
                f"repair {repair_s:.2f}s feasible={repaired.feasible} cost_gap_to_opt="
                f"{(repaired.cost - ref) / ref:.2e} gap_to_bound={repaired.gap:.2e}",
            )
        lp = explicit_lp(model)
        for method in ("simplex", "ipm"):
            if method in ns.skip:
                continue
            res = solve_highs(lp, method=method, time_limit=ns.time_limit, threads=ns.threads)
            add(f"highs-{method}", res["status"], res["seconds"], res["x"], res["y"], res["iterations"])
        if "pdlp" not in ns.skip:
            res = solve_ortools_pdlp(lp, eps=ns.eps, time_limit=ns.time_limit, bound_gradients_as_residuals=False,
                                     threads=ns.threads)
            add("ortools-pdlp", res["status"], res["seconds"], res["x"], res["y"], res["iterations"])
        del lp
    write(
        rows,
        Path(ns.out),
        [
            "instance",
            "arcs",
            "solver",
            "status",
            "seconds",
            "iterations",
            "objective",
            "obj_rel_error",
            "kkt_max",
            "note",
        ],
    )


# ------------------------------------------------------------------------------------ MMCF


def _use_threads(count: int):
    """numba's thread count for scotopt's fused kernels (where numba is installed)."""
    try:
        import numba
    except ImportError:
        return
    numba.set_num_threads(max(1, min(count, numba.config.NUMBA_NUM_THREADS)))


def cmd_mmcf(ns):
    _use_threads(ns.threads)
    from scotopt import LP
    from scotopt.io.commalab import read_commalab
    from scotopt.solvers.kkt import kkt_report

    data = Path(ns.data)
    index = {r["name"]: r for r in csv.DictReader(open(data / "index.csv"))}
    rows = []
    for name in ns.instances.split(","):
        model = read_commalab(data / index[name]["file"])
        ref = float(index[name]["optimal_objective"])
        base = {
            "instance": name,
            "vars": model.lp.num_vars,
            "rows": model.lp.num_rows,
            "commodities": model.num_commodities,
        }
        for dtype, screening in itertools.product(ns.dtypes, ns.screening):
            t0 = time.perf_counter()
            sol = model.solve(eps=ns.eps, dtype=dtype, time_limit=ns.time_limit,
                              options=PDHGOptions(screening=screening == "on"))
            seconds = time.perf_counter() - t0
            rows.append(
                {
                    **base,
                    "solver": f"scotopt-{dtype}" + ("" if screening == "on" else "-unscreened"),
                    "status": sol.status.name,
                    "seconds": seconds,
                    "iterations": sol.result.iterations,
                    "obj_rel_error": abs(sol.objective - ref) / ref,
                    "kkt_max": sol.result.kkt_error,
                }
            )
            print(rows[-1], flush=True)
        for method in ns.highs:
            lp = LP(
                model.lp.c, model.operator.to_csr(), model.lp.con_lb, model.lp.con_ub, model.lp.var_lb, model.lp.var_ub
            )
            res = solve_highs(lp, method=method, time_limit=ns.time_limit, threads=ns.threads)
            err = abs(res["objective"] - ref) / ref if res["x"] is not None else float("nan")
            kkt = kkt_report(model.lp, res["x"], res["y"]).max_relative if res["y"] is not None else float("nan")
            rows.append(
                {
                    **base,
                    "solver": f"highs-{method}",
                    "status": res["status"],
                    "seconds": res["seconds"],
                    "iterations": res["iterations"],
                    "obj_rel_error": err,
                    "kkt_max": kkt,
                }
            )
            print(rows[-1], flush=True)
            del lp
    write(rows, Path(ns.out))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_memory_child":
        print(json.dumps(memory_child(int(argv[1]), int(argv[2]), int(argv[3]), bool(int(argv[4])), argv[5],
                                      argv[6] == "on")), flush=True)
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("memory")
    m.add_argument("--arcs", type=float, nargs="+", default=[1e6, 1e7, 1e8])
    m.add_argument("--iterations", type=int, default=64)
    m.add_argument("--screening", nargs="+", choices=["on", "off"], default=["on"],
                   help="PDHGOptions.screening (a solve of 64 iterations runs unscreened either way)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--timeout", type=float, default=3600)
    m.add_argument("--out", default=str(RESULTS / "network_memory"))
    m.add_argument("--malloc-reuse", action="store_true", help="see malloc_reuse()")
    m.add_argument("--arc-order", choices=["auto", "given", "blocked", "tiled"], default="auto",
                   help="MinCostFlow's arc_order")
    q = sub.add_parser("periter")
    q.add_argument("--arcs", type=float, nargs="+", default=[1e6, 1e7])
    q.add_argument("--seconds", type=float, default=60.0, help="rough time budget of the timed iterations")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out", default=str(RESULTS / "network_periter"))
    q.add_argument("--malloc-reuse", action="store_true", help="see malloc_reuse()")
    q.add_argument("--fused", action="store_true",
                   help="fused numba iteration vs generic NumPy, interleaved (periter_fused_rows)")
    q.add_argument("--repeats", type=int, default=3, help="with --fused: interleaved repeats")
    q.add_argument("--family", choices=["netgen", "grid"], default="netgen", help="with --fused: the generator")
    q.add_argument("--triad-n", type=float, default=5e7, help="with --fused: triad array length (float64)")
    q.add_argument("--arc-orders", nargs="+", type=_arc_order_choice, default=["auto"],
                   help="with --fused: MinCostFlow's arc_order (auto, given, blocked, or blocked:N[:G] for "
                        "blocks of N tail nodes in G head groups, blocked::G for G groups of default blocks, "
                        "tiled or tiled:T for tiles of T nodes), one model each (interleaved)")
    q.add_argument("--modes", nargs="*", choices=["numpy", "numba-1-thread", "numba"],
                   help="with --fused: only these modes (default: all)")
    e = sub.add_parser("e2e")
    e.add_argument("--arcs", type=float, nargs="+", default=[1e6])
    e.add_argument("--family", choices=["netgen", "grid"], default="netgen")
    e.add_argument("--forced-lower", type=float, default=0.0,
                   help="lower bound 3 on this share of the arcs, forced on top of the flows (with_forced_lower)")
    e.add_argument("--eps", type=float, default=1e-4)
    e.add_argument("--time-limit", type=float, default=900.0)
    e.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    e.add_argument("--skip", nargs="*", default=[], help="any of simplex, ipm, pdlp")
    e.add_argument("--numba", nargs="+", choices=["on", "off"], default=["on"],
                   help="SCOTOPT_NUMBA for scotopt's solves: on (fused where numba is installed), off, or both")
    e.add_argument("--screening", nargs="+", choices=["on", "off"], default=["on"],
                   help="scotopt with arc screening (PDHGOptions.screening), without, or both")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--threads", type=int, default=1,
                   help="threads of every solver: numba's for scotopt, HiGHS threads, PDLP num_threads")
    e.add_argument("--out", default=str(RESULTS / "network_e2e"))
    e.add_argument("--malloc-reuse", action="store_true", help="see malloc_reuse()")
    e.add_argument("--no-warm-up", dest="warm_up", action="store_false",
                   help="time scotopt's first solve in the process (imports and kernel loads included)")
    c = sub.add_parser("mmcf")
    c.add_argument("--instances", default="grid10,grid11,grid13,grid14,grid15,planar300,planar500,planar1000")
    c.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mmcf_commalab"))
    c.add_argument("--eps", type=float, default=1e-4)
    c.add_argument("--time-limit", type=float, default=600.0)
    c.add_argument("--dtypes", nargs="+", default=["float32"])
    c.add_argument("--highs", nargs="*", default=["ipm"])
    c.add_argument("--screening", nargs="+", choices=["on", "off"], default=["on"],
                   help="scotopt with safe column screening on, off, or both (one row each)")
    c.add_argument("--threads", type=int, default=1, help="threads of every solver (numba's for scotopt, HiGHS)")
    c.add_argument("--out", default=str(RESULTS / "network_mmcf"))
    ns = p.parse_args(argv)
    {"memory": cmd_memory, "periter": cmd_periter, "e2e": cmd_e2e, "mmcf": cmd_mmcf}[ns.cmd](ns)


if __name__ == "__main__":
    main()
