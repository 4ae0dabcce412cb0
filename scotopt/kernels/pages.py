"""Memory that goes back to the system: blocks with maps of their own, and the heap's free pages.

glibc serves a large allocation from a memory map of its own only while it is above the mmap
threshold, and that threshold grows to the size of each such block freed (up to 32 MB). After a
model's construction has freed a few arc-length temporaries, later arc-length vectors come from
the heap, and once freed their pages stay resident until the heap happens to shrink: the peak RSS
of a solve counts them beside what replaced them (``bench/README.md``, network flows, sessions 24
and 26). Two remedies:

- :func:`block` for a short-lived allocation of unpredictable size (a screen's short vectors):
  pages of its own, returned as soon as the last view of it goes;
- :func:`return_free_pages` after a phase that freed many arc-length vectors (a generator, the
  solver's setup, the solver's vectors before the float64 answer).

Vectors reused across iterations stay on the heap: mapped afresh after each screen, a 10^6-arc
solve's two column outputs cost 10-20 % of its time in page faults (session 26).
"""

from __future__ import annotations

import functools
import mmap

import numpy as np

MAPPED_BYTES = 1 << 20  # from this size an allocation gets pages of its own


def block(size: int) -> np.ndarray:
    """``size`` bytes (uint8), from an anonymous memory map of their own where ``size`` >=
    :data:`MAPPED_BYTES`, else from NumPy's allocator."""
    if size < MAPPED_BYTES:
        return np.empty(size, dtype=np.uint8)
    return np.frombuffer(mmap.mmap(-1, size), dtype=np.uint8)


def return_free_pages() -> None:
    """Give the heap's free pages back to the system (glibc's ``malloc_trim(0)``; nothing where
    the C library has no such call). For the moments after a phase freed arc-length vectors from
    the heap, before the next phase allocates others of other sizes: their pages would otherwise
    stay resident beside the new ones. It frees nothing that is in use and costs about a
    millisecond per hundred MB of free heap."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    """The C library's ``malloc_trim``, or None."""
    try:
        import ctypes

        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
