"""Fusing a convolution's bias, ReLU and max pooling into one plan step.

``conv → +bias → ReLU → max_pool`` is the block of LeNet-style networks. Run as a fused
chain and a pooling op, it passes over the convolution's full-size output four times
(the chain's forward, the pooling's forward, the pooling's backward, the chain's
backward). But the ReLU is monotone and the bias is constant over a channel, so

    y = max_pool(relu(z + b)) = relu(max_pool(z + b))

and the ReLU runs on the pooled output, a quarter of the size for 2x2 windows. Where the
pooled maximum is positive, the first maximum of relu(z + b) in a window is the first
maximum of z + b; where it is not, the gradient through the ReLU is zero either way. So

    gz[pixel] = gy[window] if pixel holds the window's first maximum and y[window] > 0,
    gb[c] = Σ gy[window] over the channel's windows with y > 0

and the backward is one pass that writes gz, which the convolution's own backward then
reads. The forward output and gz equal the unfused ops' bit for bit; gb is the same sum
in another order. ``fusion.fuse`` uses this for 2x2 windows at stride 2 (the common
pooling) without padding or dilation, with or without a bias (b = 0); the kernels are
``ops/_numba_pool.py``'s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing.graph.symbolic import Operation
from shenjing.ops import _numba_pool as numba_pool


def pool_after(chain: list[Any], readers: dict[int, list[Any]], keep: set[int]) -> Any:
    """The max pooling that alone reads a ``[Convolution, ReLU]`` chain's output, when
    the pair fuses (see above); None otherwise."""
    if [op.type for op in chain] != ["Convolution", "ReLU"]:
        return None
    out = chain[-1].outputs[0]
    if not isinstance(out.array, np.ndarray):  # the kernels are Numba's: host arrays only
        return None
    users = readers.get(id(out), [])
    if id(out) in keep or len(users) != 1:
        return None
    pool = users[0]
    if not isinstance(pool, Operation) or pool.type != "MaxPool" or pool.stop_gradient \
            or pool.dependencies or set(pool.params) != {"kernel", "stride", "padding",
                                                         "dilation"}:
        return None
    params = pool.params
    no_padding = all(p == 0 for side in params["padding"] for p in side)
    return pool if (no_padding and tuple(params["dilation"]) == (1, 1)
                    and tuple(params["kernel"]) == tuple(params["stride"]) == (2, 2)) else None


class ConvPoolOperation:
    """Stands in a plan for a convolution, its bias and ReLU (one fused chain), and the
    max pooling after them: the convolution's inputs, the pooling's output."""

    __slots__ = ("type", "name", "function", "inputs", "outputs", "params", "index",
                 "stop_gradient", "scalar_output", "dependencies", "members")

    def __init__(self, chain: list[Any], pool: Any, producer: Any) -> None:
        self.members = [*chain, pool]
        self.type = "FusedConvPool"
        self.name = "+".join(op.name for op in self.members)
        self.inputs = chain[0].inputs
        self.outputs = pool.outputs
        self.params: dict[str, Any] = {}
        self.index = pool.index
        self.stop_gradient = False
        self.scalar_output = False
        self.dependencies = ()
        conv_params = chain[0].params

        def function() -> ConvReluMaxPool:
            return ConvReluMaxPool(producer(), conv_params)

        self.function = function

    def __repr__(self) -> str:
        return f"<ConvPoolOperation {self.name!r}>"


class ConvReluMaxPool:
    """``y = max_pool2(relu(conv(x, w) + b))`` computed as ``relu(max_pool2(z + b))``;
    ``gz`` as above, then the convolution's backward gives ``gx, gw``."""

    def __init__(self, producer: Any, conv_params: dict) -> None:
        self.producer = producer  # Convolution or DirectConvolution, run without bias
        self.conv_params = conv_params
        self.needs_input_grad: tuple[bool, ...] = ()

    def forward(self, x: Any, weight: Any, bias: Any = None) -> Any:
        if self.needs_input_grad:
            self.producer.needs_input_grad = self.needs_input_grad[:2]
        z = self.producer.forward(x, weight, **self.conv_params)
        zt = z.transpose(1, 2, 3, 0)  # the producer's (C, H, W, N) memory: no copy
        self.z_shape = zt.shape
        if bias is None:  # z + 0 is z (but for the sign of a zero, which == ignores)
            bias = np.zeros(zt.shape[0], zt.dtype)
        self.yt, self.arg = numba_pool.bias_relu_max2_forward(zt, bias)
        return self.yt.transpose(3, 0, 1, 2)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        gyt = np.ascontiguousarray(gy.transpose(1, 2, 3, 0))
        gz, gb = numba_pool.relu_max2_backward(gyt, self.yt, self.arg, self.z_shape)
        gx, gw = self.producer.backward(gz.transpose(3, 0, 1, 2))
        return (gx, gw, gb) if len(self.needs_input_grad) == 3 else (gx, gw)
