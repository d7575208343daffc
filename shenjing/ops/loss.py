"""Loss functions: one number saying how far predictions are from targets.

Every loss is one fused ``Function`` (elementwise loss and reduction together) with a
hand-derived backward, and takes ``reduction``: ``"mean"`` (the default) averages the
per-element losses, ``"sum"`` adds them, ``"none"`` returns them unreduced.

Targets: float targets of the regression and binary losses get a gradient when they
require one, as in PyTorch (useful when both sides are network outputs); class labels
are integers and get none. ``weight`` and ``pos_weight`` are constants and must not
require a gradient.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.backend import device_of, get_array_module, on_host, to_device
from shenjing.tensor import Tensor, as_tensor

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "huber_loss", "kl_div",
    "l1_loss", "mse_loss", "smooth_l1_loss",
]

_REDUCTIONS = ("mean", "sum", "none")
_LOG_FLOOR = -100.0  # PyTorch's clamp on log(p) in binary_cross_entropy
_BCE_GRAD_EPS = 1e-12  # PyTorch's floor on p(1 - p) in binary_cross_entropy's backward


def _reduce(losses: Any, reduction: str) -> Any:
    if reduction == "mean":  # sum / n is what mean() computes, without its Python wrapper
        return losses.sum() / losses.size
    if reduction == "sum":
        return losses.sum()
    return losses


def _scale(gy: Any, reduction: str, count: int) -> Any:
    """d(reduced loss)/d(each element's loss), times the incoming gradient."""
    return gy / count if reduction == "mean" else gy


class MSELoss(Function):
    """ℓ = (x - t)²;  gx = 2(x - t)·gℓ, gt = -gx."""

    def forward(self, x: Any, t: Any, reduction: str) -> Any:
        self.reduction, self.diff = reduction, x - t
        return _reduce(self.diff * self.diff, reduction)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        gx = self.diff * (2 * _scale(gy, self.reduction, self.diff.size))
        return gx, (-gx if self.needs_input_grad[1] else None)


class L1Loss(Function):
    """ℓ = |x - t|;  gx = sign(x - t)·gℓ, gt = -gx."""

    def forward(self, x: Any, t: Any, reduction: str) -> Any:
        xp = get_array_module(x)
        self.reduction, self.diff = reduction, x - t
        return _reduce(xp.abs(self.diff), reduction)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        xp = get_array_module(gy)
        gx = xp.sign(self.diff) * _scale(gy, self.reduction, self.diff.size)
        return gx, (-gx if self.needs_input_grad[1] else None)


class HuberLoss(Function):
    """ℓ = d²/2 where |d| < δ, else δ(|d| - δ/2), with d = x - t;
    gx = clip(d, -δ, δ)·gℓ, gt = -gx."""

    def forward(self, x: Any, t: Any, reduction: str, delta: float) -> Any:
        xp = get_array_module(x)
        self.reduction, self.delta, self.diff = reduction, delta, x - t
        size = xp.abs(self.diff)
        losses = xp.where(size < delta, 0.5 * self.diff * self.diff, delta * (size - 0.5 * delta))
        return _reduce(losses, reduction)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        xp = get_array_module(gy)
        gx = xp.clip(self.diff, -self.delta, self.delta)
        gx *= _scale(gy, self.reduction, self.diff.size)
        return gx, (-gx if self.needs_input_grad[1] else None)


class BinaryCrossEntropy(Function):
    """ℓ = -w[t·log p + (1 - t)·log(1 - p)], each log clamped to >= -100;
    gp = w(p - t) / max(p(1 - p), 1e-12)·gℓ, gt = -w[log p - log(1 - p)]·gℓ."""

    # log(0) = -inf is expected at saturated probabilities; the clamp handles it. A
    # probability outside [0, 1] gives NaN, which binary_cross_entropy then reports.
    @np.errstate(divide="ignore", invalid="ignore")  # cheaper than a with block (see σ)
    def forward(self, p: Any, t: Any, w: Any | None, reduction: str) -> Any:
        xp = get_array_module(p)
        self.reduction, self.p, self.t, self.w = reduction, p, t, w
        log_p = xp.maximum(xp.log(p), _LOG_FLOOR)
        log_not_p = xp.maximum(xp.log1p(-p), _LOG_FLOOR)
        self.log_odds = log_p - log_not_p
        losses = self.log_odds * t
        losses += log_not_p
        if w is not None:
            losses = losses * w
        return -_reduce(losses, reduction)  # negated after a reduction: a scalar

    def backward(self, gy: Any) -> tuple[Any, Any]:
        xp = get_array_module(gy)
        p, w = self.p, self.w
        scale = _scale(gy, self.reduction, p.size)
        if w is not None:
            scale = scale * w
        gp = gt = None
        if self.needs_input_grad[0]:
            gp = (p - self.t) / xp.maximum(p * (1 - p), _BCE_GRAD_EPS)
            gp *= scale
        if self.needs_input_grad[1]:
            gt = -self.log_odds * scale
        return gp, gt


class BinaryCrossEntropyWithLogits(Function):
    """ℓ = w[(1 - t)·x + (1 + (c - 1)t)·softplus(-x)], c the positive-class weight;
    gx = w[(1 + (c - 1)t)·σ(x) - c·t]·gℓ, gt = w[(c - 1)·softplus(-x) - x]·gℓ."""

    def forward(
        self, x: Any, t: Any, w: Any | None, pos_weight: Any | None, reduction: str
    ) -> Any:
        xp = get_array_module(x)
        self.reduction, self.x, self.t, self.w, self.c = reduction, x, t, w, pos_weight
        # softplus(-x) = max(-x, 0) + log(1 + exp(-|x|)): exp never overflows.
        self.e = xp.exp(-xp.abs(x))
        self.softplus_neg = xp.maximum(-x, 0) + xp.log1p(self.e)
        losses = x - t * x
        if pos_weight is None:
            self.softplus_weight = None
            losses += self.softplus_neg
        else:
            self.softplus_weight = 1 + (pos_weight - 1) * t
            losses += self.softplus_weight * self.softplus_neg
        if w is not None:
            losses *= w
        return _reduce(losses, reduction)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        xp = get_array_module(gy)
        scale = _scale(gy, self.reduction, self.x.size)
        if self.w is not None:
            scale = scale * self.w
        gx = gt = None
        if self.needs_input_grad[0]:
            # σ(x) from exp(-|x|), the same stable form as sigmoid's forward.
            gx = xp.where(self.x >= 0, 1.0, self.e) / (1 + self.e)
            if self.c is None:
                gx -= self.t
            else:
                gx *= self.softplus_weight
                gx -= self.c * self.t
            gx *= scale
        if self.needs_input_grad[1]:
            gt = -self.x if self.c is None else (self.c - 1) * self.softplus_neg - self.x
            gt = gt * scale
        return gx, gt


class KLDivLoss(Function):
    """ℓ = t·(log t - x) (0 where t = 0), or exp(t)·(t - x) with log_target, x = log p;
    gx = -t·gℓ (or -exp(t)·gℓ), gt = (log t + 1 - x)·gℓ (or exp(t)·(t - x + 1)·gℓ)."""

    # log(0) = -inf where t = 0 is expected: those elements are then set to 0.
    @np.errstate(divide="ignore", invalid="ignore")
    def forward(self, x: Any, t: Any, reduction: str, log_target: bool) -> Any:
        xp = get_array_module(x)
        self.reduction, self.x, self.t, self.log_target = reduction, x, t, log_target
        if log_target:
            self.p = xp.exp(t)
            self.log_t = t
            losses = self.p * (t - x)
        else:
            self.p = t
            self.log_t = xp.log(t)
            losses = xp.where(t > 0, t * (self.log_t - x), 0).astype(x.dtype, copy=False)
        if reduction == "batchmean":
            batch = x.shape[0] if x.ndim else 1
            return losses.sum() / batch
        return _reduce(losses, reduction)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        xp = get_array_module(gy)
        if self.reduction == "batchmean":
            scale = gy / (self.x.shape[0] if self.x.ndim else 1)
        else:
            scale = _scale(gy, self.reduction, self.x.size)
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = -self.p * scale
        if self.needs_input_grad[1]:
            gt = self.log_t + 1 - self.x
            gt = gt * self.p if self.log_target else xp.where(self.t > 0, gt, 0)
            gt = gt * scale
        return gx, gt


# ----------------------------------------------------------------- the functions


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f'{op}: reduction must be "mean", "sum" or "none". Received: {reduction!r}'
        )


