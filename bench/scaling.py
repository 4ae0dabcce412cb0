"""Strong and weak scaling of sharded PDHG on forced host devices (or real GPUs when present).

    python bench/scaling.py                    # both studies, forced CPU devices 1, 2, 4
    python bench/scaling.py strong --size 200  # one study
    python bench/scaling.py --platform gpu     # on the GPUs JAX sees (no forced devices)

Each study runs in a child process started with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``
(set before JAX is imported) and solves, for every device count P in 1, 2, 4, the same LP with
``scotopt.solve(..., backend="jax", devices=P)`` and with the unsharded JAX path ("1*" rows).
Per-iteration time: the median over ``--repeats`` pairs of ``(T(3N) - T(N)) / 2N``, T the wall
time of a solve of that many iterations (N = ``--iterations``; compiled programs cached), so
setup and the final float64 verification cancel; the periodic evaluation (every 64 iterations)
is included; ``ms_spread`` is max - min over the pairs (the noise of the shared machine). Communication
per iteration is from the layout (bytes each device sends, ring reduce-scatter + all-gather,
``Result.extra["comm_bytes_per_iteration"]``); memory per device is
the operator's device arrays plus one copy of each of x and y on one device (the solver holds
about 8 column and 8 row vectors of that size in its state and data).

Instances (float32, so the numbers are per-iteration costs rather than convergence):
- network: the seeded grid min-cost flow (``grid_min_cost_flow(n, n)``, 8 neighbours, E ~ 8 n^2),
  matrix-free, split by arcs; csr: the same LP as an explicit CSR matrix, split by rows;
- inventory: ``distribution_network(4, 10, 4, 12, S)`` with S = 16 (x P for weak), split by scenarios.
Strong scaling keeps the instance; weak scaling grows it with P (grid rows x P, scenarios x P).

On this machine (2 shared cores) forced host devices share the same 2 cores, so speedup is
bounded by 2 whatever P: the study shows the sharding overhead and the layout's communication
volume, not GPU scaling.

``consensus`` (``python bench/scaling.py consensus --scenarios 64 --products 100``): consensus ADMM
(progressive hedging) on the scenario newsvendor
(:func:`scotopt.models.newsvendor.scenario_newsvendor_blocks`, S blocks of 2 x products
variables), per round: the host path (the blocks as one block-diagonal QP, scotopt's ADMM on
NumPy with a sparse factorisation: the single-device baseline, "host" rows) and the blocks
split over P = 1, 2, 4 JAX devices (``solve_consensus(..., backend="jax", devices=P)``). Time
per round = median over ``--repeats`` pairs of (T(3N) - T(N)) / 2N with N = ``--rounds`` rounds
(``max_rounds``), wall and CPU seconds of the process (all its threads); every configuration
runs the same rounds. Communication: the all-reduce of z and two scalars per round; memory: the
block data and iterates on one device.

``multihost`` (``python bench/scaling.py multihost --scenarios 16 --products 50 --rounds 5``): the
same per-round time for :func:`scotopt.distributed.consensus.solve_consensus_distributed` (each
process builds only its blocks) in 1 process x 1 device, 1 process x 2 forced devices and
2 processes x 1 device joined by ``jax.distributed`` on localhost (gloo collectives); wall time
of process 0, CPU time summed over the processes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEVICES = (1, 2, 4)


def _instance(kind: str, size: int, factor: int):
    """(lp, description) of the instance of ``kind`` at ``size``, grown by ``factor`` for weak scaling."""
    if kind in ("network", "csr"):
        from scotopt.models.generators import grid_min_cost_flow
        from scotopt.problem import LP

        model = grid_min_cost_flow(size * factor, size, seed=0)
        lp = model.lp
        if kind == "csr":
            lp = LP(lp.c, model.operator.to_csr(), lp.con_lb, lp.con_ub, lp.var_lb, lp.var_ub, name=lp.name + "-csr")
        return lp, f"grid {size * factor}x{size}, {model.num_arcs} arcs"
    from scotopt.models.inventory_instances import distribution_network

    scenarios = 16 * factor
    return distribution_network(4, 10, 4, 12, scenarios, seed=0).to_lp(), f"inventory S={scenarios}"


def _measure(lp, devices, iterations: int, repeats: int) -> dict:
    """Per-iteration time = median over ``repeats`` pairs of (T(3N) - T(N)) / 2N, T the wall time
    of a solve of that many iterations (compiled programs cached): setup and the final
    verification cancel within a pair, and pairing limits the drift of the other jobs' load."""
    import statistics

    import scotopt

    def run(count):
        started = time.perf_counter()
        result = scotopt.solve(lp, backend="jax", dtype="float32", eps=1e-12, iteration_limit=count,
                               devices=devices)
        return time.perf_counter() - started, result

    run(iterations)  # compile
    differences = []
    for _ in range(repeats):
        short, _ = run(iterations)
        long, result = run(3 * iterations)
        differences.append((long - short) / (2 * iterations))
    extra = result.extra
    return {
        "ms_per_iteration": 1e3 * statistics.median(differences),
        "ms_spread": 1e3 * (max(differences) - min(differences)),
        "setup_s": result.setup_time,
        "comm_bytes_per_iteration": extra.get("comm_bytes_per_iteration", 0.0),
        "operator_bytes_per_device": extra.get("operator_bytes_per_device", ""),
        "vector_bytes_per_device": extra.get("vector_bytes_per_device", ""),
        "device": result.device,
    }


