"""``scotopt bench``: every family's instances through every applicable solver, in one process.

For a suite ("quick", "full", or "smoke", the first quick instance of each family; :data:`SUITES`):

1. measure the memory bandwidth (:func:`scotopt.bench.machine.stream_triad`) and find the GPU;
2. for each family of :mod:`scotopt.bench.families` (skipped with the reason when its data or
   model is absent), build each instance once and run each solver that takes its kind, one after
   the other in this process, all at the same ``eps`` and time limit (a solver that is not
   installed, needs a GPU, or exceeds its size cap in this suite is skipped with the reason; a
   solver listed in the suite's ``isolate`` runs in a spawned process killed at the time limit
   + 60 s, for solvers with no time limit of their own);
3. re-check every answer with :func:`scotopt.bench.verify.check` (SimpleMinCostFlow's duals are
   recovered from its flow: :func:`scotopt.bench.peers.flow_potentials`);
4. for first-order solvers, time per iteration against the memory-traffic bound
   (:mod:`scotopt.bench.roofline`): ``ms_per_iter`` (scotopt: (solve - setup) / iterations; a
   peer: seconds / iterations), ``bound_ms = bytes / bandwidth`` with the larger of the two
   STREAM measurements (before and after the run: on a shared machine the best one is closest
   to what the hardware gives), ``iter_over_bound = ms_per_iter / bound_ms``;
5. write ``results.csv``, ``results.md``, ``histories.json`` and the PNG plots to ``out``.
"""

from __future__ import annotations

import datetime
import gc
import json
import math
import time
import traceback
from pathlib import Path

from scotopt.bench import families as fam
from scotopt.bench import machine, report, roofline, verify
from scotopt.bench.solvers import SOLVERS

CPU_SOLVERS = ("scotopt-numpy", "scotopt-admm", "highs-simplex", "highs-ipm", "pdlp", "mpax", "mincostflow", "osqp")
GPU_SOLVERS = ("scotopt-cupy", "scotopt-jax", "cupdlpx")

SUITES = {
    # 5-6 minutes on the 2-core development VM, shared (bench/README.md)
    "quick": {"solvers": CPU_SOLVERS + GPU_SOLVERS, "time_limit": 60.0,
              "cpu_skip": {"scotopt-jax": "CPU JAX rows are in the full suite (compilation dominates small instances)"},
              "caps": {"mpax": 60_000, "highs-simplex": 10**6}, "mpax_iterations": 50_000},
    # the smallest instance of every family: what the default test run checks
    "smoke": {"solvers": CPU_SOLVERS + GPU_SOLVERS, "time_limit": 20.0, "caps": {}, "mpax_iterations": 20_000,
              "stream_n": 2_000_000,
              "cpu_skip": {"scotopt-jax": "CPU JAX rows are in the full suite"}},
    "full": {"solvers": CPU_SOLVERS + GPU_SOLVERS, "time_limit": 600.0, "cpu_skip": {},
             "caps": {"mpax": 2_000_000, "scotopt-jax": 2_000_000}, "mpax_iterations": 10_000_000,
             "isolate": ("mpax",)},
}


def _skip_row(family, instance, solver, why, shape=(0, 0, 0), size=0):
    rows, cols, nnz = shape
    return {"family": family, "instance": instance, "size": size, "rows": rows, "cols": cols, "nnz": nnz,
            "solver": solver, "status": "SKIPPED", "solved": False, "seconds": math.nan, "error": why}


def _child(conn, name, instance, eps, time_limit, settings):
    """Body of an isolated solve (a spawned process): the answer, or the exception, down the pipe."""
    try:
        conn.send(SOLVERS[name].run(instance, eps, time_limit, settings))
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which records it
        conn.send(_failure(name, exc))
    conn.close()


