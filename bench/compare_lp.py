"""Compare scotopt with peer LP solvers on the Netlib / Kennington MPS collections.

Usage (from the repository root)::

    python bench/compare_lp.py --collection netlib --eps 1e-4 --time-limit 600 \
        --solvers scotopt-numpy,scotopt-jax,pdlp,highs-simplex,highs-ipm \
        --max-nnz 20000 --out bench/results/netlib_1e-4.csv

Each (instance, solver) pair runs in a fresh subprocess (this script with ``--worker``), so a
crash or a hung solver does not end the run: the child is killed (its whole process group) after
``time_limit + 60`` s. The child writes its answer (x, y, status, times) to a temporary folder;
the parent re-checks every answer with :func:`scotopt.solvers.kkt.kkt_report` against its own
copy of the ORIGINAL LP.

Rules:

- **solved** iff max(rel_primal, rel_dual, rel_gap) <= eps by our own evaluation, whatever the
  solver said (its status is reported separately).
- **objective error** = |p - ref| / max(1, |ref|), p = c@x + c0 of the returned x (in the file's
  objective sense) and ref = index.csv's ``optimal_objective`` (+ c0 where ``check`` is
  ``ok_after_constant``, i.e. E226, whose published value omits the constant); empty when the
  index has no reference value. Reported, not used for "solved".
- **times** are wall seconds around the solver call only (reading the file and building the
  solver's model are excluded), one cold solve per fresh process: JIT compilation, thread-pool
  start-up and so on are included.
- **shifted geometric mean** (shift 10 s) over all instances of the run, an unsolved instance
  counting as ``time_limit``.

Outputs: the CSV given by ``--out`` (one row per (instance, solver)) and a Markdown summary next
to it (same name, ``.md``), also printed.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parent
# Run from a checkout without installing: make `scotopt` importable.
for _p in (str(_REPO),):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from scotopt.bench.machine import describe as machine_description  # noqa: E402 - after the sys.path set-up
from scotopt.bench.machine import versions  # noqa: E402
from scotopt.io import read_mps  # noqa: E402
from scotopt.solvers.kkt import kkt_report  # noqa: E402

DEFAULT_DATA = _REPO.parent / "shared" / "data"
COLLECTIONS = ("netlib", "kennington")
SOLVERS = ("scotopt-numpy", "scotopt-jax", "pdlp", "highs-simplex", "highs-ipm")
HARD_KILL_MARGIN = 60.0
SGM_SHIFT = 10.0

CSV_FIELDS = [
    "collection", "instance", "rows", "cols", "nnz", "solver", "eps", "time_limit", "threads",
    "solved", "status", "raw_status", "seconds", "solver_seconds", "iterations",
    "kkt_max", "rel_primal", "rel_dual", "rel_gap", "primal_objective", "dual_objective",
    "ref_objective", "obj_rel_error", "error", "cpu_seconds",
]


# ------------------------------------------------------------------------------- instances

def load_index(collection: str, data_dir: Path | str = DEFAULT_DATA) -> list[dict]:
    """The rows of ``<data_dir>/<collection>/index.csv`` whose MPS file is present."""
    folder = Path(data_dir) / collection
    out = []
    with open(folder / "index.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if not row.get("file") or not (folder / row["file"]).exists():
                continue
            ref = row.get("optimal_objective", "").strip()
            out.append({
                "collection": collection,
                "name": row["name"],
                "path": folder / row["file"],
                "rows": int(row["rows"]),
                "cols": int(row["cols"]),
                "nnz": int(row["nonzeros"]),
                "optimal_objective": float(ref) if ref else math.nan,
                "check": row.get("check", ""),
            })
    return out


def select_instances(collections, data_dir=DEFAULT_DATA, max_nnz=None, names=None) -> list[dict]:
    """Instances of the given collections, smallest first, filtered by nnz and by name."""
    wanted = {n.lower() for n in names} if names else None
    rows = []
    for coll in collections:
        for row in load_index(coll, data_dir):
            if max_nnz is not None and row["nnz"] > max_nnz:
                continue
            if wanted is not None and row["name"].lower() not in wanted:
                continue
            rows.append(row)
    if wanted is not None:
        missing = wanted - {r["name"].lower() for r in rows}
        if missing:
            print(f"warning: instances not found or filtered out: {sorted(missing)}", file=sys.stderr)
    return sorted(rows, key=lambda r: (r["nnz"], r["name"]))


def read_instance(path):
    """read_mps without the integrality-relaxation warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # integrality relaxation notices; Netlib/Kennington are LPs
        return read_mps(path)


# ---------------------------------------------------------------------------------- solvers

