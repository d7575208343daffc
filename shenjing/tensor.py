"""``Tensor``: an array with a name, a dtype, and a place in the computation graph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from shenjing import backend
from shenjing.autograd import engine, function
from shenjing.autograd.function import Function

Scalar = int | float | bool


class Tensor:
    """An n-dimensional array that records the ops applied to it.

    ``data`` is the underlying array (NumPy, or CuPy on a GPU). A tensor with
    ``requires_grad=True`` and no ``grad_fn`` is a *leaf*: ``backward()`` accumulates
    the gradient of its caller with respect to it into ``.grad``. Tensors made by ops
    keep the op that made them in ``grad_fn``.

    Example:
        >>> import shenjing as sj
        >>> x = sj.tensor([[1.0, 2.0]], requires_grad=True, name="x")
        >>> (x * x).sum().backward()
        >>> x.grad.numpy().tolist()
        [[2.0, 4.0]]
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "name", "__weakref__")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected op

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        name: str | None = None,
    ) -> None:
        self.data = _to_array(data, dtype)
        self.grad: Tensor | None = None
        self.grad_fn: Function | None = None
        self.name = name
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: Any, grad_fn: Function | None) -> Tensor:
        """Wrap an array an op produced, with no conversion (the hot path)."""
        if isinstance(data, np.generic):  # NumPy returns scalars from 0-d arithmetic
            data = np.asarray(data)
        t = object.__new__(cls)
        t.data = data
        t.grad = None
        t.grad_fn = grad_fn
        t.requires_grad = grad_fn is not None
        t.name = None
        return t

    # ----------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each dimension."""
        return self.data.shape

    @property
    def _sizes(self) -> tuple[int, ...]:
        """The shape, for op functions that compute parameters from it (a mean's count,
        a flatten's size): a symbolic tensor answers with sizes that still do that
        arithmetic where its ``shape`` says ``None``."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        """The element type (float32 by default)."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True when no recorded op made this tensor."""
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's name
        """The tensor with its dimensions reversed."""
        return ops.transpose(self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether ``backward()`` should fill this tensor's ``.grad``; returns self."""
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"Only floating-point tensors can require a gradient. Received: "
                f"dtype={self.data.dtype}"
            )
        self.requires_grad = requires_grad
        return self

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared with the tensor on the CPU)."""
        data = self.data
        return data if isinstance(data, np.ndarray) else data.get()

    def item(self) -> Scalar:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element. Received: shape={self.shape}"
            )
        return self.data.item()

    def tolist(self) -> Any:
        """The data as nested Python lists."""
        return self.numpy().tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the graph: no ``grad_fn``, no gradient."""
        t = Tensor._make(self.data, None)
        t.name = self.name
        return t

    def astype(self, dtype: Any) -> Tensor:
        """The tensor converted to ``dtype``; the gradient flows back converted."""
        return ops.astype(self, dtype)

    def float(self) -> Tensor:
        """The tensor as float32."""
        return ops.astype(self, np.float32)

    def double(self) -> Tensor:
        """The tensor as float64."""
        return ops.astype(self, np.float64)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    # -------------------------------------------------------------------- autograd
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into every leaf it depends on.

        Args:
            gradient: d(something)/d(self), needed when self is not a scalar.
            retain_graph: keep the graph so that ``backward()`` can run through it again.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require a gradient: no input "
                "had requires_grad=True, or it was made under no_grad()."
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar output. Received: "
                    f"shape={self.shape}. Pass gradient= with that shape."
                )
            xp = backend.get_array_module(self.data)
            # ones(), not ones_like(): the same array without a Python-level wrapper.
            gradient = xp.ones(self.data.shape, dtype=self.data.dtype)
        else:
            gradient = gradient.data if isinstance(gradient, Tensor) else gradient
            xp = backend.get_array_module(self.data)
            gradient = xp.asarray(gradient, dtype=self.data.dtype)
            if gradient.shape != self.shape:
                raise ValueError(
                    f"backward(): gradient has shape {gradient.shape} but the tensor has "
                    f"shape {self.shape}"
                )
        engine.backward(self, gradient, retain_graph=retain_graph)

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return ops.pow(self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return ops.pow(base, self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    # Comparisons give boolean tensors that carry no gradient.
    def __lt__(self, other: Any) -> Tensor:
        return _compare(np.less, self, other)

    def __le__(self, other: Any) -> Tensor:
        return _compare(np.less_equal, self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _compare(np.greater, self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _compare(np.greater_equal, self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _compare(np.equal, self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _compare(np.not_equal, self, other)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"The truth value of a tensor with {self.data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.data)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    # ------------------------------------------------------------- methods as ops
    def exp(self) -> Tensor:
        """e to the power of each element."""
        return ops.exp(self)

    def log(self) -> Tensor:
        """Natural logarithm of each element."""
        return ops.log(self)

    def sqrt(self) -> Tensor:
        """Square root of each element."""
        return ops.sqrt(self)

    def abs(self) -> Tensor:
        """Absolute value of each element."""
        return ops.abs(self)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """Each element limited to [min, max]."""
        return ops.clip(self, min, max)

    def pow(self, exponent: Any) -> Tensor:
        """Each element to the power ``exponent``."""
        return ops.pow(self, exponent)

    def matmul(self, other: Any) -> Tensor:
        """Matrix product, as ``self @ other``."""
        return ops.matmul(self, other)

    def relu(self) -> Tensor:
        """max(x, 0) elementwise."""
        return ops.relu(self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + exp(-x)) elementwise."""
        return ops.sigmoid(self)

    def tanh(self) -> Tensor:
        """Hyperbolic tangent elementwise."""
        return ops.tanh(self)

    def softmax(self, axis: int = -1) -> Tensor:
        """exp(x) normalised to sum to one along ``axis``."""
        return ops.softmax(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        """log(softmax(x)) along ``axis``, computed stably."""
        return ops.log_softmax(self, axis=axis)

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes when None)."""
        return ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all axes when None)."""
        return ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Largest element over ``axis``; the gradient goes to the maxima."""
        return ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Smallest element over ``axis``; the gradient goes to the minima."""
        return ops.min(self, axis=axis, keepdims=keepdims)

    def var(
        self,
        axis: int | Sequence[int] | None = None,
        keepdims: bool = False,
        correction: int = 0,
    ) -> Tensor:
        """Variance over ``axis``, dividing by N - correction."""
        return ops.var(self, axis=axis, keepdims=keepdims, correction=correction)

    def logsumexp(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """log(sum(exp(x))) over ``axis``, computed stably."""
        return ops.logsumexp(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis: int | None = None) -> Tensor:
        """Index of the largest element (no gradient)."""
        return Tensor._make(self.data.argmax(axis=axis), None)

    def argmin(self, axis: int | None = None) -> Tensor:
        """Index of the smallest element (no gradient)."""
        return Tensor._make(self.data.argmin(axis=axis), None)

    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in a new shape; one dimension may be -1."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def transpose(self, *axes: Any) -> Tensor:
        """Permute the dimensions (reverse them when no axes are given)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.transpose(self, axes or None)

    def flatten(self, start_axis: int = 0, end_axis: int = -1) -> Tensor:
        """Merge dimensions ``start_axis`` to ``end_axis`` into one."""
        return ops.flatten(self, start_axis, end_axis)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        """The tensor repeated along new or size-1 dimensions to ``shape``."""
        return ops.broadcast_to(self, shape)

    def squeeze(self, axis: int | Sequence[int] | None = None) -> Tensor:
        """Remove size-1 dimensions."""
        return ops.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Tensor:
        """Insert a size-1 dimension at ``axis``."""
        return ops.unsqueeze(self, axis)

    # ------------------------------------------------------------------------ repr
    def __repr__(self) -> str:
        body = np.array2string(
            self.numpy(), separator=", ", threshold=20, edgeitems=2, precision=4,
            prefix="tensor(",
        )
        fields = [f"shape={self.shape}", f"dtype={self.dtype}"]
        if self.name is not None:
            fields.append(f"name={self.name!r}")
        if self.grad_fn is not None:
            fields.append(f"grad_fn={type(self.grad_fn).__name__}")
        elif self.requires_grad:
            fields.append("requires_grad=True")
        return f"tensor({body}, {', '.join(fields)})"


def _to_array(data: Any, dtype: Any) -> Any:
    """Convert user data to an array: floats to float32, integers to int64."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dtype = backend.as_dtype(dtype)
    if backend.is_array(data):
        xp = backend.get_array_module(data)
        if dtype is None:
            dtype = default_dtype(data.dtype)
        return xp.array(data, dtype=dtype)
    array = np.array(data, dtype=dtype)
    if dtype is None:
        if array.dtype == object:
            raise TypeError(f"Cannot make a tensor from {type(data).__name__}: {data!r:.80}")
        array = array.astype(default_dtype(array.dtype), copy=False)
    return array


def default_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype ``sj.tensor`` gives data of ``dtype``: floats float32, integers int64."""
    if dtype.kind == "f":
        return backend.DEFAULT_FLOAT
    if dtype.kind in "iu":
        return np.dtype(np.int64)
    return dtype


def as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor: a Tensor unchanged, a Python number in ``like``'s dtype."""
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, (int, float, bool)):
        xp = backend.get_array_module(like.data)
        if like.data.dtype.kind == "f" or isinstance(value, (int, bool)):
            return Tensor._make(xp.asarray(value, dtype=like.data.dtype), None)
    return Tensor(value)


def _compare(op: Any, a: Tensor, b: Any) -> Tensor:
    b_data = b.data if isinstance(b, Tensor) else b
    return Tensor._make(op(a.data, b_data), None)


function.make_tensor = Tensor._make

from shenjing import ops  # noqa: E402  - ops build Tensors, so they import this module
