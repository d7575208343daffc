"""Softmax with cross-entropy as one compiled pass forward and one backward, for rows of
class scores on the CPU (the kernel tier, ``shenjing.kernels``).

``SoftmaxCrossEntropy`` on NumPy takes about ten array calls forward (max, subtract,
exp, sum, log, divide, gather, ...) and four backward, each tiny for a classifier's
(N, 10) scores, so their call overhead is most of the loss's time. Here each row's max,
exponentials, sum, probabilities and loss come from one loop over the row, and the
backward writes gz = (p − q)·scale in one pass. The float operations are the NumPy
code's (the row sum adds left to right, where NumPy may add pairwise: rounding apart).
Only the common case runs here: hard labels without class weights or ignored labels.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shenjing import kernels
from shenjing.kernels import kernel


def wanted(scores: Any) -> bool:
    """Whether softmax cross-entropy on these (rows, C) scores runs as a kernel."""
    return (type(scores) is np.ndarray and scores.ndim == 2
            and scores.dtype in (np.float32, np.float64) and kernels.enabled())


def forward(scores: Any, labels: Any, smoothing: float) -> tuple[Any, Any]:
    """(probabilities, per-row losses): p = softmax(z) row by row, and
    ℓ = (1 − ε)(log Σ e^{z − max} − (z_y − max)) + ε(log Σ e^{z − max} − mean(z − max))."""
    scores = np.ascontiguousarray(scores)
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    probs = np.empty_like(scores)
    losses = np.empty(scores.shape[0], dtype=scores.dtype)
    t = scores.dtype.type
    _forward(scores, labels, probs, losses, t(smoothing), t(1 - smoothing))
    return probs, losses


def backward(probs: Any, labels: Any, smoothing: float, scale: Any) -> Any:
    """gz = (p − ε/C − (1 − ε)·onehot(y)) · scale, with ``scale`` one value per row
    (reduction "none") or a single value."""
    t = probs.dtype.type
    classes = probs.shape[1]
    scale = np.ascontiguousarray(scale, dtype=probs.dtype).reshape(-1)
    gz = np.empty_like(probs)
    _backward(probs, np.ascontiguousarray(labels, dtype=np.int64), scale, gz,
              t(smoothing / classes), t(1 - smoothing), scale.size > 1)
    return gz


@kernel
def _forward(z: Any, labels: Any, probs: Any, losses: Any, eps: Any, one_minus_eps: Any) -> None:
    rows, classes = z.shape
    for r in range(rows):
        row, p = z[r], probs[r]
        top = row[0]
        for c in range(1, classes):
            top = max(top, row[c])
        total = eps - eps  # zero in the scores' dtype (row[0] - row[0] is NaN for ±inf)
        shifted_sum = total
        for c in range(classes):
            shifted = row[c] - top
            e = math.exp(shifted)
            p[c] = e
            total += e
            shifted_sum += shifted
        log_total = math.log(total)
        for c in range(classes):
            p[c] /= total
        loss = log_total - (row[labels[r]] - top)
        if eps != 0:
            loss = loss * one_minus_eps + eps * (log_total - shifted_sum / classes)
        losses[r] = loss


@kernel
def _backward(probs: Any, labels: Any, scale: Any, gz: Any, eps_over_classes: Any,
              one_minus_eps: Any, per_row: bool) -> None:
    rows, classes = probs.shape
    for r in range(rows):
        s = scale[r] if per_row else scale[0]
        p, g = probs[r], gz[r]
        for c in range(classes):
            g[c] = p[c] - eps_over_classes
        g[labels[r]] -= one_minus_eps
        for c in range(classes):
            g[c] *= s