def child(study: str, kinds: list[str], size: int, iterations: int, repeats: int) -> None:
    """Run one study in this process (forced devices already set) and print JSON rows."""
    import jax

    available = len(jax.devices())
    for kind in kinds:
        for devices in DEVICES:
            if devices > available:
                continue
            factor = devices if study == "weak" else 1
            lp, what = _instance(kind, size, factor)
            cases = [("1*", None)] if devices == 1 else []
            cases.append((str(devices), devices))
            for label, count in cases:
                row = {"study": study, "kind": kind, "instance": what, "rows": lp.shape[0], "columns": lp.shape[1],
                       "devices": label, **_measure(lp, count, iterations, repeats)}
                print(json.dumps(row), flush=True)


def _per_round(run, rounds: int, repeats: int):
    """Seconds per round, wall and CPU, of ``run(count) -> (wall, cpu, result)``: (T(3N) - T(N)) / 2N for
    each of ``repeats`` pairs after one warm-up run; returns (walls, cpus, the last long run's result)."""
    run(rounds)  # compile (JAX) and warm the caches
    walls, cpus = [], []
    for _ in range(repeats):
        short_wall, short_cpu, _ = run(rounds)
        long_wall, long_cpu, result = run(3 * rounds)
        walls.append((long_wall - short_wall) / (2 * rounds))
        cpus.append((long_cpu - short_cpu) / (2 * rounds))
    return walls, cpus, result


def consensus_child(scenarios: int, products: int, rounds: int, repeats: int) -> None:
    """The consensus study in this process (forced devices already set): one JSON row per configuration."""
    import statistics

    import jax

    from scotopt.models.newsvendor import scenario_newsvendor_blocks
    from scotopt.solvers.admm.consensus import solve_consensus

    blocks, p, k = scenario_newsvendor_blocks(scenarios, products, seed=0)
    configurations = [("host", {})] + [(str(d), {"backend": "jax", "devices": d}) for d in DEVICES
                                       if d <= len(jax.devices())]
    for label, where in configurations:
        def run(count, where=where):
            wall, cpu = time.perf_counter(), time.process_time()
            result = solve_consensus(blocks, p, k, rho=1.0, eps=1e-12, max_rounds=count, **where)
            return time.perf_counter() - wall, time.process_time() - cpu, result

        walls, cpus, result = _per_round(run, rounds, repeats)
        extra = result.extra
        print(json.dumps({
            "study": "consensus", "instance": f"newsvendor S={scenarios} x {2 * products} vars", "devices": label,
            "rounds": extra["rounds"], "inner_iterations": extra["inner_iterations"],
            "ms_per_round": 1e3 * statistics.median(walls), "ms_spread": 1e3 * (max(walls) - min(walls)),
            "cpu_ms_per_round": 1e3 * statistics.median(cpus),
            "comm_bytes_per_round": extra.get("comm_bytes_per_round", 0.0),
            "block_bytes_per_device": extra.get("block_bytes_per_device", ""),
            "objective": result.fun, "device": result.device,
        }), flush=True)


