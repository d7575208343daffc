"""Op-table rows for transposed convolution, against a NumPy reference that scatters one
kernel offset at a time (the definition), and PyTorch's."""

from __future__ import annotations

import numpy as np

import shenjing.nn.functional as F
from tests.ops.opinfo import OpInfo


def _tf(name: str):
    def call(*args, **kwargs):
        import torch.nn.functional as tf

        return getattr(tf, name)(*args, **kwargs)

    return call


def _pair(v):
    return (v, v) if isinstance(v, int) else v


def _conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                      dilation=1):
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = map(_pair, (stride, padding, output_padding,
                                                         dilation))
    n, c_in, h, wd = x.shape
    _, c_group, kh, kw = w.shape
    canvas = np.zeros((n, c_group * groups, (h - 1) * sh + dh * (kh - 1) + 1 + oh,
                       (wd - 1) * sw + dw * (kw - 1) + 1 + ow))
    per_in = c_in // groups
    for g in range(groups):
        xg = x[:, g * per_in:(g + 1) * per_in]
        wg = w[g * per_in:(g + 1) * per_in]
        for p in range(kh):
            for q in range(kw):
                canvas[:, g * c_group:(g + 1) * c_group,
                       p * dh:p * dh + (h - 1) * sh + 1:sh,
                       q * dw:q * dw + (wd - 1) * sw + 1:sw] += np.einsum(
                           "nchw,ck->nkhw", xg, wg[:, :, p, q])
    y = canvas[:, :, ph:canvas.shape[2] - ph, pw:canvas.shape[3] - pw]
    return y if b is None else y + b[None, :, None, None]


def _conv_transpose1d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                      dilation=1):
    y = _conv_transpose2d(x[:, :, None], w[:, :, None], b, (1, stride), (0, padding),
                          (0, output_padding), groups, (1, dilation))
    return y[:, :, 0]


ROWS = [
    OpInfo(f"conv_transpose2d_{name}", F.conv_transpose2d, _conv_transpose2d, shapes,
           kwargs=kwargs, torch_ref=_tf("conv_transpose2d"))
    for name, shapes, kwargs in [
        ("plain", [((2, 3, 4, 5), (3, 2, 3, 3), (2,))], {}),
        ("no_bias", [((2, 3, 4, 4), (3, 4, 2, 3))], {}),
        ("stride2_pad1_outpad1", [((2, 3, 4, 5), (3, 2, 3, 3), (2,))],
         {"stride": 2, "padding": 1, "output_padding": 1}),
        ("stride_pair_dilation", [((1, 2, 3, 4), (2, 3, 2, 3), (3,))],
         {"stride": (2, 3), "dilation": (2, 1), "padding": (1, 0)}),
        ("groups2", [((2, 4, 3, 3), (4, 3, 2, 2), (6,))], {"groups": 2, "stride": 2}),
    ]
] + [
    OpInfo("conv_transpose1d_stride2", F.conv_transpose1d, _conv_transpose1d,
           [((2, 3, 5), (3, 4, 3), (4,))],
           kwargs={"stride": 2, "padding": 1, "output_padding": 1},
           torch_ref=_tf("conv_transpose1d")),
]
