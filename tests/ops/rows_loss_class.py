"""Op-table rows for the options PyTorch users reach for on the losses: class weights,
ignore_index, probability targets, KL divergence and smooth L1, each with a NumPy
reference written from PyTorch's documented formulas."""

from __future__ import annotations

import warnings

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo
from tests.ops.rows_loss import PAIR_SHAPES, REDUCTIONS, _huber_inputs, _reduce

THREE_CLASSES = [((4, 3), (4,)), ((2, 3, 4), (2, 4)), ((2, 3, 2, 2), (2, 2, 2))]
SOFT_SHAPES = [((4, 3), (4, 3)), ((2, 3, 4), (2, 3, 4)), ((3,), (3,))]
CLASS_WEIGHT = np.array([0.5, 2.0, 1.25])  # exact in float32


def _tf(name: str, **constants):
    """torch.nn.functional.<name> with numpy constants as float64 tensors; PyTorch's
    warning for kl_div's reduction="mean" is silenced (the numbers are what we check)."""

    def call(*args, **kwargs):
        import torch
        import torch.nn.functional as tf

        extra = {k: torch.tensor(v) for k, v in constants.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(tf, name)(*args, **kwargs, **extra)

    return call


def _labels_with_ignored(ignored: int):
    """Logits and labels in [0, 3), every third label replaced by ``ignored``."""

    def make(shapes, rng):
        logits = rng.uniform(-3.0, 3.0, size=shapes[0])
        labels = rng.integers(0, 3, size=shapes[1])
        flat = labels.reshape(-1)
        flat[::3] = ignored
        return [logits, flat.reshape(shapes[1])]

    return make


def _log_softmax(z, axis):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _along(values, ndim, axis):
    shape = [1] * ndim
    shape[axis] = values.size
    return values.reshape(shape)


def _weighted_ce(z, labels, reduction, weight=None, ignore_index=-100, label_smoothing=0.0,
                 log_probs=False):
    """PyTorch's weighted, ignoring, smoothed cross-entropy (or NLL on log-probabilities)."""
    axis = 1 if z.ndim >= 2 else 0
    classes = z.shape[axis]
    w = np.ones(classes) if weight is None else weight
    log_p = z if log_probs else _log_softmax(z, axis)
    keep = labels != ignore_index
    safe = np.where(keep, labels, 0)
    picked = np.take_along_axis(log_p, np.expand_dims(safe, axis), axis).squeeze(axis)
    nll = -picked * w[safe] * keep
    smooth = -(log_p * _along(w, z.ndim, axis)).sum(axis=axis) * keep
    losses = (1 - label_smoothing) * nll + label_smoothing / classes * smooth
    if reduction == "mean":
        return losses.sum() / (w[safe] * keep).sum()
    return _reduce(losses, reduction)


def _soft_ce(z, t, reduction, weight=None, label_smoothing=0.0):
    axis = 1 if z.ndim >= 2 else 0
    classes = z.shape[axis]
    q = (1 - label_smoothing) * t + label_smoothing / classes
    if weight is not None:
        q = q * _along(weight, z.ndim, axis)
    losses = -(q * _log_softmax(z, axis)).sum(axis=axis)
    return losses.sum() / (z.size / classes) if reduction == "mean" else _reduce(losses, reduction)


def _logits_and_probabilities(shapes, rng):
    return [rng.uniform(-3.0, 3.0, size=shapes[0]), rng.uniform(0.05, 1.0, size=shapes[1])]


def _kl_inputs(shapes, rng):
    return [rng.uniform(-3.0, -0.1, size=shapes[0]), rng.uniform(0.05, 1.0, size=shapes[1])]


def _kl_log_inputs(shapes, rng):
    return [rng.uniform(-3.0, -0.1, size=shapes[0]), rng.uniform(-3.0, -0.1, size=shapes[1])]


def _kl(x, t, reduction, log_target=False):
    losses = np.exp(t) * (t - x) if log_target else t * (np.log(t) - x)
    if reduction == "batchmean":
        return losses.sum() / x.shape[0]
    return _reduce(losses, reduction)


def _smooth_l1(x, t, reduction, beta=1.0):
    d = np.abs(x - t)
    return _reduce(np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


def _rows_for(reduction: str) -> list[OpInfo]:
    r = {"reduction": reduction}
    w = sj.tensor(CLASS_WEIGHT)
    return [
        OpInfo(f"cross_entropy_weight_{reduction}",
               lambda z, y, **k: sj.cross_entropy(z, y, w, **k),
               lambda z, y, **k: _weighted_ce(z, y, weight=CLASS_WEIGHT, **k), THREE_CLASSES,
               kwargs=r, make_inputs=_labels_with_ignored(1),
               torch_ref=_tf("cross_entropy", weight=CLASS_WEIGHT)),
        OpInfo(f"cross_entropy_ignore_index_{reduction}", sj.cross_entropy, _weighted_ce,
               THREE_CLASSES, kwargs=r, make_inputs=_labels_with_ignored(-100),
               torch_ref=_tf("cross_entropy")),
        OpInfo(f"cross_entropy_ignore1_weight_smoothing_{reduction}",
               lambda z, y, **k: sj.cross_entropy(z, y, w, **k),
               lambda z, y, **k: _weighted_ce(z, y, weight=CLASS_WEIGHT, **k), THREE_CLASSES,
               kwargs={**r, "ignore_index": 1, "label_smoothing": 0.3},
               make_inputs=_labels_with_ignored(1),
               torch_ref=_tf("cross_entropy", weight=CLASS_WEIGHT)),
        OpInfo(f"cross_entropy_smoothing_ignore_{reduction}", sj.cross_entropy, _weighted_ce,
               THREE_CLASSES, kwargs={**r, "label_smoothing": 0.2},
               make_inputs=_labels_with_ignored(-100), torch_ref=_tf("cross_entropy")),
        OpInfo(f"cross_entropy_probabilities_{reduction}", sj.cross_entropy, _soft_ce,
               SOFT_SHAPES, kwargs=r, make_inputs=_logits_and_probabilities,
               torch_ref=_tf("cross_entropy")),
        OpInfo(f"cross_entropy_probabilities_weight_smoothing_{reduction}",
               lambda z, t, **k: sj.cross_entropy(z, t, w, **k),
               lambda z, t, **k: _soft_ce(z, t, weight=CLASS_WEIGHT, **k), SOFT_SHAPES,
               kwargs={**r, "label_smoothing": 0.1}, make_inputs=_logits_and_probabilities,
               torch_ref=_tf("cross_entropy", weight=CLASS_WEIGHT)),
        OpInfo(f"nll_loss_weight_ignore_{reduction}",
               lambda x, y, **k: sj.nll_loss(x, y, w, **k),
               lambda x, y, **k: _weighted_ce(x, y, weight=CLASS_WEIGHT, log_probs=True, **k),
               THREE_CLASSES, kwargs=r, make_inputs=_labels_with_ignored(-100),
               torch_ref=_tf("nll_loss", weight=CLASS_WEIGHT)),
        OpInfo(f"nll_loss_ignore2_{reduction}", sj.nll_loss,
               lambda x, y, **k: _weighted_ce(x, y, log_probs=True, **k), THREE_CLASSES,
               kwargs={**r, "ignore_index": 2}, make_inputs=_labels_with_ignored(2),
               torch_ref=_tf("nll_loss")),
        OpInfo(f"smooth_l1_loss_{reduction}", sj.smooth_l1_loss, _smooth_l1, PAIR_SHAPES,
               kwargs=r, make_inputs=_huber_inputs, torch_ref=_tf("smooth_l1_loss")),
        OpInfo(f"smooth_l1_loss_beta0.5_{reduction}", sj.smooth_l1_loss, _smooth_l1,
               PAIR_SHAPES, kwargs={**r, "beta": 0.5}, make_inputs=_huber_inputs,
               torch_ref=_tf("smooth_l1_loss")),
    ]


def _kl_rows(reduction: str) -> list[OpInfo]:
    return [
        OpInfo(f"kl_div_{reduction}", sj.kl_div, _kl, PAIR_SHAPES[:2],
               kwargs={"reduction": reduction}, make_inputs=_kl_inputs,
               torch_ref=_tf("kl_div")),
        OpInfo(f"kl_div_log_target_{reduction}", sj.kl_div, _kl, PAIR_SHAPES[:2],
               kwargs={"reduction": reduction, "log_target": True},
               make_inputs=_kl_log_inputs, torch_ref=_tf("kl_div")),
    ]


ROWS = [row for reduction in REDUCTIONS for row in _rows_for(reduction)] + [
    row for reduction in (*REDUCTIONS, "batchmean") for row in _kl_rows(reduction)
]
