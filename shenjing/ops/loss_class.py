"""Classification losses on class scores: softmax cross-entropy (hard labels or class
probabilities) and the negative log-likelihood, with PyTorch's class ``weight``,
``ignore_index`` and ``label_smoothing``.

Scores have shape (C,), (N, C) or (N, C, d1, ...); internally they are viewed as one row
of C scores per prediction. Under ``"mean"`` a weighted loss is divided by the summed
weight of the counted labels (ignored ones excluded), as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shenjing import _bfloat16
from shenjing.autograd.function import Function
from shenjing.backend import device_of, get_array_module, on_host, to_device
from shenjing.ops import _numba_loss as cpu_kernels
from shenjing.ops.loss import _check_reduction, _reduce, _scale
from shenjing.tensor import Tensor, as_tensor

__all__ = ["cross_entropy", "nll_loss"]


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


def _row_weights(labels: Any, weight: Any | None, keep: Any | None, dtype: Any) -> Any:
    """Each row's weight: w[y] (1 without ``weight``), 0 for an ignored label."""
    xp = get_array_module(labels)
    safe = labels if keep is None else xp.where(keep, labels, 0)
    rows = xp.ones(labels.shape, dtype=dtype) if weight is None else weight[safe]
    return rows if keep is None else rows * keep


