"""Tensor methods that published PyTorch programs reach for (issue 20): the ``new_*``
factories, ``t()``, ``norm``, ``multinomial``, ``repeat_interleave``, ``is_cuda`` and
``view(dtype)``.

Attached to ``Tensor`` when ``shenjing.tensor`` finishes loading, as
``_tensor_ops_methods`` is, so that tensor.py keeps the core. Each means what the PyTorch
method of that name means.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import backend, creation, ops
from shenjing.ops._nograd import without_gradient
from shenjing.tensor import Tensor


def _size(size: tuple[Any, ...]) -> tuple[int, ...]:
    """``new_zeros(2, 3)`` and ``new_zeros((2, 3))`` alike."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def new_zeros(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    """Zeros of ``size``, with this tensor's dtype and device unless given."""
    return creation.zeros(_size(size), dtype=dtype or self.dtype,
                          device=device or self.device, requires_grad=requires_grad)


def new_ones(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """Ones of ``size``, with this tensor's dtype and device unless given."""
    return creation.ones(_size(size), dtype=dtype or self.dtype,
                         device=device or self.device, requires_grad=requires_grad)


def new_empty(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    """An unset tensor of ``size``, with this tensor's dtype and device unless given."""
    return creation.empty(_size(size), dtype=dtype or self.dtype,
                          device=device or self.device, requires_grad=requires_grad)


def new_full(self: Tensor, size: Any, fill_value: Any, *, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere in ``size``, with this tensor's dtype (not the value's)
    and device unless given."""
    return creation.full(size, fill_value, dtype=dtype or self.dtype,
                         device=device or self.device, requires_grad=requires_grad)


def new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    """A copy of ``data`` (no history) with this tensor's dtype and device unless given;
    as in PyTorch, integer data given to a float tensor becomes float."""
    if isinstance(data, Tensor):
        data = data.detach().numpy()
    return creation.tensor(np.array(data), dtype=dtype or self.dtype,
                           device=device or self.device, requires_grad=requires_grad)


def t(self: Tensor) -> Tensor:
    """The transpose of a matrix; a 0-D or 1-D tensor is returned as it is."""
    if self.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dims. Received: shape={self.shape}"
                           "; use transpose(dim0, dim1) or mT")
    return ops.transpose(self, 0, 1) if self.ndim == 2 else self


def norm(self: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False,
         dtype: Any = None) -> Tensor:
    """The p-norm over ``dim`` (see ``shenjing.norm``)."""
    return ops.norm(self, p, dim, keepdim, dtype)


def multinomial(self: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Any = None) -> Tensor:
    """Indices drawn by the weights in each row (see ``shenjing.multinomial``)."""
    return ops.multinomial(self, num_samples, replacement, generator=generator)


def repeat_interleave(self: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element repeated in place (see ``shenjing.repeat_interleave``)."""
    if repeats is None:
        return ops.repeat_interleave(self, output_size=output_size)
    return ops.repeat_interleave(self, repeats, dim, output_size=output_size)


def is_cuda(self: Tensor) -> bool:
    """True when the data lives on a CUDA device."""
    return self.device.type == "cuda"


def view_dtype(self: Tensor, dtype: Any) -> Tensor:
    """The same bytes read as ``dtype`` (a view sharing memory, no gradient), as
    ``Tensor.view(dtype)``: with a smaller element the last dim grows by the size ratio,
    with a larger one it shrinks by it (and must divide by it)."""
    dtype = backend.as_dtype(dtype)
    old, new = self.dtype.itemsize, dtype.itemsize
    if old != new:
        if self.ndim == 0:
            raise RuntimeError(f"view(dtype): a 0-d tensor cannot be viewed as a dtype of "
                               f"another size ({self.dtype} -> {dtype})")
        if self.array.strides[-1] != old and self.shape[-1] != 1:
            raise RuntimeError(f"view(dtype): the last dim must be contiguous to view "
                               f"{self.dtype} as {dtype}. Received: strides="
                               f"{self.array.strides}")
        if new > old and (self.shape[-1] * old) % new:
            raise RuntimeError(f"view(dtype): the last dim ({self.shape[-1]}) times "
                               f"{old} bytes must be a multiple of {new} to view {self.dtype} "
                               f"as {dtype}")
    if not self.array.flags.c_contiguous and old != new:
        raise RuntimeError(f"view(dtype): the tensor must be contiguous to view {self.dtype} "
                           f"as {dtype}; call .contiguous() first")
    return without_gradient(lambda x: x.view(dtype), self)


def _attach() -> None:
    methods = {f.__name__: f for f in (new_zeros, new_ones, new_empty, new_full, new_tensor,
                                       t, norm, multinomial, repeat_interleave)}
    methods["is_cuda"] = property(is_cuda)
    for name, method in methods.items():
        # Loud, not silent, if a method of the same name was added elsewhere meanwhile.
        if name in vars(Tensor):
            raise RuntimeError(f"Tensor.{name} is defined twice: in tensor.py and in {__name__}")
        setattr(Tensor, name, method)


_attach()
