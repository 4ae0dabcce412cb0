"""CPU sparse matrix-vector kernels: SciPy CSR vs JAX segment_sum vs JAX BCSR, side by side.

Usage: ``python bench/spmv_cpu.py [--sizes 1e4,5e5,5e6]``. For each size a random CSR matrix
with about 10 nonzeros per row (int32 indices) is multiplied by a dense vector; the median of
``--repeats`` timed calls after one warm-up call is printed in microseconds. The JAX kernels are
jitted and timed until the result is ready. This is the measurement behind scotopt's choice of
segment sums for the JAX backend and of NumPy/SciPy as the CPU default.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.sparse as sp


def _median_time(fn, repeats: int) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _measure(nnz: int, repeats: int) -> str:
    import jax
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse

    rows, cols = max(nnz // 10, 1), max(nnz // 5, 1)
    rng = np.random.default_rng(0)
    A = sp.csr_matrix((rng.random(nnz), (rng.integers(0, rows, nnz), rng.integers(0, cols, nnz))), shape=(rows, cols))
    x = rng.random(cols)
    row_ids = jnp.asarray(np.repeat(np.arange(rows, dtype=np.int32), np.diff(A.indptr)))
    col_ids = jnp.asarray(A.indices.astype(np.int32))
    values = jnp.asarray(A.data)
    segment = jax.jit(lambda v: jax.ops.segment_sum(values * v[col_ids], row_ids, num_segments=rows,
                                                    indices_are_sorted=True))
    bcsr = jsparse.BCSR.from_scipy_sparse(A)
    bcsr_mv = jax.jit(lambda v: bcsr @ v)
    xj = jnp.asarray(x)
    np.testing.assert_allclose(np.asarray(segment(xj)), A @ x, rtol=1e-10)
    t_scipy = _median_time(lambda: A @ x, repeats)
    t_seg = _median_time(lambda: segment(xj).block_until_ready(), repeats)
    t_bcsr = _median_time(lambda: bcsr_mv(xj).block_until_ready(), repeats)
    return f"| {A.nnz} | {rows} | {1e6 * t_scipy:.0f} | {1e6 * t_seg:.0f} | {1e6 * t_bcsr:.0f} |"


def main(argv=None) -> int:
    import jax

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e4,5e5,5e6", help="nonzero counts")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    print("| nnz | rows | scipy CSR us | jax segment_sum us | jax BCSR us |")
    print("|---|---|---|---|---|")
    with jax.enable_x64(True):
        for nnz in (int(float(s)) for s in args.sizes.split(",")):
            print(_measure(nnz, args.repeats), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
