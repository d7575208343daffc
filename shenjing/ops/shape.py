"""Shape ops: the same elements rearranged, selected, repeated, joined or padded.

None of these does arithmetic, so each backward moves the gradient back to where its
element came from: a reshape undoes the reshape, a slice writes into zeros, a broadcast
sums. ``flatten``, ``squeeze`` and ``unsqueeze`` are reshapes; ``split`` is slicing
(``GetItem``, in indexing.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._util import normalize_axis, resolve_dim, unbroadcast
from shenjing.ops.indexing import GetItem
from shenjing.tensor import Tensor, as_tensor

__all__ = [
    "broadcast_to", "concat", "expand", "flatten", "pad", "permute", "repeat", "reshape",
    "split", "squeeze", "stack", "transpose", "unsqueeze",
]

Shape = Sequence[int]


class Reshape(Function):
    """y = x with shape ``shape`` (same elements, row-major order);  gx = gy reshaped back."""

    def forward(self, x: Any, shape: tuple[int, ...]) -> Any:
        self.x_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise _reshape_error(x.shape, shape) from None

    def backward(self, gy: Any) -> Any:
        return gy.reshape(self.x_shape)


def _reshape_error(x_shape: tuple[int, ...], shape: tuple[int, ...]) -> ValueError:
    if sum(n == -1 for n in shape) > 1:
        return ValueError(f"reshape: only one dimension can be -1. Received: shape={shape}")
    return ValueError(
        f"reshape: cannot reshape a tensor of shape {x_shape} ({math.prod(x_shape)} "
        f"elements) into shape {shape}"
    )


class Transpose(Function):
    """y = x with its axes permuted: y.shape[i] = x.shape[axes[i]];  gx = gy with the
    inverse permutation (axes=None reverses them, and is its own inverse)."""

    def forward(self, x: Any, axes: tuple[int, ...] | None) -> Any:
        self.axes = axes
        try:
            return x.transpose(axes)
        except ValueError:
            raise ValueError(
                f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of a "
                f"tensor of shape {x.shape}"
            ) from None

    def backward(self, gy: Any) -> Any:
        axes = self.axes
        if axes is None:
            return gy.transpose()
        ndim = gy.ndim
        inverse = sorted(range(ndim), key=lambda i: axes[i] % ndim)
        return gy.transpose(inverse)


class BroadcastTo(Function):
    """y = x repeated along new leading axes and stretched size-1 axes to ``shape``;
    gx = gy summed over those axes."""

    def forward(self, x: Any, shape: tuple[int, ...]) -> Any:
        self.x_shape = x.shape
        try:
            # NOTE: a read-only view; nothing is copied.
            return get_array_module(x).broadcast_to(x, shape)
        except ValueError:
            raise ValueError(
                f"broadcast_to: cannot broadcast a tensor of shape {x.shape} to shape {shape}"
            ) from None

    def backward(self, gy: Any) -> Any:
        return unbroadcast(gy, self.x_shape)


class Tile(Function):
    """y = x repeated ``reps[i]`` times along axis i (PyTorch's ``repeat``, NumPy's
    ``tile``);  gx = Σ of gy over the copies: gy viewed as (r₀, n₀, r₁, n₁, ...) and
    summed over every r."""

    def forward(self, x: Any, reps: tuple[int, ...]) -> Any:
        self.x_shape, self.reps = x.shape, reps
        return get_array_module(x).tile(x, reps)

    def backward(self, gy: Any) -> Any:
        split_shape = [n for pair in zip(self.reps, self.x_shape, strict=True) for n in pair]
        copies = tuple(range(0, len(split_shape), 2))
        return gy.reshape(split_shape).sum(axis=copies)


class Concat(Function):
    """y = [x₁, x₂, ...] joined along ``axis``;  gxᵢ = the slice of gy that xᵢ filled."""

    def forward(self, *xs: Any, axis: int) -> Any:
        self.axis = axis
        self.sizes = [x.shape[axis] for x in xs]
        try:
            return get_array_module(xs[0]).concatenate(xs, axis=axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(
                f"concat: shapes {shapes} must match on every axis but axis {axis}"
            ) from None

    def backward(self, gy: Any) -> tuple[Any, ...]:
        lead = (slice(None),) * self.axis
        grads = []
        start = 0
        for size in self.sizes:  # views into gy; no copies
            grads.append(gy[(*lead, slice(start, start + size))])
            start += size
        return tuple(grads)


class Stack(Function):
    """y = [x₁, x₂, ...] stacked along a new axis ``axis``;  gxᵢ = gy taken at index i
    along that axis."""

    def forward(self, *xs: Any, axis: int) -> Any:
        self.lead = (slice(None),) * axis
        new_axis = (*self.lead, None)
        try:
            # NOTE: what xp.stack does, without its Python-level checks.
            return get_array_module(xs[0]).concatenate([x[new_axis] for x in xs], axis=axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(
                f"stack: every tensor must have the same shape. Received: {shapes}"
            ) from None

    def backward(self, gy: Any) -> tuple[Any, ...]:
        lead = self.lead
        return tuple(gy[(*lead, i)] for i in range(gy.shape[len(lead)]))  # views; no copies


class Pad(Function):
    """y = x surrounded by ``value``: pad_width[i] = (before, after) elements on axis i;
    gx = the interior of gy, where x was placed."""

    def forward(self, x: Any, pad_width: tuple[tuple[int, int], ...], value: float) -> Any:
        pairs = list(zip(x.shape, pad_width, strict=True))
        self.interior = tuple(slice(before, before + n) for n, (before, _) in pairs)
        y = get_array_module(x).empty(
            [n + before + after for n, (before, after) in pairs], dtype=x.dtype
        )
        y.fill(value)
        y[self.interior] = x
        return y

    def backward(self, gy: Any) -> Any:
        return gy[self.interior]


# ----------------------------------------------------------------- the functions


def reshape(x: Tensor, shape: int | Shape) -> Tensor:
    """The same elements, in row-major order, in shape ``shape``; one entry may be -1
    (inferred from the others).

    Example:
        >>> import shenjing as sj
        >>> sj.reshape(sj.zeros(2, 3), (3, -1)).shape
        (3, 2)
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Reshape.apply(x, shape=shape)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """``x`` with dimensions ``dim0`` and ``dim1`` swapped, as PyTorch's ``transpose``.

    Example:
        >>> import shenjing as sj
        >>> sj.transpose(sj.zeros(2, 3, 4), 0, 2).shape
        (4, 3, 2)
    """
    ndim = x.ndim
    if not ndim:  # PyTorch accepts dims 0 and -1 on a 0-d tensor
        normalize_axis("transpose", dim0, 0)
        normalize_axis("transpose", dim1, 0)
        return Reshape.apply(x, shape=())
    order = list(range(ndim))
    a = normalize_axis("transpose", dim0, ndim)[0]
    b = normalize_axis("transpose", dim1, ndim)[0]
    order[a], order[b] = order[b], order[a]
    return Transpose.apply(x, axes=tuple(order))


