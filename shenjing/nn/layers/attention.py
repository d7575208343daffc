"""Multi-head attention with PyTorch's parameters (``in_proj_weight``, ``in_proj_bias``,
``out_proj.weight``, ``out_proj.bias``), so a state_dict moves between the libraries."""

from __future__ import annotations

import math
from typing import Any

import shenjing.nn.functional as F
from shenjing import creation
from shenjing.backend import get_array_module
from shenjing.nn import init
from shenjing.nn.layers._factory import apply_factory_kwargs
from shenjing.nn.layers.linear import Linear
from shenjing.nn.module import Module
from shenjing.nn.parameter import Parameter
from shenjing.ops.reduce import mean
from shenjing.ops.shape import permute, reshape
from shenjing.tensor import Tensor, as_tensor

__all__ = ["MultiheadAttention"]


def _additive(mask: Any, dtype: Any) -> Tensor:
    """A mask as a float tensor added to the scores: a boolean True (blocked) is -inf."""
    mask = as_tensor(mask)
    if mask.dtype != bool:
        return mask if mask.dtype == dtype else mask.astype(dtype)
    xp = get_array_module(mask.array)
    return Tensor._make(xp.where(mask.array, -math.inf, 0.0).astype(dtype), None)


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al., 2017): for each of ``num_heads`` heads,
    softmax(Q_h·K_hᵀ/√d)·V_h on projected queries, keys and values, the heads
    concatenated and projected by ``out_proj``.

    Args:
        embed_dim: model width E (queries, keys and values all have it here).
        num_heads: heads H, dividing E.
        dropout: dropout on the attention weights, in training.
        bias: learn the projections' biases.
        batch_first: inputs and outputs are (N, L, E) instead of (L, N, E).

    PyTorch's ``add_bias_kv``, ``add_zero_attn`` and separate ``kdim``/``vdim`` are not
    supported and raise. ``forward`` follows PyTorch: masks use True for *blocked*
    positions (the opposite of ``scaled_dot_product_attention``), and it returns
    ``(output, weights)``, the weights averaged over heads unless
    ``average_attn_weights=False``, or None when ``need_weights=False``.

    Example:
        >>> import shenjing as sj
        >>> mha = sj.nn.MultiheadAttention(8, 2, batch_first=True)
        >>> x = sj.randn(3, 5, 8)
        >>> out, weights = mha(x, x, x)
        >>> out.shape, weights.shape
        ((3, 5, 8), (3, 5, 5))
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if num_heads < 1 or embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim must be divisible by num_heads. Received: "
                f"embed_dim={embed_dim}, num_heads={num_heads}"
            )
        if add_bias_kv or add_zero_attn or kdim not in (None, embed_dim) \
                or vdim not in (None, embed_dim):
            raise ValueError(
                "MultiheadAttention: add_bias_kv, add_zero_attn and kdim/vdim other than "
                "embed_dim are not supported"
            )
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.in_proj_weight = Parameter(creation.zeros(3 * embed_dim, embed_dim))
        if bias:
            self.in_proj_bias = Parameter(creation.zeros(3 * embed_dim))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        init.xavier_uniform_(self.in_proj_weight)
        if bias:  # PyTorch zeroes both projections' biases
            init.zeros_(self.out_proj.bias)
        apply_factory_kwargs(self, device, dtype)

    def _project(self, x: Tensor, part: int) -> Tensor:
        """The ``part``-th (q, k, v) input projection, split into heads: (N, H, len, d)."""
        e = self.embed_dim
        rows = slice(part * e, (part + 1) * e)
        bias = None if self.in_proj_bias is None else self.in_proj_bias[rows]
        y = F.linear(x, self.in_proj_weight[rows], bias)
        n, length = x.shape[0], x.shape[1]
        return permute(reshape(y, (n, length, self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def _mask(self, attn_mask: Any, key_padding_mask: Any, n: int, length: int, source: int,
              dtype: Any) -> Tensor | None:
        """The masks merged into one additive float mask that broadcasts to (N, H, L, S)."""
        mask = None
        if attn_mask is not None:
            mask = _additive(attn_mask, dtype)
            if mask.shape == (n * self.num_heads, length, source):
                mask = reshape(mask, (n, self.num_heads, length, source))
            elif mask.shape != (length, source):
                raise ValueError(
                    f"MultiheadAttention: attn_mask must be ({length}, {source}) or "
                    f"({n * self.num_heads}, {length}, {source}). Received: {mask.shape}"
                )
        if key_padding_mask is not None:
            padding = _additive(key_padding_mask, dtype)
            if padding.shape != (n, source):
                raise ValueError(
                    f"MultiheadAttention: key_padding_mask must be ({n}, {source}). "
                    f"Received: {padding.shape}"
                )
            padding = reshape(padding, (n, 1, 1, source))
            mask = padding if mask is None else mask + padding
        return mask

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        if is_causal and attn_mask is None:  # PyTorch's rule: is_causal is only a hint
            raise ValueError("MultiheadAttention: is_causal needs attn_mask (the causal mask)")
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(
                f"MultiheadAttention expects 3-D (batched) or 2-D inputs. Received: query "
                f"{query.shape}, key {key.shape}, value {value.shape}"
            )
        if not batched:
            query, key, value = (reshape(t, (1, *t.shape)) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = reshape(as_tensor(key_padding_mask),
                                           (1, *as_tensor(key_padding_mask).shape))
        elif not self.batch_first:
            query, key, value = (permute(t, (1, 0, 2)) for t in (query, key, value))
        if query.shape[-1] != self.embed_dim:
            raise ValueError(
                f"MultiheadAttention expects embed_dim={self.embed_dim} features. Received: "
                f"query shape {query.shape}"
            )
        n, length, source = query.shape[0], query.shape[1], key.shape[1]
        q, k, v = (self._project(t, part) for part, t in enumerate((query, key, value)))
        mask = self._mask(attn_mask, key_padding_mask, n, length, source, q.dtype)
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            scores = (q * (1.0 / math.sqrt(self.head_dim))) @ permute(k, (0, 1, 3, 2))
            if mask is not None:
                scores = scores + mask
            weights = F.dropout(F.softmax(scores, axis=-1), p, self.training)
            out = weights @ v
            if average_attn_weights:
                weights = mean(weights, axis=1)
            if not batched:
                weights = reshape(weights, weights.shape[1:])
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        out = self.out_proj(reshape(permute(out, (0, 2, 1, 3)), (n, length, self.embed_dim)))
        if not batched:
            out = reshape(out, out.shape[1:])
        elif not self.batch_first:
            out = permute(out, (1, 0, 2))
        return out, weights

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")