def run_isolated(name, instance, eps, time_limit, settings, margin=60.0) -> dict:
    """Run one solver in a fresh spawned process, killed after ``time_limit + margin`` seconds.

    For solvers without a time limit of their own (MPAX): a kill gives status KILLED and no
    answer. The child re-imports the solver, so its start-up is not in ``seconds``.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(child, name, instance, eps, time_limit, settings), daemon=True)
    process.start()
    child.close()
    answer = parent.recv() if parent.poll(time_limit + margin) else None
    if answer is None:
        process.kill()
    process.join()
    if answer is None:
        answer = _failure(name, TimeoutError(f"killed after {time_limit + margin:g} s"))
        answer["status"] = "KILLED"
    return answer


def _failure(solver, exc):
    return {"solver": solver, "status": "ERROR", "raw_status": type(exc).__name__, "objective": math.nan,
            "x": None, "y": None, "seconds": math.nan, "iterations": 0, "solver_seconds": math.nan,
            "error": f"{type(exc).__name__}: {exc}"[:300]}


def _traffic(row, instance, solver, answer):
    """ms per iteration and compulsory MB per iteration of a first-order solve (roofline.py's model)."""
    if not SOLVERS[solver].first_order or not answer.get("iterations"):
        return
    rows, cols, nnz = instance.shape
    if solver.startswith("scotopt") and instance.matrix_free_bytes is not None:
        nbytes = instance.matrix_free_bytes
    else:
        nbytes = roofline.csr_bytes(rows, cols, nnz)
    per_iter = answer.get("ms_per_iter", 1e3 * answer["seconds"] / answer["iterations"])
    row.update(ms_per_iter=per_iter, MB_per_iter=nbytes / 1e6)


def apply_bound(rows, bandwidth_gbs: float) -> None:
    """bound_ms and iter_over_bound of every row with a traffic figure, at ``bandwidth_gbs``."""
    for row in rows:
        if "MB_per_iter" in row:
            row["bound_ms"] = 1e3 * roofline.bound_seconds(row["MB_per_iter"] * 1e6, bandwidth_gbs)
            row["iter_over_bound"] = row["ms_per_iter"] / row["bound_ms"]


def run_instance(instance, solvers, eps, time_limit, settings, log=print):
    """Rows (one per solver) and convergence histories for one instance."""
    rows_, cols, nnz = instance.shape
    base = {"family": instance.family, "instance": instance.name, "size": instance.size, "rows": rows_, "cols": cols,
            "nnz": nnz, "eps": eps, "time_limit": time_limit, "reference": instance.reference}
    answers, histories, out = {}, {}, []
    for name in solvers:
        solver = SOLVERS[name]
        if not solver.takes(instance):
            continue
        cap = settings["caps"].get(name)
        if cap is not None and nnz > cap:
            out.append(_skip_row(instance.family, instance.name, name, f"above this suite's size cap ({cap} nonzeros)",
                                 instance.shape, instance.size))
            continue
        try:
            if name in settings.get("isolate", ()):
                answer = run_isolated(name, instance, eps, time_limit, settings)
            else:
                answer = solver.run(instance, eps, time_limit, settings)
        except Exception as exc:  # noqa: BLE001 - a failing solver is a row, not the end of the run
            answer = _failure(name, exc)
            if log:
                log(traceback.format_exc(limit=2))
        answers[name] = answer
        histories[(instance.name, name)] = answer.get("history", [])
    for name, answer in answers.items():
        row = {**base, "solver": name, "status": answer["status"], "raw_status": answer.get("raw_status", ""),
               "seconds": answer["seconds"], "cold_seconds": answer.get("solver_seconds", math.nan),
               "iterations": answer.get("iterations", 0), "error": answer.get("error", "")}
        row.update(verify.check(instance.problem, answer.get("x"), answer.get("y"), eps, instance.reference))
        _traffic(row, instance, name, answer)
        out.append(row)
        if log:
            log(f"{instance.family:>14s} {instance.name:>18s} {name:>14s} {row['status']:>16s} "
                f"solved={row['solved']!s:5s} {row['seconds']:9.4g} s it={row['iterations']:<7d} "
                f"kkt={row['kkt_max']:.1e}")
    return out, histories


def run(suite="quick", out="bench/results/quick", data_dir=None, family_names=None, solver_names=None, eps=1e-4,
        time_limit=None, plots=True, log=print) -> dict:
    """Run a suite ("quick", "full", or "smoke": the smallest instance of each family); returns
    {"rows", "skipped", "meta", "files", "markdown"}."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose one of {', '.join(SUITES)}")
    settings = dict(SUITES[suite])
    time_limit = settings["time_limit"] if time_limit is None else float(time_limit)
    data_dir = Path(data_dir) if data_dir is not None else fam.default_data_dir()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    gpu = machine.gpu_name()
    stream_n = settings.get("stream_n", 20_000_000)
    bandwidth = machine.stream_triad(n=stream_n, reps=5)
    if log:
        log(f"machine: {machine.describe(gpu)}; STREAM triad {bandwidth:.1f} GB/s")
    unknown = [f for f in family_names or () if f not in fam.FAMILIES]
    if unknown:
        raise ValueError(f"unknown families {unknown}; choose from {', '.join(fam.FAMILIES)}")
    solvers = list(solver_names or settings["solvers"])
    bad = [s for s in solvers if s not in SOLVERS]
    if bad:
        raise ValueError(f"unknown solvers {bad}; choose from {', '.join(SOLVERS)}")
    skipped, runnable = [], []
    for name in solvers:
        why = SOLVERS[name].unavailable(gpu)
        if why is None and gpu is None and solver_names is None:
            why = settings["cpu_skip"].get(name)
        (skipped.append((name, why)) if why else runnable.append(name))
    rows, histories = [], {}
    for family in (fam.FAMILIES[f] for f in (family_names or fam.FAMILIES)):
        why = family.unavailable(data_dir)
        if why:
            skipped.append((f"family {family.name}", why))
            continue
        for spec in fam.expand_specs(family, suite, data_dir):
            try:
                instance = family.build(spec, data_dir)
            except Exception as exc:  # noqa: BLE001 - reported, the suite goes on
                skipped.append((f"{family.name} {spec}", f"{type(exc).__name__}: {exc}"))
                continue
            new_rows, new_hist = run_instance(instance, runnable, eps, time_limit, settings, log)
            rows += new_rows
            histories.update({(family.name, *k): v for k, v in new_hist.items()})
            report.write_csv(rows, out / "results", report.COLUMNS)  # so far, in case a long run is stopped
            del instance
            gc.collect()
    bandwidth_after = machine.stream_triad(n=stream_n, reps=5)
    apply_bound(rows, max(bandwidth, bandwidth_after))
    meta = {
        "suite": suite,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine.describe(gpu),
        "software": machine.versions(),
        "bandwidth": f"STREAM triad (numpy, {stream_n:.0e} float64 per array) {bandwidth:.1f} GB/s before the run, "
                     f"{bandwidth_after:.1f} after; the roofline uses the larger (the machine is shared)",
        "settings": f"eps {eps:g} for every solver, time limit {time_limit:g} s, one process, one solve per row, "
                    f"size caps {settings['caps']}",
        "wall time": f"{time.perf_counter() - started:.0f} s",
    }
    files = [report.write_csv(rows, out / "results", report.COLUMNS)]
    md = report.markdown(rows, meta, solvers, skipped)
    (out / "results.md").write_text(md)
    files.append(out / "results.md")
    (out / "histories.json").write_text(json.dumps({"/".join(k): v for k, v in histories.items() if v}))
    files.append(out / "histories.json")
    if plots:
        files += _plots(rows, histories, out)
    return {"rows": rows, "skipped": skipped, "meta": meta, "files": files, "markdown": md}


def _plots(rows, histories, out: Path) -> list[Path]:
    from scotopt.bench import plots

    files = []
    for family in dict.fromkeys(r["family"] for r in report.ran(rows)):
        mine = [r for r in report.ran(rows) if r["family"] == family]
        files.append(plots.time_vs_size(mine, family, out / f"time_vs_size_{family}.png"))
        files.append(plots.performance_profile(mine, family, out / f"profile_{family}.png"))
        curve = plots.convergence({k[1:]: v for k, v in histories.items() if k[0] == family}, family,
                                  out / f"convergence_{family}.png")
        if curve is not None:
            files.append(curve)
    return files
