"""Vectors stored as broadcast segments: a model's cost and bounds without per-variable copies.

A structured model's LP vectors repeat: in the inventory scenario LP the holding cost of
inventory ``I[s, t, n, p]`` is ``pi_s h[t, n, p]``, the same (T, N, P) tensor for every scenario
when the scenarios are equally likely, and its upper bound is +inf everywhere. Written out as a
flat float64 vector, such data cost 8 bytes per variable each, more than the float32 iterate.

:class:`SegmentVector` is a read-only 1-D vector made of consecutive segments; segment k holds
``prod(shape_k)`` values, the C-order flattening of ``np.broadcast_to(compact_k, shape_k)``.
``compact_k`` stores only what varies (a (1, T, N, P) array for the example above, one number for
a constant bound). NumPy sees it as an array:

- ufuncs (``+``, ``*``, ``np.isfinite``, ``np.minimum``, ``np.clip``'s ufunc, comparisons, with
  ``out=``) work segment by segment: with only segment vectors and scalars the result is a
  segment vector computed on the compact arrays; with a full (n,) array the result is a full
  array, each segment broadcast against its part of it, never materialised;
- reductions (``sum``, ``min``, ``max``, ``any``, ``all``), a slice ``v[a:b]`` (which the column
  blocks of the KKT check use) and ``v @ w`` touch at most a block of values at a time;
- anything else (``np.where``, fancy indexing, ``np.asarray(v)``) materialises the vector, which is
  always correct and costs what a plain vector would.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

__all__ = ["SegmentVector", "vector_norm", "is_segment_vector"]

# v @ w and the fallbacks of reductions work in blocks of this many values.
_BLOCK = 1 << 16


def is_segment_vector(v) -> bool:
    return isinstance(v, SegmentVector)


def _compact(array, shape) -> np.ndarray:
    """``array`` with one axis per axis of ``shape`` (leading 1s added); raises if it does not
    broadcast to ``shape``."""
    a = np.asarray(array)
    try:
        fits = a.ndim <= len(shape) and np.broadcast_shapes(a.shape, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"an array of shape {a.shape} does not broadcast to {tuple(shape)}")
    return a.reshape((1,) * (len(shape) - a.ndim) + a.shape)


def _flat_range(view: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Entries lo:hi of the C-order flattening of ``view`` (a broadcast view), copying only them."""
    if view.ndim <= 1:
        return np.array(view.reshape(-1)[lo:hi])
    row = math.prod(view.shape[1:])
    first, last = lo // row, (hi - 1) // row
    if first == last:
        return _flat_range(view[first], lo - first * row, hi - first * row)
    parts = [_flat_range(view[first], lo - first * row, row)]
    if last > first + 1:
        parts.append(np.ascontiguousarray(view[first + 1:last]).reshape(-1))
    parts.append(_flat_range(view[last], 0, hi - last * row))
    return np.concatenate(parts)


