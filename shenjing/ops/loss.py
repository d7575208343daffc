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

from shenjing.autograd.function import Function
from shenjing.backend import device_of, get_array_module, to_device
from shenjing.tensor import Tensor, as_tensor

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "huber_loss", "l1_loss", "mse_loss", "nll_loss",
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


def _rows_by_class(x: Any, class_axis: int) -> Any:
    """(N, C, d1, ...) as (N·d1·..., C): one row of class scores per prediction."""
    if x.ndim == 2:
        return x
    xp = get_array_module(x)
    return xp.moveaxis(x, class_axis, -1).reshape(-1, x.shape[class_axis])


def _as_input_layout(g: Any, shape: tuple[int, ...], class_axis: int) -> Any:
    """The inverse of ``_rows_by_class``."""
    if len(shape) == 2:
        return g
    xp = get_array_module(g)
    moved = shape[:class_axis] + shape[class_axis + 1 :] + (shape[class_axis],)
    return xp.moveaxis(g.reshape(moved), -1, class_axis)


class SoftmaxCrossEntropy(Function):
    """ℓ = -Σ_c q_c·log softmax(z)_c with q = (1 - ε)·onehot(y) + ε/C (label smoothing ε);
    gz = (softmax(z) - q)·gℓ."""

    def forward(self, z: Any, labels: Any, reduction: str, label_smoothing: float) -> Any:
        xp = get_array_module(z)
        self.z_shape, self.class_axis = z.shape, 1 if z.ndim >= 2 else 0
        self.reduction, self.smoothing = reduction, label_smoothing
        self.labels_shape, self.labels = labels.shape, labels.reshape(-1)
        scores = _rows_by_class(z, self.class_axis)
        self.rows = xp.arange(scores.shape[0])
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp_shifted = xp.exp(shifted)
        total = exp_shifted.sum(axis=1)
        log_total = xp.log(total)
        losses = log_total - shifted[self.rows, self.labels]
        if label_smoothing:
            # -mean_c log softmax(z)_c = log Σ exp(shifted) - mean_c shifted
            uniform = log_total - shifted.mean(axis=1)
            losses *= 1 - label_smoothing
            losses += label_smoothing * uniform
        exp_shifted /= total[:, None]
        self.probs = exp_shifted
        return _reduce(losses.reshape(self.labels_shape), reduction)

    def backward(self, gy: Any) -> Any:
        classes = self.probs.shape[1]
        gz = self.probs - self.smoothing / classes
        gz[self.rows, self.labels] -= 1 - self.smoothing
        if self.reduction == "none":
            gz *= gy.reshape(-1, 1)
        else:
            gz *= _scale(gy, self.reduction, self.labels.size)
        return _as_input_layout(gz, self.z_shape, self.class_axis)


class NLLLoss(Function):
    """ℓ = -logp[y];  glogp = -gℓ at the label, 0 elsewhere."""

    def forward(self, log_probs: Any, labels: Any, reduction: str) -> Any:
        xp = get_array_module(log_probs)
        self.shape, self.class_axis = log_probs.shape, 1 if log_probs.ndim >= 2 else 0
        self.reduction, self.labels = reduction, labels.reshape(-1)
        self.rows = xp.arange(self.labels.size)
        scores = _rows_by_class(log_probs, self.class_axis)
        losses = -scores[self.rows, self.labels]
        return _reduce(losses.reshape(labels.shape), reduction)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        classes = self.shape[self.class_axis]
        g = xp.zeros((self.labels.size, classes), dtype=gy.dtype)
        if self.reduction == "none":
            g[self.rows, self.labels] = -gy.reshape(-1)
        else:
            g[self.rows, self.labels] = -_scale(gy, self.reduction, self.labels.size)
        return _as_input_layout(g, self.shape, self.class_axis)


# ----------------------------------------------------------------- the functions


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f'{op}: reduction must be "mean", "sum" or "none". Received: {reduction!r}'
        )


def _pair(op: str, input: Any, target: Any) -> tuple[Tensor, Tensor]:  # noqa: A002
    """Floating input and a target of the same shape, converted to the input's dtype."""
    input = as_tensor(input)
    if input.dtype.kind != "f":
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


def _constant(op: str, name: str, value: Any, input: Tensor) -> Any:  # noqa: A002
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
    data = value.data
    if type(data) is not type(input.data):  # a host array given for a GPU loss
        data = to_device(data, device_of(input.data))
    return data.astype(input.dtype, copy=False)


