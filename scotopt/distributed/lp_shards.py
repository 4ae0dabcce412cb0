"""An LP file split once into row-block shards, then solved by PDHG with each process loading only its own.

Two steps, so that no process of the solve holds the whole problem:

1. **Partition** (:func:`write_lp_shards`, ``scotopt partition FILE --parts N --out DIR``), on one
   machine: the file is read ONCE, whole (this is the one step that needs the whole LP in memory),
   preconditioned exactly as the single-host PDHG driver does (``scale_lp``: Ruiz, Pock-Chambolle,
   bound / objective rescaling), ``||A~||_2`` is estimated (the driver's ``_operator_norm``), and
   the matrix is cut into N nonzero-balanced row blocks with contiguous column blocks
   (:class:`~scotopt.distributed.csr.RowPartition`, the layout of a sharded ``scotopt.solve``).
   ``DIR/shards.json`` holds the sizes and scalars; ``DIR/shard_DDDD.npz`` holds shard d: the
   scaled and the unscaled nonzeros of its rows (values, global columns, local rows), its rows'
   bounds and d1, and its column block's costs, bounds, d2 and starting point, all padded to the
   same sizes in every shard.
2. **Solve** (:func:`solve_lp_shards`, ``scotopt solve DIR [--coordinator ...]``), on N devices in
   any number of processes: process i loads only the shard files of its devices and assembles the
   global arrays from them (``jax.make_array_from_single_device_arrays``). The iteration is the
   unchanged PDHG (``driver.iterate``) with the sharded CSR operator; OPTIMAL is verified on the
   devices in float64 on the unscaled data with the unscaled nonzeros (the formulas of
   ``algorithm.kkt_measures``; the solve's candidate lies within the variable bounds and its duals
   have the signs the bounds allow, where these are the numbers of ``kkt.kkt_report``).
   Infeasibility claims are not verified in this path (they count as rejected; the run ends at a
   limit). Every process gets the same global measures plus the x of its column blocks and the y
   of its row blocks.

Per device this holds nnz / N nonzeros (twice: scaled and unscaled), ceil(n / N) columns and the
largest row block's rows; per iteration it moves what a sharded ``scotopt.solve`` of the same LP
moves (an all-gather and a reduce-scatter of n values).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp

from scotopt.distributed.csr import RowPartition, ShardedCSR
from scotopt.distributed.mesh import describe_mesh, solver_mesh
from scotopt.distributed.sharded_flow import (
    GlobalMeasures,
    global_array,
    local_shard_ids,
    replicated,
    scalar,
    verified_iterations,
)
from scotopt.io.errors import FileFormatError
from scotopt.kernels import get_backend
from scotopt.options import PDHGOptions, Termination
from scotopt.solvers import kkt
from scotopt.solvers.pdhg import algorithm as alg
from scotopt.status import InvalidOptionError, InvalidProblemError

FORMAT_VERSION = 1
META = "shards.json"
_META_KEYS = ("name", "parts", "rows", "columns", "nonzero_slots", "rows_per_shard", "columns_per_shard", "theta_b",
              "theta_c", "c0", "bound_norm", "cost_norm", "norm", "scaling")
_SCALING = ("ruiz_iterations", "pock_chambolle_alpha", "bound_objective_rescaling", "geometric_mean_iterations")


def shard_file(directory, shard: int) -> Path:
    return Path(directory) / f"shard_{shard:04d}.npz"


def is_shard_directory(path) -> bool:
    """Whether ``path`` is a folder written by :func:`write_lp_shards`."""
    return (Path(path) / META).is_file()


def write_lp_shards(lp, parts: int, directory, options: PDHGOptions | None = None) -> dict:
    """Precondition ``lp`` and write it as ``parts`` shards into ``directory`` (module docstring);
    returns the metadata written to ``shards.json``. Only explicit sparse LPs (no QP, no
    matrix-free operator) can be split this way."""
    from scotopt.problem import QP
    from scotopt.solvers.pdhg.driver import _operator_norm
    from scotopt.solvers.pdhg.scaling import scale_lp

    options = options or PDHGOptions()
    if isinstance(lp, QP):
        raise InvalidProblemError(f"{lp.name}: a QP cannot be split into PDHG shards (PDHG solves LPs)")
    if lp.is_matrix_free:
        raise InvalidProblemError(f"{lp.name}: a matrix-free LP has no nonzeros to split into shards")
    if isinstance(parts, bool) or not isinstance(parts, (int, np.integer)) or parts < 1:
        raise InvalidOptionError(f"--parts must be a positive integer, got {parts!r}")
    m, n = lp.shape
    if parts > max(m, 1):
        raise InvalidOptionError(f"--parts {parts} exceeds the {m} rows of {lp.name}")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InvalidOptionError(f"--out {directory}: exists and is not a directory")
    A = sp.csr_matrix(lp.A)
    A.sort_indices()
    scaled = scale_lp(lp, options.ruiz_iterations, options.pock_chambolle_alpha, options.bound_objective_rescaling,
                      options.geometric_mean_iterations)
    d1, d2 = np.asarray(scaled.d1, dtype=np.float64), np.broadcast_to(np.asarray(scaled.d2, dtype=np.float64), (n,))
    A_scaled = sp.csr_matrix((A.data * d1[np.repeat(np.arange(m), np.diff(A.indptr))] * d2[A.indices],
                              A.indices, A.indptr), shape=A.shape)
    norm = _operator_norm(A_scaled)
    partition = RowPartition(A, parts)
    width = partition.nonzeros_per_shard(A)
    rows, columns = partition.rows, partition.columns

    row_vectors = {"con_lb": (scaled.con_lb, 0.0), "con_ub": (scaled.con_ub, 0.0), "d1": (d1, 1.0),
                   "con_lb_raw": (lp.con_lb, 0.0), "con_ub_raw": (lp.con_ub, 0.0)}
    column_vectors = {"c": (scaled.c, 0.0), "var_lb": (scaled.var_lb, 0.0), "var_ub": (scaled.var_ub, 0.0),
                      "d2": (d2, 1.0), "c_raw": (lp.c, 0.0), "var_lb_raw": (lp.var_lb, 0.0),
                      "var_ub_raw": (lp.var_ub, 0.0),
                      "x0": (np.clip(0.0, scaled.var_lb, scaled.var_ub), 0.0)}
    row_arrays = {name: rows.scatter(np.broadcast_to(v, (m,)), fill) for name, (v, fill) in row_vectors.items()}
    column_arrays = {name: columns.scatter(np.broadcast_to(v, (n,)), fill)
                     for name, (v, fill) in column_vectors.items()}
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("shard_*.npz"):
        old.unlink()
    m_loc, block = rows.block, columns.block
    for d in range(parts):
        a_scaled, a_cols, a_rows = partition.shard_nonzeros(A_scaled, d, width)
        a_raw = partition.shard_nonzeros(A, d, width)[0]
        own_rows, own_columns = slice(d * m_loc, (d + 1) * m_loc), slice(d * block, (d + 1) * block)
        np.savez(shard_file(directory, d), format_version=np.int64(FORMAT_VERSION), shard=np.int64(d),
                 a_scaled=a_scaled, a_raw=a_raw, a_cols=a_cols, a_rows=a_rows,
                 row_ids=rows.source[own_rows], column_ids=columns.source[own_columns],
                 **{name: v[own_rows] for name, v in row_arrays.items()},
                 **{name: v[own_columns] for name, v in column_arrays.items()})
    meta = {
        "format_version": FORMAT_VERSION, "name": lp.name, "parts": parts, "rows": m, "columns": n,
        "nonzeros": int(A.nnz), "nonzeros_per_shard": partition.nnz_per_shard.tolist(), "nonzero_slots": width,
        "rows_per_shard": m_loc, "columns_per_shard": block, "theta_b": float(scaled.theta_b),
        "theta_c": float(scaled.theta_c), "c0": float(lp.c0), "bound_norm": kkt.bound_norm(lp),
        "cost_norm": float(np.linalg.norm(lp.c)), "norm": float(norm),
        "scaling": {name: getattr(options, name) for name in _SCALING},
    }
    (directory / META).write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def read_meta(directory) -> dict:
    """``shards.json`` of ``directory``, checked."""
    path = Path(directory) / META
    if not path.is_file():
        raise FileNotFoundError(2, "no shards.json (write one with 'scotopt partition')", str(path))
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FileFormatError(path, None, f"not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise FileFormatError(path, None, f"not a shard set of format version {FORMAT_VERSION}")
    missing = sorted(set(_META_KEYS) - set(meta))
    if missing:
        raise FileFormatError(path, None, f"lacks {', '.join(missing)}", "what 'scotopt partition' writes")
    return meta


def _load_shard(directory, shard: int, meta: dict) -> dict:
    path = shard_file(directory, shard)
    with np.load(path) as npz:  # FileNotFoundError if missing
        arrays = {name: npz[name] for name in npz.files}
    sizes = {"a_scaled": meta["nonzero_slots"], "con_lb": meta["rows_per_shard"], "c": meta["columns_per_shard"]}
    if int(arrays.get("shard", -1)) != shard or any(arrays[k].shape != (v,) for k, v in sizes.items()):
        raise FileFormatError(path, None, f"not shard {shard} of the set described by {META}")
    return arrays


@dataclasses.dataclass
class ShardedLPResult(GlobalMeasures):
    """Global measures (the same in every process) and this process's blocks of the answer.

    ``x[d] = (column ids, values)`` for the column block of each local shard d, ``y[d] = (row ids,
    values)`` for its row block (real entries only, original numbering); ``x_sum`` / ``x_norm``:
    sum and 2-norm of the whole x (a cross-process checksum).
    """

    name: str
    iterations: int
    restarts: int
    solve_time: float
    setup_time: float
    x_sum: float
    x_norm: float
    shards: int
    processes: int
    device: str
    bytes_per_device: int
    x: dict
    y: dict


def solve_lp_shards(directory, mesh=None, eps: float = 1e-4, iteration_limit: int | None = None,
                    time_limit: float | None = None, options: PDHGOptions | None = None,
                    verbose: bool = False) -> ShardedLPResult:
    """Solve the shard set in ``directory`` on ``mesh`` (default: every device of every process; it
    must have as many devices as the set has shards), float64; see the module docstring."""
    start = time.perf_counter()
    options = options or PDHGOptions()
    meta = read_meta(directory)
    scaling = {name: getattr(options, name) for name in _SCALING}
    if scaling != meta["scaling"]:
        raise InvalidOptionError(f"{directory} was preconditioned with {meta['scaling']} at partition time, not "
                                 f"{scaling}: partition again with those options")
    mesh = mesh or solver_mesh()
    devices = int(np.asarray(mesh.devices).size)
    if devices != meta["parts"]:
        raise InvalidOptionError(f"{directory} holds {meta['parts']} shards but the mesh has {devices} devices: "
                                 f"run on {meta['parts']} devices in all, or partition again with --parts {devices}")
    termination = Termination(eps=eps, time_limit=time_limit, iteration_limit=iteration_limit)
    backend = get_backend("jax")
    with backend.precision(np.float64):
        return _solve(directory, meta, mesh, termination, options, verbose and jax.process_index() == 0, backend,
                      start)


def _solve(directory, meta, mesh, termination, options, verbose, backend, start):
    dtype = np.float64
    mine = local_shard_ids(mesh)
    shards = {d: _load_shard(directory, d, meta) for d in mine}

    def gather(name):
        return global_array(mesh, {d: shards[d][name] for d in mine})

    P, m_loc = meta["parts"], meta["rows_per_shard"]
    n_padded = P * meta["columns_per_shard"]
    cols, rows = gather("a_cols"), gather("a_rows")
    op = ShardedCSR(mesh, P, m_loc, n_padded, (gather("a_scaled"), cols, rows))
    raw = ShardedCSR(mesh, P, m_loc, n_padded, (gather("a_raw"), cols, rows))
    fields = {name: gather(name) for name in ("c", "con_lb", "con_ub", "var_lb", "var_ub", "d1", "d2")}
    data = alg.PDHGData(**fields, theta_b=meta["theta_b"], theta_c=meta["theta_c"], c0=meta["c0"],
                        bound_norm=meta["bound_norm"], cost_norm=meta["cost_norm"],
                        eta=options.step_size_safety / meta["norm"])
    one = replicated(mesh, 1.0, dtype)
    original = data._replace(c=gather("c_raw"), con_lb=gather("con_lb_raw"), con_ub=gather("con_ub_raw"),
                             var_lb=gather("var_lb_raw"), var_ub=gather("var_ub_raw"), d1=one, d2=one,
                             theta_b=1.0, theta_c=1.0)
    y0 = global_array(mesh, {d: np.zeros(m_loc) for d in mine}, dtype)
    state = alg.init_state(jnp, op, data, gather("x0"), y0, dtype)
    setup_time = time.perf_counter() - start
    loop, measured, x, y = verified_iterations(backend, op, raw, data, original, state, termination, options,
                                               verbose, start)
    rel_p, rel_d, gap, pobj, dobj, x_sum, x_norm = measured
    devices = list(np.asarray(mesh.devices).reshape(-1))

    def local(array, ids):
        out = {}
        for piece in array.addressable_shards:
            d = devices.index(piece.device)
            keep = shards[d][ids] >= 0
            out[d] = (shards[d][ids][keep], np.asarray(piece.data, dtype=np.float64)[keep])
        return out

    bytes_per_device = sum(int(a.addressable_shards[0].data.nbytes)
                           for a in jax.tree_util.tree_leaves((loop.answer_state, data, original, op.params,
                                                               raw.params[:1])) if isinstance(a, jax.Array))
    return ShardedLPResult(
        name=meta["name"], status=loop.status, objective=pobj, dual_objective=dobj, rel_primal=rel_p, rel_dual=rel_d,
        rel_gap=gap, iterations=loop.iterations, restarts=int(scalar(loop.answer_state.restarts)),
        solve_time=time.perf_counter() - start, setup_time=setup_time, x_sum=x_sum, x_norm=x_norm, shards=P,
        processes=jax.process_count(), device=describe_mesh(mesh), bytes_per_device=bytes_per_device,
        x=local(x, "column_ids"), y=local(y, "row_ids"),
    )
