"""Op-table rows for interpolate and adaptive average pooling, with NumPy references
written from PyTorch's index rules (loops over output positions: slow but plain)."""

from __future__ import annotations

import math

import numpy as np

import shenjing.nn.functional as F
from tests.ops.opinfo import OpInfo


def _tf(name: str):
    def call(*args, **kwargs):
        import torch.nn.functional as tf

        return getattr(tf, name)(*args, **kwargs)

    return call


def _out_and_scale(n, size, scale_factor, recompute=False):
    if size is not None:
        return size, n / size
    m = math.floor(n * scale_factor)
    return m, n / m if recompute else 1.0 / scale_factor


def _source(i, scale, n_in, n_out, align_corners):
    if align_corners:
        return i * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return max((i + 0.5) * scale - 0.5, 0.0)


def _resize_axis(x, axis, size, scale_factor, mode, align_corners, recompute=False):
    n = x.shape[axis]
    m, scale = _out_and_scale(n, size, scale_factor, recompute)
    slices = []
    for i in range(m):
        if mode == "nearest-exact":  # the input pixel whose centre is nearest
            slices.append(np.take(x, min(int(math.floor((i + 0.5) * scale)), n - 1), axis=axis))
            continue
        if mode == "nearest":
            slices.append(np.take(x, min(int(math.floor(i * scale)), n - 1), axis=axis))
            continue
        src = _source(i, scale, n, m, align_corners)
        lo = min(int(math.floor(src)), n - 1)
        hi = min(lo + 1, n - 1)
        lam = src - lo
        slices.append((1 - lam) * np.take(x, lo, axis=axis) + lam * np.take(x, hi, axis=axis))
    return np.stack(slices, axis=axis)


def _interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
    for k, axis in enumerate(range(2, x.ndim)):
        s = size[k] if isinstance(size, tuple) else size
        f = scale_factor[k] if isinstance(scale_factor, tuple) else scale_factor
        x = _resize_axis(x, axis, s, f, mode, align_corners, bool(recompute_scale_factor))
    return x