def multihost_child(processes: int, process_id: int, coordinator: str, scenarios: int, products: int, rounds: int,
                    repeats: int) -> None:
    """One process of the multihost study: per-round time of ``solve_consensus_distributed``, each
    process building only its blocks; process 0 prints the row (wall of process 0, CPU of this one)."""
    import statistics

    import jax

    from scotopt.distributed.consensus import solve_consensus_distributed
    from scotopt.distributed.multihost import initialize
    from scotopt.models.newsvendor import scenario_newsvendor_factory

    if processes > 1:
        initialize(coordinator, processes, process_id)
    make_block, p, k = scenario_newsvendor_factory(scenarios, products, seed=0)

    def run(count):
        wall, cpu = time.perf_counter(), time.process_time()
        result = solve_consensus_distributed(make_block, scenarios, p, k, rho=1.0, eps=1e-12, max_rounds=count)
        return time.perf_counter() - wall, time.process_time() - cpu, result

    walls, cpus, result = _per_round(run, rounds, repeats)
    print(json.dumps({
        "study": "multihost", "instance": f"newsvendor S={scenarios} x {2 * products} vars",
        "processes": processes, "process": process_id, "devices": result.shards, "rounds": result.rounds,
        "ms_per_round": 1e3 * statistics.median(walls), "ms_spread": 1e3 * (max(walls) - min(walls)),
        "cpu_ms_per_round": 1e3 * statistics.median(cpus), "objective": result.objective,
        "z_sum": float(result.z.sum()), "device": result.device, "local_devices": len(jax.local_devices()),
        **{key: result.extra[key] for key in ("comm_bytes_per_round", "block_bytes_per_device")},
    }), flush=True)