def _solve_scotopt(lp, backend, eps, time_limit):
    try:
        import scotopt
        solve = scotopt.solve
    except (ImportError, AttributeError) as exc:
        raise RuntimeError(
            "scotopt.solve is not available (scotopt/__init__.py must export solve(lp, method, "
            f"backend, eps, time_limit, verbose)); cannot run scotopt-{backend}: {exc}"
        ) from exc
    t0, c0 = time.perf_counter(), time.process_time()
    res = solve(lp, method="pdhg", backend=backend, eps=eps, time_limit=time_limit, verbose=False)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    status = getattr(res.status, "name", str(res.status))
    x = None if res.x is None else np.asarray(res.x, dtype=np.float64)
    y = None if res.y is None else np.asarray(res.y, dtype=np.float64)
    return {
        "solver": f"scotopt-{backend}", "status": status, "raw_status": status,
        "objective": float(getattr(res, "primal_objective", math.nan)), "x": x, "y": y,
        "seconds": seconds, "iterations": int(res.iterations),
        "solver_seconds": float(getattr(res, "solve_time", math.nan)), "cpu_seconds": cpu_seconds,
    }


def run_solver(lp, solver: str, eps: float, time_limit: float, threads: int = 1) -> dict:
    """Solve ``lp`` with ``solver`` (one of SOLVERS) in this process; the peers' uniform dict."""
    from scotopt.bench import peers

    if solver == "highs-simplex":
        return peers.solve_highs(lp, method="simplex", time_limit=time_limit, threads=threads)
    if solver == "highs-ipm":
        return peers.solve_highs(lp, method="ipm", time_limit=time_limit, threads=threads)
    if solver == "pdlp":
        # bound_gradients_as_residuals=False makes PDLP stop on the dual objective our KKT check
        # uses; with PDLP's default it can stop "optimal" on answers our check rejects.
        return peers.solve_ortools_pdlp(lp, eps=eps, time_limit=time_limit, threads=threads,
                                        bound_gradients_as_residuals=False)
    if solver in ("scotopt-numpy", "scotopt-jax"):
        return _solve_scotopt(lp, solver.split("-", 1)[1], eps, time_limit)
    raise ValueError(f"unknown solver {solver!r}; choose from {', '.join(SOLVERS)}")


def _failure(solver, status, message):
    return {
        "solver": solver, "status": status, "raw_status": status, "objective": math.nan,
        "x": None, "y": None, "seconds": math.nan, "iterations": 0, "solver_seconds": math.nan,
        "error": message,
    }


def _solve_and_save(path, solver, eps, time_limit, threads, outdir):
    """Worker body: solve, write result.json (+ xy.npz); never raises for solver failures."""
    outdir = Path(outdir)
    try:
        lp = read_instance(path)
        res = run_solver(lp, solver, eps, time_limit, threads)
    except Exception as exc:  # noqa: BLE001 - reported in the CSV, the run goes on
        res = _failure(solver, "ERROR", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
    x, y = res.pop("x"), res.pop("y")
    if x is not None and y is not None:
        np.savez(outdir / "xy.npz", x=x, y=y)
    with open(outdir / "result.json.tmp", "w") as fh:
        json.dump(res, fh)
    os.replace(outdir / "result.json.tmp", outdir / "result.json")


def _load_saved(outdir):
    outdir = Path(outdir)
    with open(outdir / "result.json") as fh:
        res = json.load(fh)
    res["x"] = res["y"] = None
    if (outdir / "xy.npz").exists():
        with np.load(outdir / "xy.npz") as data:
            res["x"], res["y"] = data["x"], data["y"]
    return res


def _child_env(threads):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def run_isolated(path, solver, eps, time_limit, threads=1, hard_limit=None) -> dict:
    """Run one solve in a fresh ``python compare_lp.py --worker`` process.

    The child is killed (its process group) after ``hard_limit`` seconds (default
    ``time_limit + 60``); a kill gives status KILLED, a crash without a result CRASHED.
    """
    hard_limit = time_limit + HARD_KILL_MARGIN if hard_limit is None else hard_limit
    with tempfile.TemporaryDirectory(prefix="scotopt_bench_") as tmp:
        cmd = [
            sys.executable, str(Path(__file__).resolve()), "--worker",
            "--instance-path", str(path), "--solvers", solver, "--eps", repr(eps),
            "--time-limit", repr(time_limit), "--threads", str(threads), "--result-dir", tmp,
        ]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            env=_child_env(threads), text=True,
        )
        try:
            output, _ = proc.communicate(timeout=hard_limit)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.communicate()
            return _failure(solver, "KILLED", f"killed after the hard limit of {hard_limit:g} s")
        if not (Path(tmp) / "result.json").exists():
            tail = (output or "")[-2000:]
            return _failure(solver, "CRASHED", f"worker exited with code {proc.returncode}: {tail}")
        return _load_saved(tmp)


