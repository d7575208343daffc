"""The named (values, indices) pairs that PyTorch's sort, topk, cummax, median, ... return.

Each is a namedtuple, so ``values, indices = sj.sort(x)`` and ``sj.sort(x).values``
both work, as with ``torch.return_types``.
"""

from __future__ import annotations

from collections import namedtuple

sort = namedtuple("sort", ["values", "indices"])
topk = namedtuple("topk", ["values", "indices"])
cummax = namedtuple("cummax", ["values", "indices"])
cummin = namedtuple("cummin", ["values", "indices"])
median = namedtuple("median", ["values", "indices"])
mode = namedtuple("mode", ["values", "indices"])
