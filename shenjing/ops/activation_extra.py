"""More activations under PyTorch's names and arguments: the smooth ones of recent
networks (SiLU, Mish, SELU, CELU), the piecewise-linear ones of mobile networks
(hardtanh, ReLU6, hardsigmoid, hardswish) and the shrinkage functions.

Each is one ``Function``; at a kink the gradient is taken as PyTorch takes it.
"""

from __future__ import annotations

from typing import Any

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops.activation import _floating, _refuse_inplace, _single_axis, softmax
from shenjing.ops.elementwise import neg
from shenjing.tensor import Tensor

__all__ = [
    "celu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh", "logsigmoid", "mish",
    "relu6", "selu", "silu", "softmin", "softshrink", "softsign", "tanhshrink",
]

# SELU's constants (Klambauer et al., 2017), as PyTorch spells them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(x: Any) -> Any:
    """σ(x) without overflow warnings: exp of -|x| only."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0, e) / (1 + e)


class CELU(Function):
    """y = x where x > 0, else α(exp(x/α) - 1);  gx = gy where x > 0, else gy·(y/α + 1)."""

    def forward(self, x: Any, alpha: float) -> Any:
        xp = get_array_module(x)
        self.positive, self.alpha = x > 0, alpha
        self.y = xp.where(self.positive, x, alpha * xp.expm1(xp.minimum(x, 0) / alpha))
        return self.y

    def backward(self, gy: Any) -> Any:
        # NOTE: from the output: for x <= 0, exp(x/α) = y/α + 1.
        return get_array_module(gy).where(self.positive, gy, gy * (self.y / self.alpha + 1))


class SELU(Function):
    """y = s·x where x > 0, else s·α(exp(x) - 1);  gx = s·gy where x > 0, else gy·(y + s·α)."""

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        self.positive = x > 0
        self.y = _SELU_SCALE * xp.where(
            self.positive, x, _SELU_ALPHA * xp.expm1(xp.minimum(x, 0))
        )
        return self.y

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        return xp.where(self.positive, _SELU_SCALE * gy, gy * (self.y + _SELU_SCALE * _SELU_ALPHA))


class SiLU(Function):
    """y = x·σ(x);  gx = gy·σ(x)·(1 + x(1 - σ(x)))."""

    def forward(self, x: Any) -> Any:
        self.x, self.s = x, _sigmoid(x)
        return x * self.s

    def backward(self, gy: Any) -> Any:
        s = self.s
        return gy * s * (1 + self.x * (1 - s))


class Mish(Function):
    """y = x·tanh(softplus(x));  gx = gy·(t + x(1 - t²)σ(x)), t = tanh(softplus(x))."""

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        softplus = xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
        self.x, self.t = x, xp.tanh(softplus)
        return x * self.t

    def backward(self, gy: Any) -> Any:
        t = self.t
        return gy * (t + self.x * (1 - t * t) * _sigmoid(self.x))


class Hardtanh(Function):
    """y = clip(x, lo, hi);  gx = gy where lo < x < hi, else 0."""

    def forward(self, x: Any, min_val: float, max_val: float) -> Any:
        self.inside = (x > min_val) & (x < max_val)
        return get_array_module(x).clip(x, min_val, max_val)

    def backward(self, gy: Any) -> Any:
        return gy * self.inside


class Hardsigmoid(Function):
    """y = clip(x/6 + 1/2, 0, 1);  gx = gy/6 where -3 < x < 3, else 0."""

    def forward(self, x: Any) -> Any:
        self.inside = (x > -3) & (x < 3)
        return get_array_module(x).clip(x / 6 + 0.5, 0, 1)

    def backward(self, gy: Any) -> Any:
        return gy * self.inside / 6


class Hardswish(Function):
    """y = x·clip(x + 3, 0, 6)/6;  gx = 0 for x < -3, gy·(x/3 + 1/2) for -3 <= x <= 3,
    gy for x > 3."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return x * get_array_module(x).clip(x + 3, 0, 6) / 6

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        x = self.x
        slope = xp.where(x < -3, 0, xp.where(x <= 3, x / 3 + 0.5, 1))
        return gy * slope


class Softsign(Function):
    """y = x / (1 + |x|);  gx = gy / (1 + |x|)²."""

    def forward(self, x: Any) -> Any:
        self.denominator = 1 + get_array_module(x).abs(x)
        return x / self.denominator

    def backward(self, gy: Any) -> Any:
        return gy / (self.denominator * self.denominator)


class LogSigmoid(Function):
    """y = log σ(x) = min(x, 0) - log(1 + exp(-|x|));  gx = gy·(1 - σ(x))."""

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        self.x = x
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy: Any) -> Any:
        return gy * _sigmoid(-self.x)


class Tanhshrink(Function):
    """y = x - tanh(x);  gx = gy·tanh(x)²."""

    def forward(self, x: Any) -> Any:
        self.t = get_array_module(x).tanh(x)
        return x - self.t

    def backward(self, gy: Any) -> Any:
        return gy * self.t * self.t


