"""PyTorch's ``F.pad``: padding the last dimensions with a constant, a reflection, the
edge value (replicate) or the other side (circular).

The non-constant modes are one gather: on each padded axis, output position j reads
input position idx[j]; the backward scatters the gradient back to those positions,
adding where several outputs read the same input. The scatter is a product with the
gather's one-hot matrix (n_out × n_in): BLAS does it many times faster than
``np.add.at`` (a reflect pad's backward measured 25 ms with add.at on (32, 16, 32, 32)).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from shenjing.autograd.function import Function
from shenjing.backend import get_array_module
from shenjing.ops.shape import Pad
from shenjing.tensor import Tensor, as_tensor

# F.pad is not re-exported as sj.pad: that name is NumPy's spelling (see ops/shape.py).
__all__: list[str] = []

_MODES = ("constant", "reflect", "replicate", "circular")


class PadGather(Function):
    """y = x[..., idx_a, ...] on each padded axis a;  gx[i] = Σ_{j : idx_a[j] = i} gy[j],
    i.e. gx = gy·M_a along axis a, M_a[j, i] = [idx_a[j] = i]."""

    def forward(self, x: Any, gathers: tuple[tuple[int, Any], ...]) -> Any:
        xp = get_array_module(x)
        self.x_shape, self.gathers = x.shape, gathers
        y = x
        for axis, idx in gathers:
            y = xp.take(y, xp.asarray(idx), axis=axis)
        return y

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        g = gy
        for axis, idx in reversed(self.gathers):
            onehot = xp.asarray(idx[:, None] == np.arange(self.x_shape[axis]), dtype=g.dtype)
            g = xp.moveaxis(xp.moveaxis(g, axis, -1) @ onehot, -1, axis)
        return g


def _gather_index(mode: str, n: int, before: int, after: int) -> Any:
    """Input position read by each output position on one axis of size n. A negative
    pad crops: output j reads j − before, as if the axis were padded by that much."""
    j = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if mode == "circular":
        # PyTorch crops first, then wraps around what is left.
        start, kept = max(-before, 0), n + min(before, 0) + min(after, 0)
        return start + (np.arange(-max(before, 0), kept + max(after, 0)) % kept)
    # reflect: mirror about the edge elements, which are not repeated
    period = 2 * (n - 1)
    j = np.abs(j) % period if period else np.zeros_like(j)
    return np.where(j >= n, period - j, j)


def pad(
    input: Tensor,
    pad: Sequence[int],
    mode: str = "constant",
    value: float | None = None,
) -> Tensor:
    """Pad the last ``len(pad) // 2`` dimensions, in PyTorch's order: ``pad`` is
    (left, right) for the last dimension, then (top, bottom) for the one before, ...

    Modes: ``"constant"`` (fill with ``value``, 0 by default), ``"reflect"`` (mirror
    without repeating the edge; each pad must be smaller than its dimension),
    ``"replicate"`` (repeat the edge), ``"circular"`` (wrap around; pad <= dimension).
    A negative pad crops that side, in every mode, as in PyTorch (circular crops first,
    then wraps around what is left).

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn.functional as F
        >>> F.pad(sj.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect").tolist()
        [[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]
    """
    x = as_tensor(input)
    widths = tuple(pad)
    if mode not in _MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(_MODES)}. Received: {mode!r}")
    if (
        len(widths) % 2
        or len(widths) // 2 > x.ndim
        or not all(isinstance(w, (int, np.integer)) and not isinstance(w, bool)
                   for w in widths)
    ):
        raise ValueError(
            f"pad: pad must hold an even number of ints, two per padded "
            f"dimension, at most {2 * x.ndim} for a tensor of shape {x.shape}. "
            f"Received: pad={pad}"
        )
    if value is not None and mode != "constant":
        raise ValueError(f"pad: value applies to mode='constant' only. Received: mode={mode!r}")
    # (before, after) per padded axis, last axis first as PyTorch orders them
    pairs = {x.ndim - 1 - k: (int(widths[2 * k]), int(widths[2 * k + 1]))
             for k in range(len(widths) // 2)}
    for axis, (before, after) in pairs.items():
        size = x.shape[axis] + before + after
        if size < 0 or (size == 0 and mode in ("reflect", "replicate")):
            raise ValueError(f"pad: the input size {x.shape[axis]} on axis {axis} plus the "
                             f"padding ({before}, {after}) leaves an output of size {size}. "
                             f"Received: shape {x.shape}, pad={pad}, mode={mode!r}")
    if mode == "constant":
        if any(min(pair) < 0 for pair in pairs.values()):  # crop the negative sides first
            x = x[tuple(slice(max(-pairs[a][0], 0), x.shape[a] - max(-pairs[a][1], 0))
                        if a in pairs else slice(None) for a in range(x.ndim))]
        full = tuple((max(b, 0), max(e, 0)) for b, e in
                     (pairs.get(axis, (0, 0)) for axis in range(x.ndim)))
        return Pad.apply(x, pad_width=full, value=0.0 if value is None else float(value))
    gathers = []
    for axis, (before, after) in sorted(pairs.items()):
        n = x.shape[axis]
        if mode == "circular":  # the wrap reads from what the crop leaves
            n += min(before, 0) + min(after, 0)
            if n <= 0 and (before > 0 or after > 0):
                raise ValueError(f"pad: negative padding {pad} leaves nothing to wrap around "
                                 f"on axis {axis} of shape {x.shape}")
        limit = n - 1 if mode == "reflect" else n
        if max(before, after) > limit or (n == 0 and max(before, after) > 0):
            raise ValueError(
                f"pad: {mode} padding of ({before}, {after}) needs a dimension larger than "
                f"{max(before, after) - (mode != 'reflect')}. Received: size {n} on axis "
                f"{axis} of shape {x.shape}"
            )
        if before or after:
            gathers.append((axis, _gather_index(mode, x.shape[axis], before, after)))
    return PadGather.apply(x, gathers=tuple(gathers))
