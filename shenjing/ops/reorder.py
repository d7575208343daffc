"""Rearranging along dimensions: flip, roll, movedim, unflatten, narrow, unfold
(sliding windows), chunk, tensor_split, cat and meshgrid.

Ops that are a reshape, transpose, slice or broadcast reuse those ops (and their
backward); flip, roll and unfold are their own ``Function``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._util import normalize_axis
from shenjing.ops.indexing import getitem
from shenjing.ops.shape import broadcast_to, concat, permute, reshape
from shenjing.tensor import Tensor, as_tensor

# ``unfold`` (sliding windows) is only ``Tensor.unfold``, as in PyTorch: there is no
# torch.unfold, and F.unfold is a different op (im2col).
__all__ = [
    "cat", "chunk", "flip", "meshgrid", "movedim", "narrow", "roll", "tensor_split",
    "unflatten",
]


class Flip(Function):
    """y = x reversed along ``axes``;  gx = gy reversed along them again."""

    def forward(self, x: Any, axes: tuple[int, ...]) -> Any:
        self.axes = axes
        # NOTE: a copy, not NumPy's view, as PyTorch's flip gives a new tensor.
        return get_array_module(x).flip(x, axes).copy()

    def backward(self, gy: Any) -> Any:
        return get_array_module(gy).flip(gy, self.axes)


class Roll(Function):
    """y = x shifted cyclically by ``shifts`` along ``axes`` (the flattened x when axes
    is None);  gx = gy shifted back."""

    def forward(self, x: Any, shifts: tuple[int, ...], axes: tuple[int, ...] | None) -> Any:
        self.shifts, self.axes = shifts, axes
        return get_array_module(x).roll(x, shifts if axes is not None else shifts[0], axes)

    def backward(self, gy: Any) -> Any:
        back = tuple(-s for s in self.shifts)
        return get_array_module(gy).roll(gy, back if self.axes is not None else back[0],
                                         self.axes)


class Unfold(Function):
    """y[..., w, ..., k] = x[..., w·step + k, ...]: the windows of ``size`` elements
    every ``step`` along ``axis``, the window index in place of that axis and the
    element index as a new last axis;  gx = zeros with gy added back (windows overlap
    when step < size, so contributions add up)."""

    def forward(self, x: Any, axis: int, size: int, step: int) -> Any:
        xp = get_array_module(x)
        count = (x.shape[axis] - size) // step + 1
        self.x_shape, self.axis = x.shape, axis
        self.positions = xp.arange(count)[:, None] * step + xp.arange(size)[None, :]
        windows = xp.take(x, self.positions, axis=axis)  # (..., count, size, ...)
        return xp.moveaxis(windows, axis + 1, -1)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        gx = xp.zeros(self.x_shape, dtype=gy.dtype)
        gy = xp.moveaxis(gy, -1, self.axis + 1)
        xp.add.at(gx, (slice(None),) * self.axis + (self.positions,), gy)
        return gx


# ----------------------------------------------------------------- the functions


def _dims(op: str, dims: int | Sequence[int], ndim: int) -> tuple[int, ...]:
    """``dims`` as non-negative axes in the order given (a 0-d tensor takes dim 0/-1)."""
    listed = (dims,) if isinstance(dims, int) else tuple(dims)
    normalize_axis(op, listed, max(ndim, 1))  # range and repeats
    return tuple(d % max(ndim, 1) for d in listed)


def flip(input: Tensor, dims: int | Sequence[int]) -> Tensor:
    """x with the order of its elements reversed along ``dims``."""
    x = as_tensor(input)
    axes = _dims("flip", dims, x.ndim)
    return Flip.apply(x, axes=axes if x.ndim else ())


def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None
         ) -> Tensor:
    """x shifted cyclically: element i moves to i + shift along each dim (over the
    flattened tensor, keeping its shape, when ``dims`` is None)."""
    x = as_tensor(input)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: without dims, shifts must be one int. Received: {shifts}")
        return Roll.apply(x, shifts=shifts, axes=None)
    axes = _dims("roll", dims, x.ndim)
    if len(axes) != len(shifts):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    return Roll.apply(x, shifts=shifts, axes=axes) if x.ndim else Roll.apply(
        x, shifts=shifts[:1], axes=None)


def movedim(input: Tensor, source: int | Sequence[int], destination: int | Sequence[int]
            ) -> Tensor:
    """x with the dims in ``source`` moved to the positions in ``destination``, the
    other dims keeping their order."""
    x = as_tensor(input)
    src, dst = _dims("movedim", source, x.ndim), _dims("movedim", destination, x.ndim)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} must "
                         "have the same length")
    rest = iter(d for d in range(x.ndim) if d not in src)
    placed = dict(zip(dst, src, strict=True))
    order = [placed[i] if i in placed else next(rest) for i in range(x.ndim)]
    return permute(x, order)


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """x with dim ``dim`` split into dims of ``sizes`` (one of them may be -1)."""
    x = as_tensor(input)
    axis = normalize_axis("unflatten", dim, x.ndim)[0]
    sizes = tuple(sizes)
    known, n = math.prod(k for k in sizes if k != -1), x.shape[axis]
    fits = (known and n % known == 0) if -1 in sizes else known == n
    if sizes.count(-1) > 1 or not fits:
        raise ValueError(f"unflatten: sizes {sizes} do not multiply to {x.shape[axis]}, the "
                         f"size of dim {dim} of a tensor of shape {x.shape}")
    return reshape(x, x.shape[:axis] + sizes + x.shape[axis + 1:])


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The ``length`` elements of x from ``start`` along ``dim`` (start may be negative)."""
    x = as_tensor(input)
    axis = normalize_axis("narrow", dim, x.ndim)[0]
    size = x.shape[axis]
    if not -size <= start <= size or length < 0 or start % max(size, 1) + length > size:
        raise ValueError(f"narrow: start {start} and length {length} do not fit in size "
                         f"{size} of dim {dim}")
    start = start % size if start < 0 else start
    return getitem(x, (slice(None),) * axis + (slice(start, start + length),))


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: the windows of ``size`` elements taken every ``step`` along
    ``dimension``; that dim becomes the window index, and a last dim of ``size`` holds
    each window."""
    x = as_tensor(input)
    if x.ndim == 0:  # one element: a single window of it, or nothing (PyTorch's shapes)
        normalize_axis("unfold", dimension, 0)
        return unfold(x.reshape(1), 0, size, step).reshape((size,))
    axis = normalize_axis("unfold", dimension, x.ndim)[0]
    if not 0 <= size <= x.shape[axis] or step <= 0:
        raise ValueError(f"unfold: size must be in [0, {x.shape[axis]}] and step positive. "
                         f"Received: size={size}, step={step}")
    return Unfold.apply(x, axis=axis, size=size, step=step)


def _pieces(x: Tensor, axis: int, bounds: list[int]) -> tuple[Tensor, ...]:
    """The slices of x between consecutive ``bounds`` along ``axis``."""
    lead = (slice(None),) * axis
    return tuple(getitem(x, (*lead, slice(a, b))) for a, b in itertools.pairwise(bounds))


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """x cut into at most ``chunks`` pieces of ⌈n / chunks⌉ along ``dim`` (the last may
    be smaller, and fewer pieces may come back, as in PyTorch)."""
    x = as_tensor(input)
    if not isinstance(chunks, int) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int. Received: {chunks!r}")
    axis = normalize_axis("chunk", dim, x.ndim)[0]
    n = x.shape[axis]
    if n == 0:
        return _pieces(x, axis, [0] * (chunks + 1))
    size = -(-n // chunks)
    return _pieces(x, axis, [*range(0, n, size), n])


def tensor_split(input: Tensor, indices_or_sections: int | Sequence[int], dim: int = 0
                 ) -> tuple[Tensor, ...]:
    """x cut along ``dim``: into ``sections`` pieces whose sizes differ by at most one
    (the first n mod sections one larger), or before each of the given indices."""
    x = as_tensor(input)
    axis = normalize_axis("tensor_split", dim, x.ndim)[0]
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0:
            raise ValueError(f"tensor_split: sections must be positive. Received: {k}")
        sizes = [n // k + (i < n % k) for i in range(k)]
        bounds = [sum(sizes[:i]) for i in range(k + 1)]
    else:
        cuts = [min(max(i if i >= 0 else n + i, 0), n) for i in indices_or_sections]
        bounds = [0, *cuts, n]  # a cut before the previous one gives an empty piece
    return _pieces(x, axis, bounds)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """The tensors joined along an existing ``dim``: PyTorch's name for ``concat``."""
    return concat(tensors, dim)


def meshgrid(*tensors: Tensor, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors: output i holds tensor i's values spread over
    the grid. ``indexing="xy"`` swaps the first two grid dims (Cartesian order)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy'. Received: {indexing!r}")
    ts = [as_tensor(t) for t in tensors]
    if not ts or any(t.ndim > 1 for t in ts):
        raise ValueError("meshgrid: expects one or more 0-d or 1-D tensors")
    ts = [t.reshape(1) if t.ndim == 0 else t for t in ts]
    swap = indexing == "xy" and len(ts) > 1
    order = list(range(len(ts)))
    if swap:
        order[0], order[1] = 1, 0
    shape = tuple(ts[i].shape[0] for i in order)
    grids = []
    for i, t in enumerate(ts):
        position = order.index(i)
        view = [1] * len(ts)
        view[position] = t.shape[0]
        grids.append(broadcast_to(reshape(t, tuple(view)), shape))
    return tuple(grids)
