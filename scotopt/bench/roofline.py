"""Bytes one PDHG iteration must move, and the time bound that gives at a measured bandwidth.

The model counts *compulsory* traffic: every array an iteration of r2HPDHG (as written in
``scotopt/solvers/pdhg/algorithm.py``) must read or write once if each line were one fused pass,
no cache reuse between passes and no temporaries. Real NumPy code makes temporaries, so the
measured time is at least this bound; ``iter_over_bound = seconds per iteration / bound`` says
how far a solver is from it (1.0 = at the memory-traffic limit).

Explicit CSR (A and A^T both stored, ``v`` bytes per value, ``i`` per index), m rows, n columns:

- the two products ``A x^`` and ``A^T y^``: each reads nnz values and nnz column indices, its row
  pointers (rows + 1 indices), the input vector once (perfect reuse of the gathered entries) and
  writes the output: ``2 nnz (v + i) + (m + n + 2) i + 2 (m + n) v``;
- ``x^ = clip(x - tau (c - A^T y), l, u)``: reads x, c, A^T y, l, u, writes x^ (6 n);
- ``y^ = v - clip(v, ...)`` with ``v = y - sigma (2 A x^ - A x)``: reads y, A x^, A x, row
  bounds (2), writes y^ (6 m);
- the reflected Halpern updates of x, y and A x: each reads 3 vectors, writes 1 (4 n + 8 m).
  (A^T y is recomputed from y each iteration, not carried: since 2026-11-26; before, its
  Halpern update added 4 n and the model counted 16 (m + n) values. Tables measured before then
  in bench/README.md used the older count, which gave a larger bound.)

Total ``2 nnz (v + i) + (m + n + 2) i + (10 n + 14 m) v``: 20 bytes per nonzero plus 80 bytes
per column and 112 per row in float64 with int32 indices. The same model serves every
PDHG-family solver (scotopt, OR-Tools PDLP, MPAX): PDLP's adaptive steps and MPAX's restarts do
at least this.

Matrix-free min-cost flow (``scotopt.kernels.incidence``; E arcs, V nodes): the incidence
operator reads tail and head instead of a matrix; see :func:`network_bytes` (moved here from
``bench/network.py``, where ``periter`` uses it).
"""

from __future__ import annotations


def csr_bytes(rows: int, cols: int, nnz: int, value_bytes: int = 8, index_bytes: int = 4) -> int:
    """Compulsory bytes of one PDHG iteration on an explicit CSR matrix (see the module docstring)."""
    matrix = 2 * nnz * (value_bytes + index_bytes) + (rows + cols + 2) * index_bytes
    return matrix + (10 * cols + 14 * rows) * value_bytes


def network_bytes(arcs: int, nodes: int, value_bytes: int = 4, index_bytes: int = 4) -> int:
    """Compulsory bytes of one r2HPDHG iteration on a matrix-free min-cost flow.

    With A x carried and A^T y recomputed from y (algorithm.py), an iteration needs A x^ before
    y^, so two passes over the arcs:
      pass 1: read tail, head (gathering y), x, c, u; write x^          (3 values + 2 idx + 1 write)
      pass 2: read tail, head, x^ (scatter A x^), x, x0; write x       (3 values + 2 idx + 1 write)
    = 8 value and 4 index transfers per arc (48 B in float32 with int32 indices; 64 B while A^T y
    was carried, before 2026-11-26); the node vectors (y, y0, ax, ax0, con bounds, d1: about 10
    reads/writes) add 10 values per node.

    The fused numba iteration (``scotopt/kernels/network_fused.py``) needs one pass over the arcs
    (x^ is used where it is computed, never stored): tail, head, x, c, x0, the upper bound,
    write x+ = 5 value and 2 index transfers with a constant lower bound (28 B/arc in float32),
    plus the random node gathers/scatters that this count leaves out. The bound above stays the
    reference (the iteration as written), so a fused ratio below 1 is possible in principle.
    """
    return arcs * (8 * value_bytes + 4 * index_bytes) + nodes * 10 * value_bytes


def bound_seconds(nbytes: float, bandwidth_gbs: float) -> float:
    """Time to move ``nbytes`` at ``bandwidth_gbs`` GB/s (10^9 bytes per second)."""
    return nbytes / (bandwidth_gbs * 1e9)