def _pair(op: str, input: Any, target: Any) -> tuple[Tensor, Tensor]:
    """Floating input and a target of the same shape, converted to the input's dtype."""
    input = as_tensor(input)
    if _bfloat16.kind(input.dtype) != "f":
        raise TypeError(f"{op}: input must be floating-point. Received: dtype={input.dtype}")
    target = as_tensor(target, input)
    if target.shape != input.shape:
        raise ValueError(
            f"{op}: input and target must have the same shape. Received: input shape "
            f"{input.shape}, target shape {target.shape}"
        )
    if target.dtype != input.dtype:
        target = target.astype(input.dtype)
    return input, target


def _constant(op: str, name: str, value: Any, input: Tensor) -> Any:
    """The array of a constant weight that broadcasts to the input, or None."""
    if value is None:
        return None
    value = as_tensor(value, input)
    if value.requires_grad:
        raise ValueError(f"{op}: {name} is a constant and cannot require a gradient")
    try:
        shape = np.broadcast_shapes(value.shape, input.shape)
    except ValueError:
        shape = None
    if shape != input.shape:
        raise ValueError(
            f"{op}: {name} must broadcast to the input's shape. Received: {name} shape "
            f"{value.shape}, input shape {input.shape}"
        )
    data = value.array
    if type(data) is not type(input.array):  # a host array given for a GPU loss
        data = to_device(data, device_of(input.array))
    return data.astype(input.dtype, copy=False)


