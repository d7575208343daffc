"""Op-table rows for batch normalisation, in training (batch statistics) and evaluation
(fixed running statistics)."""

from __future__ import annotations

import numpy as np

import shenjing as sj
from shenjing.distributed.sync_batchnorm import sync_batch_norm
from tests.ops.opinfo import OpInfo

# x (N, C, *), then γ and β of shape (C,).
AFFINE_SHAPES = [((5, 3), (3,), (3,)), ((2, 3, 4), (3,), (3,)), ((2, 2, 3, 2), (2,), (2,))]
PLAIN_SHAPES = [((6, 4),), ((2, 3, 2, 2),)]


def _param_shape(x: np.ndarray) -> tuple[int, ...]:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _running_stats(channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed, distinct per-channel running statistics for the evaluation rows."""
    return np.linspace(-0.5, 0.5, channels), np.linspace(0.5, 2.0, channels)


def _ref(x, weight=None, bias=None, training=True):
    axes = (0, *range(2, x.ndim))
    if training:
        mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    else:
        mean, var = (s.reshape(_param_shape(x)) for s in _running_stats(x.shape[1]))
    y = (x - mean) / np.sqrt(var + 1e-5)
    if weight is not None:
        y = y * weight.reshape(_param_shape(x))
    if bias is not None:
        y = y + bias.reshape(_param_shape(x))
    return y


def _eval_op(x, weight, bias):
    mean, var = _running_stats(x.shape[1])
    mean = sj.tensor(mean, dtype=x.dtype, device=x.device)
    var = sj.tensor(var, dtype=x.dtype, device=x.device)
    return sj.batch_norm(x, mean, var, weight, bias, training=False)


def _torch_train(x, weight=None, bias=None):
    import torch.nn.functional as tF

    return tF.batch_norm(x, None, None, weight, bias, training=True)


def _torch_eval(x, weight, bias):
    import torch
    import torch.nn.functional as tF

    mean, var = (torch.tensor(s) for s in _running_stats(x.shape[1]))
    return tF.batch_norm(x, mean, var, weight, bias, training=False)


ROWS = [
    OpInfo("batch_norm_train", lambda x, w, b: sj.batch_norm(x, None, None, w, b, training=True),
           lambda x, w, b: _ref(x, w, b), AFFINE_SHAPES, torch_ref=_torch_train),
    OpInfo("batch_norm_train_plain", lambda x: sj.batch_norm(x, None, None, training=True),
           _ref, PLAIN_SHAPES, torch_ref=_torch_train),
    # SyncBatchNorm's op in a world of one (its all-reduces return their input); the
    # several-rank case is checked against one process in tests/distributed.
    OpInfo("sync_batch_norm_one_rank",
           lambda x, w, b: sync_batch_norm(x, None, None, w, b, momentum=0.1, eps=1e-5),
           lambda x, w, b: _ref(x, w, b), AFFINE_SHAPES, torch_ref=_torch_train),
    OpInfo("batch_norm_eval", _eval_op, lambda x, w, b: _ref(x, w, b, training=False),
           AFFINE_SHAPES, torch_ref=_torch_eval),
]
