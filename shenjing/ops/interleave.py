"""``repeat_interleave``: each element repeated in place along a dim, as PyTorch's."""

from __future__ import annotations

from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module, on_host
from shenjing.ops._util import normalize_axis
from shenjing.tensor import Tensor, as_tensor

__all__ = ["repeat_interleave"]


class RepeatInterleave(Function):
    """y = x with slice i along ``axis`` repeated ``repeats[i]`` times, in order;
    gx[i] = Σ of gy over the repeats[i] slices made from slice i (0 when it made none)."""

    def forward(self, x: Any, repeats: Any, axis: int) -> Any:
        self.repeats, self.axis, self.x_shape = repeats, axis, x.shape
        return get_array_module(x).repeat(x, repeats, axis=axis)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        gx = xp.zeros(self.x_shape, dtype=gy.dtype)
        made = self.repeats > 0
        if gy.shape[self.axis] == 0:
            return gx
        starts = xp.cumsum(self.repeats) - self.repeats
        # NOTE: reduceat sums each run [starts[k], starts[k+1]); a slice repeated 0 times
        # has an empty run, which reduceat would fill wrongly, so only the runs made count.
        sums = xp.add.reduceat(gy, starts[made], axis=self.axis)
        where = [slice(None)] * gy.ndim
        where[self.axis] = xp.nonzero(made)[0]
        gx[tuple(where)] = sums
        return gx


def repeat_interleave(
    input: Tensor,
    repeats: int | Tensor | None = None,
    dim: int | None = None,
    *,
    output_size: int | None = None,
) -> Tensor:
    """``input`` with each element (each slice along ``dim``) repeated ``repeats`` times
    in place: [a, b] → [a, a, b, b]. ``repeats`` is an int or a tensor of one count per
    slice (or a single count); with ``dim`` None the input is flattened first. Called with
    only a tensor of counts, it returns the indices 0, 1, ... each repeated that often.

    Example:
        >>> import shenjing as sj
        >>> sj.repeat_interleave(sj.tensor([1, 2]), 2).tolist()
        [1, 1, 2, 2]
    """
    if repeats is None:  # repeat_interleave(counts): the indices, repeated
        counts = as_tensor(input)
        xp = get_array_module(counts.array)
        return repeat_interleave(Tensor._make(xp.arange(counts.shape[0] if counts.ndim else 1),
                                              None), counts, 0, output_size=output_size)
    x = as_tensor(input)
    if dim is None:
        x, axis = x.reshape(-1), 0
    else:
        axis = normalize_axis("repeat_interleave", dim, max(x.ndim, 1))[0]
        if x.ndim == 0:
            x = x.reshape(1)
    xp = get_array_module(x.array)
    size = x.shape[axis]
    if isinstance(repeats, Tensor):
        if repeats.dtype.kind not in "iu":
            raise TypeError(f"repeat_interleave: repeats must hold integers. Received: "
                            f"dtype={repeats.dtype}")
        counts = repeats.array.reshape(-1).astype(xp.int64)
    elif isinstance(repeats, int) and not isinstance(repeats, bool):
        counts = xp.asarray([repeats], dtype=xp.int64)
    else:
        raise TypeError(f"repeat_interleave: repeats must be an int or a tensor. Received: "
                        f"{type(repeats).__name__}")
    if counts.shape[0] == 1:
        counts = xp.full(size, counts[0], dtype=xp.int64)
    if counts.shape[0] != size:
        raise ValueError(f"repeat_interleave: repeats must have one count per slice ({size} "
                         f"along dim {dim}). Received: {counts.shape[0]} counts")
    if on_host(counts) and bool((counts < 0).any()):
        raise ValueError("repeat_interleave: repeats must not be negative")
    if output_size is not None and on_host(counts) and int(counts.sum()) != output_size:
        raise ValueError(f"repeat_interleave: output_size={output_size} differs from the "
                         f"sum of repeats, {int(counts.sum())}")
    return RepeatInterleave.apply(x, repeats=counts, axis=axis)
