"""Activation functions: the nonlinearities between layers, from the perceptron's step to
GELU, plus softmax and log-softmax.

Each is one fused ``Function``; where the derivative is cheaper or more stable in terms of
the output (sigmoid, tanh, softmax), backward reuses the saved output.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._erf import erf
from shenjing.ops._util import normalize_axis, resolve_dim, sigmoid_of_negated_, unbroadcast
from shenjing.tensor import Tensor, as_tensor

__all__ = [
    "elu", "gelu", "leaky_relu", "log_softmax", "prelu", "relu", "sigmoid", "softmax",
    "softplus", "step", "tanh",
]

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_CUBIC = 0.044715


# ------------------------------------------------------------------------ the ops


class Step(Function):
    """y = 1 where x > 0 else 0 (Heaviside);  gx = 0 everywhere."""

    def forward(self, x: Any) -> Any:
        return (x > 0).astype(x.dtype)

    def backward(self, gy: Any) -> Any:
        return get_array_module(gy).zeros_like(gy)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  gx = gy * y * (1 - y)."""

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        y = xp.negative(x, out=xp.empty_like(x))  # an array even for 0-d x
        sigmoid_of_negated_(y)  # 0 below x ≈ -88.7 in float32, as PyTorch gives
        self.y = y
        return y

    def backward(self, gy: Any) -> Any:
        # NOTE: from the output: σ'(x) = σ(x)(1 - σ(x)) needs no second exp.
        y = self.y
        gx = 1 - y
        gx *= y
        gx *= gy
        return gx


class Tanh(Function):
    """y = tanh(x);  gx = gy * (1 - y²)."""

    def forward(self, x: Any) -> Any:
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, gy: Any) -> Any:
        # NOTE: from the output: tanh'(x) = 1 - tanh(x)² needs no cosh.
        gx = 1 - self.y * self.y
        gx *= gy
        return gx


class ReLU(Function):
    """y = max(x, 0);  gx = gy where x > 0, else 0."""

    def forward(self, x: Any) -> Any:
        if hasattr(self, "needs_input_grad"):  # recorded: backward will need the mask
            self.positive = x > 0
        return get_array_module(x).maximum(x, 0)

    def backward(self, gy: Any) -> Any:
        return gy * self.positive


class LeakyReLU(Function):
    """y = x where x > 0, else slope·x;  gx = gy where x > 0, else slope·gy."""

    def forward(self, x: Any, negative_slope: float) -> Any:
        xp = get_array_module(x)
        self.positive, self.slope = x > 0, negative_slope
        return xp.where(self.positive, x, x * negative_slope)

    def backward(self, gy: Any) -> Any:
        return get_array_module(gy).where(self.positive, gy, gy * self.slope)


class PReLU(Function):
    """y = x where x > 0, else w_c·x, with one slope per channel c (axis 1);
    gx = gy where x > 0, else w_c·gy;  gw_c = Σ gy·x over x <= 0 in channel c."""

    def forward(self, x: Any, w: Any) -> Any:
        xp = get_array_module(x)
        # w of shape (C,) or (1,) broadcast along axis 1 (every axis for rank < 2).
        shape = [1] * x.ndim
        if x.ndim >= 2:
            shape[1] = w.size
        self.w_shape, self.w = w.shape, w.reshape(shape)
        self.x, self.positive = x, x > 0
        return xp.where(self.positive, x, x * self.w)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        xp = get_array_module(gy)
        gx = gw = None
        if self.needs_input_grad[0]:
            gx = xp.where(self.positive, gy, gy * self.w)
        if self.needs_input_grad[1]:
            gw_full = xp.where(self.positive, 0, gy * self.x)
            gw = unbroadcast(gw_full, self.w.shape).reshape(self.w_shape)
        return gx, gw


class ELU(Function):
    """y = x where x > 0, else α(exp(x) - 1);  gx = gy where x > 0, else gy·(y + α)."""

    def forward(self, x: Any, alpha: float) -> Any:
        xp = get_array_module(x)
        self.positive, self.alpha = x > 0, alpha
        # expm1 of min(x, 0): the discarded branch must not overflow for large x.
        self.y = xp.where(self.positive, x, alpha * xp.expm1(xp.minimum(x, 0)))
        return self.y

    def backward(self, gy: Any) -> Any:
        # NOTE: from the output: for x <= 0, α·exp(x) = y + α.
        return get_array_module(gy).where(self.positive, gy, gy * (self.y + self.alpha))