class SegmentVector(NDArrayOperatorsMixin):
    """A read-only float vector of consecutive broadcast segments (see the module docstring).

    Parameters
    ----------
    segments : iterable
        Each item is a NumPy array (a segment of its own shape, stored as given: a stride-0 view
        made by ``np.broadcast_to`` is recognised and kept compact) or a pair
        ``(compact, shape)``: the segment ``np.broadcast_to(compact, shape)``.
    """

    __array_priority__ = 100  # a binary operator with an ndarray comes here, not to ndarray's

    def __init__(self, segments):
        compacts, shapes = [], []
        for item in segments:
            if isinstance(item, tuple) and len(item) == 2 and not isinstance(item[0], int):
                compact, shape = item
                shape = tuple(int(s) for s in np.atleast_1d(shape)) if np.ndim(shape) else (int(shape),)
            else:
                compact = np.asarray(item)
                shape = compact.shape if compact.ndim else (1,)
                compact = _squeeze_broadcast(compact)
            if math.prod(shape) == 0:
                continue
            compacts.append(_compact(compact, shape))
            shapes.append(shape)
        self.compacts = compacts
        self.shapes = shapes
        sizes = [math.prod(s) for s in shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        self.dtype = np.result_type(*compacts) if compacts else np.dtype(np.float64)

    # ------------------------------------------------------------------ array-like basics
    ndim = 1

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    @property
    def shape(self) -> tuple[int]:
        return (self.size,)

    @property
    def nbytes(self) -> int:
        """Bytes actually stored (the compact arrays)."""
        return sum(c.nbytes for c in self.compacts)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return (f"SegmentVector(size={self.size}, dtype={self.dtype}, segments={self.shapes}, "
                f"stored={self.nbytes} bytes)")

    def views(self):
        """(start, stop, broadcast view) of each segment."""
        for k, (c, s) in enumerate(zip(self.compacts, self.shapes, strict=True)):
            yield int(self.offsets[k]), int(self.offsets[k + 1]), np.broadcast_to(c, s)

    def same_layout(self, other) -> bool:
        return isinstance(other, SegmentVector) and self.shapes == other.shapes

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("a SegmentVector is stored compactly: it cannot be an array without a copy")
        if not self.compacts:
            return np.empty(0, dtype=dtype or self.dtype)
        out = np.empty(self.size, dtype=dtype or self.dtype)
        for start, stop, view in self.views():
            out[start:stop].reshape(view.shape)[...] = view
        return out

    def astype(self, dtype, copy=True) -> SegmentVector:
        """The vector in ``dtype``; itself where it already is (read-only: nothing to protect)."""
        if np.dtype(dtype) == self.dtype:
            return self
        return SegmentVector([(c.astype(dtype), s) for c, s in zip(self.compacts, self.shapes, strict=True)])

    def copy(self) -> SegmentVector:
        return self  # read-only: sharing is a copy

    def reshape(self, *shape):
        if shape in (((-1,),), (-1,), ((self.size,),), (self.size,)):
            return self
        return np.asarray(self).reshape(*shape)

    def ravel(self):
        return self

    def __iter__(self):
        return iter(np.asarray(self))

    def tolist(self):
        return np.asarray(self).tolist()

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            i = int(key) + (self.size if key < 0 else 0)
            if not 0 <= i < self.size:
                raise IndexError(f"index {key} out of range for a vector of {self.size}")
            k = int(np.searchsorted(self.offsets, i, side="right") - 1)
            idx = np.unravel_index(i - int(self.offsets[k]), self.shapes[k])
            return np.broadcast_to(self.compacts[k], self.shapes[k])[idx]
        if isinstance(key, slice) and key.step in (None, 1):
            lo, hi, _ = key.indices(self.size)
            return self._range(lo, max(lo, hi))
        return np.asarray(self)[key]

    def _range(self, lo: int, hi: int) -> np.ndarray:
        parts = []
        for start, stop, view in self.views():
            a, b = max(lo, start), min(hi, stop)
            if a < b:
                parts.append(_flat_range(view, a - start, b - start))
        if not parts:
            return np.empty(0, dtype=self.dtype)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def blocks(self, block: int = _BLOCK):
        for lo in range(0, self.size, block):
            yield slice(lo, min(lo + block, self.size)), self._range(lo, min(lo + block, self.size))

    # ------------------------------------------------------------------ reductions
    def _repeats(self, k) -> int:
        return math.prod(self.shapes[k]) // self.compacts[k].size

    def sum(self, axis=None, dtype=None, out=None, **kwargs):
        if axis not in (None, 0) or out is not None:
            return np.asarray(self).sum(axis=axis, dtype=dtype, out=out, **kwargs)
        return sum((c.sum(dtype=dtype) * self._repeats(k) for k, c in enumerate(self.compacts)),
                   start=np.zeros((), dtype=dtype or np.result_type(self.dtype, np.int64))[()])

    def _extreme(self, fn, name, kwargs):
        if kwargs.get("axis") not in (None, 0) or kwargs.get("out") is not None:
            return getattr(np.asarray(self), name)(**kwargs)
        if not self.compacts:
            if "initial" in kwargs:
                return kwargs["initial"]
            raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
        values = [fn(c) for c in self.compacts]
        if "initial" in kwargs:
            values.append(kwargs["initial"])
        return fn(np.asarray(values))

    def max(self, **kwargs):
        return self._extreme(np.max, "max", kwargs)

    def min(self, **kwargs):
        return self._extreme(np.min, "min", kwargs)

    def any(self, **kwargs):
        if kwargs.get("axis") not in (None, 0) or kwargs.get("out") is not None:
            return np.asarray(self).any(**kwargs)
        return np.bool_(any(bool(c.any()) for c in self.compacts))

    def all(self, **kwargs):
        if kwargs.get("axis") not in (None, 0) or kwargs.get("out") is not None:
            return np.asarray(self).all(**kwargs)
        return np.bool_(all(bool(c.all()) for c in self.compacts))

    def dot(self, other):
        other = np.asarray(other)
        if other.shape != self.shape:
            return np.dot(np.asarray(self), other)
        total = 0.0
        for part, values in self.blocks():
            total = total + values @ other[part]
        return total

    def __matmul__(self, other):
        return self.dot(other)

    def __rmatmul__(self, other):
        return self.dot(other)

    # ------------------------------------------------------------------ ufuncs
    def _operand(self, x):
        """('seg', v), ('full', array), ('scalar', value) or None (not handled here)."""
        if isinstance(x, SegmentVector):
            return ("seg", x) if self.same_layout(x) else None
        if isinstance(x, np.ndarray):
            if x.ndim == 0:
                return ("scalar", x)
            if x.shape == self.shape:
                if x.ndim == 1 and x.shape[0] > 1 and x.strides == (0,):  # a constant view: one number
                    return ("scalar", x[0:1].reshape(()))
                return ("full", x)
            return None
        if isinstance(x, (int, float, bool, complex, np.generic)):
            return ("scalar", x)
        return None

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        operands = [self._operand(x) for x in inputs]
        outs = out if out is not None else ()
        simple = (method == "__call__" and ufunc.nout == 1 and all(o is not None for o in operands)
                  and all(isinstance(o, np.ndarray) and o.shape == self.shape for o in outs)
                  and "where" not in kwargs)
        if not simple:
            return _fallback(ufunc, method, inputs, out, kwargs)
        has_full = any(kind == "full" for kind, _ in operands)
        if not has_full and not outs:
            # only segment vectors and scalars: compute on the compact arrays
            result = []
            for k, shape in enumerate(self.shapes):
                args = [v.compacts[k] if kind == "seg" else v for kind, v in operands]
                result.append((ufunc(*args, **kwargs), shape))
            return SegmentVector(result)
        if outs:
            target = outs[0]
        else:
            probe = [v.compacts[0].reshape(-1)[:1] if kind == "seg" else (v[:1] if kind == "full" else v)
                     for kind, v in operands]
            target = np.empty(self.size, dtype=ufunc(*probe, **kwargs).dtype) if self.compacts else \
                np.empty(0, dtype=np.result_type(*[np.asarray(v) for _, v in operands]))
        for k, shape in enumerate(self.shapes):
            a, b = int(self.offsets[k]), int(self.offsets[k + 1])
            args = [v.compacts[k] if kind == "seg" else (v[a:b].reshape(shape) if kind == "full" else v)
                    for kind, v in operands]
            ufunc(*args, out=target[a:b].reshape(shape), **kwargs)
        return target


def _squeeze_broadcast(a: np.ndarray) -> np.ndarray:
    """The stored part of a (possibly broadcast) array: axes of stride 0 cut to length 1."""
    if a.ndim == 0 or 0 not in a.strides:
        return a
    index = tuple(slice(0, 1) if st == 0 and n > 1 else slice(None) for st, n in zip(a.strides, a.shape, strict=True))
    return a[index]


def _fallback(ufunc, method, inputs, out, kwargs):
    """The ufunc on materialised operands (a layout this module does not handle segment-wise)."""
    args = [np.asarray(x) if isinstance(x, SegmentVector) else x for x in inputs]
    if out is not None:
        if any(isinstance(o, SegmentVector) for o in out):
            raise TypeError("a SegmentVector is read-only: it cannot be a ufunc's out")
        kwargs = dict(kwargs, out=out)
    return getattr(ufunc, method)(*args, **kwargs)


def vector_norm(v) -> float:
    """||v||_2 of a NumPy or segment vector (the latter from its compact arrays)."""
    if isinstance(v, SegmentVector):
        return float(math.sqrt(sum(float(np.sum(np.square(c, dtype=np.float64))) * v._repeats(k)
                                   for k, c in enumerate(v.compacts))))
    return float(np.linalg.norm(v))
