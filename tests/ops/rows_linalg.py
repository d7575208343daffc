"""Op-table rows for matmul (every NumPy case: 1-D, 2-D, batched, broadcast) and linear."""

from __future__ import annotations

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),  # vector @ matrix
    ((3, 4), (4,)),  # matrix @ vector
    ((4,), (4,)),  # inner product
    ((2, 3, 4), (4, 5)),  # batch @ shared matrix
    ((3, 4), (2, 4, 5)),  # shared matrix @ batch
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),  # batch axes broadcast both ways
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
]

LINEAR_SHAPES = [
    ((5, 3), (4, 3), (4,)),
    ((2, 5, 3), (4, 3), (4,)),  # leading axes fold into one GEMM
    ((3,), (4, 3), (4,)),
]


def _linear_ref(x, w, b=None):
    y = np.einsum("...i,oi->...o", x, w)
    return y if b is None else y + b


def _torch_linear(x, w, b=None):
    import torch

    return torch.nn.functional.linear(x, w, b)


def _torch_matmul(a, b):
    import torch

    return torch.matmul(a, b)


def _torch(name):
    def call(*args):
        import torch

        return getattr(torch, name)(*args)

    return call


ROWS = [
    OpInfo("matmul", sj.matmul, np.matmul, MATMUL_SHAPES, torch_ref=_torch_matmul),
    OpInfo("mm", sj.mm, np.matmul, [((3, 4), (4, 5))], torch_ref=_torch("mm")),
    OpInfo("bmm", sj.bmm, np.matmul, [((2, 3, 4), (2, 4, 5))], torch_ref=_torch("bmm")),
    OpInfo("dot", sj.dot, np.dot, [((4,), (4,))], torch_ref=_torch("dot")),
    OpInfo("mv", sj.mv, np.matmul, [((3, 4), (4,))], torch_ref=_torch("mv")),
    OpInfo("outer", sj.outer, np.outer, [((3,), (4,))], torch_ref=_torch("outer")),
    OpInfo("matmul-operator", lambda a, b: a @ b, np.matmul, MATMUL_SHAPES[:2]),
    OpInfo("linear", sj.linear, _linear_ref, LINEAR_SHAPES, torch_ref=_torch_linear),
    OpInfo("linear-no-bias", sj.linear, _linear_ref, [s[:2] for s in LINEAR_SHAPES],
           torch_ref=_torch_linear),
]
