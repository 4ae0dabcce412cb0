"""Memory estimates, so that a problem too large for this machine is refused before allocation.

The host limit is MemAvailable (``/proc/meminfo``), or the environment variable
``SCOTOPT_MAX_MEMORY`` (``8G``, ``500M``, bytes) where that is smaller. The estimates count the
arrays scotopt allocates, not Python's overhead (bench/README.md compares them with measured
peak RSS).

PDHG on an explicit matrix with ``m`` rows, ``n`` columns and ``nnz`` nonzeros, value size
``s`` bytes (8 for float64, 4 for float32) and 4-byte indices holds:

- on the device: A and its transpose in CSR, ``2 * (nnz * (s + 4) + 4 * (m + n + 2))``, and
  about 16 vectors of length n and 14 of length m, ``s * (16 n + 14 m)``;
- on the host, beyond the problem itself (already allocated, so not counted): the scaled
  float64 copy used to build the device data (``nnz * 12 + 8 m + 8 * (3 n + 2 m)``) and the
  float64 verification vectors (``8 * (6 n + 6 m)``).

PDHG on a matrix-free operator (the network and inventory models) stores no matrix, and its
setup, evaluation and verification work in blocks, so the solver's vectors are all there is:
``s * (6 n + 14 m)`` on the device (state, data, the step's temporaries) and
``8 * (n + m) + 48 * min(n, 2^16)`` on the host (the float64 answer, and the float64
temporaries of the blocks of 2^16 entries that setup and the check work in). A model whose cost
and bounds are :class:`~scotopt.segments.SegmentVector` s (the inventory model) stores less than
this counts. Measured with tracemalloc over 64-iteration solves (tests/test_memory_guard.py, the
kernels loaded beforehand), the peak is 44.3 / 56.6 B per column in float32 / float64 for a
2 x 10^5-arc network and 36.8 / 71.1 for 2.3 x 10^5 inventory variables; this estimate is
1.3-1.9x above those peaks. (Six column vectors: a restart used to hold a seventh, see
``algorithm.evaluate``.)

With the NumPy backend the device is the host, so the two parts add up.
"""

from __future__ import annotations

import os

from scotopt.status import InsufficientMemoryError, InvalidOptionError

__all__ = ["available_bytes", "memory_cap", "pdhg_bytes", "npz_bytes", "mps_read_bytes", "check_fits", "format_bytes"]


def memory_cap() -> int | None:
    """The cap set by the environment variable SCOTOPT_MAX_MEMORY (bytes; suffixes K, M, G, T)."""
    text = os.environ.get("SCOTOPT_MAX_MEMORY", "").strip().upper().removesuffix("B")
    if not text:
        return None
    scale = 1
    if text[-1] in "KMGT":
        scale = 1024 ** ("KMGT".index(text[-1]) + 1)
        text = text[:-1]
    try:
        return int(float(text) * scale)
    except ValueError:
        raise InvalidOptionError(
            f"SCOTOPT_MAX_MEMORY={os.environ['SCOTOPT_MAX_MEMORY']!r} is not a size such as 8G or 500M"
        ) from None


def available_bytes() -> int | None:
    """Host memory a solve may use: MemAvailable, capped by SCOTOPT_MAX_MEMORY; None if unknown."""
    free = _meminfo_available()
    cap = memory_cap()
    if cap is not None:
        return cap if free is None else min(cap, free)
    return free


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def device_available_bytes(backend: str) -> int | None:
    """Free memory of the GPU a backend uses, or None (CPU backends, unknown)."""
    try:
        if backend == "cupy":
            import cupy

            return int(cupy.cuda.runtime.memGetInfo()[0])
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform == "cpu":
                return None
            stats = device.memory_stats() or {}
            if "bytes_limit" in stats:
                return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    except Exception:  # noqa: BLE001 - an estimate must never break a solve
        return None
    return None


def pdhg_bytes(m: int, n: int, nnz: int, dtype_size: int, matrix_free: bool = False) -> tuple[int, int]:
    """(host bytes, device bytes) PDHG needs; see the module docstring."""
    if matrix_free:
        return 8 * (n + m) + 48 * min(n, 1 << 16), dtype_size * (6 * n + 14 * m)
    device = 2 * (nnz * (dtype_size + 4) + 4 * (m + n + 2)) + dtype_size * (16 * n + 14 * m)
    host = nnz * 12 + 8 * m + 8 * (3 * n + 2 * m) + 8 * (6 * n + 6 * m)
    return host, device


def npz_bytes(shapes: dict) -> int:
    """Bytes the arrays of an npz file take once read and converted to float64 CSR."""
    total = 0
    for shape, dtype in shapes.values():
        count = 1
        for d in shape:
            count *= int(d)
        total += count * max(8, dtype.itemsize if dtype.kind != "U" else dtype.itemsize)
    return 2 * total  # the arrays as read plus the problem's own float64 copy


def mps_read_bytes(text_bytes: int) -> int:
    """Peak bytes while parsing an MPS file whose text has ``text_bytes`` bytes.

    Measured on Kennington pds-100 (33 MB of text, peak about 0.4 GB over the interpreter):
    the lines as Python strings dominate, about 10 bytes of memory per byte of text.
    """
    return 12 * text_bytes


def format_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1024
    return f"{count:.1f} TiB"


def check_fits(needed: int, what: str, limit: int | None = None, device: str = "host") -> None:
    """Raise InsufficientMemoryError if ``needed`` bytes exceed ``limit`` (default: what is available)."""
    if limit is None:
        limit = available_bytes() if device == "host" else device_available_bytes(device)
    if limit is not None and needed > limit:
        raise InsufficientMemoryError(
            f"{what} needs an estimated {format_bytes(needed)} of {device} memory but only {format_bytes(limit)} "
            "is available; free memory, use dtype='float32', or a machine with more memory",
            needed=needed, available=limit,
        )