def mse_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Mean squared error: ℓ = (input - target)², reduced.

    Example:
        >>> import shenjing as sj
        >>> sj.mse_loss(sj.tensor([1.0, 3.0]), sj.tensor([0.0, 0.0])).item()
        5.0
    """
    _check_reduction("mse_loss", reduction)
    return MSELoss.apply(*_pair("mse_loss", input, target), reduction=reduction)


def l1_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Mean absolute error: ℓ = |input - target|, reduced; its gradient at 0 is 0."""
    _check_reduction("l1_loss", reduction)
    return L1Loss.apply(*_pair("l1_loss", input, target), reduction=reduction)


def huber_loss(
    input: Tensor,
    target: Tensor,
    *,
    reduction: str = "mean",
    delta: float = 1.0,
) -> Tensor:
    """Huber loss: ℓ = d²/2 where |d| < δ, else δ(|d| - δ/2), with d = input - target.

    Quadratic near zero, linear (so robust to outliers) beyond ``delta``.
    """
    _check_reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive. Received: delta={delta}")
    return HuberLoss.apply(
        *_pair("huber_loss", input, target), reduction=reduction, delta=float(delta)
    )


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    *,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Smooth L1: ℓ = d²/(2β) where |d| < β, else |d| - β/2, with d = input - target.

    It is the Huber loss divided by β (``huber_loss(delta=beta) / beta``); β = 0 is the
    L1 loss, as in PyTorch.

    Example:
        >>> import shenjing as sj
        >>> sj.smooth_l1_loss(sj.tensor([0.5, 3.0]), sj.tensor([0.0, 0.0])).item()
        1.3125
    """
    _check_reduction("smooth_l1_loss", reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative. Received: beta={beta}")
    input, target = _pair("smooth_l1_loss", input, target)
    if beta == 0:
        return L1Loss.apply(input, target, reduction=reduction)
    loss = HuberLoss.apply(input, target, reduction=reduction, delta=float(beta))
    return loss if beta == 1 else loss * (1.0 / beta)


def kl_div(
    input: Tensor,
    target: Tensor,
    *,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence KL(target ‖ p) for log-probabilities ``input`` = log p.

    ℓ = target·(log target - input) elementwise (0 where target = 0); with
    ``log_target=True`` the target is given as log-probabilities too. ``reduction``:
    ``"batchmean"`` (sum / batch size: the true KL per sample, what PyTorch recommends),
    ``"sum"``, ``"mean"`` (over every element, PyTorch's default), or ``"none"``.

    Example:
        >>> import shenjing as sj
        >>> p = sj.tensor([[0.5, 0.5]])
        >>> sj.kl_div(sj.log(p), p, reduction="batchmean").item()
        0.0
    """
    if reduction not in (*_REDUCTIONS, "batchmean"):
        raise ValueError(
            f'kl_div: reduction must be "mean", "batchmean", "sum" or "none". '
            f"Received: {reduction!r}"
        )
    input, target = _pair("kl_div", input, target)
    return KLDivLoss.apply(input, target, reduction=reduction, log_target=bool(log_target))


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy on probabilities: ℓ = -w[t·log p + (1 - t)·log(1 - p)].

    ``input`` holds probabilities p in [0, 1] (e.g. a sigmoid's output); each log is
    clamped to >= -100 as in PyTorch, so p = 0 or 1 gives a finite loss. ``weight``
    (broadcast to the input) rescales each element. For raw scores prefer
    ``binary_cross_entropy_with_logits``, which is stable for any score.

    Example:
        >>> import shenjing as sj
        >>> round(sj.binary_cross_entropy(sj.tensor([0.5]), sj.tensor([1.0])).item(), 4)
        0.6931
    """
    op = "binary_cross_entropy"
    _check_reduction(op, reduction)
    input, target = _pair(op, input, target)
    w = _constant(op, "weight", weight, input)
    if reduction == "none":
        _check_probabilities(op, input)
        return BinaryCrossEntropy.apply(input, target, w=w, reduction=reduction)
    loss = BinaryCrossEntropy.apply(input, target, w=w, reduction=reduction)
    # A probability outside [0, 1] makes its log NaN: the reduced loss says when to look.
    # Only on the host: on a GPU the look would read the loss back every step (NaN then
    # reaches fit's TerminateOnNaN instead).
    if on_host(loss.array) and not math.isfinite(loss.array):
        _check_probabilities(op, input)
    return loss


def _check_probabilities(op: str, p: Tensor) -> None:
    low, high = (float(p.array.min()), float(p.array.max())) if p.numel() else (0.0, 1.0)
    if low < 0 or high > 1:
        raise ValueError(
            f"{op}: input must hold probabilities in [0, 1]. Received: values from "
            f"{low} to {high}"
        )


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid and binary cross-entropy fused: ℓ = -w[c·t·log σ(x) + (1 - t)·log(1 - σ(x))].

    Computed as w[(1 - t)x + (1 + (c - 1)t)·softplus(-x)], finite for any score x.
    ``pos_weight`` c (broadcast along the last axis, one per class) weighs the positive
    class; ``weight`` w rescales each element.

    Example:
        >>> import shenjing as sj
        >>> f = sj.binary_cross_entropy_with_logits
        >>> round(f(sj.tensor([100.0]), sj.tensor([0.0])).item(), 4)
        100.0
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(op, reduction)
    input, target = _pair(op, input, target)
    return BinaryCrossEntropyWithLogits.apply(
        input,
        target,
        w=_constant(op, "weight", weight, input),
        pos_weight=_constant(op, "pos_weight", pos_weight, input),
        reduction=reduction,
    )