def permute(x: Tensor, dims: Sequence[int]) -> Tensor:
    """The dimensions of ``x`` in the order ``dims``: output dim i is input dim
    ``dims[i]``, as PyTorch's ``permute``.

    Example:
        >>> import shenjing as sj
        >>> sj.permute(sj.zeros(2, 3, 4), (2, 0, 1)).shape
        (4, 2, 3)
    """
    dims = tuple(dims)
    normalized = [normalize_axis("permute", d, x.ndim) for d in dims]
    if len(dims) != x.ndim or len({d for d, in normalized}) != x.ndim:
        raise ValueError(f"permute: dims {dims} are not a permutation of the {x.ndim} dims "
                         f"of a tensor of shape {x.shape}")
    return Transpose.apply(x, axes=tuple(d for d, in normalized))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dims ``start_dim`` to ``end_dim`` (inclusive) merged into one.

    Example:
        >>> import shenjing as sj
        >>> sj.flatten(sj.zeros(2, 3, 4), start_dim=1).shape
        (2, 12)
    """
    if x.ndim == 0:
        normalize_axis("flatten", (start_dim, end_dim) if start_dim != end_dim else start_dim, 0)
        return Reshape.apply(x, shape=(1,))
    start = normalize_axis("flatten", start_dim, x.ndim)[0]
    end = normalize_axis("flatten", end_dim, x.ndim)[0]
    if start > end:
        raise ValueError(
            f"flatten: start_dim must not come after end_dim. Received: "
            f"start_dim={start_dim}, end_dim={end_dim} for a tensor of rank {x.ndim}"
        )
    shape = x._sizes
    merged = math.prod(shape[start : end + 1])
    return Reshape.apply(x, shape=(*shape[:start], merged, *shape[end + 1 :]))


def squeeze(x: Tensor, dim: int | Sequence[int] | None = None, *, axis: Any = None) -> Tensor:
    """``x`` without its size-1 dims (only those in ``dim`` when given). As in PyTorch, a
    listed dim whose size is not 1 is left in place."""
    if axis is not None:
        dim, _ = resolve_dim("squeeze", dim, False, axis)
    shape = x._sizes
    if dim is None:
        kept = [n for n in shape if n != 1]
    else:
        axes = normalize_axis("squeeze", dim, x.ndim)
        kept = [n for i, n in enumerate(shape) if n != 1 or i not in axes]
    return Reshape.apply(x, shape=tuple(kept))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """``x`` with a new size-1 dim at position ``dim`` of the result (-1 appends it)."""
    position = normalize_axis("unsqueeze", dim, x.ndim + 1)[0]
    shape = x._sizes
    return Reshape.apply(x, shape=(*shape[:position], 1, *shape[position:]))


def expand(x: Tensor, *sizes: Any) -> Tensor:
    """``x`` broadcast to ``sizes`` (ints or one tuple), as PyTorch's ``expand``: -1 keeps
    that dim's size; new dims go in front.

    Example:
        >>> import shenjing as sj
        >>> sj.expand(sj.zeros(3, 1), -1, 4).shape
        (3, 4)
    """
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                         f"number of dims. Received: sizes={sizes}, shape={x.shape}")
    shape = []
    for i, n in enumerate(sizes):
        if n == -1:
            if i < lead:
                raise ValueError(f"expand: -1 is not allowed for a new leading dim. "
                                 f"Received: sizes={sizes}")
            n = x.shape[i - lead]
        shape.append(n)
    return BroadcastTo.apply(x, shape=tuple(shape))


def repeat(x: Tensor, *sizes: Any) -> Tensor:
    """``x`` copied ``sizes[i]`` times along dim i, as PyTorch's ``repeat`` (NumPy's
    ``tile``); extra sizes add leading dims.

    Example:
        >>> import shenjing as sj
        >>> sj.repeat(sj.tensor([1.0, 2.0]), 2, 2).tolist()
        [[1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0]]
    """
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if len(sizes) < x.ndim or any(not isinstance(n, int) or n < 0 for n in sizes):
        raise ValueError(f"repeat: needs one non-negative count per dim (at least "
                         f"{x.ndim}). Received: sizes={sizes}")
    reps = tuple(sizes)
    data = x  # leading new dims: make them size 1 first, so reps and shape line up
    if len(reps) > x.ndim:
        data = Reshape.apply(x, shape=(1,) * (len(reps) - x.ndim) + x.shape)
    return Tile.apply(data, reps=reps)


def broadcast_to(x: Tensor, shape: Shape) -> Tensor:
    """``x`` repeated, as NumPy broadcasts, to ``shape``: new axes are added in front and
    size-1 axes stretched."""
    return BroadcastTo.apply(x, shape=tuple(shape))


def _tensors(op: str, tensors: Sequence[Any]) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not len(tensors):
        raise ValueError(f"{op}: expects a non-empty list of tensors. Received: {tensors!r:.80}")
    return [as_tensor(t) for t in tensors]


def concat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """The tensors joined end to end along an existing ``dim`` (``axis`` is an alias).

    Example:
        >>> import shenjing as sj
        >>> sj.concat([sj.zeros(2, 3), sj.ones(2, 1)], axis=1).shape
        (2, 4)
    """
    if axis is not None:  # NumPy's spelling
        dim = axis
    tensors = _tensors("concat", tensors)
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("concat: 0-d tensors cannot be joined; use stack")
    for t in tensors:
        if t.ndim != ndim:
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise ValueError(f"concat: every tensor must have the same rank. Received: {shapes}")
    position = normalize_axis("concat", dim, ndim)[0]
    return Concat.apply(*tensors, axis=position)


def stack(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Tensors of one shape stacked along a new ``axis`` of the result.

    Example:
        >>> import shenjing as sj
        >>> sj.stack([sj.zeros(2, 3), sj.ones(2, 3)], axis=1).shape
        (2, 2, 3)
    """
    tensors = _tensors("stack", tensors)
    axis = axis if dim is None else dim  # PyTorch's name
    position = normalize_axis("stack", axis, tensors[0].ndim + 1)[0]
    return Stack.apply(*tensors, axis=position)


