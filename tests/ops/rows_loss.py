"""Op-table rows for the losses: every loss under every reduction, with NumPy references
written from the definitions and PyTorch's ``torch.nn.functional`` as the third opinion."""

from __future__ import annotations

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo

REDUCTIONS = ("mean", "sum", "none")
PAIR_SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (2, 3, 4)), ((5,), (5,))]
LAST_AXIS_4 = [((3, 4), (3, 4)), ((2, 3, 4), (2, 3, 4))]
CLASS_SHAPES = [((4, 5), (4,)), ((2, 3, 4), (2, 4)), ((2, 3, 2, 2), (2, 2, 2)), ((5,), ())]

# Constant weights broadcast along a last axis of 4; exact in float32, so PyTorch (float64)
# and shenjing see the same numbers.
WEIGHT = np.array([0.5, 1.0, 1.5, 2.0])
POS_WEIGHT = np.array([0.25, 1.0, 2.0, 3.0])


def _tf(name: str, **constants):
    """torch.nn.functional.<name>, imported only when the PyTorch check runs; numpy
    constants become float64 torch tensors."""

    def call(*args, **kwargs):
        import torch
        import torch.nn.functional as tf

        extra = {k: torch.tensor(v) for k, v in constants.items()}
        return getattr(tf, name)(*args, **kwargs, **extra)

    return call


def _reduce(losses, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction](losses)


def _separated(shapes, rng):
    """Input and target at least 0.1 apart, so |x - t| is smooth at every element."""
    x = rng.uniform(-2.0, 2.0, size=shapes[0])
    gap = rng.uniform(0.1, 1.5, size=shapes[1]) * rng.choice([-1.0, 1.0], size=shapes[1])
    return [x, x + gap]


def _huber_inputs(shapes, rng):
    """Differences inside and outside δ = 1, away from the switch at |d| = 1."""
    x = rng.uniform(-2.0, 2.0, size=shapes[0])
    size = rng.choice([0.4, 2.0], size=shapes[1]) + rng.uniform(-0.3, 0.3, size=shapes[1])
    return [x, x + size * rng.choice([-1.0, 1.0], size=shapes[1])]


def _probabilities(shapes, rng):
    return [rng.uniform(0.05, 0.95, size=shapes[0]), rng.uniform(0.0, 1.0, size=shapes[1])]


def _logits_and_soft_targets(shapes, rng):
    return [rng.uniform(-3.0, 3.0, size=shapes[0]), rng.uniform(0.0, 1.0, size=shapes[1])]


def _logits_and_labels(shapes, rng):
    logits_shape, labels_shape = shapes
    classes = logits_shape[1] if len(logits_shape) >= 2 else logits_shape[0]
    return [rng.uniform(-3.0, 3.0, size=logits_shape),
            rng.integers(0, classes, size=labels_shape)]


def _bce(p, t, weight=1.0):
    return -weight * (t * np.log(p) + (1 - t) * np.log(1 - p))


def _bce_with_logits(x, t, weight=1.0, pos_weight=1.0):
    sigma = 1 / (1 + np.exp(-x))
    return -weight * (pos_weight * t * np.log(sigma) + (1 - t) * np.log(1 - sigma))


def _class_axis(x):
    return 1 if x.ndim >= 2 else 0


def _onehot(labels, classes, axis):
    """onehot[..., c, ...] = (labels == c), with the class axis at ``axis``."""
    return np.moveaxis(np.eye(classes)[labels], -1, axis)


def _cross_entropy(z, labels, reduction, label_smoothing=0.0):
    axis = _class_axis(z)
    classes = z.shape[axis]
    log_p = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    q = (1 - label_smoothing) * _onehot(labels, classes, axis) + label_smoothing / classes
    return _reduce(-(q * log_p).sum(axis=axis), reduction)


def _nll(log_p, labels, reduction):
    axis = _class_axis(log_p)
    onehot = _onehot(labels, log_p.shape[axis], axis)
    return _reduce(-(onehot * log_p).sum(axis=axis), reduction)


