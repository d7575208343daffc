"""Op-table rows for convolution and pooling, checked against the literal loop kernels in
``shenjing.ops.reference`` and, when installed, PyTorch."""

from __future__ import annotations

import warnings

import numpy as np

import shenjing as sj
from shenjing.ops.reference import avg_pool2d_reference, conv2d_reference, max_pool2d_reference
from tests.ops.opinfo import OpInfo


def _torch_functional(name: str):
    """``torch.nn.functional.<name>``, looked up only when the PyTorch test runs."""

    def call(*args, **kwargs):
        import torch.nn.functional

        return getattr(torch.nn.functional, name)(*args, **kwargs)

    return call


def _torch_conv2d_same(x, weight, bias, padding):
    """PyTorch's conv2d with padding='same', minus its warning that an even kernel costs a
    padded copy (``filterwarnings = error`` would turn it into a failure)."""
    import torch.nn.functional

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.nn.functional.conv2d(x, weight, bias, padding=padding)


def _distinct(shapes, rng):
    """Values at least 0.01 apart, so no max-pool window has a tie (or a near one that a
    finite-difference step could flip)."""
    (shape,) = shapes
    size = int(np.prod(shape))
    return [(rng.permutation(size).reshape(shape) - size / 2) * (4.0 / size)]


def _conv2d_same_reference(x, weight, bias, padding):
    """'same' padding written out: d·(k − 1) split evenly, the odd one at the bottom/right."""
    totals = [k - 1 for k in weight.shape[2:]]
    pads = [(t // 2, t - t // 2) for t in totals]
    return conv2d_reference(np.pad(x, [(0, 0), (0, 0), *pads]), weight, bias)


def _conv1d_reference(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv1d as conv2d on images of height 1."""
    y = conv2d_reference(x[:, :, None, :], weight[:, :, None, :], bias, stride=(1, stride),
                         padding=(0, padding), dilation=(1, dilation), groups=groups)
    return y[:, :, 0, :]


def _pool1d_reference(reference):
    def pool(x, kernel_size, stride=None, padding=0):
        step = kernel_size if stride is None else stride
        return reference(x[:, :, None, :], (1, kernel_size), (1, step), (0, padding))[:, :, 0, :]

    return pool


CONV2D = [
    # (id, shapes (x, weight[, bias]), kwargs)
    ("plain", ((2, 3, 6, 6), (4, 3, 3, 3), (4,)), {}),
    ("no_bias", ((2, 3, 6, 5), (4, 3, 3, 3)), {}),
    ("stride2_pad1", ((2, 3, 7, 6), (4, 3, 3, 3), (4,)), {"stride": 2, "padding": 1}),
    ("rect_pairs", ((2, 2, 7, 8), (3, 2, 3, 2), (3,)), {"stride": (2, 1), "padding": (1, 0)}),
    ("dilation2", ((1, 2, 8, 7), (3, 2, 3, 3), (3,)), {"dilation": 2, "padding": 2}),
    ("dilation_pair", ((2, 2, 7, 7), (2, 2, 2, 3), (2,)),
     {"dilation": (3, 1), "stride": (1, 2), "padding": (0, 1)}),
    ("stride_past_kernel", ((1, 2, 8, 8), (2, 2, 2, 2), (2,)), {"stride": 3}),
    ("groups2", ((2, 4, 6, 5), (6, 2, 3, 3), (6,)), {"groups": 2, "padding": 1}),
    ("depthwise", ((2, 3, 6, 6), (3, 1, 3, 3), (3,)), {"groups": 3, "stride": 2, "padding": 1}),
    ("pointwise", ((2, 3, 4, 5), (5, 3, 1, 1), (5,)), {}),
    ("kernel_fills_input", ((2, 2, 3, 4), (3, 2, 3, 4), (3,)), {}),
]

POOL2D = [
    # (id, input shape, kwargs): tiling, tiling with a remainder, padding, overlap, gaps
    ("k2", (2, 3, 6, 6), {"kernel_size": 2}),
    ("k2_remainder", (2, 2, 7, 5), {"kernel_size": 2}),
    ("k2_pad1", (2, 2, 5, 6), {"kernel_size": 2, "padding": 1}),
    ("k3_s2_pad1_overlap", (2, 2, 7, 7), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("k32_s1_overlap", (1, 2, 5, 6), {"kernel_size": (3, 2), "stride": 1}),
    ("k2_s3_gaps", (2, 2, 8, 7), {"kernel_size": 2, "stride": 3}),
    ("rect_pairs", (2, 2, 6, 7), {"kernel_size": (2, 3), "stride": (2, 1), "padding": (1, 1)}),
]

POOL1D = [
    ("k2", (2, 3, 8), {"kernel_size": 2}),
    ("k3_s2_pad1_overlap", (2, 2, 9), {"kernel_size": 3, "stride": 2, "padding": 1}),
]

ROWS = [
    *[OpInfo(f"conv2d_{name}", sj.conv2d, conv2d_reference, [shapes], kwargs=kwargs,
             torch_ref=_torch_functional("conv2d"))
      for name, shapes, kwargs in CONV2D],
    OpInfo("conv2d_same_even_kernel", sj.conv2d, _conv2d_same_reference,
           [((2, 2, 6, 5), (3, 2, 4, 3), (3,))], kwargs={"padding": "same"},
           torch_ref=_torch_conv2d_same),
    OpInfo("conv1d", sj.conv1d, _conv1d_reference, [((2, 3, 9), (4, 3, 3), (4,))],
           kwargs={"stride": 2, "padding": 1, "dilation": 2},
           torch_ref=_torch_functional("conv1d")),
    OpInfo("conv1d_groups", sj.conv1d, _conv1d_reference, [((2, 4, 7), (2, 2, 3))],
           kwargs={"groups": 2}, torch_ref=_torch_functional("conv1d")),
    *[OpInfo(f"max_pool2d_{name}", sj.max_pool2d, max_pool2d_reference, [(shape,)],
             kwargs=kwargs, make_inputs=_distinct, torch_ref=_torch_functional("max_pool2d"))
      for name, shape, kwargs in POOL2D],
    *[OpInfo(f"avg_pool2d_{name}", sj.avg_pool2d, avg_pool2d_reference, [(shape,)],
             kwargs=kwargs, torch_ref=_torch_functional("avg_pool2d"))
      for name, shape, kwargs in POOL2D],
    *[OpInfo(f"max_pool1d_{name}", sj.max_pool1d, _pool1d_reference(max_pool2d_reference),
             [(shape,)], kwargs=kwargs, make_inputs=_distinct,
             torch_ref=_torch_functional("max_pool1d"))
      for name, shape, kwargs in POOL1D],
    *[OpInfo(f"avg_pool1d_{name}", sj.avg_pool1d, _pool1d_reference(avg_pool2d_reference),
             [(shape,)], kwargs=kwargs, torch_ref=_torch_functional("avg_pool1d"))
      for name, shape, kwargs in POOL1D],
]
