"""The machine a benchmark ran on, and its memory bandwidth measured in the same process.

``stream_triad`` is a STREAM-style triad ``a = b + s c`` on float64 arrays far larger than the
caches, done with NumPy as two in-place passes (``a = s c`` then ``a += b``, no fresh buffers),
counted the STREAM way: 24 bytes per entry (read b, read c, write a). The best of ``reps`` runs
after one warm-up is returned in GB/s (10^9 bytes/s). On the 2-core development VM this gives
about 22 GB/s, the DRAM limit of ``../shared/PEERS.md`` section 1.

``compiled_stream_triad`` is the triad as STREAM itself runs it: one compiled pass (numba, the
``cpu`` extra), on one thread or on all of numba's threads (STREAM's OpenMP run). On that VM it
gives ~27 GB/s on one thread and ~36 GB/s on both cores, so a bound taken from the NumPy triad
is ~1.5x too lenient for a compiled kernel that uses both cores: the per-iteration benchmarks
quote both.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np


def cpu_model() -> str:
    """``model name`` of /proc/cpuinfo, else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return float("nan")


def gpu_name() -> str | None:
    """The first NVIDIA GPU's name (via CuPy, else JAX), or None when there is none."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            props = cupy.cuda.runtime.getDeviceProperties(0)
            name = props["name"]
            return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # noqa: BLE001 - no CuPy, no driver, no device: all mean "no GPU"
        pass
    try:
        import jax

        gpus = jax.devices("gpu")
        if gpus:
            return gpus[0].device_kind
    except Exception:  # noqa: BLE001 - same
        pass
    return None


def describe(gpu: str | None = None) -> str:
    """One line: CPU model, logical and usable cores, RAM, GPU (or "no GPU"), Python and numpy."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return (f"{cpu_model()}, {os.cpu_count()} logical cores ({usable} usable), {memory_gib():.0f} GiB RAM, "
            f"{gpu or 'no GPU'}; Python {platform.python_version()}, numpy {np.__version__}")


def versions(modules=("numpy", "scipy", "jax", "highspy", "ortools", "osqp", "mpax", "cupdlpx")) -> str:
    """Installed versions of the packages a benchmark touches ("-" when absent)."""
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in modules:
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} -")
    return ", ".join(parts)


def stream_triad(n: int = 50_000_000, reps: int = 5) -> float:
    """STREAM triad GB/s (24 bytes per entry, as STREAM counts) with numpy; best of ``reps``."""
    b = np.random.default_rng(0).random(n)
    c = np.random.default_rng(1).random(n)
    a = np.empty(n)
    best = np.inf
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        np.multiply(c, 3.0, out=a)
        np.add(a, b, out=a)
        best = min(best, time.perf_counter() - t0)
    return 24 * n / best / 1e9


_TRIAD_KERNELS = {}


def _triad_kernel(parallel: bool):
    kernel = _TRIAD_KERNELS.get(parallel)
    if kernel is None:
        import numba

        def triad(a, b, c, scalar):
            for i in numba.prange(a.shape[0]):
                a[i] = b[i] + scalar * c[i]

        kernel = _TRIAD_KERNELS[parallel] = numba.njit(parallel=parallel, nogil=True)(triad)
    return kernel


def compiled_stream_triad(n: int = 50_000_000, reps: int = 5, threads: int | None = None) -> float | None:
    """STREAM triad GB/s (24 bytes per entry) as one compiled pass ``a[i] = b[i] + s c[i]`` on
    ``threads`` threads (None: all of numba's; 1: a serial loop); best of ``reps`` after a warm-up.
    None without numba."""
    try:
        import numba
    except ImportError:
        return None
    b = np.random.default_rng(0).random(n)
    c = np.random.default_rng(1).random(n)
    a = np.empty(n)
    previous = numba.get_num_threads()
    count = previous if threads is None else max(1, min(threads, numba.config.NUMBA_NUM_THREADS))
    kernel = _triad_kernel(count > 1)
    best = np.inf
    try:
        numba.set_num_threads(count)
        for _ in range(reps + 1):
            t0 = time.perf_counter()
            kernel(a, b, c, 3.0)
            best = min(best, time.perf_counter() - t0)
    finally:
        numba.set_num_threads(previous)
    return 24 * n / best / 1e9
