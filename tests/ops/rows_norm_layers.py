"""Op-table rows for per-sample normalisation (layer norm, group norm, normalize), the
PyTorch-order pad and one-hot, with NumPy references from the definitions."""

from __future__ import annotations

import numpy as np

import shenjing as sj
import shenjing.nn.functional as F
from tests.ops.opinfo import OpInfo


def _tf(name: str):
    def call(*args, **kwargs):
        import torch.nn.functional as tf

        return getattr(tf, name)(*args, **kwargs)

    return call


def _standardize(x, axes, eps=1e-5):
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def _layer_norm(x, normalized_shape, weight=None, bias=None):
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    y = _standardize(x, tuple(range(x.ndim - k, x.ndim)))
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


def _group_norm(x, num_groups, weight=None, bias=None):
    y = _standardize(x.reshape(x.shape[0], num_groups, -1), (2,)).reshape(x.shape)
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    return y if bias is None else y + bias.reshape(shape)


def _normalize(x, p=2.0, dim=1):
    size = np.abs(x)
    if p == 0:  # torch.norm's p = 0: the count of non-zeros
        norm = (x != 0).sum(axis=dim, keepdims=True)
    elif np.isinf(p):
        norm = (size.max if p > 0 else size.min)(axis=dim, keepdims=True)
    else:
        norm = (size**p).sum(axis=dim, keepdims=True) ** (1 / p)
    return x / np.maximum(norm, 1e-12)


def _np_pad(x, pad, mode="constant", value=None):
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    if min(min(w) for w in widths) < 0:
        # A negative pad crops. PyTorch crops first in the constant and circular modes
        # (the wrap reads what is left) and last in reflect/replicate (pad as if).
        crop = tuple(slice(max(-a, 0), x.shape[i] - max(-b, 0)) for i, (a, b) in
                     enumerate(widths))
        grow = [(max(a, 0), max(b, 0)) for a, b in widths]
        if mode in ("constant", "circular"):
            return _np_pad_widths(x[crop], grow, mode, value)
        y = _np_pad_widths(x, grow, mode, value)
        return y[tuple(slice(max(-a, 0), y.shape[i] - max(-b, 0)) for i, (a, b) in
                       enumerate(widths))]
    return _np_pad_widths(x, widths, mode, value)


def _np_pad_widths(x, widths, mode, value):
    if mode == "constant":
        return np.pad(x, widths, constant_values=0.0 if value is None else value)
    return np.pad(x, widths, mode={"replicate": "edge", "circular": "wrap"}.get(mode, mode))


def _affine_inputs(shapes, rng):
    return [rng.normal(size=s) * (3.0 if i == 0 else 1.0) + (1.0 if i == 0 else 0.0)
            for i, s in enumerate(shapes)]


ROWS = [
    OpInfo("layer_norm", lambda x, w, b: sj.layer_norm(x, x.shape[-1:], w, b),
           lambda x, w, b: _layer_norm(x, x.shape[-1:], w, b),
           [((4, 5), (5,), (5,)), ((2, 3, 6), (6,), (6,))], make_inputs=_affine_inputs,
           torch_ref=lambda x, w, b: _tf("layer_norm")(x, x.shape[-1:], w, b)),
    OpInfo("layer_norm_2axes", lambda x, w: sj.layer_norm(x, x.shape[-2:], w),
           lambda x, w: _layer_norm(x, x.shape[-2:], w), [((2, 3, 4), (3, 4))],
           make_inputs=_affine_inputs,
           torch_ref=lambda x, w: _tf("layer_norm")(x, x.shape[-2:], w)),
    OpInfo("layer_norm_plain", lambda x: sj.layer_norm(x, x.shape[-1]),
           lambda x: _layer_norm(x, x.shape[-1]), [((3, 7),), ((4,),)],
           make_inputs=_affine_inputs,
           torch_ref=lambda x: _tf("layer_norm")(x, x.shape[-1:])),
    OpInfo("group_norm", lambda x, w, b: sj.group_norm(x, 2, w, b),
           lambda x, w, b: _group_norm(x, 2, w, b),
           [((3, 4, 5), (4,), (4,)), ((2, 6, 3, 3), (6,), (6,))], make_inputs=_affine_inputs,
           torch_ref=lambda x, w, b: _tf("group_norm")(x, 2, w, b)),
    OpInfo("group_norm_plain_1group", lambda x: sj.group_norm(x, 1),
           lambda x: _group_norm(x, 1), [((3, 4, 5),), ((2, 3),)], make_inputs=_affine_inputs,
           torch_ref=lambda x: _tf("group_norm")(x, 1)),
    OpInfo("normalize", sj.normalize, _normalize, [((3, 4),), ((2, 3, 4),)],
           torch_ref=_tf("normalize")),
    OpInfo("normalize_p1_dim-1", sj.normalize, _normalize, [((3, 4),), ((2, 3, 4),)],
           kwargs={"p": 1.0, "dim": -1}, domain=(0.2, 2.0), torch_ref=_tf("normalize")),
    OpInfo("normalize_p3_dim0", sj.normalize, _normalize, [((3, 4),)],
           kwargs={"p": 3.0, "dim": 0}, domain=(0.2, 2.0), torch_ref=_tf("normalize")),
    *[
        OpInfo(f"normalize_p{p}", sj.normalize, _normalize, [((3, 4),), ((2, 3, 4),)],
               kwargs={"p": p}, domain=(0.2, 2.0), torch_ref=_tf("normalize"))
        for p in (0, 0.5, -1.0, -2.5, float("inf"), float("-inf"))
    ],
    *[
        OpInfo(f"pad_{mode}_{len(pad)}", F.pad, _np_pad, shapes,
               kwargs={"pad": pad, "mode": mode}, torch_ref=_tf("pad"))
        for mode in ("constant", "reflect", "replicate", "circular")
        for pad, shapes in [
            ((2, 1), [((2, 3, 4),)]),
            ((1, 2, 2, 0), [((2, 3, 4, 5),), ((3, 4, 5),)]),
            ((1, 0, 0, 2, 2, 1), [((1, 2, 3, 4, 5),)]),
            ((-1, 2), [((2, 3, 6),)]),  # negative pads crop
            ((2, -3, -1, 1), [((2, 4, 6),)]),
            ((-2, -1, 0, -1), [((2, 3, 4, 6),)]),
        ]
    ],
    OpInfo("pad_constant_crop_to_empty", F.pad, _np_pad, [((2, 3, 6),)],
           kwargs={"pad": (-6, 1)}, torch_ref=_tf("pad")),
    OpInfo("pad_constant_value", F.pad, _np_pad, [((3, 4),), ((2, 3, 4),)],
           kwargs={"pad": (1, 3, 0, 2), "value": 1.5}, torch_ref=_tf("pad")),
]
