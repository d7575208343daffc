"""Op-table rows for the special functions, with the standard library's math.erf as the
reference and ``torch.erf`` as the third opinion."""

from __future__ import annotations

import math

import numpy as np

import shenjing as sj
from tests.ops.opinfo import OpInfo


def _torch_erf(x):
    import torch

    return torch.erf(x)


ROWS = [
    OpInfo("erf", sj.erf, np.vectorize(math.erf, otypes=[np.float64]),
           [((3, 4),), ((2, 3, 4),), ((5,),), ((),)], domain=(-3.0, 3.0),
           torch_ref=_torch_erf),
]
