"""Per-sample normalisation: layer norm, group norm, and scaling vectors to unit p-norm.

Layer and group norm share batch norm's algebra but take their statistics within each
sample, so training and evaluation compute the same thing and no running statistics are
kept. Each is one fused ``Function`` with a hand-derived backward.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops._util import column_sums, normalize_axis
from shenjing.tensor import Tensor, as_tensor

__all__ = ["group_norm", "layer_norm", "normalize"]


def _standardize(x: Any, axes: tuple[int, ...], eps: float) -> tuple[Any, Any]:
    """x̂ = (x - μ)/√(σ² + ε) over ``axes`` (biased σ²), and 1/√(σ² + ε) kept for backward."""
    xp = get_array_module(x)
    x_hat = x - x.mean(axis=axes, keepdims=True)
    inv_std = 1.0 / xp.sqrt((x_hat * x_hat).mean(axis=axes, keepdims=True) + eps)
    x_hat *= inv_std
    return x_hat, inv_std


def _standardize_backward(g: Any, x_hat: Any, inv_std: Any, axes: tuple[int, ...]) -> Any:
    """gx = (1/√(σ² + ε))·(gx̂ - mean(gx̂) - x̂·mean(gx̂·x̂)), the means over ``axes``."""
    gx = g - g.mean(axis=axes, keepdims=True)
    gx -= x_hat * (g * x_hat).mean(axis=axes, keepdims=True)
    gx *= inv_std
    return gx


class LayerNorm(Function):
    """x̂ = (x - μ)/√(σ² + ε) with μ, σ² over the last k axes of each sample, y = γ·x̂ + β;
    gx = (1/√(σ² + ε))·(ĝ - mean ĝ - x̂·mean(ĝ·x̂)) with ĝ = γ·gy,
    gγ = Σ gy·x̂ and gβ = Σ gy over the leading axes.

    The inputs are x, then γ if ``has_weight``, then β if ``has_bias`` (shape of the last
    k axes).
    """

    def forward(self, x: Any, *affine: Any, k: int, has_weight: bool, has_bias: bool,
                eps: float) -> Any:
        self.axes = tuple(range(x.ndim - k, x.ndim))
        self.has_weight, self.has_bias = has_weight, has_bias
        self.x_hat, self.inv_std = _standardize(x, self.axes, eps)
        self.weight = affine[0] if has_weight else None
        y = self.x_hat if self.weight is None else self.x_hat * self.weight
        if has_bias:
            y = y + affine[-1]
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        gx = None
        if self.needs_input_grad[0]:
            g = gy if self.weight is None else gy * self.weight
            gx = _standardize_backward(g, self.x_hat, self.inv_std, self.axes)
        grads = [gx]
        features = self.x_hat.shape[gy.ndim - len(self.axes):]
        # Σ over the leading axes as one BLAS product over rows (see column_sums)
        if self.has_weight:
            grads.append(column_sums((gy * self.x_hat).reshape(-1, math.prod(features)))
                         .reshape(features))
        if self.has_bias:
            grads.append(column_sums(gy.reshape(-1, math.prod(features))).reshape(features))
        return tuple(grads)


class GroupNorm(Function):
    """x (N, C, *) split into G groups of C/G channels; x̂ standardised within each sample
    and group, y = γ_c·x̂ + β_c per channel c;
    gx = (1/√(σ² + ε))·(ĝ - mean ĝ - x̂·mean(ĝ·x̂)) per group with ĝ = γ_c·gy,
    gγ_c = Σ gy·x̂ and gβ_c = Σ gy over every axis but 1."""

    def forward(self, x: Any, *affine: Any, groups: int, has_weight: bool, has_bias: bool,
                eps: float) -> Any:
        self.shape, self.groups = x.shape, groups
        self.has_weight, self.has_bias = has_weight, has_bias
        self.param_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        x_hat, self.inv_std = _standardize(x.reshape(x.shape[0], groups, -1), (2,), eps)
        self.x_hat = x_hat.reshape(x.shape)
        self.weight = affine[0].reshape(self.param_shape) if has_weight else None
        y = self.x_hat if self.weight is None else self.x_hat * self.weight
        if has_bias:
            y = y + affine[-1].reshape(self.param_shape)
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        axes = (0, *range(2, gy.ndim))
        gx = None
        if self.needs_input_grad[0]:
            g = gy if self.weight is None else gy * self.weight
            grouped = (self.shape[0], self.groups, -1)
            gx = _standardize_backward(
                g.reshape(grouped), self.x_hat.reshape(grouped), self.inv_std, (2,)
            ).reshape(self.shape)
        grads = [gx]
        if self.has_weight:
            grads.append((gy * self.x_hat).sum(axis=axes))
        if self.has_bias:
            grads.append(gy.sum(axis=axes))
        return tuple(grads)


class Normalize(Function):
    """y = x / max(‖x‖_p, ε) along an axis, with torch.norm's ‖x‖_p: (Σ|x|^p)^(1/p) for
    p ≠ 0 (0 when p < 0 and some x is 0), the count of non-zeros for p = 0, max|x| / min|x|
    for p = ±∞;
    gx = gy/d - [‖x‖_p > ε]·(Σ gy·x)/d²·∂‖x‖_p/∂x, d = max(‖x‖_p, ε), where
    ∂‖x‖_p/∂x = sign(x)|x|^(p-1)/‖x‖_p^(p-1) (0 where x = 0), 0 for p = 0, and for
    p = ±∞ sign(x) shared evenly among the elements at the max / min (PyTorch's rule)."""

    def forward(self, x: Any, p: float, axis: int, eps: float) -> Any:
        xp = get_array_module(x)
        self.x, self.p, self.axis = x, p, axis
        size = xp.abs(x)
        if p == 2:
            self.norm = xp.sqrt((size * size).sum(axis=axis, keepdims=True))
        elif p == 0:
            self.norm = (x != 0).sum(axis=axis, keepdims=True).astype(x.dtype)
        elif math.isinf(p):
            self.norm = (size.max if p > 0 else size.min)(axis=axis, keepdims=True)
        elif p > 0:
            self.norm = (size**p).sum(axis=axis, keepdims=True) ** (1.0 / p)
        else:  # |0|^p is +∞, so a zero makes the norm 0: keep the powers finite
            safe = xp.where(size == 0, 1, size)
            self.norm = (safe**p).sum(axis=axis, keepdims=True) ** (1.0 / p)
            self.norm = xp.where((size == 0).any(axis=axis, keepdims=True), 0, self.norm)
        self.d = xp.maximum(self.norm, eps)
        self.above = self.norm > eps
        return x / self.d

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        x, d, p = self.x, self.d, self.p
        gx = gy / d
        if p == 0:  # a count: no gradient through the norm
            return gx
        dot = xp.where(self.above, (gy * x).sum(axis=self.axis, keepdims=True) / (d * d), 0)
        # ∂‖x‖_p/∂x, taken where ‖x‖_p = d (elsewhere ``dot`` is 0)
        if p == 2:
            slope = x / d
        elif math.isinf(p):
            at = xp.abs(x) == self.norm
            slope = xp.sign(x) * at / at.sum(axis=self.axis, keepdims=True)
        else:
            size = xp.abs(x)
            safe = xp.where(size == 0, 1, size)
            slope = xp.sign(x) * safe ** (p - 1) / d ** (p - 1)
        gx -= dot * slope
        return gx


# ----------------------------------------------------------------- the functions


def _affine(op: str, tensor: Any, shape: tuple[int, ...], name: str) -> list[Tensor]:
    """[tensor] checked to have ``shape``, or [] when it is None."""
    if tensor is None:
        return []
    tensor = as_tensor(tensor)
    if tensor.shape != shape:
        raise ValueError(f"{op}: {name} must have shape {shape}. Received: {tensor.shape}")
    return [tensor]


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalisation (Ba et al., 2016) over the trailing ``normalized_shape`` axes.

    Example:
        >>> import shenjing as sj
        >>> y = sj.layer_norm(sj.tensor([[1.0, 3.0]]), 2)
        >>> [round(v, 3) for v in y.tolist()[0]]
        [-1.0, 1.0]
    """
    x = as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or x.shape[x.ndim - len(shape):] != shape or len(shape) > x.ndim:
        raise ValueError(
            f"layer_norm: normalized_shape {shape} must be the trailing dimensions of the "
            f"input. Received: input shape {x.shape}"
        )
    affine = _affine("layer_norm", weight, shape, "weight")
    has_weight = bool(affine)
    affine += _affine("layer_norm", bias, shape, "bias")
    return LayerNorm.apply(x, *affine, k=len(shape), has_weight=has_weight,
                           has_bias=bias is not None, eps=float(eps))


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Group normalisation (Wu & He, 2018): input (N, C, *) standardised within each sample
    over groups of C/num_groups channels, then scaled and shifted per channel.

    Example:
        >>> import shenjing as sj
        >>> sj.group_norm(sj.randn(2, 4, 3), 2).shape
        (2, 4, 3)
    """
    x = as_tensor(input)
    if x.ndim < 2 or num_groups < 1 or x.shape[1] % num_groups:
        raise ValueError(
            f"group_norm: input must be (N, C, *) with C divisible by num_groups. Received: "
            f"input shape {x.shape}, num_groups={num_groups}"
        )
    affine = _affine("group_norm", weight, (x.shape[1],), "weight")
    has_weight = bool(affine)
    affine += _affine("group_norm", bias, (x.shape[1],), "bias")
    return GroupNorm.apply(x, *affine, groups=int(num_groups), has_weight=has_weight,
                           has_bias=bias is not None, eps=float(eps))


def normalize(
    input: Tensor,
    p: float = 2.0,
    dim: int = 1,
    eps: float = 1e-12,
) -> Tensor:
    """x / max(‖x‖_p, eps) along ``dim``: unit p-norm vectors, as PyTorch's ``F.normalize``.

    ‖x‖_p is ``torch.norm``'s for every p: p = 0 counts the non-zeros, p = ±inf takes
    max/min |x|, and a negative p gives (Σ|x|^p)^(1/p), which is 0 when some x is 0.

    Example:
        >>> import shenjing as sj
        >>> sj.normalize(sj.tensor([[3.0, 4.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """
    x = as_tensor(input)
    if _bfloat16.kind(x.dtype) != "f":
        raise TypeError(f"normalize: input must be floating-point. Received: dtype={x.dtype}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or math.isnan(p):
        raise TypeError(f"normalize: p must be a number. Received: p={p!r}")
    (axis,) = normalize_axis("normalize", dim, x.ndim)
    return Normalize.apply(x, p=float(p), axis=axis, eps=float(eps))
