"""Drawing indices from weights: ``multinomial``, as PyTorch's ``torch.multinomial``.

Sampling has no gradient, so this is no ``Function`` beyond the shared no-gradient node:
the draw reads the one generator the backend owns (seeded by ``manual_seed``), or a
NumPy/CuPy ``Generator`` given as ``generator``.
"""

from __future__ import annotations

import math
from typing import Any

from shenjing import backend
from shenjing.backend import get_array_module
from shenjing.ops._nograd import without_gradient
from shenjing.tensor import Tensor, as_tensor

__all__ = ["multinomial"]


def _with_replacement(w: Any, num_samples: int, rng: Any) -> Any:
    """Inverse-CDF sampling, every row at once: row r's CDF is shifted to [r, r + 1), so
    one ``searchsorted`` over the flattened CDFs serves all rows. A category of weight 0
    spans an empty interval and is never drawn."""
    xp = get_array_module(w)
    rows, n = w.shape
    cdf = xp.cumsum(w, axis=1)
    cdf = cdf / cdf[:, -1:]
    cdf[:, -1] = 1.0  # exactly 1, so u < 1 always lands in some category
    offsets = xp.arange(rows, dtype=cdf.dtype)[:, None]
    u = rng.random((rows, num_samples)) + offsets
    flat = xp.searchsorted((cdf + offsets).ravel(), u.ravel(), side="right")
    picks = flat.reshape(rows, num_samples) - offsets.astype(flat.dtype) * n
    return xp.minimum(picks, n - 1)  # float rounding at a row's top edge


def _without_replacement(w: Any, num_samples: int, rng: Any) -> Any:
    """Sequential weighted draws without replacement, as one sort: with E_i ~ Exp(1),
    the categories ordered by E_i / w_i are distributed exactly as drawing one at a time
    with probability proportional to the weights left (the exponential race)."""
    xp = get_array_module(w)
    with_weight = w > 0
    keys = xp.where(with_weight, rng.standard_exponential(w.shape) / xp.where(with_weight, w, 1.0),
                    math.inf)
    return xp.argsort(keys, axis=1, kind="stable")[:, :num_samples]


def _draw(w: Any, num_samples: int, replacement: bool, rng: Any) -> Any:
    xp = get_array_module(w)
    w2 = w.reshape(-1, w.shape[-1]).astype(xp.float64)
    draw = _with_replacement if replacement else _without_replacement
    return draw(w2, num_samples, rng).astype(xp.int64).reshape(*w.shape[:-1], num_samples)


def multinomial(
    input: Tensor,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Any = None,
) -> Tensor:
    """Indices drawn from the categories of each row of ``input`` (1-D or 2-D non-negative
    weights, not necessarily summing to 1), with probability proportional to the weight.

    Returns an int64 tensor of shape ``(num_samples,)`` or ``(rows, num_samples)``.
    Without ``replacement`` an index appears at most once per row, and each draw takes
    the weights left; ``num_samples`` may then not exceed the categories of nonzero weight.
    ``generator`` is an ``sj.Generator`` (or a NumPy / CuPy ``Generator``); by default the
    backend's own, seeded by ``manual_seed``.

    Example:
        >>> import shenjing as sj
        >>> sj.manual_seed(0)
        >>> sj.multinomial(sj.tensor([0.0, 1.0, 0.0]), 2, replacement=True).tolist()
        [1, 1]
    """
    x = as_tensor(input)
    if x.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-D or 2-D. Received: shape={x.shape}")
    if x.dtype.kind not in "fiu":
        raise TypeError(f"multinomial: input must hold numbers. Received: dtype={x.dtype}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be a positive int. Received: "
                         f"{num_samples!r}")
    n = x.shape[-1]
    if n == 0:
        raise ValueError("multinomial: input has no categories (its last dim is 0)")
    xp = get_array_module(x.array)
    if backend.on_host(x.array):  # the checks read the data: only where it is cheap
        w = x.array
        if not bool(xp.isfinite(w).all()) or bool((w < 0).any()):
            raise ValueError("multinomial: weights must be finite and non-negative "
                             "(no inf, nan or negative element)")
        nonzero = (w != 0).sum(axis=-1)
        if bool((nonzero == 0).any()):
            raise ValueError("multinomial: a row's weights sum to 0")
        if not replacement and num_samples > int(nonzero.min()):
            raise ValueError(
                f"multinomial: cannot draw {num_samples} samples without replacement from "
                f"{int(nonzero.min())} categories of nonzero weight (input shape {x.shape})")
    if not replacement and num_samples > n:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without "
                         f"replacement from {n} categories")
    rng = backend.generator(xp) if generator is None else generator
    if isinstance(rng, backend.Generator):  # sj.Generator, as torch.Generator: its stream
        rng = rng.rng
    if not hasattr(rng, "standard_exponential"):
        raise TypeError(f"multinomial: generator must be an sj.Generator or a NumPy Generator. "
                        f"Received: {type(generator).__name__}")
    return without_gradient(_draw, x, num_samples=num_samples, replacement=replacement,
                            rng=rng)