class GELU(Function):
    """y = x·Φ(x), Φ(x) = (1 + erf(x/√2))/2;  gx = gy·(Φ(x) + x·φ(x)), φ(x) = exp(-x²/2)/√(2π)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        cdf = erf(x * _SQRT_HALF)
        cdf += 1
        cdf *= 0.5
        self.cdf = cdf
        return x * cdf

    def backward(self, gy: Any) -> Any:
        x = self.x
        gx = get_array_module(x).exp(-0.5 * x * x)
        gx *= x * _INV_SQRT_2PI
        gx += self.cdf
        gx *= gy
        return gx


class GELUTanh(Function):
    """y = x(1 + t)/2 with t = tanh(k(x + c·x³)), k = √(2/π), c = 0.044715;
    gx = gy·((1 + t)/2 + x(1 - t²)·k(1 + 3c·x²)/2)."""

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        self.x = x
        self.t = xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_TANH_CUBIC * x * x * x))
        return 0.5 * x * (1 + self.t)

    def backward(self, gy: Any) -> Any:
        x, t = self.x, self.t
        inner_slope = _SQRT_2_OVER_PI * (1 + 3 * _GELU_TANH_CUBIC * x * x)
        gx = 0.5 * x * (1 - t * t) * inner_slope
        gx += 0.5 * (1 + t)
        gx *= gy
        return gx


class Softplus(Function):
    """y = log(1 + exp(βx))/β, or x where βx > threshold;
    gx = gy·σ(βx), or gy where βx > threshold."""

    def forward(self, x: Any, beta: float, threshold: float) -> Any:
        xp = get_array_module(x)
        z = x * beta if beta != 1 else x
        self.linear = z > threshold
        # log(1 + exp(z)) = max(z, 0) + log(1 + exp(-|z|)): exp never overflows.
        self.e = xp.exp(-xp.abs(z))
        self.z_nonnegative = z >= 0
        softplus_z = xp.maximum(z, 0) + xp.log1p(self.e)
        if beta != 1:
            softplus_z /= beta
        return xp.where(self.linear, x, softplus_z)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        sigmoid_z = xp.where(self.z_nonnegative, 1.0, self.e) / (1 + self.e)
        return xp.where(self.linear, gy, gy * sigmoid_z)


class Softmax(Function):
    """y = exp(x) / Σ exp(x) along axis;  gx = y·(gy - Σ gy·y)."""

    def forward(self, x: Any, axis: int) -> Any:
        xp = get_array_module(x)
        self.axis = axis
        # Subtracting the max leaves y unchanged and keeps exp from overflowing.
        y = x - x.max(axis=axis, keepdims=True)
        xp.exp(y, out=y)
        y /= y.sum(axis=axis, keepdims=True)
        self.y = y
        return y

    def backward(self, gy: Any) -> Any:
        # NOTE: from the output: the Jacobian is diag(y) - y·yᵀ.
        y = self.y
        gx = gy * y
        gx -= y * gx.sum(axis=self.axis, keepdims=True)
        return gx


class LogSoftmax(Function):
    """y = x - log Σ exp(x) along axis;  gx = gy - softmax(x)·Σ gy."""

    def forward(self, x: Any, axis: int) -> Any:
        xp = get_array_module(x)
        self.axis = axis
        y = x - x.max(axis=axis, keepdims=True)
        exp_shifted = xp.exp(y)
        total = exp_shifted.sum(axis=axis, keepdims=True)
        y -= xp.log(total)
        exp_shifted /= total
        self.softmax = exp_shifted
        return y

    def backward(self, gy: Any) -> Any:
        return gy - self.softmax * gy.sum(axis=self.axis, keepdims=True)


# ----------------------------------------------------------------- the functions


def _floating(op: str, x: Any) -> Tensor:
    """x as a tensor, which must hold floating-point data."""
    x = as_tensor(x)
    if _bfloat16.kind(x.dtype) not in "fc":
        raise TypeError(f"{op} expects a floating-point tensor. Received: dtype={x.dtype}")
    return x


def _single_axis(op: str, x: Tensor, axis: int) -> int:
    """``axis`` as a non-negative int; 0 for a 0-d tensor, which the caller views as one
    element of shape (1,) (PyTorch accepts dim 0 or -1 there)."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an integer. Received: {axis!r}")
    axes = normalize_axis(op, int(axis), x.ndim)
    return axes[0] if axes else 0


def _refuse_inplace(op: str, inplace: bool) -> None:
    """Accept PyTorch's ``inplace=True``, computing out of place.

    PyTorch's in-place activation overwrites its input and returns it; here the op
    returns a new tensor with the same values and leaves the input as it was. Programs
    that use the returned value (``x = F.relu(x, inplace=True)``, ``nn.ReLU(inplace=True)``
    in a ``Sequential``) get the same numbers and gradients; only code that reads the
    *input* afterwards, expecting it overwritten, would differ. Overwriting for real is
    unsafe here: the op that made the input may have kept that very array for its
    backward (sigmoid, tanh and exp keep their output), and shenjing has no version
    counter to catch it, so a silent wrong gradient would be the price.
    """
    if not isinstance(inplace, bool):
        raise TypeError(f"{op}: inplace must be a bool. Received: {inplace!r}")


def step(x: Tensor) -> Tensor:
    """The perceptron's step (Heaviside) unit: 1 where x > 0, else 0.

    Its gradient is zero everywhere (and undefined at 0), so nothing before a step
    learns by backpropagation; ``backward()`` through it gives zeros.

    Example:
        >>> import shenjing as sj
        >>> sj.step(sj.tensor([-1.0, 0.0, 2.0])).tolist()
        [0.0, 0.0, 1.0]
    """
    return Step.apply(as_tensor(x))


