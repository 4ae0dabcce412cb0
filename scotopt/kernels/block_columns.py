"""A column vector formed block by block where it is read, never whole.

``algorithm.column_reduce`` reduces column expressions in blocks of the NumPy namespace's
``column_block`` entries; a :class:`BlockColumns` operand is computed one such block at a time
(``block(start, stop)``), so a product such as A~^T y that is only reduced (the ray tests, the
final float64 check) costs no column-length vector: at 10^8 arcs that is 400 MB in float32, and
it was the peak of a whole solve's memory (bench/README.md, "Memory of whole solves").
"""

from __future__ import annotations


class BlockColumns:
    """A length-``n`` column vector whose slice ``[start:stop]`` is ``block(start, stop)``, a fresh
    array each time (slicing is the only access; :func:`whole` forms all of it)."""

    ndim = 1

    def __init__(self, n: int, block, dtype):
        self.shape = (int(n),)
        self.dtype = dtype
        self._block = block

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, part):
        if not isinstance(part, slice) or part.step not in (None, 1):
            raise TypeError("BlockColumns supports contiguous slices only")
        start, stop, _ = part.indices(self.shape[0])
        return self._block(start, max(start, stop))


def whole(v):
    """``v`` as an array: a :class:`BlockColumns` formed whole, anything else unchanged."""
    return v[0:v.shape[0]] if isinstance(v, BlockColumns) else v
