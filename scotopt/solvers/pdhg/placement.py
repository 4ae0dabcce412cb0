"""Where the PDHG vectors live: the single-device placement (the default).

A placement tells the driver how a host vector of the LP becomes a device array and back:

- ``columns(v, dtype, fill)`` / ``rows(v, dtype, fill)``: a host column (length n) or row (length m)
  vector, or a 0-d constant, on the device(s); ``fill`` is the value of padding entries, if the
  placement pads;
- ``columns_to_host(a)`` / ``rows_to_host(a)``: back to a host float64 vector in the LP's order;
- ``operator(A, dtype)``: the scaled matrix as a device operator;
- ``device``: a description for the Result; ``describe()``: extra Result fields.

The sharded placement of :mod:`scotopt.distributed.placement` permutes, pads and shards the same
vectors over a mesh of devices; the algorithm (``algorithm.py``) does not know the difference.
"""

from __future__ import annotations

import numpy as np

from scotopt.problem import is_constant_view
from scotopt.segments import SegmentVector


class SingleDevice:
    """Every vector whole, in the LP's order, on the backend's one device."""

    def __init__(self, backend):
        self.backend = backend
        self.device = backend.device

    def operator(self, A, dtype):
        return self.backend.operator(A, dtype)

    def columns(self, v, dtype, fill=0.0):
        if isinstance(v, SegmentVector) and self.backend.name == "numpy":
            # NumPy computes with the segments as they are (a model's repeated cost and bounds
            # stay compact in the iteration too); a device backend gets the whole vector
            return v.astype(dtype)
        return self.backend.asarray(_materialised(v, dtype), dtype)

    def rows(self, v, dtype, fill=0.0):
        return self.backend.asarray(_materialised(v, dtype), dtype)

    def columns_to_host(self, a, keep_dtype=False):
        """``a`` on the host in float64; with ``keep_dtype`` a NumPy array is returned as it is
        (the float64 check reads a float32 iterate block by block)."""
        if keep_dtype and self.backend.name == "numpy":
            return a
        return self.backend.to_host(a)

    def rows_to_host(self, a):
        return self.backend.to_host(a)

    def describe(self) -> dict:
        return {}


def _materialised(v, dtype):
    """A constant vector (a stride-0 view, :func:`scotopt.problem.constant_vector`) or a
    :class:`~scotopt.segments.SegmentVector` as an ordinary array of ``dtype``, made directly in
    that dtype; anything else unchanged."""
    if isinstance(v, SegmentVector):
        return np.asarray(v, dtype=dtype)
    if is_constant_view(v):
        return np.full(v.shape[0], v[0], dtype=dtype)
    return v
