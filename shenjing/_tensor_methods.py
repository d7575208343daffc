"""PyTorch's conveniences on ``Tensor``: casts, comparisons, views, sizes and the
reductions as methods.

A mixin, so that tensor.py keeps the core (data, operators, shapes, autograd) and stays
readable. Each method is a thin call into the ops; none computes a gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from shenjing import dtypes

if TYPE_CHECKING:
    from shenjing.tensor import Tensor

# shenjing.ops, set by shenjing.tensor once the ops have loaded: they import tensor.py,
# which imports this module, so it cannot import them itself.
ops: Any = None

Dim = int | Sequence[int] | None


class TensorMethods:
    """PyTorch's spellings of casts, comparisons and views, mixed into ``Tensor``."""

    __slots__ = ()

    # ---------------------------------------------------------------------- casts
    def int(self: Tensor) -> Tensor:
        """The tensor as int32 (PyTorch's ``int``)."""
        return self._cast(dtypes.int32)

    def long(self: Tensor) -> Tensor:
        """The tensor as int64."""
        return self._cast(dtypes.int64)

    def bool(self: Tensor) -> Tensor:
        """The tensor as bool (nonzero is True)."""
        return self._cast(dtypes.bool)

    def half(self: Tensor) -> Tensor:
        """The tensor as float16."""
        return self._cast(dtypes.float16)

    def bfloat16(self: Tensor) -> Tensor:
        """The tensor as bfloat16 (rounded to nearest even; needs ml_dtypes)."""
        return self._cast(dtypes.bfloat16)

    def type(self: Tensor, dtype: Any = None) -> Any:
        """With no argument, the type name (``'shenjing.FloatTensor'``); else the tensor
        cast to ``dtype`` (a dtype, or a name such as ``'shenjing.LongTensor'``)."""
        if dtype is None:
            return dtypes.type_name(self.dtype)
        if isinstance(dtype, str) and "." in dtype:
            dtype = dtypes.from_type_name(dtype)
        return self._cast(dtype)

    def _cast(self: Tensor, dtype: Any) -> Tensor:
        """The tensor converted to ``dtype``; itself when it already has it, as PyTorch's
        casts return self."""
        if self.dtype == np.dtype(dtype):
            return self
        return ops.astype(self, dtype)

    # ---------------------------------------------------------------- comparisons
    def eq(self: Tensor, other: Any) -> Tensor:
        """self == other elementwise, a bool tensor."""
        return self == other

    def ne(self: Tensor, other: Any) -> Tensor:
        """self != other elementwise."""
        return self != other

    def lt(self: Tensor, other: Any) -> Tensor:
        """self < other elementwise."""
        return self < other

    def le(self: Tensor, other: Any) -> Tensor:
        """self <= other elementwise."""
        return self <= other

    def gt(self: Tensor, other: Any) -> Tensor:
        """self > other elementwise."""
        return self > other

    def ge(self: Tensor, other: Any) -> Tensor:
        """self >= other elementwise."""
        return self >= other

    def equal(self: Tensor, other: Tensor) -> bool:
        """True when ``other`` has the same shape and the same elements."""
        return self.shape == other.shape and bool((self.array == other.array).all())

    # ---------------------------------------------------------------------- views
    @property
    def mT(self: Tensor) -> Tensor:
        """The tensor with its last two dims swapped (a batch of matrices transposed)."""
        if self.ndim < 2:
            raise RuntimeError(f"mT needs a tensor of at least 2 dims. Received: shape="
                               f"{self.shape}")
        return ops.transpose(self, -2, -1)

    def view(self: Tensor, *shape: Any) -> Tensor:
        """The same elements in shape ``shape`` (ints or one tuple; one may be -1). A
        reshape: NumPy arrays here are always contiguous enough. ``view(dtype)`` reads the
        same bytes as another dtype (see ``_tensor_more_methods.view_dtype``)."""
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
            from shenjing._tensor_more_methods import view_dtype

            return view_dtype(self, shape[0])
        return self.reshape(*shape)

    def view_as(self: Tensor, other: Tensor) -> Tensor:
        """The tensor in ``other``'s shape."""
        return ops.reshape(self, other.shape)

    def reshape_as(self: Tensor, other: Tensor) -> Tensor:
        """The tensor in ``other``'s shape."""
        return ops.reshape(self, other.shape)

    def expand(self: Tensor, *sizes: Any) -> Tensor:
        """The tensor broadcast to ``sizes``; -1 keeps a dim's size."""
        return ops.expand(self, *sizes)

    def expand_as(self: Tensor, other: Tensor) -> Tensor:
        """The tensor broadcast to ``other``'s shape."""
        return ops.expand(self, other.shape)

    def repeat(self: Tensor, *sizes: Any) -> Tensor:
        """The tensor copied ``sizes[i]`` times along dim i (NumPy's ``tile``)."""
        return ops.repeat(self, *sizes)

    def clone(self: Tensor) -> Tensor:
        """A copy of the data that stays in the graph: gradients flow back to self."""
        return ops.clone(self)

    def contiguous(self: Tensor) -> Tensor:
        """The tensor itself when its data is C-contiguous, else a contiguous copy."""
        if self.array.flags.c_contiguous:
            return self
        return ops.clone(self)

    # ---------------------------------------------------------------------- sizes
    def size(self: Tensor, dim: int | None = None) -> Any:
        """The shape as a tuple, or with ``dim`` the size of that dim, as PyTorch's
        ``size``; ``numel()`` is the number of elements."""
        if dim is None:
            return self.shape
        from shenjing.ops._util import normalize_axis

        axes = normalize_axis("size", dim, self.ndim)
        if not axes:
            raise IndexError(f"size: a 0-d tensor has no dim {dim}")
        return self.shape[axes[0]]

    def dim(self: Tensor) -> int:
        """The number of dims (as ``ndim``)."""
        return self.array.ndim

    def numel(self: Tensor) -> int:
        """The number of elements."""
        return self.array.size

    # ----------------------------------------------------------------- reductions
    # Reductions take PyTorch's dim/keepdim; NumPy's axis/keepdims are aliases.
    def sum(
        self, dim: Dim = None, keepdim: bool = False, *, dtype: Any = None,
        axis: Dim = None, keepdims: bool | None = None,
    ) -> Tensor:
        """Sum over ``dim`` (all axes when None), in ``dtype`` when given."""
        return ops.sum(self, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)

    def mean(
        self, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Mean over ``dim`` (all axes when None)."""
        return ops.mean(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def max(
        self, dim: Any = None, keepdim: bool = False, *, axis: int | None = None,
        keepdims: bool | None = None,
    ) -> Any:
        """The largest element; ``(values, indices)`` over ``dim``; or, given a tensor,
        the elementwise maximum (PyTorch's three forms, see ``shenjing.max``)."""
        return ops.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(
        self, dim: Any = None, keepdim: bool = False, *, axis: int | None = None,
        keepdims: bool | None = None,
    ) -> Any:
        """The smallest element; ``(values, indices)`` over ``dim``; or, given a tensor,
        the elementwise minimum (see ``shenjing.min``)."""
        return ops.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amax(
        self, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Largest element over ``dim`` (one or several axes); ties share the gradient."""
        return ops.amax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amin(
        self, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Smallest element over ``dim`` (one or several axes); ties share the gradient."""
        return ops.amin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def var(
        self, dim: Dim | bool = None, unbiased: bool | None = None, keepdim: bool = False,
        *, correction: float | None = None, axis: Dim = None, keepdims: bool | None = None,
    ) -> Tensor:
        """Variance over ``dim``, dividing by N - correction (unbiased by default)."""
        return ops.var(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                       keepdims=keepdims)

    def std(
        self, dim: Dim | bool = None, unbiased: bool | None = None, keepdim: bool = False,
        *, correction: float | None = None, axis: Dim = None, keepdims: bool | None = None,
    ) -> Tensor:
        """Standard deviation over ``dim`` (unbiased by default)."""
        return ops.std(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                       keepdims=keepdims)

    def logsumexp(
        self, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """log(sum(exp(x))) over ``dim``, computed stably."""
        return ops.logsumexp(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmax(
        self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Index of the largest element over ``dim`` (of the flattened tensor when None)."""
        return ops.argmax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmin(
        self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Index of the smallest element over ``dim`` (of the flattened tensor when None)."""
        return ops.argmin(self, dim, keepdim, axis=axis, keepdims=keepdims)