def _class_labels(op: str, scores: Tensor, target: Any) -> Any:
    """The label array, checked against scores of shape (C,), (N, C) or (N, C, d1, ...)."""
    if scores.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating-point. Received: dtype={scores.dtype}")
    if scores.ndim == 0:
        raise ValueError(f"{op}: input needs a class axis. Received: input shape ()")
    target = as_tensor(target)
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: target must hold integer class labels (for probabilities use "
            f"binary_cross_entropy). Received: dtype={target.dtype}"
        )
    expected = scores.shape[:1] + scores.shape[2:] if scores.ndim >= 2 else ()
    if target.shape != expected:
        raise ValueError(
            f"{op}: target shape {target.shape} does not match input shape {scores.shape}; "
            f"expected target shape {expected}"
        )
    classes = scores.shape[1] if scores.ndim >= 2 else scores.shape[0]
    labels = target.data
    if labels.size:
        bad = labels[(labels < 0) | (labels >= classes)]
        if bad.size:
            raise ValueError(
                f"{op}: label {int(bad[0])} is out of range for {classes} classes"
            )
    return labels


def mse_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Mean squared error: ℓ = (input - target)², reduced.

    Example:
        >>> import shenjing as sj
        >>> sj.mse_loss(sj.tensor([1.0, 3.0]), sj.tensor([0.0, 0.0])).item()
        5.0
    """
    _check_reduction("mse_loss", reduction)
    return MSELoss.apply(*_pair("mse_loss", input, target), reduction=reduction)


def l1_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Mean absolute error: ℓ = |input - target|, reduced; its gradient at 0 is 0."""
    _check_reduction("l1_loss", reduction)
    return L1Loss.apply(*_pair("l1_loss", input, target), reduction=reduction)


def huber_loss(
    input: Tensor,  # noqa: A002
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


def binary_cross_entropy(
    input: Tensor,  # noqa: A002
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
    if isinstance(loss.data, np.ndarray) and not math.isfinite(loss.data):
        _check_probabilities(op, input)
    return loss


def _check_probabilities(op: str, p: Tensor) -> None:
    low, high = (float(p.data.min()), float(p.data.max())) if p.numel() else (0.0, 1.0)
    if low < 0 or high > 1:
        raise ValueError(
            f"{op}: input must hold probabilities in [0, 1]. Received: values from "
            f"{low} to {high}"
        )


def binary_cross_entropy_with_logits(
    input: Tensor,  # noqa: A002
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


def cross_entropy(
    input: Tensor,  # noqa: A002
    target: Tensor,
    *,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax and cross-entropy fused, on integer class labels.

    ``input`` holds unnormalised scores (logits) of shape (N, C), (N, C, d1, ...) or
    (C,); ``target`` the labels in [0, C), of shape (N,), (N, d1, ...) or (). With label
    smoothing ε the target distribution is q = (1 - ε)·onehot(y) + ε/C, so

        ℓ = (1 - ε)·(-log softmax(z)_y) + ε·mean_c(-log softmax(z)_c),

    as in PyTorch. The gradient is (softmax(z) - q), divided by the number of labels for
    ``"mean"``. Unlike PyTorch there is no ``ignore_index``: every label must be valid.

    Example:
        >>> import shenjing as sj
        >>> logits = sj.tensor([[0.0, 0.0]])
        >>> round(sj.cross_entropy(logits, sj.tensor([1])).item(), 4)
        0.6931
    """
    op = "cross_entropy"
    _check_reduction(op, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"{op}: label_smoothing must be in [0, 1]. Received: {label_smoothing}"
        )
    input = as_tensor(input)
    labels = _class_labels(op, input, target)
    return SoftmaxCrossEntropy.apply(
        input, labels=labels, reduction=reduction, label_smoothing=float(label_smoothing)
    )


def nll_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Negative log-likelihood: ℓ = -input[y], for log-probabilities (e.g. ``log_softmax``).

    Shapes as in ``cross_entropy``; ``nll_loss(log_softmax(z, axis=1), y)`` equals
    ``cross_entropy(z, y)``.
    """
    op = "nll_loss"
    _check_reduction(op, reduction)
    input = as_tensor(input)
    labels = _class_labels(op, input, target)
    return NLLLoss.apply(input, labels=labels, reduction=reduction)