def _multihost(args, env) -> int:
    """The multihost study: 1 process x 1 and x 2 forced devices, 2 processes x 1 device (gloo)."""
    import socket

    from bench.tables import write_csv

    rows = []
    for processes, devices in ((1, 1), (1, 2), (2, 1)):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        child_env = dict(env, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
        children = [subprocess.Popen([sys.executable, __file__, "multihost", "--child", "--processes", str(processes),
                                      "--process-id", str(i), "--coordinator", f"127.0.0.1:{port}",
                                      "--scenarios", str(args.scenarios), "--products", str(args.products),
                                      "--rounds", str(args.rounds), "--repeats", str(args.repeats)],
                                     env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
                    for i in range(processes)]
        outputs = [child.communicate() for child in children]
        if any(child.returncode for child in children):
            print("\n".join(err[-4000:] for _, err in outputs), file=sys.stderr)
            return 1
        found = [json.loads(line) for out, _ in outputs for line in out.splitlines() if line.startswith("{")]
        row = dict(found[0], cpu_ms_per_round=sum(r["cpu_ms_per_round"] for r in found))  # all processes' CPU
        print(row, flush=True)
        rows.append(row)
    prefix = f"{args.out}_multihost"
    write_csv(rows, prefix)
    base = rows[0]["ms_per_round"]
    lines = ["# Consensus ADMM per round across processes (jax.distributed, gloo) vs one process", "",
             "Machine: 2-core shared VM (other jobs running), no GPU; see bench/scaling.py.", "",
             "| instance | processes x devices | ms/round | spread ms | CPU ms/round (all processes) | "
             "vs 1 x 1 | objective (same rounds) |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['instance']} | {row['processes']} x {row['devices'] // row['processes']} | "
                     f"{row['ms_per_round']:.1f} | {row['ms_spread']:.1f} | {row['cpu_ms_per_round']:.1f} | "
                     f"{base / row['ms_per_round']:.2f} | {row['objective']:.10g} |")
    Path(prefix + ".md").write_text("\n".join(lines) + "\n")
    return 0


def _consensus_markdown(rows: list[dict]) -> str:
    """The consensus table: speedups against the host path (single-device baseline) and against P = 1."""
    by_label = {row["devices"]: row["ms_per_round"] for row in rows}
    lines = ["# Consensus ADMM per round: host batch vs scenario blocks split over forced CPU devices", "",
             "Machine: 2-core shared VM (other jobs running), no GPU; see bench/scaling.py.", "",
             "| instance | devices | rounds | inner iters (last run) | ms/round | spread ms | CPU ms/round | "
             "vs host | vs P=1 | comm B/round/device | block B/device |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        ms = row["ms_per_round"]
        lines.append(f"| {row['instance']} | {row['devices']} | {row['rounds']} | {row['inner_iterations']} | "
                     f"{ms:.2f} | {row['ms_spread']:.2f} | {row['cpu_ms_per_round']:.2f} | "
                     f"{by_label['host'] / ms:.2f} | "
                     f"{by_label.get('1', float('nan')) / ms:.2f} | {row['comm_bytes_per_round']:.0f} | "
                     f"{row['block_bytes_per_device']} |")
    return "\n".join(lines) + "\n"


def _markdown(rows: list[dict], study: str) -> str:
    """The table of one study; "1*" is the unsharded single-device path, speedups are against "1"."""
    platform = rows[-1]["device"].split(" x ")[-1]
    title = f"Sharded PDHG, {study} scaling on forced {platform} devices, float32"
    lines = [f"# {title}", "", "Machine: 2-core shared VM (other jobs running), no GPU; see bench/scaling.py.", "",
             "| kind | instance | devices | ms/iter | spread ms | speedup | comm B/iter/device | operator B/device | "
             "vector B/device |", "|---|---|---|---|---|---|---|---|---|"]
    reference = {}
    for row in rows:
        if row["devices"] == "1":
            reference[(row["kind"], row["study"])] = row["ms_per_iteration"]
    for row in rows:
        ref = reference.get((row["kind"], row["study"]))
        ratio = ref / row["ms_per_iteration"] if ref else float("nan")
        speed = f"{ratio:.2f}" if row["study"] == "strong" else f"{ratio:.2f} (efficiency)"
        spread = float(row.get("ms_spread") or "nan")
        lines.append(f"| {row['kind']} | {row['instance']} | {row['devices']} | {row['ms_per_iteration']:.2f} | "
                     f"{spread:.2f} | "
                     f"{speed} | {row['comm_bytes_per_iteration']:.0f} | {row['operator_bytes_per_device']} | "
                     f"{row['vector_bytes_per_device']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", nargs="?", choices=("strong", "weak", "both", "consensus", "multihost"),
                        default="both")
    parser.add_argument("--kinds", default="network,csr,inventory")
    parser.add_argument("--size", type=int, default=150, help="grid side (strong) / grid side per device (weak)")
    parser.add_argument("--iterations", type=int, default=128, help="N: solves of N and 3N iterations are timed")
    parser.add_argument("--repeats", type=int, default=3, help="pairs of solves; the median counts")
    parser.add_argument("--scenarios", type=int, default=64, help="consensus: scenario blocks")
    parser.add_argument("--products", type=int, default=100, help="consensus: products (2 per variable pair)")
    parser.add_argument("--rounds", type=int, default=10, help="consensus: N, solves of N and 3N rounds are timed")
    parser.add_argument("--platform", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "scaling"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--process-id", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--coordinator", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",")
    if args.child:
        if args.study == "multihost":
            multihost_child(args.processes, args.process_id, args.coordinator, args.scenarios, args.products,
                            args.rounds, args.repeats)
        elif args.study == "consensus":
            consensus_child(args.scenarios, args.products, args.rounds, args.repeats)
        else:
            child(args.study, kinds, args.size, args.iterations, args.repeats)
        return 0
    from bench.tables import write_csv

    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    if args.platform == "cpu":
        env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
        env["JAX_PLATFORMS"] = "cpu"
    if args.study == "multihost":
        return _multihost(args, env)
    studies = ("strong", "weak") if args.study == "both" else (args.study,)
    for study in studies:
        command = [sys.executable, __file__, study, "--child", "--kinds", args.kinds, "--size", str(args.size),
                   "--iterations", str(args.iterations), "--repeats", str(args.repeats),
                   "--scenarios", str(args.scenarios), "--products", str(args.products), "--rounds", str(args.rounds)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            print(done.stderr[-4000:], file=sys.stderr)
            return done.returncode
        rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        for row in rows:
            print(row, flush=True)
        prefix = f"{args.out}_{study}"
        write_csv(rows, prefix)
        Path(prefix + ".md").write_text(_consensus_markdown(rows) if study == "consensus" else _markdown(rows, study))
    return 0


if __name__ == "__main__":
    sys.exit(main())
