"""The ``scotopt`` command line: solve, info, convert, demo, bench.

Exit codes: 0 when the command ran (for ``solve``: whatever the status, which is in the summary),
2 on bad input or options (a one-line message on stderr, never a traceback), 130 on Ctrl-C
(``solve`` writes the best iterate first when ``--out`` is given).

The solver flags are generated from the fields of :class:`scotopt.options.Termination` and
:class:`scotopt.options.PDHGOptions`, so every default and help text lives in one place.

Network files (DIMACS min-cost flow, CommaLAB multicommodity flow; :func:`scotopt.io.file_kind`)
are solved as their models by :mod:`scotopt.cli_network`, which adds the decoded results.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 2, 130


def _none_or(kind):
    def parse(text: str):
        if text.lower() in ("none", "off", ""):
            return None
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__} or 'none', got {text!r}") from None

    parse.__name__ = kind.__name__
    return parse


def _add_dataclass_flags(group, classes, names) -> None:
    """One ``--field-name`` flag per field in ``names``, typed and documented from the fields.

    Flags default to "not given" (argparse.SUPPRESS): the dataclass keeps its own default, shown
    in the help, so each default lives in one place. A field both option classes have (e.g.
    ``check_every``) gets one flag, applied to whichever method runs.
    """
    for name in names:
        fields = [f for cls in classes for f in dataclasses.fields(cls) if f.name == name]
        field = fields[0]
        defaults = " / ".join(f"{f.default}" for f in fields)
        owners = " / ".join(cls.__name__.removesuffix("Options").lower() for cls in classes
                            if any(f.name == name for f in dataclasses.fields(cls)))
        help_text = field.metadata.get("help", "")
        whose = f" for {owners}" if len(fields) > 1 else ""
        suffix = "" if "default" in help_text else f" (default: {defaults}{whose})"
        flag = "--" + name.replace("_", "-")
        annotation = str(field.type)
        if annotation == "bool":
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                               help=help_text + suffix)
            continue
        if annotation == "str":
            group.add_argument(flag, default=argparse.SUPPRESS, metavar="NAME", help=help_text + suffix)
            continue
        kind = int if annotation.startswith("int") else float
        parse = _none_or(kind) if "None" in annotation else kind
        group.add_argument(flag, type=parse, default=argparse.SUPPRESS, metavar=kind.__name__.upper(),
                           help=help_text + suffix)


def _given(cls, args) -> dict:
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}


def build_parser() -> argparse.ArgumentParser:
    from scotopt import __version__
    from scotopt.kernels import BACKENDS
    from scotopt.options import ADMMOptions, PDHGOptions, Termination
    from scotopt.solvers.api import DTYPES, METHODS

    parser = argparse.ArgumentParser(
        prog="scotopt",
        description="GPU-accelerated first-order solvers for large LPs (PDHG), from files or Python.",
        epilog="Exit codes: 0 ran (see the status), 2 bad input or options, 130 interrupted. "
               "JAX solves keep their compiled code in ~/.cache/scotopt/jax for the next process "
               "(SCOTOPT_CACHE_DIR=DIR to move it, =off to disable). "
               "Run 'scotopt COMMAND --help' for a command's flags.",
    )
    parser.add_argument("--version", action="version", version=f"scotopt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    solve = sub.add_parser("solve", help="solve an MPS / QPS / npz / DIMACS / CommaLAB file (or a folder of shards)",
                           description="Solve a problem file and print a progress line per check and a summary. "
                                       "A network file (DIMACS .min / .min.gz min-cost flow, CommaLAB multicommodity "
                                       "flow) is solved as its matrix-free model, and the summary adds the decoded "
                                       "network results.")
    solve.add_argument("file", metavar="FILE",
                       help="problem file: .mps, .mps.gz, .qps, .npz, .min, .min.gz, a CommaLAB file (recognised by "
                            "its first lines); or a folder written by 'scotopt partition' (each process loads only "
                            "its shards)")
    solve.add_argument("--method", choices=METHODS, default="pdhg", help="solver (default: %(default)s)")
    solve.add_argument("--backend", choices=("auto",) + BACKENDS, default="auto",
                       help="array backend; auto = a GPU backend if present, else numpy (default: %(default)s)")
    solve.add_argument("--dtype", choices=DTYPES, default="float64",
                       help="iteration precision; the KKT check is always float64 (default: %(default)s)")
    _add_dataclass_flags(solve, [Termination], [f.name for f in dataclasses.fields(Termination)])
    scale = solve.add_argument_group(
        "scale-out (JAX; see README 'Multi-device and multi-host runs')",
        "FILE may also name a generated instance, grid:ROWSxCOLS[:SEED[:NEIGHBOURS]], of which each process "
        "builds only its own shards.")
    scale.add_argument("--devices", type=int, default=None, metavar="N",
                       help="shard the PDHG solve over N JAX devices (default: one device; every device of every "
                            "process in a multi-host run)")
    scale.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                       help="multi-host: address of process 0 (or 'auto': JAX's SLURM / MPI detection); "
                            "env SCOTOPT_COORDINATOR")
    scale.add_argument("--num-processes", type=int, default=None, metavar="N",
                       help="multi-host: number of processes (env SCOTOPT_NUM_PROCESSES)")
    scale.add_argument("--process-id", type=int, default=None, metavar="I",
                       help="multi-host: this process, 0..N-1 (env SCOTOPT_PROCESS_ID)")
    solve.add_argument("--out", metavar="DIR", type=Path, default=None,
                       help="write <name>_summary.json and <name>_solution.npz to DIR (network files: "
                            "<name>_flow.npz, the decoded flows and prices, instead of the solution)")
    solve.add_argument("--integral", action="store_true",
                       help="DIMACS files with integral data: round the flow and repair it into an exactly feasible "
                            "integral flow, and report its cost and gap to the LP bound")
    solve.add_argument("--aggregate", choices=("source", "none"), default=None,
                       help="CommaLAB files: one commodity per origin ('source', the default: the same LP optimum, "
                            "fewer variables) or per origin-destination pair ('none')")
    solve.add_argument("--json", action="store_true", help="print the summary as JSON on stdout (progress on stderr)")
    solve.add_argument("--quiet", action="store_true", help="no progress lines and no summary table")
    pdhg_names = [f.name for f in dataclasses.fields(PDHGOptions)]
    admm_names = [f.name for f in dataclasses.fields(ADMMOptions)]
    shared = [name for name in pdhg_names if name in admm_names]
    _add_dataclass_flags(solve.add_argument_group("options of both methods"), [PDHGOptions, ADMMOptions], shared)
    _add_dataclass_flags(solve.add_argument_group("PDHG options (scotopt.PDHGOptions, --method pdhg)"),
                         [PDHGOptions], [n for n in pdhg_names if n not in shared])
    _add_dataclass_flags(solve.add_argument_group("ADMM options (scotopt.ADMMOptions, --method admm)"),
                         [ADMMOptions], [n for n in admm_names if n not in shared])

    partition = sub.add_parser(
        "partition", help="split an LP file into N row-block shards for a multi-host solve",
        description="Read FILE once (the one step that holds the whole LP), precondition it as PDHG does, and "
                    "write N nonzero-balanced row-block shards to DIR; then 'scotopt solve DIR' on N devices "
                    "(any number of processes, --coordinator ...) loads in each process only its own shards.")
    partition.add_argument("file", metavar="FILE", help="problem file: .mps, .mps.gz, .npz (an LP)")
    partition.add_argument("--parts", type=int, required=True, metavar="N",
                           help="number of shards: the total number of devices of the solve")
    partition.add_argument("--out", type=Path, required=True, metavar="DIR",
                           help="folder for shards.json and shard_DDDD.npz (old shards in it are replaced)")
    partition.add_argument("--json", action="store_true", help="print the shard set's description as JSON")

    info = sub.add_parser("info", help="sizes, row and bound types, coefficient ranges, memory estimates "
                                       "(network files: of their LP)",
                          description="Describe a problem file without solving it.")
    info.add_argument("file", metavar="FILE")
    info.add_argument("--json", action="store_true", help="print as JSON")

    convert = sub.add_parser("convert", help="convert between MPS / QPS and npz (and network files to either)",
                             description="Read IN and write OUT; the formats follow the names (.mps, .mps.gz, .npz). "
                                         "A network file (DIMACS, CommaLAB) is written as its LP, the matrix "
                                         "explicit.")
    convert.add_argument("input", metavar="IN")
    convert.add_argument("output", metavar="OUT")

    demo = sub.add_parser("demo", help="solve the bundled instance and check it against HiGHS",
                          description="Solve the bundled two-echelon distribution LP and compare with HiGHS.")
    demo.add_argument("--backend", choices=("auto",) + BACKENDS, default="auto")
    demo.add_argument("--eps", type=float, default=1e-6)
    demo.add_argument("--quiet", action="store_true", help="no per-check progress lines")

    bench = sub.add_parser("bench", help="run scotopt and its peers side by side; CSV, Markdown, plots",
                           description="Benchmark suite (scotopt/bench/): every family's instances through scotopt "
                                       "and the peers at the same eps and time limit, every answer KKT-checked by "
                                       "scotopt on the original problem, the memory bandwidth measured in the run.")
    bench.add_argument("--suite", choices=("quick", "full", "smoke"), default="quick",
                       help="quick: under 10 minutes on a 2-core machine; full: every instance; smoke: the "
                            "smallest instance of each family (default: %(default)s)")
    bench.add_argument("--out", metavar="DIR", type=Path, default=None,
                       help="output folder (default: bench/results/<suite> in a checkout, "
                            "else ./scotopt-bench-<suite>)")
    bench.add_argument("--data", metavar="DIR", type=Path, default=None,
                       help="folder holding netlib/, maros_meszaros/, ... (default: $SCOTOPT_DATA or ../shared/data "
                            "beside the checkout)")
    bench.add_argument("--families", metavar="A,B", default=None, help="comma-separated families (default: all)")
    bench.add_argument("--solvers", metavar="A,B", default=None, help="comma-separated solvers (default: the suite's)")
    bench.add_argument("--eps", type=float, default=1e-4, help="relative KKT tolerance of every solver "
                                                                "(default: %(default)s)")
    bench.add_argument("--time-limit", type=float, default=None, help="seconds per solve (default: the suite's)")
    bench.add_argument("--no-plots", action="store_true", help="skip the PNG plots (no matplotlib needed)")
    return parser


def _fail(message: str) -> int:
    print(f"scotopt: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    from scotopt.status import InsufficientMemoryError, ScotoptError

    args = build_parser().parse_args(argv)
    command = args.command or "demo"
    if args.command is None:
        args = build_parser().parse_args(["demo"])
    if command in ("solve", "demo", "bench") and getattr(args, "backend", "auto") in ("auto", "jax"):
        from scotopt.kernels import compile_cache

        # a process per solve: keep JAX's compiled chunks (a no-op without JAX; SCOTOPT_CACHE_DIR=off: don't)
        compile_cache.enable()
    try:
        if command == "solve":
            return _solve(args)
        if command == "info":
            return _info(args)
        if command == "partition":
            return _partition(args)
        if command == "convert":
            return _convert(args)
        if command == "bench":
            return _bench(args)
        from scotopt.demo import demo

        return demo(args.backend, args.eps, not args.quiet)
    except KeyboardInterrupt:
        print("scotopt: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except FileNotFoundError as exc:
        return _fail(f"{exc.filename or exc}: no such file")
    except IsADirectoryError as exc:
        return _fail(f"{exc.filename}: is a directory")
    except InsufficientMemoryError as exc:
        return _fail(str(exc))
    except ScotoptError as exc:
        return _fail(str(exc))
    except PermissionError as exc:
        return _fail(f"{exc.filename}: permission denied")


def _load(path: str, explicit: bool = False):
    """The problem in ``path``; with ``explicit``, a matrix-free LP (a network file's) gets its
    matrix formed (for the writers and the partitioner)."""
    from scotopt.io import load

    problem = load(path)
    if explicit and problem.is_matrix_free:
        from scotopt.bench.families import explicit_lp

        problem = explicit_lp(problem)
    return problem


def _solve(args) -> int:
    import scotopt
    from scotopt.io.solution import save_solution, summary_json
    from scotopt.options import ADMMOptions, PDHGOptions, Termination
    from scotopt.status import Status

    termination = Termination(**_given(Termination, args))
    chosen, other = (ADMMOptions, PDHGOptions) if args.method == "admm" else (PDHGOptions, ADMMOptions)
    foreign = sorted(set(_given(other, args)) - set(_given(chosen, args)))
    if foreign:
        flags = ", ".join("--" + name.replace("_", "-") for name in foreign)
        return _fail(f"{flags} do(es) not apply to --method {args.method}")
    options = chosen(**_given(chosen, args))
    from scotopt.distributed.multihost import generated_instance, initialize

    distributed = initialize(args.coordinator, args.num_processes, args.process_id)
    make_shard = generated_instance(args.file)
    if make_shard is not None:
        return _solve_generated(args, make_shard, termination, options)
    from scotopt.distributed.lp_shards import is_shard_directory

    if is_shard_directory(args.file):
        return _solve_shards(args, termination, options)
    devices = args.devices
    if distributed and devices is None:
        import jax

        devices = jax.device_count()
    out = args.out
    if out is not None:
        if out.exists() and not out.is_dir():
            return _fail(f"--out {out}: exists and is not a directory")
    from scotopt.io import NETWORK_KINDS, file_kind

    kind = file_kind(args.file)
    if kind in NETWORK_KINDS:
        from scotopt.cli_network import solve_network

        return solve_network(args, kind, termination, options, devices)
    for flag, given in (("--integral", args.integral), ("--aggregate", args.aggregate is not None)):
        if given:
            return _fail(f"{args.file}: {flag} applies to network files (DIMACS, CommaLAB) only")
    problem = _load(args.file)
    verbose = not args.quiet
    if verbose and not args.json:
        print(f"scotopt {scotopt.__version__}: {problem!r}", flush=True)
    stream = sys.stderr if args.json else sys.stdout
    with contextlib.redirect_stdout(stream):
        result = scotopt.solve(problem, method=args.method, backend=args.backend, dtype=args.dtype,
                               eps=termination.eps, eps_infeasible=termination.eps_infeasible,
                               time_limit=termination.time_limit, iteration_limit=termination.iteration_limit,
                               verbose=verbose, options=options, devices=devices)
    files = []
    summary = summary_json(result, problem)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        summary_path = out / f"{problem.name}_summary.json"
        summary_path.write_text(summary + "\n")
        solution_path = save_solution(result, out / f"{problem.name}_solution.npz", problem, summary)
        files = [str(summary_path), str(solution_path)]
    if args.json:
        print(summary)
    elif not args.quiet:
        print()
        print(_summary_table(result, problem, files))
    else:
        print(f"{problem.name}: {result.status.name} objective {result.fun:.10g} in {result.nit} iterations")
    return EXIT_INTERRUPTED if result.status == Status.INTERRUPTED else EXIT_OK


def _sharded_options(args, options, what: str):
    """PDHGOptions for a solve in which each process holds only its shards, or an error message."""
    from scotopt.options import PDHGOptions

    if args.method != "pdhg" or args.dtype != "float64":
        return None, _fail(f"{args.file}: {what} run with --method pdhg and --dtype float64")
    return (options if isinstance(options, PDHGOptions) else PDHGOptions()), None


def _print_sharded(args, summary: dict) -> None:
    import jax

    if args.json:
        print(json.dumps(summary), flush=True)
    elif jax.process_index() == 0 or args.quiet:
        print(f"{args.file}: {summary['status']} objective {summary['objective']:.10g} in {summary['iterations']} "
              f"iterations on {summary['shards']} shards ({summary['processes']} processes), "
              f"{summary['solve_time']:.2f} s")


def _solve_generated(args, make_shard, termination, options) -> int:
    """A generated instance, each process building only its shards (scotopt.distributed.sharded_flow)."""
    import jax

    from scotopt.distributed import solver_mesh
    from scotopt.distributed.sharded_flow import solve_sharded_flow

    if args.out is not None:
        return _fail(f"{args.file}: generated sharded instances take no --out")
    options, failed = _sharded_options(args, options, "generated sharded instances")
    if failed is not None:
        return failed
    mesh = solver_mesh(args.devices)
    result = solve_sharded_flow(make_shard, mesh, eps=termination.eps, iteration_limit=termination.iteration_limit,
                                time_limit=termination.time_limit, options=options,
                                verbose=not (args.quiet or args.json))
    _print_sharded(args, {
        "name": args.file, "process": jax.process_index(), "processes": result.processes, "shards": result.shards,
        "local_shards": sorted(result.flow), "status": result.status.name, "objective": result.objective,
        "dual_objective": result.dual_objective, "rel_primal": result.rel_primal, "rel_dual": result.rel_dual,
        "rel_gap": result.rel_gap, "iterations": result.iterations, "restarts": result.restarts,
        "flow_sum": result.flow_sum, "flow_norm": result.flow_norm, "solve_time": result.solve_time,
        "device": result.device, "comm_bytes_per_iteration": result.comm_bytes_per_iteration,
        "bytes_per_device": result.bytes_per_device,
    })
    return EXIT_OK


def _solve_shards(args, termination, options) -> int:
    """A folder of LP shards (scotopt.distributed.lp_shards): each process loads only its own; with
    --out each process writes the x and y entries of its shards."""
    import jax
    import numpy as np

    from scotopt.distributed import solver_mesh
    from scotopt.distributed.lp_shards import solve_lp_shards

    options, failed = _sharded_options(args, options, "shard folders")
    if failed is not None:
        return failed
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        return _fail(f"--out {args.out}: exists and is not a directory")
    result = solve_lp_shards(args.file, solver_mesh(args.devices), eps=termination.eps,
                             iteration_limit=termination.iteration_limit, time_limit=termination.time_limit,
                             options=options, verbose=not (args.quiet or args.json))
    process = jax.process_index()
    summary = {
        "name": result.name, "process": process, "processes": result.processes, "shards": result.shards,
        "local_shards": sorted(result.x), "status": result.status.name, "objective": result.objective,
        "dual_objective": result.dual_objective, "rel_primal": result.rel_primal, "rel_dual": result.rel_dual,
        "rel_gap": result.rel_gap, "iterations": result.iterations, "restarts": result.restarts,
        "x_sum": result.x_sum, "x_norm": result.x_norm, "solve_time": result.solve_time,
        "setup_time": result.setup_time, "device": result.device, "bytes_per_device": result.bytes_per_device,
    }
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"{result.name}_process{process}_solution.npz"
        local = sorted(result.x)
        np.savez(path, column_ids=np.concatenate([result.x[d][0] for d in local]),
                 x=np.concatenate([result.x[d][1] for d in local]),
                 row_ids=np.concatenate([result.y[d][0] for d in local]),
                 y=np.concatenate([result.y[d][1] for d in local]))
        summary["solution"] = str(path)
    _print_sharded(args, summary)
    return EXIT_OK


def _partition(args) -> int:
    from scotopt.distributed.lp_shards import write_lp_shards

    meta = write_lp_shards(_load(args.file, explicit=True), args.parts, args.out)
    if args.json:
        print(json.dumps(meta))
    else:
        per_shard = meta["nonzeros_per_shard"]
        print(f"{meta['name']}: {meta['rows']} rows, {meta['columns']} columns, {meta['nonzeros']} nonzeros -> "
              f"{meta['parts']} shards in {args.out} (nonzeros per shard {min(per_shard)}..{max(per_shard)})")
    return EXIT_OK


def _summary_table(result, problem, files, extra_rows=()) -> str:
    """The summary printed after a solve: the result's rows, then ``extra_rows`` (label, text),
    then the files written."""
    sign = getattr(problem, "objective_sign", 1)
    rows = [
        ("status", result.status.name),
        ("meaning", result.message),
        ("objective", f"{sign * result.primal_objective:.12g}" + ("  (maximised)" if sign < 0 else "")),
        ("dual objective", f"{sign * result.dual_objective:.12g}"),
        ("relative KKT", f"primal {result.rel_primal:.2e}  dual {result.rel_dual:.2e}  gap {result.rel_gap:.2e}"
                         f"  (eps {result.eps:g})"),
        ("max violation", f"primal {result.max_primal_violation:.2e}  dual {result.max_dual_violation:.2e}"),
        ("iterations", f"{result.iterations}  ({result.restarts} restarts)" if result.method == "pdhg" else
         f"{result.iterations}  ({result.extra.get('rho_updates', 0)} rho updates, "
         f"{result.extra.get('linear_solver', '')} linear solves)"),
        ("time", f"{result.solve_time:.3f} s solve, {result.setup_time:.3f} s setup"),
        ("backend", f"{result.backend} on {result.device}, {result.dtype}"),
    ]
    rows.extend(extra_rows)
    for path in files:
        rows.append(("wrote", path))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def describe(problem) -> dict:
    """What ``scotopt info`` prints: sizes, row/bound types, coefficient ranges, memory estimates."""
    import numpy as np

    from scotopt.memory import format_bytes, pdhg_bytes
    from scotopt.problem import QP

    m, n = problem.shape
    nnz = int(problem.A.col_counts().sum()) if problem.is_matrix_free else int(problem.A.nnz)

    def kinds(lb, ub):
        lo, hi = np.isfinite(lb), np.isfinite(ub)
        return {"free": int(np.sum(~lo & ~hi)), "lower only": int(np.sum(lo & ~hi)),
                "upper only": int(np.sum(~lo & hi)), "boxed": int(np.sum(lo & hi & (lb != ub))),
                "fixed": int(np.sum(lo & hi & (lb == ub)))}

    def span(values):
        values = np.abs(np.asarray(values, dtype=np.float64))
        values = values[np.isfinite(values) & (values > 0)]
        return [float(values.min()), float(values.max())] if values.size else None

    row_kinds = kinds(problem.con_lb, problem.con_ub)
    row_kinds = {"equality": row_kinds["fixed"], ">=": row_kinds["lower only"], "<=": row_kinds["upper only"],
                 "ranged": row_kinds["boxed"], "free": row_kinds["free"]}
    info = {
        "name": problem.name, "type": "QP" if isinstance(problem, QP) else "LP",
        "rows": m, "columns": n, "nonzeros": nnz,
        "objective_sense": "maximise" if getattr(problem, "objective_sign", 1) < 0 else "minimise",
        "row_types": row_kinds, "column_bounds": kinds(problem.var_lb, problem.var_ub),
        "ranges": {
            "|A|": "matrix-free" if problem.is_matrix_free else span(problem.A.data), "|c|": span(problem.c),
            "|row bounds|": span(np.concatenate([problem.con_lb, problem.con_ub])),
            "|column bounds|": span(np.concatenate([problem.var_lb, problem.var_ub])),
        },
        "objective_constant": problem.c0,
        "memory": {},
    }
    if isinstance(problem, QP):
        info["P_nonzeros"] = int(problem.P.nnz)
        info["ranges"]["|P|"] = span(problem.P.data)
    for dtype, size in (("float64", 8), ("float32", 4)):
        host, device = pdhg_bytes(m, n, nnz, size, matrix_free=problem.is_matrix_free)
        info["memory"][f"numpy/{dtype}"] = format_bytes(host + device)
        info["memory"][f"jax,cupy/{dtype}"] = f"{format_bytes(device)} device + {format_bytes(host)} host"
    return info


def _info(args) -> int:
    from scotopt.io import NETWORK_KINDS, file_kind, load_model

    model = load_model(args.file) if file_kind(args.file) in NETWORK_KINDS else None
    problem = _load(args.file) if model is None else model.lp
    info = describe(problem)
    if model is not None:
        info["network"] = repr(model)
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    print(f"{info['name']}: {info['type']}, {info['rows']} rows, {info['columns']} columns, "
          f"{info['nonzeros']} nonzeros, {info['objective_sense']}")
    if model is not None:
        print(f"{'network':<24}{info['network']}")
    print("rows                    " + ", ".join(f"{k} {v}" for k, v in info["row_types"].items()))
    print("column bounds           " + ", ".join(f"{k} {v}" for k, v in info["column_bounds"].items()))
    for key, value in info["ranges"].items():
        text = "none" if value is None else value if isinstance(value, str) else f"[{value[0]:.3g}, {value[1]:.3g}]"
        print(f"{key + ' range':<24}{text}")
    print(f"objective constant      {info['objective_constant']:g}")
    for key, value in info["memory"].items():
        print(f"{'memory ' + key:<24}{value}")
    return EXIT_OK


def _convert(args) -> int:
    from scotopt.io import save

    started = time.perf_counter()
    problem = _load(args.input, explicit=True)
    try:
        path = save(problem, args.output)
    except ValueError as exc:
        return _fail(str(exc))
    print(f"wrote {path}: {problem!r} in {time.perf_counter() - started:.2f} s")
    return EXIT_OK


def _bench(args) -> int:
    import importlib.util

    if not args.no_plots and importlib.util.find_spec("matplotlib") is None:
        return _fail("the plots need matplotlib: pip install 'scotopt[bench]', or pass --no-plots")
    from scotopt.bench import suite

    out = args.out
    if out is None:
        out = Path("bench/results") / args.suite if Path("bench").is_dir() else Path(f"scotopt-bench-{args.suite}")

    def split(text):
        return [t.strip() for t in text.split(",") if t.strip()] if text else None

    try:
        result = suite.run(args.suite, out, args.data, split(args.families), split(args.solvers), args.eps,
                           args.time_limit, plots=not args.no_plots)
    except ValueError as exc:
        return _fail(str(exc))
    print()
    print(result["markdown"])
    if not result["rows"]:
        return _fail("nothing ran: " + "; ".join(f"{what}: {why}" for what, why in result["skipped"]))
    print("wrote " + ", ".join(str(p) for p in result["files"]))
    return EXIT_OK
