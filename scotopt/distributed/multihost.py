"""Multi-host runs: ``jax.distributed`` initialisation and generated instances named on the command line.

Every process of a job runs the same program (SPMD). Before any JAX computation each calls
:func:`initialize`, which passes the coordinator address, the number of processes and this
process's id to ``jax.distributed.initialize``; they come from the arguments, else from the
environment variables ``SCOTOPT_COORDINATOR`` (host:port of process 0), ``SCOTOPT_NUM_PROCESSES``
and ``SCOTOPT_PROCESS_ID``, else (``coordinator="auto"``) from JAX's own cluster detection
(SLURM, Open MPI, ...). After it, ``jax.devices()`` lists the devices of every process and the
mesh of :func:`scotopt.distributed.solver_mesh` spans them all. On CPU, the cross-process
collectives are JAX's gloo implementation (``jax_cpu_collectives_implementation``, the default
in jaxlib 0.10).

A generated instance is named ``grid:ROWSxCOLS[:SEED[:NEIGHBOURS]]``; each process builds only
its own shards of it (:mod:`scotopt.models.sharded_grid`).
"""

from __future__ import annotations

import os
import re

from scotopt.status import InvalidOptionError

_ENV = ("SCOTOPT_COORDINATOR", "SCOTOPT_NUM_PROCESSES", "SCOTOPT_PROCESS_ID")


def initialize(coordinator: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> bool:
    """Join the distributed job (see the module docstring); False if nothing asks for one."""
    import jax

    coordinator = coordinator or os.environ.get(_ENV[0])
    if num_processes is None and os.environ.get(_ENV[1]):
        num_processes = int(os.environ[_ENV[1]])
    if process_id is None and os.environ.get(_ENV[2]):
        process_id = int(os.environ[_ENV[2]])
    if coordinator is None and num_processes is None and process_id is None:
        return False
    if coordinator == "auto":
        jax.distributed.initialize()
        return True
    if coordinator is None or num_processes is None or process_id is None:
        raise InvalidOptionError("a multi-host run needs --coordinator HOST:PORT, --num-processes N and "
                                 "--process-id I (or SCOTOPT_COORDINATOR, SCOTOPT_NUM_PROCESSES, SCOTOPT_PROCESS_ID)")
    if not 0 <= process_id < num_processes:
        raise InvalidOptionError(f"--process-id {process_id} is not in 0..{num_processes - 1}")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id)
    return True


_GRID = re.compile(r"^grid:(\d+)x(\d+)(?::(\d+))?(?::(4|8))?$")


def generated_instance(name: str):
    """``make_shard(d, P)`` for a name ``grid:ROWSxCOLS[:SEED[:NEIGHBOURS]]``, else None."""
    match = _GRID.match(name)
    if not match:
        return None
    from scotopt.models.sharded_grid import grid_shard

    rows, cols = int(match.group(1)), int(match.group(2))
    seed = int(match.group(3) or 0)
    neighbours = int(match.group(4) or 8)

    def make_shard(shard, num_shards):
        return grid_shard(rows, cols, shard, num_shards, neighbours=neighbours, seed=seed)

    make_shard.name = name
    return make_shard
