"""Dropout: during training, zero each unit with probability p and scale the survivors.

The mask is drawn from ``shenjing.backend.generator()``, so ``sj.manual_seed`` makes a
run's masks reproducible.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.backend import generator, get_array_module
from shenjing.tensor import Tensor, as_tensor

__all__ = ["dropout"]


class Dropout(Function):
    """y = x·m/(1 - p) with m ~ Bernoulli(1 - p) per element;  gx = gy·m/(1 - p)."""

    def forward(self, x: Any, p: float) -> Any:
        xp = get_array_module(x)
        if p == 1:  # every unit dropped; 1/(1 - p) would divide by zero
            self.keep, self.scale = xp.zeros(x.shape, dtype=bool), 0.0
        else:
            # float32 uniforms are enough resolution for a keep/drop coin and half the cost.
            # Drawn by x's own module's generator: on a GPU the mask never crosses the bus.
            uniforms = generator(xp).random(x.shape, dtype=np.float32)
            self.keep, self.scale = uniforms >= p, 1.0 / (1.0 - p)
        y = x * self.keep
        y *= self.scale
        return y

    def backward(self, gy: Any) -> Any:
        gx = gy * self.keep
        gx *= self.scale
        return gx


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout (Srivastava et al., 2014).

    In training, each element is zeroed with probability ``p`` and the kept ones are
    multiplied by 1/(1 - p), so the expected value of every unit is unchanged and
    evaluation needs no rescaling. With ``training=False`` or ``p == 0`` it returns
    ``x`` itself; ``p == 1`` zeroes everything, as in PyTorch. ``inplace=True`` is
    accepted and computes out of place (see ``ops.activation._refuse_inplace``).

    Example:
        >>> import shenjing as sj
        >>> sj.dropout(sj.ones(3), p=0.5, training=False).tolist()
        [1.0, 1.0, 1.0]
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1]. Received: p={p!r}")
    if not isinstance(inplace, bool):
        raise TypeError(f"dropout: inplace must be a bool. Received: {inplace!r}")
    x = as_tensor(x)
    if not training or p == 0:
        return x
    if _bfloat16.kind(x.dtype) != "f":
        raise TypeError(f"dropout expects a floating-point tensor. Received: dtype={x.dtype}")
    return Dropout.apply(x, p=float(p))