# --------------------------------------------------------------------------------- evaluation

def reference_objective(inst, lp) -> float:
    """index.csv's optimal objective, in the file's sense, with the constant where it was left out."""
    ref = inst["optimal_objective"]
    if math.isfinite(ref) and inst.get("check", "").startswith("ok_after_constant"):
        ref += getattr(lp, "objective_sign", 1) * lp.c0
    return ref


def evaluate(inst, lp, res, eps, time_limit, threads) -> dict:
    """One CSV row: the solver's answer re-checked on the original ``lp``."""
    row = {
        "collection": inst["collection"], "instance": inst["name"], "rows": lp.num_rows,
        "cols": lp.num_vars, "nnz": lp.A.nnz, "solver": res["solver"], "eps": eps,
        "time_limit": time_limit, "threads": threads, "status": res["status"],
        "raw_status": res.get("raw_status", ""), "seconds": res["seconds"],
        "solver_seconds": res.get("solver_seconds", math.nan), "iterations": res["iterations"],
        "cpu_seconds": res.get("cpu_seconds", math.nan),
        "error": (res.get("error") or "").strip().replace("\n", " | ")[:500],
    }
    nan = math.nan
    kkt = {k: nan for k in ("kkt_max", "rel_primal", "rel_dual", "rel_gap", "primal_objective", "dual_objective")}
    x, y = res.get("x"), res.get("y")
    if x is not None and y is not None and x.shape == (lp.num_vars,) and y.shape == (lp.num_rows,):
        rep = kkt_report(lp, x, y)
        sign = getattr(lp, "objective_sign", 1)
        kkt = {
            "kkt_max": rep.max_relative, "rel_primal": rep.rel_primal, "rel_dual": rep.rel_dual,
            "rel_gap": rep.rel_gap, "primal_objective": sign * rep.primal_objective,
            "dual_objective": sign * rep.dual_objective,
        }
    elif x is not None or y is not None:
        row["error"] = (row["error"] + " | x/y shapes do not match the LP").strip(" |")
    row.update(kkt)
    ref = reference_objective(inst, lp)
    row["ref_objective"] = ref
    p = kkt["primal_objective"]
    row["obj_rel_error"] = abs(p - ref) / max(1.0, abs(ref)) if math.isfinite(ref) and math.isfinite(p) else nan
    row["solved"] = bool(math.isfinite(kkt["kkt_max"]) and kkt["kkt_max"] <= eps)
    return row


def compare(instances, solvers, eps=1e-4, time_limit=600.0, threads=1, isolate=True, out=None, log=print):
    """Run every (instance, solver) pair; return the CSV rows (also written to ``out`` if given).

    ``isolate=False`` solves in this process (no hard kill; for tests and debugging).
    """
    rows = []
    with contextlib.ExitStack() as stack:
        writer = fh = None
        if out is not None:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            fh = stack.enter_context(open(out, "w", newline=""))
            writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
            writer.writeheader()
        for inst in instances:
            lp = read_instance(inst["path"])
            for solver in solvers:
                if isolate:
                    res = run_isolated(inst["path"], solver, eps, time_limit, threads)
                else:
                    try:
                        res = run_solver(lp, solver, eps, time_limit, threads)
                    except Exception as exc:  # noqa: BLE001 - reported in the CSV
                        res = _failure(solver, "ERROR", f"{type(exc).__name__}: {exc}")
                row = evaluate(inst, lp, res, eps, time_limit, threads)
                rows.append(row)
                if writer is not None:
                    writer.writerow({k: _fmt(row[k]) for k in CSV_FIELDS})
                    fh.flush()
                if log is not None:
                    log(
                        f"{inst['name']:>12s} {solver:>14s} {row['status']:>18s} "
                        f"solved={row['solved']!s:5s} {row['seconds']:9.4g} s "
                        f"it={row['iterations']:<8d} kkt={row['kkt_max']:.2e} obj_err={row['obj_rel_error']:.2e}"
                    )
    return rows


def _fmt(v):
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return v


# ------------------------------------------------------------------------------------ summary

def shifted_geometric_mean(times, shift=SGM_SHIFT) -> float:
    t = np.asarray(times, dtype=np.float64)
    if t.size == 0:
        return math.nan
    return float(np.exp(np.mean(np.log(t + shift))) - shift)