def _divide(total: Any, denominator: Any) -> Any:
    """total / denominator; 0/0 (every label ignored) is NaN, as PyTorch gives."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / denominator


class SoftmaxCrossEntropy(Function):
    """ℓ = (1 - ε)·w_y·(-log p_y) + (ε/C)·Σ_c w_c·(-log p_c), p = softmax(z), ε the label
    smoothing, w the class weights (1 by default, 0 for an ignored row);
    gz = (1 - ε)·w_y·(p - onehot(y)) + (ε/C)·(Σ_c w_c·p - w), times gℓ.
    Without weights this is gz = p - q, q = (1 - ε)·onehot(y) + ε/C."""

    def forward(
        self,
        z: Any,
        labels: Any,
        weight: Any | None,
        keep: Any | None,
        reduction: str,
        label_smoothing: float,
    ) -> Any:
        xp = get_array_module(z)
        self.z_shape, self.class_axis = z.shape, 1 if z.ndim >= 2 else 0
        self.reduction, self.smoothing, self.weight = reduction, label_smoothing, weight
        self.labels_shape = labels.shape
        labels = labels.reshape(-1)
        scores = _rows_by_class(z, self.class_axis)
        self.rows = xp.arange(scores.shape[0])
        self.on_kernels = weight is None and keep is None and cpu_kernels.wanted(scores)
        if self.on_kernels:  # the CPU kernel tier: one pass (``_numba_loss``)
            self.probs, losses = cpu_kernels.forward(scores, labels, label_smoothing)
            self.labels, self.row_weight, self.count = labels, None, labels.size
            return _reduce(losses.reshape(self.labels_shape), reduction)
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp_shifted = xp.exp(shifted)
        total = exp_shifted.sum(axis=1)
        log_total = xp.log(total)
        exp_shifted /= total[:, None]
        self.probs = exp_shifted
        if weight is None and keep is None:  # the common case, without per-row weights
            self.labels, self.row_weight, self.count = labels, None, labels.size
            losses = log_total - shifted[self.rows, labels]
            if label_smoothing:
                # -mean_c log softmax(z)_c = log Σ exp(shifted) - mean_c shifted
                losses *= 1 - label_smoothing
                losses += label_smoothing * (log_total - shifted.mean(axis=1))
            return _reduce(losses.reshape(self.labels_shape), reduction)
        self.labels = labels if keep is None else xp.where(keep, labels, 0)
        self.row_weight = _row_weights(labels, weight, keep, z.dtype)
        self.keep = xp.ones(labels.shape, dtype=z.dtype) if keep is None else keep.astype(z.dtype)
        self.count = self.row_weight.sum()
        losses = self.row_weight * (log_total - shifted[self.rows, self.labels])
        if label_smoothing:
            classes = scores.shape[1]
            w = xp.ones(classes, dtype=z.dtype) if weight is None else weight
            uniform = self.keep * (w.sum() * log_total - shifted @ w)
            losses *= 1 - label_smoothing
            losses += (label_smoothing / classes) * uniform
        losses = losses.reshape(self.labels_shape)
        if reduction == "mean":
            return _divide(losses.sum(), self.count)
        return _reduce(losses, reduction)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        probs, eps = self.probs, self.smoothing
        classes = probs.shape[1]
        if self.on_kernels:  # the forward ran on the CPU kernel tier
            scale = _divide(gy, self.count) if self.reduction == "mean" else gy
            gz = cpu_kernels.backward(probs, self.labels, eps, scale)
            return _as_input_layout(gz, self.z_shape, self.class_axis)
        if self.row_weight is None:
            gz = probs - eps / classes
            gz[self.rows, self.labels] -= 1 - eps
        else:
            w = xp.ones(classes, dtype=probs.dtype) if self.weight is None else self.weight
            row_scale = (1 - eps) * self.row_weight + (eps / classes) * w.sum() * self.keep
            gz = probs * row_scale[:, None]
            gz[self.rows, self.labels] -= (1 - eps) * self.row_weight
            if eps:
                gz -= (eps / classes) * self.keep[:, None] * w
        if self.reduction == "none":
            gz *= gy.reshape(-1, 1)
        elif self.reduction == "mean":
            gz *= _divide(gy, self.count)
        else:
            gz *= gy
        return _as_input_layout(gz, self.z_shape, self.class_axis)


class SoftTargetCrossEntropy(Function):
    """ℓ = -Σ_c w_c·q_c·log p_c with p = softmax(z), q = (1 - ε)·t + ε/C;
    gz = (Σ_c w_c·q_c)·p - w·q, gt = -(1 - ε)·w·log p, times gℓ."""

    def forward(
        self, z: Any, t: Any, weight: Any | None, reduction: str, label_smoothing: float
    ) -> Any:
        xp = get_array_module(z)
        self.z_shape, self.class_axis = z.shape, 1 if z.ndim >= 2 else 0
        self.reduction, self.smoothing = reduction, label_smoothing
        scores = _rows_by_class(z, self.class_axis)
        classes = scores.shape[1]
        q = _rows_by_class(t, self.class_axis)
        if label_smoothing:
            q = q * (1 - label_smoothing) + label_smoothing / classes
        self.wq = q if weight is None else q * weight
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp_shifted = xp.exp(shifted)
        total = exp_shifted.sum(axis=1, keepdims=True)
        self.log_p = shifted - xp.log(total)
        exp_shifted /= total
        self.probs, self.w = exp_shifted, weight
        self.count = scores.shape[0]
        losses = -(self.wq * self.log_p).sum(axis=1)
        losses = losses.reshape(self.z_shape[:1] + self.z_shape[2:] if z.ndim >= 2 else ())
        return _reduce(losses, reduction)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        scale = gy.reshape(-1, 1) if self.reduction == "none" else _scale(
            gy, self.reduction, self.count
        )
        gz = gt = None
        if self.needs_input_grad[0]:
            gz = self.probs * self.wq.sum(axis=1, keepdims=True) - self.wq
            gz *= scale
            gz = _as_input_layout(gz, self.z_shape, self.class_axis)
        if self.needs_input_grad[1]:
            gt = -(1 - self.smoothing) * self.log_p
            if self.w is not None:
                gt = gt * self.w
            gt = _as_input_layout(gt * scale, self.z_shape, self.class_axis)
        return gz, gt


class NLLLoss(Function):
    """ℓ = -w_y·logp[y] (w_y = 0 for an ignored row);  glogp = -w_y·gℓ at the label,
    0 elsewhere."""

    def forward(
        self, log_probs: Any, labels: Any, weight: Any | None, keep: Any | None, reduction: str
    ) -> Any:
        xp = get_array_module(log_probs)
        self.shape, self.class_axis = log_probs.shape, 1 if log_probs.ndim >= 2 else 0
        self.reduction = reduction
        flat = labels.reshape(-1)
        self.labels = flat if keep is None else xp.where(keep, flat, 0)
        self.rows = xp.arange(flat.size)
        scores = _rows_by_class(log_probs, self.class_axis)
        losses = -scores[self.rows, self.labels]
        if weight is None and keep is None:
            self.row_weight, self.count = None, flat.size
            return _reduce(losses.reshape(labels.shape), reduction)
        self.row_weight = _row_weights(flat, weight, keep, log_probs.dtype)
        self.count = self.row_weight.sum()
        losses = (losses * self.row_weight).reshape(labels.shape)
        if reduction == "mean":
            return _divide(losses.sum(), self.count)
        return _reduce(losses, reduction)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        classes = self.shape[self.class_axis]
        g = xp.zeros((self.labels.size, classes), dtype=gy.dtype)
        if self.reduction == "none":
            per_row = -gy.reshape(-1)
        elif self.reduction == "mean":
            per_row = -_divide(gy, self.count)
        else:
            per_row = -gy
        if self.row_weight is not None:
            per_row = per_row * self.row_weight
        g[self.rows, self.labels] = per_row
        return _as_input_layout(g, self.shape, self.class_axis)


# ----------------------------------------------------------------- the functions


def _class_labels(op: str, scores: Tensor, target: Tensor, ignore_index: int) -> Any:
    """The label array, checked against scores of shape (C,), (N, C) or (N, C, d1, ...)."""
    if _bfloat16.kind(scores.dtype) != "f":
        raise TypeError(f"{op}: input must be floating-point. Received: dtype={scores.dtype}")
    if _bfloat16.kind(target.dtype) not in "iu":
        raise TypeError(
            f"{op}: target must hold integer class labels (or, for cross_entropy, class "
            f"probabilities shaped like the input). Received: dtype={target.dtype}; for "
            f"class indices convert with target.long() (NumPy: y.astype(np.int64))"
        )
    expected = scores.shape[:1] + scores.shape[2:] if scores.ndim >= 2 else ()
    if target.shape != expected:
        raise ValueError(
            f"{op}: target shape {target.shape} does not match input shape {scores.shape}; "
            f"expected target shape {expected}"
        )
    classes = scores.shape[1] if scores.ndim >= 2 else scores.shape[0]
    labels = target.array
    if labels.size:
        bad = labels[((labels < 0) | (labels >= classes)) & (labels != ignore_index)]
        if bad.size:
            raise ValueError(f"{op}: label {int(bad[0])} is out of range for {classes} classes")
    return labels


def _class_weight(op: str, weight: Any, scores: Tensor) -> Any:
    """The array of per-class weights, of shape (C,), or None."""
    if weight is None:
        return None
    weight = as_tensor(weight)
    classes = scores.shape[1] if scores.ndim >= 2 else scores.shape[0]
    if weight.shape != (classes,):
        raise ValueError(
            f"{op}: weight must have shape ({classes},), one per class. Received: weight "
            f"shape {weight.shape}"
        )
    if weight.requires_grad:
        raise ValueError(f"{op}: weight is a constant and cannot require a gradient")
    data = weight.array
    if type(data) is not type(scores.array):  # a host array given for a GPU loss
        data = to_device(data, device_of(scores.array))
    return data.astype(scores.dtype, copy=False)


def _kept(labels: Any, ignore_index: int) -> Any:
    """The mask of counted labels, or None when no label equals ``ignore_index``."""
    keep = labels != ignore_index
    if not on_host(labels):
        return keep.reshape(-1)
    return None if bool(keep.all()) else keep.reshape(-1)


def _scores(op: str, input: Any) -> Tensor:
    input = as_tensor(input)
    if input.ndim == 0:
        raise ValueError(f"{op}: input needs a class axis. Received: input shape ()")
    if _bfloat16.kind(input.dtype) != "f":
        raise TypeError(f"{op}: input must be floating-point. Received: dtype={input.dtype}")
    return input


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax and cross-entropy fused, on class labels or class probabilities.

    ``input`` holds unnormalised scores (logits) of shape (N, C), (N, C, d1, ...) or
    (C,). ``target`` is either integer labels in [0, C) of shape (N,), (N, d1, ...) or (),
    or floating class probabilities shaped like ``input``. With label smoothing ε the
    target distribution becomes q = (1 - ε)·target + ε/C, so for labels

        ℓ = (1 - ε)·(-log softmax(z)_y) + ε·mean_c(-log softmax(z)_c),

    as in PyTorch. ``weight`` (shape (C,)) rescales each class; labels equal to
    ``ignore_index`` add nothing and are left out of the mean (labels only).

    Example:
        >>> import shenjing as sj
        >>> logits = sj.tensor([[0.0, 0.0]])
        >>> round(sj.cross_entropy(logits, sj.tensor([1])).item(), 4)
        0.6931
    """
    op = "cross_entropy"
    _check_reduction(op, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1]. Received: {label_smoothing}")
    input = _scores(op, input)
    w = _class_weight(op, weight, input)
    target = as_tensor(target)
    if _bfloat16.kind(target.dtype) == "f":
        labels_shape = input.shape[:1] + input.shape[2:] if input.ndim >= 2 else ()
        if target.shape != input.shape and target.shape == labels_shape:
            # The shape of class indices, stored as floats: say so, not "probabilities".
            raise TypeError(
                f"{op}: target has the shape of class indices {target.shape} but dtype "
                f"{target.dtype}; class indices must be integers: convert with "
                f"target.long() (NumPy: y.astype(np.int64)). Class probabilities would have "
                f"the input's shape {input.shape}"
            )
        if target.shape != input.shape:
            raise ValueError(
                f"{op}: probability targets must have the input's shape. Received: input "
                f"shape {input.shape}, target shape {target.shape}"
            )
        if ignore_index != -100:
            raise ValueError(f"{op}: ignore_index applies to class labels, not probabilities")
        if target.dtype != input.dtype:
            target = target.astype(input.dtype)
        return SoftTargetCrossEntropy.apply(
            input, target, weight=w, reduction=reduction, label_smoothing=float(label_smoothing)
        )
    labels = _class_labels(op, input, target, ignore_index)
    return SoftmaxCrossEntropy.apply(
        input, labels=labels, weight=w, keep=_kept(labels, ignore_index), reduction=reduction,
        label_smoothing=float(label_smoothing),
    )


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood: ℓ = -weight[y]·input[y], for log-probabilities (e.g.
    ``log_softmax``).

    Shapes, ``weight`` and ``ignore_index`` as in ``cross_entropy``;
    ``nll_loss(log_softmax(z, axis=1), y)`` equals ``cross_entropy(z, y)``.
    """
    op = "nll_loss"
    _check_reduction(op, reduction)
    input = _scores(op, input)
    labels = _class_labels(op, input, as_tensor(target), ignore_index)
    return NLLLoss.apply(
        input, labels=labels, weight=_class_weight(op, weight, input),
        keep=_kept(labels, ignore_index), reduction=reduction,
    )
