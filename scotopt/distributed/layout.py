"""Block layouts: how a host vector is permuted and padded into equal per-device blocks.

A :class:`BlockLayout` with ``num_shards`` blocks of ``block`` slots maps slot ``s`` (0 <= s <
num_shards * block, block-major: device d owns slots d*block .. (d+1)*block - 1) to the host
entry ``source[s]``, or to padding where ``source[s] = -1``. Padding slots get a fill value
chosen by the caller so that they never move (zero columns with zero cost, rows [0, 0]).
"""

from __future__ import annotations

import numpy as np


class BlockLayout:
    """``source[s]``: the host index held by device slot s, -1 for padding (see the module docstring)."""

    def __init__(self, source, num_shards: int, size: int):
        self.source = np.asarray(source, dtype=np.int64)
        self.num_shards = int(num_shards)
        self.size = int(size)
        if self.source.size % self.num_shards:
            raise ValueError("a layout must have the same number of slots on every shard")
        self.block = self.source.size // self.num_shards
        self._real = self.source >= 0

    @classmethod
    def contiguous(cls, size: int, num_shards: int) -> BlockLayout:
        """Entries in their order, cut into blocks of ceil(size / num_shards), the last padded."""
        block = -(-size // num_shards) if size else 1
        source = np.arange(num_shards * block)
        source[source >= size] = -1
        return cls(source, num_shards, size)

    @property
    def padded_size(self) -> int:
        return self.source.size

    def scatter(self, values, fill: float = 0.0, dtype=np.float64) -> np.ndarray:
        """The padded, permuted host array (length num_shards * block)."""
        out = np.full(self.source.size, fill, dtype=dtype)
        out[self._real] = np.asarray(values)[self.source[self._real]]
        return out

    def gather(self, padded) -> np.ndarray:
        """The host vector (length ``size``, float64) from a padded array."""
        out = np.zeros(self.size)
        out[self.source[self._real]] = np.asarray(padded, dtype=np.float64)[self._real]
        return out