def summarize(rows, solvers, eps, time_limit, threads=1, title="LP comparison") -> str:
    """Markdown: header (machine, settings), per-solver solved count and SGM time, per-instance table."""
    instances = list(dict.fromkeys(r["instance"] for r in rows))
    by = {(r["instance"], r["solver"]): r for r in rows}
    lines = [
        f"# {title}",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {machine_description()}",
        f"- software: {versions(('numpy', 'scipy', 'highspy', 'ortools', 'jax'))}",
        (
            f"- eps = {eps:g} (solved iff max(rel_primal, rel_dual, rel_gap) <= eps, re-checked by "
            f"scotopt's kkt_report on the original LP), time limit {time_limit:g} s "
            f"(hard kill +{HARD_KILL_MARGIN:g} s), threads = {threads}"
        ),
        (
            "- seconds: wall time of the solver call in a fresh process (model building excluded); "
            f"SGM = shifted geometric mean, shift {SGM_SHIFT:g} s, unsolved = time limit; CPU: the "
            "process's CPU seconds over the same call, where the solver's wrapper measures them"
        ),
        "",
        "| solver | solved | SGM seconds | SGM CPU seconds | instances |",
        "|---|---|---|---|---|",
    ]
    for s in solvers:
        rs = [by[(i, s)] for i in instances if (i, s) in by]
        solved = sum(r["solved"] for r in rs)
        times = [r["seconds"] if r["solved"] else time_limit for r in rs]
        cpu = [r.get("cpu_seconds", math.nan) if r["solved"] else time_limit for r in rs]
        lines.append(f"| {s} | {solved} | {shifted_geometric_mean(times):.4g} | {shifted_geometric_mean(cpu):.4g} "
                     f"| {len(rs)} |")
    lines += [
        "",
        "Per instance: seconds if solved, else `x STATUS (kkt)`; objective relative error below.",
        "",
        "| instance | nnz | " + " | ".join(solvers) + " |",
        "|---|---" + "|---" * len(solvers) + "|",
    ]
    for i in instances:
        nnz = next(r["nnz"] for r in rows if r["instance"] == i)
        cells = []
        for s in solvers:
            r = by.get((i, s))
            if r is None:
                cells.append("")
            elif r["solved"]:
                cells.append(f"{r['seconds']:.3g}")
            else:
                cells.append(f"x {r['status']} ({r['kkt_max']:.1e})")
        lines.append(f"| {i} | {nnz} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| instance | " + " | ".join(f"{s} obj err" for s in solvers) + " |",
        "|---" + "|---" * len(solvers) + "|",
    ]
    for i in instances:
        cells = []
        for s in solvers:
            r = by.get((i, s))
            cells.append("" if r is None or not math.isfinite(r["obj_rel_error"]) else f"{r['obj_rel_error']:.1e}")
        lines.append(f"| {i} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------- CLI

def _parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--collection", default="netlib", choices=[*COLLECTIONS, "all"])
    p.add_argument("--data-dir", default=str(DEFAULT_DATA), help="folder holding netlib/ and kennington/")
    p.add_argument("--eps", type=float, default=1e-4)
    p.add_argument("--time-limit", type=float, default=600.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--solvers", default="pdlp,highs-simplex,highs-ipm",
                   help=f"comma-separated subset of {','.join(SOLVERS)}")
    p.add_argument("--max-nnz", type=int, default=None)
    p.add_argument("--instances", default=None, help="comma-separated instance names (default: all)")
    p.add_argument("--out", default=None, help="CSV path; the Markdown summary goes next to it (.md)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--instance-path", help=argparse.SUPPRESS)
    p.add_argument("--result-dir", help=argparse.SUPPRESS)
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.worker:
        _solve_and_save(args.instance_path, args.solvers, args.eps, args.time_limit, args.threads,
                        args.result_dir)
        return 0
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    unknown = [s for s in solvers if s not in SOLVERS]
    if unknown:
        _parser().error(f"unknown solver(s) {unknown}; choose from {', '.join(SOLVERS)}")
    collections = COLLECTIONS if args.collection == "all" else (args.collection,)
    names = [n.strip() for n in args.instances.split(",")] if args.instances else None
    instances = select_instances(collections, args.data_dir, args.max_nnz, names)
    if not instances:
        print("no instances selected", file=sys.stderr)
        return 1
    rows = compare(instances, solvers, args.eps, args.time_limit, args.threads, isolate=True, out=args.out)
    title = f"LP comparison: {args.collection}, eps {args.eps:g}"
    md = summarize(rows, solvers, args.eps, args.time_limit, args.threads, title=title)
    print()
    print(md)
    if args.out:
        Path(args.out).with_suffix(".md").write_text(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