def _adaptive(x, output_size, reduce=np.mean):
    sizes = output_size if isinstance(output_size, tuple) else (output_size,) * (x.ndim - 2)
    for axis, m in zip(range(2, x.ndim), sizes, strict=True):
        n = x.shape[axis]
        m = n if m is None else m
        x = np.stack([reduce(np.take(x, range(i * n // m, -(-(i + 1) * n // m)), axis=axis),
                             axis=axis) for i in range(m)], axis=axis)
    return x


def _distinct(shapes, rng):
    """Values at least 0.01 apart: no window has a tie a finite difference could flip."""
    (shape,) = shapes
    size = int(np.prod(shape))
    return [(rng.permutation(size).reshape(shape) - size / 2) * (4.0 / size)]


def _adaptive_avg(x, output_size):
    sizes = output_size if isinstance(output_size, tuple) else (output_size,) * (x.ndim - 2)
    for axis, m in zip(range(2, x.ndim), sizes, strict=True):
        n = x.shape[axis]
        m = n if m is None else m
        x = np.stack([np.take(x, range(i * n // m, -(-(i + 1) * n // m)), axis=axis)
                      .mean(axis=axis) for i in range(m)], axis=axis)
    return x


IMAGES = [((2, 3, 5, 4),), ((1, 2, 3, 6),)]
SIGNALS = [((2, 3, 5),)]
VOLUMES = [((1, 2, 3, 4, 5),)]

ROWS = [
    *[
        OpInfo(f"interpolate_{name}", F.interpolate, _interpolate, shapes, kwargs=kwargs,
               torch_ref=_tf("interpolate"))
        for name, shapes, kwargs in [
            ("nearest_size", IMAGES, {"size": (7, 3)}),
            ("nearest_x2", IMAGES, {"scale_factor": 2.0}),
            ("nearest_x1.5", IMAGES, {"scale_factor": (1.5, 0.5)}),
            ("bilinear_size", IMAGES, {"size": (8, 7), "mode": "bilinear"}),
            ("bilinear_down", IMAGES, {"size": (2, 3), "mode": "bilinear"}),
            ("bilinear_x2", IMAGES, {"scale_factor": 2.0, "mode": "bilinear"}),
            ("bilinear_align_corners", IMAGES,
             {"size": (8, 3), "mode": "bilinear", "align_corners": True}),
            ("bilinear_align_corners_x1.7", IMAGES,
             {"scale_factor": 1.7, "mode": "bilinear", "align_corners": True}),
            ("linear_size", SIGNALS, {"size": 9, "mode": "linear"}),
            ("nearest_1d", SIGNALS, {"scale_factor": 3.0}),
            ("nearest_exact_size", IMAGES, {"size": (7, 3), "mode": "nearest-exact"}),
            ("nearest_exact_x1.7", SIGNALS, {"scale_factor": 1.7, "mode": "nearest-exact"}),
            ("nearest_exact_recompute", IMAGES,
             {"scale_factor": (2.3, 0.6), "mode": "nearest-exact", "recompute_scale_factor": True}),
            ("nearest_3d", VOLUMES, {"size": (5, 7, 3)}),
            ("nearest_exact_3d", VOLUMES, {"scale_factor": 1.5, "mode": "nearest-exact"}),
            ("trilinear_size", VOLUMES, {"size": (5, 7, 3), "mode": "trilinear"}),
            ("trilinear_align_corners", VOLUMES,
             {"size": (5, 2, 6), "mode": "trilinear", "align_corners": True}),
            ("trilinear_x", VOLUMES, {"scale_factor": (1.5, 0.7, 2.2), "mode": "trilinear"}),
            ("trilinear_recompute", VOLUMES, {"scale_factor": (1.5, 0.7, 2.2),
                                              "mode": "trilinear",
                                              "recompute_scale_factor": True}),
        ]
    ],
    OpInfo("adaptive_avg_pool2d", F.adaptive_avg_pool2d, _adaptive_avg,
           [((2, 3, 7, 5),), ((1, 2, 6, 6),)], kwargs={"output_size": (3, 2)},
           torch_ref=_tf("adaptive_avg_pool2d")),
    OpInfo("adaptive_avg_pool2d_1", F.adaptive_avg_pool2d, _adaptive_avg, [((2, 3, 7, 5),)],
           kwargs={"output_size": 1}, torch_ref=_tf("adaptive_avg_pool2d")),
    OpInfo("adaptive_avg_pool2d_none", F.adaptive_avg_pool2d, _adaptive_avg,
           [((2, 3, 7, 5),)], kwargs={"output_size": (4, None)},
           torch_ref=_tf("adaptive_avg_pool2d")),
    OpInfo("adaptive_max_pool2d", F.adaptive_max_pool2d,
           lambda x, output_size: _adaptive(x, output_size, np.max),
           [((2, 3, 7, 5),), ((1, 2, 6, 6),)], kwargs={"output_size": (3, 2)},
           make_inputs=_distinct, torch_ref=_tf("adaptive_max_pool2d")),
    OpInfo("adaptive_max_pool2d_none", F.adaptive_max_pool2d,
           lambda x, output_size: _adaptive(x, output_size, np.max), [((2, 3, 5, 7),)],
           kwargs={"output_size": (None, 4)}, make_inputs=_distinct,
           torch_ref=_tf("adaptive_max_pool2d")),
    OpInfo("adaptive_max_pool1d", F.adaptive_max_pool1d,
           lambda x, output_size: _adaptive(x, output_size, np.max), [((2, 3, 10),)],
           kwargs={"output_size": 4}, make_inputs=_distinct,
           torch_ref=_tf("adaptive_max_pool1d")),
    OpInfo("adaptive_avg_pool1d", F.adaptive_avg_pool1d, _adaptive_avg, [((2, 3, 10),)],
           kwargs={"output_size": 4}, torch_ref=_tf("adaptive_avg_pool1d")),
]
