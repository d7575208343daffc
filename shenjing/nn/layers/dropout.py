"""``Dropout``: randomly zero activations in training, pass them through in evaluation."""

from __future__ import annotations

import shenjing.nn.functional as F
from shenjing.nn.module import Module
from shenjing.tensor import Tensor

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout: in training mode each element is zeroed with probability ``p``
    and the survivors are scaled by 1/(1 − p); in eval mode the input passes unchanged.
    ``inplace=True`` is accepted and computes out of place, returning the same values.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> layer = nn.Dropout(0.5).eval()
        >>> layer(sj.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1]. Received: p={p!r}")
        self.p, self.inplace = p, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
