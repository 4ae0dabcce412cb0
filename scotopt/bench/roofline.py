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
- the reflected Halpern updates of x, y, A x, A^T y: each reads 3 vectors, writes 1 (8 n + 8 m).

Total ``2 nnz (v + i) + (m + n + 2) i + 16 (m + n) v``: 20 bytes per nonzero plus 128 bytes per
row and column in float64 with int32 indices. The same model serves every PDHG-family solver
(scotopt, OR-Tools PDLP, MPAX): PDLP's adaptive steps and MPAX's restarts do at least this.

Matrix-free min-cost flow (``scotopt.kernels.incidence``; E arcs, V nodes): the incidence
operator reads tail and head instead of a matrix; see :func:`network_bytes` (moved here from
``bench/network.py``, where ``periter`` uses it).
"""

from __future__ import annotations


def csr_bytes(rows: int, cols: int, nnz: int, value_bytes: int = 8, index_bytes: int = 4) -> int:
    """Compulsory bytes of one PDHG iteration on an explicit CSR matrix (see the module docstring)."""
    matrix = 2 * nnz * (value_bytes + index_bytes) + (rows + cols + 2) * index_bytes
    return matrix + 16 * (rows + cols) * value_bytes


def network_bytes(arcs: int, nodes: int, value_bytes: int = 4, index_bytes: int = 4) -> int:
    """Compulsory bytes of one r2HPDHG iteration on a matrix-free min-cost flow.

    With A x and A^T y carried (algorithm.py), an iteration needs A x^ before y^ and A^T y^
    before the Halpern update, so two passes over the arcs:
      pass 1: read x, aty, c, u, tail, head; write x^                  (4 values + 2 idx + 1 write)
      pass 2: read tail, head, x^, x, x0, aty, aty0; write x, aty      (5 values + 2 idx + 2 writes)
    = 12 value and 4 index transfers per arc (64 B in float32 with int32 indices); the node
    vectors (y, y0, ax, ax0, con bounds, d1: about 10 reads/writes) add 10 values per node.
    """
    return arcs * (12 * value_bytes + 4 * index_bytes) + nodes * 10 * value_bytes


def bound_seconds(nbytes: float, bandwidth_gbs: float) -> float:
    """Time to move ``nbytes`` at ``bandwidth_gbs`` GB/s (10^9 bytes per second)."""
    return nbytes / (bandwidth_gbs * 1e9)