class Softshrink(Function):
    """y = x - λ where x > λ, x + λ where x < -λ, else 0;  gx = gy where |x| > λ, else 0."""

    def forward(self, x: Any, lambd: float) -> Any:
        xp = get_array_module(x)
        self.outside = xp.abs(x) > lambd
        return xp.where(self.outside, x - xp.sign(x) * lambd, 0).astype(x.dtype, copy=False)

    def backward(self, gy: Any) -> Any:
        return gy * self.outside


class Hardshrink(Function):
    """y = x where |x| > λ, else 0;  gx = gy where |x| > λ, else 0."""

    def forward(self, x: Any, lambd: float) -> Any:
        self.outside = get_array_module(x).abs(x) > lambd
        return x * self.outside

    def backward(self, gy: Any) -> Any:
        return gy * self.outside


# ----------------------------------------------------------------- the functions


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """CELU(x) = max(0, x) + min(0, α(exp(x/α) - 1)).

    Example:
        >>> import shenjing as sj
        >>> round(sj.celu(sj.tensor([-1.0]), alpha=2.0).item(), 4)
        -0.7869
    """
    _refuse_inplace("celu", inplace)
    if alpha == 0:
        raise ValueError("celu: alpha must be non-zero. Received: alpha=0")
    return CELU.apply(_floating("celu", input), alpha=float(alpha))


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """SELU(x) = scale·(max(0, x) + min(0, α(exp(x) - 1))), α ≈ 1.6733, scale ≈ 1.0507."""
    _refuse_inplace("selu", inplace)
    return SELU.apply(_floating("selu", input))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """SiLU(x) = x·σ(x) (also called swish).

    Example:
        >>> import shenjing as sj
        >>> round(sj.silu(sj.tensor([1.0])).item(), 4)
        0.7311
    """
    _refuse_inplace("silu", inplace)
    return SiLU.apply(_floating("silu", input))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """Mish(x) = x·tanh(softplus(x))."""
    _refuse_inplace("mish", inplace)
    return Mish.apply(_floating("mish", input))


def hardtanh(
    input: Tensor,
    min_val: float = -1.0,
    max_val: float = 1.0,
    inplace: bool = False,
) -> Tensor:
    """Hardtanh(x) = clip(x, min_val, max_val); the gradient is 1 strictly inside."""
    _refuse_inplace("hardtanh", inplace)
    if not min_val < max_val:
        raise ValueError(
            f"hardtanh: min_val must be below max_val. Received: min_val={min_val}, "
            f"max_val={max_val}"
        )
    return Hardtanh.apply(
        _floating("hardtanh", input), min_val=float(min_val), max_val=float(max_val)
    )


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """ReLU6(x) = min(max(0, x), 6)."""
    _refuse_inplace("relu6", inplace)
    return Hardtanh.apply(_floating("relu6", input), min_val=0.0, max_val=6.0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """Hardsigmoid(x) = clip(x/6 + 1/2, 0, 1)."""
    _refuse_inplace("hardsigmoid", inplace)
    return Hardsigmoid.apply(_floating("hardsigmoid", input))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """Hardswish(x) = x·clip(x + 3, 0, 6)/6 (MobileNetV3)."""
    _refuse_inplace("hardswish", inplace)
    return Hardswish.apply(_floating("hardswish", input))


def softsign(input: Tensor) -> Tensor:
    """Softsign(x) = x / (1 + |x|)."""
    return Softsign.apply(_floating("softsign", input))


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x), computed stably for any x.

    Example:
        >>> import shenjing as sj
        >>> sj.logsigmoid(sj.tensor([-200.0])).item()
        -200.0
    """
    return LogSigmoid.apply(_floating("logsigmoid", input))


def tanhshrink(input: Tensor) -> Tensor:
    """Tanhshrink(x) = x - tanh(x)."""
    return Tanhshrink.apply(_floating("tanhshrink", input))


def _check_lambd(op: str, lambd: float) -> float:
    if not lambd >= 0:
        raise ValueError(f"{op}: lambd must be non-negative. Received: lambd={lambd}")
    return float(lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Softshrink(x) = x - λ for x > λ, x + λ for x < -λ, 0 otherwise."""
    return Softshrink.apply(_floating("softshrink", input), lambd=_check_lambd("softshrink", lambd))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Hardshrink(x) = x where |x| > λ, 0 otherwise."""
    return Hardshrink.apply(_floating("hardshrink", input), lambd=_check_lambd("hardshrink", lambd))


def softmin(input: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """softmin(x) = softmax(-x) along ``dim`` (``axis`` is its NumPy spelling).

    Unlike PyTorch, which picks an implicit dimension with a deprecation warning, the
    dimension must be given.
    """
    x = _floating("softmin", input)
    if (dim is None) == (axis is None):
        raise TypeError(
            f"softmin: give exactly one of dim and axis. Received: dim={dim}, axis={axis}"
        )
    axis = _single_axis("softmin", x, dim if dim is not None else axis)
    return softmax(neg(x), axis=axis)