def split(
    x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0, *,
    axis: int | None = None,
) -> tuple[Tensor, ...]:
    """``x`` cut along ``dim`` into a tuple of pieces, as PyTorch's ``split``: an int is
    the size of every piece (the last may be smaller), a list gives each piece's size.

    Example:
        >>> import shenjing as sj
        >>> [t.shape for t in sj.split(sj.zeros(5, 2), 2)]
        [(2, 2), (2, 2), (1, 2)]
    """
    if axis is not None:  # NumPy's spelling
        dim = axis
    if not x.ndim:
        raise ValueError("split: a 0-d tensor cannot be split. Received: shape=()")
    position = normalize_axis("split", dim, x.ndim)[0]
    length = x.shape[position]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            raise ValueError(f"split: the piece size must be positive. Received: {size}")
        sizes = [min(size, length - start) for start in range(0, length, size)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length or any(n < 0 for n in sizes):
            raise ValueError(
                f"split: sizes {sizes} must be non-negative and add up to {length}, the size "
                f"of dim {dim} of a tensor of shape {x.shape}"
            )
    lead = (slice(None),) * position
    pieces = []
    start = 0
    for n in sizes:
        pieces.append(GetItem.apply(x, index=(*lead, slice(start, start + n)), accumulate=False))
        start += n
    return tuple(pieces)


def pad(x: Tensor, pad_width: int | Sequence[Any], value: float = 0.0) -> Tensor:
    """``x`` surrounded by ``value`` as NumPy's ``pad(mode="constant")``: ``pad_width`` is
    an int (that many on both sides of every axis), one (before, after) pair for every
    axis, or a sequence of such pairs, one per axis.

    Example:
        >>> import shenjing as sj
        >>> sj.pad(sj.ones(2, 3), ((0, 0), (1, 2))).shape
        (2, 6)
    """
    widths = _pad_widths(pad_width, x.shape)
    return Pad.apply(x, pad_width=widths, value=value)


def _pad_widths(pad_width: Any, shape: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    ndim = len(shape)
    if isinstance(pad_width, int):
        pairs = [(pad_width, pad_width)] * ndim
    else:
        pairs = list(pad_width)
        if len(pairs) == 2 and all(isinstance(n, int) for n in pairs):
            pairs = [tuple(pairs)] * ndim  # one (before, after) for every axis
        elif len(pairs) == 1:
            pairs = pairs * ndim
    valid = len(pairs) == ndim and all(
        isinstance(pair, (tuple, list))
        and len(pair) == 2
        and all(isinstance(n, int) and n >= 0 for n in pair)
        for pair in pairs
    )
    if not valid:
        raise ValueError(
            f"pad: pad_width must be a non-negative int or (before, after) pairs, one per "
            f"axis. Received: pad_width={pad_width} for a tensor of shape {shape}"
        )
    return tuple((before, after) for before, after in pairs)
