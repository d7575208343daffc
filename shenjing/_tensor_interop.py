"""How a Tensor meets NumPy and other array libraries, as a PyTorch tensor does.

- NumPy ufuncs (``np.exp(t)``, ``np.add(t, a)``, ``np.matmul``) and the NumPy functions
  that fall back to arrays (``np.reshape``, ``np.clip``, ``np.argmax``...) return a Tensor,
  through ``__array_wrap__``; functions that build a new array from a sequence
  (``np.concatenate``, ``np.stack``, ``np.where``) return an ndarray. The values are
  NumPy's and carry no autograd history, as with PyTorch.
- NumPy's reductions (``np.sum(t)``, ``np.mean``, ``np.max``, ``np.std``...) give a Tensor
  holding NumPy's answer (NumPy's meaning: ``np.std`` is the population deviation). On a
  PyTorch tensor they raise, because NumPy calls ``t.sum(axis=..., out=...)``.
- DLPack: ``__dlpack__``/``__dlpack_device__`` export the memory (no copy), so
  ``torch.from_dlpack(t)``, ``np.from_dlpack(t)`` and ``cupy.from_dlpack(t)`` share it;
  ``sj.from_dlpack`` imports the other way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from shenjing.tensor import Tensor

# NumPy functions that reduce (or scan) and would call a Tensor method with NumPy's
# keywords (axis=, out=, dtype=): computed by NumPy on the arrays, returned as a Tensor.
_REDUCTIONS = frozenset(getattr(np, name) for name in (
    "sum", "mean", "max", "min", "amax", "amin", "prod", "std", "var", "any", "all",
    "cumsum", "cumprod", "argmax", "argmin", "ptp", "nansum", "nanmean", "nanmax",
    "nanmin", "nanstd", "nanvar", "median", "average", "count_nonzero",
) if hasattr(np, name))


def _unwrap(value: Any) -> Any:
    """Tensors (also inside lists and tuples) as their arrays, sharing memory."""
    from shenjing.tensor import Tensor

    if isinstance(value, Tensor):
        return value.array
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    return value


class ArrayInterop:
    """NumPy's and DLPack's protocols on Tensor (see the module docstring)."""

    __slots__ = ()

    def __array_wrap__(self, array: Any, context: Any = None,
                       return_scalar: bool = False) -> Tensor:
        """A NumPy ufunc's result on tensors, as a Tensor (a 0-d one for a scalar, as
        PyTorch gives): the values are NumPy's, with no autograd history."""
        from shenjing.tensor import Tensor

        return Tensor._make(np.asarray(array), None)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """NumPy functions on tensors: reductions give a Tensor of NumPy's result; every
        other function runs NumPy's own implementation, as for a PyTorch tensor."""
        if func in _REDUCTIONS:
            out = kwargs.get("out")
            result = func(*_unwrap(args), **_unwrap(kwargs))
            return result if out is not None else self.__array_wrap__(result)
        return func._implementation(*args, **kwargs)

    def __dlpack__(self: Any, *, stream: Any = None, max_version: Any = None,
                   dl_device: Any = None, copy: bool | None = None) -> Any:
        """Export the memory as a DLPack capsule (the Python array API's protocol).
        Refused for a tensor that requires grad, as in PyTorch: use ``t.detach()``."""
        if self.requires_grad:
            raise BufferError("Can't export tensors that require gradient, use "
                              "tensor.detach()")
        given = {"stream": stream, "max_version": max_version, "dl_device": dl_device,
                 "copy": copy}
        # Pass only what the caller set: older exporters take fewer keywords.
        return self.array.__dlpack__(**{k: v for k, v in given.items() if v is not None})

    def __dlpack_device__(self: Any) -> tuple[int, int]:
        """(DLPack device type, index): (1, 0) for the CPU, (2, i) for CUDA GPU i."""
        return self.array.__dlpack_device__()


_DLPACK_CPU, _DLPACK_CUDA, _DLPACK_CUDA_HOST, _DLPACK_CUDA_MANAGED = 1, 2, 3, 13


def from_dlpack(ext_tensor: Any) -> Tensor:
    """A Tensor sharing the memory of any DLPack exporter (a PyTorch or CuPy tensor, a
    NumPy array, another library's array), as ``torch.from_dlpack``.

    Example:
        >>> import numpy as np, shenjing as sj
        >>> a = np.arange(3.0, dtype=np.float32)
        >>> t = sj.from_dlpack(a)
        >>> a[0] = 7.0
        >>> t.tolist()
        [7.0, 1.0, 2.0]
    """
    from shenjing import backend
    from shenjing.tensor import Tensor

    if not hasattr(ext_tensor, "__dlpack__") or not hasattr(ext_tensor, "__dlpack_device__"):
        raise TypeError(
            f"from_dlpack expects an object with __dlpack__ and __dlpack_device__ (a "
            f"tensor or array). Received: {type(ext_tensor).__name__}"
        )
    device_type, index = ext_tensor.__dlpack_device__()
    if int(device_type) in (_DLPACK_CPU, _DLPACK_CUDA_HOST):
        array = np.from_dlpack(ext_tensor)
    elif int(device_type) in (_DLPACK_CUDA, _DLPACK_CUDA_MANAGED):
        xp = backend.device_type(backend.Device("cuda", int(index))).xp
        array = xp.from_dlpack(ext_tensor)
    else:
        raise BufferError(f"from_dlpack: DLPack device type {int(device_type)} is neither "
                          "the CPU nor a CUDA GPU")
    return Tensor._make(array, None)


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a shenjing Tensor (a Parameter too), as ``torch.is_tensor``."""
    from shenjing.tensor import Tensor

    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """The number of elements of ``input``, as ``torch.numel``."""
    from shenjing.tensor import Tensor

    if not isinstance(input, Tensor):
        raise TypeError(f"numel(): argument 'input' must be a Tensor. "
                        f"Received: {type(input).__name__}")
    return input.numel()
