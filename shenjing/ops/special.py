"""Special functions: the error function, which ONNX graphs (PyTorch's exported GELU) use."""

from __future__ import annotations

import math
from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._erf import erf as _erf
from shenjing.tensor import Tensor, as_tensor

__all__ = ["erf"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Erf(Function):
    """y = erf(x) = (2/√π) ∫₀ˣ exp(−t²) dt;  gx = gy · (2/√π) · exp(−x²)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return _erf(x)

    def backward(self, gy: Any) -> Any:
        x = self.x
        gx = get_array_module(x).exp(-(x * x))
        gx *= _TWO_OVER_SQRT_PI
        gx *= gy
        return gx


def erf(x: Tensor) -> Tensor:
    """The error function, elementwise (``torch.erf``).

    Example:
        >>> import shenjing as sj
        >>> round(sj.erf(sj.tensor([1.0])).item(), 4)
        0.8427
    """
    x = as_tensor(x)
    if x.dtype.kind not in "fc":
        raise TypeError(f"erf expects a floating-point tensor. Received: dtype={x.dtype}")
    return Erf.apply(x)