def sigmoid(x: Tensor) -> Tensor:
    """σ(x) = 1 / (1 + exp(-x)). Below x ≈ -88.7 (float32), exp(-x) overflows to inf and
    σ(x) rounds to 0, as in PyTorch; no warning is raised for it.

    Example:
        >>> import shenjing as sj
        >>> sj.sigmoid(sj.tensor([0.0])).tolist()
        [0.5]
    """
    return Sigmoid.apply(_floating("sigmoid", x))


def tanh(x: Tensor) -> Tensor:
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))."""
    return Tanh.apply(_floating("tanh", x))


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """ReLU(x) = max(x, 0); its gradient at 0 is taken as 0 (``inplace=True`` computes
    out of place).

    Example:
        >>> import shenjing as sj
        >>> sj.relu(sj.tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """
    _refuse_inplace("relu", inplace)
    return ReLU.apply(as_tensor(x))


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """LeakyReLU(x) = x for x > 0, negative_slope·x otherwise (``inplace=True`` computes
    out of place)."""
    _refuse_inplace("leaky_relu", inplace)
    return LeakyReLU.apply(_floating("leaky_relu", x), negative_slope=float(negative_slope))


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """PReLU(x) = x for x > 0, w·x otherwise, with a learnable slope w.

    ``weight`` has shape (1,) (one slope for all) or (C,) (one per channel), the
    channels being axis 1 of ``x`` as in PyTorch; an input of rank < 2 takes one slope.
    ``weight`` gets a gradient when it requires one.

    Example:
        >>> import shenjing as sj
        >>> sj.prelu(sj.tensor([[-2.0, 3.0]]), sj.tensor([0.25])).tolist()
        [[-0.5, 3.0]]
    """
    x, weight = _floating("prelu", x), _floating("prelu", weight)
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.ndim != 1 or weight.shape[0] not in (1, channels):
        raise ValueError(
            f"prelu: weight must have shape (1,) or ({channels},) for an input of shape "
            f"{x.shape}. Received: weight shape {weight.shape}"
        )
    return PReLU.apply(x, weight)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """ELU(x) = x for x > 0, α(exp(x) - 1) otherwise (``inplace=True`` computes out of place)."""
    _refuse_inplace("elu", inplace)
    return ELU.apply(_floating("elu", x), alpha=float(alpha))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU(x) = x·Φ(x), Φ the standard normal CDF (Hendrycks & Gimpel, 2016).

    ``approximate="none"`` uses Φ(x) = (1 + erf(x/√2))/2 exactly (erf from SciPy when it is
    installed, else a Chebyshev series good to float64 precision); ``"tanh"`` uses
    x(1 + tanh(√(2/π)(x + 0.044715x³)))/2, as PyTorch does.

    Example:
        >>> import shenjing as sj
        >>> round(sj.gelu(sj.tensor([1.0])).item(), 4)
        0.8413
    """
    x = _floating("gelu", x)
    if approximate == "none":
        return GELU.apply(x)
    if approximate == "tanh":
        return GELUTanh.apply(x)
    raise ValueError(f'gelu: approximate must be "none" or "tanh". Received: {approximate!r}')


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Softplus(x) = log(1 + exp(βx))/β, a smooth ReLU; x itself where βx > threshold.

    Example:
        >>> import shenjing as sj
        >>> round(sj.softplus(sj.tensor([0.0])).item(), 4)
        0.6931
    """
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero. Received: beta=0")
    return Softplus.apply(
        _floating("softplus", x), beta=float(beta), threshold=float(threshold)
    )


def softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ) along ``dim`` (``axis`` is an alias); stable
    for any magnitude.

    Example:
        >>> import shenjing as sj
        >>> sj.softmax(sj.tensor([1000.0, 1000.0])).tolist()
        [0.5, 0.5]
    """
    if axis is not None:
        dim, _ = resolve_dim("softmax", None if dim == -1 else dim, False, axis)
    x = _floating("softmax", x)
    axis = _single_axis("softmax", x, dim)
    if not x.ndim:
        return Softmax.apply(x.reshape(1), axis=axis).reshape(())
    return Softmax.apply(x, axis=axis)


def log_softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """log_softmax(x)ᵢ = xᵢ - log Σⱼ exp(xⱼ) along ``dim`` (``axis`` is an alias),
    computed stably.

    Example:
        >>> import shenjing as sj
        >>> [round(v, 4) for v in sj.log_softmax(sj.tensor([0.0, 0.0])).tolist()]
        [-0.6931, -0.6931]
    """
    if axis is not None:
        dim, _ = resolve_dim("log_softmax", None if dim == -1 else dim, False, axis)
    x = _floating("log_softmax", x)
    axis = _single_axis("log_softmax", x, dim)
    if not x.ndim:
        return LogSoftmax.apply(x.reshape(1), axis=axis).reshape(())
    return LogSoftmax.apply(x, axis=axis)