def _rows_for(reduction: str) -> list[OpInfo]:
    r = {"reduction": reduction}
    w = sj.tensor(WEIGHT)
    pw = sj.tensor(POS_WEIGHT)
    return [
        OpInfo(f"mse_loss_{reduction}", sj.mse_loss,
               lambda x, t, reduction: _reduce((x - t) ** 2, reduction), PAIR_SHAPES,
               kwargs=r, torch_ref=_tf("mse_loss")),
        OpInfo(f"l1_loss_{reduction}", sj.l1_loss,
               lambda x, t, reduction: _reduce(np.abs(x - t), reduction), PAIR_SHAPES,
               kwargs=r, make_inputs=_separated, torch_ref=_tf("l1_loss")),
        OpInfo(f"huber_loss_{reduction}", sj.huber_loss,
               lambda x, t, reduction: _reduce(np.where(
                   np.abs(x - t) < 1, 0.5 * (x - t) ** 2, np.abs(x - t) - 0.5), reduction),
               PAIR_SHAPES, kwargs=r, make_inputs=_huber_inputs, torch_ref=_tf("huber_loss")),
        OpInfo(f"huber_loss_delta0.5_{reduction}", sj.huber_loss,
               lambda x, t, reduction, delta: _reduce(np.where(
                   np.abs(x - t) < delta, 0.5 * (x - t) ** 2,
                   delta * (np.abs(x - t) - 0.5 * delta)), reduction),
               PAIR_SHAPES, kwargs={**r, "delta": 0.5}, make_inputs=_separated,
               torch_ref=_tf("huber_loss")),
        OpInfo(f"binary_cross_entropy_{reduction}", sj.binary_cross_entropy,
               lambda p, t, reduction: _reduce(_bce(p, t), reduction), PAIR_SHAPES,
               kwargs=r, make_inputs=_probabilities, torch_ref=_tf("binary_cross_entropy")),
        OpInfo(f"binary_cross_entropy_weight_{reduction}",
               lambda p, t, reduction: sj.binary_cross_entropy(p, t, w, reduction=reduction),
               lambda p, t, reduction: _reduce(_bce(p, t, WEIGHT), reduction), LAST_AXIS_4,
               kwargs=r, make_inputs=_probabilities,
               torch_ref=_tf("binary_cross_entropy", weight=WEIGHT)),
        OpInfo(f"bce_with_logits_{reduction}", sj.binary_cross_entropy_with_logits,
               lambda x, t, reduction: _reduce(_bce_with_logits(x, t), reduction),
               PAIR_SHAPES, kwargs=r, make_inputs=_logits_and_soft_targets,
               torch_ref=_tf("binary_cross_entropy_with_logits")),
        OpInfo(f"bce_with_logits_weights_{reduction}",
               lambda x, t, reduction: sj.binary_cross_entropy_with_logits(
                   x, t, w, reduction=reduction, pos_weight=pw),
               lambda x, t, reduction: _reduce(
                   _bce_with_logits(x, t, WEIGHT, POS_WEIGHT), reduction),
               LAST_AXIS_4, kwargs=r, make_inputs=_logits_and_soft_targets,
               torch_ref=_tf("binary_cross_entropy_with_logits", weight=WEIGHT,
                             pos_weight=POS_WEIGHT)),
        OpInfo(f"cross_entropy_{reduction}", sj.cross_entropy, _cross_entropy, CLASS_SHAPES,
               kwargs=r, make_inputs=_logits_and_labels, torch_ref=_tf("cross_entropy")),
        OpInfo(f"cross_entropy_smoothing_{reduction}", sj.cross_entropy, _cross_entropy,
               CLASS_SHAPES, kwargs={**r, "label_smoothing": 0.2},
               make_inputs=_logits_and_labels, torch_ref=_tf("cross_entropy")),
        OpInfo(f"nll_loss_{reduction}", sj.nll_loss, _nll, CLASS_SHAPES, kwargs=r,
               make_inputs=_logits_and_labels, torch_ref=_tf("nll_loss")),
    ]


ROWS = [row for reduction in REDUCTIONS for row in _rows_for(reduction)]
