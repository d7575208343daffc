"""Indexing, ``x[index]``, with PyTorch's meaning: ints, slices, None, Ellipsis, integer
tensors or lists and boolean masks.

The op is NumPy's indexing plus its backward; where PyTorch and NumPy disagree (an int
beside an advanced index), ``getitem`` splits the index so that NumPy computes PyTorch's
answer.
"""

from __future__ import annotations

from typing import Any

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.backend import get_array_module, is_array
from shenjing.tensor import Tensor

__all__ = ["getitem"]


class GetItem(Function):
    """y = x[index];  gx = zeros like x with gy written (or, for integer-array indices,
    added, so a repeated index gets the sum of its gradients) at x[index]."""

    def forward(self, x: Any, index: Any, accumulate: bool) -> Any:
        self.x_shape, self.index, self.accumulate = x.shape, index, accumulate
        return x[index]

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        gx = xp.zeros(self.x_shape, dtype=gy.dtype)
        if self.accumulate:
            _add_at(xp, gx, self.index, gy)
        else:  # basic indexing and boolean masks select every element at most once
            gx[self.index] = gy
        return gx


def _add_at(xp: Any, a: Any, index: Any, b: Any) -> None:
    """a[index] += b with repeated positions summed: ``add.at`` (CuPy before 13 spells it
    ``cupyx.scatter_add``)."""
    add_at = getattr(xp.add, "at", None)
    if add_at is None:
        import cupyx  # only reached on CuPy, where it is installed

        cupyx.scatter_add(a, index, b)
    else:
        add_at(a, index, b)


def _index_part(part: Any, xp: Any) -> tuple[Any, bool]:
    """One entry of an index as the array module ``xp`` takes it, and whether it is an
    integer array (so that it may repeat positions)."""
    if isinstance(part, Tensor):
        part = part.array
    if isinstance(part, list) or (is_array(part) and get_array_module(part) is not xp):
        part = xp.asarray(part)  # a host index for a device tensor is copied over
    if is_array(part):
        return part, _bfloat16.kind(part.dtype) in "iu"
    return part, False


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` as PyTorch indexes: ints, slices (negative steps too), None, Ellipsis,
    integer tensors or lists (positions may repeat) and boolean masks.

    Where PyTorch and NumPy differ, PyTorch wins: an int is a plain selection, never an
    advanced index, so ``x[0, :, idx]`` has shape (x.shape[1], len(idx)) (NumPy puts the
    idx dim first).

    Example:
        >>> import shenjing as sj
        >>> x = sj.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> x[[0, 0, 2]].sum().backward()
        >>> x.grad.tolist()
        [2.0, 0.0, 1.0]
    """
    xp = get_array_module(x.array)
    if isinstance(index, tuple):
        parts = [_index_part(part, xp) for part in index]
        index = tuple(part for part, _ in parts)
        accumulate = any(is_int_array for _, is_int_array in parts)
        if any(_is_int(part) for part in index) and any(is_array(part) for part in index):
            # Select the ints first, then index the rest: PyTorch's order.
            x = GetItem.apply(x, index=_ints_only(index), accumulate=False)
            index = tuple(_without_ints(index))
    else:
        index, accumulate = _index_part(index, xp)
    try:
        return GetItem.apply(x, index=index, accumulate=accumulate)
    except IndexError as err:
        raise IndexError(f"getitem: {err}. Received: shape={x.shape}") from None


def _is_int(part: Any) -> bool:
    return isinstance(part, int) and not isinstance(part, bool)


def _ints_only(index: tuple) -> tuple:
    """The index with every entry but ints, None and Ellipsis made a full slice (a
    boolean mask spans as many dims as it has)."""
    selected = []
    for part in index:
        if _is_int(part) or part is None or part is Ellipsis:
            selected.append(part)
        else:
            ndim = part.ndim if is_array(part) and _bfloat16.kind(part.dtype) == "b" else 1
            selected.extend([slice(None)] * ndim)
    return tuple(selected)


def _without_ints(index: tuple) -> list:
    """The rest of the index once ``_ints_only`` has run: ints gone (their dims are),
    None now a size-1 dim to keep."""
    return [slice(None) if part is None else part for part in index if not _is_int(part)]
