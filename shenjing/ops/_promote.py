"""PyTorch's type promotion where it differs from NumPy's.

A float function of an integer tensor (sin, exp2, rsqrt, ...) gives float32 in PyTorch,
where NumPy would give float64.
"""

from __future__ import annotations

from typing import Any

from shenjing import _bfloat16
from shenjing.ops.elementwise import astype
from shenjing.tensor import Tensor, as_tensor


def floating(x: Any) -> Tensor:
    """``x`` as a tensor; integer and boolean tensors become float32."""
    x = as_tensor(x)
    return x if _bfloat16.kind(x.dtype) in "fc" else astype(x, "float32")
