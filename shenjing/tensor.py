"""``Tensor``: an array with a name, a dtype, and a place in the computation graph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from shenjing import _bfloat16, backend
from shenjing._tensor_hooks import TensorHooks
from shenjing._tensor_interop import ArrayInterop
from shenjing._tensor_methods import TensorMethods
from shenjing.autograd import engine, function
from shenjing.autograd.function import Function

Scalar = int | float | bool
Dim = int | Sequence[int] | None


class Tensor(TensorMethods, TensorHooks, ArrayInterop):
    """An n-dimensional array that records the ops applied to it.

    ``array`` is the underlying array (NumPy, or CuPy on a GPU); ``data`` is, as in
    PyTorch, a tensor sharing that array with no history. A tensor with
    ``requires_grad=True`` and no ``grad_fn`` is a *leaf*: ``backward()`` accumulates
    the gradient of its caller with respect to it into ``.grad``. Tensors made by ops
    keep the op that made them in ``grad_fn``. PyTorch's casts, comparisons and views
    (``long()``, ``eq``, ``view``, ``expand``, ...) come from ``TensorMethods``.

    Example:
        >>> import shenjing as sj
        >>> x = sj.tensor([[1.0, 2.0]], requires_grad=True, name="x")
        >>> (x * x).sum().backward()
        >>> x.grad.numpy().tolist()
        [[2.0, 4.0]]
    """

    # _written_at and _history are set only by in-place writes (see autograd/versions.py).
    __slots__ = ("array", "grad", "requires_grad", "grad_fn", "name", "_written_at", "_history",
                 "__weakref__")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected op

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        name: str | None = None,
    ) -> None:
        self.array = _to_array(data, dtype)
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
        t.array = data
        t.grad = None
        t.grad_fn = grad_fn
        t.requires_grad = grad_fn is not None
        t.name = None
        return t

    # ----------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each dimension."""
        return self.array.shape

    @property
    def data(self) -> Tensor:
        """This tensor's values as a tensor with no history, sharing memory (PyTorch's
        ``.data``): ``p.data.add_(g, alpha=-lr)`` updates ``p`` without recording it."""
        return Tensor._make(self.array, None)

    @data.setter
    def data(self, value: Any) -> None:
        """Replace the values (and with them shape and dtype), keeping the tensor's
        identity, its gradient and its place in a module, as ``p.data = t`` does in
        PyTorch."""
        self.array = value.array if isinstance(value, Tensor) else _to_array(value, None)

    @property
    def _sizes(self) -> tuple[int, ...]:
        """The shape, for op functions that compute parameters from it (a mean's count,
        a flatten's size): a symbolic tensor answers with sizes that still do that
        arithmetic where its ``shape`` says ``None``."""
        return self.array.shape

    @property
    def dtype(self) -> np.dtype:
        """The element type (float32 by default)."""
        return self.array.dtype

    @property
    def device(self) -> backend.Device:
        """Where the data lives: ``device(type='cpu')`` or ``device(type='cuda', index=0)``."""
        return backend.device_of(self.array)

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.array.ndim

    @property
    def is_leaf(self) -> bool:
        """True when no recorded op made this tensor."""
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        """The tensor with its dimensions reversed."""
        return ops.permute(self, range(self.ndim - 1, -1, -1))

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether ``backward()`` should fill this tensor's ``.grad``; returns self."""
        if requires_grad and _bfloat16.kind(self.array.dtype) not in "fc":
            raise TypeError(
                f"Only floating-point tensors can require a gradient. Received: "
                f"dtype={self.array.dtype}"
            )
        self.requires_grad = requires_grad
        return self

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array, shared with the tensor; as in PyTorch, a tensor on
        a GPU raises (copy it over first with ``.cpu()``)."""
        data = self.array
        if isinstance(data, np.ndarray):
            return data
        raise TypeError(
            f"numpy(): the tensor is on {self.device}; use .cpu() to copy it to host "
            "memory first"
        )

    def _host(self) -> np.ndarray:
        """The data in host memory (a copy when it lives on a device), for display."""
        return backend.to_device(self.array, backend.Device("cpu"))

    def item(self) -> Scalar:
        """The value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element. Received: shape={self.shape}"
            )
        return self.array.item()

    def tolist(self) -> Any:
        """The data as nested Python lists."""
        return self._host().tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the graph: no ``grad_fn``, no gradient."""
        t = Tensor._make(self.array, None)
        t.name = self.name
        return t

    def astype(self, dtype: Any) -> Tensor:
        """The tensor converted to ``dtype``; the gradient flows back converted."""
        return ops.astype(self, dtype)

    def float(self) -> Tensor:
        """The tensor as float32."""
        return self._cast(np.float32)

    def double(self) -> Tensor:
        """The tensor as float64."""
        return self._cast(np.float64)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """This tensor on another device and/or in another dtype, as ``torch.Tensor.to``:
        ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other_tensor)``.

        Returns ``self`` when nothing changes (unless ``copy=True``); the move and the cast
        are ops, so the gradient flows back to this tensor.
        """
        copy = kwargs.pop("copy", False)
        device, dtype = device_ops.parse_to("Tensor.to", args, kwargs)
        out = self if device is None else device_ops.move(self, device)
        if dtype is not None and dtype != out.dtype:
            out = ops.astype(out, dtype)
        if copy and out is self:
            out = ops.astype(self, self.dtype)  # astype copies, and records the gradient
        return out

    def cuda(
        self, device: int | str | backend.Device | None = None, non_blocking: bool = False
    ) -> Tensor:
        """This tensor on a GPU (``device`` picks which, as an index or a device);
        ``non_blocking`` is accepted as in PyTorch (copies here are synchronous)."""
        if isinstance(device, int):
            device = backend.Device("cuda", device)
        return self.to(backend.Device(device or "cuda"))

    def cpu(self) -> Tensor:
        """This tensor in host memory (itself when it is there already)."""
        return self.to("cpu")

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """NumPy's conversion protocol: ``np.asarray(t)`` shares the memory,
        ``np.array(t)`` (``copy=True``) copies it, as for a PyTorch tensor."""
        array = self.numpy()
        if dtype is not None and array.dtype != dtype:
            return array.astype(dtype)
        return array.copy() if copy else array

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
            if self.array.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar output. Received: "
                    f"shape={self.shape}. Pass gradient= with that shape."
                )
            xp = backend.get_array_module(self.array)
            # ones(), not ones_like(): the same array without a Python-level wrapper.
            gradient = xp.ones(self.array.shape, dtype=self.array.dtype)
        else:
            gradient = gradient.array if isinstance(gradient, Tensor) else gradient
            xp = backend.get_array_module(self.array)
            gradient = xp.asarray(gradient, dtype=self.array.dtype)
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
        if self.array.size != 1:
            raise ValueError(
                f"The truth value of a tensor with {self.array.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.array)

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.array)

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

    def clip(self, min: Any = None, max: Any = None) -> Tensor:
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

    def softmax(self, dim: int = -1, *, axis: int | None = None) -> Tensor:
        """exp(x) normalised to sum to one along ``dim``."""
        return ops.softmax(self, dim, axis=axis)

    def log_softmax(self, dim: int = -1, *, axis: int | None = None) -> Tensor:
        """log(softmax(x)) along ``dim``, computed stably."""
        return ops.log_softmax(self, dim, axis=axis)

    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in a new shape; one dimension may be -1."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """The tensor with dimensions ``dim0`` and ``dim1`` swapped (PyTorch's meaning;
        ``permute`` takes a full order)."""
        return ops.transpose(self, dim0, dim1)

    def permute(self, *dims: Any) -> Tensor:
        """The dimensions in the order ``dims`` (ints, or one tuple)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return ops.permute(self, dims)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dimensions ``start_dim`` to ``end_dim`` into one."""
        return ops.flatten(self, start_dim, end_dim)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        """The tensor repeated along new or size-1 dimensions to ``shape``."""
        return ops.broadcast_to(self, shape)

    def squeeze(self, dim: Dim = None, *, axis: Dim = None) -> Tensor:
        """Remove size-1 dimensions (only ``dim`` when given)."""
        return ops.squeeze(self, dim, axis=axis)

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert a size-1 dimension at ``dim``."""
        return ops.unsqueeze(self, dim)

    # ------------------------------------------------------------------------ repr
    def __repr__(self) -> str:
        host = self._host()
        if _bfloat16.is_bfloat16(host.dtype):  # printed as its (exact) float32 values
            host = host.astype(np.float32)
        body = np.array2string(
            host, separator=", ", threshold=20, edgeitems=2, precision=4,
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
    """Convert user data to an array: floats to float32, integers to int64.

    Strings, Python objects, dates and records are refused with a TypeError naming their
    dtype, as PyTorch refuses them: a tensor holds numbers (or booleans).
    """
    if isinstance(data, Tensor):
        data = data.array
    if dtype is not None:
        dtype = backend.as_dtype(dtype)
    if backend.is_array(data):
        _check_numeric(data.dtype, data)
        xp = backend.get_array_module(data)
        if dtype is None:
            dtype = default_dtype(data.dtype)
        return xp.array(data, dtype=dtype)
    array = np.array(data)
    _check_numeric(array.dtype, data)
    return array.astype(default_dtype(array.dtype) if dtype is None else dtype, copy=False)


def _check_numeric(dtype: np.dtype, data: Any) -> None:
    if _bfloat16.kind(dtype) not in "biufc":
        raise TypeError(f"Cannot make a tensor of dtype {dtype} (from {type(data).__name__}: "
                        f"{data!r:.80}); a tensor holds numbers")


def default_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype ``sj.tensor`` gives data of ``dtype``: floats float32, integers int64."""
    if _bfloat16.kind(dtype) == "f":
        return backend.DEFAULT_FLOAT
    if _bfloat16.kind(dtype) in "iu":
        return np.dtype(np.int64)
    return dtype


def as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor: a Tensor unchanged, a Python number in ``like``'s dtype."""
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, (int, float, bool)):
        xp = backend.get_array_module(like.array)
        if _bfloat16.kind(like.array.dtype) == "f" or isinstance(value, (int, bool)):
            return Tensor._make(xp.asarray(value, dtype=like.array.dtype), None)
    return Tensor(value)


def _compare(op: Any, a: Tensor, b: Any) -> Tensor:
    b_data = b.array if isinstance(b, Tensor) else b
    return Tensor._make(op(a.array, b_data), None)


function.make_tensor = Tensor._make

# isort: off
from shenjing import _tensor_methods, ops  # noqa: E402  - ops build Tensors, so they import this module
from shenjing.ops import transfer as device_ops  # noqa: E402

_tensor_methods.ops = ops
# The methods of the ops added for PyTorch users (issue 12), attached to Tensor.
from shenjing import _tensor_ops_methods  # noqa: E402, F401
# The in-place methods (add_, copy_, t[i] = v, ...), recorded for autograd.
from shenjing import _tensor_inplace  # noqa: E402, F401
# ... and those that published PyTorch programs reach for (issue 20).
from shenjing import _tensor_more_methods  # noqa: E402, F401

# isort: on
